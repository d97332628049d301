//! Random moin-1.9 traces for the differential property test
//! ([`crate::differential::proptest_traces`]): configurations, requests
//! (cookies from the jar, made up, tampered or raw; logins, logouts,
//! changes of user; session operations and macros), clock moves, cleanups,
//! listings, reconfigurations and corruptions.

use moin_session_conformance::random::differential::{
    CookiePick, HeaderPick, RequestStep, Trace, TraceStep,
};
use moin_session_spec::{
    AuthAction, CleanupMode, ConfigPatch, LifetimeSetting, MacroEdition, Op, SitePatch,
};
use proptest::prelude::*;
use serde_json::{json, Value};
use time::macros::datetime;

const NAMES: &[&str] = &["alice", "bob", "carol", "dave", "eve"];

fn hours() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![
        0.0, 0.0001, -0.0001, 0.01, 0.5, 1.0, -1.0, 1.13, 4.35, 12.0, -2.0, 100_000.0, -0.5,
    ])
}

fn names_subset() -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(NAMES[..4].to_vec(), 0..=4)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn lifetime() -> impl Strategy<Value = Option<LifetimeSetting>> {
    prop_oneof![
        1 => Just(None),
        4 => (hours(), hours()).prop_map(|(a, b)| Some(LifetimeSetting::Pair(vec![a, b]))),
        1 => hours().prop_map(|h| Some(LifetimeSetting::Scalar(h + 0.9))),
    ]
}

fn patch(full: bool) -> impl Strategy<Value = ConfigPatch> {
    let cookie = (
        prop::option::of(prop::option::of(any::<bool>())),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::option::of(prop::sample::select(vec![
            "/".to_owned(),
            "".to_owned(),
            "/wiki".to_owned(),
        ]))),
        prop::option::of(prop::option::of(prop::sample::select(vec![
            "example.org".to_owned(),
            ".example.org".to_owned(),
        ]))),
        prop::option::of(prop::option::of(prop::sample::select(vec![
            "shared".to_owned(),
            "siteidmagic".to_owned(),
        ]))),
    );
    let accounts = (
        prop::option::of(prop::sample::select(vec![
            vec!["moin".to_owned()],
            vec![],
            vec!["http".to_owned(), "moin".to_owned()],
        ])),
        names_subset(),
        names_subset(),
        names_subset(),
        any::<bool>(),
    );
    let anon_legacy = prop::option::of(hours());
    (lifetime(), anon_legacy, cookie, accounts, any::<bool>()).prop_map(
        move |(lifetime, anon, cookie, accounts, mounted)| {
            let (secure, httponly, path, domain, name) = cookie;
            let (auth, users, disabled, superusers, keep_users) = accounts;
            // Accounts are enabled or disabled, not both.
            let disabled: Vec<String> = disabled
                .into_iter()
                .filter(|d| !users.contains(d))
                .collect();
            ConfigPatch {
                cookie_lifetime: lifetime,
                anonymous_session_lifetime: anon,
                cookie_name: name,
                cookie_path: path,
                cookie_domain: domain,
                cookie_secure: secure,
                cookie_httponly: httponly,
                site: (full && mounted).then(|| SitePatch {
                    server_port: Some(80),
                    script_root: Some("/wiki".to_owned()),
                    siteid: Some("farm1".to_owned()),
                }),
                auth,
                users: (full || !keep_users).then_some(users),
                disabled_users: (full || !keep_users).then_some(disabled),
                superusers: (full || !keep_users).then_some(superusers),
                ..ConfigPatch::default()
            }
        },
    )
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!([1, "two", {"three": 3.5}])),
        Just(json!({})),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(vec!["a", "b", "test"]).prop_map(str::to_owned);
    prop_oneof![
        3 => (key.clone(), value()).prop_map(|(key, value)| Op::Set { key, value }),
        3 => key.clone().prop_map(|key| Op::Get { key }),
        1 => key.prop_map(|key| Op::Delete { key }),
        2 => (prop::sample::select(vec![MacroEdition::V19, MacroEdition::V16]), 1u32..=100_000)
            .prop_map(|(edition, random)| Op::Macro { edition, random }),
    ]
}

fn auth() -> impl Strategy<Value = AuthAction> {
    prop_oneof![
        6 => Just(AuthAction::None),
        3 => (name(), any::<bool>()).prop_map(|(user, remember_me)| AuthAction::Login { user, remember_me }),
        1 => name().prop_map(|user| AuthAction::FailedLogin { user }),
        2 => Just(AuthAction::Logout),
        2 => name().prop_map(|to| AuthAction::ChangeUser { to }),
    ]
}

fn made_up_sid() -> impl Strategy<Value = String> {
    "[0-9a-f]{40}"
}

fn header_pick() -> impl Strategy<Value = HeaderPick> {
    prop_oneof![
        4 => any::<usize>().prop_map(HeaderPick::Known),
        1 => any::<usize>().prop_map(HeaderPick::Tampered),
        2 => made_up_sid().prop_map(HeaderPick::MadeUp),
        1 => prop::sample::select(vec![
            String::new(),
            "ABCDEF0123456789ABCDEF0123456789ABCDEF01".to_owned(),
            "abc".to_owned(),
            "../../etc/passwd".to_owned(),
        ])
        .prop_map(HeaderPick::Raw),
    ]
}

fn cookies() -> impl Strategy<Value = CookiePick> {
    prop_oneof![
        8 => Just(CookiePick::Jar),
        1 => Just(CookiePick::None),
        2 => prop::collection::vec(header_pick(), 1..=2).prop_map(CookiePick::Header),
    ]
}

fn request() -> impl Strategy<Value = RequestStep> {
    (
        any::<bool>(),
        prop::sample::select(vec!["/".to_owned(), "/wiki/FrontPage".to_owned()]),
        cookies(),
        auth(),
        prop::collection::vec(op(), 0..=3),
    )
        .prop_map(|(https, path, cookies, auth, ops)| RequestStep {
            https,
            path,
            cookies,
            auth,
            ops,
        })
}

fn advance() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![
            0i64,
            500,
            1_000,
            30_000,
            59_000,
            60_000,
            61_000,
            3_599_000,
            3_600_000,
            3_601_000,
            43_200_000,
            86_400_000,
            400 * 86_400_000,
        ]),
        0i64..7_200_000,
    ]
}

fn step() -> impl Strategy<Value = TraceStep> {
    prop_oneof![
        3 => advance().prop_map(TraceStep::AdvanceMillis),
        8 => request().prop_map(TraceStep::Request),
        1 => (
            prop::sample::select(vec![CleanupMode::Expired, CleanupMode::All]),
            prop::option::of(name()),
        )
            .prop_map(|(mode, user)| TraceStep::Cleanup { mode, user }),
        1 => Just(TraceStep::List),
        1 => patch(false).prop_map(|p| TraceStep::Reconfigure(Box::new(p))),
        1 => any::<usize>().prop_map(TraceStep::Corrupt),
    ]
}

/// A random moin-1.9 trace: a configuration, a start instant and 1 to 23
/// steps of requests, clock moves, cleanups, listings, reconfigurations
/// and corruptions.
pub fn trace() -> impl Strategy<Value = Trace> {
    (
        patch(true),
        prop::sample::select(vec![0i64, 30_500, 59_999]),
        prop::collection::vec(step(), 1..24),
    )
        .prop_map(|(config, offset_ms, steps)| Trace {
            config,
            start: datetime!(2009-03-01 12:00:00 UTC) + time::Duration::milliseconds(offset_ms),
            steps,
        })
}
