//! The atomic update of one record ([`Store::update`]): what the caller
//! decides ([`Change`]), what a store does when another writer got in
//! between ([`OnConflict`]), what it reports ([`Updated`]), and the
//! default for stores that do not override it ([`update_within_process`]).
//!
//! Implements the store's side of `r[hard.store.atomic-update]` and
//! `r[m16.store.atomic-update]`.
//!
//! | store | how the read, the decision and the commit are one step |
//! | --- | --- |
//! | [`MemoryStore`](crate::MemoryStore) | the map's lock, held from the read to the write |
//! | [`FileStore`](crate::FileStore) | an exclusive `flock` on the directory's lock file, held from the read to the rename (saves and deletes take it shared) |
//! | [`SqliteStore`](crate::SqliteStore) | one `BEGIN IMMEDIATE` transaction: the database's write lock from the read to the commit |
//! | [`RedisStore`](crate::RedisStore) | `WATCH` the record, read it, decide, then `MULTI`/`EXEC` the write and its expiry-index entry; a write by anyone else in between aborts the `EXEC`, and the store reads again or reports the conflict |
//! | any other store (the default) | a lock of this process around `load`, the decision and `save`/`delete`: atomic only against other default updates **in the same process**, never across processes |

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use super::{Loaded, Record, Store, StoreError};

/// What an atomic update does with the entry it read: the caller's
/// decision, returned by the `decide` function of [`Store::update`].
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Leave the entry as it is (or absent, if there is none). Nothing is
    /// written.
    Keep,
    /// Store this record, replacing the entry (readable or not) or
    /// creating it.
    Save(Record),
    /// Remove the entry; nothing happens when there is none.
    Destroy,
}

/// What [`Store::update`] does when another writer changed the entry
/// between its read and its commit. Only stores that detect conflicts
/// rather than prevent them (Redis: `WATCH`) ever meet one; stores that
/// lock from the read to the commit never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Read the entry again and call `decide` again on what is there now,
    /// until a commit goes through. Every failed round means that another
    /// writer's commit went through, so the store as a whole makes
    /// progress.
    #[default]
    Retry,
    /// Write nothing and return [`StoreError::Conflict`].
    Fail,
}

/// What [`Store::update`] committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    /// The decision committed: what the last call of `decide` returned.
    pub change: Change,
    /// How many times the entry was read and `decide` called: 1, unless
    /// another writer's commit made the store read again
    /// ([`OnConflict::Retry`]).
    pub attempts: u32,
}

/// Locks of this process that serialise [`update_within_process`] calls
/// by id (a stripe per hash of the id, shared by every store value).
static STRIPES: [Mutex<()>; 64] = [const { Mutex::new(()) }; 64];

fn stripe(id: &str) -> &'static Mutex<()> {
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    &STRIPES[(h.finish() % STRIPES.len() as u64) as usize]
}

/// The default [`Store::update`]: under a lock of this process (one per
/// stripe of ids), [`load`](Store::load), `decide`, then
/// [`save`](Store::save) or [`delete`](Store::delete).
///
/// **Atomic only within one process, and only against other calls of
/// this function.** A `save` or `delete` made directly, or any write by
/// another process sharing the store, can land between the load and the
/// write and be lost (or undone). A store that several processes share
/// must override [`Store::update`] with an atomic step of its own (a
/// transaction, a compare-and-set, a lock the other processes take too);
/// every store of this crate does. `on_conflict` is not consulted: a lock
/// never meets a conflict.
///
/// ```
/// use moin_session_spec::store::{update_within_process, Change, Loaded, OnConflict, Record, Store};
/// use moin_session_spec::MemoryStore;
/// let store = MemoryStore::new();
/// let id = "ab".repeat(20);
/// let counter = |l: Option<&Loaded>| match l {
///     Some(Loaded::Record(r)) => r["n"].as_i64().unwrap_or(0),
///     _ => 0,
/// };
/// for _ in 0..3 {
///     update_within_process(&store, &id, OnConflict::Retry, &mut |l| {
///         Change::Save(Record::from([("n".to_owned(), (counter(l) + 1).into())]))
///     })
///     .unwrap();
/// }
/// assert_eq!(counter(store.load(&id).unwrap().as_ref()), 3);
/// ```
pub fn update_within_process<S: Store + ?Sized>(
    store: &S,
    id: &str,
    on_conflict: OnConflict,
    decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
) -> Result<Updated, StoreError> {
    let _ = on_conflict;
    // A panic in `decide` leaves nothing half-written under the lock.
    let _held = stripe(id)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let loaded = store.load(id)?;
    let change = decide(loaded.as_ref());
    match &change {
        Change::Keep => {}
        Change::Save(record) => store.save(id, record)?,
        Change::Destroy => store.delete(id)?,
    }
    Ok(Updated {
        change,
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_over_the_stripes() {
        let used: std::collections::BTreeSet<usize> = (0..1000)
            .map(|n| {
                let p = stripe(&format!("{n:040x}")) as *const Mutex<()>;
                (p as usize - STRIPES.as_ptr() as usize) / std::mem::size_of::<Mutex<()>>()
            })
            .collect();
        assert!(used.len() > 48, "{} of 64 stripes used", used.len());
    }
}
