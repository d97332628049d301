//! The atomic update of the store contract (`Store::update`,
//! `r[hard.store.atomic-update]`, `r[m16.store.atomic-update]`), tested at
//! the store: every shipped store (memory, file, SQLite, a real Redis
//! server) keeps each property, and a store that leaves `update` to the
//! trait's default (atomic only within one process) is caught by the
//! property that matters across processes.
//!
//! Each property is a case of the store contract suite
//! (`moin_session_conformance::contract::update`): a plain function of the
//! store, or of two handles of one store as two processes would hold, that
//! returns the call, what came back and what the contract says. Here they
//! run with real second handles.

use moin_session_conformance::contract::update::{
    update_commits_each_decision, update_keeps_the_expiry_index, update_loses_no_concurrent_write,
    update_replaces_an_unreadable_entry, updates_through_two_handles_add_up,
};
use moin_session_spec::store::{Change, Loaded, OnConflict, Record, Store, StoreError};
use moin_session_spec::{
    Durability, FileStore, FileStoreOptions, MemoryStore, RedisStore, RedisStoreOptions,
    SqliteStore, SqliteStoreOptions,
};
use moin_session_testkit::redis_server::RedisServer;
use serde_json::Value;

const CLAUSE: &str = "hard.store.atomic-update";

fn id(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

fn record(pairs: &[(&str, Value)]) -> Record {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// A store that leaves `update` to the trait's default: atomic only
/// against other default updates in one process.
struct DefaultUpdate<S>(S);

impl<S: Store> Store for DefaultUpdate<S> {
    fn load(&self, id: &str) -> Result<Option<Loaded>, StoreError> {
        self.0.load(id)
    }
    fn save(&self, id: &str, record: &Record) -> Result<(), StoreError> {
        self.0.save(id, record)
    }
    fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.0.delete(id)
    }
    fn delete_if(&self, id: &str, c: &dyn Fn(&Loaded) -> bool) -> Result<bool, StoreError> {
        self.0.delete_if(id, c)
    }
    fn list(&self) -> Result<Vec<String>, StoreError> {
        self.0.list()
    }
    fn clear(&self) -> Result<(), StoreError> {
        self.0.clear()
    }
}

fn every_property(a: &(dyn Store + Sync), b: &(dyn Store + Sync), corrupts: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut check =
        |name: &str, r: Result<Option<String>, moin_session_conformance::contract::Broken>| {
            if let Err(e) = r {
                out.push(format!("{name}: {e}"));
            }
        };
    a.clear().expect("the store clears");
    check("commits each decision", update_commits_each_decision(a));
    if corrupts {
        check(
            "replaces an unreadable entry",
            update_replaces_an_unreadable_entry(a),
        );
    }
    check("keeps the expiry index", update_keeps_the_expiry_index(a));
    for on_conflict in [OnConflict::Retry, OnConflict::Fail] {
        check(
            &format!("loses no concurrent write ({on_conflict:?})"),
            update_loses_no_concurrent_write(a, b, on_conflict),
        );
    }
    check(
        "two handles add up",
        updates_through_two_handles_add_up(a, b),
    );
    out
}

fn assert_keeps_every_property(what: &str, a: &(dyn Store + Sync), b: &(dyn Store + Sync)) {
    let broken = every_property(a, b, true);
    assert!(broken.is_empty(), "{what}:\n{}", broken.join("\n"));
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("moin-store-update-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory can be made");
    dir
}

fn sqlite(path: &std::path::Path) -> SqliteStore {
    sqlite_with(
        path,
        SqliteStoreOptions {
            durability: Durability::None,
            ..SqliteStoreOptions::default()
        },
    )
}

fn sqlite_with(path: &std::path::Path, options: SqliteStoreOptions) -> SqliteStore {
    SqliteStore::open_with(path, options).expect("the database opens")
}

fn redis(url: &str) -> RedisStore {
    RedisStore::open(
        url,
        RedisStoreOptions {
            prefix: "update-test:".to_owned(),
            ..RedisStoreOptions::default()
        },
    )
    .expect("the test server answers")
}

#[test]
fn the_memory_store_updates_atomically() {
    let store = MemoryStore::new();
    assert_keeps_every_property("memory", &store, &store);
}

#[test]
fn the_file_store_updates_atomically() {
    let dir = temp_dir("file");
    let options = FileStoreOptions {
        durability: Durability::None,
    };
    let a = FileStore::open_with(&dir, options).expect("opens");
    let b = FileStore::open_with(&dir, options).expect("opens");
    assert_keeps_every_property("file", &a, &b);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_sqlite_store_updates_atomically() {
    let dir = temp_dir("sqlite");
    let path = dir.join("s.db");
    let (a, b) = (sqlite(&path), sqlite(&path));
    assert_keeps_every_property("sqlite, two connections", &a, &b);
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_sqlite_store_with_group_commit_updates_atomically() {
    let dir = temp_dir("sqlite-group");
    let path = dir.join("s.db");
    let options = SqliteStoreOptions {
        durability: Durability::Fsync,
        group_commit: true,
        ..SqliteStoreOptions::default()
    };
    let (a, b) = (sqlite_with(&path, options), sqlite_with(&path, options));
    assert_keeps_every_property("sqlite with group commit, two connections", &a, &b);
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_redis_store_updates_atomically() {
    let server =
        RedisServer::start().unwrap_or_else(|e| panic!("no Redis server for the tests: {e}"));
    let (a, b) = (redis(&server.url()), redis(&server.url()));
    assert_keeps_every_property("redis, two connections", &a, &b);
    // Redis detects the conflict rather than preventing it: under `Fail`
    // the update says so and writes nothing; under `Retry` it took a
    // second read.
    let x = id(0xa4);
    a.save(&x, &record(&[("by", "start".into())])).unwrap();
    let mut first = true;
    let r = a.update(&x, OnConflict::Fail, &mut |_| {
        if std::mem::take(&mut first) {
            b.save(&x, &record(&[("by", "b".into())])).unwrap();
        }
        Change::Save(record(&[("by", "a".into())]))
    });
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    assert!(r.unwrap_err().to_string().contains(&x));
    assert_eq!(
        a.load(&x).unwrap(),
        Some(Loaded::Record(record(&[("by", "b".into())])))
    );
    let mut first = true;
    let u = a
        .update(&x, OnConflict::Retry, &mut |_| {
            if std::mem::take(&mut first) {
                b.save(&x, &record(&[("by", "b2".into())])).unwrap();
            }
            Change::Save(record(&[("by", "a".into())]))
        })
        .unwrap();
    assert_eq!(u.attempts, 2, "{u:?}");
}

/// The test can fail: a store that leaves `update` to the default is
/// atomic only within one process, and the race with another handle's
/// plain save (another process's, in a real deployment) loses a write.
#[test]
fn a_store_without_its_own_update_loses_a_write_across_handles() {
    let dir = temp_dir("default");
    let path = dir.join("s.db");
    let (a, b) = (DefaultUpdate(sqlite(&path)), sqlite(&path));
    let lost = update_loses_no_concurrent_write(&a, &b, OnConflict::Retry);
    let e = lost
        .expect_err("the default update lets another handle's save be lost")
        .to_string();
    assert!(e.contains("never lost") && e.contains(CLAUSE), "{e}");
    // Everything else holds for it: the default is a correct update within
    // one process.
    for r in [
        update_commits_each_decision(&a),
        update_keeps_the_expiry_index(&a),
        updates_through_two_handles_add_up(&a, &a),
    ] {
        r.unwrap();
    }
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}
