//! What a backend declares of itself in an expectations file: the cases
//! it is known to fail, and the clauses it departs from on purpose.
//!
//! ```json
//! { "deviations": [
//!     { "clause": "m19.cookie.httponly",
//!       "reason": "we always send HttpOnly",
//!       "issue": "https://example.org/tracker/7" } ],
//!   "known_failures": [
//!     { "case": "m19.load.unknown-sid-adopted-and-stored",
//!       "reason": "our store refuses client-chosen ids (session fixation)",
//!       "issue": "https://example.org/tracker/12" } ] }
//! ```
//!
//! Both lists are optional (a file of `known_failures` only, the older
//! form, still reads).
//!
//! - A **deviation** names a requirement ID. Every difference attributed to
//!   it ([`crate::run::attribution`]) deviates instead of failing; a case
//!   whose differences all deviate counts as *deviates*, and any other
//!   difference fails as before. A declared clause that the run exercised
//!   (a case covering it ran to a verdict) and never found violated fails
//!   the run, so the list stays true ([`unused_deviations`]).
//! - A **known failure** names a case. A listed case that fails or errors
//!   is reported as an *expected failure* and does not fail the run; one
//!   that passes is an *unexpected pass* and fails the run.
//!
//! An id that names no case or no clause (with a did-you-mean), an entry
//! listed twice, or one without a reason is an error before any case runs.

use std::collections::BTreeMap;
use std::path::Path;

use moin_session_spec::fixture::Corpus;
use moin_session_spec::requirements::Requirements;
use serde::{Deserialize, Serialize};

use crate::run::verdict::CaseResult;
pub use crate::run::verdict::{Deviation, KnownFailure, Origin};

/// An expectations file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The clauses the backend departs from on purpose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<Deviation>,
    /// The cases the backend is known to fail.
    #[serde(default)]
    pub known_failures: Vec<KnownFailure>,
}

impl Expectations {
    /// Reads an expectations file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Expectations, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Expectations::parse(path, &text)
    }

    /// Parses the text of an expectations file read from `path`; every
    /// entry's origin is that file.
    pub fn parse(path: &Path, text: &str) -> Result<Expectations, String> {
        let mut parsed: Expectations = serde_json::from_str(text).map_err(|e| {
            let mut m = e.to_string();
            if let Some(i) = m.rfind(" at line ") {
                m.truncate(i);
            }
            if m.contains("recursion limit exceeded") {
                m = "the JSON nests deeper than 128 levels".to_owned();
            }
            for (serde, ours) in [
                (
                    "struct Expectations",
                    "an object {\"deviations\": [...], \"known_failures\": [...]}",
                ),
                (
                    "struct KnownFailure",
                    "a known failure {\"case\": ..., \"reason\": ...}",
                ),
                (
                    "struct Deviation",
                    "a deviation {\"clause\": ..., \"reason\": ...}",
                ),
                ("a sequence", "a list"),
                ("a map", "an object"),
            ] {
                m = m.replace(serde, ours);
            }
            let m = moin_session_spec::corpus::without_element_count(&m);
            format!(
                "{}:{}:{}: {m} (expectations file)",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        let origin = Origin::File(path.display().to_string());
        for k in &mut parsed.known_failures {
            k.origin = origin.clone();
        }
        for d in &mut parsed.deviations {
            d.origin = origin.clone();
        }
        Ok(parsed)
    }

    /// Checks that every listed case exists in the corpus and every
    /// declared clause is a requirement of the spec, each once, each with
    /// a reason.
    pub fn check(&self, corpus: &Corpus, requirements: &Requirements) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        let cases = self
            .known_failures
            .iter()
            .map(|k| (k.case.as_str(), k.reason.as_str(), &k.origin));
        let ids: Vec<&str> = corpus.cases.iter().map(|c| c.case.id.as_str()).collect();
        check_list("known_failures", "case", cases, &ids, &mut errors);
        let clauses = self
            .deviations
            .iter()
            .map(|d| (d.clause.as_str(), d.reason.as_str(), &d.origin));
        let ids: Vec<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
        check_list("deviations", "clause", clauses, &ids, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Marks the results of listed cases.
    pub fn apply(&self, results: &mut [CaseResult]) {
        for r in results {
            if let Some(k) = self.known_failures.iter().find(|k| k.case == r.id) {
                r.known_failure = Some(k.clone());
            }
        }
    }
}

/// Checks one list of `(id, reason, origin)` entries against the ids that
/// exist: each names one of them (with a did-you-mean), once, with a
/// reason. An entry of a file is named by the file and its place in that
/// file's list (`e.json: known_failures[2]`), one declared in code by its
/// call (`.known_failure("m19.x", …)`).
fn check_list<'a>(
    list: &str,
    what: &str,
    entries: impl Iterator<Item = (&'a str, &'a str, &'a Origin)>,
    known: &[&str],
    errors: &mut Vec<String>,
) {
    let mut first: BTreeMap<&str, String> = BTreeMap::new();
    let (noun, method) = if what == "case" {
        ("no case of the corpus", ".known_failure")
    } else {
        (
            "no requirement of the spec (`requirements` lists them)",
            ".deviation",
        )
    };
    let mut in_file: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, reason, origin) in entries {
        let place = match origin {
            Origin::Code => format!("{method}({id:?}, …)"),
            Origin::File(file) => {
                let i = in_file.entry(file.as_str()).or_default();
                *i += 1;
                format!("{file}: {list}[{}]", *i - 1)
            }
        };
        if let Some(earlier) = first.get(id) {
            errors.push(format!(
                "{place}: {id:?} is listed twice (first at {earlier}); list each {what} once"
            ));
        } else {
            first.insert(id, place.clone());
        }
        if !known.contains(&id) {
            let hint = moin_session_spec::corpus::nearest(id, known.iter().copied())
                .map(|n| format!("; did you mean {n}?"))
                .unwrap_or_default();
            errors.push(format!("{place}: {id:?} names {noun}{hint}"));
        }
        if reason.trim().is_empty() {
            let entry = if what == "case" {
                "a known failure"
            } else {
                "a deviation"
            };
            errors.push(format!("{place} ({id}): {entry} needs a reason"));
        }
    }
}

/// How one declared deviation fared in a run.
#[derive(Debug, Clone)]
pub struct DeviationUse<'a> {
    /// The declaration.
    pub deviation: &'a Deviation,
    /// Cases in which a difference was attributed to it.
    pub cases: Vec<&'a CaseResult>,
    /// Cases that cover the clause and ran to a verdict.
    pub exercised: usize,
}

impl DeviationUse<'_> {
    /// Exercised and never found: the declaration is not true of the
    /// backend, and the run fails.
    pub fn unused(&self) -> bool {
        self.cases.is_empty() && self.exercised > 0
    }

    /// The message for an unused deviation, naming where to remove it.
    pub fn unused_message(&self) -> String {
        let d = self.deviation;
        format!(
            "declared deviation {} was exercised by {} case(s) and never found: the backend keeps this clause; remove it from {}",
            d.clause,
            self.exercised,
            d.origin.place("deviation")
        )
    }
}

/// Each declared deviation with the cases that deviated on it and the
/// number of cases covering it that ran to a verdict.
pub fn deviation_uses<'a>(
    deviations: &'a [Deviation],
    results: &'a [CaseResult],
) -> Vec<DeviationUse<'a>> {
    deviations
        .iter()
        .map(|deviation| {
            let clause = deviation.clause.as_str();
            let cases = results
                .iter()
                .filter(|r| r.deviated_clauses().contains(&clause))
                .collect();
            let exercised = results
                .iter()
                .filter(|r| ran_to_verdict(r) && covers(r, clause))
                .count();
            DeviationUse {
                deviation,
                cases,
                exercised,
            }
        })
        .collect()
}

/// The declared deviations a run exercised and never found.
pub fn unused_deviations<'a>(
    deviations: &'a [Deviation],
    results: &'a [CaseResult],
) -> Vec<DeviationUse<'a>> {
    deviation_uses(deviations, results)
        .into_iter()
        .filter(DeviationUse::unused)
        .collect()
}

fn ran_to_verdict(r: &CaseResult) -> bool {
    !r.steps.is_empty()
        && matches!(
            r.verdict,
            crate::run::verdict::Verdict::Pass | crate::run::verdict::Verdict::Fail { .. }
        )
}

fn covers(r: &CaseResult, clause: &str) -> bool {
    r.covers.iter().any(|c| c == clause)
        || r.steps
            .iter()
            .any(|s| s.step.covers.iter().any(|c| c == clause))
}

/// The configuration setting a clause is about, when a backend that
/// departs from it really supports only some values of a setting the
/// profile already has: such a backend can declare the values it supports
/// instead (the protocol's `configurations`, `Backend::configurations`),
/// and the cases with other values are skipped.
pub fn configuration_of(clause: &str) -> Option<&'static str> {
    Some(match clause {
        "m19.cookie.httponly" => "cookie_httponly",
        "m19.cookie.secure-auto" | "m19.cookie.secure-forced" => "cookie_secure",
        "hard.cookie.samesite" => "cookie_samesite",
        "hard.cookie.host-prefix" => "cookie_host_prefix",
        _ => return None,
    })
}
