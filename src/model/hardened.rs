//! The executable model of the hardened profile: one request cycle, one
//! cleanup and one reconfiguration as pure functions of (state, input).
//!
//! The profile is a delta on moin-1.9 (`spec/hardened.md`): every moin-1.9
//! clause holds unless a hardened clause replaces it. Implements
//! `r[hard.sid.entropy]` (through the injected source),
//! `r[hard.load.unknown-sid-refused]`, `r[hard.load.malformed-before-store]`,
//! `r[hard.load.unreadable-destroyed]`, `r[hard.load.cookie-header-limit]`,
//! every `r[hard.rotate.*]`, `r[hard.timeout.*]`, `r[hard.cookie.*]`,
//! `r[hard.finalize.delete-presented]`, `r[hard.persist.*]`,
//! `r[hard.end.*]`, `r[hard.new.definition]`, `r[hard.cleanup.load-destroys]`,
//! `r[hard.store.removals]` and `r[hard.overlap.*]`, with the moin-1.9
//! clauses they leave standing (authentication, change user, cleanup, the
//! store). Each step cites its clause; finalize (the cookie and the
//! record) is in `hardened_finalize.rs`. The model is one value changed by
//! one call at a time, so every finish is one step
//! (`r[hard.overlap.finish-atomic]`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::backend::BackendError;
use crate::config::HardenedConfig;
use crate::exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request,
};
use crate::sid::{is_well_formed, SidSource};

use super::hardened_finalize::finalize;
pub(crate) use super::hardened_session::State;
use super::hardened_session::{
    whole_second, RealUser, Session, Users, KEY_AUTH_AT, KEY_AUTH_METHOD, KEY_EXPIRES, KEY_SETUID,
    KEY_USER_ID, RESERVED_KEYS,
};
use super::m19::cookie_value;
use super::m19_state::{is_expired, Record};
use super::macros::macro_text;

const LOGIN_METHOD: &str = "moin";
/// The key the HelpOnSessions example macro stores.
const MACRO_KEY: &str = "test";

/// Load (`r[hard.load.*]` and the moin-1.9 load clauses they leave).
fn load(
    state: &mut State,
    sid: Option<&str>,
    now: OffsetDateTime,
    sids: &mut dyn SidSource,
) -> Session {
    let fresh = |sids: &mut dyn SidSource| Session {
        sid: sids.next_sid(),
        data: Map::new(),
        new: true,
        writes: BTreeMap::new(),
    };
    let Some(sid) = sid else {
        return fresh(sids);
    };
    // r[hard.load.malformed-before-store]: the store is not consulted.
    if !is_well_formed(sid) {
        return fresh(sids);
    }
    let data = match state.records.get(sid) {
        // r[hard.load.unknown-sid-refused]
        None => return fresh(sids),
        // r[hard.load.unreadable-destroyed]
        Some(Record::Unreadable) => {
            state.records.remove(sid);
            return fresh(sids);
        }
        Some(Record::Data(data)) => data.clone(),
    };
    if let Some(expires) = data.get(KEY_EXPIRES).and_then(Value::as_i64) {
        if is_expired(expires, now) {
            // r[m19.load.expired-destroyed], r[hard.end.expiry]
            state.records.remove(sid);
            return fresh(sids);
        }
    }
    Session {
        sid: sid.to_owned(),
        data,
        new: false,
        writes: BTreeMap::new(),
    }
}

/// Whether the user the request runs as (a valid user) is a superuser.
fn is_superuser(config: &HardenedConfig, name: &str) -> bool {
    config.superusers.iter().any(|s| s == name)
}

/// Authentication (moin-1.9 sections 12 and 13, with rotation).
fn authenticate(state: &mut State, session: &Session, req: &Request) -> Users {
    let config = &state.config;
    let data = &session.data;
    let mut users = Users {
        logged_in: false,
        real: None,
        setuid: None,
        rotate: false,
    };
    // r[m19.auth.restore]; a record without its authentication instant
    // holds no authentication.
    if let (Some(Value::String(id)), Some(Value::String(method)), Some(auth_at)) = (
        data.get(KEY_USER_ID),
        data.get(KEY_AUTH_METHOD),
        data.get(KEY_AUTH_AT).and_then(Value::as_i64),
    ) {
        if config.auth.contains(method) && config.account_enabled(id) {
            users.real = Some(RealUser {
                name: id.clone(),
                method: method.clone(),
                auth_at,
            });
        }
    }
    // r[m19.setuid.restore], r[m19.setuid.lost-superuser]
    if let (Some(real), Some(Value::String(target))) = (&users.real, data.get(KEY_SETUID)) {
        if is_superuser(config, &real.name) && config.account_exists(target) {
            users.setuid = Some(target.clone());
        }
    }
    match &req.auth {
        AuthAction::None | AuthAction::FailedLogin { .. } => {}
        AuthAction::Login { user, remember_me } => {
            // r[m19.auth.login-while-logged-in]: ignored when a user is valid.
            if users.real.is_none()
                && config.auth.iter().any(|m| m == LOGIN_METHOD)
                && config.account_enabled(user)
            {
                state.remember_me.insert(user.clone(), *remember_me);
                users.real = Some(RealUser {
                    name: user.clone(),
                    method: LOGIN_METHOD.to_owned(),
                    auth_at: whole_second(req.now),
                });
                // r[hard.rotate.login]
                users.rotate = true;
                users.logged_in = true;
            }
        }
        AuthAction::Logout => {
            if users.setuid.is_some() {
                // r[m19.setuid.logout-reverts], r[hard.rotate.change-user-end]
                users.setuid = None;
                users.rotate = true;
            } else {
                // r[m19.auth.logout]: finalize kills the session.
                users.real = None;
            }
        }
        AuthAction::ChangeUser { to } => {
            let runs_as = users
                .setuid
                .clone()
                .or_else(|| users.real.as_ref().map(|r| r.name.clone()));
            if let Some(runs_as) = runs_as {
                if is_superuser(config, &runs_as) && config.account_exists(to) {
                    // r[m19.setuid.change-user], r[hard.rotate.change-user]
                    users.setuid = Some(to.clone());
                    users.rotate = true;
                }
            }
        }
        AuthAction::EndOtherSessions => {
            // r[hard.end.others]: the real user's other records go now.
            if let Some(real) = &users.real {
                let name = Value::from(real.name.clone());
                state.records.retain(|sid, record| {
                    *sid == session.sid
                        || !matches!(record, Record::Data(d) if d.get(KEY_USER_ID) == Some(&name))
                });
            }
        }
    }
    users
}

fn run_ops(session: &mut Session, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
    let mut results = Vec::new();
    let mut ignored = false;
    for op in ops {
        let key = match op {
            Op::Set { key, .. } | Op::Get { key } | Op::Delete { key } => Some(key),
            Op::Macro { .. } => None,
        };
        if let Some(key) = key {
            if RESERVED_KEYS.contains(&key.as_str()) {
                return Err(BackendError::InvalidInput {
                    message: format!(
                        "{key:?} is a reserved session key (r[m19.persist.reserved-keys])"
                    ),
                });
            }
        }
        match op {
            Op::Set { key, value } => {
                if value.is_null() {
                    return Err(BackendError::InvalidInput {
                        message: format!(
                            "the value stored under {key:?} is null, which the spec does not allow"
                        ),
                    });
                }
                session.data.insert(key.clone(), value.clone());
                session.writes.insert(key.clone(), Some(value.clone()));
            }
            Op::Get { key } => results.push(session.data.get(key).cloned().unwrap_or(Value::Null)),
            Op::Delete { key } => {
                // r[hard.overlap.write-set]: a delete of an absent key does
                // nothing and is not a write.
                if session.data.remove(key).is_some() {
                    session.writes.insert(key.clone(), None);
                }
            }
            Op::Macro { edition, random } => {
                let before = session.data.get(MACRO_KEY).cloned();
                results.push(Value::String(macro_text(
                    &mut session.data,
                    &mut ignored,
                    session.new,
                    *edition,
                    *random,
                )));
                let after = session.data.get(MACRO_KEY).cloned();
                if after != before {
                    session.writes.insert(MACRO_KEY.to_owned(), after);
                }
            }
        }
    }
    Ok(results)
}

/// A request between its open and its finish (`r[hard.overlap.snapshot]`).
#[derive(Debug, Clone)]
pub(crate) struct Open {
    session: Session,
    users: Users,
    presented: bool,
    https: bool,
    /// The real user's `remember_me` preference at the open.
    remember_me: bool,
}

/// Opens a request: load, authentication and the request's ops.
pub(crate) fn open(
    state: &mut State,
    req: &Request,
    sids: &mut dyn SidSource,
) -> Result<(Open, Opened), BackendError> {
    let name = state.config.cookie_full_name();
    // r[hard.load.cookie-header-limit]: an oversized header is not read.
    let header = req
        .cookie_header
        .as_deref()
        .filter(|h| h.len() as u64 <= state.config.max_cookie_header);
    let sent = header.and_then(|h| cookie_value(h, &name));
    let presented = sent.is_some();
    let mut session = load(state, sent, req.now, sids);
    let new = session.new;
    let users = authenticate(state, &session, req);
    let results = run_ops(&mut session, &req.ops)?;
    let user = users
        .setuid
        .clone()
        .or_else(|| users.real.as_ref().map(|r| r.name.clone()));
    let remember_me = users
        .real
        .as_ref()
        .is_some_and(|r| state.remember_me.get(&r.name).copied().unwrap_or(true));
    let open = Open {
        session,
        users,
        presented,
        https: req.https,
        remember_me,
    };
    Ok((open, Opened { new, user, results }))
}

/// More application code in an open request.
pub(crate) fn ops(open: &mut Open, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
    run_ops(&mut open.session, ops)
}

/// Finishes an open request at `now`: stale or a commit
/// (`r[hard.overlap.stale]`, `r[hard.overlap.stale-login]`,
/// `r[hard.overlap.commit]`).
pub(crate) fn finish(
    state: &mut State,
    open: Open,
    now: OffsetDateTime,
    sids: &mut dyn SidSource,
) -> Finished {
    let Open {
        mut session,
        users,
        mut presented,
        https,
        remember_me,
    } = open;
    if !session.new {
        let current = match state.records.get(&session.sid) {
            Some(Record::Data(d))
                if !d
                    .get(KEY_EXPIRES)
                    .and_then(Value::as_i64)
                    .is_some_and(|e| is_expired(e, now)) =>
            {
                Some(d.clone())
            }
            _ => None,
        };
        match current {
            Some(mut data) => {
                // r[hard.overlap.commit]: the write set over the stored record.
                for (key, write) in &session.writes {
                    match write {
                        Some(v) => data.insert(key.clone(), v.clone()),
                        None => data.remove(key),
                    };
                }
                session.data = data;
            }
            None if users.logged_in => {
                // r[hard.overlap.stale-login]: a fresh session of the write
                // set; as a stale request it deletes nothing, even when the
                // logged-in lifetime is zero.
                presented = false;
                session.sid = sids.next_sid();
                session.new = true;
                session.data = session
                    .writes
                    .iter()
                    .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                    .collect();
            }
            // r[hard.overlap.stale]: nothing stored, destroyed or sent.
            None => return Finished::default(),
        }
    }
    let set_cookies = finalize(
        state,
        &mut session,
        &users,
        remember_me,
        now,
        https,
        presented,
        sids,
    );
    Finished {
        set_cookies,
        cache_control: None,
    }
}

/// Takes a new configuration; every record of an account that no longer
/// exists or is disabled is destroyed (`r[hard.end.account-disabled]`).
pub(crate) fn reconfigure(state: &mut State, config: HardenedConfig) {
    state.records.retain(|_, record| match record {
        Record::Data(d) => match d.get(KEY_USER_ID) {
            Some(Value::String(user)) => config.account_enabled(user),
            _ => true,
        },
        Record::Unreadable => true,
    });
    state.config = config;
}

/// Cleanup: the moin-1.9 rules (`r[m19.cleanup.*]`), where every run that
/// loads removes what a load would destroy, unreadable records included
/// (`r[hard.cleanup.load-destroys]`).
pub(crate) fn cleanup(state: &mut State, req: &CleanupRequest) -> CleanupOutcome {
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
            Some(Record::Unreadable) => {
                // r[hard.cleanup.load-destroys]: loading destroys it.
                state.records.remove(&sid);
                removed.push(sid);
                continue;
            }
            None => continue,
        };
        let expires = data.get(KEY_EXPIRES).and_then(Value::as_i64);
        let expired = expires.is_some_and(|e| is_expired(e, req.now));
        let mode_ok = match req.mode {
            CleanupMode::All => true,
            CleanupMode::Expired => expires.is_none(),
        };
        let user_ok = match &req.user {
            None => true,
            Some(name) => data.get(KEY_USER_ID) == Some(&Value::from(name.clone())),
        };
        if expired || (mode_ok && user_ok) {
            state.records.remove(&sid);
            removed.push(sid);
        }
    }
    CleanupOutcome { removed }
}

/// Marks a stored record unreadable.
pub(crate) fn corrupt(state: &mut State, sid: &str) {
    state.records.insert(sid.to_owned(), Record::Unreadable);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_up() {
        let t = OffsetDateTime::from_unix_timestamp(100).unwrap();
        assert_eq!(whole_second(t), 100);
        assert_eq!(whole_second(t + time::Duration::milliseconds(1)), 101);
    }
}
