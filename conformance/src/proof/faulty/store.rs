//! Faults in the store rather than around the backend
//! ([`Fault::at_store`]): a [`FaultyStore`] wraps a correct store and
//! changes what it keeps, so the reference services over it store a wrong
//! field that is seen only later (by a cleanup, a load), as a store
//! author's mistake would be.

use moin_session_spec::store::{Change, Record, Store, StoreError};

use super::Fault;

/// A store with one deliberate fault ([`Fault::ExpiresDropped`]: every
/// record is saved without its `expires`). Other faults leave it unchanged.
pub struct FaultyStore<S> {
    inner: S,
    fault: Fault,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner`, adding `fault`.
    pub fn new(inner: S, fault: Fault) -> Self {
        FaultyStore { inner, fault }
    }

    /// The record as the faulty store keeps it.
    fn kept(&self, record: &Record) -> Record {
        let mut record = record.clone();
        if self.fault == Fault::ExpiresDropped {
            record.remove("expires");
        }
        record
    }
}

impl<S: Store> FaultyStore<S> {
    /// A decision as the faulty store commits it.
    fn decided(&self, change: Change) -> Change {
        match change {
            Change::Save(record) => Change::Save(self.kept(&record)),
            other => other,
        }
    }
}

impl<S: Store> Store for FaultyStore<S> {
    crate::forward_store_calls!(inner: load, delete, delete_if, list, update_through(decided), clear);
    crate::forward_store_calls!(inner: delete_expired_if, can_corrupt, corrupt);
    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        self.inner.save(sid, &self.kept(record))
    }
}

/// A store whose atomic update is the trait's default
/// ([`update_within_process`](moin_session_spec::store::update_within_process)):
/// atomic only against other default updates in the same process, as a
/// store author who left `update` out would ship. Every other call is the
/// wrapped store's. The multi-process tests use it to show that they
/// detect the gap.
pub struct InProcessUpdate<S>(pub S);

impl<S: Store> Store for InProcessUpdate<S> {
    crate::forward_store_calls!(0: load, save, delete, delete_if, list, clear, delete_expired_if);
    crate::forward_store_calls!(0: can_corrupt, begin_batch, end_batch, corrupt);
}
