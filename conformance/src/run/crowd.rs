//! Crowds: many more browsers in one case, for the capacity clauses
//! (`m19.store.capacity`, `m16.store.capacity`).
//!
//! `{"crowd": {"open": N}}` opens N more browsers at the current instant,
//! each with its own jar. Browser `k` (numbered on from those already open)
//! sends a request without a cookie, which must issue a session cookie of a
//! value never seen before (`new` true, anonymous); then a request that
//! sends that cookie back and sets the key `crowd` to `k`, which must run
//! as the same session (`new` false, the same value issued again).
//! `{"crowd": "check"}` makes every crowd browser send its cookie and read
//! `crowd`: the session must still be there (`new` false, the value `k`,
//! the same cookie value issued again). A listing expects every crowd
//! session besides the sids it names.
//!
//! This needs anonymous sessions on, with a lifetime longer than the time
//! between opening and checking; the case's author sees to that.

use moin_session_spec::{AuthAction, Backend, BackendError, Op, Request, Response};
use serde_json::Value;
use time::OffsetDateTime;

use crate::run::compare::{Bindings, Difference, Field};
use crate::run::jar::{is_deletion, Jar};

/// The key each crowd browser stores its number under.
pub const CROWD_KEY: &str = "crowd";

/// One crowd browser.
#[derive(Debug, Clone)]
pub struct Member {
    number: u64,
    jar: Jar,
    value: String,
}

/// The crowd of a case.
#[derive(Debug, Clone, Default)]
pub struct Crowd {
    members: Vec<Member>,
}

fn difference(field: Field, what: String, expected: String, observed: String) -> Difference {
    Difference {
        what,
        field,
        expected,
        observed,
    }
}

impl Crowd {
    /// An empty crowd.
    pub fn new() -> Self {
        Crowd::default()
    }

    /// Whether a sid or name belongs to a crowd browser.
    pub fn contains(&self, value: &str) -> bool {
        self.members.iter().any(|m| m.value == value)
    }

    /// The crowd's session values.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.value.as_str())
    }

    /// How many browsers the crowd holds.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the crowd is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Opens `n` more browsers at `now`; the differences of the first
    /// browser that did not get its session.
    ///
    /// The browsers' requests go to the backend in two batches
    /// ([`Backend::request_batch`]): every first request, then every
    /// return, so that a backend whose store has a bulk path makes the
    /// crowd's saves durable together (one transaction, one flush) rather
    /// than one by one. They are judged in the order one browser after
    /// another gives, and the first browser whose first request or return
    /// differs is the one reported, as if the others had not run. When the
    /// backend fails on a first request, no return is sent.
    pub fn open(
        &mut self,
        backend: &mut dyn Backend,
        n: u32,
        now: OffsetDateTime,
        bindings: &mut Bindings,
    ) -> Result<Vec<Difference>, BackendError> {
        let base = self.members.len() as u64;
        let who = |k: usize| format!("crowd[{}]", base + k as u64 + 1);
        let firsts = vec![request(now, None, Vec::new()); n as usize];
        let answers = answered(backend.request_batch(&firsts), firsts.len())?;
        // The browsers that got a session, in order, up to the first that
        // did not: its differences, or its backend's error, end the step.
        let mut arrivals = Vec::new();
        let mut stop = None;
        for (k, first) in answers.into_iter().enumerate() {
            match first.map(|r| arrive(&who(k), &r, now, bindings)) {
                Ok(Ok(arrival)) => arrivals.push(arrival),
                outcome => {
                    stop = Some(outcome.map(|o| o.err().unwrap_or_default()));
                    break;
                }
            }
        }
        if let Some(Err(e)) = stop {
            // The backend failed (an adapter that crashed starts afresh):
            // no return is sent to it. A browser before the failure that
            // already differs is still the one reported.
            return match arrivals.into_iter().find(|a| !a.differences.is_empty()) {
                Some(a) => Ok(a.differences),
                None => Err(e),
            };
        }
        let returns: Vec<Request> = arrivals
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let set = vec![Op::Set {
                    key: CROWD_KEY.to_owned(),
                    value: Value::from(base + k as u64 + 1),
                }];
                request(now, a.jar.header_for("/", false, now), set)
            })
            .collect();
        let seconds = answered(backend.request_batch(&returns), returns.len())?;
        for (k, (mut a, second)) in arrivals.into_iter().zip(seconds).enumerate() {
            let second = second?;
            a.differences
                .extend(judge_return(&who(k), &second, &a.value, None, now));
            if !a.differences.is_empty() {
                return Ok(a.differences);
            }
            for h in &second.set_cookies {
                let _ = a.jar.receive(h, "/", false, now);
            }
            self.members.push(Member {
                number: base + k as u64 + 1,
                jar: a.jar,
                value: a.value,
            });
        }
        stop.unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Every crowd browser reads its number back at `now`, in one batch of
    /// requests; the differences of the first that did not find its
    /// session.
    pub fn check(
        &mut self,
        backend: &mut dyn Backend,
        now: OffsetDateTime,
    ) -> Result<Vec<Difference>, BackendError> {
        let gets: Vec<Request> = self
            .members
            .iter()
            .map(|m| {
                let get = vec![Op::Get {
                    key: CROWD_KEY.to_owned(),
                }];
                request(now, m.jar.header_for("/", false, now), get)
            })
            .collect();
        let answers = answered(backend.request_batch(&gets), gets.len())?;
        for (m, r) in self.members.iter_mut().zip(answers) {
            let r = r?;
            let who = format!("crowd[{}]", m.number);
            let out = judge_return(&who, &r, &m.value, Some(m.number), now);
            if !out.is_empty() {
                return Ok(out);
            }
            for h in &r.set_cookies {
                let _ = m.jar.receive(h, "/", false, now);
            }
        }
        Ok(Vec::new())
    }
}

/// A crowd browser after its first request: its jar, the value it was
/// issued, and what differed so far.
struct Arrival {
    jar: Jar,
    value: String,
    differences: Vec<Difference>,
}

/// Judges a crowd browser's first request: a fresh session cookie, `new`
/// true. `Err`: no cookie was issued, so the browser cannot go on.
fn arrive(
    who: &str,
    first: &Response,
    now: OffsetDateTime,
    bindings: &mut Bindings,
) -> Result<Arrival, Vec<Difference>> {
    let mut out = Vec::new();
    if !first.new {
        out.push(difference(
            Field::New,
            format!("{who} new"),
            "true".into(),
            "false".into(),
        ));
    }
    let Some(value) = issued(&first.set_cookies, now) else {
        out.push(difference(
            Field::Missing,
            format!("{who} set_cookies"),
            "one session cookie issued".into(),
            format!("{:?}", first.set_cookies),
        ));
        return Err(out);
    };
    if bindings.is_seen(&value) {
        out.push(difference(
            Field::Value,
            format!("{who} value"),
            "a fresh session".into(),
            "a value seen before".into(),
        ));
    }
    bindings.see(&value);
    let mut jar = Jar::new();
    for h in &first.set_cookies {
        let _ = jar.receive(h, "/", false, now);
    }
    Ok(Arrival {
        jar,
        value,
        differences: out,
    })
}

/// The answers of a batch of `asked` requests, checked: every request
/// answered (or the batch stopped at an error, which is its last answer);
/// a batch whose end failed is that error.
fn answered(
    mut answers: Vec<Result<Response, BackendError>>,
    asked: usize,
) -> Result<Vec<Result<Response, BackendError>>, BackendError> {
    if answers.len() > asked {
        // The batch could not be ended: its writes may be lost.
        return Err(answers
            .pop()
            .and_then(Result::err)
            .unwrap_or_else(|| BackendError::Failed {
                message: format!("a batch of {asked} requests gave more answers"),
            }));
    }
    if answers.len() < asked && !answers.last().is_some_and(Result::is_err) {
        return Err(BackendError::Failed {
            message: format!(
                "a batch of {asked} requests was answered {} times, without an error",
                answers.len()
            ),
        });
    }
    Ok(answers)
}

fn request(now: OffsetDateTime, cookie_header: Option<String>, ops: Vec<Op>) -> Request {
    Request {
        now,
        https: false,
        path: "/".to_owned(),
        cookie_header,
        auth: AuthAction::None,
        ops,
    }
}

/// The value of the one issued (not deleting) cookie among `headers`.
fn issued(headers: &[String], now: OffsetDateTime) -> Option<String> {
    let cookies: Vec<std::rc::Rc<cookie::Cookie<'static>>> = headers
        .iter()
        .filter_map(|h| crate::run::cookie_date::parse_set_cookie(h).ok())
        .collect();
    match cookies.as_slice() {
        [c] if !is_deletion(c, now) => Some(c.value().to_owned()),
        _ => None,
    }
}

/// A returning crowd browser: same session, not new, anonymous, its number
/// read back when `number` is given.
fn judge_return(
    who: &str,
    r: &moin_session_spec::Response,
    value: &str,
    number: Option<u64>,
    now: OffsetDateTime,
) -> Vec<Difference> {
    let mut out = Vec::new();
    if let Some(n) = number {
        let want = vec![Value::from(n)];
        if r.results != want {
            out.push(difference(
                Field::Results,
                format!("{who} results"),
                format!("[{n}] (its session's data)"),
                format!("{:?}", r.results),
            ));
        }
    }
    if r.new {
        out.push(difference(
            Field::New,
            format!("{who} new"),
            "false".into(),
            "true".into(),
        ));
    }
    if r.user.is_some() {
        out.push(difference(
            Field::User,
            format!("{who} user"),
            "anonymous".into(),
            format!("{:?}", r.user),
        ));
    }
    match issued(&r.set_cookies, now) {
        Some(v) if v == value => {}
        Some(_) => out.push(difference(
            Field::Value,
            format!("{who} value"),
            "its own session again".into(),
            "another value".into(),
        )),
        None => out.push(difference(
            Field::Missing,
            format!("{who} set_cookies"),
            "its session cookie issued again".into(),
            format!("{:?}", r.set_cookies),
        )),
    }
    out
}
