//! Throughput of the reference session service over every store, side by
//! side in one run, with the machine's limits measured in the same run and,
//! when given a MoinMoin 1.9.11 source tree, MoinMoin's own
//! `FileSessionService` on the same workload. Not a test: it prints figures
//! (see BENCHMARKS.md).
//!
//! ```sh
//! cargo bench -p moin-session-spec --bench reference
//! MOIN_19_SRC=/path/to/moin-1.9.11 MOIN_PYTHON2=python2.7 cargo bench -p moin-session-spec --bench reference
//! MOIN_BENCH_1M=1 cargo bench ...   # also 1,000,000-session cleanups (memory, SQLite, Redis)
//! MOIN_BENCH_1M=all cargo bench ... # ... and the file stores and MoinMoin (4 GiB, many minutes)
//! ```
//!
//! The Redis store runs against a `redis-server` the bench starts on a free
//! loopback port (installed from Debian when missing and root, as for the
//! tests).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use moin_session_spec::sid::{SeededSids, SidSource};
use moin_session_spec::store::{Record, Store};
use moin_session_spec::{
    AuthAction, CleanupMode, CleanupRequest, Config, ConfigPatch, Durability, FileStore,
    FileStoreOptions, LifetimeSetting, M19Config, MemoryStore, Op, Profile, RedisStore,
    RedisStoreOptions, Request, SessionService, SqliteStore, SqliteStoreOptions,
};
use serde_json::Value;
use time::OffsetDateTime;

use moin_session_testkit::redis_server;

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
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// The stores compared.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Memory,
    File(Durability),
    Sqlite(Durability),
    Redis,
}

impl Kind {
    fn all() -> [Kind; 6] {
        [
            Kind::Memory,
            Kind::File(Durability::Fsync),
            Kind::File(Durability::None),
            Kind::Sqlite(Durability::Fsync),
            Kind::Sqlite(Durability::None),
            Kind::Redis,
        ]
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::File(Durability::Fsync) => "file (fsync)",
            Kind::File(Durability::None) => "file (no fsync)",
            Kind::Sqlite(Durability::Fsync) => "sqlite (FULL)",
            Kind::Sqlite(Durability::None) => "sqlite (NORMAL)",
            Kind::Redis => "redis",
        }
    }
}

/// An opened store and what it occupies.
struct Opened {
    store: Box<dyn Store>,
    /// A handle on the same storage without fsync, for filling it fast.
    filler: Option<Box<dyn Store>>,
    dir: Option<PathBuf>,
    db: Option<SqliteStore>,
}

impl Opened {
    fn filler(&self) -> &dyn Store {
        self.filler.as_deref().unwrap_or(&*self.store)
    }
}

struct Env {
    redis_url: String,
    redis_prefix_n: std::cell::Cell<u32>,
}

impl Env {
    fn open(&self, kind: Kind, tag: &str) -> Opened {
        match kind {
            Kind::Memory => Opened {
                store: Box::new(MemoryStore::new()),
                filler: None,
                dir: None,
                db: None,
            },
            Kind::File(durability) => {
                let dir = temp_dir(tag);
                let store = FileStore::open_with(&dir, FileStoreOptions { durability })
                    .expect("open a file store");
                let filler = FileStore::open_with(
                    &dir,
                    FileStoreOptions {
                        durability: Durability::None,
                    },
                )
                .expect("open a file store");
                Opened {
                    store: Box::new(store),
                    filler: Some(Box::new(filler)),
                    dir: Some(dir),
                    db: None,
                }
            }
            Kind::Sqlite(durability) => {
                let dir = temp_dir(tag);
                let options = SqliteStoreOptions {
                    durability,
                    ..SqliteStoreOptions::default()
                };
                let path = dir.join("sessions.db");
                let store = SqliteStore::open_with(&path, options).expect("open an sqlite store");
                let normal = SqliteStoreOptions {
                    durability: Durability::None,
                    ..options
                };
                let filler = SqliteStore::open_with(&path, normal).expect("open an sqlite store");
                let probe = SqliteStore::open_with(&path, normal).expect("open an sqlite store");
                Opened {
                    store: Box::new(store),
                    filler: Some(Box::new(filler)),
                    dir: Some(dir),
                    db: Some(probe),
                }
            }
            Kind::Redis => {
                let n = self.redis_prefix_n.get() + 1;
                self.redis_prefix_n.set(n);
                let options = RedisStoreOptions {
                    prefix: format!("bench{n}:"),
                    ..RedisStoreOptions::default()
                };
                Opened {
                    store: Box::new(RedisStore::open(&self.redis_url, options).expect("redis")),
                    filler: None,
                    dir: None,
                    db: None,
                }
            }
        }
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

/// Request cycles per second: a returning anonymous client of one of 1,000
/// stored sessions writes one key and reads another (load, finalize, save).
fn cycles(store: &dyn Store, budget: Duration) -> f64 {
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
    n as f64 / start.elapsed().as_secs_f64()
}

const CLEANUP_NOW: i64 = T0 + 7200;

fn session_record(i: usize, expired: bool) -> Record {
    let expires = if expired {
        CLEANUP_NOW - 60
    } else {
        CLEANUP_NOW + 3600
    };
    Record::from([
        ("expires".to_owned(), Value::from(expires)),
        ("test".to_owned(), Value::from(i)),
    ])
}

/// Fills `total` sessions, none expired; the first `total / 10` are the
/// ones each fraction's run re-saves.
fn fill(store: &dyn Store, sids: &[String]) {
    for (i, sid) in sids.iter().enumerate() {
        store
            .save(sid, &session_record(i, false))
            .expect("a save succeeds");
    }
}

/// One default cleanup (expired only) after making `fraction` of the
/// sessions expired; its seconds.
fn cleanup(filler: &dyn Store, store: &dyn Store, sids: &[String], fraction: f64) -> f64 {
    let variable = sids.len() / 10;
    let expired = (sids.len() as f64 * fraction).round() as usize;
    for (i, sid) in sids[..variable].iter().enumerate() {
        filler
            .save(sid, &session_record(i, i < expired))
            .expect("a save succeeds");
    }
    let mut service = SessionService::new(store, config(), SeededSids::new(4));
    // Expired records were written long ago: none is still being written
    // back to disk when a real cleanup runs (on ext4, unlinking a file
    // whose replacement is under writeback waits for that I/O).
    sync_disks();
    let start = Instant::now();
    let outcome = service
        .cleanup(&CleanupRequest {
            now: at(CLEANUP_NOW),
            mode: CleanupMode::Expired,
            user: None,
        })
        .expect("a cleanup succeeds");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(outcome.removed.len(), expired);
    // Put the removed ones back for the next fraction.
    for (i, sid) in sids[..expired].iter().enumerate() {
        filler
            .save(sid, &session_record(i, false))
            .expect("a save succeeds");
    }
    secs
}

/// Bytes per session: on disk (allocated blocks) for the file and SQLite
/// stores, in the server's memory for Redis; `None` for memory.
fn bytes_per_session(
    kind: Kind,
    opened: &Opened,
    total: usize,
    redis_before: u64,
    env: &Env,
) -> Option<f64> {
    match kind {
        Kind::Memory => None,
        Kind::File(_) | Kind::Sqlite(_) => {
            if let Some(db) = &opened.db {
                db.checkpoint().expect("a checkpoint");
            }
            let dir = opened.dir.as_ref().expect("a directory");
            Some(disk_bytes(dir) as f64 / total as f64)
        }
        Kind::Redis => {
            Some((redis_used_memory(&env.redis_url) - redis_before) as f64 / total as f64)
        }
    }
}

fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .expect("the store directory")
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks() * 512)
        .sum()
}

fn redis_used_memory(url: &str) -> u64 {
    let client = redis::Client::open(url).expect("a URL");
    let mut conn = client.get_connection().expect("a connection");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query(&mut conn)
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO memory")
}

/// The limits of this machine, measured now: one write+fsync of a small
/// file; the write+fsync+rename+directory-fsync of an atomic save; one
/// Redis round trip; one PING in a pipeline of 10,000.
fn limits(redis_url: &str, rounds: usize) -> Vec<(String, String)> {
    let dir = temp_dir("limits");
    let mut times = Vec::new();
    let path = dir.join("f");
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("file");
    for i in 0..rounds {
        let start = Instant::now();
        f.write_all(format!("{i:064}").as_bytes()).expect("write");
        f.sync_data().expect("fsync");
        times.push(start.elapsed().as_secs_f64());
    }
    let fsync = median(&mut times);
    times.clear();
    for i in 0..rounds {
        let start = Instant::now();
        let tmp = dir.join("t");
        let mut t = File::create(&tmp).expect("file");
        t.write_all(format!("{i:064}").as_bytes()).expect("write");
        t.sync_all().expect("fsync");
        std::fs::rename(&tmp, dir.join("r")).expect("rename");
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .expect("dir fsync");
        times.push(start.elapsed().as_secs_f64());
    }
    let save = median(&mut times);
    let _ = std::fs::remove_dir_all(&dir);
    let client = redis::Client::open(redis_url).expect("a URL");
    let mut conn = client.get_connection().expect("a connection");
    times.clear();
    for _ in 0..rounds.max(1000) {
        let start = Instant::now();
        let _: String = redis::cmd("PING").query(&mut conn).expect("PING");
        times.push(start.elapsed().as_secs_f64());
    }
    let rtt = median(&mut times);
    let mut pipe = redis::pipe();
    for _ in 0..10_000 {
        pipe.cmd("PING");
    }
    let start = Instant::now();
    let _: Vec<String> = pipe.query(&mut conn).expect("pipelined PING");
    let pipelined = start.elapsed().as_secs_f64() / 10_000.0;
    vec![
        (
            "write + fsync of 64 bytes".into(),
            format!("{:.0} µs", fsync * 1e6),
        ),
        (
            "write + fsync + rename + directory fsync".into(),
            format!("{:.0} µs", save * 1e6),
        ),
        (
            "Redis PING round trip (one at a time)".into(),
            format!("{:.1} µs", rtt * 1e6),
        ),
        (
            "Redis PING, pipelined 10,000".into(),
            format!("{:.2} µs", pipelined * 1e6),
        ),
    ]
}

fn sync_disks() {
    // SAFETY: sync(2) takes no arguments and touches no memory of ours.
    unsafe { libc::sync() };
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// MoinMoin 1.9.11's FileSessionService through `benches/moin19_file_sessions.py`.
struct Moin {
    python: String,
    src: PathBuf,
    script: PathBuf,
}

impl Moin {
    fn from_env() -> Option<Moin> {
        let src = std::env::var_os("MOIN_19_SRC")?;
        Some(Moin {
            python: std::env::var("MOIN_PYTHON2").unwrap_or_else(|_| "python2.7".into()),
            src: src.into(),
            script: Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/moin19_file_sessions.py"),
        })
    }

    fn run(&self, args: &[String]) -> Vec<String> {
        let dir = temp_dir("moin");
        let out = Command::new(&self.python)
            .arg(&self.script)
            .arg(&self.src)
            .arg(&args[0])
            .arg(&dir)
            .args(&args[1..])
            .output()
            .expect("python2 runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "MoinMoin bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    fn cycles(&self, budget: Duration) -> f64 {
        let w = self.run(&["cycles".into(), budget.as_secs_f64().to_string()]);
        w[1].parse::<f64>().expect("count") / w[2].parse::<f64>().expect("secs")
    }

    /// (seconds, bytes per session).
    fn cleanup(&self, total: usize, fraction: f64) -> (f64, f64) {
        let w = self.run(&["cleanup".into(), total.to_string(), fraction.to_string()]);
        (w[3].parse().expect("secs"), w[4].parse().expect("bytes"))
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing
    // and only wants to know that it runs.
    let quick = !std::env::args().any(|a| a == "--bench");
    let budget = Duration::from_millis(if quick { 50 } else { 1000 });
    let rounds = if quick { 1 } else { 3 };
    let mut sizes: Vec<usize> = if quick {
        vec![1_000]
    } else {
        vec![10_000, 100_000]
    };
    if std::env::var_os("MOIN_BENCH_1M").is_some() {
        sizes.push(1_000_000);
    }
    let fractions = [0.001, 0.01, 0.1];
    let server =
        redis_server::RedisServer::start().unwrap_or_else(|e| panic!("no Redis server: {e}"));
    let env = Env {
        redis_url: server.url(),
        redis_prefix_n: std::cell::Cell::new(0),
    };
    let moin = Moin::from_env();
    let mut out = String::new();

    println!("limits (medians):");
    for (what, figure) in limits(&env.redis_url, if quick { 10 } else { 300 }) {
        println!("  {what:<44} {figure}");
        out.push_str(&format!("| {what} | {figure} |\n"));
    }

    // Request cycles: every contender once per round, interleaved; the
    // median of the rounds.
    let mut per: Vec<(String, Vec<f64>)> = Kind::all()
        .iter()
        .map(|k| (k.label().to_owned(), vec![]))
        .collect();
    if moin.is_some() {
        per.push(("MoinMoin 1.9.11 FileSessionService".into(), vec![]));
    }
    for round in 0..rounds {
        for (i, kind) in Kind::all().into_iter().enumerate() {
            let opened = env.open(kind, "cycles");
            let r = cycles(&*opened.store, budget);
            per[i].1.push(r);
            println!(
                "round {round} request cycles {:<36} {r:>10.0} /s",
                kind.label()
            );
        }
        if let Some(moin) = &moin {
            let r = moin.cycles(budget);
            per.last_mut().expect("moin").1.push(r);
            println!(
                "round {round} request cycles {:<36} {r:>10.0} /s",
                "MoinMoin 1.9.11"
            );
        }
    }
    println!("\nrequest cycles per second (median of {rounds} interleaved rounds):");
    for (label, v) in &mut per {
        println!("  {label:<40} {:>10.0}", median(v));
    }

    for &total in &sizes {
        let mut sids = SeededSids::new(3);
        let ids: Vec<String> = (0..total).map(|_| sids.next_sid()).collect();
        // A million one-file-per-session records take minutes to write
        // and 4 GiB of blocks: the file stores (and MoinMoin's) join the
        // 1M runs only with MOIN_BENCH_1M=all.
        let files_too = total < 1_000_000 || std::env::var("MOIN_BENCH_1M").as_deref() == Ok("all");
        for kind in Kind::all() {
            if matches!(kind, Kind::File(_)) && !files_too {
                continue;
            }
            let opened = env.open(kind, "cleanup");
            let before = if kind == Kind::Redis {
                redis_used_memory(&env.redis_url)
            } else {
                0
            };
            let start = Instant::now();
            fill(opened.filler(), &ids);
            let filled = start.elapsed().as_secs_f64();
            let bytes = bytes_per_session(kind, &opened, total, before, &env);
            let mut line = format!("cleanup {total:>8} {:<36}", kind.label());
            for f in fractions {
                let secs = cleanup(opened.filler(), &*opened.store, &ids, f);
                line.push_str(&format!(" {:>5.1}%: {:>8.4} s", f * 100.0, secs));
            }
            match bytes {
                Some(b) => line.push_str(&format!("  {b:>6.0} B/session")),
                None => line.push_str("       — B/session"),
            }
            println!("{line}  (fill {filled:.1} s)");
        }
        if let Some(moin) = moin.as_ref().filter(|_| files_too) {
            let mut line = format!("cleanup {total:>8} {:<36}", "MoinMoin 1.9.11");
            let mut bytes = 0.0;
            for f in fractions {
                let (secs, b) = moin.cleanup(total, f);
                bytes = b;
                line.push_str(&format!(" {:>5.1}%: {:>8.4} s", f * 100.0, secs));
            }
            println!("{line}  {bytes:>6.0} B/session");
        }
    }
    drop(server);
    let _ = out;
}
