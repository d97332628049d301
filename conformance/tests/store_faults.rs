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

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moin_session_spec::sid::{is_well_formed, SeededSids, SidSource};
use moin_session_spec::store::{Loaded, Store};
use moin_session_spec::{
    AuthAction, CleanupMode, CleanupRequest, Config, ConfigPatch, Durability, FileStore,
    FileStoreOptions, LifetimeSetting, Op, Profile, Request, SessionService,
};
use serde_json::Value;
use time::OffsetDateTime;

#[path = "../tools/torture_record.rs"]
mod torture_record;
use torture_record::{record, whole};

const TORTURE: &str = env!("CARGO_BIN_EXE_store-torture");

fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moin-store-faults-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory can be made");
    dir
}

fn sids(n: usize, seed: u64) -> Vec<String> {
    let mut source = SeededSids::new(seed);
    (0..n).map(|_| source.next_sid()).collect()
}

fn spawn_writer(
    dir: &std::path::Path,
    writer: &str,
    count: u64,
    sids: &[String],
    fsync: bool,
) -> Child {
    let mut command = Command::new(TORTURE);
    command
        .arg("write")
        .arg(dir)
        .arg(writer)
        .arg(count.to_string())
        .args(sids);
    if !fsync {
        command.env("TORTURE_NO_FSYNC", "1");
    }
    command.stdout(Stdio::null());
    command.spawn().expect("the helper binary starts")
}

#[test]
fn threads_and_processes_see_only_whole_records() {
    let dir = fresh_dir("concurrent");
    let sids = sids(4, 11);
    // fsync is not what makes a save atomic (the rename is); leaving it out
    // lets far more saves interleave in the same time.
    let options = FileStoreOptions {
        durability: Durability::None,
    };
    let mut children: Vec<Child> = (0..2)
        .map(|i| spawn_writer(&dir, &format!("proc{i}"), 3_000, &sids, false))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..4 {
        let store = FileStore::open_with(&dir, options).expect("the store opens");
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
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn writers_killed_mid_save_leave_whole_records_and_no_listed_temporaries() {
    let dir = fresh_dir("sigkill");
    let sids = sids(3, 12);
    let store = FileStore::open(&dir).expect("the store opens");
    let mut saw_temporaries = 0;
    for round in 0..20u64 {
        let mut child = spawn_writer(&dir, &format!("round{round}"), 0, &sids, true);
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
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

fn config() -> moin_session_spec::M19Config {
    Config::build(
        Profile::Moin19,
        &[ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
            ..ConfigPatch::default()
        }],
    )
    .expect("a valid configuration")
    .as_m19()
    .expect("moin-1.9")
    .clone()
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("a valid instant")
}

fn anonymous(now: i64, cookie: Option<String>, ops: Vec<Op>) -> Request {
    Request {
        now: at(now),
        https: false,
        path: "/".into(),
        cookie_header: cookie,
        auth: AuthAction::None,
        ops,
    }
}

#[test]
fn cleanup_never_removes_a_renewal_it_could_not_see_expired() {
    const N: usize = 300;
    let dir = fresh_dir("renewal");
    let options = FileStoreOptions {
        durability: Durability::None,
    };
    let open = || FileStore::open_with(&dir, options).expect("the store opens");
    let mut creator = SessionService::new(open(), config(), SeededSids::new(21));
    let cookie_name = config().cookie_full_name();
    // N anonymous sessions, stored at t0 with expires E = t0 + 3600.
    let t0 = 1_700_000_040; // a whole minute
    let expires = t0 + 3600;
    let mut sessions = Vec::new();
    for i in 0..N {
        let first = creator
            .handle(&anonymous(t0, None, vec![]))
            .expect("a request succeeds");
        let sid = first.set_cookies[0]
            .split(';')
            .next()
            .and_then(|p| p.split_once('='))
            .map(|(_, v)| v.to_owned())
            .expect("a cookie is issued");
        creator
            .handle(&anonymous(
                t0,
                Some(format!("{cookie_name}={sid}")),
                vec![Op::Set {
                    key: "v".into(),
                    value: Value::from(i),
                }],
            ))
            .expect("a request succeeds");
        sessions.push(sid);
    }
    assert_eq!(creator.list().expect("listing").len(), N);
    // A renewer at E (still valid for it: expires == now) and a cleanup at
    // E + 60 (for which E is expired) race. Every renewal records
    // E' = E + 3600 > E + 60, so the cleanup must not remove a renewed
    // session, whatever the interleaving.
    let renewer = {
        let sessions = sessions.clone();
        let store = open();
        let cookie_name = cookie_name.clone();
        std::thread::spawn(move || {
            let mut service = SessionService::new(store, config(), SeededSids::new(22));
            for sid in sessions.iter().rev() {
                let response = service
                    .handle(&anonymous(
                        expires,
                        Some(format!("{cookie_name}={sid}")),
                        vec![Op::Set {
                            key: "renewed".into(),
                            value: Value::Bool(true),
                        }],
                    ))
                    .expect("a renewal succeeds");
                assert!(!response.new, "the renewal keeps {sid}");
            }
        })
    };
    let mut cleaner = SessionService::new(open(), config(), SeededSids::new(23));
    let mut removed = 0;
    while !renewer.is_finished() {
        removed += cleaner
            .cleanup(&CleanupRequest {
                now: at(expires + 60),
                mode: CleanupMode::Expired,
                user: None,
            })
            .expect("a cleanup succeeds")
            .removed
            .len();
    }
    renewer.join().expect("the renewer does not panic");
    let store = open();
    for sid in &sessions {
        match store.load(sid).expect("a load succeeds") {
            Some(Loaded::Record(r)) => {
                assert_eq!(r.get("renewed"), Some(&Value::Bool(true)), "{sid}");
                assert_eq!(
                    r.get("expires"),
                    Some(&Value::from(expires + 3600)),
                    "{sid}"
                );
            }
            other => panic!("the renewed session {sid} was lost to cleanup: {other:?}"),
        }
    }
    eprintln!("cleanup removed {removed} not-yet-renewed records during the race");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
