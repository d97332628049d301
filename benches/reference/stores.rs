//! The contenders: each store in each durability, opened fresh, and more
//! handles on the same storage for concurrent clients.

use std::path::PathBuf;
use std::sync::Arc;

use moin_session_spec::store::Store;
use moin_session_spec::{
    Durability, FileStore, FileStoreOptions, MemoryStore, RedisStore, RedisStoreOptions,
    SqliteStore, SqliteStoreOptions,
};

use crate::workload::temp_dir;

/// A store shared by threads.
pub type Shared = dyn Store + Send + Sync;

/// The stores compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Memory,
    FileFsync,
    FileNoFsync,
    SqliteFull,
    SqliteGroup,
    SqliteNormal,
    Redis,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Memory,
        Kind::FileFsync,
        Kind::FileNoFsync,
        Kind::SqliteFull,
        Kind::SqliteGroup,
        Kind::SqliteNormal,
        Kind::Redis,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::FileFsync => "file (fsync)",
            Kind::FileNoFsync => "file (no fsync)",
            Kind::SqliteFull => "sqlite (FULL)",
            Kind::SqliteGroup => "sqlite (FULL, group commit)",
            Kind::SqliteNormal => "sqlite (NORMAL)",
            Kind::Redis => "redis",
        }
    }

    pub fn is_file(self) -> bool {
        matches!(self, Kind::FileFsync | Kind::FileNoFsync)
    }

    fn sqlite_options(self) -> SqliteStoreOptions {
        let (durability, group_commit) = match self {
            Kind::SqliteFull => (Durability::Fsync, false),
            Kind::SqliteGroup => (Durability::Fsync, true),
            _ => (Durability::None, false),
        };
        SqliteStoreOptions {
            durability,
            group_commit,
            ..SqliteStoreOptions::default()
        }
    }
}

/// Where the bench's Redis server is, and a fresh key prefix per store.
pub struct Env {
    pub redis_url: String,
    prefix_n: std::cell::Cell<u32>,
}

/// An opened store: the handle that is measured, a handle without fsync
/// on the same storage for filling it fast, and where it lives.
pub struct Opened {
    pub kind: Kind,
    pub store: Arc<Shared>,
    filler: Option<Box<Shared>>,
    pub dir: Option<PathBuf>,
    /// SQLite's database file.
    pub db: Option<PathBuf>,
    prefix: Option<String>,
}

impl Env {
    pub fn new(redis_url: String) -> Env {
        Env {
            redis_url,
            prefix_n: std::cell::Cell::new(0),
        }
    }

    pub fn open(&self, kind: Kind, tag: &str) -> Opened {
        let mut opened = Opened {
            kind,
            store: Arc::new(MemoryStore::new()),
            filler: None,
            dir: None,
            db: None,
            prefix: None,
        };
        match kind {
            Kind::Memory => {}
            Kind::FileFsync | Kind::FileNoFsync => {
                let dir = temp_dir(tag);
                opened.dir = Some(dir);
                opened.store = self.handle(&opened).into();
                opened.filler = Some(Box::new(file(&opened, Durability::None)));
            }
            Kind::SqliteFull | Kind::SqliteGroup | Kind::SqliteNormal => {
                let dir = temp_dir(tag);
                opened.db = Some(dir.join("sessions.db"));
                opened.dir = Some(dir);
                opened.store = self.handle(&opened).into();
                let normal = Kind::SqliteNormal.sqlite_options();
                opened.filler = Some(Box::new(sqlite(&opened, normal)));
            }
            Kind::Redis => {
                let n = self.prefix_n.get() + 1;
                self.prefix_n.set(n);
                opened.prefix = Some(format!("bench{n}:"));
                opened.store = self.handle(&opened).into();
            }
        }
        opened
    }

    /// Another handle on `opened`'s storage, as another thread or process
    /// of the wiki holds it (the memory store is shared as it is).
    pub fn handle(&self, opened: &Opened) -> Box<Shared> {
        match opened.kind {
            Kind::Memory => Box::new(Arc::clone(&opened.store)),
            Kind::FileFsync => Box::new(file(opened, Durability::Fsync)),
            Kind::FileNoFsync => Box::new(file(opened, Durability::None)),
            Kind::SqliteFull | Kind::SqliteGroup | Kind::SqliteNormal => {
                Box::new(sqlite(opened, opened.kind.sqlite_options()))
            }
            Kind::Redis => {
                let options = RedisStoreOptions {
                    prefix: opened.prefix.clone().expect("a Redis store has a prefix"),
                    ..RedisStoreOptions::default()
                };
                Box::new(RedisStore::open(&self.redis_url, options).expect("redis"))
            }
        }
    }
}

fn file(opened: &Opened, durability: Durability) -> FileStore {
    let dir = opened.dir.as_ref().expect("a file store has a directory");
    FileStore::open_with(dir, FileStoreOptions { durability }).expect("open a file store")
}

fn sqlite(opened: &Opened, options: SqliteStoreOptions) -> SqliteStore {
    let db = opened.db.as_ref().expect("an SQLite store has a database");
    SqliteStore::open_with(db, options).expect("open an sqlite store")
}

impl Opened {
    pub fn filler(&self) -> &Shared {
        self.filler.as_deref().unwrap_or(&*self.store)
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let _ = self.store.clear();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
