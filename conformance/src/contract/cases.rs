//! The basic cases of the store contract (see the table in
//! [`super`]): each calls the store directly and says, when it fails,
//! which call returned what, and what the contract says instead.

use std::collections::BTreeSet;

use moin_session_spec::store::{Loaded, Record, Store};
use serde_json::Value;

use super::{broken, Broken, ContractCase, Handles, Shown};

type Run = Result<Option<String>, Broken>;

/// The `n`th test id: 40 hexadecimal digits, as a session id.
pub(crate) fn id(n: u32) -> String {
    format!("{n:08x}").repeat(5)
}

/// A short form of an id for messages: `aaaa…aaaa`.
pub(crate) fn short(id: &str) -> String {
    match id.len() {
        0..=12 => id.to_owned(),
        n => format!("{}…{}", &id[..4], &id[n - 4..]),
    }
}

/// A record of application data and, when given, `expires`.
pub(crate) fn record(n: u32, expires: Option<i64>) -> Record {
    let mut r = Record::new();
    r.insert("n".to_owned(), Value::from(n));
    r.insert("user.id".to_owned(), Value::from(format!("user{n}")));
    if let Some(e) = expires {
        r.insert("expires".to_owned(), Value::from(e));
    }
    r
}

fn load(s: &dyn Store, id: &str, clause: &'static str) -> Result<Option<Loaded>, Broken> {
    s.load(id).or_else(|e| {
        broken(
            format!("load(\"{}\")", short(id)),
            Shown(format!("Err({e})")),
            "a store loads",
            clause,
        )
    })
}

fn save(s: &dyn Store, id: &str, r: &Record, clause: &'static str) -> Result<(), Broken> {
    s.save(id, r).or_else(|e| {
        broken(
            format!("save(\"{}\", …)", short(id)),
            Shown(format!("Err({e})")),
            "a store saves",
            clause,
        )
    })
}

fn list(s: &dyn Store, clause: &'static str) -> Result<Vec<String>, Broken> {
    s.list().or_else(|e| {
        broken(
            "list()",
            Shown(format!("Err({e})")),
            "a store lists",
            clause,
        )
    })
}

const VALUES: &[&str] = &["m19.persist.values", "m16.store.write-through"];
const LIST: &[&str] = &["m19.store.list", "m16.store.list"];
const CLOCK: &[&str] = &["m19.store.clock", "m16.store.clock"];

/// The basic cases, in the order they run.
pub(super) fn basic() -> Vec<ContractCase> {
    vec![
        ContractCase {
            id: "store.save.round-trip",
            title: "a saved record loads as saved",
            clauses: VALUES,
            run: round_trip,
        },
        ContractCase {
            id: "store.save.replaces",
            title: "a save replaces the whole record",
            clauses: VALUES,
            run: replaces,
        },
        ContractCase {
            id: "store.load.absent",
            title: "an id never saved loads as nothing",
            clauses: &["m19.load.unknown-sid-adopted"],
            run: absent,
        },
        ContractCase {
            id: "store.delete.removes",
            title: "a deleted record is gone; deleting nothing is no error",
            clauses: &["m19.persist.kill-destroys", "m16.logout.kills"],
            run: removes,
        },
        ContractCase {
            id: "store.list.each-once",
            title: "a listing names every stored id once and nothing else",
            clauses: LIST,
            run: each_once,
        },
        ContractCase {
            id: "store.delete-if.condition",
            title: "delete_if removes exactly when the condition holds",
            clauses: &["m19.cleanup.expired", "m16.cleanup.expired"],
            run: delete_if,
        },
        ContractCase {
            id: "store.expired.promise",
            title:
                "delete_expired_if looks at every record that can have expired and keeps the rest",
            clauses: &[
                "m19.cleanup.expired",
                "m19.cleanup.missing-expires",
                "m19.cleanup.unexpired-kept",
            ],
            run: expired,
        },
        ContractCase {
            id: "store.clock.virtual",
            title:
                "records expired long ago by the wall clock, or due far ahead, stay until removed",
            clauses: CLOCK,
            run: virtual_clock,
        },
        ContractCase {
            id: "store.capacity",
            title: "two thousand records stay, each listed and loadable",
            clauses: &["m19.store.capacity", "m16.store.capacity"],
            run: capacity,
        },
        ContractCase {
            id: "store.unreadable",
            title: "an unreadable entry loads as unreadable, is listed, and is replaced or removed",
            clauses: &["m19.load.unreadable-record", "m19.cleanup.unreadable"],
            run: unreadable,
        },
        ContractCase {
            id: "store.concurrent.saves",
            title: "saves and deletes from two threads at once all take effect",
            clauses: LIST,
            run: concurrent,
        },
    ]
}

fn round_trip(h: Handles<'_>) -> Run {
    let (a, r) = (id(1), record(1, Some(FAR_AHEAD)));
    save(h.a, &a, &r, VALUES[0])?;
    let contract = format!("the record saved, equal as JSON: {r:?}");
    loads_back(h.a, &a, &r, "", &contract)
}

/// Broken unless `load(id)` gives `want` back, equal as JSON; `after` ends
/// the call's description, `contract` says what it should give.
fn loads_back(s: &dyn Store, id: &str, want: &Record, after: &str, contract: &str) -> Run {
    match load(s, id, VALUES[0])? {
        Some(Loaded::Record(got)) if got == *want => Ok(None),
        other => broken(
            format!("load(\"{}\"){after}", short(id)),
            other,
            contract,
            VALUES[0],
        ),
    }
}

fn replaces(h: Handles<'_>) -> Run {
    let a = id(2);
    save(h.a, &a, &record(2, Some(FAR_AHEAD)), VALUES[0])?;
    let second = record(3, None);
    save(h.a, &a, &second, VALUES[0])?;
    let contract = format!("the second record as a whole, nothing of the first: {second:?}");
    loads_back(h.a, &a, &second, " after a second save", &contract)
}

fn absent(h: Handles<'_>) -> Run {
    let a = id(3);
    match load(h.a, &a, "m19.load.unknown-sid-adopted")? {
        None => Ok(None),
        other => broken(
            format!("load(\"{}\") of an id never saved", short(&a)),
            other,
            "nothing (Ok(None))",
            "m19.load.unknown-sid-adopted",
        ),
    }
}

fn removes(h: Handles<'_>) -> Run {
    let clause = "m19.persist.kill-destroys";
    let a = id(4);
    save(h.a, &a, &record(4, Some(FAR_AHEAD)), clause)?;
    for round in ["", " again"] {
        if let Err(e) = h.a.delete(&a) {
            return broken(
                format!("delete(\"{}\"){round}", short(&a)),
                Shown(format!("Err({e})")),
                "removing a record, or nothing, is no error",
                clause,
            );
        }
    }
    let left = (load(h.a, &a, clause)?, list(h.a, clause)?);
    if left.0.is_some() || left.1.contains(&a) {
        return broken(
            format!("load(\"{0}\"), list() after delete(\"{0}\")", short(&a)),
            left,
            "nothing is left of it",
            clause,
        );
    }
    Ok(None)
}

fn each_once(h: Handles<'_>) -> Run {
    let ids: Vec<String> = (10..13).map(id).collect();
    for (n, a) in (10..).zip(&ids) {
        save(h.a, a, &record(n, Some(FAR_AHEAD)), LIST[0])?;
    }
    save(h.a, &ids[1], &record(99, None), LIST[0])?;
    if let Err(e) = h.a.delete(&ids[2]) {
        return broken("delete", Shown(format!("Err({e})")), "it removes", LIST[0]);
    }
    let mut got = list(h.a, LIST[0])?;
    got.sort();
    let want = vec![ids[0].clone(), ids[1].clone()];
    if got != want {
        return broken(
            "list() after saving three ids (one twice) and deleting one",
            got,
            &format!("each stored id once, nothing else: {want:?}"),
            LIST[0],
        );
    }
    if let Err(e) = h.a.clear() {
        return broken(
            "clear()",
            Shown(format!("Err({e})")),
            "a store clears",
            LIST[0],
        );
    }
    match list(h.a, LIST[0])? {
        v if v.is_empty() => Ok(None),
        v => broken("list() after clear()", v, "nothing", LIST[0]),
    }
}

fn delete_if(h: Handles<'_>) -> Run {
    let clause = "m19.cleanup.expired";
    let a = id(20);
    save(h.a, &a, &record(20, Some(FAR_AHEAD)), clause)?;
    let call = |c: bool| h.a.delete_if(&a, &|_| c);
    match (call(false), load(h.a, &a, clause)?) {
        (Ok(false), Some(_)) => {}
        other => {
            return broken(
                format!("delete_if(\"{}\", false)", short(&a)),
                other,
                "false, and the record kept",
                clause,
            )
        }
    }
    match (call(true), call(true), load(h.a, &a, clause)?) {
        (Ok(true), Ok(false), None) => Ok(None),
        other => broken(
            format!(
                "delete_if(\"{0}\", true) twice, then load(\"{0}\")",
                short(&a)
            ),
            other,
            "true, then false (nothing left), then nothing",
            clause,
        ),
    }
}

/// Records around `before`: expired, at the boundary, due, without
/// `expires`; the cleanup's condition is the services' own (expired or
/// no `expires`), which is false for every record due at or after
/// `before`, as the caller promises.
fn expired(h: Handles<'_>) -> Run {
    const BEFORE: i64 = 1_235_912_400;
    let at = [
        (id(30), Some(BEFORE - 1), true),
        (id(31), Some(BEFORE), false),
        (id(32), Some(BEFORE + 3600), false),
        (id(33), None, true),
    ];
    for (n, (a, e, _)) in (30..).zip(&at) {
        save(h.a, a, &record(n, *e), "m19.cleanup.expired")?;
    }
    let condition = |_: &str, l: &Loaded| match l {
        Loaded::Record(r) => r
            .get("expires")
            .and_then(Value::as_i64)
            .is_none_or(|e| e < BEFORE),
        Loaded::Unreadable => true,
    };
    let removed = match h.a.delete_expired_if(BEFORE, &condition) {
        Ok(r) => r.into_iter().collect::<BTreeSet<String>>(),
        Err(e) => {
            return broken(
                "delete_expired_if",
                Shown(format!("Err({e})")),
                "it runs",
                "m19.cleanup.expired",
            )
        }
    };
    let want: BTreeSet<String> = at.iter().filter(|x| x.2).map(|x| x.0.clone()).collect();
    if removed == want {
        return Ok(None);
    }
    let clause = if removed.contains(&id(31)) || removed.contains(&id(32)) {
        "m19.cleanup.unexpired-kept"
    } else if !removed.contains(&id(33)) {
        "m19.cleanup.missing-expires"
    } else {
        "m19.cleanup.expired"
    };
    broken(
        format!("delete_expired_if({BEFORE}, expired or no expires) over expires {BEFORE}-1, {BEFORE}, {BEFORE}+3600 and none"),
        removed,
        &format!("it removes exactly the expired record and the one without expires: {want:?}"),
        clause,
    )
}

// Every case but the clock's saves records due far ahead, so that a store
// that reads the wall clock breaks the clock's case and no other.

/// 2009-03-01 12:00:00 UTC: long before any wall clock that runs this.
const LONG_AGO: i64 = 1_235_908_800;
/// 2100-01-01 00:00:00 UTC.
const FAR_AHEAD: i64 = 4_102_444_800;

fn virtual_clock(h: Handles<'_>) -> Run {
    let kept = [
        (
            id(40),
            Some(LONG_AGO),
            "expires 1235908800 (2009-03-01 12:00:00 UTC, before the wall clock)",
        ),
        (
            id(41),
            Some(FAR_AHEAD),
            "expires 4102444800 (2100-01-01, far ahead of the wall clock)",
        ),
        (id(42), None, "no expires"),
    ];
    for (n, (a, e, _)) in (40..).zip(&kept) {
        save(h.a, a, &record(n, *e), CLOCK[0])?;
    }
    for (n, (a, e, what)) in (40..).zip(&kept) {
        match load(h.a, a, CLOCK[0])? {
            Some(Loaded::Record(r)) if r == record(n, *e) => {}
            other => {
                return broken(
                    format!("load(\"{}\")", short(a)),
                    Shown(format!("{other:?}, for a record saved with {what}")),
                    "a store keeps every record until the service removes it, and reads no clock",
                    CLOCK[0],
                )
            }
        }
    }
    let listed = list(h.a, CLOCK[0])?;
    match kept.iter().find(|(a, _, _)| !listed.contains(a)) {
        None => Ok(None),
        Some((a, _, what)) => broken(
            "list()",
            Shown(format!("{listed:?}, without \"{}\" ({what})", short(a))),
            "a store lists every record until the service removes it, whatever the wall clock",
            CLOCK[0],
        ),
    }
}

fn capacity(h: Handles<'_>) -> Run {
    const N: u32 = 2_000;
    let clause = "m19.store.capacity";
    for n in 0..N {
        save(h.a, &id(1_000 + n), &record(n, Some(FAR_AHEAD)), clause)?;
    }
    let listed: BTreeSet<String> = list(h.a, clause)?.into_iter().collect();
    if let Some(n) = (0..N).find(|n| !listed.contains(&id(1_000 + n))) {
        return broken(
            format!("list() after {N} saves"),
            format!(
                "{} ids, without \"{}\" (saved {}th)",
                listed.len(),
                short(&id(1_000 + n)),
                n + 1
            ),
            "no record is evicted while it is unexpired, however many are stored",
            clause,
        );
    }
    for n in [0, N / 2, N - 1] {
        match load(h.a, &id(1_000 + n), clause)? {
            Some(Loaded::Record(r)) if r == record(n, Some(FAR_AHEAD)) => {}
            other => {
                return broken(
                    format!(
                        "load(\"{}\") of the {}th of {N} records",
                        short(&id(1_000 + n)),
                        n + 1
                    ),
                    other,
                    "every record loads with its data, however many are stored",
                    clause,
                )
            }
        }
    }
    Ok(None)
}

fn unreadable(h: Handles<'_>) -> Run {
    let clause = "m19.load.unreadable-record";
    if !h.a.can_corrupt() {
        return Ok(Some(
            "the store does not corrupt entries (Store::can_corrupt is false)".to_owned(),
        ));
    }
    let a = id(50);
    if let Err(e) = h.a.corrupt(&a) {
        return broken(
            format!("corrupt(\"{}\")", short(&a)),
            Shown(format!("Err({e})")),
            "it makes the entry unreadable",
            clause,
        );
    }
    let seen = (load(h.a, &a, clause)?, list(h.a, clause)?.contains(&a));
    if seen != (Some(Loaded::Unreadable), true) {
        return broken(
            format!("load(\"{0}\"), list() after corrupt(\"{0}\")", short(&a)),
            seen,
            "Unreadable, and listed",
            clause,
        );
    }
    save(h.a, &a, &record(50, None), clause)?;
    let replaced = load(h.a, &a, clause)?;
    let gone = h.a.corrupt(&a).and_then(|()| h.a.delete(&a));
    let after = load(h.a, &a, "m19.cleanup.unreadable")?;
    match (replaced, gone, after) {
        (Some(Loaded::Record(r)), Ok(()), None) if r == record(50, None) => Ok(None),
        other => broken(
            format!("save over, then delete of, an unreadable \"{}\"", short(&a)),
            other,
            "the save replaces it, and a delete removes it",
            "m19.cleanup.unreadable",
        ),
    }
}

fn concurrent(h: Handles<'_>) -> Run {
    const EACH: u32 = 60;
    let work = |s: &(dyn Store + Sync), base: u32| -> Result<(), String> {
        for n in base..base + EACH {
            s.save(&id(n), &record(n, Some(FAR_AHEAD)))
                .map_err(|e| e.to_string())?;
            if n % 2 == 0 {
                s.delete(&id(n)).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    };
    let (ra, rb) = std::thread::scope(|scope| {
        let ta = scope.spawn(|| work(h.a, 5_000));
        let tb = scope.spawn(|| work(h.b, 6_000));
        (ta.join(), tb.join())
    });
    for r in [ra, rb] {
        match r {
            Ok(Ok(())) => {}
            other => {
                return broken(
                    "save, delete from two threads",
                    other,
                    "every call succeeds",
                    LIST[0],
                )
            }
        }
    }
    let listed: BTreeSet<String> = list(h.a, LIST[0])?.into_iter().collect();
    let want: BTreeSet<String> = (5_000..5_000 + EACH)
        .chain(6_000..6_000 + EACH)
        .filter(|n| n % 2 == 1)
        .map(id)
        .collect();
    if listed == want {
        return Ok(None);
    }
    broken(
        format!("list() after two threads each saved {EACH} records and deleted every other one"),
        format!(
            "{} ids, {} of them expected",
            listed.len(),
            listed.intersection(&want).count()
        ),
        &format!(
            "the {} records saved and not deleted, each once",
            want.len()
        ),
        LIST[0],
    )
}
