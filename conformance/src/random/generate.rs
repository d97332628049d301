//! Random traces: find bugs no fixture anticipated.
//!
//! A trace is drawn from the model's own input space as a [`Skeleton`]
//! (configuration and abstract steps: "send the last sid back", "tamper with
//! it", …), here. [`materialize`](crate::random::materialize) runs the model over it and writes the result as
//! an ordinary fixture [`Case`] whose expectations are the model's
//! observations, with sids as symbols. The backend under test then runs that
//! case through the runner's one comparison. When it diverges,
//! [`shrink`](crate::random::shrink)
//! removes steps and operations while the divergence persists, and the
//! minimal case is saved as a fixture file that `check --fixtures` replays
//! on its own.
//!
//! The draws reach the corners the curated corpus pins down one at a time:
//! lifetimes of a few seconds and below (`0.001` hours is 3.6 seconds), odd
//! products (`4.35` and `1.13` hours lose a second in binary64), instants
//! between seconds (a start and advances with milliseconds), `Cookie`
//! headers at the hardened byte limit (ASCII or two-byte UTF-8), and
//! deletes of keys that are absent.
//!
//! Unlike the curated corpus, whose expectations are worked out from the
//! spec by hand, these expectations come from the model: a divergence means
//! "the backend and the model disagree", and the saved case is where to
//! start reading the spec.

use std::collections::BTreeSet;

use moin_session_spec::{
    AuthAction, CleanupMode, ConfigPatch, LifetimeSetting, MacroEdition, Op, Profile, SitePatch,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::random::skeleton::{AbstractStep, CookiePick, Rng, Skeleton};

const USERS: &[&str] = &["alice", "bob", "admin"];

fn random_config(profile: Profile, rng: &mut Rng) -> ConfigPatch {
    let users = Some(USERS.iter().map(|u| u.to_string()).collect());
    let disabled_users = Some(vec!["carol".to_owned()]);
    match profile {
        Profile::Moin19 => ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![
                rng.pick(&[0.0, 0.0, 1.0, 0.5, 0.0002, 0.001, 4.35, 1.13]),
                rng.pick(&[12.0, 1.0, -2.0, 0.0, 0.25, 0.001, -1.13, 4.35]),
            ])),
            cookie_secure: rng
                .chance(20)
                .then(|| rng.pick(&[None, Some(true), Some(false)])),
            cookie_httponly: rng.chance(20).then_some(true),
            cookie_path: rng.chance(10).then(|| Some("/wiki".to_owned())),
            cookie_domain: rng.chance(10).then(|| Some("example.org".to_owned())),
            users,
            disabled_users,
            superusers: Some(vec!["admin".to_owned()]),
            ..ConfigPatch::default()
        },
        Profile::Hardened => {
            let prefix = rng.chance(15);
            ConfigPatch {
                cookie_lifetime: Some(LifetimeSetting::Pair(vec![
                    rng.pick(&[0.0, 0.0, 1.0, 0.5, 0.0002, 0.001, 1.13]),
                    rng.pick(&[12.0, 1.0, 0.0, 0.25, 0.001, 4.35]),
                ])),
                absolute_timeout: rng
                    .chance(60)
                    .then(|| rng.pick(&[720.0, 2.0, 0.5, 24.0, 12_000.0, 0.001, 1.13])),
                max_cookie_header: rng.chance(30).then(|| rng.pick(&[4096, 4097, 5000])),
                cookie_secure: if prefix {
                    Some(Some(true))
                } else {
                    rng.chance(20).then(|| rng.pick(&[None, Some(true)]))
                },
                cookie_samesite: rng
                    .chance(20)
                    .then(|| rng.pick(&["Lax", "Strict"]).to_owned()),
                cookie_host_prefix: prefix.then_some(true),
                cookie_path: (!prefix && rng.chance(10)).then(|| Some("/wiki".to_owned())),
                cookie_domain: (!prefix && rng.chance(10)).then(|| Some("example.org".to_owned())),
                users,
                disabled_users,
                superusers: Some(vec!["admin".to_owned()]),
                ..ConfigPatch::default()
            }
        }
        Profile::Moin16 => ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Scalar(
                rng.pick(&[12.0, 1.0, 0.0, -2.0, 0.5, 1.9, -0.5]),
            )),
            anonymous_cookie_lifetime: rng
                .chance(70)
                .then(|| Some(rng.pick(&[1.0, 0.5, 2.0, 0.001, 0.0015, 4.35]))),
            auth: Some(if rng.chance(70) {
                vec![
                    "moin_login".into(),
                    "moin_session".into(),
                    "moin_anon_session".into(),
                ]
            } else {
                vec!["moin_login".into(), "moin_session".into()]
            }),
            cookie_path: rng.chance(10).then(|| Some("/wiki".to_owned())),
            site: rng.chance(10).then(|| SitePatch {
                script_root: Some("/mywiki".to_owned()),
                ..SitePatch::default()
            }),
            users,
            disabled_users,
            ..ConfigPatch::default()
        },
    }
}

/// One abstract step of a random trace of `profile`.
fn random_step(profile: Profile, rng: &mut Rng) -> AbstractStep {
    let roll = rng.below(100);
    if roll < 20 {
        // Whole seconds and fractions of one, so that instants fall
        // between seconds (the hardened request second, moin-1.6's floor).
        return AbstractStep::Advance(Duration::milliseconds(rng.pick(&[
            1_000, 30_000, 59_000, 61_000, 600_000, 3_599_000, 3_601_000, 7_200_000, 43_200_000,
            90_000_000, 250, 500, 999, 1_500, 3_600, 59_500,
        ])));
    }
    if roll < 26 {
        let user = (profile != Profile::Moin16 && rng.chance(30))
            .then(|| rng.pick(&["alice", "admin", "nobody"]).to_owned());
        return AbstractStep::Cleanup(
            rng.pick(&[CleanupMode::Expired, CleanupMode::Expired, CleanupMode::All]),
            user,
        );
    }
    if roll < 30 {
        return AbstractStep::List;
    }
    if roll < 32 {
        return AbstractStep::Reconfigure(Box::new(random_reconfiguration(profile, rng)));
    }
    if roll < 34 && profile != Profile::Moin16 {
        return AbstractStep::Corrupt;
    }
    // The order of the draws is the order of the seeds' traces: keep it.
    let cookies = random_cookies(profile, rng);
    let auth = random_auth(profile, rng);
    let ops = random_ops(profile, rng);
    AbstractStep::Request {
        https: rng.chance(10),
        cookies,
        auth,
        ops,
    }
}

/// A reconfiguration under live sessions: lifetimes, or accounts.
fn random_reconfiguration(profile: Profile, rng: &mut Rng) -> ConfigPatch {
    let patch = match profile {
        Profile::Moin19 => ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![
                rng.pick(&[0.0, 1.0]),
                rng.pick(&[12.0, 0.0, -1.0]),
            ])),
            ..ConfigPatch::default()
        },
        Profile::Moin16 => ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Scalar(rng.pick(&[12.0, 1.0, -1.0]))),
            ..ConfigPatch::default()
        },
        Profile::Hardened => ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![
                rng.pick(&[0.0, 1.0]),
                rng.pick(&[12.0, 0.0, 1.0]),
            ])),
            absolute_timeout: rng.chance(50).then(|| rng.pick(&[1.0, 720.0])),
            ..ConfigPatch::default()
        },
    };
    if rng.chance(30) {
        ConfigPatch {
            disabled_users: Some(vec!["carol".into(), "alice".into()]),
            users: Some(vec!["bob".into(), "admin".into()]),
            ..ConfigPatch::default()
        }
    } else {
        patch
    }
}

/// Where a random request's cookies come from.
fn random_cookies(profile: Profile, rng: &mut Rng) -> CookiePick {
    match rng.below(100) {
        0..=71 => CookiePick::Jar,
        // The last sid with a pad cookie that takes the header to the
        // limit, one byte below or one above, in bytes that are ASCII or
        // two-byte UTF-8 (hard.load.cookie-header-limit).
        72..=74 if profile == Profile::Hardened => CookiePick::Padded {
            delta: rng.pick(&[-1, 0, 1]),
            multibyte: rng.chance(50),
        },
        72..=82 => CookiePick::ReplayLast,
        83..=88 => CookiePick::TamperLast,
        89..=93 => CookiePick::None,
        _ => CookiePick::MadeUp(format!(
            "{:040x}",
            u128::from(rng.next()) << 64 | u128::from(rng.next())
        )),
    }
}

/// A random request's authentication action.
fn random_auth(profile: Profile, rng: &mut Rng) -> AuthAction {
    match rng.below(100) {
        0..=59 => AuthAction::None,
        60..=74 => AuthAction::Login {
            user: if profile == Profile::Hardened && rng.chance(50) {
                // Several sessions of one user, for ending the others.
                "alice".to_owned()
            } else {
                rng.pick(&["alice", "bob", "admin", "carol", "nobody"])
                    .to_owned()
            },
            remember_me: rng.chance(50),
        },
        75..=79 => AuthAction::FailedLogin {
            user: "alice".to_owned(),
        },
        80..=85 if profile == Profile::Hardened => AuthAction::EndOtherSessions,
        80..=91 => AuthAction::Logout,
        _ if profile != Profile::Moin16 => AuthAction::ChangeUser {
            to: rng.pick(&["bob", "carol", "nobody"]).to_owned(),
        },
        _ => AuthAction::None,
    }
}

/// A random request's session operations (at most two).
fn random_ops(profile: Profile, rng: &mut Rng) -> Vec<Op> {
    let mut ops = Vec::new();
    for _ in 0..rng.below(3) {
        let key = rng.pick(&["k", "trail"]).to_owned();
        ops.push(match rng.below(5) {
            0 => Op::Set {
                key,
                value: Value::from(rng.below(1000)),
            },
            1 => Op::Get { key },
            2 => Op::Delete { key },
            // A key no trace ever sets: its delete is always of an absent
            // key, which does nothing in every profile.
            3 => Op::Delete {
                key: "never-set".to_owned(),
            },
            _ => Op::Macro {
                edition: if profile != Profile::Moin16 && rng.chance(50) {
                    MacroEdition::V19
                } else {
                    MacroEdition::V16
                },
                random: 1 + rng.below(100_000) as u32,
            },
        });
    }
    ops
}

/// Draws a random trace of `profile`.
pub fn random_skeleton(profile: Profile, rng: &mut Rng) -> Skeleton {
    let n = 3 + rng.below(14);
    let config = random_config(profile, rng);
    let start = OffsetDateTime::from_unix_timestamp(1_235_908_800 + rng.below(86_400) as i64)
        .expect("a 2009 instant")
        + Duration::milliseconds(if rng.chance(30) {
            rng.pick(&[1, 250, 500, 999])
        } else {
            0
        });
    let mut steps = Vec::new();
    for _ in 0..n {
        let step = random_step(profile, rng);
        // What ending other sessions did shows only in the store: look.
        let look = matches!(
            &step,
            AbstractStep::Request {
                auth: AuthAction::EndOtherSessions,
                ..
            }
        );
        steps.push(step);
        if look {
            steps.push(AbstractStep::List);
        }
    }
    Skeleton {
        profile,
        config,
        start,
        steps,
    }
}

/// The requirement IDs a difference touches, by what differed.
pub fn requirements_touched(profile: Profile, differences: &[String]) -> Vec<String> {
    let mut out = BTreeSet::new();
    for d in differences {
        let what = d.split(':').next().unwrap_or("");
        let field = what.rsplit('.').next().unwrap_or(what);
        let id = match (profile, field) {
            (Profile::Moin19, "new") => "m19.new.definition",
            (Profile::Moin19, "user") => "m19.auth.restore",
            (Profile::Moin19, f) if f.starts_with("results") => "m19.persist.values",
            (Profile::Moin19, "value") => "m19.cookie.value-sid",
            (Profile::Moin19, "max_age") => "m19.cookie.max-age",
            (Profile::Moin19, "expires") => "m19.cookie.expires-granularity",
            (Profile::Moin19, "path") => "m19.cookie.path",
            (Profile::Moin19, "domain") => "m19.cookie.domain",
            (Profile::Moin19, "secure") => "m19.cookie.secure-auto",
            (Profile::Moin19, "httponly") => "m19.cookie.httponly",
            (Profile::Moin19, "kind") => "m19.finalize.delete",
            (Profile::Moin19, "removed") => "m19.cleanup.expired",
            (Profile::Moin19, "sids") => "m19.store.list",
            (Profile::Moin19, _) => "m19.finalize.issue",
            (Profile::Moin16, "new") => "m16.chain.new-flag",
            (Profile::Moin16, "user") => "m16.session.login-refresh",
            (Profile::Moin16, f) if f.starts_with("results") => "m16.store.write-through",
            (Profile::Moin16, "value") => "m16.session.anon-refresh",
            (Profile::Moin16, "max_age" | "expires") => "m16.cookie.max-age-expires",
            (Profile::Moin16, "path") => "m16.cookie.path",
            (Profile::Moin16, "domain") => "m16.cookie.domain",
            (Profile::Moin16, "secure" | "httponly") => "m16.cookie.no-secure-httponly",
            (Profile::Moin16, "kind") => "m16.cookie.delete-form",
            (Profile::Moin16, "uncacheable") => "m16.cookie.uncacheable",
            (Profile::Moin16, "removed") => "m16.cleanup.expired",
            (Profile::Moin16, "sids") => "m16.store.list",
            (Profile::Moin16, _) => "m16.chain.order",
            (Profile::Hardened, "new") => "hard.load.unknown-sid-refused",
            (Profile::Hardened, "user") => "hard.timeout.absolute",
            (Profile::Hardened, f) if f.starts_with("results") => "hard.rotate.carry-data",
            (Profile::Hardened, "value") => "hard.rotate.login",
            (Profile::Hardened, "max_age" | "expires") => "hard.cookie.max-age-within",
            (Profile::Hardened, "path" | "domain") => "hard.cookie.host-prefix",
            (Profile::Hardened, "secure") => "hard.cookie.secure",
            (Profile::Hardened, "httponly") => "hard.cookie.httponly",
            (Profile::Hardened, "samesite") => "hard.cookie.samesite",
            (Profile::Hardened, "kind") => "hard.finalize.delete-presented",
            (Profile::Hardened, "removed") => "hard.end.expiry",
            (Profile::Hardened, _) => "hard.persist.issue-stores",
        };
        out.insert(id.to_owned());
    }
    if out.is_empty() {
        out.insert(
            match profile {
                Profile::Moin19 => "m19.finalize.issue",
                Profile::Moin16 => "m16.chain.order",
                Profile::Hardened => "hard.persist.issue-stores",
            }
            .to_owned(),
        );
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::interleave::interleave;
    use crate::random::materialize::materialize;
    use crate::run::runner::{run_case, Verdict};
    use moin_session_spec::fixture::Action;
    use moin_session_spec::Model;

    /// The draws reach every corner the module's documentation names.
    #[test]
    fn draws_reach_the_corners() {
        let mut rng = Rng::new(3);
        let mut seen = BTreeSet::new();
        for profile in Profile::ALL {
            for _ in 0..400 {
                let s = random_skeleton(*profile, &mut rng);
                if s.start.nanosecond() > 0 {
                    seen.insert("fractional start");
                }
                let hours = match &s.config.cookie_lifetime {
                    Some(LifetimeSetting::Pair(p)) => p.clone(),
                    Some(LifetimeSetting::Scalar(h)) => vec![*h],
                    None => Vec::new(),
                };
                let anon16 = s.config.anonymous_cookie_lifetime.flatten();
                if hours
                    .iter()
                    .chain(&anon16)
                    .any(|h| h.abs() * 3600.0 < 10.0 && *h != 0.0)
                {
                    seen.insert("lifetime of a few seconds");
                }
                if hours.contains(&4.35) || hours.contains(&1.13) {
                    seen.insert("odd lifetime");
                }
                if s.config.max_cookie_header.is_some() {
                    seen.insert("max_cookie_header");
                }
                for step in &s.steps {
                    match step {
                        AbstractStep::Advance(d) if d.subsec_nanoseconds() != 0 => {
                            seen.insert("fractional advance");
                        }
                        AbstractStep::Request { cookies, ops, .. } => {
                            if matches!(cookies, CookiePick::Padded { .. }) {
                                seen.insert("padded header");
                            }
                            if ops
                                .iter()
                                .any(|o| matches!(o, Op::Delete { key } if key == "never-set"))
                            {
                                seen.insert("delete of an absent key");
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        for corner in [
            "fractional start",
            "lifetime of a few seconds",
            "odd lifetime",
            "max_cookie_header",
            "fractional advance",
            "padded header",
            "delete of an absent key",
        ] {
            assert!(seen.contains(corner), "no draw reached: {corner}");
        }
    }

    #[test]
    fn the_model_never_diverges_from_itself() {
        let mut rng = Rng::new(7);
        for profile in Profile::ALL {
            for _ in 0..500 {
                let s = random_skeleton(*profile, &mut rng);
                if let Ok(case) = materialize(&s, "m19.random.self") {
                    let r = run_case(&mut Model::new(), &case);
                    assert_eq!(r.verdict, Verdict::Pass, "{s:?}\n{:?}", r.verdict);
                }
            }
        }
    }

    #[test]
    fn the_model_never_diverges_from_itself_on_interleaved_traces() {
        let mut rng = Rng::new(8);
        let mut opened = 0;
        for profile in Profile::ALL {
            for _ in 0..300 {
                let s = interleave(random_skeleton(*profile, &mut rng), &mut rng);
                if let Ok(case) = materialize(&s, "m19.random.self") {
                    opened += case
                        .case
                        .steps
                        .iter()
                        .filter(|s| matches!(s.action, Action::Open(..)))
                        .count();
                    let r = run_case(&mut Model::new(), &case);
                    assert_eq!(r.verdict, Verdict::Pass, "{s:?}\n{:?}", r.verdict);
                }
            }
        }
        assert!(opened > 100, "{opened}");
    }

    #[test]
    fn traces_are_repeatable() {
        let a = random_skeleton(Profile::Moin19, &mut Rng::new(42));
        let b = random_skeleton(Profile::Moin19, &mut Rng::new(42));
        assert_eq!(a, b);
    }
}
