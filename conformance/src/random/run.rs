//! A random run: many random traces ([`crate::random::materialize`]) against a backend,
//! each judged by the runner's one comparison, the divergences grouped and
//! shrunk, and the run reported the same way to a library caller and to
//! the CLI.
//!
//! - A trace **agrees** when every step matched the model. Anything else
//!   does not agree: it **diverged** (a difference), **errored** (the
//!   backend failed), was **skipped** (the backend declined a step) or was
//!   **not run** (the model's run could not be written as a case).
//! - Divergences are grouped by **signature**: the clauses and fields of the
//!   differences (or, for an error, the error's first line with numbers
//!   blanked). Each group is shrunk once, from its first trace, and
//!   reported once with the number of traces that showed it.
//! - Shrinking removes steps, operations, the auth action, a special cookie
//!   pick, and configuration fields, keeping a candidate only when it
//!   diverges with the same signature. An error is never shrunk, and a
//!   candidate that errors ends the shrinking at once: an error usually
//!   does not depend on the trace, and a crashing adapter would otherwise
//!   cost a restart per candidate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{AuthAction, Backend, ConfigPatch, Profile};

use crate::random::generate::{random_skeleton, requirements_touched};
use crate::random::interleave::interleave;
use crate::random::materialize::materialize;
use crate::random::skeleton::{AbstractStep, CookiePick, Rng, Skeleton};
use crate::run::runner::{run_case, CaseResult, Verdict};
use crate::run::stop::{StopRules, Stopped, Stopper};

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
    /// Traces in which every step matched the model.
    pub agreed: usize,
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
    Agrees,
    NotRun,
    Differs(Box<CaseResult>),
}

fn probe(backend: &mut dyn Backend, skeleton: &Skeleton) -> Probe {
    let Ok(case) = materialize(skeleton, "random") else {
        return Probe::NotRun;
    };
    let r = run_case(backend, &case);
    match r.verdict {
        Verdict::Pass => Probe::Agrees,
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

/// A result's signature (see the module docs).
pub fn signature(profile: Profile, result: &CaseResult) -> Vec<String> {
    match &result.verdict {
        Verdict::Pass => Vec::new(),
        Verdict::Fail { differences, .. } => {
            let mut out: Vec<String> = differences
                .iter()
                .map(|d| {
                    let field = d.split(": expected").next().unwrap_or(d);
                    let clause = requirements_touched(profile, std::slice::from_ref(d));
                    format!("{} @ {}", clause.join("+"), blank_numbers(field))
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
) -> (Skeleton, CaseResult) {
    if !matches!(result.verdict, Verdict::Fail { .. }) {
        return (skeleton, result);
    }
    let target = signature(skeleton.profile, &result);
    let mut best = skeleton;
    let mut best_result = result;
    // Ok(Some): a smaller divergence; Ok(None): not this one; Err: stop.
    let attempt =
        |backend: &mut dyn Backend, candidate: &Skeleton| -> Result<Option<CaseResult>, ()> {
            match probe(backend, candidate) {
                Probe::Differs(r) if matches!(r.verdict, Verdict::Errored { .. }) => Err(()),
                Probe::Differs(r) if signature(candidate.profile, &r) == target => Ok(Some(*r)),
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
    'profiles: for profile in profiles {
        run.tally.entry(*profile).or_default();
        for n in 0..options.count {
            if stopper.stopped().is_some() {
                break 'profiles;
            }
            let skeleton = random_skeleton(*profile, &mut rng);
            // Overlapping requests only for a backend that runs them (an
            // adapter says so in its handshake, after its first reset), and
            // from a generator of their own, so that the plain traces of a
            // seed stay what they were.
            let skeleton = if backend.interleaves() {
                interleave(skeleton, &mut Rng::new(seed ^ ((n as u64) << 8) ^ 0x0e))
            } else {
                skeleton
            };
            let probed = probe(backend, &skeleton);
            if crate::lifecycle::interrupted().is_some() {
                continue; // its adapter may have been ended under it
            }
            run.traces += 1;
            progress(run.traces, total);
            let tally = run.tally.entry(*profile).or_default();
            let result = match probed {
                Probe::Agrees => {
                    tally.agreed += 1;
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
    let sig = signature(t.profile, &result);
    if let Some(&g) = index.get(&sig) {
        run.groups[g].count += 1;
        return Ok(());
    }
    let (small, result) = shrink(backend, skeleton, result);
    let id = format!(
        "{}random.seed-{}-trace-{}",
        t.profile.id_prefix(),
        t.seed,
        t.n
    );
    let group = describe(t.profile, &small, result, &id, t.n, t.seed, &sig)?;
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
    profile: Profile,
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
    // An error is the backend's failure, not a clause's: it blames none.
    let touched = if matches!(result.verdict, Verdict::Fail { .. }) {
        requirements_touched(profile, &differences)
    } else {
        Vec::new()
    };
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

/// The text report of a random run, as the CLI prints it.
pub fn text(run: &RandomRun, backend: &str, profiles: &[Profile], seed: u64) -> String {
    let mut out = String::new();
    let names: Vec<&str> = profiles.iter().map(|p| p.name()).collect();
    let _ = writeln!(out, "backend: {backend}");
    let _ = writeln!(
        out,
        "random: {} trace(s) of {} from seed {seed}",
        run.traces,
        names.join(", ")
    );
    for (i, g) in run.groups.iter().enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "[{}/{}] {} trace(s): {}",
            i + 1,
            run.groups.len(),
            g.count,
            g.signature.join("; ")
        );
        let _ = writeln!(out, "{}", crate::report::failure(&g.result));
        if matches!(g.result.verdict, Verdict::Fail { .. }) {
            let _ = writeln!(
                out,
                "       minimal trace: {} step(s)",
                g.case.case.steps.len()
            );
            match &g.saved {
                Some(p) => {
                    let _ = writeln!(
                        out,
                        "       saved: {} (replay it: check --fixtures {})",
                        p.display(),
                        p.parent()
                            .map(|d| d.display().to_string())
                            .unwrap_or_default()
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "       (add --save-failures DIR to keep it as a fixture)"
                    );
                }
            }
        }
    }
    let _ = writeln!(out);
    if let Some(why) = &run.stopped {
        let _ = writeln!(
            out,
            "stopped early: {why}; {} of {} trace(s) not run",
            run.not_reached,
            run.traces + run.not_reached
        );
    }
    for p in run.unchecked_profiles() {
        let _ = writeln!(
            out,
            "nothing was checked: no random trace of {p} ran to a verdict"
        );
    }
    let t = run.total();
    let _ = writeln!(
        out,
        "{} trace(s): {} agreed, {} diverged, {} errored, {} skipped, {} not run; {} distinct divergence(s)",
        run.traces,
        t.agreed,
        t.diverged,
        t.errored,
        t.skipped,
        t.not_run,
        run.groups.len()
    );
    out
}

/// The JSON report of a random run: `random` (the run), `summary` (the
/// tally), `divergences` (one per signature, with `count` and `signature`).
pub fn json(run: &RandomRun, backend: &str, profiles: &[Profile], seed: u64) -> serde_json::Value {
    let names: Vec<&str> = profiles.iter().map(|p| p.name()).collect();
    let divergences: Vec<serde_json::Value> = run
        .groups
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.case.case.id,
                "requirements": d.result.blamed,
                "signature": d.signature,
                "count": d.count,
                "file": d.saved.as_ref().map(|p| p.display().to_string()),
                "verdict": d.result.verdict,
                "steps": d.case.case.steps.len(),
            })
        })
        .collect();
    let unchecked: Vec<&str> = run.unchecked_profiles().iter().map(|p| p.name()).collect();
    serde_json::json!({
        "random": { "traces": run.traces, "seed": seed, "profiles": names, "backend": backend },
        "summary": run.total(),
        "stopped_early": run.stopped.is_some(),
        "stopped": run.stopped.as_ref().map(ToString::to_string),
        "interrupted": run.stopped.as_ref().is_some_and(Stopped::interrupted),
        "not_reached": run.not_reached,
        "unchecked_profiles": unchecked,
        "divergences": divergences,
    })
}
