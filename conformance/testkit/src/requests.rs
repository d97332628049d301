//! Configurations and requests as the tests write them: a profile with
//! `cookie_lifetime = (1, 12)` (hours: one anonymous, twelve logged in),
//! plain-http requests to `/` at whole seconds, and alice's login.

use moin_session_spec::{
    AuthAction, Config, ConfigPatch, LifetimeSetting, M19Config, Op, Profile, Request,
};
use time::OffsetDateTime;

/// `profile` with `cookie_lifetime = (1, 12)` and these `users` (none:
/// the setting left at its default).
pub fn config(profile: Profile, users: &[&str]) -> Config {
    let users = (!users.is_empty()).then(|| users.iter().map(|u| (*u).to_owned()).collect());
    Config::build(
        profile,
        &[ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
            users,
            ..ConfigPatch::default()
        }],
    )
    .expect("a valid configuration")
}

/// moin-1.9 with `cookie_lifetime = (1, 12)`.
pub fn m19_config() -> M19Config {
    config(Profile::Moin19, &[])
        .as_m19()
        .expect("moin-1.9")
        .clone()
}

/// The instant `secs` seconds after the Unix epoch.
pub fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("a valid instant")
}

/// A plain-http request to `/` at `now`, with this `Cookie` header, this
/// authentication and these ops.
pub fn request(
    now: OffsetDateTime,
    cookie: Option<String>,
    auth: AuthAction,
    ops: Vec<Op>,
) -> Request {
    Request {
        now,
        https: false,
        path: "/".into(),
        cookie_header: cookie,
        auth,
        ops,
    }
}

/// An anonymous request at `now` (seconds) with this `Cookie` header and
/// these ops.
pub fn anonymous(now: i64, cookie: Option<String>, ops: Vec<Op>) -> Request {
    request(at(now), cookie, AuthAction::None, ops)
}

/// alice logs in, without `remember_me`.
pub fn login() -> AuthAction {
    AuthAction::Login {
        user: "alice".into(),
        remember_me: false,
    }
}

/// alice logs in on every `n`-th of a run of requests (the `i`-th), and no
/// one on the others.
pub fn login_every(n: usize, i: usize) -> AuthAction {
    if i % n == 0 {
        login()
    } else {
        AuthAction::None
    }
}
