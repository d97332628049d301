//! The runner: plays the browser and the clock, drives a [`Backend`] through
//! a case, and judges each step with the one comparison.

use moin_session_spec::fixture::{Action, CookieSource, LoadedCase, Step};
use moin_session_spec::{Backend, BackendError, CleanupRequest, Config, Profile, Request};
use time::OffsetDateTime;

use crate::compare::{compare_request, compare_sid_set, Bindings, Difference};
use crate::jar::{Jar, Received};
pub use crate::verdict::{CaseResult, Observed, StepTrace, Verdict};

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
        bindings: Bindings::new(),
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
    let mut patches = vec![case.config.clone()];
    let mut now = case.start;
    let mut jar = Jar::new();
    let bindings = &mut result.bindings;
    for (i, step) in case.steps.iter().enumerate() {
        let number = i + 1;
        let outcome = run_step(
            backend,
            step,
            &mut now,
            &mut jar,
            bindings,
            &mut patches,
            case.profile,
        );
        match outcome {
            Ok((observed, differences)) => {
                let failed = !differences.is_empty();
                if failed {
                    result.verdict = Verdict::Fail {
                        step: number,
                        differences: differences.iter().map(ToString::to_string).collect(),
                    };
                    if !step.covers.is_empty() {
                        result.blamed = step.covers.clone();
                    }
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
    result
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
                "configuration: expected rejection citing {cited}, observed it accepted"
            )],
        },
        Err(e) if e.to_string().contains(&cited) => Verdict::Pass,
        Err(e) => Verdict::Fail {
            step: 0,
            differences: vec![format!(
                "configuration: expected rejection citing {cited}, observed: {e}"
            )],
        },
    }
}

type StepOutcome = Result<(Observed, Vec<Difference>), BackendError>;

fn run_step(
    backend: &mut dyn Backend,
    step: &Step,
    now: &mut OffsetDateTime,
    jar: &mut Jar,
    bindings: &mut Bindings,
    patches: &mut Vec<moin_session_spec::ConfigPatch>,
    profile: Profile,
) -> StepOutcome {
    match &step.action {
        Action::Advance(d) => {
            *now += *d;
            Ok((Observed::Nothing, Vec::new()))
        }
        Action::Reconfigure(patch) => {
            patches.push(patch.clone());
            let config =
                Config::build(profile, patches).map_err(|e| BackendError::InvalidInput {
                    message: e.to_string(),
                })?;
            backend.reconfigure(&config)?;
            Ok((Observed::Nothing, Vec::new()))
        }
        Action::Corrupt(sid) => {
            let sid = bindings
                .resolve(sid)
                .ok_or_else(|| BackendError::InvalidInput {
                    message: format!("{sid} is not bound"),
                })?;
            backend.corrupt(&sid)?;
            Ok((Observed::Nothing, Vec::new()))
        }
        Action::List(expected) => {
            let sids = backend.list()?;
            let d = compare_sid_set("sids", expected, &sids, bindings);
            Ok((Observed::Sids(sids), d))
        }
        Action::Cleanup(spec, expected) => {
            let outcome = backend.cleanup(&CleanupRequest {
                now: *now,
                mode: spec.mode,
                user: spec.user.clone(),
            })?;
            let d = compare_sid_set("removed", &expected.removed, &outcome.removed, bindings);
            Ok((Observed::Sids(outcome.removed), d))
        }
        Action::Request(spec, expected) => {
            let cookie_header = match &spec.cookies {
                CookieSource::Jar => jar.header_for(&spec.path, spec.https, *now),
                CookieSource::None => None,
                CookieSource::Header(h) => Some(bindings.substitute(h)),
            };
            if let Some(h) = &cookie_header {
                for pair in h.split(';') {
                    if let Some((_, v)) = pair.split_once('=') {
                        if !v.trim().is_empty() {
                            bindings.see(v.trim());
                        }
                    }
                }
            }
            let request = Request {
                now: *now,
                https: spec.https,
                path: spec.path.clone(),
                cookie_header,
                auth: spec.auth.clone(),
                ops: spec.ops.clone(),
            };
            let response = backend.request(&request)?;
            let mut differences = compare_request(expected, &response, *now, bindings);
            let mut received = Vec::new();
            for header in &response.set_cookies {
                match jar.receive(header, &spec.path, spec.https, *now) {
                    Ok(r) => received.push(r),
                    // compare_request has already reported it.
                    Err(_) => received.push(Received::Ignored("unparsable")),
                }
            }
            if response.results.len() != request.ops.iter().filter(|o| o.yields()).count()
                && differences.iter().all(|d| d.what != "results")
            {
                differences.push(Difference {
                    what: "results".to_owned(),
                    expected: "one result per get and macro op".to_owned(),
                    observed: format!("{} result(s)", response.results.len()),
                });
            }
            Ok((
                Observed::Exchange {
                    request: Box::new(request),
                    response: Box::new(response),
                    jar: received,
                },
                differences,
            ))
        }
    }
}
