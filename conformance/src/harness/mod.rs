//! The corpus as ordinary Rust tests: one test per case, for any
//! [`Backend`] or any [`Store`] (wrapped in the reference services).
//!
//! Add `moin-session-conformance` as a dev-dependency, declare a test
//! target with `harness = false`, and hand the harness a way to make your
//! backend:
//!
//! ```toml
//! [[test]]
//! name = "conformance"
//! harness = false
//! ```
//!
//! ```no_run
//! // tests/conformance.rs
//! use moin_session_conformance::harness::Harness;
//! use moin_session_spec::{MemoryStore, Profile};
//!
//! fn main() -> std::process::ExitCode {
//!     Harness::for_store("my-store", MemoryStore::new)
//!         .profiles(&[Profile::Moin19])
//!         .known_failure("m19.load.unknown-sid-adopted-and-stored", "we refuse client-chosen ids")
//!         .random_traces(100)
//!         .run()
//! }
//! ```
//!
//! `cargo test` then lists one test per case (`[moin-1.9] m19.load.…`),
//! named by case id, so the usual filters work (`cargo test --test
//! conformance m19.cookie`). What each outcome becomes:
//!
//! | case outcome | test |
//! | --- | --- |
//! | pass | ok |
//! | fail or error | FAILED, with the report the CLI prints (case, file, step, requirements, each difference) and the `explain` command to run |
//! | skipped (a profile or a call the backend does not offer) | ignored, never ok |
//! | listed known failure that fails | ignored, with the reason |
//! | listed known failure that passes | FAILED: the list is out of date |
//!
//! With [`Harness::random_traces`], one more test runs random traces
//! against the model and fails with every minimal divergence, citing the
//! clause it touches and the seed that reproduces it. A known failure that
//! names no case, or a corpus that does not load, fails the run before any
//! test.
//!
//! Each test makes a fresh backend with the function it was given and runs
//! its one case, in libtest's threads (`--test-threads=1` runs them one at
//! a time).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use moin_session_spec::store::Store;
use moin_session_spec::{Backend, Profile, ReferenceBackend, SidChoice};

use crate::random::run::{run_random, RandomOptions};
use crate::report::{failure, Outcome};
use crate::run::expectations::{Expectations, KnownFailure};
use crate::run::runner::{run_case, CaseResult};
use crate::{load, load_builtin, Selection};

/// The seed random traces start from unless [`Harness::seed`] says.
pub const DEFAULT_SEED: u64 = 1;

/// The corpus as tests for one backend; see the module documentation.
pub struct Harness {
    name: String,
    make: Arc<dyn Fn() -> Box<dyn Backend> + Send + Sync>,
    profiles: Vec<Profile>,
    known: Vec<KnownFailure>,
    /// `None`: the built-in corpus.
    fixtures: Option<PathBuf>,
    random: usize,
    seed: u64,
    save_failures: Option<PathBuf>,
    /// Problems found while configuring (an unreadable expectations file);
    /// reported by [`Harness::trials`] before any test runs.
    problems: Vec<String>,
    /// Per profile: cases run, and of them those that reached a verdict.
    tally: Arc<Mutex<BTreeMap<Profile, (usize, usize)>>>,
}

impl Harness {
    /// Tests for the backend `make` returns (called once for the corpus and
    /// once per test, in the test's thread).
    pub fn new<B: Backend + 'static>(
        name: impl Into<String>,
        make: impl Fn() -> B + Send + Sync + 'static,
    ) -> Self {
        Harness {
            name: name.into(),
            make: Arc::new(move || Box::new(make())),
            profiles: Vec::new(),
            known: Vec::new(),
            fixtures: None,
            random: 0,
            seed: DEFAULT_SEED,
            save_failures: None,
            problems: Vec::new(),
            tally: Arc::default(),
        }
    }

    /// Tests for a store: each case runs the reference service of its
    /// profile over the store `make` returns, with sids from the OS.
    pub fn for_store<S: Store + 'static>(
        name: impl Into<String>,
        make: impl Fn() -> S + Send + Sync + 'static,
    ) -> Self {
        let name = name.into();
        let label = name.clone();
        Harness::new(name, move || {
            ReferenceBackend::with_sids(label.clone(), make(), SidChoice::Os)
        })
    }

    /// Only these profiles (default: every profile the backend implements).
    pub fn profiles(mut self, profiles: &[Profile]) -> Self {
        self.profiles = profiles.to_vec();
        self
    }

    /// Lists a case the backend is known to fail, with the reason.
    pub fn known_failure(mut self, case: &str, reason: &str) -> Self {
        self.known.push(KnownFailure {
            case: case.to_owned(),
            reason: reason.to_owned(),
            issue: None,
        });
        self
    }

    /// Lists every known failure of an expectations file (the CLI's
    /// `--expectations` format).
    pub fn expectations(mut self, file: impl Into<PathBuf>) -> Self {
        let file = file.into();
        match Expectations::load(&file) {
            Ok(e) => self.known.extend(e.known_failures),
            Err(e) => self.problems.push(e),
        }
        self
    }

    /// Reads the corpus from `dir` instead of the one built into this
    /// crate.
    pub fn fixtures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.fixtures = Some(dir.into());
        self
    }

    /// Adds one test that runs `count` random traces per profile against
    /// the model.
    pub fn random_traces(mut self, count: usize) -> Self {
        self.random = count;
        self
    }

    /// The seed of the random traces (default [`DEFAULT_SEED`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Writes each minimal divergence of the random traces as a fixture
    /// file in `dir`, which `check --fixtures DIR` replays.
    pub fn save_failures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.save_failures = Some(dir.into());
        self
    }

    /// Runs the tests with the command line's arguments and returns the
    /// process's exit code.
    ///
    /// When no case of a profile whose cases ran reached a verdict on the
    /// backend (each was skipped, or judged only the configuration
    /// loader), nothing of that profile was checked: the run fails
    /// with exit status 3, as the CLI's does, even though libtest saw no
    /// failed test.
    pub fn run(self) -> ExitCode {
        let args = Arguments::from_args();
        let trials = match self.trials() {
            Ok(trials) => trials,
            Err(message) => {
                eprintln!("moin-session conformance harness: {message}");
                return ExitCode::from(2);
            }
        };
        let conclusion = libtest_mimic::run(&args, trials);
        let unchecked = self.unchecked();
        for profile in &unchecked {
            eprintln!(
                "moin-session conformance harness: nothing was checked: no case of {profile} that ran reached a verdict (each was skipped)"
            );
        }
        if conclusion.has_failed() || unchecked.is_empty() {
            conclusion.exit_code()
        } else {
            ExitCode::from(3)
        }
    }

    /// The profiles of which some case ran but none reached a verdict.
    pub fn unchecked(&self) -> Vec<Profile> {
        let tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        tally
            .iter()
            .filter(|(_, (ran, judged))| *ran > 0 && *judged == 0)
            .map(|(p, _)| *p)
            .collect()
    }

    /// The tests, one per case of the selected profiles (plus the random
    /// traces). Each test makes its own backend and runs its case when
    /// libtest runs it, so the usual filters, `--list` and
    /// `--test-threads` work as for any test.
    pub fn trials(&self) -> Result<Vec<Trial>, String> {
        if !self.problems.is_empty() {
            return Err(self.problems.join("\n"));
        }
        let loaded = match &self.fixtures {
            Some(dir) => load(dir),
            None => load_builtin(),
        };
        let (corpus, _) = loaded.map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            format!("the corpus does not load:\n{}", lines.join("\n"))
        })?;
        let expectations = Expectations {
            known_failures: self.known.clone(),
        };
        expectations
            .check(&corpus)
            .map_err(|errors| format!("known failures:\n{}", errors.join("\n")))?;
        let offered = (self.make)().info().profiles;
        let profiles: Vec<Profile> = if self.profiles.is_empty() {
            offered.clone()
        } else {
            self.profiles.clone()
        };
        if let Some(p) = profiles.iter().find(|p| !offered.contains(p)) {
            return Err(format!(
                "backend {} does not implement profile {p} (it implements: {})",
                self.name,
                offered
                    .iter()
                    .map(Profile::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let cases = Selection {
            profiles: profiles.clone(),
            ..Selection::default()
        }
        .apply(&corpus);
        let mut trials = Vec::new();
        for case in cases {
            let case = case.clone();
            let make = Arc::clone(&self.make);
            let known = expectations.clone();
            let kind = case.case.profile.to_string();
            let tally = Arc::clone(&self.tally);
            trials.push(
                Trial::ignorable_test(case.case.id.clone(), move || {
                    let mut backend = make();
                    let mut result = [run_case(backend.as_mut(), &case)];
                    known.apply(&mut result);
                    let [result] = result;
                    // A case about a rejected configuration judges the
                    // library's loader, not the backend: it checks nothing.
                    let judged = !result.steps.is_empty()
                        && !matches!(result.verdict, crate::run::runner::Verdict::Skipped { .. });
                    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                    let entry = tally.entry(case.case.profile).or_default();
                    entry.0 += 1;
                    entry.1 += usize::from(judged);
                    drop(tally);
                    judge(&result)
                })
                .with_kind(kind),
            );
        }
        if self.random > 0 {
            trials.push(self.random_trial(&profiles));
        }
        Ok(trials)
    }

    fn random_trial(&self, profiles: &[Profile]) -> Trial {
        let name = format!("random-traces.seed-{}", self.seed);
        let make = Arc::clone(&self.make);
        let (count, seed, save) = (self.random, self.seed, self.save_failures.clone());
        let kind = profiles
            .iter()
            .map(Profile::to_string)
            .collect::<Vec<_>>()
            .join("+");
        let profiles = profiles.to_vec();
        Trial::test(name, move || {
            let mut backend = make();
            let options = RandomOptions {
                count,
                seed,
                save: save.clone(),
                stop: Default::default(),
            };
            match run_random(backend.as_mut(), &profiles, &options, |_, _| {}) {
                Err(e) => Err(Failed::from(format!("random traces could not run: {e}"))),
                Ok(run) if run.ok() => Ok(()),
                Ok(run) => {
                    let name = backend.info().name;
                    let mut out = crate::random::run::text(&run, &name, &profiles, seed);
                    out.push_str("  The expectations come from the model: read the cited clause to decide which side is wrong.");
                    Err(Failed::from(out))
                }
            }
        })
        .with_kind(kind)
    }
}

/// A case's result as a test outcome (see the module documentation).
fn judge(result: &CaseResult) -> Result<Completion, Failed> {
    match Outcome::of(result) {
        Outcome::Passed => Ok(Completion::Completed),
        Outcome::Skipped => Ok(Completion::ignored_with(failure(result).trim().to_owned())),
        Outcome::ExpectedFailure => Ok(Completion::ignored_with(format!(
            "known failure: {}",
            result
                .known_failure
                .as_ref()
                .map(|k| k.reason.as_str())
                .unwrap_or_default()
        ))),
        Outcome::Failed | Outcome::Errored | Outcome::UnexpectedPass => {
            let id = &result.id;
            Err(Failed::from(format!(
                "{}\n  next: moin-session-conformance explain {id} --backend model shows what the spec expects step by step",
                failure(result)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::faulty::{Fault, Faulty};
    use moin_session_spec::Model;

    fn result_of(backend: &mut dyn Backend, id: &str, known: Option<&str>) -> CaseResult {
        let (corpus, _) = load_builtin().expect("the corpus loads");
        let case = corpus.get(id).expect("the case exists");
        let mut result = [run_case(backend, case)];
        if let Some(reason) = known {
            Expectations {
                known_failures: vec![KnownFailure {
                    case: id.to_owned(),
                    reason: reason.to_owned(),
                    issue: None,
                }],
            }
            .apply(&mut result);
        }
        let [result] = result;
        result
    }

    const CASE: &str = "m19.cookie.max-age-is-lifetime";

    #[test]
    fn a_failing_case_fails_with_the_cli_report_and_the_next_command() {
        let mut faulty = Faulty::new(Model::new(), Fault::MaxAgePlusOne);
        let Err(e) = judge(&result_of(&mut faulty, CASE, None)) else {
            panic!("the fault is caught");
        };
        let message = e.message().expect("a failure says why");
        assert!(message.contains(&format!("FAIL case {CASE}")), "{message}");
        assert!(message.contains("max_age: expected"), "{message}");
        assert!(
            message.contains(&format!("explain {CASE} --backend model")),
            "{message}"
        );
    }

    #[test]
    fn known_failures_are_ignored_when_they_fail_and_fail_when_they_pass() {
        let mut faulty = Faulty::new(Model::new(), Fault::MaxAgePlusOne);
        let r = result_of(&mut faulty, CASE, Some("off by one"));
        assert!(matches!(
            judge(&r),
            Ok(Completion::Ignored { reason: Some(ref why) }) if why.contains("off by one")
        ));
        let r = result_of(&mut Model::new(), CASE, Some("off by one"));
        let Err(e) = judge(&r) else {
            panic!("a listed case that passes fails the run");
        };
        assert!(e.message().is_some_and(|m| m.contains("XPASS")));
        assert!(matches!(
            judge(&result_of(&mut Model::new(), CASE, None)),
            Ok(Completion::Completed)
        ));
    }
}
