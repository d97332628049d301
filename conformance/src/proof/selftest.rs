//! The self-test: every seeded fault ([`crate::proof::faulty`]) against the
//! corpus, then random traces, then a short soak, each stage only for the
//! faults the stages before it missed. A fault nothing catches is a hole in
//! the suite.
//!
//! Each fault runs on the reference service over a memory store, in the
//! profiles it applies to; the faults run side by side, one per core.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use moin_session_spec::fixture::Corpus;
use moin_session_spec::{Backend, MemoryStore, Profile, ReferenceBackend};
use serde::Serialize;

use crate::proof::faulty::{Fault, Faulty, FaultyStore};
use crate::proof::soak::{run_soak, SoakOptions};
use crate::random::run::{run_random, RandomOptions};
use crate::run::stop::StopRules;
use crate::run::verdict::Verdict;

/// How the self-test runs.
#[derive(Debug, Clone)]
pub struct SelfTestOptions {
    /// Random traces per profile, for faults the corpus misses.
    pub random: usize,
    /// The seed of the random traces.
    pub seed: u64,
    /// The soak per profile, for faults corpus and traces miss (zero: none).
    pub soak: Duration,
    /// Only these faults (all when empty).
    pub faults: Vec<Fault>,
    /// Stop at the first corpus case that catches a fault (faster; the
    /// violated clauses are then those of that case only).
    pub first_only: bool,
}

impl Default for SelfTestOptions {
    fn default() -> Self {
        SelfTestOptions {
            random: 100,
            seed: 1,
            soak: Duration::from_secs(3),
            faults: Vec::new(),
            first_only: false,
        }
    }
}

/// The `self-test` command's options, as the command line gives them.
#[derive(Debug, Clone, clap::Args)]
pub struct SelfTestArgs {
    /// The fixture directory (default: the corpus built into the runner).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<std::path::PathBuf>,
    /// Random traces per profile for faults the corpus misses (0: none).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub random: u32,
    /// The seed of the random traces (not with --random 0).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// The soak per profile for faults corpus and traces miss (0s: none).
    #[arg(long, value_name = "DURATION", value_parser = crate::proof::soak::parse_duration_or_zero, default_value = "3s")]
    pub soak: Duration,
    /// Only this fault (repeatable; an unknown name is answered with the
    /// list of faults).
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<Fault>,
}

impl SelfTestArgs {
    /// The options these arguments give (every corpus case is run).
    pub fn options(&self) -> SelfTestOptions {
        SelfTestOptions {
            random: self.random as usize,
            seed: self.seed,
            soak: self.soak,
            faults: self.fault.clone(),
            first_only: false,
        }
    }
}

/// What the self-test found for one fault.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    /// The fault's name (`--fault NAME`).
    pub name: String,
    /// What it does.
    pub description: &'static str,
    /// The rule family it breaks.
    pub family: &'static str,
    /// The profiles it applies to.
    pub profiles: Vec<Profile>,
    /// Whether anything caught it.
    pub caught: bool,
    /// Which stage caught it: `corpus`, `random` or `soak`.
    pub by: Option<&'static str>,
    /// The first catching case (a corpus id, a random trace's id, or
    /// `soak:<profile>`).
    pub case: Option<String>,
    /// How many corpus cases failed.
    pub failed_cases: usize,
    /// The clauses the differences were attributed to, over every failing
    /// case of the stage that caught it.
    pub violated: Vec<String>,
    /// Shutdown errors of the backends the stages ran (judged in every
    /// mode, `r[proto.command.shutdown]`): any fails the self-test.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shutdown: Vec<String>,
    /// For a fault that stores a wrong field ([`Fault::writing_clause`]):
    /// the failing cases that did not blame the writing clause first. Any
    /// fails the self-test: blame must lead to where the mistake is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misblamed: Vec<String>,
}

impl FaultReport {
    /// Whether the fault was caught, blamed where it is (a wrong stored
    /// field on its writing clause first), and every stage's backend shut
    /// down cleanly.
    pub fn ok(&self) -> bool {
        self.caught && self.shutdown.is_empty() && self.misblamed.is_empty()
    }

    /// Ends a stage's backend, keeping its shutdown error.
    fn end(&mut self, stage: &str, backend: &mut dyn Backend) {
        if let Err(e) = backend.end_run() {
            self.shutdown.push(format!("{stage}: {e}"));
        }
    }
}

/// The reference services with `fault`: around the backend, or in its
/// store ([`Fault::at_store`]).
pub fn reference(fault: Fault) -> Box<dyn Backend> {
    if fault.at_store() {
        let store = FaultyStore::new(MemoryStore::new(), fault);
        return Box::new(ReferenceBackend::new("reference-memory", store));
    }
    Box::new(Faulty::new(
        ReferenceBackend::new("reference-memory", MemoryStore::new()),
        fault,
    ))
}

fn add_all(into: &mut Vec<String>, more: &[String]) {
    for c in more {
        if !into.contains(c) {
            into.push(c.clone());
        }
    }
}

/// Runs one fault through the stages.
pub fn check_fault(corpus: &Corpus, fault: Fault, options: &SelfTestOptions) -> FaultReport {
    let profiles = fault.profiles().to_vec();
    let mut report = FaultReport {
        name: fault.to_string(),
        description: fault.description(),
        family: fault.family(),
        profiles: profiles.clone(),
        caught: false,
        by: None,
        case: None,
        failed_cases: 0,
        violated: Vec::new(),
        shutdown: Vec::new(),
        misblamed: Vec::new(),
    };
    let mut backend = reference(fault);
    for loaded in corpus
        .cases
        .iter()
        .filter(|c| profiles.contains(&c.case.profile))
    {
        let r = crate::run::runner::run_case(&mut backend, loaded);
        if matches!(r.verdict, Verdict::Fail { .. } | Verdict::Errored { .. }) {
            report.failed_cases += 1;
            report.case.get_or_insert_with(|| r.id.clone());
            add_all(&mut report.violated, r.verdict.violated());
            let first = r.verdict.violated().first().map(String::as_str);
            if fault.writing_clause().is_some_and(|w| first != Some(w)) {
                report.misblamed.push(r.id.clone());
            }
            if options.first_only {
                break;
            }
        }
    }
    report.end("corpus", &mut backend);
    if report.case.is_some() {
        report.caught = true;
        report.by = Some("corpus");
        return report;
    }
    if options.random > 0 {
        let mut backend = reference(fault);
        let random = RandomOptions {
            count: options.random,
            seed: options.seed,
            save: None,
            stop: StopRules {
                max_failures: Some(1),
                ..StopRules::default()
            },
            deviations: Vec::new(),
        };
        let run = run_random(&mut backend, &profiles, &random, |_, _| {});
        report.end("random", &mut backend);
        if let Ok(run) = run {
            let found: Vec<_> = run
                .groups
                .iter()
                .filter(|d| {
                    matches!(
                        d.result.verdict,
                        Verdict::Fail { .. } | Verdict::Errored { .. }
                    )
                })
                .collect();
            if let Some(d) = found.first() {
                report.caught = true;
                report.by = Some("random");
                report.case = Some(d.case.case.id.clone());
                for d in &found {
                    add_all(&mut report.violated, d.result.verdict.violated());
                }
                return report;
            }
        }
    }
    if !options.soak.is_zero() {
        let mut backend = reference(fault);
        let soak = SoakOptions {
            duration: options.soak,
            sessions: 50,
        };
        let outcomes = run_soak(&mut backend, &profiles, &soak, |_, _| {});
        report.end("soak", &mut backend);
        if let Ok(outcomes) = outcomes {
            for o in outcomes.iter().filter(|o| !o.differences.is_empty()) {
                report.caught = true;
                report.by = Some("soak");
                report
                    .case
                    .get_or_insert_with(|| format!("soak:{}", o.profile));
                add_all(&mut report.violated, &o.violated);
            }
        }
    }
    report
}

/// Runs every selected fault; `progress(done, total, report)` after each,
/// in the catalogue's order. The faults are independent (each has
/// backends of its own), so they run side by side, as many at once as the
/// machine has cores; the reports are those of a run one by one.
pub fn self_test(
    corpus: &Corpus,
    options: &SelfTestOptions,
    mut progress: impl FnMut(usize, usize, &FaultReport),
) -> Vec<FaultReport> {
    let faults: Vec<Fault> = if options.faults.is_empty() {
        Fault::ALL.iter().map(|(_, f)| *f).collect()
    } else {
        options.faults.clone()
    };
    let jobs = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(faults.len());
    let next = AtomicUsize::new(0);
    let (done, reports) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (done, next, faults) = (done.clone(), &next, &faults);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(fault) = faults.get(i) else {
                    break;
                };
                let report = check_fault(corpus, *fault, options);
                if done.send((i, report)).is_err() {
                    break;
                }
            });
        }
        drop(done);
        in_order(faults.len(), reports, &mut progress)
    })
}

/// The `total` reports as they arrive (with their place), put back in
/// order, with `progress` told of each in that order.
fn in_order(
    total: usize,
    reports: mpsc::Receiver<(usize, FaultReport)>,
    progress: &mut impl FnMut(usize, usize, &FaultReport),
) -> Vec<FaultReport> {
    let mut slots: Vec<Option<FaultReport>> = (0..total).map(|_| None).collect();
    let mut out = Vec::with_capacity(total);
    for (i, report) in reports {
        slots[i] = Some(report);
        while let Some(report) = slots.get_mut(out.len()).and_then(Option::take) {
            progress(out.len() + 1, total, &report);
            out.push(report);
        }
    }
    out
}

/// The kill table as text: one line per fault, then the closing line.
pub fn text(reports: &[FaultReport]) -> String {
    let width = reports.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in reports {
        let profiles: Vec<&str> = r.profiles.iter().map(|p| p.name()).collect();
        let status = match (r.caught, r.shutdown.is_empty()) {
            (_, false) => "ERROR",
            (true, true) => "caught",
            (false, true) => "MISSED",
        };
        let mut by = match (&r.by, &r.case) {
            (Some(by), Some(case)) => format!("{by}: {case}"),
            _ => "nothing caught it".to_owned(),
        };
        if !r.misblamed.is_empty() {
            by.push_str(&format!(
                "; MISBLAMED (the writing clause not first) in {}",
                r.misblamed.join(", ")
            ));
        }
        for e in &r.shutdown {
            by.push_str(&format!("; at shutdown: {e}"));
        }
        out.push_str(&format!(
            "{status:<6} {:<width$}  {:<17} {:<9} {by}; violates: {}\n",
            r.name,
            profiles.join(","),
            r.family,
            if r.violated.is_empty() {
                "-".to_owned()
            } else {
                r.violated.join(", ")
            }
        ));
    }
    let caught = reports.iter().filter(|r| r.caught).count();
    let ok = reports.iter().filter(|r| r.ok()).count();
    out.push_str(&format!(
        "\n{ok} passed, {} failed: {caught} of {} seeded faults caught\n",
        reports.len() - ok,
        reports.len()
    ));
    out
}

/// Runs the self-test and renders it (JSON or the text kill table),
/// showing progress on standard error when `tty`; the text and whether
/// every fault was caught.
pub fn run_report(
    corpus: &Corpus,
    options: &SelfTestOptions,
    as_json: bool,
    tty: bool,
) -> (String, bool) {
    let reports = self_test(corpus, options, |done, total, r| {
        if tty {
            eprint!("\r\x1b[K[{done}/{total}] {}", r.name);
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    let out = if as_json {
        json(&reports) + "\n"
    } else {
        text(&reports)
    };
    (out, reports.iter().all(FaultReport::ok))
}

/// The self-test as JSON: `{"faults": [...], "caught": N, "total": N}`.
pub fn json(reports: &[FaultReport]) -> String {
    let caught = reports.iter().filter(|r| r.caught).count();
    serde_json::to_string_pretty(&serde_json::json!({
        "faults": reports,
        "caught": caught,
        "total": reports.len(),
    }))
    .expect("the self-test serialises")
}
