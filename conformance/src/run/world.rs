//! One step of a case against a backend, in the world the runner keeps
//! between steps (the clock, the browser, the symbols, the configuration,
//! the open requests and the crowd): what the step sends, what the backend
//! answers, and the differences the one comparison finds.

use std::collections::{BTreeMap, HashSet};

use moin_session_spec::fixture::{
    Action, CleanupExpect, CleanupSpec, CookieSource, Crowd as CrowdStep, FinishExpect, OpenExpect,
    OpenSpec, OpsSpec, RequestExpect, RequestSpec, SidRef, Step,
};
use moin_session_spec::{
    Backend, BackendError, CleanupRequest, Config, ConfigPatch, Profile, Request, Response,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::run::compare::{compare_request, compare_sid_set, Bindings, Difference, Field};
use crate::run::crowd::Crowd;
use crate::run::jar::{Jar, Received};
use crate::run::verdict::Observed;

type StepOutcome = Result<(Observed, Vec<Difference>), BackendError>;

/// What the runner keeps between the steps of a case: the clock, the
/// browser, the symbols, the configuration and the open requests.
pub(crate) struct World<'a> {
    pub(crate) now: &'a mut OffsetDateTime,
    pub(crate) jar: &'a mut Jar,
    pub(crate) bindings: &'a mut Bindings,
    pub(crate) patches: &'a mut Vec<moin_session_spec::ConfigPatch>,
    /// Open requests by handle: the request as sent at the open.
    pub(crate) open: &'a mut BTreeMap<String, Request>,
    /// The crowd of further browsers.
    pub(crate) crowd: &'a mut Crowd,
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

/// Carries out one step and compares what the backend did with what the
/// step expects.
pub(crate) fn run_step(
    backend: &mut dyn Backend,
    step: &Step,
    w: &mut World<'_>,
    profile: Profile,
) -> StepOutcome {
    match &step.action {
        Action::Advance(d) => advance(w, *d),
        Action::Reconfigure(patch) => reconfigure(backend, w, patch, profile),
        Action::Corrupt(sid) => corrupt(backend, w, sid),
        Action::List(expected) => list(backend, w, expected),
        Action::Crowd(CrowdStep::Open(n)) => {
            let d = w.crowd.open(backend, *n, *w.now, w.bindings)?;
            Ok((Observed::Nothing, d))
        }
        Action::Crowd(CrowdStep::Check) => {
            let d = w.crowd.check(backend, *w.now)?;
            Ok((Observed::Nothing, d))
        }
        Action::Cleanup(spec, expected) => cleanup(backend, w, spec, expected),
        Action::Request(spec, expected) => request(backend, w, spec, expected),
        Action::Open(spec, expected) => open(backend, w, spec, expected),
        Action::Ops(spec, expected) => ops(backend, w, spec, expected),
        Action::Finish(id, expected) => finish(backend, w, id, expected),
    }
}

/// `advance`: the virtual clock moves on.
fn advance(w: &mut World<'_>, d: Duration) -> StepOutcome {
    // The loader keeps a corpus clock in range (`fixture.clock`); a case
    // built by hand gets an error, never an overflow.
    *w.now = w
        .now
        .checked_add(d)
        .ok_or_else(|| BackendError::InvalidInput {
            message: format!(
                "the virtual clock cannot advance {} past {} [rule fixture.clock]",
                moin_session_spec::fixture::format_duration(d),
                w.now
            ),
        })?;
    Ok((Observed::Nothing, Vec::new()))
}

/// `reconfigure`: the operator changes the configuration; the store stays.
fn reconfigure(
    backend: &mut dyn Backend,
    w: &mut World<'_>,
    patch: &ConfigPatch,
    profile: Profile,
) -> StepOutcome {
    w.patches.push(patch.clone());
    let config = Config::build(profile, w.patches).map_err(|e| BackendError::InvalidInput {
        message: e.to_string(),
    })?;
    if let Some(why) = backend.capabilities().configurations.refuses(&config) {
        return Err(BackendError::Unsupported {
            what: format!("the configuration {why} (capability `configurations`)"),
        });
    }
    backend.reconfigure(&config)?;
    Ok((Observed::Nothing, Vec::new()))
}

/// `corrupt`: the stored record of a bound sid is garbled.
fn corrupt(backend: &mut dyn Backend, w: &mut World<'_>, sid: &SidRef) -> StepOutcome {
    let sid = w
        .bindings
        .resolve(sid)
        .ok_or_else(|| invalid(format!("{sid} is not bound")))?;
    backend.corrupt(&sid)?;
    Ok((Observed::Nothing, Vec::new()))
}

/// `list`: the stored sids, the crowd's aside (each of them must be there).
fn list(backend: &mut dyn Backend, w: &mut World<'_>, expected: &[SidRef]) -> StepOutcome {
    let all = backend.list()?;
    let mut d = Vec::new();
    // Sets, not scans: a crowd lists two thousand sessions.
    let listed: HashSet<&str> = all.iter().map(String::as_str).collect();
    if let Some(gone) = w.crowd.values().find(|v| !listed.contains(v)) {
        d.push(Difference {
            what: "sids".to_owned(),
            field: Field::Sids,
            expected: format!("every crowd session ({})", w.crowd.len()),
            observed: format!("{} missing", w.bindings.symbolize(gone)),
        });
    }
    let crowd: HashSet<&str> = w.crowd.values().collect();
    let sids: Vec<String> = all
        .iter()
        .filter(|s| !crowd.contains(s.as_str()))
        .cloned()
        .collect();
    d.extend(compare_sid_set("sids", expected, &sids, w.bindings));
    Ok((Observed::Sids(sids), d))
}

/// `cleanup`: the sids it removed.
fn cleanup(
    backend: &mut dyn Backend,
    w: &mut World<'_>,
    spec: &CleanupSpec,
    expected: &CleanupExpect,
) -> StepOutcome {
    let outcome = backend.cleanup(&CleanupRequest {
        now: *w.now,
        mode: spec.mode,
        user: spec.user.clone(),
    })?;
    let d = compare_sid_set("removed", &expected.removed, &outcome.removed, w.bindings);
    Ok((Observed::Sids(outcome.removed), d))
}

/// The request a request or open step sends at the current instant. A
/// `Cookie` header whose derived value would equal the sid it is derived
/// from is refused: the step errors (never a pass) and says why.
fn build_request(spec: &RequestSpec, w: &mut World<'_>) -> Result<Request, BackendError> {
    if let CookieSource::Header(h) = &spec.cookies {
        if let Some(message) = w.bindings.degenerate_derivation(h) {
            return Err(BackendError::InvalidInput { message });
        }
    }
    let cookie_header = cookie_header(spec, w);
    Ok(Request {
        now: *w.now,
        https: spec.https,
        path: spec.path.clone(),
        cookie_header,
        auth: spec.auth.clone(),
        ops: spec.ops.clone(),
    })
}

/// `request`: one whole request cycle; the browser takes its cookies.
fn request(
    backend: &mut dyn Backend,
    w: &mut World<'_>,
    spec: &RequestSpec,
    expected: &RequestExpect,
) -> StepOutcome {
    let request = build_request(spec, w)?;
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

/// `open`: a request that starts and waits for its finish.
fn open(
    backend: &mut dyn Backend,
    w: &mut World<'_>,
    spec: &OpenSpec,
    expected: &OpenExpect,
) -> StepOutcome {
    let request = build_request(&spec.request(), w)?;
    let opened = backend.open(&spec.id, &request)?;
    w.open.insert(spec.id.clone(), request.clone());
    let response = Response {
        new: opened.new,
        user: opened.user,
        set_cookies: Vec::new(),
        results: opened.results,
        cache_control: None,
    };
    let differences = compare_request(&open_expect(expected), &response, *w.now, w.bindings);
    Ok((
        Observed::Exchange {
            request: Box::new(request),
            response: Box::new(response),
            jar: Vec::new(),
        },
        differences,
    ))
}

/// `ops`: more operations of an open request.
fn ops(
    backend: &mut dyn Backend,
    w: &mut World<'_>,
    spec: &OpsSpec,
    expected: &[Value],
) -> StepOutcome {
    let results = backend.ops(&spec.id, &spec.ops)?;
    let expect = RequestExpect {
        new: false,
        user: None,
        set_cookies: Vec::new(),
        results: expected.to_vec(),
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

/// `finish`: an open request ends; the browser takes its cookies.
fn finish(
    backend: &mut dyn Backend,
    w: &mut World<'_>,
    id: &str,
    expected: &FinishExpect,
) -> StepOutcome {
    let request = w
        .open
        .remove(id)
        .ok_or_else(|| invalid(format!("request {id:?} is not open")))?;
    let finished = backend.finish(id, *w.now)?;
    let response = Response {
        new: false,
        user: None,
        set_cookies: finished.set_cookies,
        results: Vec::new(),
        cache_control: finished.cache_control,
    };
    let differences = compare_request(&finish_expect(expected), &response, *w.now, w.bindings);
    let received = receive(
        w.jar,
        &response.set_cookies,
        &request.path,
        request.https,
        *w.now,
    );
    Ok((
        Observed::Finished {
            id: id.to_owned(),
            set_cookies: response.set_cookies,
            cache_control: response.cache_control,
            jar: received,
        },
        differences,
    ))
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

/// A step the runner cannot carry out as the case wrote it.
fn invalid(message: String) -> BackendError {
    BackendError::InvalidInput { message }
}
