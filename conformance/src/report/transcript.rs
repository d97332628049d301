//! Transcripts: a case's run written like an HTTP exchange, for people.
//!
//! Real sids are written as the symbols they are bound to (`$s1`), so a
//! transcript reads like its fixture and stays the same from run to run.

use std::fmt::Write as _;

use moin_session_spec::fixture::Action;
use moin_session_spec::{AuthAction, MacroEdition, Op, Request};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::run::compare::Bindings;
use crate::run::jar::Received;
use crate::run::runner::{CaseResult, Observed, StepTrace, Verdict};

fn instant(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn auth_line(auth: &AuthAction) -> Option<String> {
    match auth {
        AuthAction::None => None,
        AuthAction::Login { user, remember_me } => Some(format!(
            "login as {user} (remember_me: {})",
            if *remember_me { "yes" } else { "no" }
        )),
        AuthAction::FailedLogin { user } => {
            Some(format!("failed login as {user} (wrong password)"))
        }
        AuthAction::Logout => Some("logout".to_owned()),
        AuthAction::ChangeUser { to } => Some(format!("change user to {to}")),
        AuthAction::EndOtherSessions => Some("end all other sessions of this user".to_owned()),
    }
}

fn op_line(op: &Op) -> String {
    match op {
        Op::Set { key, value } => format!("session[{key:?}] = {value}"),
        Op::Get { key } => format!("session[{key:?}]"),
        Op::Delete { key } => format!("del session[{key:?}]"),
        Op::Macro { edition, random } => format!(
            "HelpOnSessions {} example macro (random: {random})",
            match edition {
                MacroEdition::V16 => "1.6",
                MacroEdition::V19 => "1.9",
            }
        ),
    }
}

/// What the browser sent and the user did.
fn request_lines(out: &mut String, b: &Bindings, request: &Request) {
    match &request.cookie_header {
        Some(h) => {
            let _ = writeln!(out, "  > Cookie: {}", b.symbolize(h));
        }
        None => {
            let _ = writeln!(out, "  > (no Cookie header)");
        }
    }
    if let Some(line) = auth_line(&request.auth) {
        let _ = writeln!(out, "  > {line}");
    }
}

/// What application code did, with what each yielding op returned.
fn ops_lines(out: &mut String, ops: &[Op], results: &[serde_json::Value]) {
    let mut results = results.iter();
    for op in ops {
        let line = op_line(op);
        if op.yields() {
            let r = results.next().map(|v| match v {
                serde_json::Value::Null => "absent".to_owned(),
                serde_json::Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            });
            let _ = writeln!(
                out,
                "  | {line} → {}",
                r.unwrap_or_else(|| "(no result)".to_owned())
            );
        } else {
            let _ = writeln!(out, "  | {line}");
        }
    }
}

/// The response's headers and what the browser made of each Set-Cookie.
fn headers(
    out: &mut String,
    b: &Bindings,
    set_cookies: &[String],
    cache_control: Option<&str>,
    jar: &[Received],
) {
    if let Some(cc) = cache_control {
        let _ = writeln!(out, "  < Cache-Control: {cc}");
    }
    if set_cookies.is_empty() {
        let _ = writeln!(out, "  < (no Set-Cookie)");
    }
    for (header, r) in set_cookies.iter().zip(jar) {
        let effect = match r {
            Received::Stored => "stored".to_owned(),
            Received::Removed => "removes the cookie".to_owned(),
            Received::Ignored(why) => format!("ignored: {why}"),
        };
        let _ = writeln!(
            out,
            "  < Set-Cookie: {}   [browser: {effect}]",
            b.symbolize(header)
        );
    }
}

/// Renders a case result as a transcript.
pub fn render(result: &CaseResult, title: &str) -> String {
    let b = &result.bindings;
    let mut out = String::new();
    let _ = writeln!(out, "case {}: {title}", result.id);
    let _ = writeln!(
        out,
        "profile {}; covers {}",
        result.profile,
        result.covers.join(", ")
    );
    for trace in &result.steps {
        let _ = writeln!(out);
        step_lines(&mut out, b, trace);
        for d in &trace.differences {
            let _ = writeln!(out, "  ✗ {d}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "verdict: {}", verdict_text(&result.verdict));
    out
}

/// The closing line's verdict.
fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => "pass".to_owned(),
        Verdict::Fail { step, .. } => format!("fail at step {step}"),
        Verdict::Errored { step, message } => format!("errored at step {step}: {message}"),
        Verdict::Skipped { reason } => format!("skipped: {reason}"),
    }
}

/// The lines of one step: what was sent and what came back.
fn step_lines(out: &mut String, b: &Bindings, trace: &StepTrace) {
    let n = trace.number;
    let at = instant(trace.now);
    match (&trace.step.action, &trace.observed) {
        (Action::List(_), Observed::Sids(sids)) => {
            let _ = writeln!(
                out,
                "[{n}] {at} list the store → [{}]",
                shown(b, sids.as_slice())
            );
        }
        (Action::Cleanup(spec, _), Observed::Sids(sids)) => {
            let who = spec
                .user
                .as_deref()
                .map(|u| format!(" of user {u}"))
                .unwrap_or_default();
            let mode = match spec.mode {
                moin_session_spec::CleanupMode::Expired => "expired sessions",
                moin_session_spec::CleanupMode::All => "all sessions",
            };
            let _ = writeln!(
                out,
                "[{n}] {at} cleanup {mode}{who} → removed [{}]",
                shown(b, sids.as_slice())
            );
        }
        (
            Action::Request(..) | Action::Open(..),
            Observed::Exchange {
                request,
                response,
                jar,
            },
        ) => {
            let exchange = Exchange {
                request,
                response,
                jar,
            };
            exchange_lines(out, b, n, &at, &trace.step.action, &exchange);
        }
        (Action::Ops(spec, _), Observed::Results(results)) => {
            let _ = writeln!(
                out,
                "[{n}] {at} request {} runs more application code",
                spec.id
            );
            ops_lines(out, &spec.ops, results);
        }
        (
            Action::Finish(..),
            Observed::Finished {
                id,
                set_cookies,
                cache_control,
                jar,
            },
        ) => {
            let _ = writeln!(out, "[{n}] {at} request {id} finishes");
            headers(out, b, set_cookies, cache_control.as_deref(), jar);
        }
        (action, _) => {
            if let Some(line) = plain_step(action, &at) {
                let _ = writeln!(out, "[{n}] {line}");
            }
        }
    }
}

/// What a request or open step sent and got back.
struct Exchange<'a> {
    request: &'a Request,
    response: &'a moin_session_spec::Response,
    jar: &'a [Received],
}

/// A request's lines, or an open request's (whose response waits for its
/// finish, so it has no headers yet).
fn exchange_lines(
    out: &mut String,
    b: &Bindings,
    n: usize,
    at: &str,
    action: &Action,
    x: &Exchange<'_>,
) {
    let (request, response) = (x.request, x.response);
    let scheme = if request.https { "https" } else { "http" };
    let open = match action {
        Action::Open(spec, _) => Some(spec.id.as_str()),
        _ => None,
    };
    match open {
        Some(id) => {
            let _ = writeln!(
                out,
                "[{n}] {at} open request {id} to {} over {scheme} (its response waits)",
                request.path
            );
        }
        None => {
            let _ = writeln!(out, "[{n}] {at} request {} over {scheme}", request.path);
        }
    }
    request_lines(out, b, request);
    let whose = open.map(|id| format!("{id}: ")).unwrap_or_default();
    let _ = writeln!(
        out,
        "  | {whose}session new: {}; runs as: {}",
        response.new,
        response.user.as_deref().unwrap_or("anonymous")
    );
    ops_lines(out, &request.ops, &response.results);
    if open.is_none() {
        headers(
            out,
            b,
            &response.set_cookies,
            response.cache_control.as_deref(),
            x.jar,
        );
    }
}

/// A step that observes nothing: one line, or none.
fn plain_step(action: &Action, at: &str) -> Option<String> {
    Some(match action {
        Action::Advance(d) => format!(
            "advance {} → {at}",
            moin_session_spec::fixture::format_duration(*d)
        ),
        Action::Reconfigure(patch) => {
            format!(
                "reconfigure {}",
                serde_json::to_string(patch).unwrap_or_default()
            )
        }
        Action::Corrupt(sid) => format!("the stored record of {sid} becomes unreadable"),
        Action::Crowd(moin_session_spec::fixture::Crowd::Open(n)) => {
            format!("{at} crowd: {n} more browsers each get a session and store their number")
        }
        Action::Crowd(moin_session_spec::fixture::Crowd::Check) => {
            format!("{at} crowd: every crowd browser reads its number back")
        }
        _ => return None,
    })
}

/// Sids as symbols, comma-separated.
fn shown(b: &Bindings, sids: &[String]) -> String {
    let v: Vec<String> = sids.iter().map(|s| b.symbolize(s)).collect();
    v.join(", ")
}
