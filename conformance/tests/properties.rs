//! Model invariants over random request traces, observed through the
//! runner's browser (the cookie jar) only.

use std::collections::BTreeMap;

use moin_session_conformance::jar::Jar;
use moin_session_spec::{
    AuthAction, Backend, CleanupMode, CleanupRequest, Config, ConfigPatch, LifetimeSetting, Model,
    Op, Profile, Request, Response,
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

fn act() -> impl Strategy<Value = Act> {
    let auth = prop_oneof![
        4 => Just(AuthAction::None),
        1 => any::<bool>().prop_map(|remember_me| AuthAction::Login { user: "alice".into(), remember_me }),
        1 => Just(AuthAction::FailedLogin { user: "alice".into() }),
        1 => Just(AuthAction::Logout),
    ];
    prop_oneof![
        2 => prop_oneof![1i64..120, 1i64..7200, 3000i64..200_000].prop_map(Act::Advance),
        5 => (auth, any::<bool>(), any::<bool>()).prop_map(|(auth, write, read)| Act::Request { auth, write, read }),
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_on_random_traces((anon, logged) in config(), acts in prop::collection::vec(act(), 1..40)) {
        let patch = ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![anon, logged])),
            users: Some(vec!["alice".into()]),
            ..ConfigPatch::default()
        };
        let config = Config::build(Profile::Moin19, &[patch]).unwrap();
        let mut model = Model::new();
        model.reset(&config).unwrap();
        let mut now: OffsetDateTime = datetime!(2009-03-01 12:00:30 UTC);
        let mut jar = Jar::new();
        let mut counter = 0u64;
        // Values written while the session was new and anonymous.
        let mut lost: Vec<Value> = Vec::new();
        let mut last_sid: Option<String> = None;
        let mut after_logout = false;
        let mut seen = Observer::default();

        for act in acts {
            let (header, auth, write, read) = match &act {
                Act::Advance(s) => { now += Duration::seconds(*s); continue; }
                Act::Cleanup => {
                    let out = model.cleanup(&CleanupRequest { now, mode: CleanupMode::Expired, user: None }).unwrap();
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
                Act::Request { auth, write, read } => (jar.header_for("/", false, now), auth.clone(), *write, *read),
                Act::Replay { read } => match &last_sid {
                    Some(sid) => (Some(format!("{NAME}={sid}")), AuthAction::None, false, *read),
                    None => continue,
                },
            };
            let sent_sid = header.as_deref().and_then(|h| h.strip_prefix(&format!("{NAME}="))).map(str::to_owned);
            counter += 1;
            let value = Value::from(counter);
            let mut ops = Vec::new();
            if read { ops.push(Op::Get { key: "k".into() }); }
            if write { ops.push(Op::Set { key: "k".into(), value: value.clone() }); }
            let was_logout = matches!(auth, AuthAction::Logout);
            let resp = model.request(&Request { now, https: false, path: "/".into(), cookie_header: header, auth, ops }).unwrap();

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
                jar.receive(h, "/", false, now).unwrap();
            }
        }
    }
}
