//! The runner: plays the browser and the clock, drives a [`Backend`] through
//! a case, and judges each step with the one comparison.

use std::collections::BTreeMap;

use moin_session_spec::fixture::{
    Action, CookieSource, Crowd as CrowdStep, FinishExpect, LoadedCase, OpenExpect, RequestExpect,
    RequestSpec, Step,
};
use moin_session_spec::{
    Backend, BackendError, CleanupRequest, Config, Profile, Request, Response,
};
use time::OffsetDateTime;

use crate::run::attribution::attribute;
use crate::run::compare::{compare_request, compare_sid_set, Bindings, Difference, Field};
use crate::run::crowd::Crowd;
use crate::run::jar::{Jar, Received};
pub use crate::run::verdict::{CaseResult, Observed, StepTrace, Verdict};

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
    let mut patches = vec![case.config.clone()];
    let mut now = case.start;
    let mut jar = Jar::new();
    let mut open = BTreeMap::new();
    let mut crowd = Crowd::new();
    let bindings = &mut result.bindings;
    for (i, step) in case.steps.iter().enumerate() {
        let number = i + 1;
        let mut world = World {
            now: &mut now,
            jar: &mut jar,
            bindings,
            patches: &mut patches,
            open: &mut open,
            crowd: &mut crowd,
        };
        let outcome = run_step(backend, step, &mut world, case.profile);
        match outcome {
            Ok((observed, differences)) => {
                let failed = !differences.is_empty();
                if failed {
                    let clauses = attribute(case.profile, &differences, &step.covers, &case.covers);
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

type StepOutcome = Result<(Observed, Vec<Difference>), BackendError>;

/// What the runner keeps between the steps of a case: the clock, the
/// browser, the symbols, the configuration and the open requests.
struct World<'a> {
    now: &'a mut OffsetDateTime,
    jar: &'a mut Jar,
    bindings: &'a mut Bindings,
    patches: &'a mut Vec<moin_session_spec::ConfigPatch>,
    /// Open requests by handle: the request as sent at the open.
    open: &'a mut BTreeMap<String, Request>,
    /// The crowd of further browsers.
    crowd: &'a mut Crowd,
}

/// The `Cookie` header a request sends: the jar's, none, or the fixture's
/// with its symbols replaced. Every sid in it counts as seen.
fn cookie_header(spec: &RequestSpec, w: &mut World<'_>) -> Option<String> {
    let header = match &spec.cookies {
        CookieSource::Jar => w.jar.header_for(&spec.path, spec.https, *w.now),
        CookieSource::None => None,
        CookieSource::Header(h) => Some(w.bindings.substitute(h)),
    };
    if let Some(h) = &header {
        for pair in h.split(';') {
            if let Some((_, v)) = pair.split_once('=') {
                if !v.trim().is_empty() {
                    w.bindings.see(v.trim());
                }
            }
        }
    }
    header
}

/// The browser takes a response's `Set-Cookie` fields, for a request
/// sent to `path` over `https`, at `now`.
fn receive(
    jar: &mut Jar,
    set_cookies: &[String],
    path: &str,
    https: bool,
    now: OffsetDateTime,
) -> Vec<Received> {
    set_cookies
        .iter()
        .map(|header| match jar.receive(header, path, https, now) {
            Ok(r) => r,
            // The comparison has already reported it.
            Err(_) => Received::Ignored("unparsable"),
        })
        .collect()
}

fn run_step(
    backend: &mut dyn Backend,
    step: &Step,
    w: &mut World<'_>,
    profile: Profile,
) -> StepOutcome {
    match &step.action {
        Action::Advance(d) => {
            // The loader keeps a corpus clock in range (`fixture.clock`);
            // a case built by hand gets an error, never an overflow.
            *w.now = w
                .now
                .checked_add(*d)
                .ok_or_else(|| BackendError::InvalidInput {
                    message: format!(
                        "the virtual clock cannot advance {} past {} [rule fixture.clock]",
                        moin_session_spec::fixture::format_duration(*d),
                        w.now
                    ),
                })?;
            Ok((Observed::Nothing, Vec::new()))
        }
        Action::Reconfigure(patch) => {
            w.patches.push(patch.clone());
            let config =
                Config::build(profile, w.patches).map_err(|e| BackendError::InvalidInput {
                    message: e.to_string(),
                })?;
            backend.reconfigure(&config)?;
            Ok((Observed::Nothing, Vec::new()))
        }
        Action::Corrupt(sid) => {
            let sid = w
                .bindings
                .resolve(sid)
                .ok_or_else(|| BackendError::InvalidInput {
                    message: format!("{sid} is not bound"),
                })?;
            backend.corrupt(&sid)?;
            Ok((Observed::Nothing, Vec::new()))
        }
        Action::List(expected) => {
            let all = backend.list()?;
            // Crowd sessions are expected besides the listed sids.
            let mut d = Vec::new();
            if let Some(gone) = w.crowd.values().find(|v| !all.iter().any(|s| s == v)) {
                d.push(Difference {
                    what: "sids".to_owned(),
                    field: Field::Sids,
                    expected: format!("every crowd session ({})", w.crowd.len()),
                    observed: format!("{} missing", w.bindings.symbolize(gone)),
                });
            }
            let sids: Vec<String> = all.into_iter().filter(|s| !w.crowd.contains(s)).collect();
            d.extend(compare_sid_set("sids", expected, &sids, w.bindings));
            Ok((Observed::Sids(sids), d))
        }
        Action::Crowd(CrowdStep::Open(n)) => {
            let d = w.crowd.open(backend, *n, *w.now, w.bindings)?;
            Ok((Observed::Nothing, d))
        }
        Action::Crowd(CrowdStep::Check) => {
            let d = w.crowd.check(backend, *w.now)?;
            Ok((Observed::Nothing, d))
        }
        Action::Cleanup(spec, expected) => {
            let outcome = backend.cleanup(&CleanupRequest {
                now: *w.now,
                mode: spec.mode,
                user: spec.user.clone(),
            })?;
            let d = compare_sid_set("removed", &expected.removed, &outcome.removed, w.bindings);
            Ok((Observed::Sids(outcome.removed), d))
        }
        Action::Request(spec, expected) => {
            let cookie_header = cookie_header(spec, w);
            let request = Request {
                now: *w.now,
                https: spec.https,
                path: spec.path.clone(),
                cookie_header,
                auth: spec.auth.clone(),
                ops: spec.ops.clone(),
            };
            let response = backend.request(&request)?;
            let mut differences = compare_request(expected, &response, *w.now, w.bindings);
            let received = receive(w.jar, &response.set_cookies, &spec.path, spec.https, *w.now);
            if response.results.len() != request.ops.iter().filter(|o| o.yields()).count()
                && differences.iter().all(|d| d.what != "results")
            {
                differences.push(Difference {
                    what: "results".to_owned(),
                    field: Field::Results,
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
        Action::Open(spec, expected) => {
            let spec_request = spec.request();
            let cookie_header = cookie_header(&spec_request, w);
            let request = Request {
                now: *w.now,
                https: spec.https,
                path: spec.path.clone(),
                cookie_header,
                auth: spec.auth.clone(),
                ops: spec.ops.clone(),
            };
            let opened = backend.open(&spec.id, &request)?;
            w.open.insert(spec.id.clone(), request.clone());
            let response = Response {
                new: opened.new,
                user: opened.user,
                set_cookies: Vec::new(),
                results: opened.results,
                cache_control: None,
            };
            let differences =
                compare_request(&open_expect(expected), &response, *w.now, w.bindings);
            Ok((
                Observed::Exchange {
                    request: Box::new(request),
                    response: Box::new(response),
                    jar: Vec::new(),
                },
                differences,
            ))
        }
        Action::Ops(spec, expected) => {
            let results = backend.ops(&spec.id, &spec.ops)?;
            let expect = RequestExpect {
                new: false,
                user: None,
                set_cookies: Vec::new(),
                results: expected.clone(),
                uncacheable: None,
            };
            let response = Response {
                new: false,
                user: None,
                set_cookies: Vec::new(),
                results,
                cache_control: None,
            };
            let differences = compare_request(&expect, &response, *w.now, w.bindings);
            Ok((Observed::Results(response.results), differences))
        }
        Action::Finish(id, expected) => {
            let request = w
                .open
                .remove(id)
                .ok_or_else(|| BackendError::InvalidInput {
                    message: format!("request {id:?} is not open"),
                })?;
            let finished = backend.finish(id, *w.now)?;
            let response = Response {
                new: false,
                user: None,
                set_cookies: finished.set_cookies,
                results: Vec::new(),
                cache_control: finished.cache_control,
            };
            let differences =
                compare_request(&finish_expect(expected), &response, *w.now, w.bindings);
            let received = receive(
                w.jar,
                &response.set_cookies,
                &request.path,
                request.https,
                *w.now,
            );
            Ok((
                Observed::Finished {
                    id: id.clone(),
                    set_cookies: response.set_cookies,
                    cache_control: response.cache_control,
                    jar: received,
                },
                differences,
            ))
        }
    }
}

/// An open step's expectation as a request's: no cookie is judged at the
/// open (the response waits for the finish).
fn open_expect(e: &OpenExpect) -> RequestExpect {
    RequestExpect {
        new: e.new,
        user: e.user.clone(),
        set_cookies: Vec::new(),
        results: e.results.clone(),
        uncacheable: None,
    }
}

/// A finish step's expectation as a request's: only the headers are
/// judged (`new`, `user` and results were judged at the open and ops).
fn finish_expect(e: &FinishExpect) -> RequestExpect {
    RequestExpect {
        new: false,
        user: None,
        set_cookies: e.set_cookies.clone(),
        results: Vec::new(),
        uncacheable: e.uncacheable,
    }
}
