//! The runner: plays the browser and the clock, drives a [`Backend`] through
//! a case step by step (`crate::run::world`), and judges each step with
//! the one comparison and attribution.
//!
//! A step whose differences are all attributed to clauses the backend
//! declared as deviations ([`Deviation`]) does not end the case: it is
//! recorded in [`CaseResult::deviations`] and the next step runs, so that a
//! deviation on one clause never hides a difference on another later in the
//! case. The first step with a difference on any other clause fails the
//! case, as without deviations.

use std::collections::BTreeMap;

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{Backend, BackendError, Config, Profile};

use crate::run::compare::Bindings;
use crate::run::crowd::Crowd;
use crate::run::jar::Jar;
use crate::run::judge::{Judge, Seen};
pub use crate::run::verdict::{CaseResult, DeviatedStep, Deviation, Observed, StepTrace, Verdict};
use crate::run::world::{run_step, World};

/// The reason every interleaved case is skipped on a backend that does not
/// run overlapping requests; reports show it once for all of them.
pub const NOT_INTERLEAVED: &str = "the backend does not run overlapping requests (protocol 2 capability `interleave`); cases with open/ops/finish steps are not run";

/// How the reason of a case skipped for its configuration starts: the
/// backend declared the values it supports, and the case sets another.
pub const UNSUPPORTED_CONFIGURATION: &str =
    "the backend supports only some configuration values (capability `configurations`); this case sets ";

/// Runs one case against a backend, with no deviations declared.
pub fn run_case(backend: &mut dyn Backend, loaded: &LoadedCase) -> CaseResult {
    run_case_with(backend, loaded, &[])
}

/// Runs one case against a backend that declares `deviations` (see the
/// module docs).
pub fn run_case_with(
    backend: &mut dyn Backend,
    loaded: &LoadedCase,
    deviations: &[Deviation],
) -> CaseResult {
    run_case_keeping(backend, loaded, deviations, Keep::Always)
}

/// When a run keeps the trace of its steps ([`CaseResult::steps`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    Always,
    /// Only when the case did not pass (a random trace that agreed is
    /// counted and forgotten).
    UnlessPassed,
}

/// [`run_case_with`], keeping the steps' trace as `keep` says.
pub(crate) fn run_case_keeping(
    backend: &mut dyn Backend,
    loaded: &LoadedCase,
    deviations: &[Deviation],
    keep: Keep,
) -> CaseResult {
    let case = &loaded.case;
    let mut result = CaseResult {
        id: case.id.clone(),
        profile: case.profile,
        covers: case.covers.clone(),
        blamed: case.covers.clone(),
        file: loaded.file.display().to_string(),
        verdict: Verdict::Pass,
        steps: Vec::new(),
        bindings: Bindings::for_profile(case.profile),
        known_failure: None,
        deviations: Vec::new(),
    };
    if let Some(verdict) = before_steps(backend, loaded) {
        result.verdict = verdict;
        return result;
    }
    let ran = run_steps(backend, loaded, deviations, &mut result);
    if keep == Keep::Always || !matches!(result.verdict, Verdict::Pass) {
        // The steps as written join their trace once, at the end.
        result.steps = ran
            .into_iter()
            .map(|r| StepTrace {
                number: r.number,
                now: r.now,
                step: case.steps[r.number - 1].clone(),
                observed: r.observed,
                differences: r.differences,
            })
            .collect();
    }
    result
}

/// A step that ran: its [`StepTrace`] but for the step as written.
struct Ran {
    number: usize,
    now: time::OffsetDateTime,
    observed: Observed,
    differences: Vec<crate::run::difference::Difference>,
}

/// Runs the case's steps, judging each into `result`, until one fails.
fn run_steps(
    backend: &mut dyn Backend,
    loaded: &LoadedCase,
    deviations: &[Deviation],
    result: &mut CaseResult,
) -> Vec<Ran> {
    let case = &loaded.case;
    let mut patches = vec![case.config.clone()];
    let mut now = case.start;
    let mut jar = Jar::new();
    let mut open = BTreeMap::new();
    let mut crowd = Crowd::new();
    let mut judge = Judge::new(deviations);
    let mut ran = Vec::with_capacity(case.steps.len());
    for (i, step) in case.steps.iter().enumerate() {
        let number = i + 1;
        let mut world = World {
            now: &mut now,
            jar: &mut jar,
            bindings: &mut result.bindings,
            patches: &mut patches,
            open: &mut open,
            crowd: &mut crowd,
        };
        match run_step(backend, step, &mut world, case.profile) {
            Ok((observed, differences)) => {
                // What the browser holds after the step: a deviation that
                // decides a session taints it too (`judge`), and only a
                // step with differences can deviate.
                let held = match &observed {
                    Observed::Exchange { request, .. } if !differences.is_empty() => {
                        jar.header_for(&request.path, request.https, now)
                    }
                    _ => None,
                };
                let seen = Seen {
                    observed: &observed,
                    held: held.as_deref(),
                };
                let failed = judge.step(result, number, &differences, seen, loaded);
                ran.push(Ran {
                    number,
                    now,
                    observed,
                    differences,
                });
                if failed {
                    break;
                }
            }
            Err(e) if judge.absorbs(result, number, &e) => {
                ran.push(Ran {
                    number,
                    now,
                    observed: Observed::Nothing,
                    differences: Vec::new(),
                });
            }
            Err(e) => {
                result.verdict = error_verdict(number, e);
                if !step.covers.is_empty() {
                    result.blamed = step.covers.clone();
                }
                break;
            }
        }
    }
    ran
}

/// The verdict of a case that runs no step on this backend (a profile it
/// does not implement, a rejected configuration, a reset that fails, an
/// overlap it does not run), or `None` when its steps run.
fn before_steps(backend: &mut dyn Backend, loaded: &LoadedCase) -> Option<Verdict> {
    let case = &loaded.case;
    if !backend.info().profiles.contains(&case.profile) {
        return Some(Verdict::Skipped {
            reason: format!("the backend does not implement profile {}", case.profile),
        });
    }
    if let Some(rule) = &case.rejects {
        return Some(if backend.loads_configuration() {
            judge_rejection(case.profile, &case.config, rule)
        } else {
            Verdict::Skipped {
                reason: "a rejected configuration never reaches this backend (the protocol carries only validated ones)".to_owned(),
            }
        });
    }
    let Some(config) = &loaded.config else {
        return Some(Verdict::Errored {
            step: 0,
            message: "the case has no valid configuration".to_owned(),
        });
    };
    if let Err(e) = backend.reset(config) {
        return Some(error_verdict(0, e));
    }
    // After the reset, as what follows: an adapter declares in its handshake.
    if let Some(why) = backend.capabilities().configurations.refuses(config) {
        return Some(Verdict::Skipped {
            reason: format!("{UNSUPPORTED_CONFIGURATION}{why}"),
        });
    }
    // After the reset: an adapter says what it can in its handshake.
    if !backend.interleaves() && case.steps.iter().any(|s| s.action.is_interleaved()) {
        return Some(Verdict::Skipped {
            reason: NOT_INTERLEAVED.to_owned(),
        });
    }
    None
}

fn error_verdict(step: usize, e: BackendError) -> Verdict {
    match e {
        BackendError::Unsupported { what } => Verdict::Skipped {
            reason: format!("step {step}: the backend does not support {what}"),
        },
        other => Verdict::Errored {
            step,
            message: other.to_string(),
        },
    }
}

/// A `rejects` case: the library's validator must refuse the configuration
/// citing the rule. (Every Rust backend is configured through it.)
fn judge_rejection(
    profile: Profile,
    patch: &moin_session_spec::ConfigPatch,
    rule: &str,
) -> Verdict {
    let cited = format!("r[{rule}]");
    match Config::build(profile, std::slice::from_ref(patch)) {
        Ok(_) => Verdict::Fail {
            step: 0,
            differences: vec![format!(
                "configuration: expected rejection citing {cited}, observed it accepted ({rule})"
            )],
            violated: vec![rule.to_owned()],
        },
        Err(e) if e.to_string().contains(&cited) => Verdict::Pass,
        Err(e) => Verdict::Fail {
            step: 0,
            differences: vec![format!(
                "configuration: expected rejection citing {cited}, observed: {e} ({rule})"
            )],
            violated: vec![rule.to_owned()],
        },
    }
}
