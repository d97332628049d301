//! [`MemoryStore`]: a [`Store`] in process memory.
//!
//! Implements the store contract of [`Store`] (`r[m19.store.list]`,
//! `r[m19.load.unreadable-record]` through [`Store::corrupt`]). Records live
//! as long as the value; nothing survives a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use super::{
    check_id, index_expiry, Change, Loaded, OnConflict, Record, Store, StoreError, Updated,
};

/// A store in memory: a map behind a mutex, safe to share between threads,
/// with an index on each record's expiry.
///
/// Every call holds the mutex for its whole length, so each is one atomic
/// step: [`Store::delete_if`] and [`Store::update`] read, decide and write
/// under one hold. The expiry index is an ordered set of
/// `(index expiry, id)` pairs ([`index_expiry`]; an entry without one, or
/// unreadable, is indexed below every instant), so a cleanup of expired
/// sessions ([`Store::delete_expired_if`]) reads only the range below its
/// instant: its cost follows what can have expired, not what is stored.
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
    entries: Mutex<Entries>,
}

/// The map and its expiry index, always changed together.
#[derive(Debug, Default)]
struct Entries {
    /// `None`: an unreadable entry.
    map: BTreeMap<String, Option<Record>>,
    /// `(index expiry, id)` of every entry; `i64::MIN` for an entry
    /// without an index expiry or unreadable.
    by_expiry: BTreeSet<(i64, String)>,
}

fn index_key(entry: &Option<Record>) -> i64 {
    entry.as_ref().and_then(index_expiry).unwrap_or(i64::MIN)
}

impl Entries {
    fn put(&mut self, id: &str, entry: Option<Record>) {
        self.remove(id);
        self.by_expiry.insert((index_key(&entry), id.to_owned()));
        self.map.insert(id.to_owned(), entry);
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.map.remove(id) {
            Some(old) => {
                self.by_expiry.remove(&(index_key(&old), id.to_owned()));
                true
            }
            None => false,
        }
    }

    fn loaded(&self, id: &str) -> Option<Loaded> {
        self.map.get(id).map(loaded)
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries().map.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries().map.is_empty()
    }

    fn entries(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock (in a caller's condition) comes
        // before any change, or between whole changes of map and index
        // together, so the poison can be ignored.
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
        Ok(self.entries().loaded(sid))
    }

    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        check_id(sid)?;
        self.entries().put(sid, Some(record.clone()));
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
        let holds = entries.loaded(sid).is_some_and(|l| condition(&l));
        if holds {
            entries.remove(sid);
        }
        Ok(holds)
    }

    fn delete_expired_if(
        &self,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let mut entries = self.entries();
        let candidates: Vec<String> = entries
            .by_expiry
            .range(..(before, String::new()))
            .map(|(_, id)| id.clone())
            .collect();
        let mut removed = Vec::new();
        for id in candidates {
            if entries.loaded(&id).is_some_and(|l| condition(&id, &l)) {
                entries.remove(&id);
                removed.push(id);
            }
        }
        Ok(removed)
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.entries().map.keys().cloned().collect())
    }

    fn update(
        &self,
        id: &str,
        _on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        check_id(id)?;
        let mut entries = self.entries();
        let change = decide(entries.loaded(id).as_ref());
        match &change {
            Change::Keep => {}
            Change::Save(record) => entries.put(id, Some(record.clone())),
            Change::Destroy => {
                entries.remove(id);
            }
        }
        Ok(Updated {
            change,
            attempts: 1,
        })
    }

    fn clear(&self) -> Result<(), StoreError> {
        let mut entries = self.entries();
        entries.map.clear();
        entries.by_expiry.clear();
        Ok(())
    }

    fn can_corrupt(&self) -> bool {
        true
    }

    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        self.entries().put(sid, None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{expire_sparing, sid};

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

    #[test]
    fn cleanup_looks_only_at_what_can_have_expired() {
        let s = MemoryStore::new();
        let at = |e: serde_json::Value| Record::from([("expires".to_owned(), e)]);
        s.save(&sid('1'), &at(100.into())).unwrap();
        s.save(&sid('2'), &at(200.into())).unwrap();
        s.save(&sid('3'), &at(150.5.into())).unwrap();
        s.save(&sid('4'), &Record::new()).unwrap();
        s.corrupt(&sid('5')).unwrap();
        // Renewed past the instant: its old index entry is gone with it.
        s.save(&sid('6'), &at(100.into())).unwrap();
        s.save(&sid('6'), &at(300.into())).unwrap();
        let (seen, removed) = expire_sparing(&s, 150, &sid('3')).unwrap();
        assert_eq!(seen, vec![sid('1'), sid('3'), sid('4'), sid('5')]);
        assert_eq!(removed.len(), 3);
        assert_eq!(s.list().unwrap(), vec![sid('2'), sid('3'), sid('6')]);
        // The index follows deletes and clears too.
        s.delete(&sid('3')).unwrap();
        assert!(s
            .delete_expired_if(i64::MAX, &|_, _| false)
            .unwrap()
            .is_empty());
        assert_eq!(s.entries().by_expiry.len(), 2);
        s.clear().unwrap();
        assert!(s.entries().by_expiry.is_empty());
    }
}
