//! The executable model of the moin-1.6 profile: the authentication chain
//! (`moin_login`, `moin_session`, `moin_anon_session`) run per request as a
//! pure function of (state, input).
//!
//! Implements the `m16.chain.*`, `m16.login.*`, `m16.session.*`,
//! `m16.logincookie.*`, `m16.logout.*`, `m16.anon.*`, `m16.lifetime.*`,
//! `m16.cookie.*`, `m16.store.*`, `m16.cleanup.*` and `m16.macro.*`
//! requirements of `spec/moin-1.6.md`.
//!
//! A logged-in cookie's value is opaque to clients. The model writes it as
//! `login:<token>:<expiry>` and keeps every value it issued, so any value
//! it did not issue (forged or altered) is no login
//! (`r[m16.logincookie.unforgeable]`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use crate::backend::BackendError;
use crate::config::M16Config;
use crate::exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request,
};
use crate::lifetime::m16_logged_in_secs as logged_in_secs;
use crate::sid::{is_cookie_octet, SidSource};

use super::macros::macro_text;

/// The one cookie name of the profile (`r[m16.cookie.name]`).
pub const COOKIE_NAME: &str = "MOIN_SESSION";
const KEY_EXPIRES: &str = "expires";
/// What every response carrying a session Set-Cookie is marked with
/// (`r[m16.cookie.uncacheable]`).
const UNCACHEABLE: &str = "private, must-revalidate, max-age=10";
/// RFC 850 dates, as the original wrote them for old clients.
const RFC850: &[FormatItem<'static>] = format_description!(
    "[weekday], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
);
/// The same with a four-digit year (`r[m16.cookie.expires-year]`).
const RFC850_FULL_YEAR: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day]-[month repr:short]-[year] [hour]:[minute]:[second] GMT"
);

/// One login: its owner, its session record, and every cookie value issued
/// for it (each refresh issues a new one with a new expiry).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Login {
    user: String,
    record: String,
    /// Issued values and the expiry each carries (seconds since the epoch).
    values: BTreeMap<String, i64>,
}

/// Everything the moin-1.6 model remembers between steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) config: M16Config,
    /// Session records by name: anonymous names and login record ids.
    pub(crate) records: BTreeMap<String, Map<String, Value>>,
    /// Live logins by token.
    logins: BTreeMap<String, Login>,
    remember_me: BTreeMap<String, bool>,
}

impl State {
    pub(crate) fn new(config: M16Config) -> Self {
        State {
            config,
            records: BTreeMap::new(),
            logins: BTreeMap::new(),
            remember_me: BTreeMap::new(),
        }
    }
}

/// The anonymous lifetime in whole seconds (`r[m16.lifetime.anon-seconds]`).
fn anon_secs(hours: f64) -> i64 {
    (hours * 3600.0).trunc() as i64
}

/// What the request's cookie is.
enum Sent {
    None,
    Anonymous(String),
    LoggedIn(String),
}

/// The value of the last `MOIN_SESSION` cookie in a Cookie header.
fn sent_cookie(header: Option<&str>) -> Sent {
    let value = header.and_then(|h| {
        h.split(';').rev().find_map(|pair| {
            let pair = pair.trim();
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.trim() == COOKIE_NAME).then(|| v.trim().to_owned())
        })
    });
    match value {
        None => Sent::None,
        // An empty value is no session name (a departure: the original failed).
        Some(v) if v.is_empty() => Sent::None,
        Some(v) if v.contains(':') => Sent::LoggedIn(v),
        // r[m16.session.anon-name-octets]: never echoed, no session.
        Some(v) if !v.bytes().all(is_cookie_octet) => Sent::None,
        Some(v) => Sent::Anonymous(v),
    }
}

/// The two-digit year only for 1970 to 2049, which every reading of a
/// two-digit year agrees on (`r[m16.cookie.expires-year]`).
fn rfc850(t: OffsetDateTime) -> String {
    let form = if (1970..=2049).contains(&t.year()) {
        RFC850
    } else {
        RFC850_FULL_YEAR
    };
    t.format(form)
        .expect("RFC 850 dates format for every supported year")
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("expiries are bounded by validation")
}

/// One request's working state.
struct Cycle<'a> {
    state: &'a mut State,
    now: OffsetDateTime,
    set_cookies: Vec<String>,
    /// The established session's record name, if any.
    established: Option<String>,
    /// The session's data as application code sees it (plain dict when not
    /// established; with `expires` when established).
    data: Map<String, Value>,
    sids: &'a mut dyn SidSource,
}

impl Cycle<'_> {
    fn cookie(&self, value: &str, max_age: i64, expires: i64) -> String {
        let config = &self.state.config;
        let mut c = format!(
            "{COOKIE_NAME}={value}; Max-Age={max_age}; Expires={}; Path={}",
            rfc850(at(expires)),
            config.effective_path()
        );
        if let Some(d) = &config.cookie_domain {
            c.push_str(&format!("; Domain={d}"));
        }
        c
    }

    /// `r[m16.cookie.delete-form]`
    fn delete_cookie(&mut self) {
        let past = self.now - Duration::days(365);
        let c = self.cookie("", 0, past.unix_timestamp());
        self.set_cookies.push(c);
    }

    /// Issues (or refreshes) an anonymous cookie; returns its expiry, or
    /// `None` when anonymous sessions are off.
    fn anon_cookie(&mut self, name: &str) -> Option<i64> {
        let hours = self.state.config.anonymous_cookie_lifetime?;
        let secs = anon_secs(hours);
        let expires = self.now.unix_timestamp() + secs;
        let c = self.cookie(name, secs, expires);
        self.set_cookies.push(c);
        Some(expires)
    }

    /// Establishes the session stored under `name`, whose cookie now
    /// expires at `cookie_expires` (`r[m16.store.expires-grace]`).
    fn establish(&mut self, name: &str, cookie_expires: i64) {
        // The most recently issued cookie's expiry plus an hour, even when
        // that is earlier than the stored value (a shorter lifetime).
        let keep_until = cookie_expires + 3600;
        let mut data = self.state.records.get(name).cloned().unwrap_or_default();
        data.insert(KEY_EXPIRES.to_owned(), Value::from(keep_until));
        if self.state.records.contains_key(name) {
            self.state.records.insert(name.to_owned(), data.clone());
        }
        self.established = Some(name.to_owned());
        self.data = data;
    }

    /// Issues a logged-in cookie for `user` under `token`; returns its expiry.
    fn login_cookie(&mut self, token: &str, user: &str) -> i64 {
        let remember_me = self.state.remember_me.get(user).copied().unwrap_or(true);
        let secs = logged_in_secs(self.state.config.cookie_lifetime, remember_me);
        let expires = self.now.unix_timestamp() + secs;
        let value = format!("login:{token}:{expires}");
        let c = self.cookie(&value, secs, expires);
        self.set_cookies.push(c);
        if let Some(login) = self.state.logins.get_mut(token) {
            login.values.insert(value, expires);
        }
        expires
    }

    /// The live login a logged-in cookie value belongs to, if it verifies
    /// and has not expired (`r[m16.logincookie.*]`).
    fn verify(&self, value: &str) -> Option<String> {
        let token = value.strip_prefix("login:")?.split(':').next()?;
        let login = self.state.logins.get(token)?;
        let expires = *login.values.get(value)?;
        // r[m16.logincookie.expiry]: `expires < now` is expired.
        if i128::from(expires) * 1_000_000_000 < self.now.unix_timestamp_nanos() {
            return None;
        }
        Some(token.to_owned())
    }
}

/// A request between its open and its finish: its established session's
/// view (`r[m16.overlap.read-once]`) and the response's headers, made at
/// the open.
#[derive(Debug, Clone)]
pub(crate) struct Open {
    established: Option<String>,
    data: Map<String, Value>,
    new: bool,
    set_cookies: Vec<String>,
}

/// Writes the request's whole view through to the store
/// (`r[m16.store.write-through]`, `r[m16.store.data-only]`,
/// `r[m16.store.delete-last-key]`, `r[m16.overlap.write-through-view]`,
/// `r[m16.overlap.delete-last-key]`).
fn write_through(state: &mut State, open: &Open) {
    if let Some(name) = &open.established {
        if open.data.keys().any(|k| k != KEY_EXPIRES) {
            state.records.insert(name.clone(), open.data.clone());
        } else {
            state.records.remove(name);
        }
    }
}

/// Opens a request: the whole chain, then the open's ops, at `req.now`.
pub(crate) fn open(
    state: &mut State,
    req: &Request,
    sids: &mut dyn SidSource,
) -> Result<(Open, Opened), BackendError> {
    if matches!(req.auth, AuthAction::ChangeUser { .. }) {
        return Err(BackendError::InvalidInput {
            message: "change user is not part of profile moin-1.6".to_owned(),
        });
    }
    if matches!(req.auth, AuthAction::EndOtherSessions) {
        return Err(BackendError::InvalidInput {
            message: "ending other sessions is not part of profile moin-1.6".to_owned(),
        });
    }
    let sent = sent_cookie(req.cookie_header.as_deref());
    let chain = state.config.auth.clone();
    let mut cycle = Cycle {
        state,
        now: req.now,
        set_cookies: Vec::new(),
        established: None,
        data: Map::new(),
        sids,
    };
    // The user the chain has so far: (name, valid).
    let mut user: Option<(String, bool)> = None;
    let login_flag = matches!(
        req.auth,
        AuthAction::Login { .. } | AuthAction::FailedLogin { .. }
    );
    for method in &chain {
        match method.as_str() {
            // r[m16.login.credentials]
            "moin_login" => {
                if let AuthAction::Login {
                    user: name,
                    remember_me,
                } = &req.auth
                {
                    if cycle.state.config.account_enabled(name) {
                        cycle.state.remember_me.insert(name.clone(), *remember_me);
                        user = Some((name.clone(), true));
                    }
                }
            }
            "moin_session" => moin_session(&mut cycle, &sent, &req.auth, login_flag, &mut user),
            "moin_anon_session" => {
                // r[m16.anon.issue-only]: a cookie only, no session.
                if cycle.established.is_none() {
                    let name = cycle.sids.next_sid();
                    cycle.anon_cookie(&name);
                }
            }
            other => {
                return Err(BackendError::InvalidInput {
                    message: format!("unknown auth method {other:?}"),
                })
            }
        }
    }
    let Cycle {
        state,
        set_cookies,
        established,
        data,
        ..
    } = cycle;
    let mut open = Open {
        new: established.is_none(),
        established,
        data,
        set_cookies,
    };
    let results = ops(state, &mut open, &req.ops)?;
    let opened = Opened {
        new: open.new,
        user: user.filter(|(_, valid)| *valid).map(|(name, _)| name),
        results,
    };
    Ok((open, opened))
}

/// Runs application code in an open request: every write stores the
/// request's whole view at once (`r[m16.overlap.write-through-view]`).
pub(crate) fn ops(
    state: &mut State,
    open: &mut Open,
    ops: &[Op],
) -> Result<Vec<Value>, BackendError> {
    let mut results = Vec::new();
    for op in ops {
        match op {
            Op::Set { key, value } => {
                check_key(key)?;
                open.data.insert(key.clone(), value.clone());
                write_through(state, open);
            }
            Op::Get { key } => {
                check_key(key)?;
                results.push(open.data.get(key).cloned().unwrap_or(Value::Null));
            }
            Op::Delete { key } => {
                check_key(key)?;
                if open.data.remove(key).is_some() {
                    write_through(state, open);
                }
            }
            Op::Macro { edition, random } => {
                if *edition == crate::exchange::MacroEdition::V19 {
                    return Err(BackendError::InvalidInput {
                        message: "the 1.9 example macro needs is_new, which moin-1.6 sessions lack"
                            .to_owned(),
                    });
                }
                let mut modified = false;
                let text = macro_text(&mut open.data, &mut modified, open.new, *edition, *random);
                if modified {
                    write_through(state, open);
                }
                results.push(Value::String(text));
            }
        }
    }
    Ok(results)
}

/// Finishes an open request: the headers made at its open
/// (`r[m16.overlap.read-only]`: nothing is stored at the finish).
pub(crate) fn finish(open: Open) -> Finished {
    let cache_control = (!open.set_cookies.is_empty()).then(|| UNCACHEABLE.to_owned());
    Finished {
        set_cookies: open.set_cookies,
        cache_control,
    }
}

fn check_key(key: &str) -> Result<(), BackendError> {
    if key == KEY_EXPIRES {
        return Err(BackendError::InvalidInput {
            message: "\"expires\" is a reserved session key of moin-1.6".to_owned(),
        });
    }
    Ok(())
}

/// `moin_session` (`r[m16.session.*]`, `r[m16.login.*]`, `r[m16.logout.*]`).
fn moin_session(
    cycle: &mut Cycle<'_>,
    sent: &Sent,
    auth: &AuthAction,
    login_flag: bool,
    user: &mut Option<(String, bool)>,
) {
    if login_flag {
        match user.clone() {
            Some((name, true)) => {
                // r[m16.login.issues-cookie], r[m16.login.migrates-anon]
                let migrated = match sent {
                    Sent::Anonymous(anon) => cycle.state.records.remove(anon),
                    _ => None,
                };
                let token = cycle.sids.next_sid();
                let record = token.clone();
                cycle.state.logins.insert(
                    token.clone(),
                    Login {
                        user: name.clone(),
                        record: record.clone(),
                        values: BTreeMap::new(),
                    },
                );
                let expires = cycle.login_cookie(&token, &name);
                if let Some(mut data) = migrated {
                    data.remove(KEY_EXPIRES);
                    if !data.is_empty() {
                        cycle.state.records.insert(record.clone(), data);
                    }
                }
                cycle.establish(&record, expires);
            }
            _ => {
                // r[m16.login.failed-keeps-anon], r[m16.login.failed-with-login-cookie]
                if let Sent::Anonymous(anon) = sent {
                    if let Some(expires) = cycle.anon_cookie(anon) {
                        cycle.establish(anon, expires);
                    }
                }
            }
        }
        return;
    }
    match sent {
        // r[m16.session.no-cookie]
        Sent::None => {}
        Sent::Anonymous(anon) => {
            // r[m16.session.anon-refresh], r[m16.session.anon-disabled],
            // r[m16.logout.anonymous]
            if let Some(expires) = cycle.anon_cookie(anon) {
                cycle.establish(anon, expires);
            }
        }
        Sent::LoggedIn(value) => {
            // r[m16.logincookie.ignored-not-deleted]: an ignored cookie is left alone.
            let Some(token) = cycle.verify(value) else {
                return;
            };
            let login = cycle
                .state
                .logins
                .get(&token)
                .expect("verify found it")
                .clone();
            if matches!(auth, AuthAction::Logout) {
                // r[m16.logout.kills], r[m16.logincookie.revoked],
                // r[m16.logout.account-invalid]: the account is not checked.
                *user = Some((login.user.clone(), false));
                cycle.state.logins.remove(&token);
                cycle.state.records.remove(&login.record);
                cycle.delete_cookie();
                return;
            }
            // r[m16.session.login-account-invalid]
            if !cycle.state.config.account_enabled(&login.user) {
                return;
            }
            // r[m16.session.login-refresh], r[m16.logincookie.bound]
            *user = Some((login.user.clone(), true));
            let expires = cycle.login_cookie(&token, &login.user);
            cycle.establish(&login.record, expires);
        }
    }
}

/// Cleanup (`r[m16.cleanup.*]`): removes records whose `expires` is before
/// now, or every record.
pub(crate) fn cleanup(
    state: &mut State,
    req: &CleanupRequest,
) -> Result<CleanupOutcome, BackendError> {
    if req.user.is_some() {
        return Err(BackendError::InvalidInput {
            message: "cleanup by user is not part of profile moin-1.6".to_owned(),
        });
    }
    let now = req.now.unix_timestamp_nanos();
    let removed: BTreeSet<String> = state
        .records
        .iter()
        .filter(|(_, data)| match req.mode {
            CleanupMode::All => true,
            CleanupMode::Expired => data
                .get(KEY_EXPIRES)
                .and_then(Value::as_i64)
                .is_some_and(|e| i128::from(e) * 1_000_000_000 < now),
        })
        .map(|(name, _)| name.clone())
        .collect();
    state.records.retain(|name, _| !removed.contains(name));
    Ok(CleanupOutcome {
        removed: removed.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc850_dates_parse_back() {
        let t = time::macros::datetime!(2009-03-01 13:00:05 UTC);
        assert_eq!(rfc850(t), "Sunday, 01-Mar-09 13:00:05 GMT");
        let c = cookie::Cookie::parse(format!("A=1; Expires={}", rfc850(t))).unwrap();
        assert_eq!(c.expires_datetime(), Some(t));
        for t in [
            time::macros::datetime!(2050-01-01 00:00:00 UTC),
            time::macros::datetime!(2074-12-30 10:00:00 UTC),
        ] {
            assert!(rfc850(t).contains(&format!("-{} ", t.year())));
            let c = cookie::Cookie::parse(format!("A=1; Expires={}", rfc850(t))).unwrap();
            assert_eq!(c.expires_datetime(), Some(t));
        }
    }

    #[test]
    fn the_last_cookie_of_the_name_is_used_and_forms_are_told_apart() {
        assert!(
            matches!(sent_cookie(Some("MOIN_SESSION=a; MOIN_SESSION=b")), Sent::Anonymous(v) if v == "b")
        );
        assert!(matches!(
            sent_cookie(Some("MOIN_SESSION=x:y")),
            Sent::LoggedIn(_)
        ));
        assert!(matches!(sent_cookie(Some("MOIN_SESSION=")), Sent::None));
        assert!(matches!(sent_cookie(Some("OTHER=a")), Sent::None));
    }
}
