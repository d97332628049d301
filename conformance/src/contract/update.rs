//! The atomic update of the store contract (`Store::update`,
//! `r[hard.store.atomic-update]`, `r[m16.store.atomic-update]`), as cases
//! of the store contract suite: plain functions of a store (or of two
//! handles of one store, as two processes would hold) that say, when the
//! store breaks the contract, which call returned what and what the
//! contract says. `conformance/tests/store_update.rs` runs them over every
//! shipped store with real second handles (file, SQLite, a real Redis
//! server), and a store that leaves `update` to the trait's default is
//! caught by the property that matters across processes.

use std::sync::mpsc;
use std::time::Duration;

use moin_session_spec::store::{Change, Loaded, OnConflict, Record, Store, StoreError, Updated};
use serde_json::Value;

use super::{broken, Broken, ContractCase};

/// The clause a broken update case names.
pub const CLAUSE: &str = "hard.store.atomic-update";

/// The id the update cases use for `n`: 40 hexadecimal digits.
pub fn id(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

/// A record of these fields.
pub fn record(pairs: &[(&str, Value)]) -> Record {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn fail<T>(call: &str, got: impl std::fmt::Debug, want: &str) -> Result<T, Broken> {
    broken(call, got, want, CLAUSE)
}

/// A store call that failed where the contract says it succeeds.
fn err(call: &str, e: StoreError) -> Broken {
    Broken {
        call: call.to_owned(),
        returned: format!("Err({e})"),
        contract: "the call succeeds".to_owned(),
        clause: CLAUSE,
    }
}

const CLAUSES: &[&str] = &["hard.store.atomic-update", "m16.store.atomic-update"];

/// The update's cases, in the order they run.
pub(super) fn cases() -> Vec<ContractCase> {
    vec![
        ContractCase {
            id: "store.update.each-decision",
            title: "update commits Keep, Save and Destroy as decided, and refuses a bad id before deciding",
            clauses: CLAUSES,
            run: |h| update_commits_each_decision(h.a),
        },
        ContractCase {
            id: "store.update.unreadable",
            title: "update shows an unreadable entry as unreadable, and a Save replaces it",
            clauses: CLAUSES,
            run: |h| {
                if h.a.can_corrupt() {
                    update_replaces_an_unreadable_entry(h.a)
                } else {
                    Ok(Some("the store does not corrupt entries (Store::can_corrupt is false)".to_owned()))
                }
            },
        },
        ContractCase {
            id: "store.update.expiry-index",
            title: "what update writes, the expiry index follows",
            clauses: CLAUSES,
            run: |h| update_keeps_the_expiry_index(h.a),
        },
        ContractCase {
            id: "store.update.no-lost-write",
            title: "an update racing another handle's save never loses it (Retry and Fail)",
            clauses: CLAUSES,
            run: |h| {
                update_loses_no_concurrent_write(h.a, h.b, OnConflict::Retry)?;
                update_loses_no_concurrent_write(h.a, h.b, OnConflict::Fail)
            },
        },
        ContractCase {
            id: "store.update.two-handles-add-up",
            title: "increments by update from two handles at once all count",
            clauses: CLAUSES,
            run: |h| updates_through_two_handles_add_up(h.a, h.b),
        },
    ]
}

/// One update that decides `change`, and what its (last) `decide` saw.
fn update_seeing(
    store: &dyn Store,
    id: &str,
    change: Change,
) -> Result<(Updated, Option<Loaded>), Broken> {
    let mut saw = None;
    let updated = store
        .update(id, OnConflict::Retry, &mut |l| {
            saw = l.cloned();
            change.clone()
        })
        .map_err(|e| err("update", e))?;
    Ok((updated, saw))
}

fn load(store: &dyn Store, id: &str) -> Result<Option<Loaded>, Broken> {
    store.load(id).map_err(|e| err("load", e))
}

/// `update` sees what is stored and commits each kind of decision:
/// `Keep` writes nothing, `Save` replaces or creates, `Destroy` removes
/// (and is harmless on nothing); an id the store cannot hold is refused
/// before `decide` runs.
pub fn update_commits_each_decision(store: &dyn Store) -> Result<Option<String>, Broken> {
    let (a, r1, r2) = (
        id(0xa1),
        record(&[("k", 1.into())]),
        record(&[("k", 2.into())]),
    );
    let steps = [
        (Change::Keep, None, None),
        (Change::Save(r1.clone()), None, Some(r1.clone())),
        (Change::Save(r2.clone()), Some(r1), Some(r2.clone())),
        (Change::Keep, Some(r2.clone()), Some(r2.clone())),
        (Change::Destroy, Some(r2), None),
        (Change::Destroy, None, None),
    ];
    for (change, before, after) in steps {
        let (updated, saw) = update_seeing(store, &a, change.clone())?;
        let call = format!("update(decide = {change:?})");
        if saw != before.clone().map(Loaded::Record) {
            return fail(
                &format!("decide of {call}"),
                saw,
                &format!("it is shown {before:?}"),
            );
        }
        if updated.change != change || updated.attempts == 0 {
            return fail(&call, updated, "the change committed and at least one read");
        }
        let now = load(store, &a)?;
        if now != after.clone().map(Loaded::Record) {
            return fail(&format!("load after {call}"), now, &format!("{after:?}"));
        }
    }
    if store.list().map_err(|e| err("a call", e))?.contains(&a) {
        return fail("list after update(Destroy)", &a, "the entry is not listed");
    }
    let mut called = false;
    match store.update("../x", OnConflict::Retry, &mut |_| {
        called = true;
        Change::Keep
    }) {
        Err(StoreError::InvalidId { .. }) if !called => Ok(None),
        other => fail(
            r#"update("../x")"#,
            (other, called),
            "InvalidId, before decide runs",
        ),
    }
}

/// An unreadable entry is shown to `decide` as unreadable, and a `Save`
/// replaces it (for stores that can make one, `Store::corrupt`).
pub fn update_replaces_an_unreadable_entry(store: &dyn Store) -> Result<Option<String>, Broken> {
    let a = id(0xa2);
    store.corrupt(&a).map_err(|e| err("a call", e))?;
    let r = record(&[("k", "v".into())]);
    let mut saw = None;
    store
        .update(&a, OnConflict::Retry, &mut |l| {
            saw = l.cloned();
            Change::Save(r.clone())
        })
        .map_err(|e| err("a call", e))?;
    if saw != Some(Loaded::Unreadable) {
        return fail(
            "decide of update(unreadable)",
            saw,
            "it is shown Unreadable",
        );
    }
    match store.load(&a) {
        Ok(Some(Loaded::Record(got))) if got == r => Ok(None),
        other => fail(
            "load after update(unreadable, Save)",
            other,
            "the saved record",
        ),
    }
}

/// What `update` writes, the store's expiry index follows: a record
/// saved by an update with `expires = E` is looked at by a cleanup before
/// `E + 1`, and one destroyed by an update is gone from the listing.
pub fn update_keeps_the_expiry_index(store: &dyn Store) -> Result<Option<String>, Broken> {
    let a = id(0xa3);
    let at = |e: i64| record(&[("expires", e.into())]);
    store.save(&a, &at(5_000)).map_err(|e| err("a call", e))?;
    store
        .update(&a, OnConflict::Retry, &mut |_| Change::Save(at(100)))
        .map_err(|e| err("a call", e))?;
    let removed = store
        .delete_expired_if(101, &|id, _| id == a)
        .map_err(|e| err("a call", e))?;
    if removed != vec![a.clone()] {
        return fail(
            "delete_expired_if(101) after update(Save expires=100)",
            removed,
            "the record is found by its new expiry",
        );
    }
    store.save(&a, &at(100)).map_err(|e| err("a call", e))?;
    store
        .update(&a, OnConflict::Retry, &mut |_| Change::Destroy)
        .map_err(|e| err("a call", e))?;
    let left = store.list().map_err(|e| err("a call", e))?;
    let removed = store
        .delete_expired_if(i64::MAX, &|id, _| id == a)
        .map_err(|e| err("a call", e))?;
    if left.contains(&a) || !removed.is_empty() {
        return fail(
            "list, delete_expired_if after update(Destroy)",
            (left, removed),
            "nothing is left of it",
        );
    }
    Ok(None)
}

/// The step itself. Handle `a` updates a record and, while its `decide`
/// runs, handle `b` (another connection, as another process would have)
/// saves the record. The contract allows two outcomes: `b`'s save waits
/// until the update committed (it is last), or the update sees it and
/// decides again on it. What it forbids is the update's commit, decided
/// on what was there before `b`'s save, replacing that save: a lost
/// write. Under `OnConflict::Fail`, a store that detects the conflict
/// instead writes nothing and says so.
pub fn update_loses_no_concurrent_write(
    a: &(dyn Store + Sync),
    b: &(dyn Store + Sync),
    on_conflict: OnConflict,
) -> Result<Option<String>, Broken> {
    let x = id(0xa4);
    let mark = |who: &str, from: &str| record(&[("by", who.into()), ("from", from.into())]);
    a.save(&x, &mark("start", "-"))
        .map_err(|e| err("a call", e))?;
    let (go, wait) = mpsc::channel::<()>();
    let (done, finished) = mpsc::channel::<Result<(), StoreError>>();
    let result = std::thread::scope(|scope| {
        let x = &x;
        scope.spawn(move || {
            if wait.recv().is_ok() {
                let _ = done.send(b.save(x, &mark("b", "-")));
            }
        });
        let mut asked = false;
        let result = a.update(x, on_conflict, &mut |l| {
            let from = match l {
                Some(Loaded::Record(r)) => r["by"].as_str().unwrap_or("?").to_owned(),
                other => format!("{other:?}"),
            };
            if !asked {
                asked = true;
                let _ = go.send(());
                // A store that holds `b` off makes this wait run out; one
                // that lets `b` through sees its save return.
                let _ = finished.recv_timeout(Duration::from_millis(300));
            }
            Change::Save(mark("a", &from))
        });
        drop(go);
        result
    });
    let stored = match load(a, &x)? {
        Some(Loaded::Record(r)) => r,
        other => return fail("load after the race", other, "a whole record"),
    };
    let by = stored["by"].as_str().unwrap_or("?");
    let from = stored["from"].as_str().unwrap_or("?");
    let kept = match (&result, by, from) {
        // `b`'s save came last: after the commit, or after a refusal.
        (Ok(_), "b", _) => true,
        (Err(StoreError::Conflict { .. }), "b", _) => on_conflict == OnConflict::Fail,
        // The update saw `b`'s save and decided on it.
        (Ok(_), "a", "b") => true,
        _ => false,
    };
    if kept {
        Ok(None)
    } else {
        fail(
            "update racing another handle's save",
            (&result, &stored),
            "the other save is either after the commit or seen by the update, never lost",
        )
    }
}

/// Many read-modify-write increments through two handles at once: each
/// is one step, so none is lost.
pub fn updates_through_two_handles_add_up(
    a: &(dyn Store + Sync),
    b: &(dyn Store + Sync),
) -> Result<Option<String>, Broken> {
    const EACH: i64 = 40;
    let x = id(0xa5);
    a.delete(&x).map_err(|e| err("a call", e))?;
    let count = |l: Option<&Loaded>| match l {
        Some(Loaded::Record(r)) => r.get("n").and_then(Value::as_i64).unwrap_or(0),
        _ => 0,
    };
    let bump = |s: &(dyn Store + Sync)| -> Result<(), StoreError> {
        for _ in 0..EACH {
            s.update(&x, OnConflict::Retry, &mut |l| {
                Change::Save(record(&[("n", (count(l) + 1).into())]))
            })?;
        }
        Ok(())
    };
    let (ra, rb) = std::thread::scope(|scope| {
        let ha = scope.spawn(|| bump(a));
        let hb = scope.spawn(|| bump(b));
        (ha.join(), hb.join())
    });
    for r in [ra, rb] {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(err("update", e)),
            Err(_) => return fail("update from a thread", "a panic", "it returns"),
        }
    }
    let n = count(a.load(&x).map_err(|e| err("a call", e))?.as_ref());
    if n != 2 * EACH {
        return fail(
            &format!("{} increments by update from two handles", 2 * EACH),
            n,
            "every increment counts",
        );
    }
    Ok(None)
}
