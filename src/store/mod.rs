//! The storage interface of the reference session services: a [`Store`]
//! holds one [`Record`] per record id.
//!
//! A record id ([`check_id`]) is a moin-1.9 session id (40 lowercase
//! hexadecimal characters) or a namespaced id `<ns>-<hex>`; both are plain
//! file names, so no id can name a path. Which ids a service uses, and how
//! it maps client-chosen names onto them, is the service's business: the
//! moin-1.9 service uses sids as they are; the moin-1.6 service
//! ([`M16SessionService`](crate::M16SessionService)) hex-encodes anonymous
//! names and keeps its logins in namespaces of their own.
//!
//! Implements the storage side of `r[m19.store.list]` (listing yields the
//! stored ids and nothing else), `r[m19.load.unreadable-record]` (a record
//! that cannot be decoded loads as [`Loaded::Unreadable`]) and the implementer
//! notes of the spec's section 18 (atomic saves, idempotent destroys).
//!
//! The store knows nothing of sessions, users or expiry: it keeps maps of
//! JSON values under ids. Every policy (what `expires` means, when a record
//! is destroyed) lives in the services ([`SessionService`](crate::SessionService),
//! [`M16SessionService`](crate::M16SessionService)).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

mod file;
mod id;
mod memory;
mod redis;
mod redis_conn;
mod sqlite;
#[cfg(test)]
mod test_support;
mod update;

pub use id::{check_id, check_sid, is_valid_id, MAX_ID_LEN};
pub use update::{update_within_process, Change, OnConflict, Updated};

pub use file::{
    Durability, FileStore, FileStoreOptions, FILE_FORMAT, MTIME_MARK_NANOS, TEMP_PREFIX,
};
pub use memory::MemoryStore;
pub use redis::{redacted_url, RedisStore, RedisStoreOptions};
pub use sqlite::{SqliteStore, SqliteStoreOptions, NO_EXPIRY};

/// One stored record: the session's data, reserved keys included, as JSON
/// values by key.
pub type Record = BTreeMap<String, Value>;

/// What [`Store::load`] found for an id that has a stored entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// A whole record, as some writer saved it.
    Record(Record),
    /// An entry exists under the id but cannot be decoded (damaged,
    /// truncated, or not in the store's format). It is still listed, and
    /// [`Store::save`] and [`Store::delete`] replace or remove it as usual.
    Unreadable,
}

/// A session store: records of JSON values under session ids.
///
/// # The contract
///
/// | call | result |
/// | --- | --- |
/// | [`load`](Store::load) of an id never saved, or deleted | `Ok(None)` |
/// | [`load`](Store::load) of a saved id | `Ok(Some(Loaded::Record(map)))`, equal to the map last saved |
/// | [`load`](Store::load) of an entry that does not decode | `Ok(Some(Loaded::Unreadable))` |
/// | [`save`](Store::save) | replaces the whole record atomically |
/// | [`delete`](Store::delete) of an absent id | `Ok(())`: deleting is idempotent |
/// | [`update`](Store::update) | reads the entry, lets the caller decide ([`Change`]: keep, save, destroy) and commits that decision as one atomic step |
/// | [`list`](Store::list) | every id with an entry (readable or not), each once, any order, and nothing else |
/// | an id the store cannot hold (neither a sid nor a namespaced id, [`check_id`]) | `Err(StoreError::InvalidId { .. })`, before any storage is touched |
///
/// **Concurrency.** A store is shared by requests running at the same time
/// (threads, and for persistent stores other processes). A `load` sees a
/// whole record that some writer saved, or absence; never a mixture of two
/// saves, never half a record. Concurrent saves of one id are not merged:
/// the last writer wins. `list` never reports a partial or temporary entry.
/// [`delete_if`](Store::delete_if) decides and deletes as one step: no save
/// can land between its test and its removal, so a record renewed after
/// another process saw it expired is never lost to that process's cleanup.
/// [`update`](Store::update) is the general form of that step: no write of
/// the id by anyone (a save, a delete, another update, a cleanup's
/// removal, in this process or another) lands between the read its caller
/// decides on and its commit (`r[hard.store.atomic-update]`,
/// `r[m16.store.atomic-update]`). The default implementation is atomic only
/// within one process ([`update_within_process`]); every store of this
/// crate overrides it with an atomic step that holds across processes.
///
/// **Expiry.** The store never decides that a record has expired: the
/// service reads the record's `expires` and decides. A store may *index*
/// records by their `expires` ([`index_expiry`]) so that
/// [`delete_expired_if`](Store::delete_expired_if), the cleanup's call,
/// looks only at records that can have expired; the default implementation
/// looks at every listed entry, so a store without an index still keeps the
/// contract. Whatever the store indexes, every removal is decided by the
/// service's condition.
///
/// # A complete custom store
///
/// A store kept in a `BTreeMap` behind a `Mutex` (this is essentially
/// [`MemoryStore`](crate::MemoryStore)):
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::Mutex;
/// use moin_session_spec::store::{Loaded, Record, Store, StoreError};
///
/// #[derive(Default)]
/// struct MapStore(Mutex<BTreeMap<String, Option<Record>>>);
///
/// impl MapStore {
///     fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<Record>>> {
///         self.0.lock().expect("no holder of the lock panics")
///     }
/// }
///
/// impl Store for MapStore {
///     fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
///         Ok(self.map().get(sid).map(|r| match r {
///             Some(record) => Loaded::Record(record.clone()),
///             None => Loaded::Unreadable,
///         }))
///     }
///     fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
///         self.map().insert(sid.to_owned(), Some(record.clone()));
///         Ok(())
///     }
///     fn delete(&self, sid: &str) -> Result<(), StoreError> {
///         self.map().remove(sid);
///         Ok(())
///     }
///     fn delete_if(
///         &self,
///         sid: &str,
///         condition: &dyn Fn(&Loaded) -> bool,
///     ) -> Result<bool, StoreError> {
///         let mut map = self.map(); // one lock for the test and the removal
///         let current = map.get(sid).map(|r| match r {
///             Some(record) => Loaded::Record(record.clone()),
///             None => Loaded::Unreadable,
///         });
///         match current {
///             Some(loaded) if condition(&loaded) => {
///                 map.remove(sid);
///                 Ok(true)
///             }
///             _ => Ok(false),
///         }
///     }
///     fn list(&self) -> Result<Vec<String>, StoreError> {
///         Ok(self.map().keys().cloned().collect())
///     }
///     fn clear(&self) -> Result<(), StoreError> {
///         self.map().clear();
///         Ok(())
///     }
///     fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
///         self.map().insert(sid.to_owned(), None);
///         Ok(())
///     }
/// }
///
/// let store = MapStore::default();
/// let sid = "0123456789abcdef0123456789abcdef01234567";
/// assert_eq!(store.load(sid).unwrap(), None);
/// let mut record = Record::new();
/// record.insert("test".into(), 4711.into());
/// store.save(sid, &record).unwrap();
/// assert_eq!(store.load(sid).unwrap(), Some(Loaded::Record(record.clone())));
/// assert_eq!(store.list().unwrap(), vec![sid.to_owned()]);
/// // A conditional delete that does not hold keeps the record.
/// assert!(!store.delete_if(sid, &|l| matches!(l, Loaded::Unreadable)).unwrap());
/// store.corrupt(sid).unwrap();
/// assert_eq!(store.load(sid).unwrap(), Some(Loaded::Unreadable));
/// assert!(store.delete_if(sid, &|l| matches!(l, Loaded::Unreadable)).unwrap());
/// store.delete(sid).unwrap(); // idempotent
/// assert!(store.list().unwrap().is_empty());
/// ```
pub trait Store {
    /// The record stored under `sid`: `Ok(None)` when there is none,
    /// [`Loaded::Unreadable`] when there is an entry that does not decode.
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError>;

    /// Stores `record` under `sid`, atomically replacing any previous
    /// record (readable or not) as a whole.
    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError>;

    /// Removes the entry under `sid`. Removing an absent entry is not an
    /// error.
    fn delete(&self, sid: &str) -> Result<(), StoreError>;

    /// Removes the entry under `sid` if there is one and `condition` holds
    /// for it, deciding and removing as one atomic step with respect to
    /// [`save`](Store::save). Returns whether it removed the entry.
    fn delete_if(&self, sid: &str, condition: &dyn Fn(&Loaded) -> bool)
        -> Result<bool, StoreError>;

    /// The ids of every stored entry, readable or not, each once, in any
    /// order. Never a temporary or partial entry.
    fn list(&self) -> Result<Vec<String>, StoreError>;

    /// Reads the entry under `id` (`None`: there is none), calls `decide`
    /// with it, and commits what `decide` returns ([`Change::Keep`],
    /// [`Change::Save`], [`Change::Destroy`]) as one atomic step: the
    /// commit happens only if no other write of `id` took effect since the
    /// read, from this process or any other sharing the store. A store that
    /// locks from the read to the commit never meets another write; one
    /// that detects it instead (Redis) reads again and calls `decide` again
    /// under [`OnConflict::Retry`], or writes nothing and returns
    /// [`StoreError::Conflict`] under [`OnConflict::Fail`]. Returns the
    /// change committed and how many reads it took ([`Updated`]).
    ///
    /// `decide` may run more than once (keep only what its last call
    /// saw), and must not call the store: the store may hold a lock while
    /// it runs.
    ///
    /// The default is [`update_within_process`]: atomic only against
    /// other default updates in the same process. A store that several
    /// processes share must override it.
    fn update(
        &self,
        id: &str,
        on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        update_within_process(self, id, on_conflict, decide)
    }

    /// Removes every entry (a fresh, empty store).
    fn clear(&self) -> Result<(), StoreError>;

    /// Removes every entry for which `condition(id, entry)` holds, each
    /// tested and removed as one atomic step with respect to
    /// [`save`](Store::save), exactly as [`delete_if`](Store::delete_if)
    /// does; returns the ids it removed, in any order. This is the call of
    /// a cleanup of expired sessions.
    ///
    /// **The caller's promise.** `condition` is false for every record
    /// whose [`index_expiry`] is an integer `>= before`. A store may
    /// therefore skip those records without reading them: a store with an
    /// expiry index looks only at unreadable entries, records without an
    /// integer `expires`, and records whose `expires < before`, so the
    /// cost of a cleanup follows what can have expired, not what is
    /// stored. It may look at more (the default looks at every listed
    /// entry); looking at more changes no result, since `condition`
    /// decides.
    ///
    /// A record renewed after the store chose what to look at is judged by
    /// its renewal (the removal re-tests it atomically); a record whose
    /// renewal moved its `expires` *below* `before` while the call ran may
    /// be left for the next cleanup, as a record saved after a listing is
    /// by a cleanup that lists.
    fn delete_expired_if(
        &self,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let _ = before;
        let mut removed = Vec::new();
        for id in self.list()? {
            if self.delete_if(&id, &|loaded| condition(&id, loaded))? {
                removed.push(id);
            }
        }
        Ok(removed)
    }

    /// Whether [`corrupt`](Store::corrupt) is implemented: a store that
    /// implements it says `true` here, so that random traces use it
    /// (the default, `false`, goes with the default `corrupt`). The cases
    /// of the corpus that need it run either way, and are skipped when
    /// `corrupt` declines.
    fn can_corrupt(&self) -> bool {
        false
    }

    /// Starts a batch: until the matching [`end_batch`](Store::end_batch),
    /// the writes made through this store value may be made durable
    /// together when the batch ends (SQLite: one transaction; the file
    /// store: one flush of the file system) instead of one by one. Every
    /// write is seen by later calls through this value as usual; another
    /// process or connection may see the batch's writes only at its end
    /// (SQLite), or at once (the file store). A crash before the end may
    /// lose any write of the batch, each record staying whole or absent,
    /// never a write made before the batch began. Batches nest; the
    /// outermost end makes them durable. The default does nothing: every
    /// write stays as durable as the store makes it.
    ///
    /// Meant for one caller making many writes in a row (the conformance
    /// runner's crowds of browsers); a batch covers every call made
    /// through this value, from any thread, until it ends.
    fn begin_batch(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Ends a batch ([`begin_batch`](Store::begin_batch)). When it is the
    /// outermost, returns once every write of the batch is as durable as
    /// the store's writes are outside a batch. The stores of this crate
    /// refuse an end without a begin ([`StoreError::Unsupported`]).
    fn end_batch(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Makes the entry under `sid` unreadable, as damage would, for tests of
    /// `r[m19.load.unreadable-record]`. Stores that cannot say
    /// [`StoreError::Unsupported`] (the default).
    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        let _ = sid;
        Err(StoreError::Unsupported {
            what: "corrupting a stored record",
        })
    }
}

/// Forwards every call of the contract to the store behind a reference or
/// a smart pointer, overridden methods included (a wrapper that forgot
/// one would silently fall back to a default, such as the in-process
/// [`update_within_process`]).
macro_rules! forward_store {
    ($($ty:ty),*) => {$(
        impl<T: Store + ?Sized> Store for $ty {
            fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
                (**self).load(sid)
            }
            fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
                (**self).save(sid, record)
            }
            fn delete(&self, sid: &str) -> Result<(), StoreError> {
                (**self).delete(sid)
            }
            fn delete_if(
                &self,
                sid: &str,
                condition: &dyn Fn(&Loaded) -> bool,
            ) -> Result<bool, StoreError> {
                (**self).delete_if(sid, condition)
            }
            fn list(&self) -> Result<Vec<String>, StoreError> {
                (**self).list()
            }
            fn update(
                &self,
                id: &str,
                on_conflict: OnConflict,
                decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
            ) -> Result<Updated, StoreError> {
                (**self).update(id, on_conflict, decide)
            }
            fn clear(&self) -> Result<(), StoreError> {
                (**self).clear()
            }
            fn delete_expired_if(
                &self,
                before: i64,
                condition: &dyn Fn(&str, &Loaded) -> bool,
            ) -> Result<Vec<String>, StoreError> {
                (**self).delete_expired_if(before, condition)
            }
            fn can_corrupt(&self) -> bool {
                (**self).can_corrupt()
            }
            fn begin_batch(&self) -> Result<(), StoreError> {
                (**self).begin_batch()
            }
            fn end_batch(&self) -> Result<(), StoreError> {
                (**self).end_batch()
            }
            fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
                (**self).corrupt(sid)
            }
        }
    )*};
}

forward_store!(&T, Box<T>, std::sync::Arc<T>);

/// A store could not carry out a call.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The id is not one this store can hold; nothing was touched.
    InvalidId {
        /// The id as given.
        id: String,
        /// The rule it broke.
        rule: &'static str,
    },
    /// An operating-system call failed.
    Io {
        /// What the store was doing, e.g. `rename a temporary file over the record`.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A record could not be encoded for storage.
    Encode {
        /// The id of the record.
        sid: String,
        /// Why.
        message: String,
    },
    /// A database (SQLite, Redis) refused or failed a call.
    Database {
        /// What the store was doing, e.g. `save a record`.
        op: &'static str,
        /// Where, naming the kind of database: `the SQLite database PATH`,
        /// `the Redis server URL` (password hidden).
        place: String,
        /// The database's error.
        message: String,
    },
    /// The store does not offer this call.
    Unsupported {
        /// What it does not offer.
        what: &'static str,
    },
    /// Another writer changed the entry between the read and the commit of
    /// an update made with [`OnConflict::Fail`]; nothing was written.
    Conflict {
        /// The id of the entry.
        id: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::InvalidId { id, rule } => {
                write!(f, "store: {id:?} is not a valid record id ({rule})")
            }
            StoreError::Io { op, path, source } => {
                write!(f, "store: cannot {op} at {}: {source}", path.display())
            }
            StoreError::Encode { sid, message } => {
                write!(f, "store: cannot encode the record of {sid}: {message}")
            }
            StoreError::Database { op, place, message } => {
                write!(f, "store: cannot {op} at {place}: {message}")
            }
            StoreError::Unsupported { what } => write!(f, "store: unsupported: {what}"),
            StoreError::Conflict { id } => write!(
                f,
                "store: {id} was written by someone else between the read and the commit of an \
                 update; nothing was written (the caller chose not to retry)"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The key of a record that stores with an expiry index read
/// ([`index_expiry`]).
pub const EXPIRES_KEY: &str = "expires";

/// The expiry a store indexes `record` by: its `expires` when that is a
/// JSON integer that fits an `i64` (seconds since 1970), `None` otherwise
/// (no `expires`, a fraction, a string, a number out of range). An entry
/// indexed `None`, and an unreadable entry, is one that
/// [`Store::delete_expired_if`] always looks at.
///
/// ```
/// use moin_session_spec::store::{index_expiry, Record};
/// let r = |v: serde_json::Value| Record::from([("expires".to_owned(), v)]);
/// assert_eq!(index_expiry(&r(1_700_000_000.into())), Some(1_700_000_000));
/// assert_eq!(index_expiry(&r(1.5.into())), None);
/// assert_eq!(index_expiry(&r("1700000000".into())), None);
/// assert_eq!(index_expiry(&Record::new()), None);
/// ```
pub fn index_expiry(record: &Record) -> Option<i64> {
    record.get(EXPIRES_KEY).and_then(serde_json::Value::as_i64)
}
