//! The in-process harness ([`Harness`]): one test per case, skips shown as
//! ignored (never passed), faults failing their cases, and a bad
//! known-failure list refused before any test.

use libtest_mimic::{Arguments, Conclusion};
use moin_session_conformance::harness::Harness;
use moin_session_conformance::proof::faulty::{Fault, Faulty};
use moin_session_conformance::{default_fixtures_dir, load, Selection};
use moin_session_spec::fixture::Action;
use moin_session_spec::{MemoryStore, Model, Profile};
use moin_session_testkit::backends::Limited;

/// Runs the harness's tests with libtest's output in a log file (so that
/// the expected failures of a faulty backend do not read as this suite's
/// own); returns the conclusion and the log.
fn run(harness: Harness, log: &str) -> (Conclusion, String) {
    run_keeping(&harness, log)
}

/// Whether libtest's log reports test `name` with `outcome`.
fn reported(log: &str, name: &str, outcome: &str) -> bool {
    log.lines().any(|l| {
        l.split_whitespace().any(|w| w == name) && l.trim_end().ends_with(&format!("... {outcome}"))
    })
}

/// (cases of moin-1.9, of them those with a `corrupt` step)
fn m19_counts() -> (u64, u64) {
    let (corpus, _) = load(&default_fixtures_dir()).expect("the corpus loads");
    let cases = Selection {
        profiles: vec![Profile::Moin19],
        ..Selection::default()
    }
    .apply(&corpus);
    let corrupting = cases
        .iter()
        .filter(|c| {
            c.case
                .steps
                .iter()
                .any(|s| matches!(s.action, Action::Corrupt(_)))
        })
        .count();
    (cases.len() as u64, corrupting as u64)
}

#[test]
fn one_test_per_case_and_a_store_passes_them_all() {
    let (total, _) = m19_counts();
    let (c, log) = run(
        Harness::for_store("memory", MemoryStore::new).profiles(&[Profile::Moin19]),
        "store",
    );
    // The store contract first, then the corpus.
    let contract = moin_session_conformance::contract::cases().len() as u64;
    assert_eq!(
        (c.num_passed, c.num_failed, c.num_ignored),
        (contract + total, 0, 0)
    );
    assert!(
        reported(&log, "m19.cookie.max-age-is-lifetime", "ok"),
        "one test per case, named by its id:\n{log}"
    );
    assert!(reported(&log, "store.clock.virtual", "ok"), "{log}");
}

#[test]
fn a_case_the_backend_cannot_run_is_ignored_never_passed() {
    let (total, corrupting) = m19_counts();
    assert!(corrupting > 0);
    let (c, log) = run(
        Harness::new("no-corrupt", || {
            Limited::new(Model::new()).without_corrupt()
        })
        .profiles(&[Profile::Moin19]),
        "no-corrupt",
    );
    assert_eq!(c.num_ignored, corrupting, "{c:?}");
    assert_eq!(c.num_passed, total - corrupting, "{c:?}");
    assert_eq!(c.num_failed, 0);
    assert!(log.contains("SKIP case"), "the reason is shown:\n{log}");
}

/// A fault fails its cases and the random-trace test; the run closes with
/// one block of the violated clauses, the cases' and the random traces'.
#[test]
fn a_fault_fails_its_cases_and_the_random_trace_test() {
    let harness = Harness::new("faulty", || Faulty::new(Model::new(), Fault::NeverNew))
        .profiles(&[Profile::Moin19])
        .random_traces(20);
    let (c, log) = run_keeping(&harness, "faulty");
    assert!(c.num_failed > 1, "{c:?}");
    assert!(log.contains("new: expected true, observed false"), "{log}");
    assert!(reported(&log, "random-traces.seed-1", "FAILED"), "{log}");
    let closing = harness.closing().text;
    assert!(
        closing.contains("violated clauses (over every failing case):\n  m19.new.")
            && closing
                .contains("violated clauses (over the random traces that diverged):\n  m19.new."),
        "{closing}"
    );
    assert_eq!(closing.matches("violated clauses").count(), 2, "{closing}");
}

#[test]
fn a_known_failure_naming_no_case_is_refused_before_any_test() {
    let Err(e) = Harness::for_store("memory", MemoryStore::new)
        .known_failure("m19.no.such-case", "typo")
        .trials()
    else {
        panic!("refused");
    };
    // Named by the call that declared it, not by a place in a file.
    assert!(
        e.contains(r#".known_failure("m19.no.such-case", …): "m19.no.such-case" names no case"#),
        "{e}"
    );
    assert!(!e.contains("known_failures["), "{e}");
}

#[test]
fn a_file_entry_beside_code_entries_is_named_by_its_file_and_its_own_place() {
    let scratch = moin_session_testkit::Scratch::new("harness-expectations");
    let file = scratch.path().join("e.json");
    std::fs::write(
        &file,
        r#"{"known_failures": [{"case": "m19.nope", "reason": "typo"}]}"#,
    )
    .unwrap();
    let Err(e) = Harness::for_store("memory", MemoryStore::new)
        .known_failure("m19.load.no-cookie-fresh-every-time", "declared in code")
        .expectations(&file)
        .trials()
    else {
        panic!("refused");
    };
    // The file's first entry, after one declared in code: its own index.
    let place = format!(
        "{}: known_failures[0]: \"m19.nope\" names no case",
        file.display()
    );
    assert!(e.contains(&place), "{e}");
}

/// A backend that implements nothing is not green: every case is ignored,
/// and the harness names the profile of which nothing was checked.
#[test]
fn a_backend_that_checks_nothing_does_not_turn_the_run_green() {
    let harness = Harness::new("nothing", || Limited::new(Model::new()).without_requests())
        .profiles(&[Profile::Moin19]);
    let (c, _) = run_keeping(&harness, "nothing");
    assert_eq!(c.num_failed, 0, "{c:?}");
    // Only the cases about rejected configurations pass: they judge the
    // library's loader, not the backend.
    assert!(c.num_passed < 20, "{c:?}");
    assert_eq!(harness.unchecked(), vec![Profile::Moin19]);
    let ok = Harness::for_store("memory", MemoryStore::new).profiles(&[Profile::Moin19]);
    let (c, _) = run_keeping(&ok, "memory-tally");
    assert_eq!(c.num_failed, 0);
    assert!(ok.unchecked().is_empty());
}

fn run_keeping(harness: &Harness, log: &str) -> (Conclusion, String) {
    let trials = harness.trials().expect("the harness is configured well");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("harness-{log}.log"));
    let args = Arguments {
        test_threads: Some(2),
        logfile: Some(path.display().to_string()),
        ..Arguments::default()
    };
    let conclusion = libtest_mimic::run(&args, trials);
    let text = std::fs::read_to_string(&path).expect("libtest wrote its log");
    (conclusion, text)
}

/// `Harness::explain` prints a case's transcript without the CLI: what
/// `moin-session-conformance explain ID` prints, the failing step marked.
#[test]
fn explain_prints_a_cases_transcript_without_the_cli() {
    let harness = Harness::new("faulty", || Faulty::new(Model::new(), Fault::MaxAgePlusOne));
    let id = "m19.cookie.max-age-is-lifetime";
    let text = harness.explain(id).expect("the case exists");
    assert!(text.starts_with(&format!("case {id}: ")), "{text}");
    assert!(text.contains("< Set-Cookie: "), "{text}");
    assert!(text.contains("✗ set_cookies["), "{text}");
    assert!(text.contains("verdict: fail at step 1"), "{text}");
    let passing = Harness::for_store("memory", MemoryStore::new).explain(id);
    assert!(passing.is_ok_and(|t| !t.contains('✗')));
    let Err(e) = harness.explain("m19.no.such-case") else {
        panic!("an unknown id is an error");
    };
    assert!(e.contains("m19.no.such-case"), "{e}");
    assert!(!e.contains("did you mean"), "nothing is near: {e}");
    let Err(e) = harness.explain("m19.cookie.max-age-is-lifetim") else {
        panic!("a mistyped id is an error");
    };
    assert!(
        e.ends_with("did you mean m19.cookie.max-age-is-lifetime?"),
        "{e}"
    );
}
