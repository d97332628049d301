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
//! - Divergences are grouped by **signature**, their cause and not their
//!   values: for each difference of the diverging step not on a declared
//!   deviation, the clause it was attributed to, its field and its kind
//!   (missing, unexpected, differs); for an error, its first line with
//!   numbers, ids and quoted values blanked. The group's minimal case
//!   covers exactly the clauses its result names, so a group, its case and
//!   its saved fixture name the same clauses. Each group is shrunk once,
//!   from its first trace, and reported once with the number of traces
//!   that showed it and a few example values.
//! - The run stops early when its [`StopRules`] say so (failures, a run of
//!   identical errors or of step timeouts) or a signal interrupted it, and
//!   says how many traces it did not reach.
//! - Shrinking removes steps, operations, the auth action, a special cookie
//!   pick, and configuration fields, keeping a candidate only when it
//!   diverges with the same signature. An error is never shrunk, and a
//!   candidate that errors ends the shrinking at once: an error usually
//!   does not depend on the trace, and a crashing adapter would otherwise
//!   cost a restart per candidate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{Backend, Capabilities, Config, ConfigPatch, Profile};

use crate::random::generate::random_skeleton;
use crate::random::interleave::interleave;
use crate::random::materialize::materialize;
use crate::random::offers;
use crate::random::shrink::{probe_case, Probe};
pub use crate::random::shrink::{shrink, signature};
use crate::random::skeleton::{Rng, Skeleton};
use crate::run::runner::{CaseResult, Deviation, Verdict};
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
    /// A few of the values its traces showed (the first difference or
    /// error line of each, up to [`EXAMPLES`] distinct ones).
    pub examples: Vec<String>,
}

/// How many example values a group keeps.
pub const EXAMPLES: usize = 3;

/// The line a result gives as its group's example.
fn example(result: &CaseResult) -> Option<String> {
    match &result.verdict {
        Verdict::Fail { differences, .. } => differences.first().cloned(),
        Verdict::Errored { message, .. } => message.lines().next().map(str::to_owned),
        Verdict::Skipped { reason } => Some(reason.clone()),
        Verdict::Pass => None,
    }
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

/// Runs `options.count` random traces of each profile against `backend`
/// (see the module docs); `progress(done, total)` is called after each
/// trace. The run stops early when `options.stop` says so or a signal
/// interrupted it (the trace in flight then is left out). The only error
/// is one saving a case.
pub fn run_random(
    backend: &mut dyn Backend,
    profiles: &[Profile],
    options: &RandomOptions,
    progress: impl FnMut(usize, usize),
) -> Result<RandomRun, String> {
    let caps = capabilities(backend, profiles);
    if !backend.loads_configuration() {
        // A backend in another process (an adapter) answers while this
        // one waits: a drawing thread beside it would only compete with
        // the two for the cores, so each trace is drawn when its turn comes.
        let mut rng = Rng::new(options.seed);
        let drawn = profiles
            .iter()
            .flat_map(|p| (0..options.count).map(move |n| (*p, n)))
            .map(|(profile, n)| drawn(profile, &mut rng, options.seed, n, &caps));
        return run_drawn(backend, profiles, options, &caps, drawn, progress);
    }
    // In this process, the traces are drawn and written as cases (the
    // model's run) by a thread of their own, a few ahead of the backend:
    // the same traces in the same order, while the backend runs the one
    // before.
    std::thread::scope(|scope| {
        let (ahead, traces) = std::sync::mpsc::sync_channel(AHEAD);
        let caps = &caps;
        scope.spawn(move || {
            let mut rng = Rng::new(options.seed);
            for profile in profiles {
                for n in 0..options.count {
                    // The run stopped early: nothing more is wanted.
                    if ahead
                        .send(drawn(*profile, &mut rng, options.seed, n, caps))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        });
        run_drawn(
            backend,
            profiles,
            options,
            caps,
            traces.into_iter(),
            progress,
        )
    })
}

/// Trace `n` of `profile`, drawn and written as a case.
fn drawn(profile: Profile, rng: &mut Rng, seed: u64, n: usize, caps: &Capabilities) -> Drawn {
    let skeleton = draw(profile, rng, seed, n, caps);
    let case = materialize(&skeleton, "random").ok();
    Drawn { skeleton, case }
}

/// How many traces the drawing thread may be ahead of the backend.
const AHEAD: usize = 16;

/// A trace as drawn, and its case (`None`: the model's run could not be
/// written as one).
struct Drawn {
    skeleton: Skeleton,
    case: Option<LoadedCase>,
}

/// [`run_random`] over the traces `traces` brings, in the order drawn.
fn run_drawn(
    backend: &mut dyn Backend,
    profiles: &[Profile],
    options: &RandomOptions,
    caps: &Capabilities,
    mut traces: impl Iterator<Item = Drawn>,
    mut progress: impl FnMut(usize, usize),
) -> Result<RandomRun, String> {
    let seed = options.seed;
    let mut run = RandomRun::default();
    let total = options.count * profiles.len();
    let mut stopper = Stopper::new(options.stop);
    let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    run.left_out = offers::left_out(caps);
    'profiles: for profile in profiles {
        run.tally.entry(*profile).or_default();
        for n in 0..options.count {
            if stopper.stopped().is_some() {
                break 'profiles;
            }
            let Some(Drawn { skeleton, case }) = traces.next() else {
                break 'profiles; // the drawing thread failed
            };
            let probed = match &case {
                Some(case) => probe_case(backend, case, &options.deviations),
                None => Probe::NotRun,
            };
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
        let group = &mut run.groups[g];
        group.count += 1;
        if let Some(e) = example(&result) {
            if group.examples.len() < EXAMPLES && !group.examples.contains(&e) {
                group.examples.push(e);
            }
        }
        return Ok(());
    }
    let first = example(&result);
    let (small, result) = shrink(backend, skeleton, result, &options.deviations);
    let id = format!(
        "{}random.seed-{}-trace-{}",
        t.profile.id_prefix(),
        t.seed,
        t.n
    );
    let mut group = describe(&small, result, &id, t.n, t.seed, &sig)?;
    group.examples.extend(first);
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
        examples: Vec::new(),
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
