//! Group commit for [`SqliteStore`](super::SqliteStore): commits run with
//! `synchronous=NORMAL` (their frames are written to the WAL, not yet
//! flushed), and each then waits until one flush of the WAL covers it.
//! Whoever finds no flush under way starts one for every commit made so
//! far; the others wait for it. So a thread's save returns only once it is
//! on disk, as under `synchronous=FULL`, but commits that wait at the same
//! time share one flush instead of taking turns, each with its own.
//!
//! The flush is `fdatasync` of the `-wal` file: the WAL's bytes and its
//! length, which is all a commit adds (SQLite, with `NORMAL`, still
//! flushes the WAL before a checkpoint, the database after it, and the
//! WAL's header when the WAL starts over).

use std::fs::File;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::store::StoreError;

/// The commits of one store and the flushes that made them durable.
#[derive(Debug)]
pub(super) struct GroupFlush {
    wal: PathBuf,
    state: Mutex<State>,
    flushed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Commits made so far (their sequence numbers are 1, 2, ...).
    committed: u64,
    /// Every commit up to this one is on disk.
    durable: u64,
    /// A flush is under way.
    flushing: bool,
}

impl GroupFlush {
    /// Group commit for the database at `db` (its WAL is `<db>-wal`).
    pub(super) fn new(db: &std::path::Path) -> GroupFlush {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        GroupFlush {
            wal: PathBuf::from(wal),
            state: Mutex::new(State::default()),
            flushed: Condvar::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is three numbers, each written whole.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes a commit just made; its sequence number. Call it while still
    /// holding the connection, so that numbers follow the order of the
    /// commits in the WAL.
    pub(super) fn committed(&self) -> u64 {
        let mut state = self.state();
        state.committed += 1;
        state.committed
    }

    /// Returns once commit `seq` is on disk: at once if a flush has
    /// covered it; otherwise after the flush under way (and then perhaps
    /// one of its own), or after a flush it starts for every commit made
    /// so far.
    pub(super) fn wait(&self, seq: u64) -> Result<(), StoreError> {
        let mut state = self.state();
        loop {
            if state.durable >= seq {
                return Ok(());
            }
            if state.flushing {
                state = self
                    .flushed
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            state.flushing = true;
            let target = state.committed;
            drop(state);
            let flushed = self.flush();
            state = self.state();
            state.flushing = false;
            if flushed.is_ok() {
                state.durable = state.durable.max(target);
            }
            self.flushed.notify_all();
            flushed?;
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        match File::open(&self.wal) {
            Ok(wal) => wal.sync_data().map_err(|source| StoreError::Io {
                op: "flush the write-ahead log",
                path: self.wal.clone(),
                source,
            }),
            // No WAL: the last connection checkpointed it into the
            // database (flushed) and removed it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io {
                op: "open the write-ahead log to flush it",
                path: self.wal.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_commits_share_flushes() {
        let dir = std::env::temp_dir().join(format!("moin-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("g.db");
        std::fs::write(dir.join("g.db-wal"), b"frames").unwrap();
        let group = GroupFlush::new(&db);
        let seqs: Vec<u64> = (0..5).map(|_| group.committed()).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        // The first waiter flushes for all five; the rest return at once.
        group.wait(3).unwrap();
        assert_eq!(group.state().durable, 5);
        group.wait(5).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let seq = group.committed();
                    group.wait(seq).unwrap();
                    assert!(group.state().durable >= seq);
                });
            }
        });
        assert_eq!(group.state().durable, 13);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
