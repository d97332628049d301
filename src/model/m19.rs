//! The executable model of the moin-1.9 profile: one request cycle and one
//! cleanup as pure functions of (state, input).
//!
//! Implements the `m19.load.*`, `m19.new.*`, `m19.auth.*`, `m19.setuid.*`,
//! `m19.finalize.*`, `m19.cookie.*`, `m19.persist.*`, `m19.cleanup.*` and
//! `m19.store.*` requirements of `spec/moin-1.9.md`. Each step below cites
//! the clause it carries out; read them side by side.

use cookie::Cookie;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::backend::BackendError;
use crate::config::M19Config;
use crate::exchange::{AuthAction, Finished, MacroEdition, Op, Opened, Request};
use crate::lifetime::session_lifetime_secs;
use crate::sid::{is_well_formed, SidSource};

use super::account::{Account, Written, EXPIRES_RECORDED, LOGIN_WITHOUT_EXPIRES};
use super::m19_auth::{authenticate, UserObj};
use super::macros::macro_text;

use super::m19_state::{
    is_expired, stored_expires, Record, Session, State, KEY_AUTH_ATTRIBS, KEY_AUTH_METHOD,
    KEY_EXPIRES, KEY_SETUID, KEY_USER_ID, RESERVED_KEYS, SETUID_METHOD,
};

/// Picks the value of the first cookie called `name` in a Cookie header
/// (`r[m19.load.first-cookie]`). A cookie is a `name=value` pair (RFC
/// 6265bis §4.2.1); a part without `=` is no cookie (hardened section 4,
/// *presented*).
pub(crate) fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// How many cookies called `name` a Cookie header carries.
fn cookie_count(header: &str, name: &str) -> usize {
    header
        .split(';')
        .filter(|pair| {
            let pair = pair.trim();
            pair.split_once('=').unwrap_or((pair, "")).0.trim() == name
        })
        .count()
}

/// `get_session` (`r[m19.load.*]`); the rule that decided is recorded in
/// the state's account.
fn load(
    state: &mut State,
    sid: Option<&str>,
    now: OffsetDateTime,
    sids: &mut dyn SidSource,
) -> Session {
    let Some(sid) = sid else {
        // r[m19.load.no-cookie]
        return Session::fresh(sids);
    };
    let account = &mut state.account;
    if !is_well_formed(sid) {
        // r[m19.load.malformed-sid]
        account.load = Some("m19.load.malformed-sid");
        return Session::fresh(sids);
    }
    let data = match state.records.get(sid) {
        // r[m19.load.unknown-sid-adopted]
        None => Some("m19.load.unknown-sid-adopted"),
        // r[m19.load.unreadable-record]
        Some(Record::Unreadable) => Some("m19.load.unreadable-record"),
        Some(Record::Data(_)) => None,
    };
    account.load = account.load.or(data);
    account.load_read = state.written.get(sid).map(|w| (sid.to_owned(), w.by));
    let data = match state.records.get(sid) {
        Some(Record::Data(data)) => data.clone(),
        _ => Map::new(),
    };
    match stored_expires(&data) {
        Some(expires) if is_expired(expires, now) => {
            // r[m19.load.expired-destroyed]
            account.load = Some("m19.load.expired-destroyed");
            state.records.remove(sid);
            state.written.remove(sid);
            return Session::fresh(sids);
        }
        // r[m19.load.expiry-boundary]
        Some(expires) if expires == now.unix_timestamp() => {
            account.load = account.load.or(Some("m19.load.expiry-boundary"));
        }
        Some(_) => {}
        None if state.records.contains_key(sid) => {
            account.load = account.load.or(Some("m19.load.no-expires"));
        }
        None => {}
    }
    // r[m19.load.no-expires]: a record without `expires` is never expired here.
    Session {
        sid: sid.to_owned(),
        data,
        new: false,
        modified: false,
    }
}

/// Runs application code's ops against the session.
fn run_ops(session: &mut Session, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
    let mut results = Vec::new();
    for op in ops {
        match op {
            Op::Set { key, value } => {
                check_key(key)?;
                if value.is_null() {
                    return Err(BackendError::InvalidInput {
                        message: format!(
                            "the value stored under {key:?} is null, which the spec does not allow"
                        ),
                    });
                }
                session.data.insert(key.clone(), value.clone());
                session.modified = true;
            }
            Op::Get { key } => {
                check_key(key)?;
                results.push(session.data.get(key).cloned().unwrap_or(Value::Null));
            }
            Op::Delete { key } => {
                check_key(key)?;
                session.remove(key);
            }
            Op::Macro { edition, random } => {
                results.push(Value::String(run_macro(session, *edition, *random)))
            }
        }
    }
    Ok(results)
}

fn check_key(key: &str) -> Result<(), BackendError> {
    if RESERVED_KEYS.contains(&key) {
        return Err(BackendError::InvalidInput {
            message: format!("{key:?} is a reserved session key (r[m19.persist.reserved-keys])"),
        });
    }
    Ok(())
}

/// The HelpOnSessions example macros (`r[m19.new.macro-example]`).
fn run_macro(session: &mut Session, edition: MacroEdition, random: u32) -> String {
    macro_text(
        &mut session.data,
        &mut session.modified,
        session.new,
        edition,
        random,
    )
}

/// A request between its open and its finish
/// (`r[m19.overlap.read-once]`): its snapshot with its own changes, and
/// the users authentication gave it.
#[derive(Debug, Clone)]
pub(crate) struct Open {
    session: Session,
    effective: Option<UserObj>,
    real: Option<UserObj>,
    /// The `remember_me` preference of the user finalize decides for, as
    /// it stood at the open (the user object is loaded then).
    remember_me: bool,
    https: bool,
}

/// Opens a request: load, authentication and the open's ops, at
/// `req.now` (`r[m19.overlap.read-once]`).
pub(crate) fn open(
    state: &mut State,
    req: &Request,
    sids: &mut dyn SidSource,
) -> Result<(Open, Opened), BackendError> {
    if matches!(req.auth, AuthAction::EndOtherSessions) {
        return Err(BackendError::InvalidInput {
            message: "ending other sessions is not part of profile moin-1.9".to_owned(),
        });
    }
    let cookie_name = state.config.cookie_full_name();
    let sent = req
        .cookie_header
        .as_deref()
        .and_then(|h| cookie_value(h, &cookie_name));
    state.account = Account::default();
    if req
        .cookie_header
        .as_deref()
        .is_some_and(|h| cookie_count(h, &cookie_name) > 1)
    {
        // r[m19.load.first-cookie] decides before any other load rule.
        state.account.load = Some("m19.load.first-cookie");
    }
    let mut session = load(state, sent, req.now, sids);
    let new = session.new;
    let (effective, real) = authenticate(state, &session, &req.auth);
    let results = run_ops(&mut session, &req.ops)?;
    let ran_as = effective
        .as_ref()
        .filter(|u| u.valid)
        .map(|u| u.name.clone());
    // Under change-user the real user decides (r[m19.lifetime.real-user]).
    let decides = match (&effective, &real) {
        (Some(e), Some(r)) if e.auth_method == SETUID_METHOD => Some(r),
        _ => effective.as_ref(),
    };
    let remember_me =
        decides.is_some_and(|u| state.remember_me.get(&u.name).copied().unwrap_or(true));
    Ok((
        Open {
            session,
            effective,
            real,
            remember_me,
            https: req.https,
        },
        Opened {
            new,
            user: ran_as,
            results,
        },
    ))
}

/// More application code in an open request.
pub(crate) fn ops(open: &mut Open, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
    run_ops(&mut open.session, ops)
}

/// Finishes an open request at `now`: finalize with the finish's clock
/// (`r[m19.overlap.save-if-changed]`, `r[m19.overlap.save-replaces]`,
/// `r[m19.overlap.destroy-unconditional]`).
pub(crate) fn finish(state: &mut State, open: Open, now: OffsetDateTime) -> Finished {
    let Open {
        mut session,
        effective,
        real,
        remember_me,
        https,
    } = open;
    let set_cookies = finalize(
        state,
        &mut session,
        effective,
        real,
        remember_me,
        now,
        https,
    );
    Finished {
        set_cookies,
        cache_control: None,
    }
}

/// `finalize` (`r[m19.finalize.*]`, `r[m19.cookie.*]`, `r[m19.persist.*]`).
fn finalize(
    state: &mut State,
    session: &mut Session,
    effective: Option<UserObj>,
    real: Option<UserObj>,
    remember_me: bool,
    now: OffsetDateTime,
    https: bool,
) -> Vec<String> {
    let config = &state.config;
    // Under change-user the real user decides (r[m19.lifetime.real-user]).
    let (user, setuid) = match (&effective, real) {
        (Some(e), Some(r)) if e.auth_method == SETUID_METHOD => (Some(r), Some(e.name.clone())),
        _ => (effective, None),
    };
    let valid = user.as_ref().is_some_and(|u| u.valid);
    let hours = if valid {
        config.cookie_lifetime.logged_in
    } else {
        config.cookie_lifetime.anonymous
    };
    let lifetime = session_lifetime_secs(hours, valid, remember_me);
    // r[m19.cookie.expires-granularity]
    let expires_at = now.unix_timestamp().div_euclid(60) * 60 + lifetime;
    // r[m19.finalize.kill]
    let kill = !valid && session.data.contains_key(KEY_USER_ID);
    let set_cookies = cookies(config, session, https, lifetime, expires_at, kill);
    persist(state, session, &user, setuid, lifetime, expires_at, kill);
    set_cookies
}

/// The response's `Set-Cookie` of finalize: the issued cookie, the
/// deletion, or none (`r[m19.finalize.issue]`, `r[m19.finalize.sliding]`,
/// `r[m19.finalize.delete]`, `r[m19.finalize.silent-when-new]`).
fn cookies(
    config: &M19Config,
    session: &Session,
    https: bool,
    lifetime: i64,
    expires_at: i64,
    kill: bool,
) -> Vec<String> {
    let name = config.cookie_full_name();
    let path = config.effective_path().to_owned();
    let secure = config.cookie_secure.unwrap_or(https);
    let mut set_cookies = Vec::new();
    if lifetime > 0 && !kill {
        // r[m19.finalize.issue], r[m19.finalize.sliding]
        let mut c = Cookie::build((name, session.sid.clone()))
            .max_age(Duration::seconds(lifetime))
            .expires(
                OffsetDateTime::from_unix_timestamp(expires_at)
                    .expect("lifetimes are bounded by validation"),
            )
            .path(path)
            .secure(secure)
            .http_only(config.cookie_httponly);
        if let Some(domain) = &config.cookie_domain {
            c = c.domain(domain.clone());
        }
        set_cookies.push(c.build().to_string());
    } else if !session.new {
        // r[m19.finalize.delete], r[m19.cookie.delete-form]
        let mut c = Cookie::build((name, ""))
            .max_age(Duration::ZERO)
            .expires(OffsetDateTime::UNIX_EPOCH)
            .path(path);
        if let Some(domain) = &config.cookie_domain {
            c = c.domain(domain.clone());
        }
        set_cookies.push(c.build().to_string());
    }
    // r[m19.finalize.silent-when-new]: neither branch when L = 0 (or kill) and new.
    set_cookies
}

/// What finalize writes to the store, and which clause wrote it
/// (`r[m19.persist.*]`).
fn persist(
    state: &mut State,
    session: &mut Session,
    user: &Option<UserObj>,
    setuid: Option<String>,
    lifetime: i64,
    expires_at: i64,
    kill: bool,
) {
    let valid = user.as_ref().is_some_and(|u| u.valid);
    if !session.new {
        // r[m19.persist.expires-recorded]
        session.update(KEY_EXPIRES, Value::from(expires_at));
    }
    if lifetime > 0 && !kill {
        match user {
            Some(u) if u.valid => {
                session.update(KEY_USER_ID, Value::from(u.name.clone()));
                session.update(KEY_AUTH_METHOD, Value::from(u.auth_method.clone()));
                session.update(KEY_AUTH_ATTRIBS, Value::Object(Map::new()));
                match &setuid {
                    Some(target) => session.update(KEY_SETUID, Value::from(target.clone())),
                    None => session.remove(KEY_SETUID),
                }
            }
            _ => {
                for key in [KEY_USER_ID, KEY_AUTH_METHOD, KEY_AUTH_ATTRIBS, KEY_SETUID] {
                    session.remove(key);
                }
            }
        }
        // r[m19.persist.anon-first-request], r[m19.persist.anon-returning],
        // r[m19.persist.login-at-once], r[m19.persist.login-without-expires]
        if (valid || !session.new) && session.modified {
            state
                .records
                .insert(session.sid.clone(), Record::Data(session.data.clone()));
            let written = match session.new {
                true => Written {
                    by: LOGIN_WITHOUT_EXPIRES,
                    other: Some(expires_at),
                },
                false => Written {
                    by: EXPIRES_RECORDED,
                    other: None,
                },
            };
            if state.swapped == Some(written.by) {
                write_other_way(state, &session.sid, written.other);
            }
            state.written.insert(session.sid.clone(), written);
        }
    } else if !session.new {
        // r[m19.persist.disabled-destroys], r[m19.persist.kill-destroys]
        state.records.remove(&session.sid);
        state.written.remove(&session.sid);
    }
}

/// The record of `sid` with its `expires` as the other writing rule
/// would have left it (attribution's counterfactual only).
fn write_other_way(state: &mut State, sid: &str, other: Option<i64>) {
    if let Some(Record::Data(data)) = state.records.get_mut(sid) {
        match other {
            Some(e) => data.insert(KEY_EXPIRES.to_owned(), Value::from(e)),
            None => data.remove(KEY_EXPIRES),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_cookie_of_the_name_wins() {
        assert_eq!(cookie_value("a=1; b=2; a=3", "a"), Some("1"));
        assert_eq!(cookie_value("ab=1; a=", "a"), Some(""));
        assert_eq!(cookie_value("x=1", "a"), None);
        assert_eq!(
            cookie_value("a; b=2", "a"),
            None,
            "a part without = is no cookie"
        );
    }

    #[test]
    fn expiry_is_strict() {
        let t = OffsetDateTime::from_unix_timestamp(1000).unwrap();
        assert!(!is_expired(1000, t));
        assert!(is_expired(1000, t + Duration::milliseconds(1)));
        assert!(!is_expired(1001, t));
    }
}
