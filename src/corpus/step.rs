//! One step of a case: what it does ([`Action`]) and expects, read from
//! its written form ([`RawStep`]: every action and expectation optional)
//! with the checks that make it one action with the expectations that
//! action allows.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Duration;

use crate::config::ConfigPatch;
use crate::exchange::Op;

use super::expect::double_option;
use super::expect::*;
use super::ids::{format_duration, parse_advance};

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// Requirement IDs this step shows in particular (reported on failure).
    pub covers: Vec<String>,
    /// A note for readers.
    pub note: Option<String>,
}

/// What a step does, with what it expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Moves the virtual clock forward.
    Advance(Duration),
    /// One browser request.
    Request(RequestSpec, RequestExpect),
    /// A cleanup.
    Cleanup(CleanupSpec, CleanupExpect),
    /// Lists stored sessions; the expected sids.
    List(Vec<SidRef>),
    /// Changes the configuration, keeping the store.
    Reconfigure(ConfigPatch),
    /// Makes a stored record unreadable.
    Corrupt(SidRef),
    /// Opens a request that finishes in a later step.
    Open(OpenSpec, OpenExpect),
    /// More application code in an open request; the expected results.
    Ops(OpsSpec, Vec<Value>),
    /// Finishes an open request, named by its handle.
    Finish(String, FinishExpect),
    /// Opens or checks a crowd of further browsers (capacity cases).
    Crowd(Crowd),
}

impl Action {
    /// Whether this step is part of an interleaved request (open, ops,
    /// finish), which only a backend that runs overlapping requests can
    /// carry out.
    pub fn is_interleaved(&self) -> bool {
        matches!(
            self,
            Action::Open(..) | Action::Ops(..) | Action::Finish(..)
        )
    }
}

/// The most browsers one case's crowd may hold (a bound on a case's cost).
pub const MAX_CROWD: u32 = 10_000;

/// A crowd: many further browsers, each with one anonymous session, opened
/// and checked in one step (see `fixtures/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Crowd {
    /// `{"open": N}`: N more browsers each get a session and store their
    /// number under the key `crowd`.
    Open(u32),
    /// `"check"`: every crowd browser reads its number back.
    Check,
}

/// Empty object for `{"list": {}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Every `expect` field of any step kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    new: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    user: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set_cookies: Option<Vec<CookieExpect>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    results: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uncacheable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    removed: Option<Vec<SidRef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sids: Option<Vec<SidRef>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    advance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<RequestSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cleanup: Option<CleanupSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reconfigure: Option<ConfigPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    corrupt: Option<SidRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    open: Option<OpenSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ops: Option<OpsSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finish: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crowd: Option<Crowd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect: Option<RawExpect>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    covers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Self, String> {
        let kinds = [
            raw.advance.is_some(),
            raw.request.is_some(),
            raw.cleanup.is_some(),
            raw.list.is_some(),
            raw.reconfigure.is_some(),
            raw.corrupt.is_some(),
            raw.open.is_some(),
            raw.ops.is_some(),
            raw.finish.is_some(),
            raw.crowd.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err("a step has exactly one of advance, request, cleanup, list, reconfigure, corrupt, open, ops, finish, crowd [rule fixture.step-shape]".to_owned());
        }
        let expect = raw.expect;
        let action = if let Some(text) = raw.advance {
            no_expect(&expect, "advance")?;
            Action::Advance(parse_advance(&text)?)
        } else if let Some(spec) = raw.request {
            request_action(spec, expect)?
        } else if let Some(spec) = raw.cleanup {
            cleanup_action(spec, expect)?
        } else if raw.list.is_some() {
            list_action(expect)?
        } else if let Some(spec) = raw.open {
            open_action(spec, expect)?
        } else if let Some(spec) = raw.ops {
            ops_action(spec, expect)?
        } else if let Some(id) = raw.finish {
            finish_action(id, expect)?
        } else if let Some(patch) = raw.reconfigure {
            no_expect(&expect, "reconfigure")?;
            Action::Reconfigure(patch)
        } else if let Some(crowd) = raw.crowd {
            no_expect(&expect, "crowd")?;
            crowd_action(crowd)?
        } else {
            no_expect(&expect, "corrupt")?;
            Action::Corrupt(raw.corrupt.expect("one kind is present, checked above"))
        };
        Ok(Step {
            action,
            covers: raw.covers,
            note: raw.note,
        })
    }
}

/// A step that takes no `expect` has none.
fn no_expect(expect: &Option<RawExpect>, what: &str) -> Result<(), String> {
    if expect.is_some() {
        Err(format!(
            "a {what} step takes no `expect` [rule fixture.step-shape]"
        ))
    } else {
        Ok(())
    }
}

/// An `expect` holds only the fields its step kind takes.
fn only(e: &RawExpect, allowed: &[&str], what: &str) -> Result<(), String> {
    let present = [
        ("new", e.new.is_some()),
        ("user", e.user.is_some()),
        ("set_cookies", e.set_cookies.is_some()),
        ("results", e.results.is_some()),
        ("uncacheable", e.uncacheable.is_some()),
        ("removed", e.removed.is_some()),
        ("sids", e.sids.is_some()),
    ];
    for (name, here) in present {
        if here && !allowed.contains(&name) {
            return Err(format!(
                "`expect.{name}` does not belong to a {what} step (it takes {}) [rule fixture.step-shape]",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

/// The response expectations a request and a finish share: `uncacheable`
/// only `true`, and every expected cookie well formed.
fn check_response_expect(e: &RawExpect) -> Result<(), String> {
    if e.uncacheable == Some(false) {
        return Err("`expect.uncacheable` may only be true: no clause forbids marking a response uncacheable [rule fixture.step-shape]".to_owned());
    }
    for cookie in e.set_cookies.iter().flatten() {
        check_cookie_expect(cookie)?;
    }
    Ok(())
}

fn request_action(spec: RequestSpec, expect: Option<RawExpect>) -> Result<Action, String> {
    let e = expect.ok_or(
        "a request step needs `expect` with new, user and set_cookies [rule fixture.step-shape]",
    )?;
    only(
        &e,
        &["new", "user", "set_cookies", "results", "uncacheable"],
        "request",
    )?;
    let yields = spec.ops.iter().filter(|op| op.yields()).count();
    let results = e.results.clone().unwrap_or_default();
    if results.len() != yields {
        return Err(format!(
            "`expect.results` has {} value(s) but the request's ops yield {yields} (one per get and macro) [rule fixture.results-count]",
            results.len()
        ));
    }
    check_response_expect(&e)?;
    check_ops(&spec.ops)?;
    Ok(Action::Request(
        spec,
        RequestExpect {
            new: e.new.ok_or("a request step's expect needs `new` [rule fixture.step-shape]")?,
            user: e.user.ok_or("a request step's expect needs `user` (null for anonymous) [rule fixture.step-shape]")?,
            set_cookies: e.set_cookies.ok_or("a request step's expect needs `set_cookies` ([] for none) [rule fixture.step-shape]")?,
            results,
            uncacheable: e.uncacheable,
        },
    ))
}

fn cleanup_action(spec: CleanupSpec, expect: Option<RawExpect>) -> Result<Action, String> {
    let e = expect.ok_or("a cleanup step needs `expect` with removed [rule fixture.step-shape]")?;
    only(&e, &["removed"], "cleanup")?;
    Ok(Action::Cleanup(
        spec,
        CleanupExpect {
            removed: e
                .removed
                .ok_or("a cleanup step's expect needs `removed` [rule fixture.step-shape]")?,
        },
    ))
}

fn list_action(expect: Option<RawExpect>) -> Result<Action, String> {
    let e = expect.ok_or("a list step needs `expect` with sids [rule fixture.step-shape]")?;
    only(&e, &["sids"], "list")?;
    Ok(Action::List(e.sids.ok_or(
        "a list step's expect needs `sids` [rule fixture.step-shape]",
    )?))
}

fn open_action(spec: OpenSpec, expect: Option<RawExpect>) -> Result<Action, String> {
    let e =
        expect.ok_or("an open step needs `expect` with new and user [rule fixture.step-shape]")?;
    only(&e, &["new", "user", "results"], "open")?;
    let results = e.results.unwrap_or_default();
    check_results(&spec.ops, &results, "open")?;
    check_ops(&spec.ops)?;
    check_handle(&spec.id)?;
    Ok(Action::Open(
        spec,
        OpenExpect {
            new: e
                .new
                .ok_or("an open step's expect needs `new` [rule fixture.step-shape]")?,
            user: e.user.ok_or(
                "an open step's expect needs `user` (null for anonymous) [rule fixture.step-shape]",
            )?,
            results,
        },
    ))
}

fn ops_action(spec: OpsSpec, expect: Option<RawExpect>) -> Result<Action, String> {
    let results = match expect {
        Some(e) => {
            only(&e, &["results"], "ops")?;
            e.results.unwrap_or_default()
        }
        None => Vec::new(),
    };
    check_results(&spec.ops, &results, "ops")?;
    check_ops(&spec.ops)?;
    Ok(Action::Ops(spec, results))
}

fn finish_action(id: String, expect: Option<RawExpect>) -> Result<Action, String> {
    let e =
        expect.ok_or("a finish step needs `expect` with set_cookies [rule fixture.step-shape]")?;
    only(&e, &["set_cookies", "uncacheable"], "finish")?;
    check_response_expect(&e)?;
    Ok(Action::Finish(
        id,
        FinishExpect {
            set_cookies: e.set_cookies.ok_or("a finish step's expect needs `set_cookies` ([] for none) [rule fixture.step-shape]")?,
            uncacheable: e.uncacheable,
        },
    ))
}

fn crowd_action(crowd: Crowd) -> Result<Action, String> {
    if let Crowd::Open(n) = crowd {
        if n == 0 || n > MAX_CROWD {
            return Err(format!(
                "a crowd opens 1 to {MAX_CROWD} browsers, not {n} [rule fixture.crowd-size]"
            ));
        }
    }
    Ok(Action::Crowd(crowd))
}

impl From<Step> for RawStep {
    fn from(step: Step) -> RawStep {
        let mut raw = RawStep {
            covers: step.covers,
            note: step.note,
            ..RawStep::default()
        };
        match step.action {
            Action::Advance(d) => raw.advance = Some(format_duration(d)),
            Action::Request(spec, e) => {
                raw.request = Some(spec);
                raw.expect = Some(RawExpect {
                    new: Some(e.new),
                    user: Some(e.user),
                    set_cookies: Some(e.set_cookies),
                    results: (!e.results.is_empty()).then_some(e.results),
                    uncacheable: e.uncacheable,
                    ..RawExpect::default()
                });
            }
            Action::Cleanup(spec, e) => {
                raw.cleanup = Some(spec);
                raw.expect = Some(RawExpect {
                    removed: Some(e.removed),
                    ..RawExpect::default()
                });
            }
            Action::List(sids) => {
                raw.list = Some(Empty {});
                raw.expect = Some(RawExpect {
                    sids: Some(sids),
                    ..RawExpect::default()
                });
            }
            Action::Reconfigure(p) => raw.reconfigure = Some(p),
            Action::Corrupt(s) => raw.corrupt = Some(s),
            Action::Open(spec, e) => {
                raw.open = Some(spec);
                raw.expect = Some(RawExpect {
                    new: Some(e.new),
                    user: Some(e.user),
                    results: (!e.results.is_empty()).then_some(e.results),
                    ..RawExpect::default()
                });
            }
            Action::Ops(spec, results) => {
                raw.ops = Some(spec);
                raw.expect = (!results.is_empty()).then(|| RawExpect {
                    results: Some(results),
                    ..RawExpect::default()
                });
            }
            Action::Finish(id, e) => {
                raw.finish = Some(id);
                raw.expect = Some(RawExpect {
                    set_cookies: Some(e.set_cookies),
                    uncacheable: e.uncacheable,
                    ..RawExpect::default()
                });
            }
            Action::Crowd(c) => raw.crowd = Some(c),
        }
        raw
    }
}

fn check_cookie_expect(c: &CookieExpect) -> Result<(), String> {
    if c.deleted {
        if c.value.is_some() || c.max_age.is_some() || c.expires.is_some() {
            return Err(format!(
                "expected deletion of cookie {:?} gives no value, max_age or expires (any deletion form is accepted) [rule fixture.step-shape]",
                c.name
            ));
        }
        return Ok(());
    }
    let missing: Vec<&str> = [
        ("value", c.value.is_none()),
        ("max_age", c.max_age.is_none()),
        ("expires", c.expires.is_none()),
        ("secure", c.secure.is_none()),
        ("httponly", c.httponly.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "expected cookie {:?} must give every attribute; missing: {} [rule fixture.cookie-complete]",
            c.name,
            missing.join(", ")
        ));
    }
    Ok(())
}

/// One expected result per op that yields.
fn check_results(ops: &[Op], results: &[Value], what: &str) -> Result<(), String> {
    let yields = ops.iter().filter(|op| op.yields()).count();
    if results.len() != yields {
        return Err(format!(
            "`expect.results` has {} value(s) but the {what} step's ops yield {yields} (one per get and macro) [rule fixture.results-count]",
            results.len()
        ));
    }
    Ok(())
}

/// A request handle: 1 to 16 ASCII letters, digits, `-` or `_`.
fn check_handle(id: &str) -> Result<(), String> {
    let ok = (1..=16).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "request handle {id:?} must be 1 to 16 letters, digits, '-' or '_' [rule fixture.interleave]"
        ))
    }
}

fn check_ops(ops: &[Op]) -> Result<(), String> {
    for op in ops {
        if let Op::Set { key, value } = op {
            if value.is_null() {
                return Err(format!("`set` of {key:?} stores null, which the spec does not allow [rule fixture.value]"));
            }
        }
    }
    Ok(())
}
