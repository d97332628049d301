//! [`MemoryStore`]: a [`Store`] in process memory.
//!
//! Implements the store contract of [`Store`] (`r[m19.store.list]`,
//! `r[m19.load.unreadable-record]` through [`Store::corrupt`]). Records live
//! as long as the value; nothing survives a restart.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{check_id, Loaded, Record, Store, StoreError};

/// A store in memory: a map behind a mutex, safe to share between threads.
///
/// ```
/// use moin_session_spec::{MemoryStore, store::{Loaded, Record, Store}};
/// let store = MemoryStore::new();
/// let sid = "ab".repeat(20);
/// store.save(&sid, &Record::from([("k".to_owned(), 1.into())])).unwrap();
/// assert!(matches!(store.load(&sid).unwrap(), Some(Loaded::Record(r)) if r["k"] == 1));
/// assert_eq!(store.len(), 1);
/// // Ids that are neither sids nor namespaced ids are refused before
/// // anything is stored (`store::check_id`).
/// assert!(store.save("not a sid", &Record::new()).is_err());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// `None`: an unreadable entry.
    entries: Mutex<BTreeMap<String, Option<Record>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Option<Record>>> {
        // A panic while holding the lock leaves the map whole (every
        // operation is a single map call), so the poison can be ignored.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn loaded(entry: &Option<Record>) -> Loaded {
    match entry {
        Some(record) => Loaded::Record(record.clone()),
        None => Loaded::Unreadable,
    }
}

impl Store for MemoryStore {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        check_id(sid)?;
        Ok(self.entries().get(sid).map(loaded))
    }

    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        check_id(sid)?;
        self.entries().insert(sid.to_owned(), Some(record.clone()));
        Ok(())
    }

    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        self.entries().remove(sid);
        Ok(())
    }

    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        check_id(sid)?;
        let mut entries = self.entries();
        let holds = entries
            .get(sid)
            .is_some_and(|entry| condition(&loaded(entry)));
        if holds {
            entries.remove(sid);
        }
        Ok(holds)
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.entries().keys().cloned().collect())
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.entries().clear();
        Ok(())
    }

    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        self.entries().insert(sid.to_owned(), None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(c: char) -> String {
        c.to_string().repeat(40)
    }

    #[test]
    fn the_contract_holds() {
        let s = MemoryStore::new();
        assert!(s.is_empty());
        assert_eq!(s.load(&sid('a')).unwrap(), None);
        s.delete(&sid('a')).unwrap();
        let r = Record::from([("x".to_owned(), serde_json::json!([1, "two"]))]);
        s.save(&sid('a'), &r).unwrap();
        s.save(&sid('b'), &Record::new()).unwrap();
        assert_eq!(s.load(&sid('a')).unwrap(), Some(Loaded::Record(r)));
        assert_eq!(s.list().unwrap(), vec![sid('a'), sid('b')]);
        s.corrupt(&sid('b')).unwrap();
        assert_eq!(s.load(&sid('b')).unwrap(), Some(Loaded::Unreadable));
        assert!(!s.delete_if(&sid('c'), &|_| true).unwrap());
        assert!(s.delete_if(&sid('b'), &|_| true).unwrap());
        s.clear().unwrap();
        assert!(s.list().unwrap().is_empty());
        assert!(matches!(
            s.load("A".repeat(40).as_str()),
            Err(StoreError::InvalidId { .. })
        ));
    }
}
