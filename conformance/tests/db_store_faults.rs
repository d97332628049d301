//! Fault tests of the SQLite and Redis stores, against the real databases:
//! - SQLite writers killed with SIGKILL mid-save leave every record whole,
//!   and no save that had returned is lost;
//! - a Redis server killed and restarted mid-run gives each affected call
//!   a clear error naming the server, the store reconnects by itself, and
//!   no record is ever torn;
//! - two processes sharing one store lose nothing: every process's last
//!   save of its own records is there, and every shared record is whole;
//! - a cleanup never removes a session whose renewal it could not have
//!   seen as expired (the expiry-indexed `delete_expired_if` included).
//!
//! Redis runs against a server started for the test
//! (`moin_session_testkit::redis_server`); no server, no pass.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use moin_session_spec::store::{Loaded, Store};
use moin_session_spec::{RedisStore, SqliteStore};
use moin_session_testkit::faults::{cleanup_never_removes_a_renewal, sids, spawn_writer};
use moin_session_testkit::{store_tests, StoreKind, TestStore};
use serde_json::Value;

#[path = "../tools/torture_record.rs"]
mod torture_record;
use torture_record::{record, whole};

const TORTURE: &str = env!("CARGO_BIN_EXE_store-torture");

/// A handle on `place` as `store-torture` opens it: SQLite with its
/// defaults (`synchronous=FULL`), Redis under the helper's prefix.
fn as_the_helper_opens(place: &TestStore) -> Box<dyn Store> {
    match place.kind() {
        StoreKind::Sqlite => {
            Box::new(SqliteStore::open(place.db_path()).expect("the database opens"))
        }
        _ => Box::new(place.redis_prefixed("torture:")),
    }
}

/// Every record under `sids` is there and whole.
fn all_whole(store: &dyn Store, sids: &[String]) {
    for sid in sids {
        let loaded = store.load(sid).expect("a load succeeds");
        assert!(loaded.as_ref().is_some_and(whole), "{sid}: {loaded:?}");
    }
}

fn spawn(store: &str, writer: &str, count: u64, sids: &[String], fsync: bool) -> Child {
    spawn_writer(TORTURE, store, writer, count, sids, fsync, true)
}

/// The last save of each sid the writer reported committed.
fn committed(child: &mut Child) -> BTreeMap<String, u64> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut last = BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("the helper's output is text");
        // A kill can cut the last line short: only whole lines count.
        if let Some((sid, seq)) = line.split_once(' ') {
            if let Ok(seq) = seq.parse::<u64>() {
                last.insert(sid.to_owned(), seq);
            }
        }
    }
    last
}

/// Every record of `writer` under `sids` is whole, and none is older than
/// the last save the writer reported.
fn nothing_torn_or_lost(
    store: &dyn Store,
    writer: &str,
    sids: &[String],
    last: &BTreeMap<String, u64>,
    when: &str,
) {
    for sid in sids {
        let loaded = store.load(sid).expect("a load succeeds");
        match (&loaded, last.get(sid)) {
            (None, None) => {}
            (None, Some(seq)) => panic!("{when}: the committed save {seq} of {sid} is lost"),
            (Some(l), committed) => {
                assert!(whole(l), "{when}: {sid} is not a whole record: {l:?}");
                let Loaded::Record(r) = l else { unreachable!() };
                if r.get("writer").and_then(Value::as_str) == Some(writer) {
                    let seq = r.get("seq").and_then(Value::as_u64).expect("whole");
                    if let Some(c) = committed {
                        assert!(
                            seq >= *c,
                            "{when}: {sid} holds save {seq}, older than the committed {c}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn sqlite_writers_killed_mid_save_lose_no_committed_record() {
    let place = TestStore::on_disk(StoreKind::Sqlite);
    let db = place.db_path();
    let spec = place.spec();
    let sids = sids(3, 31);
    let mut total = 0;
    for round in 0..12u64 {
        let writer = format!("round{round}");
        // synchronous=FULL, as deployed by default.
        let mut child = spawn(&spec, &writer, 0, &sids, true);
        std::thread::sleep(Duration::from_millis(30 + (round * 37) % 80));
        child.kill().expect("SIGKILL is delivered");
        let last = committed(&mut child);
        child.wait().expect("the killed writer is reaped");
        total += last.len();
        // A fresh connection, as a restarted wiki would open.
        let store = SqliteStore::open(&db).expect("the database opens after a kill");
        nothing_torn_or_lost(&store, &writer, &sids, &last, &format!("round {round}"));
        for listed in store.list().expect("a listing succeeds") {
            assert!(
                sids.contains(&listed),
                "listed {listed:?}, which nobody saved"
            );
        }
    }
    assert!(
        total > 0,
        "the writers committed saves before they were killed"
    );
}

/// Two writer processes on a store of `kind`, each with sids of its own
/// and both on shared ones: after both finish, each process's own records
/// hold its last save, and every shared record is whole.
fn two_processes_lose_nothing(kind: StoreKind) {
    let place = TestStore::on_disk(kind);
    let (spec, store) = (&place.spec(), &*as_the_helper_opens(&place));
    const COUNT: u64 = 600;
    let own = [sids(2, 41), sids(2, 42)];
    let shared = sids(2, 43);
    let mut children: Vec<(String, Child, Vec<String>)> = (0..2)
        .map(|i| {
            let mut mine = own[i].clone();
            mine.extend(shared.iter().cloned());
            let writer = format!("proc{i}");
            let child = spawn(spec, &writer, COUNT, &mine, false);
            (writer, child, mine)
        })
        .collect();
    for (writer, child, mine) in &mut children {
        let last = committed(child);
        let status = child.wait().expect("the helper runs");
        assert!(
            status.success(),
            "{writer} saw a torn record or failed: {status}"
        );
        assert_eq!(
            last.values().copied().max(),
            Some(COUNT - 1),
            "{writer} finished"
        );
        let own: Vec<String> = mine
            .iter()
            .filter(|s| !shared.contains(s))
            .cloned()
            .collect();
        nothing_torn_or_lost(store, writer, &own, &last, writer);
        for sid in &own {
            assert!(
                store.load(sid).expect("a load").is_some(),
                "{writer}'s {sid} is lost"
            );
        }
    }
    all_whole(store, &shared);
}

store_tests!(two_processes_lose_nothing:
    Sqlite => two_processes_sharing_an_sqlite_store_lose_nothing,
    Redis => two_processes_sharing_a_redis_store_lose_nothing,
);

#[test]
fn a_redis_restart_gives_clear_errors_and_tears_nothing() {
    let mut place = TestStore::new(StoreKind::Redis);
    let store = place.redis_prefixed("torture:");
    let sids = sids(4, 51);
    let mut errors = Vec::new();
    let mut seq = 0u64;
    let mut save_and_check = |store: &RedisStore, errors: &mut Vec<String>| {
        let sid = &sids[(seq as usize) % sids.len()];
        match store.save(sid, &record("restart", seq)) {
            Ok(()) => {
                for sid in &sids {
                    if let Some(l) = store.load(sid).expect("a load while the server is up") {
                        assert!(whole(&l), "{sid} is torn: {l:?}");
                    }
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
        seq += 1;
    };
    for _ in 0..200 {
        save_and_check(&store, &mut errors);
    }
    assert!(errors.is_empty(), "{errors:?}");
    place.server().kill();
    // Every call while the server is down fails, saying where and what.
    for _ in 0..5 {
        save_and_check(&store, &mut errors);
    }
    assert_eq!(errors.len(), 5, "each affected call fails: {errors:?}");
    for e in &errors {
        assert!(e.contains(&place.url()), "the error names the server: {e}");
        assert!(e.contains("save a record"), "the error names the call: {e}");
    }
    let e = store
        .load(&sids[0])
        .expect_err("a load fails while the server is down");
    assert!(e.to_string().contains("load a record"), "{e}");
    place.server().restart().expect("the server starts again");
    errors.clear();
    // The store reconnects by itself; the restarted server kept nothing
    // (no persistence), and what is saved again is whole.
    for _ in 0..200 {
        save_and_check(&store, &mut errors);
    }
    assert!(errors.is_empty(), "after the restart: {errors:?}");
    all_whole(&store, &sids);
}

/// The renewal-against-cleanup race on a store of `kind`.
fn cleanup_keeps_renewals(kind: StoreKind) {
    let place = TestStore::on_disk(kind);
    match kind {
        StoreKind::Sqlite => cleanup_never_removes_a_renewal(|| place.sqlite(), 61),
        _ => cleanup_never_removes_a_renewal(|| place.redis(), 61),
    }
}

store_tests!(cleanup_keeps_renewals:
    Sqlite => sqlite_cleanup_never_removes_a_renewal_it_could_not_see_expired,
    Redis => redis_cleanup_never_removes_a_renewal_it_could_not_see_expired,
);

#[test]
fn a_missing_database_directory_is_named() {
    let e = SqliteStore::open(Path::new("/nonexistent-moin-dir/sessions.db")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent-moin-dir"), "{e}");
}
