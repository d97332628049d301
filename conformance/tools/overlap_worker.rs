//! `overlap-worker STORE [--resurrecting-cache]`: one wiki process of the
//! multi-process overlap test (`conformance/tests/overlap_processes.rs`).
//! It serves the reference services (every profile) over the store that
//! `STORE` names and other workers share (`sqlite:PATH`, `redis:URL`, or a
//! directory for the file store), behind the adapter protocol with the
//! capability `interleave`; sids come from the OS.
//!
//! `--resurrecting-cache` puts a deliberate bug between the service and the
//! store: a per-process cache that answers loads from what this process
//! last loaded or saved, so a record another process destroyed (a logout,
//! a cleanup, an expiry) lives on here. Each process alone is coherent (it
//! evicts what it destroys itself), so one-process runs pass; only
//! requests spread over processes show the resurrection.

use std::collections::BTreeMap;
use std::io::{self, BufReader};
use std::process::ExitCode;
use std::sync::Mutex;

use moin_session_spec::protocol::{serve, Implementation, CAPABILITIES};
use moin_session_spec::store::{Loaded, Record, Store, StoreError};
use moin_session_spec::store::{RedisStore, RedisStoreOptions, SqliteStore};
use moin_session_spec::{Backend, Durability, FileStore, FileStoreOptions, ReferenceBackend};

/// A store with a stale per-process read cache: the deliberate bug.
struct ResurrectingCache<S> {
    inner: S,
    cache: Mutex<BTreeMap<String, Record>>,
}

impl<S: Store> ResurrectingCache<S> {
    fn cache(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Record>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<S: Store> Store for ResurrectingCache<S> {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        if let Some(record) = self.cache().get(sid) {
            return Ok(Some(Loaded::Record(record.clone())));
        }
        let loaded = self.inner.load(sid)?;
        if let Some(Loaded::Record(record)) = &loaded {
            self.cache().insert(sid.to_owned(), record.clone());
        }
        Ok(loaded)
    }
    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        self.inner.save(sid, record)?;
        self.cache().insert(sid.to_owned(), record.clone());
        Ok(())
    }
    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        self.cache().remove(sid);
        self.inner.delete(sid)
    }
    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        let removed = self.inner.delete_if(sid, condition)?;
        if removed {
            self.cache().remove(sid);
        }
        Ok(removed)
    }
    fn list(&self) -> Result<Vec<String>, StoreError> {
        self.inner.list()
    }
    fn clear(&self) -> Result<(), StoreError> {
        self.cache().clear();
        self.inner.clear()
    }
    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        self.cache().remove(sid);
        self.inner.corrupt(sid)
    }
}

/// The reference services over `store`, with the deliberate bug when
/// `buggy`.
fn backend_over<S: Store + 'static>(store: S, buggy: bool) -> Box<dyn Backend> {
    if buggy {
        Box::new(ReferenceBackend::new(
            "overlap-worker with a resurrecting cache",
            ResurrectingCache {
                inner: store,
                cache: Mutex::new(BTreeMap::new()),
            },
        ))
    } else {
        Box::new(ReferenceBackend::new("overlap-worker", store))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(spec) = args.first() else {
        eprintln!("usage: overlap-worker STORE [--resurrecting-cache]  (STORE: sqlite:PATH, redis:URL or a directory)");
        return ExitCode::from(2);
    };
    let buggy = args.iter().any(|a| a == "--resurrecting-cache");
    let opened = if let Some(path) = spec.strip_prefix("sqlite:") {
        SqliteStore::open(path).map(|s| backend_over(s, buggy))
    } else if let Some(url) = spec.strip_prefix("redis:") {
        RedisStore::open(url, RedisStoreOptions::default()).map(|s| backend_over(s, buggy))
    } else {
        let options = FileStoreOptions {
            durability: Durability::None,
        };
        FileStore::open_with(spec, options).map(|s| backend_over(s, buggy))
    };
    let mut backend = match opened {
        Ok(b) => b,
        Err(e) => {
            eprintln!("overlap-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let info = backend.info();
    let implementation = Implementation {
        name: info.name,
        version: info.version,
        language: "rust".to_owned(),
        homepage: None,
    };
    let stdin = io::stdin();
    let stdout = io::stdout();
    match serve(
        backend.as_mut(),
        implementation,
        CAPABILITIES,
        BufReader::new(stdin.lock()),
        stdout.lock(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("overlap-worker: i/o error: {e}");
            ExitCode::from(1)
        }
    }
}
