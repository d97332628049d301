//! The built-in backends by name, as the command-line tools take them:
//! `model`, `reference-memory`, `reference-file[:DIR]`,
//! `reference-sqlite[:PATH]` and `reference-redis[:URL]`.

use std::path::{Path, PathBuf};

use moin_session_spec::store::{Store, StoreError};
use moin_session_spec::{
    redacted_url, Backend, BackendError, BackendInfo, CleanupOutcome, CleanupRequest, Config,
    FileStore, MemoryStore, Model, RedisStore, RedisStoreOptions, ReferenceBackend, Request,
    Response, SqliteStore,
};

use crate::lifecycle::{self, Cleanup};

/// The server `reference-redis` uses when no URL is given.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";

/// A built-in backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// The executable model (the oracle itself).
    Model,
    /// The reference service over a `MemoryStore`.
    ReferenceMemory,
    /// The reference service over a `FileStore` in this directory, or in
    /// a fresh temporary one removed afterwards.
    ReferenceFile(Option<PathBuf>),
    /// The reference service over an `SqliteStore` in this database file,
    /// or in a fresh temporary one removed afterwards.
    ReferenceSqlite(Option<PathBuf>),
    /// The reference service over a `RedisStore` on the server at this URL
    /// (by default [`DEFAULT_REDIS_URL`]), under a key prefix of its own
    /// that it clears afterwards.
    ReferenceRedis(Option<String>),
}

const EXPECTED: &str = "expected model, reference-memory, reference-file[:DIR], \
                        reference-sqlite[:PATH] or reference-redis[:URL]";

impl BackendChoice {
    /// Parses `model`, `reference-memory`, `reference-file[:DIR]`,
    /// `reference-sqlite[:PATH]` or `reference-redis[:URL]`. A URL must be
    /// `redis://` or `unix://` (`rediss://` is refused with a reason: TLS
    /// is not built in); whether the path or server can
    /// be used is checked by [`start`](BackendChoice::start), before any
    /// case runs.
    ///
    /// ```
    /// use moin_session_conformance::backends::BackendChoice;
    /// assert_eq!(BackendChoice::parse("model"), Ok(BackendChoice::Model));
    /// assert_eq!(
    ///     BackendChoice::parse("reference-file:/tmp/s"),
    ///     Ok(BackendChoice::ReferenceFile(Some("/tmp/s".into())))
    /// );
    /// assert_eq!(
    ///     BackendChoice::parse("reference-redis:redis://127.0.0.1:6380/2"),
    ///     Ok(BackendChoice::ReferenceRedis(Some("redis://127.0.0.1:6380/2".into())))
    /// );
    /// assert!(BackendChoice::parse("reference-redis:127.0.0.1").is_err());
    /// assert!(BackendChoice::parse("reference").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<BackendChoice, String> {
        match s {
            "model" => return Ok(BackendChoice::Model),
            "reference-memory" => return Ok(BackendChoice::ReferenceMemory),
            "reference-file" => return Ok(BackendChoice::ReferenceFile(None)),
            "reference-sqlite" => return Ok(BackendChoice::ReferenceSqlite(None)),
            "reference-redis" => return Ok(BackendChoice::ReferenceRedis(None)),
            _ => {}
        }
        if let Some(dir) = s.strip_prefix("reference-file:").filter(|d| !d.is_empty()) {
            return Ok(BackendChoice::ReferenceFile(Some(dir.into())));
        }
        if let Some(path) = s
            .strip_prefix("reference-sqlite:")
            .filter(|p| !p.is_empty())
        {
            return Ok(BackendChoice::ReferenceSqlite(Some(path.into())));
        }
        if let Some(url) = s.strip_prefix("reference-redis:").filter(|u| !u.is_empty()) {
            if url.starts_with("rediss://") {
                return Err(format!(
                    "reference-redis: {:?}: TLS (rediss://) is not built into this runner; \
                     use redis://HOST[:PORT][/DB] or unix://PATH (a TLS tunnel such as stunnel \
                     can carry redis:// to a TLS server)",
                    redacted_url(url)
                ));
            }
            if !["redis://", "unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
            {
                return Err(format!(
                    "reference-redis: {:?} is not a Redis URL; expected redis://HOST[:PORT][/DB] \
                     (or unix://PATH)",
                    redacted_url(url)
                ));
            }
            return Ok(BackendChoice::ReferenceRedis(Some(url.to_owned())));
        }
        Err(format!("{s:?} is not a backend; {EXPECTED}"))
    }

    /// Starts the backend. Each case's reset starts it from an empty store.
    /// A path that cannot hold a database, or a server that does not
    /// answer, is an error here, naming it; so is an existing SQLite
    /// database that holds records (see [`start_with`](Self::start_with)).
    pub fn start(&self) -> Result<Box<dyn Backend>, String> {
        self.start_with(StartOptions::default())
    }

    /// [`start`](Self::start) with `options`: an existing SQLite database
    /// that holds session records is emptied only when
    /// [`StartOptions::clear_existing`] says so; otherwise it is an error,
    /// and nothing is touched.
    pub fn start_with(&self, options: StartOptions) -> Result<Box<dyn Backend>, String> {
        Ok(match self {
            BackendChoice::Model => Box::new(Model::new()),
            BackendChoice::ReferenceMemory => Box::new(ReferenceBackend::new(
                "reference-memory",
                MemoryStore::new(),
            )),
            BackendChoice::ReferenceFile(dir) => file_backend(dir.as_ref())?,
            BackendChoice::ReferenceSqlite(path) => sqlite_backend(path.as_ref(), options)?,
            BackendChoice::ReferenceRedis(url) => redis_backend(url.as_deref())?,
        })
    }
}

/// The backend as `--backend` takes it (a Redis URL's password hidden).
///
/// ```
/// use moin_session_conformance::backends::BackendChoice;
/// let b = BackendChoice::parse("reference-redis:redis://u:secret@h:1/2").unwrap();
/// assert_eq!(b.to_string(), "reference-redis:redis://u:***@h:1/2");
/// assert_eq!(BackendChoice::ReferenceSqlite(None).to_string(), "reference-sqlite");
/// ```
impl std::fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendChoice::Model => f.write_str("model"),
            BackendChoice::ReferenceMemory => f.write_str("reference-memory"),
            BackendChoice::ReferenceFile(None) => f.write_str("reference-file"),
            BackendChoice::ReferenceFile(Some(dir)) => {
                write!(f, "reference-file:{}", dir.display())
            }
            BackendChoice::ReferenceSqlite(None) => f.write_str("reference-sqlite"),
            BackendChoice::ReferenceSqlite(Some(path)) => {
                write!(f, "reference-sqlite:{}", path.display())
            }
            BackendChoice::ReferenceRedis(None) => f.write_str("reference-redis"),
            BackendChoice::ReferenceRedis(Some(url)) => {
                write!(f, "reference-redis:{}", redacted_url(url))
            }
        }
    }
}

/// How [`BackendChoice::start_with`] treats what exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartOptions {
    /// Empty an existing SQLite database that holds session records
    /// (`--clear-existing-store`); without it, such a database is an
    /// error.
    pub clear_existing: bool,
}

/// The reference service over a store with something to remove when
/// dropped (a temporary directory, a key prefix on a server). The removal
/// is registered with [`lifecycle::on_exit`], so an interrupted run
/// removes it too.
struct Owned<S: Store> {
    inner: Option<ReferenceBackend<S>>,
    cleanup: Option<Cleanup>,
}

impl<S: Store> Owned<S> {
    fn new(inner: ReferenceBackend<S>, remove: impl FnOnce() + Send + 'static) -> Owned<S> {
        Owned {
            inner: Some(inner),
            cleanup: Some(lifecycle::on_exit(remove)),
        }
    }

    fn inner(&mut self) -> &mut ReferenceBackend<S> {
        self.inner.as_mut().expect("present until dropped")
    }
}

impl<S: Store> Drop for Owned<S> {
    fn drop(&mut self) {
        // The store first (an open database), then what it lived in.
        drop(self.inner.take());
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run();
        }
    }
}

impl<S: Store> Backend for Owned<S> {
    fn info(&self) -> BackendInfo {
        self.inner.as_ref().expect("present until dropped").info()
    }
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner().reset(config)
    }
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner().reconfigure(config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        self.inner().request(request)
    }
    fn request_batch(&mut self, requests: &[Request]) -> Vec<Result<Response, BackendError>> {
        self.inner().request_batch(requests)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        self.inner().cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.inner().list()
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.inner().corrupt(sid)
    }
    fn capabilities(&self) -> moin_session_spec::Capabilities {
        self.inner
            .as_ref()
            .expect("present until dropped")
            .capabilities()
    }
    fn interleaves(&self) -> bool {
        self.inner
            .as_ref()
            .expect("present until dropped")
            .interleaves()
    }
    fn open(
        &mut self,
        handle: &str,
        request: &Request,
    ) -> Result<moin_session_spec::Opened, BackendError> {
        self.inner().open(handle, request)
    }
    fn ops(
        &mut self,
        handle: &str,
        ops: &[moin_session_spec::Op],
    ) -> Result<Vec<serde_json::Value>, BackendError> {
        self.inner().ops(handle, ops)
    }
    fn finish(
        &mut self,
        handle: &str,
        now: time::OffsetDateTime,
    ) -> Result<moin_session_spec::Finished, BackendError> {
        self.inner().finish(handle, now)
    }
}

/// A fresh directory under the system's temporary directory.
fn temp_dir(what: &str) -> Result<PathBuf, String> {
    // A directory nobody else has: create_dir fails on an existing one.
    let base = std::env::temp_dir();
    let pid = std::process::id();
    (0u32..1000)
        .map(|n| base.join(format!("moin-session-conformance-{pid}-{n}")))
        .find(|dir| std::fs::create_dir(dir).is_ok())
        .ok_or_else(|| format!("{what}: cannot create a directory under {}", base.display()))
}

fn file_backend(dir: Option<&PathBuf>) -> Result<Box<dyn Backend>, String> {
    let (dir, temporary) = match dir {
        // The runner empties record files in DIR; it never makes a tree
        // the user did not ask for (a typo would otherwise pass silently).
        Some(dir) if !dir.is_dir() => {
            return Err(format!(
                "reference-file:{}: {}; create the directory first",
                dir.display(),
                if dir.exists() {
                    "not a directory"
                } else {
                    "no such directory"
                }
            ))
        }
        Some(dir) => (dir.clone(), false),
        None => (temp_dir("reference-file")?, true),
    };
    let store = FileStore::open(&dir).map_err(|e| format!("reference-file: {e}"))?;
    let inner = ReferenceBackend::new("reference-file", store);
    Ok(if temporary {
        Box::new(Owned::new(inner, move || {
            let _ = std::fs::remove_dir_all(&dir);
        }))
    } else {
        Box::new(inner)
    })
}

/// Checks that `path` can name an SQLite database: not a directory, in a
/// directory that exists.
fn check_sqlite_path(path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "reference-sqlite: {} is a directory; give the path of a database file, e.g. {}",
            path.display(),
            path.join("sessions.db").display()
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(format!(
                "reference-sqlite: the directory {} of {} does not exist",
                dir.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

fn sqlite_backend(
    path: Option<&PathBuf>,
    options: StartOptions,
) -> Result<Box<dyn Backend>, String> {
    let (path, temp) = match path {
        Some(path) => (path.clone(), None),
        None => {
            let dir = temp_dir("reference-sqlite")?;
            (dir.join("sessions.db"), Some(dir))
        }
    };
    check_sqlite_path(&path)?;
    let existed = path.exists();
    let store = SqliteStore::open(&path).map_err(|e| format!("reference-sqlite: {e}"))?;
    if existed && !options.clear_existing {
        refuse_records(&store, &path)?;
    }
    let inner = ReferenceBackend::new("reference-sqlite", store);
    Ok(match temp {
        Some(dir) => Box::new(Owned::new(inner, move || {
            let _ = std::fs::remove_dir_all(&dir);
        })),
        // Left as empty as it was found (or as the flag allowed), so the
        // next run may use it again without the flag.
        None => Box::new(Owned::new(inner, move || {
            if let Ok(store) = SqliteStore::open(&path) {
                let _ = store.clear();
            }
        })),
    })
}

/// An existing database with session records is never emptied without
/// `--clear-existing-store`.
fn refuse_records(store: &SqliteStore, path: &Path) -> Result<(), String> {
    let held = store
        .list()
        .map_err(|e| format!("reference-sqlite: {e}"))?
        .len();
    if held == 0 {
        return Ok(());
    }
    Err(format!(
        "reference-sqlite:{}: the database holds {held} session record(s), and the runner empties the store before every case; name a new file, or pass --clear-existing-store to let it empty this one",
        path.display()
    ))
}

fn redis_backend(url: Option<&str>) -> Result<Box<dyn Backend>, String> {
    let url = url.unwrap_or(DEFAULT_REDIS_URL);
    // A prefix of this run's own: other runs and other data on the server
    // are never touched, and this run's keys are removed at the end.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let options = RedisStoreOptions {
        prefix: format!("moin-conformance-{}-{nanos}:", std::process::id()),
        ..RedisStoreOptions::default()
    };
    let store = RedisStore::open(url, options.clone()).map_err(|e| {
        // How to start a server helps only when none answered.
        let nobody = matches!(&e, StoreError::Database { message, .. }
            if message.starts_with("cannot connect"));
        let hint = if nobody {
            "\n  start a server (e.g. `redis-server --port 6379`, Debian package redis-server) \
             or name one with --backend reference-redis:redis://HOST:PORT/DB"
        } else {
            ""
        };
        format!("reference-redis: {e}{hint}")
    })?;
    // The keys are removed through a connection of the remover's own, so
    // that an interrupted run (its store busy or gone) removes them too.
    let url = url.to_owned();
    Ok(Box::new(Owned::new(
        ReferenceBackend::new("reference-redis", store),
        move || {
            if let Ok(store) = RedisStore::open(&url, options) {
                let _ = store.clear();
            }
        },
    )))
}
