//! Fault tests of the file store: concurrent writers and readers across
//! threads and processes, writers killed with SIGKILL mid-save, and cleanup
//! racing with requests that renew sessions.
//!
//! What they hold the store to (the `Store` contract, `r[m19.store.list]`,
//! the spec's implementer notes on atomic saves):
//! - every load sees a whole record some writer wrote, or absence;
//! - a listing never reports a temporary file, even right after a crash;
//! - a cleanup never removes a session whose renewal it could not have
//!   seen as expired.
//!
//! Each writer process saves `MOIN_TORTURE_SAVES` records against four
//! reader threads (300 by default, 3,000 in the long run,
//! `MOIN_LONG_TESTS=1`): on a busy disk the long run takes about a minute.

use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moin_session_spec::sid::is_well_formed;
use moin_session_spec::store::Store;
use moin_session_spec::{Durability, FileStore, FileStoreOptions};
use moin_session_testkit::faults::{cleanup_never_removes_a_renewal, sids, spawn_writer};
use moin_session_testkit::long::count;
use moin_session_testkit::Scratch;
use time::OffsetDateTime;

#[path = "../tools/torture_record.rs"]
mod torture_record;
use torture_record::{record, whole};

const TORTURE: &str = env!("CARGO_BIN_EXE_store-torture");

fn spawn(dir: &Scratch, writer: &str, count: u64, sids: &[String], fsync: bool) -> Child {
    let dir = dir.path().to_str().expect("a UTF-8 temporary directory");
    spawn_writer(TORTURE, dir, writer, count, sids, fsync, false)
}

#[test]
fn threads_and_processes_see_only_whole_records() {
    let dir = Scratch::new("file-concurrent");
    let sids = sids(4, 11);
    // fsync is not what makes a save atomic (the rename is); leaving it out
    // lets far more saves interleave in the same time.
    let options = FileStoreOptions {
        durability: Durability::None,
    };
    let saves = count("MOIN_TORTURE_SAVES", 300, 3_000) as u64;
    let mut children: Vec<Child> = (0..2)
        .map(|i| spawn(&dir, &format!("proc{i}"), saves, &sids, false))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..4 {
        let store = FileStore::open_with(dir.path(), options).expect("the store opens");
        let sids = sids.clone();
        let stop = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            let (mut loads, mut seq) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let sid = &sids[(seq as usize) % sids.len()];
                if t % 2 == 0 {
                    store
                        .save(sid, &record(&format!("thread{t}"), seq))
                        .expect("a save succeeds");
                }
                for sid in &sids {
                    if let Some(loaded) = store.load(sid).expect("a load succeeds") {
                        assert!(whole(&loaded), "torn record under {sid}: {loaded:?}");
                        loads += 1;
                    }
                }
                for listed in store.list().expect("a listing succeeds") {
                    assert!(sids.contains(&listed), "listed {listed:?}, not a record");
                }
                seq += 1;
            }
            loads
        }));
    }
    for child in &mut children {
        let status = child.wait().expect("the helper runs");
        assert!(
            status.success(),
            "a writer process saw a torn record: {status}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let loads: u64 = threads
        .into_iter()
        .map(|t| t.join().expect("no reader thread panics"))
        .sum();
    assert!(loads > 100, "the readers loaded records ({loads})");
}

#[test]
fn writers_killed_mid_save_leave_whole_records_and_no_listed_temporaries() {
    let dir = Scratch::new("file-sigkill");
    let sids = sids(3, 12);
    let store = FileStore::open(dir.path()).expect("the store opens");
    let mut saw_temporaries = 0;
    for round in 0..20u64 {
        let mut child = spawn(&dir, &format!("round{round}"), 0, &sids, true);
        std::thread::sleep(Duration::from_millis(20 + (round * 37) % 60));
        child.kill().expect("SIGKILL is delivered");
        child.wait().expect("the killed writer is reaped");
        let listed = store.list().expect("a listing succeeds");
        for name in &listed {
            assert!(is_well_formed(name), "listed {name:?}, not a sid");
            assert!(sids.contains(name), "listed {name:?}, which nobody saved");
            let loaded = store.load(name).expect("a load succeeds");
            assert!(
                loaded.as_ref().is_none_or(whole),
                "round {round}: {name} is not a whole record: {loaded:?}"
            );
        }
        saw_temporaries += store.temp_files().expect("temporaries can be listed").len();
    }
    // Whatever temporaries the kills left are stale and can be swept.
    let later = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(u32::MAX as u64);
    store
        .cleanup_stale_temp(later, Duration::from_secs(0))
        .expect("stale temporaries are removed");
    assert!(store.temp_files().expect("listing").is_empty());
    eprintln!("temporaries seen after kills: {saw_temporaries}");
}

#[test]
fn cleanup_never_removes_a_renewal_it_could_not_see_expired() {
    let dir = Scratch::new("file-renewal");
    let options = FileStoreOptions {
        durability: Durability::None,
    };
    cleanup_never_removes_a_renewal(
        || FileStore::open_with(dir.path(), options).expect("the store opens"),
        21,
    );
}
