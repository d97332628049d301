//! The store contract, tested at the store: cases that call the
//! [`Store`] trait directly (save, load, delete, list, `delete_if`,
//! `delete_expired_if`, expiry boundaries, the virtual clock, capacity,
//! unreadable entries, concurrent handles, the atomic update), each tied to
//! the clauses of the profiles that the store keeps for the services above
//! it. A store author gets them first from [`crate::harness::Harness::for_store`]
//! (tests named `store.…`), before the session-level corpus, so that a
//! store bug is reported as the call that misbehaved:
//!
//! ```text
//! `load("aaaa…aaaa")` returned nothing, for a record saved with expires
//! 1235908800 (2009-03-01 12:00:00 UTC, before the wall clock); the
//! contract says a store keeps every record until the service removes it,
//! and reads no clock (m19.store.clock)
//! ```
//!
//! | case | what it calls | clauses |
//! | --- | --- | --- |
//! | `store.save.round-trip`, `store.save.replaces` | `save`, `load` | `m19.persist.values`, `m16.store.write-through` |
//! | `store.load.absent` | `load` | `m19.load.unknown-sid-adopted` |
//! | `store.delete.removes` | `delete`, `load`, `list` | `m19.persist.kill-destroys`, `m16.logout.kills` |
//! | `store.list.each-once` | `save`, `delete`, `list`, `clear` | `m19.store.list`, `m16.store.list` |
//! | `store.delete-if.condition` | `delete_if` | `m19.cleanup.expired`, `m16.cleanup.expired` |
//! | `store.expired.promise` | `delete_expired_if` | `m19.cleanup.expired`, `m19.cleanup.missing-expires`, `m19.cleanup.unexpired-kept` |
//! | `store.clock.virtual` | `save`, `load`, `list` | `m19.store.clock`, `m16.store.clock` |
//! | `store.capacity` | `save`, `list`, `load` | `m19.store.capacity`, `m16.store.capacity` |
//! | `store.unreadable` | `corrupt`, `load`, `list`, `save`, `delete` | `m19.load.unreadable-record`, `m19.cleanup.unreadable` |
//! | `store.concurrent.saves` | `save`, `delete`, `list` from two threads | `m19.store.list`, `m16.store.list` |
//! | `store.update.*` | `update` ([`update`]) | `hard.store.atomic-update`, `m16.store.atomic-update` |
//!
//! **Why not through the adapter protocol?** The protocol carries the
//! session backend's calls (the [`moin_session_spec::Backend`] trait), not
//! a store's: a backend in another language owns its storage behind its
//! own session service, and the runner cannot reach it. Its store is
//! checked through the session-level cases that cite the store clauses
//! (`m19.store.*`, `m16.store.*`), the capacity cases and the soak, which
//! name those clauses when they fail. A store written in Rust gets these
//! cases as well.

mod cases;
pub mod update;

use std::fmt;

use moin_session_spec::store::Store;

/// What a store did that its contract forbids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The call, with its arguments, e.g. `load("aaaa…aaaa")`.
    pub call: String,
    /// What came back.
    pub returned: String,
    /// What the contract says it should have done.
    pub contract: String,
    /// The clause of the spec the contract protects.
    pub clause: &'static str,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` returned {}; the contract says {} ({})",
            self.call, self.returned, self.contract, self.clause
        )
    }
}

/// Text shown as it is where a value is shown in its `Debug` form.
pub(crate) struct Shown(pub(crate) String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A broken contract, for the cases.
pub(crate) fn broken<T>(
    call: impl Into<String>,
    returned: impl fmt::Debug,
    contract: &str,
    clause: &'static str,
) -> Result<T, Broken> {
    let mut returned = format!("{returned:?}");
    if returned.len() > 300 {
        let cut = (0..=300).rev().find(|i| returned.is_char_boundary(*i));
        returned.truncate(cut.unwrap_or(0));
        returned.push('…');
    }
    Err(Broken {
        call: call.into(),
        returned,
        contract: contract.to_owned(),
        clause,
    })
}

/// Two handles on one store: the same handle twice, unless the store's
/// author gives a second one (a second connection, as another process
/// holds).
#[derive(Clone, Copy)]
pub struct Handles<'a> {
    /// The first handle.
    pub a: &'a (dyn Store + Sync),
    /// The second handle (maybe `a` again).
    pub b: &'a (dyn Store + Sync),
}

/// How a contract case went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The store kept the contract.
    Kept,
    /// The case does not apply to this store (it cannot corrupt an
    /// entry): never a pass.
    Skipped(String),
    /// The store broke the contract.
    Broken(Broken),
}

/// One case of the store contract.
#[derive(Clone, Copy)]
pub struct ContractCase {
    /// Its id, e.g. `store.clock.virtual`.
    pub id: &'static str,
    /// What it checks, in one line.
    pub title: &'static str,
    /// The clauses the contract protects.
    pub clauses: &'static [&'static str],
    run: fn(Handles<'_>) -> Result<Option<String>, Broken>,
}

impl ContractCase {
    /// Runs the case on a cleared store.
    pub fn check(&self, handles: Handles<'_>) -> Checked {
        if let Err(e) = handles.a.clear() {
            return Checked::Broken(Broken {
                call: "clear()".to_owned(),
                returned: format!("Err({e})"),
                contract: "a store clears".to_owned(),
                clause: self.clauses[0],
            });
        }
        match (self.run)(handles) {
            Ok(None) => Checked::Kept,
            Ok(Some(why)) => Checked::Skipped(why),
            Err(b) => Checked::Broken(b),
        }
    }
}

/// Every case of the store contract, in the order they run.
pub fn cases() -> Vec<ContractCase> {
    let mut all = cases::basic();
    all.extend(update::cases());
    all
}
