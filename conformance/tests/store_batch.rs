//! Batches of the store contract (`Store::begin_batch`, `Store::end_batch`),
//! tested at the store on every shipped store: every write made in a batch
//! is seen by later calls through the same value and is there after the
//! end; conditional deletes, cleanups and atomic updates keep their rules
//! inside a batch; batches nest; an end without a begin changes nothing.
//! And the reference backend's `request_batch` answers exactly as one
//! request after another does.
//!
//! The property is a plain function of the store, so the store contract
//! suite can take it over as it is.

use moin_session_spec::sid::{SeededSids, SidSource};
use moin_session_spec::store::{Change, Loaded, OnConflict, Record, Store, StoreError};
use moin_session_spec::{
    Backend, Config, ConfigPatch, Durability, FileStore, FileStoreOptions, MemoryStore, Op,
    Profile, ReferenceBackend, Request, SidChoice, SqliteStore, SqliteStoreOptions,
};
use moin_session_testkit::requests::{config, login_every, request};
use moin_session_testkit::{Scratch, StoreKind, TestStore};
use serde_json::Value;

fn id(n: u32) -> String {
    format!("{n:040x}")
}

fn record(n: i64, expires: i64) -> Record {
    Record::from([
        ("n".to_owned(), Value::from(n)),
        ("expires".to_owned(), Value::from(expires)),
    ])
}

fn fail<T>(call: &str, got: impl std::fmt::Debug, want: &str) -> Result<T, String> {
    Err(format!(
        "`{call}` returned {got:?}; the contract says {want}"
    ))
}

fn n_of(store: &dyn Store, id: &str) -> Result<Option<i64>, String> {
    match store.load(id).map_err(|e| format!("`load` failed: {e}"))? {
        Some(Loaded::Record(r)) => Ok(r.get("n").and_then(Value::as_i64)),
        Some(Loaded::Unreadable) => Ok(Some(-1)),
        None => Ok(None),
    }
}

/// Writes of every kind inside a (nested) batch: seen inside, there after
/// the end; an end without a begin changes nothing.
pub fn a_batch_keeps_every_write(store: &dyn Store) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    store.clear().map_err(e)?;
    store.save(&id(1), &record(1, 100)).map_err(e)?;
    store.save(&id(2), &record(2, 100)).map_err(e)?;
    store.begin_batch().map_err(e)?;
    store.begin_batch().map_err(e)?;
    for k in 10..60 {
        store.save(&id(k), &record(i64::from(k), 500)).map_err(e)?;
    }
    store
        .update(&id(10), OnConflict::Retry, &mut |l| match l {
            Some(Loaded::Record(r)) => {
                let n = r["n"].as_i64().unwrap_or(0);
                Change::Save(record(n + 100, 500))
            }
            _ => Change::Keep,
        })
        .map_err(e)?;
    store.end_batch().map_err(e)?;
    if n_of(store, &id(10))? != Some(110) {
        return fail(
            "load inside a batch",
            n_of(store, &id(10))?,
            "the update's record",
        );
    }
    if !store.delete_if(&id(11), &|_| true).map_err(e)? {
        return fail(
            "delete_if inside a batch",
            false,
            "true: it removed the record",
        );
    }
    store.delete(&id(12)).map_err(e)?;
    let removed = store.delete_expired_if(101, &|_, _| true).map_err(e)?;
    let mut removed = removed;
    removed.sort();
    if removed != vec![id(1), id(2)] {
        return fail(
            "delete_expired_if(101) inside a batch",
            removed,
            "the two records below 101",
        );
    }
    store.end_batch().map_err(e)?;
    let mut listed = store.list().map_err(e)?;
    listed.sort();
    let want: Vec<String> = (10..60).filter(|k| ![11, 12].contains(k)).map(id).collect();
    if listed != want {
        return fail(
            "list after the batch",
            listed.len(),
            "every record the batch left",
        );
    }
    for k in 13..60 {
        if n_of(store, &id(k))? != Some(i64::from(k)) {
            return fail(
                "load after the batch",
                n_of(store, &id(k))?,
                "the record saved in it",
            );
        }
    }
    match store.end_batch() {
        Ok(()) | Err(StoreError::Unsupported { .. }) => {}
        other => return fail("end_batch without a begin", other, "Ok or Unsupported"),
    }
    if store.list().map_err(e)?.len() != want.len() {
        return fail("list after an unmatched end", "a change", "nothing changed");
    }
    Ok(())
}

#[test]
fn every_store_keeps_every_write_of_a_batch() {
    let dir = Scratch::new("store-batch");
    let redis = TestStore::new(StoreKind::Redis);
    let sqlite = |name: &str, durability, group_commit| {
        let options = SqliteStoreOptions {
            durability,
            group_commit,
            ..SqliteStoreOptions::default()
        };
        SqliteStore::open_with(dir.join(name), options).expect("the database opens")
    };
    let stores: Vec<(&str, Box<dyn Store>)> = vec![
        ("memory", Box::new(MemoryStore::new())),
        (
            "file (fsync)",
            Box::new(FileStore::open(dir.join("f")).expect("opens")),
        ),
        (
            "file (no fsync)",
            Box::new(
                FileStore::open_with(
                    dir.join("g"),
                    FileStoreOptions {
                        durability: Durability::None,
                    },
                )
                .expect("opens"),
            ),
        ),
        (
            "sqlite (FULL)",
            Box::new(sqlite("a.db", Durability::Fsync, false)),
        ),
        (
            "sqlite (group commit)",
            Box::new(sqlite("b.db", Durability::Fsync, true)),
        ),
        (
            "sqlite (NORMAL)",
            Box::new(sqlite("c.db", Durability::None, false)),
        ),
        ("redis", Box::new(redis.redis_prefixed("batch-test:"))),
    ];
    let broken: Vec<String> = stores
        .iter()
        .filter_map(|(name, s)| {
            a_batch_keeps_every_write(&**s)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// Until the batch ends, another connection to the database sees none of
/// it (the batch is one SQLite transaction); then all of it.
#[test]
fn an_sqlite_batch_is_one_transaction() {
    let dir = Scratch::new("sqlite-tx");
    let path = dir.join("s.db");
    let a = SqliteStore::open(&path).expect("opens");
    let b = SqliteStore::open(&path).expect("opens");
    a.begin_batch().unwrap();
    a.save(&id(1), &record(1, 5)).unwrap();
    assert!(a.load(&id(1)).unwrap().is_some());
    assert!(b.load(&id(1)).unwrap().is_none());
    a.end_batch().unwrap();
    assert!(b.load(&id(1)).unwrap().is_some());
    let e = a.end_batch().unwrap_err();
    assert!(e.to_string().contains("not begun"), "{e}");
}

fn requests() -> Vec<Request> {
    let now = time::macros::datetime!(2009-03-01 12:00:30 UTC);
    let mut sids = SeededSids::new(9);
    let mut out = Vec::new();
    for k in 0..40u64 {
        let cookie = (k % 3 != 0).then(|| format!("MOIN_SESSION_8080_ROOT={}", sids.next_sid()));
        let set = vec![Op::Set {
            key: "k".into(),
            value: k.into(),
        }];
        let now = now + time::Duration::seconds(k as i64);
        out.push(request(now, cookie, login_every(7, k as usize), set));
    }
    out
}

/// The reference backend answers a batch exactly as the same requests
/// one after another, over a file store and SQLite, and stores the same.
#[test]
fn a_batch_of_requests_answers_as_one_request_after_another() {
    let dir = Scratch::new("store-batch-backend");
    let config = config(Profile::Moin19, &["alice"]);
    let reqs = requests();
    let file = |name: &str| FileStore::open(dir.join(name)).expect("opens");
    let sqlite = |name: &str| SqliteStore::open(dir.join(name)).expect("opens");
    let mut one = ReferenceBackend::with_sids("one", file("one"), SidChoice::Seeded(5));
    let mut all = ReferenceBackend::with_sids("all", file("all"), SidChoice::Seeded(5));
    let mut db = ReferenceBackend::with_sids("db", sqlite("db.sqlite"), SidChoice::Seeded(5));
    for b in [&mut one as &mut dyn Backend, &mut all, &mut db] {
        b.reset(&config).expect("resets");
    }
    let singly: Vec<_> = reqs
        .iter()
        .map(|r| one.request(r).expect("answers"))
        .collect();
    for batched in [all.request_batch(&reqs), db.request_batch(&reqs)] {
        let batched: Vec<_> = batched.into_iter().map(|r| r.expect("answers")).collect();
        assert_eq!(batched, singly);
    }
    let mut listed = [one.list().unwrap(), all.list().unwrap(), db.list().unwrap()];
    for l in &mut listed {
        l.sort();
    }
    assert_eq!(listed[0], listed[1]);
    assert_eq!(listed[0], listed[2]);
}

/// A batch stops at the first error, which is its last answer.
#[test]
fn a_batch_stops_at_the_first_error() {
    let mut backend = ReferenceBackend::new("memory", MemoryStore::new());
    backend
        .reset(&Config::build(Profile::Moin19, &[ConfigPatch::default()]).expect("valid"))
        .expect("resets");
    let mut reqs = requests();
    reqs[3].ops = vec![Op::Set {
        key: "expires".into(),
        value: 1.into(),
    }];
    let answers = backend.request_batch(&reqs);
    assert_eq!(answers.len(), 4);
    assert!(answers[..3].iter().all(Result::is_ok));
    assert!(answers[3].is_err(), "{:?}", answers[3]);
}
