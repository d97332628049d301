//! Cleanups of expired sessions over many stored ones, and what a store
//! occupies per session.

use std::path::Path;
use std::time::Instant;

use moin_session_spec::sid::SeededSids;
use moin_session_spec::{CleanupMode, CleanupRequest, SessionService, SqliteStore};

use crate::stores::{Env, Kind, Opened, Shared};
use crate::workload::{at, config, session_record, CLEANUP_NOW};

/// One default cleanup (expired only) after making `fraction` of the
/// sessions expired; its seconds. The first tenth of `sids` are the ones
/// each fraction's run re-saves (through the filler, without `fsync`).
pub fn cleanup(filler: &Shared, store: &Shared, sids: &[String], fraction: f64) -> f64 {
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
pub fn bytes_per_session(
    opened: &Opened,
    total: usize,
    redis_before: u64,
    env: &Env,
) -> Option<f64> {
    match opened.kind {
        Kind::Memory => None,
        Kind::Redis => {
            Some((redis_used_memory(&env.redis_url) - redis_before) as f64 / total as f64)
        }
        _ => {
            if let Some(db) = &opened.db {
                SqliteStore::open(db)
                    .and_then(|s| s.checkpoint())
                    .expect("a checkpoint");
            }
            let dir = opened.dir.as_ref().expect("a directory");
            Some(disk_bytes(dir) as f64 / total as f64)
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

pub fn redis_used_memory(url: &str) -> u64 {
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

pub fn sync_disks() {
    // SAFETY: sync(2) takes no arguments and touches no memory of ours.
    unsafe { libc::sync() };
}
