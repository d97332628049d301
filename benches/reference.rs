//! Throughput of the reference session service over each store: request
//! cycles per second, and one cleanup over 10,000 and 100,000 stored
//! sessions of which 1% are expired. Not a test: it prints figures
//! (see BENCHMARKS.md). Run with `cargo bench -p moin-session-spec --bench reference`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use moin_session_spec::sid::{SeededSids, SidSource};
use moin_session_spec::store::{Record, Store};
use moin_session_spec::{
    AuthAction, CleanupMode, CleanupRequest, Config, ConfigPatch, Durability, FileStore,
    FileStoreOptions, LifetimeSetting, M19Config, MemoryStore, Op, Profile, Request,
    SessionService,
};
use serde_json::Value;
use time::OffsetDateTime;

const T0: i64 = 1_700_000_040;

fn config() -> M19Config {
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

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moin-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Request cycles per second: a returning anonymous client of one of 1,000
/// stored sessions writes one key and reads another (load, finalize, save).
fn cycles<S: Store>(label: &str, store: S, budget: Duration) {
    let cookie_name = config().cookie_full_name();
    let mut service = SessionService::new(store, config(), SeededSids::new(1));
    let mut sids = SeededSids::new(2);
    let sessions: Vec<String> = (0..1000).map(|_| sids.next_sid()).collect();
    let request = |sid: &str, i: u64| Request {
        now: at(T0 + (i / 1000) as i64),
        https: false,
        path: "/".into(),
        cookie_header: Some(format!("{cookie_name}={sid}")),
        auth: AuthAction::None,
        ops: vec![
            Op::Set {
                key: "n".into(),
                value: Value::from(i),
            },
            Op::Get { key: "m".into() },
        ],
    };
    for (i, sid) in sessions.iter().enumerate() {
        service
            .handle(&request(sid, i as u64))
            .expect("a request succeeds");
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..50 {
            let sid = &sessions[(n as usize * 7919) % sessions.len()];
            service
                .handle(&request(sid, n))
                .expect("a request succeeds");
            n += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "request cycles  {label:<34} {:>10.0} /s  ({n} cycles in {secs:.2} s)",
        n as f64 / secs
    );
}

/// One default cleanup over `total` stored sessions, 1% expired.
fn cleanup<S: Store>(label: &str, fill: &dyn Store, store: S, total: usize) {
    let mut sids = SeededSids::new(3);
    let now = T0 + 7200;
    for i in 0..total {
        let expires = if i % 100 == 0 { now - 60 } else { now + 3600 };
        let record = Record::from([
            ("expires".to_owned(), Value::from(expires)),
            ("test".to_owned(), Value::from(i)),
        ]);
        fill.save(&sids.next_sid(), &record)
            .expect("a save succeeds");
    }
    let mut service = SessionService::new(store, config(), SeededSids::new(4));
    let start = Instant::now();
    let outcome = service
        .cleanup(&CleanupRequest {
            now: at(now),
            mode: CleanupMode::Expired,
            user: None,
        })
        .expect("a cleanup succeeds");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(outcome.removed.len(), total / 100);
    println!(
        "cleanup {total:>7} {label:<34} {:>10.3} s   ({:.0} records/s, removed {})",
        secs,
        total as f64 / secs,
        outcome.removed.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only wants to know that it runs.
    let quick = !std::env::args().any(|a| a == "--bench");
    let budget = Duration::from_millis(if quick { 50 } else { 3000 });
    let sizes: &[usize] = if quick { &[1_000] } else { &[10_000, 100_000] };
    let fsync = FileStoreOptions::default();
    let no_fsync = FileStoreOptions {
        durability: Durability::None,
    };

    cycles("memory", MemoryStore::new(), budget);
    let dir = temp_dir("cycles-fsync");
    cycles(
        "file (fsync)",
        FileStore::open_with(&dir, fsync).expect("open"),
        budget,
    );
    let _ = std::fs::remove_dir_all(&dir);
    let dir = temp_dir("cycles-nofsync");
    cycles(
        "file (no fsync)",
        FileStore::open_with(&dir, no_fsync).expect("open"),
        budget,
    );
    let _ = std::fs::remove_dir_all(&dir);

    for &total in sizes {
        let memory = MemoryStore::new();
        cleanup("memory", &memory, &memory, total);
        for (label, options) in [("file (fsync)", fsync), ("file (no fsync)", no_fsync)] {
            let dir = temp_dir("cleanup");
            let filler = FileStore::open_with(&dir, no_fsync).expect("open");
            let store = FileStore::open_with(&dir, options).expect("open");
            cleanup(label, &filler, store, total);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
