//! The limits of this machine, measured in the same run as the figures
//! they bound.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::time::Instant;

use moin_session_spec::{Durability, SqliteStore, SqliteStoreOptions};

use crate::stores::Shared;
use crate::workload::{temp_dir, Client};

/// One measured limit.
pub struct Limit {
    pub what: String,
    pub secs: f64,
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn timed(rounds: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut times: Vec<f64> = (0..rounds)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed().as_secs_f64()
        })
        .collect();
    median(&mut times)
}

/// The bytes one request cycle of the bench adds to SQLite's WAL: frames
/// of changed pages, measured on a fresh database after its sessions are
/// stored and its WAL emptied.
pub fn wal_bytes_per_commit() -> u64 {
    let dir = temp_dir("walsize");
    let db = dir.join("sessions.db");
    let options = SqliteStoreOptions {
        durability: Durability::None,
        ..SqliteStoreOptions::default()
    };
    let store = SqliteStore::open_with(&db, options).expect("open an sqlite store");
    let shared: &Shared = &store;
    let mut client = Client::new(shared, 1);
    store.checkpoint().expect("a checkpoint");
    const COMMITS: u64 = 100;
    for n in 0..COMMITS {
        client.cycle(n);
    }
    let wal = std::fs::metadata(dir.join("sessions.db-wal"))
        .expect("the WAL")
        .len();
    drop(client);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    // The WAL's 32-byte header is written once.
    (wal.saturating_sub(32)) / COMMITS
}

/// Writes of `bytes` at successive offsets of a 4 MiB file that already
/// exists (as a WAL that is reused after each checkpoint), each followed
/// by `fsync` (as SQLite's `synchronous=FULL` does) or `fdatasync` (as
/// group commit does).
fn log_write(rounds: usize, bytes: u64, data_only: bool) -> f64 {
    let dir = temp_dir("limits-wal");
    let path = dir.join("log");
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("file");
    f.write_all(&vec![0u8; 4 << 20]).expect("write");
    f.sync_all().expect("fsync");
    let block = vec![7u8; bytes as usize];
    let secs = timed(rounds, |i| {
        let offset = (i as u64 * bytes) % ((4 << 20) - bytes);
        f.seek(SeekFrom::Start(offset)).expect("seek");
        f.write_all(&block).expect("write");
        if data_only {
            f.sync_data().expect("fdatasync");
        } else {
            f.sync_all().expect("fsync");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    secs
}

/// Every limit: writes and flushes, the file store's save, one commit's
/// WAL write, Redis round trips.
pub fn limits(redis_url: &str, rounds: usize, wal_bytes: u64) -> Vec<Limit> {
    let dir = temp_dir("limits");
    let path = dir.join("f");
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("file");
    let fsync = timed(rounds, |i| {
        f.write_all(format!("{i:064}").as_bytes()).expect("write");
        f.sync_data().expect("fsync");
    });
    let save = timed(rounds, |i| {
        let tmp = dir.join("t");
        let mut t = File::create(&tmp).expect("file");
        t.write_all(format!("{i:064}").as_bytes()).expect("write");
        t.sync_all().expect("fsync");
        std::fs::rename(&tmp, dir.join("r")).expect("rename");
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .expect("dir fsync");
    });
    let _ = std::fs::remove_dir_all(&dir);
    let wal_fsync = log_write(rounds, wal_bytes, false);
    let wal_fdatasync = log_write(rounds, wal_bytes, true);
    let client = redis::Client::open(redis_url).expect("a URL");
    let mut conn = client.get_connection().expect("a connection");
    let rtt = timed(rounds.max(1000), |_| {
        let _: String = redis::cmd("PING").query(&mut conn).expect("PING");
    });
    let mut pipe = redis::pipe();
    for _ in 0..10_000 {
        pipe.cmd("PING");
    }
    let start = Instant::now();
    let _: Vec<String> = pipe.query(&mut conn).expect("pipelined PING");
    let pipelined = start.elapsed().as_secs_f64() / 10_000.0;
    let limit = |what: String, secs| Limit { what, secs };
    vec![
        limit("write + fsync of 64 bytes".into(), fsync),
        limit(
            "write + fsync + rename + directory fsync (one durable file save)".into(),
            save,
        ),
        limit(
            format!("write of one commit's WAL frames ({wal_bytes} bytes) + fsync"),
            wal_fsync,
        ),
        limit(
            format!("write of one commit's WAL frames ({wal_bytes} bytes) + fdatasync"),
            wal_fdatasync,
        ),
        limit("Redis PING round trip (one at a time)".into(), rtt),
        limit("Redis PING, pipelined 10,000 (per PING)".into(), pipelined),
    ]
}
