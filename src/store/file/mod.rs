//! [`FileStore`]: a [`Store`] with one file per session id in a directory.
//!
//! Implements the store contract of [`Store`] on a filesystem, following
//! the spec's implementer notes (section 18): `r[m19.store.list]` (listing
//! skips temporary and foreign files), `r[m19.load.unreadable-record]`
//! (a file that does not decode loads as [`Loaded::Unreadable`]), atomic
//! saves, idempotent deletes.
//!
//! # On-disk format
//!
//! The record of id `S` (a sid, or a namespaced id such as `anon-6869`:
//! [`check_id`]) is the file `<dir>/S`, a JSON object:
//!
//! ```json
//! {"format": 1, "data": {"expires": 1700003580, "user.id": "alice", "test": 4711}}
//! ```
//!
//! `format` is 1; `data` maps each key of the record to its JSON value. A
//! file that is not such an object (garbage bytes, truncated JSON, another
//! `format`) is *unreadable*: it loads as [`Loaded::Unreadable`], is listed,
//! and is replaced by the next save or removed by a delete.
//!
//! | name in the directory | what it is | listed |
//! | --- | --- | --- |
//! | 40 lowercase hex characters, or `<letters>-<lowercase hex>` ([`check_id`]) | a record | yes |
//! | `.tmp-<pid>-<n>-<sid>` | a save in progress, or left by a crash | no |
//! | `.lock` | the lock file of [`Store::delete_if`] | no |
//! | anything else | foreign; never touched | no |
//!
//! # Atomicity and crashes
//!
//! A save writes the whole record to a temporary file in the same directory
//! (a name that can never be a sid, since it starts with `.tmp-`), flushes
//! it to disk (`fsync`), renames it over the record's file, and flushes the
//! directory. A reader therefore sees the old record or the new one, never
//! part of one, and a process killed at any point leaves every record
//! whole or absent; at worst a stale temporary file remains, which listing
//! ignores and [`FileStore::cleanup_stale_temp`] removes.
//!
//! Ids are validated ([`check_id`]: `a`-`z`, `0`-`9` and `-` only, never a
//! leading `.`) before any path is built, so no input can name a file
//! outside the directory.
//!
//! # The expiry in the modification time
//!
//! A save sets the record file's modification time, once it is in place,
//! to its integer
//! `expires` ([`index_expiry`]), marked by [`MTIME_MARK_NANOS`] in the
//! nanoseconds; a record without one (and an unreadable one) gets the
//! epoch. A cleanup of expired sessions ([`Store::delete_expired_if`])
//! then reads only the directory and each file's metadata, and opens only
//! the files that can have expired: those whose time is not marked, or
//! marked below its instant. A file whose time something else changed
//! (`touch`, a copy without `-p`, a file system with coarse timestamps)
//! loses the mark and is simply opened. Its cost follows the listing, not
//! the reading and parsing of every record.
//!
//! # One step: the directory lock
//!
//! [`Store::delete_if`], [`Store::delete_expired_if`] and [`Store::update`]
//! take an exclusive `flock` on `<dir>/.lock` from their read to their
//! rename or removal; saves and deletes take it shared around their rename
//! or removal. So a save that renews a record either lands before the test
//! (and is seen) or after the removal (and recreates the record): a
//! cleanup in one process never removes a renewal made by another that it
//! did not see; and no write of any process lands between an update's read
//! and its commit (`r[hard.store.atomic-update]`). An update holds the lock
//! while it writes and flushes its temporary file, so updates of one
//! directory take turns, each paying its own `fsync`.

//!
//! # Batches
//!
//! Between [`Store::begin_batch`] and the matching [`Store::end_batch`],
//! saves and deletes made through this value skip their `fsync`s (each is
//! still a rename or an unlink, atomic and seen at once by every process);
//! the end flushes them all at once: `syncfs` on the directory's file
//! system on Linux, `sync` on other Unix systems (elsewhere each write is
//! still flushed as it is made). So
//! 2,000 saves cost one flush instead of 4,000; a crash before the end may
//! lose any of them, each record whole or absent.

mod disk;
mod lock;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use time::OffsetDateTime;

use super::{
    check_id, index_expiry, is_valid_id, Change, Loaded, OnConflict, Record, Store, StoreError,
    Updated,
};
use disk::{encode, marked_not_before, mtime_of, read, remove_if_present, temp_name};
pub use disk::{FILE_FORMAT, MTIME_MARK_NANOS, TEMP_PREFIX};
use lock::{DirLock, LockKind};

/// How many candidates a cleanup tests and removes per hold of the lock.
const CLEANUP_BATCH: usize = 256;

/// How hard a [`FileStore`] works to make saves survive a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fsync` the temporary file before the rename and the directory
    /// after it (and after deletes). The default.
    #[default]
    Fsync,
    /// No `fsync`: saves are still atomic against crashes of the process
    /// (rename is atomic), but a power loss may lose recent saves. For
    /// tests and benchmarks on throwaway directories.
    None,
}

/// Options of a [`FileStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStoreOptions {
    /// Whether to `fsync`.
    pub durability: Durability,
}

/// A store keeping one JSON file per record id in a directory (see the module
/// documentation for the format).
///
/// ```
/// use moin_session_spec::{FileStore, store::{Loaded, Record, Store}};
/// let dir = std::env::temp_dir().join(format!("moin-doc-filestore-{}", std::process::id()));
/// let store = FileStore::open(&dir).unwrap();
/// let sid = "0123456789abcdef0123456789abcdef01234567";
/// store.save(sid, &Record::from([("test".to_owned(), 4711.into())])).unwrap();
/// assert!(matches!(store.load(sid).unwrap(), Some(Loaded::Record(r)) if r["test"] == 4711));
/// assert_eq!(store.list().unwrap(), vec![sid.to_owned()]);
/// // A path is never built from an id that is not a sid.
/// assert!(store.load("../secret").is_err());
/// store.corrupt(sid).unwrap();
/// assert_eq!(store.load(sid).unwrap(), Some(Loaded::Unreadable));
/// store.clear().unwrap();
/// assert!(store.list().unwrap().is_empty());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    options: FileStoreOptions,
    /// How deep in batches this value is ([`Store::begin_batch`]): while
    /// above 0, writes are not flushed one by one.
    batch: AtomicUsize,
}

impl Clone for FileStore {
    /// The same directory and options, outside any batch.
    fn clone(&self) -> FileStore {
        FileStore {
            dir: self.dir.clone(),
            options: self.options,
            batch: AtomicUsize::new(0),
        }
    }
}

impl FileStore {
    /// A store in `dir`, created (with its parents) when missing, with
    /// default options (full durability).
    pub fn open(dir: impl AsRef<Path>) -> Result<FileStore, StoreError> {
        FileStore::open_with(dir, FileStoreOptions::default())
    }

    /// A store in `dir` with `options`.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: FileStoreOptions,
    ) -> Result<FileStore, StoreError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            op: "create the store directory",
            path: dir.clone(),
            source,
        })?;
        Ok(FileStore {
            dir,
            options,
            batch: AtomicUsize::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `sid`'s record, after validating `sid` ([`check_id`]).
    fn path_of(&self, sid: &str) -> Result<PathBuf, StoreError> {
        check_id(sid)?;
        Ok(self.dir.join(sid))
    }

    /// Removes temporary files whose last modification is more than
    /// `older_than` before `now` (left behind by processes that crashed
    /// mid-save). Returns how many it removed. `now` is passed in: the
    /// store reads no clock.
    ///
    /// ```
    /// use moin_session_spec::FileStore;
    /// let dir = std::env::temp_dir().join(format!("moin-doc-stale-{}", std::process::id()));
    /// let store = FileStore::open(&dir).unwrap();
    /// std::fs::write(dir.join(".tmp-1-1-x"), b"{").unwrap();
    /// let far_future = time::macros::datetime!(2200-01-01 0:00 UTC);
    /// assert_eq!(store.cleanup_stale_temp(far_future, std::time::Duration::from_secs(60)).unwrap(), 1);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn cleanup_stale_temp(
        &self,
        now: OffsetDateTime,
        older_than: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        for (name, path) in self.entries()? {
            if !name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let modified = match fs::metadata(&path).and_then(|m| m.modified()) {
                Ok(t) => OffsetDateTime::from(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(StoreError::Io {
                        op: "read the modification time of a temporary file",
                        path,
                        source,
                    })
                }
            };
            if now - modified > older_than {
                remove_if_present(&path, "remove a stale temporary file")?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The names of the temporary files present now (for tests of crash
    /// safety).
    pub fn temp_files(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .entries()?
            .into_iter()
            .map(|(name, _)| name)
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .collect())
    }

    /// Every directory entry with a UTF-8 name.
    fn entries(&self) -> Result<Vec<(String, PathBuf)>, StoreError> {
        let io = |source| StoreError::Io {
            op: "read the store directory",
            path: self.dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if let Ok(name) = entry.file_name().into_string() {
                out.push((name, entry.path()));
            }
        }
        Ok(out)
    }

    /// Writes `bytes` to a fresh temporary file (flushed to disk under
    /// [`Durability::Fsync`]); the file is open, for its mark.
    fn write_temp(&self, sid: &str, bytes: &[u8]) -> Result<(PathBuf, File), StoreError> {
        let temp = self.dir.join(temp_name(sid));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)?;
            file.write_all(bytes)?;
            if self.flushes_each_write() {
                file.sync_all()?;
            }
            Ok(file)
        })();
        match written {
            Ok(file) => Ok((temp, file)),
            Err(source) => {
                let _ = fs::remove_file(&temp);
                Err(StoreError::Io {
                    op: "write a temporary file",
                    path: temp,
                    source,
                })
            }
        }
    }

    /// Renames `temp` over `target` (the caller holds the lock), then
    /// sets the expiry mark.
    fn install(
        &self,
        (temp, file): (PathBuf, File),
        target: &Path,
        expires: Option<i64>,
    ) -> Result<(), StoreError> {
        if let Err(source) = fs::rename(&temp, target) {
            let _ = fs::remove_file(&temp);
            return Err(StoreError::Io {
                op: "rename a temporary file over the record",
                path: target.to_owned(),
                source,
            });
        }
        // The expiry mark, set only now: a temporary file keeps the time
        // it was written, by which stale ones are found
        // (`cleanup_stale_temp`). Until it is set the record is merely
        // unmarked, which a cleanup opens; if a later save has already
        // replaced the file, this marks the replaced one, harmlessly.
        file.set_modified(mtime_of(expires))
            .map_err(|source| StoreError::Io {
                op: "set the modification time of a record",
                path: target.to_owned(),
                source,
            })
    }

    /// Writes `bytes` to a temporary file and renames it over `target`
    /// under the shared lock.
    fn replace(
        &self,
        sid: &str,
        target: &Path,
        bytes: &[u8],
        expires: Option<i64>,
    ) -> Result<(), StoreError> {
        let temp = self.write_temp(sid, bytes)?;
        {
            let _lock = DirLock::acquire(&self.dir, LockKind::Shared)?;
            self.install(temp, target, expires)?;
        }
        self.sync_dir()
    }

    /// Whether each write is flushed as it is made: with
    /// [`Durability::Fsync`], outside a batch.
    fn flushes_each_write(&self) -> bool {
        self.options.durability == Durability::Fsync
            && (cfg!(not(unix)) || self.batch.load(Ordering::SeqCst) == 0)
    }

    fn sync_dir(&self) -> Result<(), StoreError> {
        if !self.flushes_each_write() {
            return Ok(());
        }
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::Io {
                op: "flush the store directory",
                path: self.dir.clone(),
                source,
            })
    }
}

impl Store for FileStore {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        read(&self.path_of(sid)?)
    }

    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        let path = self.path_of(sid)?;
        let bytes = encode(sid, record)?;
        self.replace(sid, &path, &bytes, index_expiry(record))
    }

    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        let path = self.path_of(sid)?;
        let removed = {
            let _lock = DirLock::acquire(&self.dir, LockKind::Shared)?;
            remove_if_present(&path, "remove a record")?
        };
        if removed {
            self.sync_dir()?;
        }
        Ok(())
    }

    fn update(
        &self,
        id: &str,
        _on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        let path = self.path_of(id)?;
        let change = {
            // From the read to the rename or removal: no save or delete of
            // any process can land in between.
            let _lock = DirLock::acquire(&self.dir, LockKind::Exclusive)?;
            let change = decide(read(&path)?.as_ref());
            match &change {
                Change::Keep => {
                    return Ok(Updated {
                        change,
                        attempts: 1,
                    })
                }
                Change::Save(record) => {
                    let temp = self.write_temp(id, &encode(id, record)?)?;
                    self.install(temp, &path, index_expiry(record))?;
                }
                Change::Destroy => {
                    if !remove_if_present(&path, "remove a record")? {
                        return Ok(Updated {
                            change,
                            attempts: 1,
                        });
                    }
                }
            }
            change
        };
        self.sync_dir()?;
        Ok(Updated {
            change,
            attempts: 1,
        })
    }

    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        let path = self.path_of(sid)?;
        let removed = {
            let _lock = DirLock::acquire(&self.dir, LockKind::Exclusive)?;
            match read(&path)? {
                Some(loaded) if condition(&loaded) => remove_if_present(&path, "remove a record")?,
                _ => false,
            }
        };
        if removed {
            self.sync_dir()?;
        }
        Ok(removed)
    }

    fn delete_expired_if(
        &self,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        // The listing and each file's metadata: no record is opened whose
        // marked expiry says it cannot have expired.
        let mut candidates = Vec::new();
        for (name, path) in self.entries()? {
            if !is_valid_id(&name) {
                continue;
            }
            match fs::symlink_metadata(&path).and_then(|m| m.modified()) {
                Ok(mtime) if marked_not_before(mtime, before) => {}
                Ok(_) => candidates.push((name, path)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(StoreError::Io {
                        op: "read the modification time of a record",
                        path,
                        source,
                    })
                }
            }
        }
        let mut removed = Vec::new();
        for batch in candidates.chunks(CLEANUP_BATCH) {
            // One hold of the lock per batch: each test and removal is
            // still one step with respect to saves.
            let _lock = DirLock::acquire(&self.dir, LockKind::Exclusive)?;
            for (name, path) in batch {
                if let Some(loaded) = read(path)? {
                    if condition(name, &loaded) && remove_if_present(path, "remove a record")? {
                        removed.push(name.clone());
                    }
                }
            }
        }
        if !removed.is_empty() {
            self.sync_dir()?;
        }
        Ok(removed)
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .entries()?
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| is_valid_id(name))
            .collect())
    }

    fn clear(&self) -> Result<(), StoreError> {
        for (name, path) in self.entries()? {
            if is_valid_id(&name) || name.starts_with(TEMP_PREFIX) {
                remove_if_present(&path, "remove an entry while clearing")?;
            }
        }
        self.sync_dir()
    }

    fn can_corrupt(&self) -> bool {
        true
    }

    fn begin_batch(&self) -> Result<(), StoreError> {
        self.batch.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn end_batch(&self) -> Result<(), StoreError> {
        let depth = self
            .batch
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
            .map_err(|_| StoreError::Unsupported {
                what: "ending a batch that was not begun",
            })?;
        if depth == 1 && self.options.durability == Durability::Fsync {
            flush_file_system(&self.dir).map_err(|source| StoreError::Io {
                op: "flush the file system at the end of a batch",
                path: self.dir.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        let path = self.path_of(sid)?;
        self.replace(
            sid,
            &path,
            b"\x00\xffnot a record {\"format\": 1, \"da",
            None,
        )
    }
}

/// Flushes every write of a batch: on Linux `syncfs` of the file system
/// that holds the directory (one call, whatever the batch wrote); elsewhere
/// `sync`, then the directory.
#[cfg(target_os = "linux")]
fn flush_file_system(dir: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir)?;
    // SAFETY: `syncfs` takes a file descriptor that `d` keeps open for the
    // duration of the call; it touches no memory of ours.
    if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn flush_file_system(dir: &Path) -> std::io::Result<()> {
    // SAFETY: sync(2) takes no arguments and touches no memory of ours.
    unsafe { libc::sync() };
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn flush_file_system(_dir: &Path) -> std::io::Result<()> {
    // Nothing was held back: without a call that flushes every file, each
    // write of a batch is flushed as it is made (`flushes_each_write`).
    Ok(())
}

#[cfg(test)]
mod tests;
