//! # moin-session-conformance
//!
//! The conformance runner for `moin-session-spec`, one folder per part:
//!
//! | module | part |
//! | --- | --- |
//! | [`run`] | the run: the simulated browser and clock, the one comparison, attribution, verdicts |
//! | [`random`] | random traces: generation, interleaving, shrinking, differential traces |
//! | [`report`] | what people and tools read: text, JSON, JUnit, Markdown, HTML, transcripts |
//! | [`adapter`] | a backend in another process, reached through the adapter protocol |
//! | [`backends`] | the built-in backends by name |
//! | [`proof`] | the proof of strength: seeded faulty backends, the self-test, the soak |
//! | [`harness`] | the corpus as ordinary Rust tests, for a backend or a store |
//! | [`contract`] | the store contract, tested at the store |
//! | [`lifecycle`] | clean exits: adapter process groups and temporary stores, on every exit path |
//!
//! The command-line tool (`src/main.rs` with `src/cli/`) only parses
//! options and dispatches to these.
//!
//! ```no_run
//! use moin_session_conformance::{run_all, Selection};
//! use moin_session_spec::Model;
//! let (corpus, requirements) = moin_session_conformance::load_builtin().unwrap();
//! let cases = Selection::default().apply(&corpus);
//! let results = run_all(&mut Model::new(), &cases, |_, _| {});
//! assert!(results.iter().all(|r| r.verdict.word() == "pass"));
//! # let _ = requirements;
//! ```
#![deny(missing_docs)]

pub mod adapter;
pub mod backends;
pub mod contract;
pub mod harness;
pub mod lifecycle;
pub mod proof;
pub mod random;
pub mod report;
pub mod run;

use std::path::{Path, PathBuf};

use moin_session_spec::fixture::{load_corpus, Corpus, FixtureError, LoadedCase};
use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

pub use crate::run::{run_all, run_all_with, run_parallel};

/// The `fixtures/` directory of the source tree this crate was built from
/// (for this repository's own tests and tools; an installed runner uses
/// the built-in corpus, [`load_builtin`]).
pub fn default_fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
}

/// Loads the corpus under `dir` against the compiled-in spec.
///
/// File names in errors and reports are relative to the current directory
/// where the corpus lies below it.
pub fn load(dir: &Path) -> Result<(Corpus, Requirements), Vec<FixtureError>> {
    let requirements = Requirements::builtin();
    let dir = readable_path(dir);
    let corpus = load_corpus(&dir, &requirements)?;
    Ok((corpus, requirements))
}

/// Loads the corpus built into the library (the `fixtures/` of the source
/// it was built from) against the compiled-in spec; needs no files.
pub fn load_builtin() -> Result<(Corpus, Requirements), Vec<FixtureError>> {
    let requirements = Requirements::builtin();
    let corpus = moin_session_spec::corpus::builtin_corpus(&requirements)?;
    Ok((corpus, requirements))
}

/// `dir` made canonical and, when it lies below the current directory,
/// relative to it.
fn readable_path(dir: &Path) -> PathBuf {
    let Ok(canonical) = std::fs::canonicalize(dir) else {
        return dir.to_owned();
    };
    match std::env::current_dir()
        .ok()
        .and_then(|cwd| canonical.strip_prefix(cwd).ok().map(Path::to_owned))
    {
        Some(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Some(rel) => rel,
        None => canonical,
    }
}

/// Which cases to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these profiles (all when empty).
    pub profiles: Vec<Profile>,
    /// Only case ids matching this: an exact id, a dotted prefix
    /// (`m19.load` selects `m19.load.*`), or a pattern with `*`.
    pub case: Option<String>,
    /// Only cases covering this requirement ID.
    pub requirement: Option<String>,
}

impl Selection {
    /// The selected cases, in corpus order.
    pub fn apply<'a>(&self, corpus: &'a Corpus) -> Vec<&'a LoadedCase> {
        corpus
            .cases
            .iter()
            .filter(|c| self.profiles.is_empty() || self.profiles.contains(&c.case.profile))
            .filter(|c| {
                self.case
                    .as_deref()
                    .is_none_or(|p| id_matches(p, &c.case.id))
            })
            .filter(|c| {
                self.requirement.as_deref().is_none_or(|r| {
                    c.case.covers.iter().any(|x| x == r)
                        || c.case.steps.iter().any(|s| s.covers.iter().any(|x| x == r))
                })
            })
            .collect()
    }
}

/// Whether a case id matches a `--case` pattern.
///
/// ```
/// use moin_session_conformance::id_matches;
/// assert!(id_matches("m19.load", "m19.load.no-cookie"));
/// assert!(id_matches("m19.load.no-cookie", "m19.load.no-cookie"));
/// assert!(!id_matches("m19.lo", "m19.load.no-cookie"));
/// assert!(id_matches("*cookie*", "m19.load.no-cookie"));
/// assert!(id_matches("m19.*.no-*", "m19.load.no-cookie"));
/// assert!(!id_matches("*cookies", "m19.load.no-cookie"));
/// // Many stars take linear time, not exponential.
/// assert!(!id_matches(&"*a".repeat(50), &"a".repeat(49)));
/// ```
pub fn id_matches(pattern: &str, id: &str) -> bool {
    if pattern.contains('*') {
        glob(pattern.as_bytes(), id.as_bytes())
    } else {
        id == pattern
            || id
                .strip_prefix(pattern)
                .is_some_and(|rest| rest.starts_with('.'))
    }
}

/// `*` matching in time `O(|p| * |s|)`, whatever the pattern (a pattern of
/// many stars must not take exponential time).
fn glob(p: &[u8], s: &[u8]) -> bool {
    // matches[j]: whether the pattern read so far matches s[..j].
    let mut matches = vec![false; s.len() + 1];
    matches[0] = true;
    for &c in p {
        if c == b'*' {
            for j in 1..=s.len() {
                matches[j] = matches[j] || matches[j - 1];
            }
        } else {
            for j in (1..=s.len()).rev() {
                matches[j] = matches[j - 1] && s[j - 1] == c;
            }
            matches[0] = false;
        }
    }
    matches[s.len()]
}
