//! Model invariants over random request traces, observed through the
//! runner's browser (the cookie jar) only.

use std::collections::BTreeMap;

use moin_session_conformance::run::jar::Jar;
use moin_session_spec::{
    AuthAction, Backend, CleanupMode, CleanupOutcome, CleanupRequest, Config, ConfigPatch,
    LifetimeSetting, Model, Op, Profile, Request, Response,
};
use proptest::prelude::*;
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NAME: &str = "MOIN_SESSION_8080_ROOT";

#[derive(Debug, Clone)]
enum Act {
    Advance(i64),
    Request {
        auth: AuthAction,
        write: bool,
        read: bool,
    },
    /// Sends the most recent sid the server issued, whatever the jar says.
    Replay {
        read: bool,
    },
    Cleanup,
}

/// Who a request authenticates as: mostly no one; now and then alice
/// logs in (with or without `remember_me`), fails to, or logs out.
fn auth() -> impl Strategy<Value = AuthAction> {
    prop_oneof![
        4 => Just(AuthAction::None),
        1 => any::<bool>().prop_map(|remember_me| AuthAction::Login { user: "alice".into(), remember_me }),
        1 => Just(AuthAction::FailedLogin { user: "alice".into() }),
        1 => Just(AuthAction::Logout),
    ]
}

/// How far the clock moves, in seconds: within a minute or two, within
/// two hours, or up to a couple of days.
fn advance() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..120, 1i64..7200, 3000i64..200_000]
}

/// A request: who it authenticates as, whether it writes, whether it reads.
fn request() -> impl Strategy<Value = (AuthAction, bool, bool)> {
    (auth(), any::<bool>(), any::<bool>())
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => advance().prop_map(Act::Advance),
        5 => request().prop_map(|(auth, write, read)| Act::Request { auth, write, read }),
        1 => any::<bool>().prop_map(|read| Act::Replay { read }),
        1 => Just(Act::Cleanup),
    ]
}

fn config() -> impl Strategy<Value = (f64, f64)> {
    let anon = prop_oneof![Just(0.0), Just(0.5), Just(1.0), Just(0.0001)];
    let logged = prop_oneof![Just(12.0), Just(1.0), Just(-1.0), Just(0.0), Just(0.25)];
    (anon, logged)
}

/// What the client can observe about a sid: the expiry its record holds,
/// as far as the responses tell (`None`: stored without one).
#[derive(Default)]
struct Observer {
    record_expires: BTreeMap<String, Option<i64>>,
}

fn issued(resp: &Response) -> Option<(String, i64)> {
    resp.set_cookies.iter().find_map(|h| {
        let c = cookie::Cookie::parse(h.clone()).ok()?;
        let max_age = c.max_age()?.whole_seconds();
        let expires = c.expires_datetime()?.unix_timestamp();
        (c.name() == NAME && max_age > 0).then(|| (c.value().to_owned(), expires))
    })
}

/// The model behind one browser: the virtual clock, the cookie jar, and
/// a count that makes every value written a new one.
struct Client {
    model: Model,
    now: OffsetDateTime,
    jar: Jar,
    counter: u64,
}

impl Client {
    /// The model reset to `profile` with `patch`, the clock at `now`.
    fn new(profile: Profile, patch: ConfigPatch, now: OffsetDateTime) -> Client {
        let config = Config::build(profile, &[patch]).unwrap();
        let mut model = Model::new();
        model.reset(&config).unwrap();
        Client {
            model,
            now,
            jar: Jar::new(),
            counter: 0,
        }
    }

    /// The `Cookie` header the jar sends to `/` now.
    fn header(&self) -> Option<String> {
        self.jar.header_for("/", false, self.now)
    }

    /// A request with `header` as `auth` that reads `k` (when `read`) and
    /// writes it (when `write`) a new value: the value, and the response.
    fn send(
        &mut self,
        header: Option<String>,
        auth: AuthAction,
        write: bool,
        read: bool,
    ) -> (Value, Response) {
        self.counter += 1;
        let value = Value::from(self.counter);
        let mut ops = Vec::new();
        if read {
            ops.push(Op::Get { key: "k".into() });
        }
        if write {
            ops.push(Op::Set {
                key: "k".into(),
                value: value.clone(),
            });
        }
        let request = Request {
            now: self.now,
            https: false,
            path: "/".into(),
            cookie_header: header,
            auth,
            ops,
        };
        (value, self.model.request(&request).unwrap())
    }

    /// A cleanup of expired sessions, now.
    fn cleanup(&mut self) -> CleanupOutcome {
        let request = CleanupRequest {
            now: self.now,
            mode: CleanupMode::Expired,
            user: None,
        };
        self.model.cleanup(&request).unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_traces((anon, logged) in config(), acts in prop::collection::vec(act(), 1..40)) {
        let patch = ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![anon, logged])),
            users: Some(vec!["alice".into()]),
            ..ConfigPatch::default()
        };
        let mut client = Client::new(Profile::Moin19, patch, datetime!(2009-03-01 12:00:30 UTC));
        // Values written while the session was new and anonymous.
        let mut lost: Vec<Value> = Vec::new();
        let mut last_sid: Option<String> = None;
        let mut after_logout = false;
        let mut seen = Observer::default();

        for act in acts {
            let (header, auth, write, read) = match &act {
                Act::Advance(s) => { client.now += Duration::seconds(*s); continue; }
                Act::Cleanup => {
                    let (now, out) = (client.now, client.cleanup());
                    for sid in &out.removed {
                        // Cleanup never removes an unexpired session.
                        if let Some(Some(expires)) = seen.record_expires.get(sid) {
                            prop_assert!(
                                i128::from(*expires) * 1_000_000_000 < now.unix_timestamp_nanos(),
                                "cleanup at {now} removed {sid} whose record expires at {expires}"
                            );
                        }
                        seen.record_expires.remove(sid);
                    }
                    continue;
                }
                Act::Request { auth, write, read } => (client.header(), auth.clone(), *write, *read),
                Act::Replay { read } => match &last_sid {
                    Some(sid) => (Some(format!("{NAME}={sid}")), AuthAction::None, false, *read),
                    None => continue,
                },
            };
            let sent_sid = header.as_deref().and_then(|h| h.strip_prefix(&format!("{NAME}="))).map(str::to_owned);
            let was_logout = matches!(auth, AuthAction::Logout);
            let (value, resp) = client.send(header, auth, write, read);
            let now = client.now;

            // After a logout that ended a login, the next request is new.
            if after_logout && !matches!(act, Act::Replay { .. }) {
                prop_assert!(resp.new, "the request after a logout was not new");
            }
            // A value written in a still-new anonymous session is never read back.
            if read {
                let got = &resp.results[0];
                prop_assert!(!lost.contains(got), "read back {got}, written while new and anonymous");
                // Nothing is read back after server-side expiry.
                if let Some(sid) = &sent_sid {
                    if let Some(Some(expires)) = seen.record_expires.get(sid) {
                        if i128::from(*expires) * 1_000_000_000 < now.unix_timestamp_nanos() {
                            prop_assert_eq!(got, &Value::Null, "read back data of an expired session");
                        }
                    }
                }
            }
            if write && resp.new && resp.user.is_none() {
                lost.push(value);
            }
            after_logout = was_logout && sent_sid.is_some() && resp.user.is_none()
                && resp.set_cookies.iter().any(|h| h.contains("Max-Age=0"));
            if resp.new {
                // The sent sid, if any, was not taken: its record is gone
                // (expired and destroyed) or was never there.
                if let Some(sid) = &sent_sid { seen.record_expires.remove(sid); }
            }
            if let Some((sid, expires)) = issued(&resp) {
                if resp.new {
                    if resp.user.is_some() {
                        seen.record_expires.insert(sid.clone(), None);
                    }
                } else {
                    seen.record_expires.insert(sid.clone(), Some(expires));
                }
                last_sid = Some(sid);
            } else if !resp.new {
                if let Some(sid) = &sent_sid { seen.record_expires.remove(sid); }
            }
            for h in &resp.set_cookies {
                client.jar.receive(h, "/", false, now).unwrap();
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Act16 {
    Advance(i64),
    Request {
        auth: AuthAction,
        write: bool,
        read: bool,
    },
    /// Replays the last logged-in cookie value the server issued.
    ReplayLogin,
    Cleanup,
}

fn act16() -> impl Strategy<Value = Act16> {
    prop_oneof![
        2 => advance().prop_map(Act16::Advance),
        5 => request().prop_map(|(auth, write, read)| Act16::Request { auth, write, read }),
        1 => Just(Act16::ReplayLogin),
        1 => Just(Act16::Cleanup),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// moin-1.6: a write made while no session is established is never read
    /// back (r[m16.chain.plain-dict], r[m16.anon.issue-only]); a logged-in
    /// cookie replayed after its logout never logs in (r[m16.logincookie.revoked]);
    /// cleanup never removes a record within an hour of its cookie's latest
    /// expiry (r[m16.cleanup.grace]).
    #[test]
    fn m16_invariants_hold_on_random_traces(
        logged in prop_oneof![Just(12.0), Just(1.0), Just(0.0), Just(-1.0)],
        anon in prop_oneof![Just(None), Just(Some(1.0)), Just(Some(0.5))],
        with_anon_method: bool,
        acts in prop::collection::vec(act16(), 1..40),
    ) {
        let mut auth = vec!["moin_login".to_owned(), "moin_session".to_owned()];
        if with_anon_method {
            auth.push("moin_anon_session".to_owned());
        }
        let patch = ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Scalar(logged)),
            anonymous_cookie_lifetime: Some(anon),
            auth: Some(auth),
            users: Some(vec!["alice".into()]),
            ..ConfigPatch::default()
        };
        let mut client = Client::new(Profile::Moin16, patch, datetime!(2007-04-20 12:00:30 UTC));
        let mut lost: Vec<Value> = Vec::new();
        let mut last_login: Option<String> = None;
        let mut revoked: Vec<String> = Vec::new();
        // Latest cookie expiry per session name the client knows (anonymous names).
        let mut latest: BTreeMap<String, i64> = BTreeMap::new();
        for act in acts {
            let (header, auth, write, read) = match &act {
                Act16::Advance(s) => { client.now += Duration::seconds(*s); continue; }
                Act16::Cleanup => {
                    let (now, out) = (client.now, client.cleanup());
                    for name in &out.removed {
                        if let Some(expiry) = latest.get(name) {
                            prop_assert!(
                                i128::from(*expiry + 3600) * 1_000_000_000 < now.unix_timestamp_nanos(),
                                "cleanup at {now} removed {name} whose cookie expires at {expiry}"
                            );
                        }
                    }
                    continue;
                }
                Act16::Request { auth, write, read } => (client.header(), auth.clone(), *write, *read),
                Act16::ReplayLogin => match &last_login {
                    Some(v) => (Some(format!("MOIN_SESSION={v}")), AuthAction::None, false, true),
                    None => continue,
                },
            };
            let replayed = header.as_deref().and_then(|h| h.strip_prefix("MOIN_SESSION=")).map(str::to_owned);
            let was_logout = matches!(auth, AuthAction::Logout);
            let (value, resp) = client.send(header, auth, write, read);
            let now = client.now;
            if read {
                prop_assert!(!lost.contains(&resp.results[0]), "read back {}, written without a session", resp.results[0]);
            }
            if write && resp.new {
                lost.push(value);
            }
            if let Some(v) = &replayed {
                if revoked.contains(v) {
                    prop_assert_eq!(&resp.user, &None, "a revoked login cookie logged in");
                }
                if was_logout && v.contains(':') && resp.set_cookies.iter().any(|h| h.contains("Max-Age=0")) {
                    revoked.push(v.clone());
                }
            }
            for h in &resp.set_cookies {
                if let Ok(c) = cookie::Cookie::parse(h.clone()) {
                    let max_age = c.max_age().map(|d| d.whole_seconds()).unwrap_or(0);
                    if max_age > 0 {
                        if c.value().contains(':') {
                            last_login = Some(c.value().to_owned());
                        } else if let Some(e) = c.expires_datetime() {
                            latest.insert(c.value().to_owned(), e.unix_timestamp());
                        }
                    }
                }
                client.jar.receive(h, "/", false, now).unwrap();
            }
        }
    }
}
