//! A session store as a store author would write one: records in a
//! `BTreeMap` behind a `Mutex`. `tests/conformance.rs` runs the whole
//! corpus against it as one test per case, through the reference services.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use moin_session_spec::store::{
    check_id, Change, Loaded, OnConflict, Record, Store, StoreError, Updated,
};

/// Records by id; `None` stands for a record made unreadable.
#[derive(Debug, Default)]
pub struct MapStore(Mutex<BTreeMap<String, Option<Record>>>);

impl MapStore {
    /// An empty store.
    pub fn new() -> Self {
        MapStore::default()
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<String, Option<Record>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn loaded(entry: &Option<Record>) -> Loaded {
    match entry {
        Some(record) => Loaded::Record(record.clone()),
        None => Loaded::Unreadable,
    }
}

impl Store for MapStore {
    fn load(&self, id: &str) -> Result<Option<Loaded>, StoreError> {
        check_id(id)?;
        Ok(self.map().get(id).map(loaded))
    }

    fn save(&self, id: &str, record: &Record) -> Result<(), StoreError> {
        check_id(id)?;
        self.map().insert(id.to_owned(), Some(record.clone()));
        Ok(())
    }

    fn delete(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        self.map().remove(id);
        Ok(())
    }

    fn delete_if(&self, id: &str, condition: &dyn Fn(&Loaded) -> bool) -> Result<bool, StoreError> {
        check_id(id)?;
        let mut map = self.map();
        match map.get(id).map(loaded) {
            Some(current) if condition(&current) => {
                map.remove(id);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Read, decide and commit under the map's lock: one step, so no
    /// other save of the record can come in between (the trait's default
    /// is atomic only against other updates).
    fn update(
        &self,
        id: &str,
        _on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        check_id(id)?;
        let mut map = self.map();
        let current = map.get(id).map(loaded);
        let change = decide(current.as_ref());
        match &change {
            Change::Keep => {}
            Change::Save(record) => {
                map.insert(id.to_owned(), Some(record.clone()));
            }
            Change::Destroy => {
                map.remove(id);
            }
        }
        Ok(Updated {
            change,
            attempts: 1,
        })
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.map().keys().cloned().collect())
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.map().clear();
        Ok(())
    }

    fn can_corrupt(&self) -> bool {
        true
    }

    fn corrupt(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        self.map().insert(id.to_owned(), None);
        Ok(())
    }
}
