//! The corpus of this source tree (`fixtures/`), loaded once per test
//! binary and shared by its tests (it is read-only), the cases of a
//! profile, and the check that every case of a run passed.

use std::sync::OnceLock;

use moin_session_conformance::run::runner::{CaseResult, Verdict};
use moin_session_conformance::{default_fixtures_dir, load, report, Selection};
use moin_session_spec::corpus::{Corpus, LoadedCase, Requirements};
use moin_session_spec::Profile;

/// The corpus and the requirements, or a failure listing every malformed
/// fixture.
pub fn corpus() -> &'static (Corpus, Requirements) {
    static CORPUS: OnceLock<(Corpus, Requirements)> = OnceLock::new();
    CORPUS.get_or_init(|| match load(&default_fixtures_dir()) {
        Ok(loaded) => loaded,
        Err(errors) => panic!("malformed fixtures:\n{}", lines(&errors)),
    })
}

/// Every case of `profile`, in the corpus's order.
pub fn cases_of(profile: Profile) -> Vec<&'static LoadedCase> {
    Selection {
        profiles: vec![profile],
        ..Selection::default()
    }
    .apply(&corpus().0)
}

/// Fails unless every result of `results` (a run on `what`) passed,
/// showing each one that did not as the text report does.
pub fn every_case_passed(results: &[CaseResult], what: &str) {
    let problems: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(report::failure)
        .collect();
    assert!(
        problems.is_empty(),
        "{what}: {} of {} case(s) did not pass:\n{}",
        problems.len(),
        results.len(),
        problems.join("\n")
    );
}

/// Each of `items` on a line of its own (a list of load errors, of
/// failures).
pub fn lines<T: std::fmt::Display>(items: &[T]) -> String {
    let lines: Vec<String> = items.iter().map(ToString::to_string).collect();
    lines.join("\n")
}
