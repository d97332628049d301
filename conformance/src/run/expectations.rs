//! Known failures: an expectations file that lists cases a backend is known
//! to fail, with the reason and an optional issue link.
//!
//! ```json
//! { "known_failures": [
//!     { "case": "m19.load.unknown-sid-adopted-and-stored",
//!       "reason": "our store refuses client-chosen ids (session fixation)",
//!       "issue": "https://example.org/tracker/12" } ] }
//! ```
//!
//! A listed case that fails or errors is reported as an *expected failure*
//! and does not fail the run. A listed case that passes is reported as an
//! *unexpected pass* and fails the run, so the list is kept true. A listed
//! id that names no case, or a case listed twice, is an error.

use std::path::Path;

use moin_session_spec::fixture::Corpus;
use serde::{Deserialize, Serialize};

use crate::run::verdict::CaseResult;
pub use crate::run::verdict::KnownFailure;

/// An expectations file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The cases the backend is known to fail.
    pub known_failures: Vec<KnownFailure>,
}

impl Expectations {
    /// Reads an expectations file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Expectations, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Expectations::parse(path, &text)
    }

    /// Parses the text of an expectations file read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Expectations, String> {
        serde_json::from_str(text).map_err(|e| {
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
                    "an object {\"known_failures\": [...]}",
                ),
                (
                    "struct KnownFailure",
                    "a known failure {\"case\": ..., \"reason\": ...}",
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
        })
    }

    /// Checks that every listed case exists in the corpus.
    pub fn check(&self, corpus: &Corpus) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        let mut first: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for (i, k) in self.known_failures.iter().enumerate() {
            if let Some(j) = first.get(k.case.as_str()) {
                errors.push(format!(
                    "known_failures[{i}]: {:?} is listed twice (first at known_failures[{j}]); list each case once",
                    k.case
                ));
            } else {
                first.insert(&k.case, i);
            }
            if corpus.get(&k.case).is_none() {
                let hint = moin_session_spec::corpus::nearest(
                    &k.case,
                    corpus.cases.iter().map(|c| c.case.id.as_str()),
                )
                .map(|n| format!("; did you mean {n}?"))
                .unwrap_or_default();
                errors.push(format!(
                    "known_failures[{i}]: {:?} names no case of the corpus{hint}",
                    k.case
                ));
            }
            if k.reason.trim().is_empty() {
                errors.push(format!(
                    "known_failures[{i}] ({}): a known failure needs a reason",
                    k.case
                ));
            }
        }
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
