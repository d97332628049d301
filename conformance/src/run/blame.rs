//! Blame from the model's account ([`moin_session_spec::Account`]): the
//! attribution table ([`crate::run::attribution`]) knows a difference's
//! field and the clauses the case covers; the model knows which rule it
//! applied at that step. For a moin-1.9 step that differs in the session's
//! sid or `new`, or in what a cleanup removed, the model is run beside the
//! case up to that step (its *shadow*), and:
//!
//! - the load rule that decided the session (two cookies of the name, a
//!   malformed sid, an adopted one, an unreadable or expired record, a
//!   record without `expires`, the expiry boundary) is blamed for the sid
//!   and `new`, and so for their effects;
//! - the cleanup rule that removed or kept the differing record is blamed
//!   for `removed`;
//! - when a difference is about what was stored (the session loaded, its
//!   user and values, what a cleanup removed or a listing shows, the cookie
//!   that follows), the model is run once more for each writing rule
//!   ([`moin_session_spec::WRITERS`]) with that rule applied the other way
//!   from the start (a new login's record stored with `expires`, or a
//!   record stored without it). If the changed model passes every earlier
//!   step and differs at this step exactly as the backend did (the same
//!   fields in the same places, and for sets of sids the same sids), the
//!   record was stored wrongly and seen later: the writing rule is blamed
//!   first and the rule that read it second.
//!
//! The last is a judgement, as the table is: one observation can have two
//! causes (a write that stored the wrong `expires`, or a read that misjudged
//! the right one), and then both are named, the write first.

use std::collections::BTreeMap;

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{Account, Backend, Model, Profile, WRITERS};

use crate::run::compare::{Bindings, Difference, Field};
use crate::run::crowd::Crowd;
use crate::run::jar::Jar;
use crate::run::world::{run_step, World};

/// The clause each difference of a step is attributed to, and for a
/// difference blamed on a write, the rule that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blame {
    /// The clause, per difference.
    pub clauses: Vec<String>,
    /// Per difference, the reading rule when the clause is a writing rule.
    pub readers: Vec<Option<String>>,
}

/// The model's run of `loaded` up to and including step `number`
/// (1-based), with the writing rule `swap` applied the other way from the
/// start when given: its account of the step, the differences it found
/// there and its sid bindings. `None` when the model's run is no guide: an
/// error, or a difference before the step (a corpus the model does not
/// pass, or a swapped rule that shows earlier).
pub fn shadow(
    loaded: &LoadedCase,
    number: usize,
    swap: Option<&str>,
) -> Option<(Account, Vec<Difference>, Bindings)> {
    let case = &loaded.case;
    let mut model = Model::new();
    model.reset(loaded.config.as_ref()?).ok()?;
    if let Some(w) = swap {
        if !model.swap_writer(w) {
            return None;
        }
    }
    let mut patches = vec![case.config.clone()];
    let mut now = case.start;
    let (mut jar, mut open, mut crowd) = (Jar::new(), BTreeMap::new(), Crowd::new());
    let mut bindings = Bindings::for_profile(case.profile);
    for (i, step) in case.steps.iter().enumerate().take(number) {
        let mut world = World {
            now: &mut now,
            jar: &mut jar,
            bindings: &mut bindings,
            patches: &mut patches,
            open: &mut open,
            crowd: &mut crowd,
        };
        let (_, differences) = run_step(&mut model, step, &mut world, case.profile).ok()?;
        if i + 1 == number {
            return Some((model.account(), differences, bindings));
        }
        if !differences.is_empty() {
            return None;
        }
    }
    None
}

/// The blame of step `number`'s `differences`, starting from the table's
/// `clauses` (see the module docs).
pub fn blame(
    loaded: &LoadedCase,
    number: usize,
    differences: &[Difference],
    clauses: Vec<String>,
) -> Blame {
    let mut blame = Blame {
        readers: vec![None; clauses.len()],
        clauses,
    };
    if loaded.case.profile != Profile::Moin19 || !differences.iter().any(|d| stored(d.field)) {
        return blame;
    }
    let Some((account, own, bindings)) = shadow(loaded, number, None) else {
        return blame;
    };
    if !own.is_empty() {
        return blame; // the model does not pass this step: no guide
    }
    let load = differences
        .iter()
        .position(|d| d.field == Field::Value)
        .or_else(|| differences.iter().position(|d| d.field == Field::New));
    if let (Some(cause), Some(rule)) = (load, account.load) {
        let old = blame.clauses[cause].clone();
        for c in blame.clauses.iter_mut().filter(|c| **c == old) {
            *c = rule.to_owned();
        }
    }
    for (i, d) in differences.iter().enumerate() {
        if d.field == Field::Removed {
            let sids = differing_sids(d, &bindings);
            if let Some(judged) = sids.iter().find_map(|s| account.cleanup.get(s)) {
                blame.clauses[i] = judged.by.to_owned();
            }
        }
    }
    if let Some(writer) = WRITERS
        .iter()
        .find(|w| reproduces(loaded, number, w, differences))
    {
        for (c, r) in blame.clauses.iter_mut().zip(blame.readers.iter_mut()) {
            if c != writer {
                *r = Some(std::mem::replace(c, (*writer).to_owned()));
            }
        }
    }
    blame
}

/// Whether a field's difference can come from what was stored.
fn stored(field: Field) -> bool {
    matches!(
        field,
        Field::Value
            | Field::New
            | Field::User
            | Field::Results
            | Field::StoredValue
            | Field::Removed
            | Field::Sids
            | Field::Missing
            | Field::Extra
            | Field::ExtraDeletion
            | Field::Kind
    )
}

/// Whether the model with the writing rule `writer` applied the other way
/// passes every step before `number` and differs at it exactly as the
/// backend did.
fn reproduces(
    loaded: &LoadedCase,
    number: usize,
    writer: &str,
    differences: &[Difference],
) -> bool {
    let Some((_, own, _)) = shadow(loaded, number, Some(writer)) else {
        return false;
    };
    // The same fields in the same places; for sid sets also the same sids
    // (symbols, which both runs bind alike), since a set can differ in
    // more than one way.
    let shape = |ds: &[Difference]| {
        let mut v: Vec<(Field, String, String)> = ds
            .iter()
            .map(|d| {
                let observed = match d.field {
                    Field::Removed | Field::Sids => {
                        let mut v = sid_list(&d.observed);
                        v.sort();
                        v.join(", ")
                    }
                    _ => String::new(),
                };
                (d.field, d.what.clone(), observed)
            })
            .collect();
        v.sort();
        v
    };
    !own.is_empty() && shape(&own) == shape(differences)
}

/// The model's sids of the records a `removed` difference is about: those
/// in one of its sets and not the other, each symbol resolved in the
/// model's bindings (a literal sid is itself).
fn differing_sids(d: &Difference, model: &Bindings) -> Vec<String> {
    let (want, got) = (sid_list(&d.expected), sid_list(&d.observed));
    want.iter()
        .filter(|s| !got.contains(s))
        .chain(got.iter().filter(|s| !want.contains(s)))
        .filter_map(|s| model.resolve(s))
        .collect()
}

/// The sids (symbols or literals) of one side of a sid-set difference,
/// as the comparison prints it (`[$s1, $s2]`, `<unbound $s3>`, `a fresh
/// id for $s4`).
fn sid_list(text: &str) -> Vec<String> {
    text.trim_end_matches(" (with duplicates)")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
        .map(|s| {
            s.trim()
                .trim_start_matches("<unbound ")
                .trim_start_matches("a fresh id for ")
                .trim_end_matches('>')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}
