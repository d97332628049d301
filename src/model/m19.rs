//! The executable model of the moin-1.9 profile: one request cycle and one
//! cleanup as pure functions of (state, input).
//!
//! Implements the `m19.load.*`, `m19.new.*`, `m19.auth.*`, `m19.setuid.*`,
//! `m19.finalize.*`, `m19.cookie.*`, `m19.persist.*`, `m19.cleanup.*` and
//! `m19.store.*` requirements of `spec/moin-1.9.md`. Each step below cites
//! the clause it carries out; read them side by side.

use std::collections::BTreeMap;

use cookie::Cookie;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::backend::BackendError;
use crate::config::M19Config;
use crate::exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Finished, MacroEdition, Op, Opened,
    Request, Response,
};
use crate::lifetime::session_lifetime_secs;
use crate::sid::{is_well_formed, SidSource};

use super::macros::macro_text;

/// Session keys that belong to the session service (`r[m19.persist.reserved-keys]`).
const RESERVED_KEYS: &[&str] = &[
    KEY_EXPIRES,
    KEY_USER_ID,
    KEY_AUTH_METHOD,
    KEY_AUTH_ATTRIBS,
    KEY_SETUID,
];
const KEY_EXPIRES: &str = "expires";
const KEY_USER_ID: &str = "user.id";
const KEY_AUTH_METHOD: &str = "user.auth_method";
const KEY_AUTH_ATTRIBS: &str = "user.auth_attribs";
const KEY_SETUID: &str = "setuid";

/// The auth method name a successful login records.
const LOGIN_METHOD: &str = "moin";
/// The auth method name of a user assumed through "change user".
const SETUID_METHOD: &str = "setuid";

/// A stored session record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// A record that loads.
    Data(Map<String, Value>),
    /// A record that cannot be read (garbled on disk).
    Unreadable,
}

/// Everything the moin-1.9 model remembers between steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) config: M19Config,
    pub(crate) records: BTreeMap<String, Record>,
    /// Each account's "remember login information" preference.
    pub(crate) remember_me: BTreeMap<String, bool>,
}

impl State {
    pub(crate) fn new(config: M19Config) -> Self {
        State {
            config,
            records: BTreeMap::new(),
            remember_me: BTreeMap::new(),
        }
    }
}

/// The session as application code sees it during one request.
#[derive(Debug, Clone)]
struct Session {
    sid: String,
    data: Map<String, Value>,
    new: bool,
    modified: bool,
}

impl Session {
    fn fresh(sids: &mut dyn SidSource) -> Self {
        Session {
            sid: sids.next_sid(),
            data: Map::new(),
            new: true,
            modified: false,
        }
    }

    /// Assigns only when the value differs (`update_session` in finalize).
    fn update(&mut self, key: &str, value: Value) {
        if self.data.get(key) != Some(&value) {
            self.data.insert(key.to_owned(), value);
            self.modified = true;
        }
    }

    fn remove(&mut self, key: &str) {
        if self.data.remove(key).is_some() {
            self.modified = true;
        }
    }
}

/// A user object of the request.
#[derive(Debug, Clone)]
struct UserObj {
    name: String,
    valid: bool,
    auth_method: String,
}

/// Seconds since the epoch, with the fraction, as an exact comparison key.
fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

/// `expires < now`, exact (`r[m19.load.expiry-boundary]`).
pub(crate) fn is_expired(expires: i64, now: OffsetDateTime) -> bool {
    i128::from(expires) * 1_000_000_000 < nanos(now)
}

fn stored_expires(data: &Map<String, Value>) -> Option<i64> {
    data.get(KEY_EXPIRES).and_then(Value::as_i64)
}

/// Picks the value of the first cookie called `name` in a Cookie header
/// (`r[m19.load.first-cookie]`).
pub(crate) fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let pair = pair.trim();
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k.trim() == name).then(|| v.trim())
    })
}

/// `get_session` (`r[m19.load.*]`).
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
    if !is_well_formed(sid) {
        // r[m19.load.malformed-sid]
        return Session::fresh(sids);
    }
    let data = match state.records.get(sid) {
        // r[m19.load.unknown-sid-adopted]
        None => Map::new(),
        // r[m19.load.unreadable-record]
        Some(Record::Unreadable) => Map::new(),
        Some(Record::Data(data)) => data.clone(),
    };
    if let Some(expires) = stored_expires(&data) {
        if is_expired(expires, now) {
            // r[m19.load.expired-destroyed]
            state.records.remove(sid);
            return Session::fresh(sids);
        }
    }
    // r[m19.load.no-expires]: a record without `expires` is never expired here.
    Session {
        sid: sid.to_owned(),
        data,
        new: false,
        modified: false,
    }
}

/// The user object an account name gives (`User(id=...)`): valid when the
/// account exists and is enabled.
fn account(config: &M19Config, name: &str, auth_method: &str) -> UserObj {
    UserObj {
        name: name.to_owned(),
        valid: config.account_enabled(name),
        auth_method: auth_method.to_owned(),
    }
}

fn is_superuser(config: &M19Config, user: &UserObj) -> bool {
    user.valid && config.superusers.contains(&user.name)
}

/// `setup_user`: returns (effective user, real user under change-user).
fn authenticate(
    state: &mut State,
    session: &Session,
    action: &AuthAction,
) -> (Option<UserObj>, Option<UserObj>) {
    let config = &state.config;
    // r[m19.auth.restore], r[m19.auth.method-unconfigured], r[m19.auth.account-invalid]
    let mut user = match (
        session.data.get(KEY_USER_ID),
        session.data.get(KEY_AUTH_METHOD),
    ) {
        (Some(Value::String(id)), Some(Value::String(method)))
            if config.auth.iter().any(|m| m == method) =>
        {
            Some(account(config, id, method))
        }
        _ => None,
    };
    // r[m19.setuid.restore], r[m19.setuid.lost-superuser]: a change to an
    // account that no longer exists is dropped too.
    let mut real = None;
    if let (Some(Value::String(target)), Some(u)) = (session.data.get(KEY_SETUID), &user) {
        if is_superuser(config, u) && config.account_exists(target) {
            real = user.take();
            user = Some(UserObj {
                name: target.clone(),
                valid: true,
                auth_method: SETUID_METHOD.to_owned(),
            });
        }
    }
    match action {
        AuthAction::None => {}
        AuthAction::Login {
            user: name,
            remember_me,
        } => {
            // r[m19.auth.login-while-logged-in]: a valid user stays.
            let already = user.as_ref().is_some_and(|u| u.valid);
            let method_on = config.auth.iter().any(|m| m == LOGIN_METHOD);
            if !already && method_on && config.account_enabled(name) {
                // r[m19.auth.login], r[m19.lifetime.remember-me-preference]
                state.remember_me.insert(name.clone(), *remember_me);
                user = Some(account(config, name, LOGIN_METHOD));
            }
        }
        // r[m19.auth.failed-login]; ending other sessions is refused in `request`.
        AuthAction::FailedLogin { .. } | AuthAction::EndOtherSessions => {}
        AuthAction::Logout => {
            if let Some(u) = user.as_mut() {
                if u.auth_method == SETUID_METHOD {
                    // r[m19.setuid.logout-reverts]
                    user = real.take();
                } else if config.auth.contains(&u.auth_method) {
                    // r[m19.auth.logout]
                    u.valid = false;
                }
            }
            // r[m19.auth.logout-anonymous]: nothing to do without a user.
        }
        AuthAction::ChangeUser { to } => {
            // r[m19.setuid.change-user], r[m19.setuid.not-superuser],
            // r[m19.setuid.disabled-target], r[m19.setuid.unknown-target]
            if let Some(u) = &user {
                // The check is on the user the request runs as: under an
                // active change user, that is the target.
                if is_superuser(config, u) && config.account_exists(to) {
                    // A chained change keeps the logged-in superuser as
                    // the real user; the new target replaces the old one.
                    let previous = user.take();
                    if real.is_none() {
                        real = previous;
                    }
                    user = Some(UserObj {
                        name: to.clone(),
                        valid: true,
                        auth_method: SETUID_METHOD.to_owned(),
                    });
                }
            }
        }
    }
    (user, real)
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

/// One request cycle of the moin-1.9 profile: an open and its finish at
/// one instant.
pub(crate) fn request(
    state: &mut State,
    req: &Request,
    sids: &mut dyn SidSource,
) -> Result<Response, BackendError> {
    let (open, opened) = open(state, req, sids)?;
    let finished = finish(state, open, req.now);
    Ok(Response {
        new: opened.new,
        user: opened.user,
        set_cookies: finished.set_cookies,
        results: opened.results,
        cache_control: finished.cache_control,
    })
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

    if !session.new {
        // r[m19.persist.expires-recorded]
        session.update(KEY_EXPIRES, Value::from(expires_at));
    }
    if lifetime > 0 && !kill {
        match &user {
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
        }
    } else if !session.new {
        // r[m19.persist.disabled-destroys], r[m19.persist.kill-destroys]
        state.records.remove(&session.sid);
    }
    set_cookies
}

/// `moin maint cleansessions` (`r[m19.cleanup.*]`).
pub(crate) fn cleanup(state: &mut State, req: &CleanupRequest) -> CleanupOutcome {
    // r[m19.cleanup.by-user-unknown]: an unknown account stops the run.
    if let Some(name) = &req.user {
        if !state.config.account_exists(name) {
            return CleanupOutcome::default();
        }
    }
    let mut removed = Vec::new();
    let sids: Vec<String> = state.records.keys().cloned().collect();
    for sid in sids {
        let data = match state.records.get(&sid) {
            Some(Record::Data(d)) => d.clone(),
            Some(Record::Unreadable) => Map::new(),
            None => continue,
        };
        let expires = stored_expires(&data);
        // r[m19.cleanup.load-destroys]: loading destroys an expired record.
        if expires.is_some_and(|e| is_expired(e, req.now)) {
            state.records.remove(&sid);
            removed.push(sid);
            continue;
        }
        // r[m19.cleanup.missing-expires], r[m19.cleanup.unreadable]
        let expired = expires.is_none();
        let mode_ok = match req.mode {
            CleanupMode::All => true,
            CleanupMode::Expired => expired,
        };
        // r[m19.cleanup.by-user]
        let user_ok = match &req.user {
            None => true,
            Some(name) => data.get(KEY_USER_ID) == Some(&Value::from(name.clone())),
        };
        if mode_ok && user_ok {
            state.records.remove(&sid);
            removed.push(sid);
        }
    }
    CleanupOutcome { removed }
}

/// Marks a stored record unreadable; a missing one becomes an unreadable one.
pub(crate) fn corrupt(state: &mut State, sid: &str) {
    state.records.insert(sid.to_owned(), Record::Unreadable);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_cookie_of_the_name_wins() {
        assert_eq!(cookie_value("a=1; b=2; a=3", "a"), Some("1"));
        assert_eq!(cookie_value("ab=1; a=", "a"), Some(""));
        assert_eq!(cookie_value("x=1", "a"), None);
    }

    #[test]
    fn expiry_is_strict() {
        let t = OffsetDateTime::from_unix_timestamp(1000).unwrap();
        assert!(!is_expired(1000, t));
        assert!(is_expired(1000, t + Duration::milliseconds(1)));
        assert!(!is_expired(1001, t));
    }
}
