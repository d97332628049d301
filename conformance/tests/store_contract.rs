//! The store contract suite (`moin_session_conformance::contract`): every
//! shipped store keeps it, with two real handles where a store can have
//! them; a store that expires records by the wall clock, one that evicts,
//! and one that lists twice each break it with a message naming the call
//! and the clause; the harness runs the contract first, as tests named
//! `store.…`.

use std::time::{SystemTime, UNIX_EPOCH};

use moin_session_conformance::contract::{cases, Checked, Handles};
use moin_session_conformance::forward_store_calls;
use moin_session_conformance::harness::Harness;
use moin_session_spec::store::{Loaded, Record, Store, StoreError};
use moin_session_spec::{MemoryStore, Profile};
use moin_session_testkit::stores::{StoreKind, TestStore};
use moin_session_testkit::trials::run_trials;
use serde_json::Value;

/// Every case on `a` (and its second handle `b`): what broke.
fn broken(a: &(dyn Store + Sync), b: &(dyn Store + Sync)) -> Vec<String> {
    cases()
        .iter()
        .filter_map(|case| match case.check(Handles { a, b }) {
            Checked::Broken(e) => Some(format!("{}: {e}", case.id)),
            _ => None,
        })
        .collect()
}

/// Every clause a contract case names is a clause of the spec, and every
/// clause a broken contract can cite is among its case's clauses.
#[test]
fn every_contract_clause_is_in_the_spec() {
    let requirements = moin_session_spec::requirements::Requirements::builtin();
    let sources = [
        include_str!("../src/contract/cases.rs"),
        include_str!("../src/contract/update.rs"),
    ];
    for case in cases() {
        for clause in case.clauses {
            assert!(requirements.get(clause).is_some(), "{}: {clause}", case.id);
        }
    }
    // The clauses written in the sources (those a `Broken` names).
    let mut cited = 0;
    for source in sources {
        for (at, _) in source.match_indices('"') {
            let word: String = source[at + 1..].chars().take_while(|c| *c != '"').collect();
            let prefixed = ["m19.", "m16.", "hard."]
                .iter()
                .any(|p| word.starts_with(p));
            if prefixed && !word.contains(' ') {
                assert!(requirements.get(&word).is_some(), "{word} is not a clause");
                cited += 1;
            }
        }
    }
    assert!(cited >= 10, "{cited} clauses found in the sources");
}

#[test]
fn every_shipped_store_keeps_the_contract() {
    let memory = MemoryStore::new();
    assert_eq!(broken(&memory, &memory), Vec::<String>::new());
    for kind in [StoreKind::File, StoreKind::Sqlite, StoreKind::Redis] {
        let place = TestStore::new(kind);
        let broke = match kind {
            StoreKind::File => broken(&place.file(), &place.file()),
            StoreKind::Sqlite => broken(&place.sqlite(), &place.sqlite()),
            _ => broken(&place.redis(), &place.redis()),
        };
        assert_eq!(broke, Vec::<String>::new(), "{}", kind.name());
    }
}

/// A store that drops, at load, a record whose `expires` is before the
/// wall clock (as a cache with a TTL would).
struct WallClockStore(MemoryStore);

impl Store for WallClockStore {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(self.0.load(sid)?.filter(|l| match l {
            Loaded::Record(r) => r
                .get("expires")
                .and_then(Value::as_i64)
                .is_none_or(|e| e >= now),
            Loaded::Unreadable => true,
        }))
    }
    forward_store_calls!(0: save, delete, delete_if, list, clear);
}

#[test]
fn a_store_that_expires_by_the_wall_clock_breaks_the_clock_at_load() {
    let store = WallClockStore(MemoryStore::new());
    let broke = broken(&store, &store);
    let clock = broke
        .iter()
        .find(|b| b.starts_with("store.clock.virtual: "))
        .unwrap_or_else(|| panic!("{broke:?}"));
    assert!(clock.contains("`load(\""), "{clock}");
    assert!(clock.contains("before the wall clock"), "{clock}");
    assert!(clock.ends_with("(m19.store.clock)"), "{clock}");
}

/// A store that keeps the 500 most recent records, and lists each twice.
struct Evicting(MemoryStore);

impl Store for Evicting {
    forward_store_calls!(0: load, delete, delete_if, clear);
    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        self.0.save(sid, record)?;
        let mut all = self.0.list()?;
        if all.len() > 500 {
            all.sort();
            self.0.delete(&all[0])?;
        }
        Ok(())
    }
    fn list(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .0
            .list()?
            .into_iter()
            .flat_map(|s| [s.clone(), s])
            .collect())
    }
}

#[test]
fn an_evicting_store_and_a_double_listing_break_capacity_and_list() {
    let store = Evicting(MemoryStore::new());
    let broke = broken(&store, &store);
    let named = |id: &str, clause: &str| {
        broke
            .iter()
            .any(|b| b.starts_with(&format!("{id}: `")) && b.ends_with(&format!("({clause})")))
    };
    assert!(named("store.capacity", "m19.store.capacity"), "{broke:?}");
    assert!(named("store.list.each-once", "m19.store.list"), "{broke:?}");
}

/// The harness runs the contract first, as tests named by case; a broken
/// case fails its test with the call and the clause, and the closing
/// block lists it.
#[test]
fn the_harness_runs_the_store_contract_first() {
    let harness = Harness::for_store("wall-clock", || WallClockStore(MemoryStore::new()))
        .profiles(&[Profile::Moin19]);
    let trials = harness.trials().expect("the harness is configured well");
    let first: Vec<&str> = trials
        .iter()
        .take(cases().len())
        .map(|t| t.name())
        .collect();
    assert!(first.iter().all(|n| n.starts_with("store.")), "{first:?}");
    let (conclusion, _) = run_trials(trials, Some("store."));
    assert!(conclusion.num_failed >= 1, "{conclusion:?}");
    let closing = harness.closing().text;
    assert!(
        closing.contains("store contract broken:\n  store.clock.virtual: `load(\"")
            && closing.contains("(m19.store.clock)"),
        "{closing}"
    );
    // A store without `corrupt`: its unreadable cases are ignored, not passed.
    let plain = Harness::for_store("memory", MemoryStore::new).profiles(&[Profile::Moin19]);
    let (conclusion, _) = run_trials(plain.trials().unwrap(), Some("store."));
    assert_eq!(conclusion.num_failed, 0, "{conclusion:?}");
}
