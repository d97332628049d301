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
    id, record, update_commits_each_decision, update_keeps_the_expiry_index,
    update_loses_no_concurrent_write, update_replaces_an_unreadable_entry,
    updates_through_two_handles_add_up, CLAUSE,
};
use moin_session_conformance::proof::faulty::InProcessUpdate;
use moin_session_spec::store::{Change, Loaded, OnConflict, Store, StoreError};
use moin_session_spec::{Durability, MemoryStore, SqliteStore, SqliteStoreOptions};
use moin_session_testkit::{StoreKind, TestStore};

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

#[test]
fn the_memory_store_updates_atomically() {
    let store = MemoryStore::new();
    assert_keeps_every_property("memory", &store, &store);
}

#[test]
fn the_file_store_updates_atomically() {
    let place = TestStore::on_disk(StoreKind::File);
    assert_keeps_every_property("file", &place.file(), &place.file());
}

#[test]
fn the_sqlite_store_updates_atomically() {
    let place = TestStore::on_disk(StoreKind::Sqlite);
    let (a, b) = (place.sqlite(), place.sqlite());
    assert_keeps_every_property("sqlite, two connections", &a, &b);
}

#[test]
fn the_sqlite_store_with_group_commit_updates_atomically() {
    let place = TestStore::on_disk(StoreKind::Sqlite);
    let options = SqliteStoreOptions {
        durability: Durability::Fsync,
        group_commit: true,
        ..SqliteStoreOptions::default()
    };
    let open = || SqliteStore::open_with(place.db_path(), options).expect("the database opens");
    let (a, b) = (open(), open());
    assert_keeps_every_property("sqlite with group commit, two connections", &a, &b);
}

#[test]
fn the_redis_store_updates_atomically() {
    let place = TestStore::new(StoreKind::Redis);
    let (a, b) = (place.redis(), place.redis());
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
    let place = TestStore::on_disk(StoreKind::Sqlite);
    let (a, b) = (InProcessUpdate(place.sqlite()), place.sqlite());
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
}
