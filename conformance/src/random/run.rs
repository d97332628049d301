//! A random run: many random traces ([`crate::random::materialize`]) against a backend,
//! each judged by the runner's one comparison, the divergences grouped and
//! shrunk, and the run reported the same way to a library caller and to
//! the CLI.
//!
//! - A trace **agrees** when every step matched the model. Anything else
//!   does not agree: it **diverged** (a difference), **errored** (the
//!   backend failed), was **skipped** (the backend declined a step) or was
//!   **not run** (the model's run could not be written as a case).
//! - A trace whose every difference falls on a declared deviation
//!   ([`RandomOptions::deviations`]) agrees, as a corpus case deviates; it
//!   is counted among the agreeing traces as *deviated*.
//! - Traces are drawn for what the backend offers
//!   ([`crate::random::offers`]): no optional operation it lacks, no
//!   configuration value it does not support.
//! - Divergences are grouped by **signature**: the clause each difference
//!   was attributed to and its field (or, for an error, the error's first
//!   line with numbers blanked). The group's minimal case covers exactly
//!   the clauses its result names, so a group, its case and its saved
//!   fixture name the same clauses. Each group is shrunk once, from its first trace, and
//!   reported once with the number of traces that showed it.
//! - Shrinking removes steps, operations, the auth action, a special cookie
//!   pick, and configuration fields, keeping a candidate only when it
//!   diverges with the same signature. An error is never shrunk, and a
//!   candidate that errors ends the shrinking at once: an error usually
//!   does not depend on the trace, and a crashing adapter would otherwise
//!   cost a restart per candidate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{AuthAction, Backend, Capabilities, Config, ConfigPatch, Profile};

use crate::random::generate::random_skeleton;
use crate::random::interleave::interleave;
use crate::random::materialize::materialize;
use crate::random::offers;
use crate::random::skeleton::{AbstractStep, CookiePick, Rng, Skeleton};
use crate::run::runner::{run_case_with, CaseResult, Deviation, Verdict};
use crate::run::stop::{StopRules, Stopped, Stopper};

pub use crate::report::random::{json, text, text_for, Speaker};

/// How to run random traces.
#[derive(Debug, Clone, Default)]
pub struct RandomOptions {
    /// Traces per profile.
    pub count: usize,
    /// The seed (the same seed gives the same traces).
    pub seed: u64,
    /// Where to save each group's minimal case as a fixture file.
    pub save: Option<PathBuf>,
    /// When to stop early: after `max_failures` traces that diverged or
    /// errored, a run of identical errors or of step timeouts.
    pub stop: StopRules,
    /// The clauses the backend departs from on purpose: a trace whose every
    /// difference is attributed to them agrees.
    pub deviations: Vec<Deviation>,
}

/// One group of traces that diverged the same way, with its minimal case.
#[derive(Debug, Clone)]
pub struct Divergence {
    /// The minimal case (expectations from the model).
    pub case: LoadedCase,
    /// The backend's result on it: id, covers and blamed name the case and
    /// the clauses, as in a corpus run.
    pub result: CaseResult,
    /// Where it was saved, if it was.
    pub saved: Option<PathBuf>,
    /// The group's signature: `clause @ field` for each difference, or
    /// `error: …` / `skipped: …`.
    pub signature: Vec<String>,
    /// How many traces showed it.
    pub count: usize,
}

/// How the traces of one profile went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Traces in which every step matched the model (or differed only on
    /// declared deviations).
    pub agreed: usize,
    /// Of the agreeing traces, those that differed on declared deviations.
    pub deviated: usize,
    /// Traces with a difference.
    pub diverged: usize,
    /// Traces the backend failed to carry out.
    pub errored: usize,
    /// Traces with a step the backend declined.
    pub skipped: usize,
    /// Traces the model's run could not be written as a case for.
    pub not_run: usize,
}

impl Tally {
    /// Traces that were judged (agreed or diverged).
    pub fn checked(&self) -> usize {
        self.agreed + self.diverged
    }

    fn count(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Pass => self.agreed += 1,
            Verdict::Fail { .. } => self.diverged += 1,
            Verdict::Errored { .. } => self.errored += 1,
            Verdict::Skipped { .. } => self.skipped += 1,
        }
    }

    fn add(&mut self, other: &Tally) {
        self.agreed += other.agreed;
        self.deviated += other.deviated;
        self.diverged += other.diverged;
        self.errored += other.errored;
        self.skipped += other.skipped;
        self.not_run += other.not_run;
    }
}

/// What a random run found.
#[derive(Debug, Clone, Default)]
pub struct RandomRun {
    /// Traces drawn.
    pub traces: usize,
    /// Per profile.
    pub tally: BTreeMap<Profile, Tally>,
    /// One entry per signature, in order of first appearance: divergences,
    /// errors and skips.
    pub groups: Vec<Divergence>,
    /// Why the run stopped before its end, if it did (a stop rule, or a
    /// signal: then this is a partial report).
    pub stopped: Option<Stopped>,
    /// Traces not reached because the run stopped early.
    pub not_reached: usize,
    /// Per declared deviation, the traces that differed on it.
    pub deviated: BTreeMap<String, usize>,
    /// What the generator left out because the backend does not offer it,
    /// one sentence each.
    pub left_out: Vec<String>,
}

impl RandomRun {
    /// All profiles' tallies added up.
    pub fn total(&self) -> Tally {
        let mut t = Tally::default();
        for x in self.tally.values() {
            t.add(x);
        }
        t
    }

    /// The profiles none of whose traces was judged.
    pub fn unchecked_profiles(&self) -> Vec<Profile> {
        self.tally
            .iter()
            .filter(|(_, t)| t.checked() == 0)
            .map(|(p, _)| *p)
            .collect()
    }

    /// Whether the run shows the backend agreeing with the model: no trace
    /// diverged, errored or was skipped, and every profile had traces judged.
    pub fn ok(&self) -> bool {
        let t = self.total();
        t.diverged == 0 && t.errored == 0 && t.skipped == 0 && self.unchecked_profiles().is_empty()
    }
}

/// What one trace did.
enum Probe {
    /// Agreed; the declared clauses it differed on.
    Agrees(Vec<String>),
    NotRun,
    Differs(Box<CaseResult>),
}

fn probe(backend: &mut dyn Backend, skeleton: &Skeleton, deviations: &[Deviation]) -> Probe {
    let Ok(case) = materialize(skeleton, "random") else {
        return Probe::NotRun;
    };
    let r = run_case_with(backend, &case, deviations);
    match r.verdict {
        Verdict::Pass => {
            Probe::Agrees(r.deviated_clauses().iter().map(|c| c.to_string()).collect())
        }
        _ => Probe::Differs(Box::new(r)),
    }
}

/// Digits blanked, so that messages differing only in numbers (sequence
/// numbers, steps, pids) group together.
fn blank_numbers(s: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

/// A difference line's clauses: the attribution at its end, `(clause)` or
/// `(writer; read by reader)`; none for one on a declared deviation
/// `(clause, declared deviation)`.
fn line_clauses(line: &str) -> Vec<&str> {
    let Some(inner) = line.strip_suffix(')') else {
        return Vec::new();
    };
    let Some(open) = inner.rfind('(') else {
        return Vec::new();
    };
    let clause = &inner[open + 1..];
    if clause.ends_with(", declared deviation") {
        return Vec::new();
    }
    match clause.split_once("; read by ") {
        Some((writer, reader)) => vec![writer, reader],
        None => vec![clause],
    }
}

/// A result's signature (see the module docs): `clause @ field` for each
/// clause a difference not on a declared deviation names (a writing rule
/// and the rule that read it are two entries).
pub fn signature(result: &CaseResult) -> Vec<String> {
    match &result.verdict {
        Verdict::Pass => Vec::new(),
        Verdict::Fail { differences, .. } => {
            let mut out: Vec<String> = differences
                .iter()
                .flat_map(|d| {
                    let field = blank_numbers(d.split(": expected").next().unwrap_or(d));
                    line_clauses(d)
                        .into_iter()
                        .map(move |clause| format!("{clause} @ {field}"))
                })
                .collect();
            out.sort();
            out.dedup();
            out
        }
        Verdict::Errored { message, .. } => {
            vec![format!(
                "error: {}",
                blank_numbers(message.lines().next().unwrap_or(""))
            )]
        }
        Verdict::Skipped { reason } => vec![format!("skipped: {}", blank_numbers(reason))],
    }
}

/// Removes steps, operations, auth actions, special cookie picks and
/// configuration fields while the backend still diverges from the model
/// with the same signature; returns the smallest skeleton found and its
/// result. An error is returned as it is, and a candidate that errors ends
/// the shrinking.
pub fn shrink(
    backend: &mut dyn Backend,
    skeleton: Skeleton,
    result: CaseResult,
    deviations: &[Deviation],
) -> (Skeleton, CaseResult) {
    if !matches!(result.verdict, Verdict::Fail { .. }) {
        return (skeleton, result);
    }
    let target = signature(&result);
    let mut best = skeleton;
    let mut best_result = result;
    // Ok(Some): a smaller divergence; Ok(None): not this one; Err: stop.
    let attempt =
        |backend: &mut dyn Backend, candidate: &Skeleton| -> Result<Option<CaseResult>, ()> {
            match probe(backend, candidate, deviations) {
                Probe::Differs(r) if matches!(r.verdict, Verdict::Errored { .. }) => Err(()),
                Probe::Differs(r) if signature(&r) == target => Ok(Some(*r)),
                _ => Ok(None),
            }
        };
    loop {
        let mut improved = false;
        let mut candidates: Vec<Skeleton> = Vec::new();
        // Drop whole steps, from the end (later steps rarely matter).
        for i in (0..best.steps.len()).rev() {
            let mut c = best.clone();
            c.steps.remove(i);
            candidates.push(c);
        }
        // Simplify requests: drop ops, then the auth action, then the cookie choice.
        for i in 0..best.steps.len() {
            let AbstractStep::Request {
                ops, auth, cookies, ..
            } = &best.steps[i]
            else {
                continue;
            };
            for j in 0..ops.len() {
                let mut c = best.clone();
                if let AbstractStep::Request { ops, .. } = &mut c.steps[i] {
                    ops.remove(j);
                }
                candidates.push(c);
            }
            if *auth != AuthAction::None {
                let mut c = best.clone();
                if let AbstractStep::Request { auth, .. } = &mut c.steps[i] {
                    *auth = AuthAction::None;
                }
                candidates.push(c);
            }
            if *cookies != CookiePick::Jar {
                let mut c = best.clone();
                if let AbstractStep::Request { cookies, .. } = &mut c.steps[i] {
                    *cookies = CookiePick::Jar;
                }
                candidates.push(c);
            }
        }
        // The configuration: each field back to the profile's default.
        for config in simpler_configs(&best.config) {
            let mut c = best.clone();
            c.config = config;
            candidates.push(c);
        }
        for candidate in candidates {
            match attempt(backend, &candidate) {
                Err(()) => return (best, best_result),
                Ok(Some(r)) => {
                    best = candidate;
                    best_result = r;
                    improved = true;
                    break;
                }
                Ok(None) => {}
            }
        }
        if !improved {
            return (best, best_result);
        }
    }
}

/// The patch with one field left out, for each field it sets.
fn simpler_configs(patch: &ConfigPatch) -> Vec<ConfigPatch> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(patch) else {
        return Vec::new();
    };
    fields
        .keys()
        .filter_map(|k| {
            let mut fewer = fields.clone();
            fewer.remove(k);
            serde_json::from_value::<ConfigPatch>(serde_json::Value::Object(fewer)).ok()
        })
        .filter(|p| p != patch)
        .collect()
}

/// Runs `options.count` random traces of each profile against `backend`
/// (see the module docs); `progress(done, total)` is called after each
/// trace. The run stops early when `options.stop` says so or a signal
/// interrupted it (the trace in flight then is left out). The only error
/// is one saving a case.
pub fn run_random(
    backend: &mut dyn Backend,
    profiles: &[Profile],
    options: &RandomOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<RandomRun, String> {
    let seed = options.seed;
    let mut rng = Rng::new(seed);
    let mut run = RandomRun::default();
    let total = options.count * profiles.len();
    let mut stopper = Stopper::new(options.stop);
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let caps = capabilities(backend, profiles);
    run.left_out = offers::left_out(&caps);
    'profiles: for profile in profiles {
        run.tally.entry(*profile).or_default();
        for n in 0..options.count {
            if stopper.stopped().is_some() {
                break 'profiles;
            }
            let skeleton = draw(*profile, &mut rng, seed, n, &caps);
            let probed = probe(backend, &skeleton, &options.deviations);
            if crate::lifecycle::interrupted().is_some() {
                continue; // its adapter may have been ended under it
            }
            run.traces += 1;
            progress(run.traces, total);
            let tally = run.tally.entry(*profile).or_default();
            let result = match probed {
                Probe::Agrees(deviated) => {
                    tally.agreed += 1;
                    tally.deviated += usize::from(!deviated.is_empty());
                    for clause in deviated {
                        *run.deviated.entry(clause).or_default() += 1;
                    }
                    stopper.record(&Verdict::Pass);
                    continue;
                }
                Probe::NotRun => {
                    tally.not_run += 1;
                    continue;
                }
                Probe::Differs(r) => *r,
            };
            tally.count(&result.verdict);
            stopper.record(&result.verdict);
            let trace = Trace {
                profile: *profile,
                n,
                seed,
            };
            group(
                backend, &mut run, &mut index, trace, skeleton, result, options,
            )?;
        }
    }
    run.not_reached = total - run.traces;
    // A rule met by the last trace stopped nothing.
    run.stopped = stopper
        .stopped()
        .cloned()
        .filter(|s| run.not_reached > 0 || s.interrupted());
    Ok(run)
}

/// What the backend offers, asked after one reset: an adapter declares it
/// in its handshake, which comes with its first reset.
fn capabilities(backend: &mut dyn Backend, profiles: &[Profile]) -> Capabilities {
    if let Some(profile) = profiles.first() {
        if let Ok(config) = Config::build(*profile, &[ConfigPatch::default()]) {
            // A backend that cannot even reset errors on every trace,
            // where the report shows why.
            let _ = backend.reset(&config);
        }
    }
    backend.capabilities()
}

/// The next trace of `profile`: drawn as for a backend that offers
/// everything, overlapping requests woven in when it runs them (from a
/// generator of their own, so that the plain traces of a seed stay what
/// they were), then fitted to what it offers ([`offers::fit`]).
fn draw(profile: Profile, rng: &mut Rng, seed: u64, n: usize, caps: &Capabilities) -> Skeleton {
    let skeleton = random_skeleton(profile, rng);
    let skeleton = if caps.interleave {
        interleave(skeleton, &mut Rng::new(seed ^ ((n as u64) << 8) ^ 0x0e))
    } else {
        skeleton
    };
    offers::fit(skeleton, caps)
}

/// Which trace of a run.
#[derive(Clone, Copy)]
struct Trace {
    profile: Profile,
    n: usize,
    seed: u64,
}

/// Counts a trace that did not agree in its group, or makes a group of it
/// (shrunk, described, saved when asked).
fn group(
    backend: &mut dyn Backend,
    run: &mut RandomRun,
    index: &mut BTreeMap<Vec<String>, usize>,
    t: Trace,
    skeleton: Skeleton,
    result: CaseResult,
    options: &RandomOptions,
) -> Result<(), String> {
    let sig = signature(&result);
    if let Some(&g) = index.get(&sig) {
        run.groups[g].count += 1;
        return Ok(());
    }
    let (small, result) = shrink(backend, skeleton, result, &options.deviations);
    let id = format!(
        "{}random.seed-{}-trace-{}",
        t.profile.id_prefix(),
        t.seed,
        t.n
    );
    let group = describe(&small, result, &id, t.n, t.seed, &sig)?;
    let group = match &options.save {
        Some(dir) if matches!(group.result.verdict, Verdict::Fail { .. }) => save(dir, group)?,
        _ => group,
    };
    index.insert(sig, run.groups.len());
    run.groups.push(group);
    Ok(())
}

/// The group's minimal case with its id, title, clauses and the note at the
/// diverging step; the result carries the same id and clauses.
fn describe(
    small: &Skeleton,
    mut result: CaseResult,
    id: &str,
    n: usize,
    seed: u64,
    sig: &[String],
) -> Result<Divergence, String> {
    let mut case = materialize(small, id).map_err(|e| e.0)?;
    let (step, differences) = match &result.verdict {
        Verdict::Fail {
            step, differences, ..
        } => (*step, differences.clone()),
        Verdict::Errored { step, message } => (*step, vec![message.clone()]),
        _ => (0, Vec::new()),
    };
    // The clauses the differences were attributed to (declared
    // deviations aside); an error is the backend's failure, not a
    // clause's: it blames none.
    let touched = result.verdict.violated().to_vec();
    case.case.covers = touched.clone();
    case.case.title = format!(
        "random trace {n} of seed {seed}, minimised: the backend diverged from the model at step {step}"
    );
    if let Some(s) = case.case.steps.get_mut(step.saturating_sub(1)) {
        s.covers = touched.clone();
        s.note = Some(format!("diverged here: {}", differences.join("; ")));
    }
    result.id = id.to_owned();
    result.covers = touched.clone();
    result.blamed = touched;
    Ok(Divergence {
        case,
        result,
        saved: None,
        signature: sig.to_vec(),
        count: 1,
    })
}

fn save(dir: &Path, mut group: Divergence) -> Result<Divergence, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("--save-failures {}: {e}", dir.display()))?;
    let file = dir.join(format!("{}.json", group.case.case.id));
    let body = serde_json::json!({ "cases": [group.case.case] });
    let text = serde_json::to_string_pretty(&body).expect("a case serialises");
    std::fs::write(&file, text + "\n")
        .map_err(|e| format!("--save-failures {}: {e}", file.display()))?;
    group.result.file = file.display().to_string();
    group.saved = Some(file);
    Ok(group)
}

/// Checks a `--save-failures` directory before a run: it is a directory or
/// can be created as one (its parent exists), so a run never ends in an
/// error that throws its report away.
pub fn check_save_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        return Err(format!(
            "--save-failures {}: exists and is not a directory",
            dir.display()
        ));
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "--save-failures {}: its parent directory {} does not exist (the runner creates only the last directory)",
            dir.display(),
            parent.display()
        ));
    }
    Ok(())
}
