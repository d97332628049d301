//! Faults in the store rather than around the backend
//! ([`Fault::at_store`]): a [`FaultyStore`] wraps a correct store and
//! changes what it keeps, so the reference services over it store a wrong
//! field that is seen only later (by a cleanup, a load), as a store
//! author's mistake would be.

use moin_session_spec::store::{Change, Loaded, OnConflict, Record, Store, StoreError, Updated};

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

impl<S: Store> Store for FaultyStore<S> {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        self.inner.load(sid)
    }
    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        self.inner.save(sid, &self.kept(record))
    }
    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        self.inner.delete(sid)
    }
    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        self.inner.delete_if(sid, condition)
    }
    fn list(&self) -> Result<Vec<String>, StoreError> {
        self.inner.list()
    }
    fn update(
        &self,
        id: &str,
        on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        self.inner
            .update(id, on_conflict, &mut |loaded| match decide(loaded) {
                Change::Save(record) => Change::Save(self.kept(&record)),
                other => other,
            })
    }
    fn clear(&self) -> Result<(), StoreError> {
        self.inner.clear()
    }
    fn delete_expired_if(
        &self,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.delete_expired_if(before, condition)
    }
    fn can_corrupt(&self) -> bool {
        self.inner.can_corrupt()
    }
    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        self.inner.corrupt(sid)
    }
}
