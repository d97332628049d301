//! `overlap-worker STORE [--resurrecting-cache] [--commit-pause-ms N]
//! [--no-atomic-update]`: one wiki process of the multi-process tests
//! (`conformance/tests/overlap_processes.rs`, `conformance/tests/atomic_race.rs`).
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
//!
//! Two test-only switches for the race test: `--commit-pause-ms N` sleeps
//! N milliseconds inside every atomic update ([`Store::update`]), between
//! the read its decision is made on (a hardened finish's liveness check,
//! the moin-1.6 chain's read) and the commit; `--no-atomic-update` makes
//! the services' updates go through the trait's default
//! ([`update_within_process`](moin_session_spec::store::update_within_process):
//! an [`InProcessUpdate`] store), which is atomic only within one process,
//! instead of the store's own atomic step.

use std::collections::BTreeMap;
use std::io::{self, BufReader};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use moin_session_conformance::forward_store_calls;
use moin_session_conformance::proof::faulty::InProcessUpdate;
use moin_session_spec::protocol::{serve, Implementation, CAPABILITIES};
use moin_session_spec::store::{Change, Loaded, Record, Store, StoreError};
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
    forward_store_calls!(inner: list, can_corrupt);
    fn clear(&self) -> Result<(), StoreError> {
        self.cache().clear();
        self.inner.clear()
    }
    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        self.cache().remove(sid);
        self.inner.corrupt(sid)
    }
}

/// Any store of the worker, behind the test-only pause; with
/// `--no-atomic-update`, the store is an [`InProcessUpdate`].
struct Switched {
    inner: Box<dyn Store + Send + Sync>,
    /// Slept inside each update, between the decision and the commit.
    pause: Option<Duration>,
}

impl Switched {
    /// A decision, committed after the pause.
    fn decided(&self, change: Change) -> Change {
        if let Some(p) = self.pause {
            std::thread::sleep(p);
        }
        change
    }
}

impl Store for Switched {
    forward_store_calls!(inner: load, save, delete, delete_if, delete_expired_if, list);
    forward_store_calls!(inner: update_through(decided), clear, can_corrupt);
    forward_store_calls!(inner: begin_batch, end_batch, corrupt);
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

const USAGE: &str = "usage: overlap-worker STORE [--resurrecting-cache] [--commit-pause-ms N] \
                     [--no-atomic-update]  (STORE: sqlite:PATH, redis:URL or a directory)";

/// The worker's command line.
struct Args {
    store: String,
    buggy: bool,
    pause: Option<Duration>,
    atomic: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (store, rest) = args.split_first().ok_or("no STORE given")?;
    let mut out = Args {
        store: store.clone(),
        buggy: false,
        pause: None,
        atomic: true,
    };
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--resurrecting-cache" => out.buggy = true,
            "--no-atomic-update" => out.atomic = false,
            "--commit-pause-ms" => {
                let ms = rest
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or("--commit-pause-ms takes a whole number of milliseconds")?;
                out.pause = Some(Duration::from_millis(ms));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

fn open_store(spec: &str) -> Result<Box<dyn Store + Send + Sync>, StoreError> {
    Ok(if let Some(path) = spec.strip_prefix("sqlite:") {
        Box::new(SqliteStore::open(path)?)
    } else if let Some(url) = spec.strip_prefix("redis:") {
        Box::new(RedisStore::open(url, RedisStoreOptions::default())?)
    } else {
        let options = FileStoreOptions {
            durability: Durability::None,
        };
        Box::new(FileStore::open_with(spec, options)?)
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("overlap-worker: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut backend = match open_store(&args.store) {
        Ok(inner) => {
            let inner = if args.atomic {
                inner
            } else {
                Box::new(InProcessUpdate(inner))
            };
            let store = Switched {
                inner,
                pause: args.pause,
            };
            backend_over(store, args.buggy)
        }
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
