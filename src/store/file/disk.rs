//! The file store's bytes on disk: the record file's format, temporary
//! files, and the expiry mark in a record file's modification time (see
//! the [`FileStore`](super::FileStore) documentation).

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::store::{Loaded, Record, StoreError};

/// The value of the `format` field this store writes and reads.
pub const FILE_FORMAT: u32 = 1;

/// The prefix of temporary files. A sid never starts with `.`.
pub const TEMP_PREFIX: &str = ".tmp-";

/// The nanoseconds of a record file's modification time that mark its
/// seconds as the record's `expires` (see the module documentation).
pub const MTIME_MARK_NANOS: u32 = 271_828_182;

/// Marked modification times stay below this many seconds since 1970
/// (year 2242), which every common file system can hold.
const MTIME_MAX_SECS: i64 = 1 << 33;

/// The modification time a record file gets: its marked `expires`, or the
/// epoch (always looked at).
pub(super) fn mtime_of(expires: Option<i64>) -> SystemTime {
    match expires {
        Some(e) if (0..MTIME_MAX_SECS).contains(&e) => {
            UNIX_EPOCH + Duration::new(e as u64, MTIME_MARK_NANOS)
        }
        _ => UNIX_EPOCH,
    }
}

/// Whether a file with modification time `mtime` is marked as expiring at
/// or after `before`: a cleanup of expired sessions need not open it.
pub(super) fn marked_not_before(mtime: SystemTime, before: i64) -> bool {
    match mtime.duration_since(UNIX_EPOCH) {
        Ok(d) => d.subsec_nanos() == MTIME_MARK_NANOS && (d.as_secs() as i64) >= before,
        Err(_) => false,
    }
}

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    format: u32,
    data: Record,
}

#[derive(Serialize)]
struct OnDiskRef<'a> {
    format: u32,
    data: &'a Record,
}

/// The bytes of `record`'s file.
pub(super) fn encode(sid: &str, record: &Record) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&OnDiskRef {
        format: FILE_FORMAT,
        data: record,
    })
    .map_err(|e| StoreError::Encode {
        sid: sid.to_owned(),
        message: e.to_string(),
    })
}

/// A fresh temporary file name for a save of `sid` by this process.
pub(super) fn temp_name(sid: &str) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{}-{n}-{sid}", std::process::id())
}

pub(super) fn remove_if_present(path: &Path, op: &'static str) -> Result<bool, StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StoreError::Io {
            op,
            path: path.to_owned(),
            source,
        }),
    }
}

/// Decodes a record file's bytes; `Unreadable` for anything but the format.
pub(super) fn decode(bytes: &[u8]) -> Loaded {
    match serde_json::from_slice::<OnDisk>(bytes) {
        Ok(OnDisk { format, data }) if format == FILE_FORMAT => Loaded::Record(data),
        _ => Loaded::Unreadable,
    }
}

pub(super) fn read(path: &Path) -> Result<Option<Loaded>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(decode(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            op: "read a record",
            path: path.to_owned(),
            source,
        }),
    }
}
