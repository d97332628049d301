//! The ASVS claims table of `spec/hardened.md` (appendix B) against the
//! profile's behaviour. Every row that says "met by default" is checked
//! against the default configuration; every row that says "met with
//! configuration" is checked against the configuration the row names, and
//! the same check must fail for the default configuration (otherwise the
//! row would understate the profile). A claimed row without a check fails
//! the test: a claim needs evidence. The checks run the model, the oracle
//! the corpus checks every backend against.

use moin_session_spec::requirements::{Requirements, SPEC_FILES};
use moin_session_spec::{
    AuthAction, Backend, CleanupMode, CleanupRequest, Config, ConfigPatch, Model, Op, Profile,
    Request, Response,
};
use time::{Duration, OffsetDateTime};

/// One row of appendix B.
#[derive(Debug)]
struct Claim {
    asvs: String,
    status: String,
    how: String,
    clauses: String,
}

const STATUSES: [&str; 5] = [
    "met by default",
    "met with configuration",
    "partly",
    "not addressed",
    "outside",
];

fn claims() -> Vec<Claim> {
    let (_, _, text) = SPEC_FILES
        .iter()
        .find(|(p, _, _)| *p == Profile::Hardened)
        .expect("the hardened spec is compiled in");
    let appendix = text
        .split("\n## Appendix B. ASVS 5.0 claims")
        .nth(1)
        .expect("spec/hardened.md has appendix B, the ASVS claims");
    let appendix = appendix.split("\n## ").next().unwrap_or(appendix);
    appendix
        .lines()
        .filter(|l| l.starts_with("| V"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 5, "a claims row has five cells: {l}");
            Claim {
                asvs: cells[0].to_owned(),
                status: cells[2].to_owned(),
                how: cells[3].to_owned(),
                clauses: cells[4].to_owned(),
            }
        })
        .collect()
}

const START: i64 = 1_235_908_830; // 2009-03-01T12:00:30Z

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(START + secs).expect("a valid instant")
}

/// A model reset with `patch`, with the accounts alice and bob.
fn backend(patch: &ConfigPatch) -> Result<Model, String> {
    let mut patch = patch.clone();
    patch.users = Some(vec!["alice".into(), "bob".into()]);
    let config = Config::build(Profile::Hardened, &[patch]).map_err(|e| e.to_string())?;
    let mut model = Model::new();
    model.reset(&config).map_err(|e| e.to_string())?;
    Ok(model)
}

fn request(now: OffsetDateTime, cookie: Option<&str>, auth: AuthAction) -> Request {
    Request {
        now,
        https: false,
        path: "/".into(),
        cookie_header: cookie.map(|sid| format!("MOIN_SESSION_8080_ROOT={sid}")),
        auth,
        ops: Vec::new(),
    }
}

fn login(remember_me: bool) -> AuthAction {
    AuthAction::Login {
        user: "alice".into(),
        remember_me,
    }
}

/// Sends one request to `b` at `secs` after the start, with the session
/// cookie `sid` if any; a backend error as its message.
fn send(b: &mut Model, secs: i64, sid: Option<&str>, auth: AuthAction) -> Result<Response, String> {
    b.request(&request(at(secs), sid, auth))
        .map_err(|e| e.to_string())
}

/// A model reset with `patch` and alice logged in at the start: the model
/// and her issued sid.
fn logged_in(patch: &ConfigPatch, remember_me: bool) -> Result<(Model, String), String> {
    let mut b = backend(patch)?;
    let resp = send(&mut b, 0, None, login(remember_me))?;
    let sid = issued(&resp.set_cookies)?.value().to_owned();
    Ok((b, sid))
}

/// The issued session cookie of a response, parsed.
fn issued(set_cookies: &[String]) -> Result<cookie::Cookie<'static>, String> {
    let raw = set_cookies
        .first()
        .ok_or_else(|| "no Set-Cookie was sent".to_owned())?;
    let c = cookie::Cookie::parse(raw.clone()).map_err(|e| format!("{raw}: {e}"))?;
    if c.value().is_empty() {
        return Err(format!("{raw} is a deletion, not an issued cookie"));
    }
    Ok(c)
}

/// A login over http and one over https: the cookies they were issued.
fn login_cookies(patch: &ConfigPatch) -> Result<Vec<cookie::Cookie<'static>>, String> {
    let mut out = Vec::new();
    for https in [false, true] {
        let mut b = backend(patch)?;
        let mut r = request(at(0), None, login(false));
        r.https = https;
        let resp = b.request(&r).map_err(|e| e.to_string())?;
        out.push(issued(&resp.set_cookies)?);
    }
    Ok(out)
}

fn ensure(ok: bool, why: impl Into<String>) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why.into())
    }
}

/// The check of each claimed ASVS requirement.
fn check(asvs: &str, patch: &ConfigPatch) -> Option<Result<(), String>> {
    let result = match asvs {
        "V2.3.3" => atomic_finish(patch),
        "V3.3.1" => login_cookies(patch).and_then(|cs| {
            cs.iter().try_for_each(|c| {
                ensure(
                    c.secure() == Some(true)
                        && (c.name().starts_with("__Host-") || c.name().starts_with("__Secure-")),
                    format!("{c} lacks Secure or a __Host-/__Secure- name"),
                )
            })
        }),
        "V3.3.2" => login_cookies(patch).and_then(|cs| {
            cs.iter().try_for_each(|c| {
                ensure(
                    matches!(
                        c.same_site(),
                        Some(cookie::SameSite::Lax | cookie::SameSite::Strict)
                    ),
                    format!("{c} has no SameSite Lax or Strict"),
                )
            })
        }),
        "V3.3.3" => login_cookies(patch).and_then(|cs| {
            cs.iter().try_for_each(|c| {
                ensure(
                    c.name().starts_with("__Host-")
                        && c.secure() == Some(true)
                        && c.path() == Some("/")
                        && c.domain().is_none(),
                    format!("{c} is not a __Host- cookie"),
                )
            })
        }),
        "V3.3.4" => login_cookies(patch).and_then(|cs| {
            cs.iter().try_for_each(|c| {
                ensure(c.http_only() == Some(true), format!("{c} lacks HttpOnly"))
            })
        }),
        "V3.3.5" => cookie_size(patch),
        "V7.1.1" => documented_timeouts(patch),
        "V7.1.2" => many_sessions(patch),
        "V7.2.1" => planted_sid_refused(patch),
        "V7.2.2" | "V7.2.3" => fresh_sids(patch),
        "V7.3.1" => idle_timeout(patch),
        "V7.3.2" => absolute_timeout(patch),
        "V7.4.1" => logout_ends(patch),
        "V7.4.2" => disabled_account_ends(patch),
        "V7.4.5" => cleanup_by_user(patch),
        "V14.2.1" => sid_only_from_cookie(patch),
        _ => return None,
    };
    Some(result)
}

fn cookie_size(patch: &ConfigPatch) -> Result<(), String> {
    let cs = login_cookies(patch)?;
    for c in &cs {
        ensure(
            c.name().len() + c.value().len() <= 4096,
            "name and value over 4096",
        )?;
    }
    let mut long = patch.clone();
    long.cookie_name = Some(Some("x".repeat(4044)));
    ensure(
        backend(&long).is_err(),
        "a name leaving name and sid over 4096 bytes is accepted",
    )
}

fn documented_timeouts(patch: &ConfigPatch) -> Result<(), String> {
    // The documented defaults: 12 idle hours, 30 days from a login.
    let mut b = backend(patch)?;
    let idle = send(&mut b, 0, None, login(false))?;
    let remember = send(&mut b, 0, None, login(true))?;
    let (idle, remember) = (issued(&idle.set_cookies)?, issued(&remember.set_cookies)?);
    ensure(
        idle.max_age() == Some(Duration::hours(12))
            && remember.max_age() == Some(Duration::days(30)),
        format!("the timeouts are not the documented 12 hours and 30 days: {idle}, {remember}"),
    )
}

fn many_sessions(patch: &ConfigPatch) -> Result<(), String> {
    let mut b = backend(patch)?;
    let mut sids = Vec::new();
    for i in 0..20 {
        let resp = send(&mut b, i, None, login(false))?;
        sids.push(issued(&resp.set_cookies)?.value().to_owned());
    }
    for sid in &sids {
        let resp = send(&mut b, 60, Some(sid), AuthAction::None)?;
        ensure(
            resp.user.as_deref() == Some("alice"),
            "a concurrent session was lost",
        )?;
    }
    Ok(())
}

fn planted_sid_refused(patch: &ConfigPatch) -> Result<(), String> {
    let mut b = backend(patch)?;
    let planted = "0123456789abcdef0123456789abcdef01234567";
    let resp = send(&mut b, 0, Some(planted), login(false))?;
    let c = issued(&resp.set_cookies)?;
    let listed = b.list().map_err(|e| e.to_string())?;
    ensure(
        c.value() != planted && !listed.iter().any(|s| s == planted),
        "a planted sid was adopted",
    )
}

fn fresh_sids(patch: &ConfigPatch) -> Result<(), String> {
    let mut b = backend(patch)?;
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..50 {
        let resp = send(&mut b, i, None, login(false))?;
        let sid = issued(&resp.set_cookies)?.value().to_owned();
        ensure(
            sid.len() == 40
                && sid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            format!("{sid} is not 40 lowercase hex digits"),
        )?;
        ensure(seen.insert(sid), "a sid was issued twice")?;
    }
    Ok(())
}

fn idle_timeout(patch: &ConfigPatch) -> Result<(), String> {
    let (mut b, sid) = logged_in(patch, false)?;
    let later = send(&mut b, 12 * 3600 + 1, Some(&sid), AuthAction::None)?;
    ensure(
        later.new && later.user.is_none(),
        "a session idle past its timeout was used",
    )
}

fn absolute_timeout(patch: &ConfigPatch) -> Result<(), String> {
    let (mut b, sid) = logged_in(patch, true)?;
    let day = 24 * 3600;
    for d in [10, 20, 29] {
        let r = send(&mut b, d * day, Some(&sid), AuthAction::None)?;
        ensure(
            r.user.as_deref() == Some("alice"),
            "an active session ended early",
        )?;
    }
    let after = send(&mut b, 30 * day + 1, Some(&sid), AuthAction::None)?;
    ensure(
        after.new && after.user.is_none(),
        "an active session outlived 30 days from its login",
    )
}

fn logout_ends(patch: &ConfigPatch) -> Result<(), String> {
    let (mut b, sid) = logged_in(patch, false)?;
    send(&mut b, 1, Some(&sid), AuthAction::Logout)?;
    let again = send(&mut b, 2, Some(&sid), AuthAction::None)?;
    ensure(
        again.new && again.user.is_none(),
        "a logged-out sid still names a session",
    )
}

fn disabled_account_ends(patch: &ConfigPatch) -> Result<(), String> {
    let mut b = backend(patch)?;
    send(&mut b, 0, None, login(false))?;
    let mut disabled = patch.clone();
    disabled.users = Some(vec!["bob".into()]);
    disabled.disabled_users = Some(vec!["alice".into()]);
    let config = Config::build(Profile::Hardened, &[disabled]).map_err(|e| e.to_string())?;
    b.reconfigure(&config).map_err(|e| e.to_string())?;
    ensure(
        b.list().map_err(|e| e.to_string())?.is_empty(),
        "a disabled account's session is still stored",
    )
}

fn cleanup_by_user(patch: &ConfigPatch) -> Result<(), String> {
    let mut b = backend(patch)?;
    for user in ["alice", "alice", "bob"] {
        send(
            &mut b,
            0,
            None,
            AuthAction::Login {
                user: user.into(),
                remember_me: false,
            },
        )?;
    }
    let outcome = b
        .cleanup(&CleanupRequest {
            now: at(1),
            mode: CleanupMode::All,
            user: Some("alice".into()),
        })
        .map_err(|e| e.to_string())?;
    let left = b.list().map_err(|e| e.to_string())?;
    ensure(
        outcome.removed.len() == 2 && left.len() == 1,
        "cleanup --all --name alice did not end exactly alice's sessions",
    )?;
    // The row's second claim: `cleanup --all` ends all sessions.
    send(&mut b, 2, None, login(false))?;
    let all = b
        .cleanup(&CleanupRequest {
            now: at(3),
            mode: CleanupMode::All,
            user: None,
        })
        .map_err(|e| e.to_string())?;
    ensure(
        all.removed.len() == 2 && b.list().map_err(|e| e.to_string())?.is_empty(),
        "cleanup --all did not end every session",
    )
}

fn sid_only_from_cookie(patch: &ConfigPatch) -> Result<(), String> {
    let (mut b, sid) = logged_in(patch, false)?;
    let mut r = request(at(1), None, AuthAction::None);
    r.path = format!("/FrontPage?MOIN_SESSION_8080_ROOT={sid}&sid={sid}");
    let via_url = b.request(&r).map_err(|e| e.to_string())?;
    ensure(
        via_url.new && via_url.user.is_none(),
        "a sid in the URL was read",
    )
}

fn atomic_finish(patch: &ConfigPatch) -> Result<(), String> {
    let (mut b, sid) = logged_in(patch, false)?;
    b.open("A", &request(at(1), Some(&sid), AuthAction::None))
        .map_err(|e| e.to_string())?;
    b.ops(
        "A",
        &[Op::Set {
            key: "k".into(),
            value: 1.into(),
        }],
    )
    .map_err(|e| e.to_string())?;
    send(&mut b, 2, Some(&sid), AuthAction::Logout)?;
    let finished = b.finish("A", at(3)).map_err(|e| e.to_string())?;
    ensure(
        finished.set_cookies.is_empty() && b.list().map_err(|e| e.to_string())?.is_empty(),
        "a finish after a logout brought the session back",
    )
}

/// The backticked JSON configuration of a "met with configuration" row.
fn configuration_of(claim: &Claim) -> ConfigPatch {
    let json = claim
        .how
        .split('`')
        .nth(1)
        .filter(|j| j.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "{}: a \"met with configuration\" row names its configuration as JSON in backticks",
                claim.asvs
            )
        });
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{}: {json}: {e}", claim.asvs))
}

#[test]
fn the_claims_table_is_well_formed() {
    let claims = claims();
    assert!(claims.len() >= 25, "{claims:#?}");
    let reqs = Requirements::builtin();
    for claim in &claims {
        assert!(
            STATUSES.contains(&claim.status.as_str()),
            "{}: unknown status {:?}",
            claim.asvs,
            claim.status
        );
        for id in claim.clauses.split('`').skip(1).step_by(2) {
            assert!(
                reqs.get(id).is_some(),
                "{}: {id} is not a clause",
                claim.asvs
            );
        }
    }
    // The requirements the audit asked the profile to take a position on.
    for asvs in [
        "V3.3.1", "V3.3.3", "V7.1.2", "V7.2.4", "V7.4.5", "V7.5.2", "V14.2.1", "V14.3.1", "V16.2.5",
    ] {
        assert!(
            claims.iter().any(|c| c.asvs == asvs),
            "appendix B says nothing of {asvs}"
        );
    }
}

#[test]
fn every_row_met_by_default_holds_for_the_default_configuration() {
    let default = ConfigPatch::default();
    for claim in claims().iter().filter(|c| c.status == "met by default") {
        match check(&claim.asvs, &default) {
            None => panic!(
                "{} is claimed as met by default but this test has no check for it",
                claim.asvs
            ),
            Some(Err(why)) => panic!("{} is claimed as met by default, but: {why}", claim.asvs),
            Some(Ok(())) => {}
        }
    }
}

#[test]
fn every_row_met_with_configuration_holds_for_it_and_not_by_default() {
    let default = ConfigPatch::default();
    let rows: Vec<Claim> = claims()
        .into_iter()
        .filter(|c| c.status == "met with configuration")
        .collect();
    assert!(!rows.is_empty());
    for claim in rows {
        let configured = configuration_of(&claim);
        match check(&claim.asvs, &configured) {
            None => panic!(
                "{} is claimed as met with configuration but this test has no check for it",
                claim.asvs
            ),
            Some(Err(why)) => panic!(
                "{} is claimed as met with {:?}, but: {why}",
                claim.asvs, claim.how
            ),
            Some(Ok(())) => {}
        }
        assert!(
            matches!(check(&claim.asvs, &default), Some(Err(_))),
            "{} holds by default too: the row should say \"met by default\"",
            claim.asvs
        );
    }
}
