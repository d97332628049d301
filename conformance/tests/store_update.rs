//! The atomic update of the store contract (`Store::update`,
//! `r[hard.store.atomic-update]`, `r[m16.store.atomic-update]`), tested at
//! the store: every shipped store (memory, file, SQLite, a real Redis
//! server) keeps each property, and a store that leaves `update` to the
//! trait's default (atomic only within one process) is caught by the
//! property that matters across processes.
//!
//! Each property is a plain function of the store (or of two handles of
//! one store, as two processes would hold) that returns `Err` with the
//! call, what came back and what the contract says, so the store contract
//! suite can take them over as they are.

use std::sync::mpsc;
use std::time::Duration;

use moin_session_spec::store::{Change, Loaded, OnConflict, Record, Store, StoreError, Updated};
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

fn fail<T>(call: &str, got: impl std::fmt::Debug, want: &str) -> Result<T, String> {
    Err(format!(
        "`{call}` returned {got:?}; the contract says {want} ({CLAUSE})"
    ))
}

/// One update that decides `change`, and what its (last) `decide` saw.
fn update_seeing(
    store: &dyn Store,
    id: &str,
    change: Change,
) -> Result<(Updated, Option<Loaded>), String> {
    let mut saw = None;
    let updated = store
        .update(id, OnConflict::Retry, &mut |l| {
            saw = l.cloned();
            change.clone()
        })
        .map_err(|e| format!("`update` failed: {e}"))?;
    Ok((updated, saw))
}

fn load(store: &dyn Store, id: &str) -> Result<Option<Loaded>, String> {
    store.load(id).map_err(|e| format!("`load` failed: {e}"))
}

/// `update` sees what is stored and commits each kind of decision:
/// `Keep` writes nothing, `Save` replaces or creates, `Destroy` removes
/// (and is harmless on nothing); an id the store cannot hold is refused
/// before `decide` runs.
pub fn update_commits_each_decision(store: &dyn Store) -> Result<(), String> {
    let (a, r1, r2) = (
        id(0xa1),
        record(&[("k", 1.into())]),
        record(&[("k", 2.into())]),
    );
    let steps = [
        (Change::Keep, None, None),
        (Change::Save(r1.clone()), None, Some(r1.clone())),
        (Change::Save(r2.clone()), Some(r1), Some(r2.clone())),
        (Change::Keep, Some(r2.clone()), Some(r2.clone())),
        (Change::Destroy, Some(r2), None),
        (Change::Destroy, None, None),
    ];
    for (change, before, after) in steps {
        let (updated, saw) = update_seeing(store, &a, change.clone())?;
        let call = format!("update(decide = {change:?})");
        if saw != before.clone().map(Loaded::Record) {
            return fail(
                &format!("decide of {call}"),
                saw,
                &format!("it is shown {before:?}"),
            );
        }
        if updated.change != change || updated.attempts == 0 {
            return fail(&call, updated, "the change committed and at least one read");
        }
        let now = load(store, &a)?;
        if now != after.clone().map(Loaded::Record) {
            return fail(&format!("load after {call}"), now, &format!("{after:?}"));
        }
    }
    if store.list().map_err(|e| e.to_string())?.contains(&a) {
        return fail("list after update(Destroy)", &a, "the entry is not listed");
    }
    let mut called = false;
    match store.update("../x", OnConflict::Retry, &mut |_| {
        called = true;
        Change::Keep
    }) {
        Err(StoreError::InvalidId { .. }) if !called => Ok(()),
        other => fail(
            r#"update("../x")"#,
            (other, called),
            "InvalidId, before decide runs",
        ),
    }
}

/// An unreadable entry is shown to `decide` as unreadable, and a `Save`
/// replaces it (for stores that can make one, `Store::corrupt`).
pub fn update_replaces_an_unreadable_entry(store: &dyn Store) -> Result<(), String> {
    let a = id(0xa2);
    store.corrupt(&a).map_err(|e| e.to_string())?;
    let r = record(&[("k", "v".into())]);
    let mut saw = None;
    store
        .update(&a, OnConflict::Retry, &mut |l| {
            saw = l.cloned();
            Change::Save(r.clone())
        })
        .map_err(|e| e.to_string())?;
    if saw != Some(Loaded::Unreadable) {
        return fail(
            "decide of update(unreadable)",
            saw,
            "it is shown Unreadable",
        );
    }
    match store.load(&a) {
        Ok(Some(Loaded::Record(got))) if got == r => Ok(()),
        other => fail(
            "load after update(unreadable, Save)",
            other,
            "the saved record",
        ),
    }
}

/// What `update` writes, the store's expiry index follows: a record
/// saved by an update with `expires = E` is looked at by a cleanup before
/// `E + 1`, and one destroyed by an update is gone from the listing.
pub fn update_keeps_the_expiry_index(store: &dyn Store) -> Result<(), String> {
    let a = id(0xa3);
    let at = |e: i64| record(&[("expires", e.into())]);
    store.save(&a, &at(5_000)).map_err(|e| e.to_string())?;
    store
        .update(&a, OnConflict::Retry, &mut |_| Change::Save(at(100)))
        .map_err(|e| e.to_string())?;
    let removed = store
        .delete_expired_if(101, &|id, _| id == a)
        .map_err(|e| e.to_string())?;
    if removed != vec![a.clone()] {
        return fail(
            "delete_expired_if(101) after update(Save expires=100)",
            removed,
            "the record is found by its new expiry",
        );
    }
    store.save(&a, &at(100)).map_err(|e| e.to_string())?;
    store
        .update(&a, OnConflict::Retry, &mut |_| Change::Destroy)
        .map_err(|e| e.to_string())?;
    let left = store.list().map_err(|e| e.to_string())?;
    let removed = store
        .delete_expired_if(i64::MAX, &|id, _| id == a)
        .map_err(|e| e.to_string())?;
    if left.contains(&a) || !removed.is_empty() {
        return fail(
            "list, delete_expired_if after update(Destroy)",
            (left, removed),
            "nothing is left of it",
        );
    }
    Ok(())
}

/// The step itself. Handle `a` updates a record and, while its `decide`
/// runs, handle `b` (another connection, as another process would have)
/// saves the record. The contract allows two outcomes: `b`'s save waits
/// until the update committed (it is last), or the update sees it and
/// decides again on it. What it forbids is the update's commit, decided
/// on what was there before `b`'s save, replacing that save: a lost
/// write. Under `OnConflict::Fail`, a store that detects the conflict
/// instead writes nothing and says so.
pub fn update_loses_no_concurrent_write(
    a: &(dyn Store + Sync),
    b: &(dyn Store + Sync),
    on_conflict: OnConflict,
) -> Result<(), String> {
    let x = id(0xa4);
    let mark = |who: &str, from: &str| record(&[("by", who.into()), ("from", from.into())]);
    a.save(&x, &mark("start", "-")).map_err(|e| e.to_string())?;
    let (go, wait) = mpsc::channel::<()>();
    let (done, finished) = mpsc::channel::<Result<(), StoreError>>();
    let result = std::thread::scope(|scope| {
        let x = &x;
        scope.spawn(move || {
            if wait.recv().is_ok() {
                let _ = done.send(b.save(x, &mark("b", "-")));
            }
        });
        let mut asked = false;
        let result = a.update(x, on_conflict, &mut |l| {
            let from = match l {
                Some(Loaded::Record(r)) => r["by"].as_str().unwrap_or("?").to_owned(),
                other => format!("{other:?}"),
            };
            if !asked {
                asked = true;
                let _ = go.send(());
                // A store that holds `b` off makes this wait run out; one
                // that lets `b` through sees its save return.
                let _ = finished.recv_timeout(Duration::from_millis(300));
            }
            Change::Save(mark("a", &from))
        });
        drop(go);
        result
    });
    let stored = match load(a, &x)? {
        Some(Loaded::Record(r)) => r,
        other => return fail("load after the race", other, "a whole record"),
    };
    let by = stored["by"].as_str().unwrap_or("?");
    let from = stored["from"].as_str().unwrap_or("?");
    let kept = match (&result, by, from) {
        // `b`'s save came last: after the commit, or after a refusal.
        (Ok(_), "b", _) => true,
        (Err(StoreError::Conflict { .. }), "b", _) => on_conflict == OnConflict::Fail,
        // The update saw `b`'s save and decided on it.
        (Ok(_), "a", "b") => true,
        _ => false,
    };
    if kept {
        Ok(())
    } else {
        fail(
            "update racing another handle's save",
            (&result, &stored),
            "the other save is either after the commit or seen by the update, never lost",
        )
    }
}

/// Many read-modify-write increments through two handles at once: each
/// is one step, so none is lost.
pub fn updates_through_two_handles_add_up(
    a: &(dyn Store + Sync),
    b: &(dyn Store + Sync),
) -> Result<(), String> {
    const EACH: i64 = 40;
    let x = id(0xa5);
    a.delete(&x).map_err(|e| e.to_string())?;
    let count = |l: Option<&Loaded>| match l {
        Some(Loaded::Record(r)) => r.get("n").and_then(Value::as_i64).unwrap_or(0),
        _ => 0,
    };
    let bump = |s: &(dyn Store + Sync)| -> Result<(), StoreError> {
        for _ in 0..EACH {
            s.update(&x, OnConflict::Retry, &mut |l| {
                Change::Save(record(&[("n", (count(l) + 1).into())]))
            })?;
        }
        Ok(())
    };
    let (ra, rb) = std::thread::scope(|scope| {
        let ha = scope.spawn(|| bump(a));
        let hb = scope.spawn(|| bump(b));
        (ha.join(), hb.join())
    });
    for r in [ra, rb] {
        r.map_err(|_| "an updating thread panicked".to_owned())?
            .map_err(|e| e.to_string())?;
    }
    let n = count(a.load(&x).map_err(|e| e.to_string())?.as_ref());
    if n != 2 * EACH {
        return fail(
            &format!("{} increments by update from two handles", 2 * EACH),
            n,
            "every increment counts",
        );
    }
    Ok(())
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
    let mut check = |name: &str, r: Result<(), String>| {
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
    let e = lost.expect_err("the default update lets another handle's save be lost");
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
