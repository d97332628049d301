//! The runner: plays the browser and the clock, drives a [`Backend`] through
//! a case, and judges each step with the one comparison.

use std::collections::BTreeMap;

use moin_session_spec::fixture::{Case, LoadedCase, Step};
use moin_session_spec::{Backend, BackendError, Config, Profile};

use crate::run::attribution::attribute;
use crate::run::compare::{Bindings, Difference};
use crate::run::crowd::Crowd;
use crate::run::jar::Jar;
pub use crate::run::verdict::{CaseResult, Observed, StepTrace, Verdict};
use crate::run::world::{run_step, World};

/// The reason every interleaved case is skipped on a backend that does not
/// run overlapping requests; reports show it once for all of them.
pub const NOT_INTERLEAVED: &str = "the backend does not run overlapping requests (protocol 2 capability `interleave`); cases with open/ops/finish steps are not run";

/// Runs one case against a backend.
pub fn run_case(backend: &mut dyn Backend, loaded: &LoadedCase) -> CaseResult {
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
    };
    if !backend.info().profiles.contains(&case.profile) {
        result.verdict = Verdict::Skipped {
            reason: format!("the backend does not implement profile {}", case.profile),
        };
        return result;
    }
    if let Some(rule) = &case.rejects {
        result.verdict = if backend.loads_configuration() {
            judge_rejection(case.profile, &case.config, rule)
        } else {
            Verdict::Skipped {
                reason: "a rejected configuration never reaches this backend (the protocol carries only validated ones)".to_owned(),
            }
        };
        return result;
    }
    let Some(config) = &loaded.config else {
        result.verdict = Verdict::Errored {
            step: 0,
            message: "the case has no valid configuration".to_owned(),
        };
        return result;
    };
    if let Err(e) = backend.reset(config) {
        result.verdict = error_verdict(0, e);
        return result;
    }
    // After the reset: an adapter says what it can in its handshake.
    if !backend.interleaves() && case.steps.iter().any(|s| s.action.is_interleaved()) {
        result.verdict = Verdict::Skipped {
            reason: NOT_INTERLEAVED.to_owned(),
        };
        return result;
    }
    run_steps(backend, loaded, &mut result);
    result
}

/// Runs the steps of a case in order until one fails or errors, recording
/// each step's trace and the case's verdict in `result`.
fn run_steps(backend: &mut dyn Backend, loaded: &LoadedCase, result: &mut CaseResult) {
    let case = &loaded.case;
    let mut patches = vec![case.config.clone()];
    let mut now = case.start;
    let mut jar = Jar::new();
    let mut open = BTreeMap::new();
    let mut crowd = Crowd::new();
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
                let failed = !differences.is_empty();
                if failed {
                    fail_step(result, case, step, number, &differences);
                }
                result.steps.push(StepTrace {
                    number,
                    now,
                    step: step.clone(),
                    observed,
                    differences,
                });
                if failed {
                    break;
                }
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
}

/// The verdict of a case whose step `number` found `differences`, each
/// attributed to the clause it violates.
fn fail_step(
    result: &mut CaseResult,
    case: &Case,
    step: &Step,
    number: usize,
    differences: &[Difference],
) {
    let clauses = attribute(case.profile, differences, &step.covers, &case.covers);
    let mut violated: Vec<String> = Vec::new();
    for c in &clauses {
        if !violated.contains(c) {
            violated.push(c.clone());
        }
    }
    result.verdict = Verdict::Fail {
        step: number,
        differences: differences
            .iter()
            .zip(&clauses)
            .map(|(d, c)| format!("{d} ({c})"))
            .collect(),
        violated,
    };
    if !step.covers.is_empty() {
        result.blamed = step.covers.clone();
    }
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
