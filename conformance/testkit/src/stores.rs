//! Stores for tests: a place for each kind of store (a scratch directory
//! for the file store, a database file for SQLite, a `redis-server` of
//! the test's own for Redis), handles on it, and the reference services
//! over it, as every store test and differential test needs them.
//!
//! Handles made here are atomic but not durable against power loss
//! ([`Durability::None`]: no `fsync`), which is not what these tests
//! judge and would dominate their run time; [`TestStore::durable_reference`]
//! gives the stores' defaults. The file and SQLite stores live in a
//! [`Scratch::for_store`] directory: in memory in the default run, on disk
//! in the long run. The fault tests, which judge what a disk does, make
//! their own on disk ([`Scratch::new`]).

use std::path::PathBuf;

use moin_session_spec::{
    Backend, Durability, FileStore, FileStoreOptions, MemoryStore, RedisStore, RedisStoreOptions,
    ReferenceBackend, SidChoice, SqliteStore, SqliteStoreOptions,
};

use crate::redis_server::RedisServer;
use crate::scratch::Scratch;

/// The kinds of store the reference services run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// [`MemoryStore`].
    Memory,
    /// [`FileStore`].
    File,
    /// [`SqliteStore`].
    Sqlite,
    /// [`RedisStore`], on a real server.
    Redis,
}

impl StoreKind {
    /// Every kind.
    pub const ALL: &'static [StoreKind] = &[
        StoreKind::Memory,
        StoreKind::File,
        StoreKind::Sqlite,
        StoreKind::Redis,
    ];

    /// `memory`, `file`, `sqlite` or `redis`.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::File => "file",
            StoreKind::Sqlite => "sqlite",
            StoreKind::Redis => "redis",
        }
    }
}

/// Where one test's store lives; removed (directory) or stopped (server)
/// when dropped.
#[derive(Debug)]
pub struct TestStore {
    kind: StoreKind,
    scratch: Option<Scratch>,
    redis: Option<RedisServer>,
}

impl TestStore {
    /// A fresh place for a store of `kind`; for Redis, a server started for
    /// this test (see [`crate::redis_server`]): no server, no pass.
    pub fn new(kind: StoreKind) -> TestStore {
        TestStore::made(kind, Scratch::for_store)
    }

    /// As [`TestStore::new`], with the file and SQLite stores on disk
    /// whatever the run: for the fault tests, which judge what a disk does.
    pub fn on_disk(kind: StoreKind) -> TestStore {
        TestStore::made(kind, Scratch::new)
    }

    fn made(kind: StoreKind, scratch: fn(&str) -> Scratch) -> TestStore {
        let (scratch, redis) = match kind {
            StoreKind::Memory => (None, None),
            StoreKind::File | StoreKind::Sqlite => (Some(scratch(kind.name())), None),
            StoreKind::Redis => (None, Some(redis_server())),
        };
        TestStore {
            kind,
            scratch,
            redis,
        }
    }

    /// The kind.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The file store's directory (also the SQLite database's).
    pub fn dir(&self) -> PathBuf {
        self.scratch
            .as_ref()
            .unwrap_or_else(|| panic!("a {} store has no directory", self.kind.name()))
            .path()
            .to_path_buf()
    }

    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir().join("sessions.db")
    }

    /// The Redis server.
    pub fn server(&mut self) -> &mut RedisServer {
        let kind = self.kind.name();
        self.redis
            .as_mut()
            .unwrap_or_else(|| panic!("a {kind} store has no server"))
    }

    /// The Redis server's URL.
    pub fn url(&self) -> String {
        let kind = self.kind.name();
        self.redis
            .as_ref()
            .unwrap_or_else(|| panic!("a {kind} store has no server"))
            .url()
    }

    /// The store as the command lines of the workspace's tools name it
    /// (`store-torture`, `overlap-worker`): the file store's directory,
    /// `sqlite:PATH` or `redis:URL`.
    pub fn spec(&self) -> String {
        match self.kind {
            StoreKind::Memory => panic!("a memory store has no name outside its process"),
            StoreKind::File => self.dir().display().to_string(),
            StoreKind::Sqlite => format!("sqlite:{}", self.db_path().display()),
            StoreKind::Redis => format!("redis:{}", self.url()),
        }
    }

    /// A handle on the file store, without `fsync`.
    pub fn file(&self) -> FileStore {
        FileStore::open_with(
            self.dir(),
            FileStoreOptions {
                durability: Durability::None,
            },
        )
        .expect("the scratch directory opens as a file store")
    }

    /// A handle on the SQLite store, with `synchronous=NORMAL` (commits
    /// stay atomic; no `fsync` per commit).
    pub fn sqlite(&self) -> SqliteStore {
        SqliteStore::open_with(
            self.db_path(),
            SqliteStoreOptions {
                durability: Durability::None,
                ..SqliteStoreOptions::default()
            },
        )
        .expect("a database opens in the scratch directory")
    }

    /// A handle on the Redis store, with the default key prefix.
    pub fn redis(&self) -> RedisStore {
        self.redis_prefixed(&RedisStoreOptions::default().prefix)
    }

    /// A handle on the Redis store, its keys under `prefix`.
    pub fn redis_prefixed(&self, prefix: &str) -> RedisStore {
        let options = RedisStoreOptions {
            prefix: prefix.to_owned(),
            ..RedisStoreOptions::default()
        };
        RedisStore::open(&self.url(), options).expect("the test server answers")
    }

    /// The reference services over a new handle on this store, named
    /// `reference-<kind>`, drawing sids from `SeededSids::new(seed)`.
    pub fn reference(&self, seed: u64) -> Box<dyn Backend> {
        let name = format!("reference-{}", self.kind.name());
        let sids = SidChoice::Seeded(seed);
        match self.kind {
            StoreKind::Memory => {
                Box::new(ReferenceBackend::with_sids(name, MemoryStore::new(), sids))
            }
            StoreKind::File => Box::new(ReferenceBackend::with_sids(name, self.file(), sids)),
            StoreKind::Sqlite => Box::new(ReferenceBackend::with_sids(name, self.sqlite(), sids)),
            StoreKind::Redis => Box::new(ReferenceBackend::with_sids(name, self.redis(), sids)),
        }
    }

    /// The reference services over a handle with the store's default
    /// options (durable: `fsync` for the file store, `synchronous=FULL` for
    /// SQLite), as a deployment has them; sids from the OS.
    pub fn durable_reference(&self) -> Box<dyn Backend> {
        let name = format!("reference-{}", self.kind.name());
        match self.kind {
            StoreKind::Memory => Box::new(ReferenceBackend::new(name, MemoryStore::new())),
            StoreKind::File => Box::new(ReferenceBackend::new(
                name,
                FileStore::open(self.dir()).expect("the scratch directory opens as a file store"),
            )),
            StoreKind::Sqlite => Box::new(ReferenceBackend::new(
                name,
                SqliteStore::open(self.db_path())
                    .expect("a database opens in the scratch directory"),
            )),
            StoreKind::Redis => Box::new(ReferenceBackend::new(name, self.redis())),
        }
    }
}

/// A `redis-server` of the test's own, or a failure saying how to get one.
pub fn redis_server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("no Redis server for the tests: {e}"))
}

/// One test per kind of store, each calling `check` with its
/// [`StoreKind`], for a property every store keeps:
///
/// ```
/// use moin_session_testkit::{store_tests, StoreKind};
///
/// fn the_race_on(kind: StoreKind) {
///     let _ = kind; // the property, on a store of this kind
/// }
///
/// store_tests!(the_race_on:
///     File => no_resurrection_on_the_file_store,
///     Sqlite => no_resurrection_on_sqlite,
/// );
/// ```
#[macro_export]
macro_rules! store_tests {
    ($check:path: $($kind:ident => $name:ident),+ $(,)?) => {$(
        #[test]
        fn $name() {
            $check($crate::StoreKind::$kind)
        }
    )+};
}
