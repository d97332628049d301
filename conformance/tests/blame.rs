//! Blame where the mistake is (`run/blame.rs`): a record stored wrongly
//! and seen only later is blamed on the clause that governs the write
//! first; a load is blamed on the load rule that decided it; a cleanup
//! fault stays on its cleanup clause where no write explains it; random
//! groups, their minimal cases and the cases' results name the same
//! clauses.

use moin_session_conformance::proof::faulty::Fault;
use moin_session_conformance::proof::selftest::reference;
use moin_session_conformance::random::{run_random, RandomOptions};
use moin_session_conformance::run::runner::{CaseResult, Verdict};
use moin_session_conformance::{load_builtin, run_all, Selection};
use moin_session_spec::Profile;

fn moin19(fault: Fault) -> Vec<CaseResult> {
    let (corpus, _) = load_builtin().expect("the corpus loads");
    let cases = Selection {
        profiles: vec![Profile::Moin19],
        ..Selection::default()
    }
    .apply(&corpus);
    run_all(reference(fault).as_mut(), &cases, |_, _| {})
}

fn failing(results: &[CaseResult]) -> Vec<&CaseResult> {
    results
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Fail { .. }))
        .collect()
}

/// The example: a backend that stores `expires` on a fresh login
/// used to be reported as violating the cleanup and `new` clauses that
/// read the record; now the write leads.
#[test]
fn a_fresh_login_stored_with_expires_is_blamed_on_login_without_expires_first() {
    let results = moin19(Fault::LoginStoresExpires);
    let failed = failing(&results);
    assert!(!failed.is_empty());
    for r in failed {
        let Verdict::Fail {
            violated,
            differences,
            ..
        } = &r.verdict
        else {
            unreachable!()
        };
        assert_eq!(
            violated.first().map(String::as_str),
            Some("m19.persist.login-without-expires"),
            "{}: {differences:?}",
            r.id
        );
        assert!(
            violated.len() >= 2,
            "the reading rule is named too: {violated:?}"
        );
        assert!(
            differences
                .iter()
                .any(|d| d.contains("(m19.persist.login-without-expires; read by m19.")),
            "{differences:?}"
        );
    }
}

#[test]
fn every_fault_of_a_stored_field_blames_its_writing_clause_first() {
    for (_, fault) in Fault::ALL {
        let Some(writer) = fault.writing_clause() else {
            continue;
        };
        for r in failing(&moin19(*fault)) {
            assert_eq!(
                r.verdict.violated().first().map(String::as_str),
                Some(writer),
                "{fault}: {}",
                r.id
            );
        }
    }
}

/// A sid the spec calls malformed, accepted: the load rule, not the `new`
/// flag's definition.
#[test]
fn a_load_is_blamed_on_the_rule_that_decided_it() {
    for r in failing(&moin19(Fault::SidCaseInsensitive)) {
        assert_eq!(r.verdict.violated(), ["m19.load.malformed-sid"], "{}", r.id);
    }
}

/// A cleanup that removes nothing, over records written as the spec says:
/// no write explains it, so the cleanup clauses are blamed.
#[test]
fn a_cleanup_fault_stays_on_its_cleanup_clause() {
    let results = moin19(Fault::LazyCleanup);
    let first = failing(&results)
        .into_iter()
        .find(|r| r.id == "m19.cleanup.expired-and-unexpired")
        .expect("the case catches it");
    assert_eq!(first.verdict.violated(), ["m19.cleanup.expired"]);
}

#[test]
fn random_groups_and_their_cases_name_the_same_clauses() {
    for fault in [Fault::MaxAgePlusOne, Fault::ExpiresDropped, Fault::NeverNew] {
        let options = RandomOptions {
            count: 100,
            seed: 4,
            ..RandomOptions::default()
        };
        let run = run_random(
            reference(fault).as_mut(),
            &[Profile::Moin19],
            &options,
            |_, _| {},
        )
        .expect("the run completes");
        assert!(!run.groups.is_empty(), "{fault} diverges");
        for g in &run.groups {
            let mut header: Vec<&str> = g
                .signature
                .iter()
                .map(|s| s.split(" @ ").next().unwrap_or(s))
                .collect();
            header.sort();
            header.dedup();
            let mut named: Vec<&str> = g
                .result
                .verdict
                .violated()
                .iter()
                .map(String::as_str)
                .collect();
            named.sort();
            assert_eq!(header, named, "{fault}: {:?}", g.signature);
            let mut covers: Vec<&str> = g.case.case.covers.iter().map(String::as_str).collect();
            covers.sort();
            assert_eq!(
                covers, named,
                "{fault}: the saved case covers what it violates"
            );
        }
    }
}
