//! The corpus as ordinary Rust tests: one test per case, for any
//! [`Backend`] or any [`Store`] (wrapped in the reference services).
//!
//! Add `moin-session-conformance` as a dev-dependency, declare a test
//! target with `harness = false`, and hand the harness a way to make your
//! backend or your store. For a store, the tests start with the store
//! contract ([`crate::contract`]: tests named `store.…` that call the
//! [`Store`] trait directly and, when one fails, name the call, its
//! arguments, what came back and the clause the contract protects), then
//! the session-level corpus over the reference services:
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
//!         .deviation("m19.cookie.httponly", "we always send HttpOnly")
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
//! | every difference on a declared deviation ([`Harness::deviation`]) | ok |
//! | fail or error | FAILED, with the report the CLI prints (case, file, step, violated clauses, each difference) and the `cargo test` filter that prints its transcript |
//! | skipped (a profile or a call the backend does not offer) | ignored, never ok |
//! | listed known failure that fails | ignored, with the reason |
//! | listed known failure that passes | FAILED: the list is out of date |
//!
//! With [`Harness::random_traces`], one more test runs random traces
//! against the model and fails with every minimal divergence, citing the
//! clause it touches and the seed that reproduces it; it generates only
//! what the backend offers ([`moin_session_spec::Backend::capabilities`]).
//! A known failure that names no case, a deviation that names no clause, or
//! a corpus that does not load, fails the run before any test.
//!
//! After the tests, the run prints one closing block: the broken store
//! contract calls, the violated clauses with their cases (as the CLI leads
//! with) and those of the random traces with their counts, each declared
//! deviation with
//! the number of cases that deviated on it, and what made the run fail
//! although no test did (a profile of which nothing was checked, a declared
//! deviation that was exercised and never found).
//!
//! Each test makes a fresh backend with the function it was given and runs
//! its one case, in libtest's threads (`--test-threads=1` runs them one at
//! a time). `cargo test --test conformance -- CASE-ID --exact` runs one
//! case and, when it fails, prints its transcript step by step (what
//! `moin-session-conformance explain` prints), as does [`Harness::explain`].

mod trials;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Arguments, Trial};
use moin_session_spec::store::Store;
use moin_session_spec::{Backend, Profile, ReferenceBackend, SidChoice};

use crate::contract::{Broken, Checked, ContractCase, Handles};
use crate::run::expectations::{Deviation, Expectations, KnownFailure, Origin};
use crate::run::runner::CaseResult;

/// The seed random traces start from unless [`Harness::seed`] says.
pub const DEFAULT_SEED: u64 = 1;

/// Makes a fresh backend for one test.
type Make = Arc<dyn Fn() -> Box<dyn Backend> + Send + Sync>;

/// Runs one store contract case on a fresh store.
type Contract = Arc<dyn Fn(&ContractCase) -> Checked + Send + Sync>;

/// The corpus as tests for one backend; see the module documentation.
pub struct Harness {
    name: String,
    make: Make,
    profiles: Vec<Profile>,
    declared: Expectations,
    /// `None`: the built-in corpus.
    fixtures: Option<PathBuf>,
    random: usize,
    seed: u64,
    save_failures: Option<PathBuf>,
    /// Problems found while configuring (an unreadable expectations file);
    /// reported by [`Harness::trials`] before any test runs.
    problems: Vec<String>,
    /// Every case result of the run, for the closing block.
    results: Arc<Mutex<Vec<CaseResult>>>,
    /// For a store: its contract cases, run before the corpus.
    contract: Option<Contract>,
    /// The store contract cases that broke, for the closing block.
    broken: Arc<Mutex<Vec<(&'static str, Broken)>>>,
    /// The clauses the random traces' divergences violated, with how many
    /// traces showed each, for the closing block.
    random_violated: Arc<Mutex<BTreeMap<String, usize>>>,
    /// Set by [`Harness::run`]: cargo's arguments that select the test
    /// target (`-p my-store --test conformance`), for hints.
    target: String,
    /// Whether the run selects one case by its exact id (its failure then
    /// carries the transcript).
    explain_failures: bool,
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
            declared: Expectations::default(),
            fixtures: None,
            random: 0,
            seed: DEFAULT_SEED,
            save_failures: None,
            problems: Vec::new(),
            results: Arc::default(),
            contract: None,
            broken: Arc::default(),
            random_violated: Arc::default(),
            target: "--test conformance".to_owned(),
            explain_failures: false,
        }
    }

    /// Tests for a store: first the store contract cases
    /// ([`crate::contract`]), each on a fresh store `make` returns, then
    /// one test per case of the corpus, each running the reference service
    /// of its profile over a fresh store, with sids from the OS. The store
    /// must be `Sync`: the contract's concurrent cases use it from two
    /// threads, as a wiki's threads would.
    pub fn for_store<S: Store + Sync + 'static>(
        name: impl Into<String>,
        make: impl Fn() -> S + Send + Sync + 'static,
    ) -> Self {
        let name = name.into();
        let label = name.clone();
        let make = Arc::new(make);
        let for_cases = Arc::clone(&make);
        let mut harness = Harness::new(name, move || {
            ReferenceBackend::with_sids(label.clone(), for_cases(), SidChoice::Os)
        });
        harness.contract = Some(Arc::new(move |case: &ContractCase| {
            let store = make();
            case.check(Handles {
                a: &store,
                b: &store,
            })
        }));
        harness
    }

    /// Only these profiles (default: every profile the backend implements).
    pub fn profiles(mut self, profiles: &[Profile]) -> Self {
        self.profiles = profiles.to_vec();
        self
    }

    /// Lists a case the backend is known to fail, with the reason. Prefer
    /// [`Harness::deviation`] when the backend departs from one clause on
    /// purpose: a known failure waives a whole case.
    pub fn known_failure(mut self, case: &str, reason: &str) -> Self {
        self.declared.known_failures.push(KnownFailure {
            case: case.to_owned(),
            reason: reason.to_owned(),
            issue: None,
            origin: Origin::Code,
        });
        self
    }

    /// Declares that the backend departs from `clause` (a requirement ID)
    /// on purpose: every difference attributed to it deviates instead of
    /// failing, in the corpus and in random traces, and any other
    /// difference still fails. A declared clause that the run exercised and
    /// never found violated fails the run.
    pub fn deviation(mut self, clause: &str, reason: &str) -> Self {
        self.declared.deviations.push(Deviation {
            clause: clause.to_owned(),
            reason: reason.to_owned(),
            issue: None,
            origin: Origin::Code,
        });
        self
    }

    /// Adds every known failure and deviation of an expectations file (the
    /// CLI's `--expectations` format).
    pub fn expectations(mut self, file: impl Into<PathBuf>) -> Self {
        let file = file.into();
        match Expectations::load(&file) {
            Ok(e) => {
                self.declared.known_failures.extend(e.known_failures);
                self.declared.deviations.extend(e.deviations);
            }
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
    /// After libtest's own summary, prints the closing block (see the
    /// module documentation). The run fails (exit status 1) when a test
    /// failed or a declared deviation was exercised and never found, and
    /// with exit status 3, as the CLI's, when no case of a profile whose
    /// cases ran reached a verdict on the backend (each was skipped, or
    /// judged only the configuration loader): nothing of it was checked.
    pub fn run(mut self) -> ExitCode {
        let args = Arguments::from_args();
        self.target = trials::target_selector();
        self.explain_failures = args.exact && args.filter.is_some();
        let trials = match self.trials() {
            Ok(trials) => trials,
            Err(message) => {
                eprintln!("moin-session conformance harness: {message}");
                return ExitCode::from(2);
            }
        };
        let conclusion = libtest_mimic::run(&args, trials);
        let closing = self.closing();
        if !closing.text.is_empty() {
            eprintln!("{}", closing.text);
        }
        if conclusion.has_failed() {
            conclusion.exit_code()
        } else if closing.unused_deviations > 0 {
            ExitCode::from(1)
        } else if !closing.unchecked.is_empty() {
            ExitCode::from(3)
        } else {
            conclusion.exit_code()
        }
    }

    /// The profiles of which some case ran but none reached a verdict.
    pub fn unchecked(&self) -> Vec<Profile> {
        self.closing().unchecked
    }

    /// The closing block of the cases run so far (see [`Closing`]).
    pub fn closing(&self) -> Closing {
        let results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        let broken = self.broken.lock().unwrap_or_else(|e| e.into_inner());
        let random = self
            .random_violated
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        trials::closing(trials::Ran {
            results: &results,
            broken: &broken,
            random: &random,
            deviations: &self.declared.deviations,
        })
    }

    /// The transcript of case `id` run against a fresh backend: what
    /// `moin-session-conformance explain ID` prints, without the CLI.
    pub fn explain(&self, id: &str) -> Result<String, String> {
        let (corpus, _) = trials::load_corpus(self.fixtures.as_deref())?;
        let case = corpus.get(id).ok_or_else(|| {
            let ids = corpus.cases.iter().map(|c| c.case.id.as_str());
            match moin_session_spec::corpus::nearest(id, ids) {
                Some(near) => format!("no case with id {id:?}; did you mean {near}?"),
                None => format!(
                    "no case with id {id:?}; `moin-session-conformance check --list` lists them"
                ),
            }
        })?;
        let mut backend = (self.make)();
        let result =
            crate::run::runner::run_case_with(backend.as_mut(), case, &self.declared.deviations);
        Ok(crate::report::transcript::render(&result, &case.case.title))
    }

    /// The tests, one per case of the selected profiles (plus the random
    /// traces). Each test makes its own backend and runs its case when
    /// libtest runs it, so the usual filters, `--list` and
    /// `--test-threads` work as for any test.
    pub fn trials(&self) -> Result<Vec<Trial>, String> {
        trials::trials(self)
    }
}

/// What a harness run adds after libtest's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closing {
    /// The block to print (empty when there is nothing to say).
    pub text: String,
    /// Declared deviations that were exercised and never found.
    pub unused_deviations: usize,
    /// Profiles of which some case ran but none reached a verdict.
    pub unchecked: Vec<Profile>,
}
