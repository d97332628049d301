//! The reference service of the hardened profile over a [`Store`]:
//! [`HardenedSessionService`].
//!
//! Written from `spec/hardened.md` (a delta on `spec/moin-1.9.md`)
//! independently of the model. Implements, by section of the spec:
//!
//! - identifiers and load: `r[hard.sid.entropy]` (with [`OsSids`]),
//!   `r[hard.load.unknown-sid-refused]`, `r[hard.load.malformed-before-store]`,
//!   `r[hard.load.unreadable-destroyed]`, `r[hard.load.cookie-header-limit]`;
//! - rotation: `r[hard.rotate.login]`, `r[hard.rotate.change-user]`,
//!   `r[hard.rotate.change-user-end]`, `r[hard.rotate.carry-data]`,
//!   `r[hard.rotate.old-destroyed]`;
//! - timeouts: `r[hard.timeout.idle]`, `r[hard.timeout.absolute]`,
//!   `r[hard.timeout.remember-me]`;
//! - the cookie: `r[hard.cookie.400-days]`, `r[hard.cookie.max-age-within]`,
//!   `r[hard.cookie.httponly]`, `r[hard.cookie.samesite]`,
//!   `r[hard.cookie.secure]`, `r[hard.cookie.host-prefix]`,
//!   `r[hard.cookie.delete-form]`, `r[hard.finalize.delete-presented]`;
//! - persistence: `r[hard.persist.issue-stores]`, `r[hard.persist.expires-at-once]`;
//! - termination: `r[hard.end.logout]`, `r[hard.end.expiry]`,
//!   `r[hard.end.account-disabled]`, `r[hard.end.others]`;
//! - cleanup and the store: `r[hard.cleanup.load-destroys]`,
//!   `r[hard.store.removals]`, `r[hard.store.atomic-update]`;
//! - overlapping requests: `r[hard.overlap.*]`, the finish one atomic
//!   update of the store (`commit.rs`, `r[hard.overlap.finish-atomic]`);
//! - and the moin-1.9 clauses no hardened clause replaces (authentication,
//!   change user, cleanup, the store).
//!
//! The record under a sid holds the application's keys and the reserved
//! keys `expires`, `user.id`, `user.auth_method`, `user.auth_attribs`,
//! `user.auth_at` (the instant of authentication) and `setuid`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;

use crate::config::HardenedConfig;
use crate::exchange::Opened;
use crate::exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Op, Request, Response,
};
use crate::sid::{is_well_formed, SidSource};
use crate::store::{Loaded, Record, Store};

mod commit;
mod cookie;
use super::pipeline::{first_cookie, refuse_reserved, run_ops, service_basics, ServiceError};

const EXPIRES: &str = "expires";
const USER_ID: &str = "user.id";
const USER_METHOD: &str = "user.auth_method";
const USER_ATTRIBS: &str = "user.auth_attribs";
const AUTH_AT: &str = "user.auth_at";
const SETUID: &str = "setuid";
const RESERVED: [&str; 6] = [EXPIRES, USER_ID, USER_METHOD, USER_ATTRIBS, AUTH_AT, SETUID];
const LOGIN_METHOD: &str = "moin";

service_basics! {
    /// The hardened session service over a store.
    ///
    /// ```
    /// use moin_session_spec::{
    ///     AuthAction, Config, ConfigPatch, HardenedSessionService, MemoryStore, Profile, Request,
    ///     sid::SeededSids, store::Store,
    /// };
    /// let config = Config::build(Profile::Hardened, &[ConfigPatch {
    ///     users: Some(vec!["alice".into()]),
    ///     ..ConfigPatch::default()
    /// }]).unwrap();
    /// let mut service = HardenedSessionService::new(
    ///     MemoryStore::new(),
    ///     config.as_hardened().unwrap().clone(),
    ///     SeededSids::new(1),
    /// );
    /// // A client-chosen sid is never adopted: the login gets a fresh one.
    /// let planted = "0123456789abcdef0123456789abcdef01234567";
    /// let response = service.handle(&Request {
    ///     now: time::macros::datetime!(2023-11-14 22:13:50 UTC),
    ///     https: true,
    ///     path: "/".into(),
    ///     cookie_header: Some(format!("MOIN_SESSION_8080_ROOT={planted}")),
    ///     auth: AuthAction::Login { user: "alice".into(), remember_me: false },
    ///     ops: vec![],
    /// }).unwrap();
    /// assert_eq!(response.user.as_deref(), Some("alice"));
    /// assert!(!response.set_cookies[0].contains(planted));
    /// assert!(response.set_cookies[0].contains("HttpOnly"));
    /// assert!(response.set_cookies[0].contains("SameSite=Lax"));
    /// assert!(!service.store().list().unwrap().contains(&planted.to_owned()));
    /// ```
    HardenedSessionService, HardenedConfig
}

/// A hardened request between its open and its finish
/// ([`HardenedSessionService::open`]): its snapshot, who it runs as, and
/// its write set.
pub struct HardenedOpen {
    session: Loaded2,
    real: Option<Real>,
    setuid: Option<String>,
    rotate: bool,
    logged_in: bool,
    presented: bool,
    https: bool,
    /// The real user's `remember_me` preference at the open.
    remember_me: bool,
    /// Per key, the last set (`Some`) or delete (`None`).
    writes: BTreeMap<String, Option<Value>>,
}

impl fmt::Debug for HardenedOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HardenedOpen")
            .field("new", &self.session.new)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

/// Refuses ops on reserved keys (`r[m19.persist.reserved-keys]`).
fn check_ops(ops: &[Op]) -> Result<(), ServiceError> {
    refuse_reserved(ops, &RESERVED)
}

/// The key the HelpOnSessions example macro stores.
const MACRO_KEY: &str = "test";

/// What load produced.
struct Loaded2 {
    sid: String,
    new: bool,
    /// Application keys only.
    data: Record,
    /// The reserved keys of the loaded record.
    reserved: Record,
}

/// The authenticated real user.
#[derive(Clone)]
struct Real {
    name: String,
    method: String,
    auth_at: i64,
}

impl<S: Store> HardenedSessionService<S> {
    /// Takes a new configuration, keeping the store and the preferences,
    /// and ends every session of an account the new configuration no
    /// longer has or has disabled (`r[hard.end.account-disabled]`).
    pub fn set_config(&mut self, config: HardenedConfig) -> Result<(), ServiceError> {
        self.config = config;
        let config = &self.config;
        for sid in self.store.list()? {
            let gone = |loaded: &Loaded| match loaded {
                Loaded::Record(r) => r
                    .get(USER_ID)
                    .and_then(Value::as_str)
                    .is_some_and(|user| !config.account_enabled(user)),
                Loaded::Unreadable => false,
            };
            self.store.delete_if(&sid, &gone)?;
        }
        Ok(())
    }

    /// Runs one request cycle at `request.now`: an open and its finish at
    /// one instant.
    pub fn handle(&mut self, request: &Request) -> Result<Response, ServiceError> {
        let (open, opened) = self.open(request)?;
        let finished = self.finish(open, request.now)?;
        Ok(Response::of(opened, finished))
    }

    /// Opens a request at `request.now`: load, authentication and the
    /// request's ops (`r[hard.overlap.snapshot]`).
    pub fn open(&mut self, request: &Request) -> Result<(HardenedOpen, Opened), ServiceError> {
        check_ops(&request.ops)?;
        let name = self.config.cookie_full_name();
        let limit = self.config.max_cookie_header;
        let value = request
            .cookie_header
            .as_deref()
            .filter(|h| u64::try_from(h.len()).is_ok_and(|n| n <= limit))
            .and_then(|h| first_cookie(h, &name));
        let presented = value.is_some();
        let session = self.load(value, request.now)?;
        let second = ceil_second(request.now);
        let mut real = self.restore(&session);
        let mut setuid = real
            .as_ref()
            .filter(|r| self.is_superuser(&r.name))
            .and_then(|_| session.reserved.get(SETUID).and_then(Value::as_str))
            .filter(|target| self.config.account_exists(target))
            .map(str::to_owned);
        let mut rotate = false;
        let mut logged_in = false;
        match &request.auth {
            AuthAction::Login { user, remember_me } => {
                if real.is_none()
                    && self.config.auth.iter().any(|m| m == LOGIN_METHOD)
                    && self.config.account_enabled(user)
                {
                    self.preferences.insert(user.clone(), *remember_me);
                    real = Some(Real {
                        name: user.clone(),
                        method: LOGIN_METHOD.to_owned(),
                        auth_at: second,
                    });
                    rotate = true;
                    logged_in = true;
                }
            }
            AuthAction::Logout => {
                if setuid.take().is_some() {
                    rotate = true;
                } else {
                    real = None;
                }
            }
            AuthAction::ChangeUser { to } => {
                let runs_as = setuid.clone().or(real.as_ref().map(|r| r.name.clone()));
                if runs_as.is_some_and(|u| self.is_superuser(&u)) && self.config.account_exists(to)
                {
                    setuid = Some(to.clone());
                    rotate = true;
                }
            }
            AuthAction::EndOtherSessions => {
                if let Some(r) = &real {
                    self.end_others(&r.name, &session.sid)?;
                }
            }
            AuthAction::None | AuthAction::FailedLogin { .. } => {}
        }
        let remember_me = real.as_ref().is_some_and(|r| self.remember_me(&r.name));
        let mut open = HardenedOpen {
            session,
            real,
            setuid,
            rotate,
            logged_in,
            presented,
            https: request.https,
            remember_me,
            writes: BTreeMap::new(),
        };
        let results = self.ops(&mut open, &request.ops)?;
        let effective = open
            .setuid
            .clone()
            .or(open.real.as_ref().map(|r| r.name.clone()));
        let opened = Opened {
            new: open.session.new,
            user: effective,
            results,
        };
        Ok((open, opened))
    }

    /// Runs more application code in an open request, recording its write
    /// set (`r[hard.overlap.write-set]`).
    pub fn ops(&self, open: &mut HardenedOpen, ops: &[Op]) -> Result<Vec<Value>, ServiceError> {
        check_ops(ops)?;
        let session = &mut open.session;
        let mut results = Vec::new();
        for op in ops {
            let before = session.data.get(MACRO_KEY).cloned();
            // A delete of an absent key is not a write
            // (`r[hard.overlap.write-set]`).
            let held = matches!(op, Op::Delete { key } if session.data.contains_key(key));
            results.extend(run_ops(
                &mut session.data,
                session.new,
                std::slice::from_ref(op),
            ));
            match op {
                Op::Set { key, value } => {
                    open.writes.insert(key.clone(), Some(value.clone()));
                }
                Op::Delete { key } => {
                    if held {
                        open.writes.insert(key.clone(), None);
                    }
                }
                Op::Macro { .. } => {
                    let after = session.data.get(MACRO_KEY).cloned();
                    if after != before {
                        open.writes.insert(MACRO_KEY.to_owned(), after);
                    }
                }
                Op::Get { .. } => {}
            }
        }
        Ok(results)
    }

    fn is_superuser(&self, name: &str) -> bool {
        self.config.superusers.iter().any(|s| s == name)
    }

    /// Load: only a sid with a readable, unexpired record is used.
    fn load(&mut self, value: Option<&str>, now: OffsetDateTime) -> Result<Loaded2, ServiceError> {
        let Some(sid) = value.filter(|v| is_well_formed(v)) else {
            return Ok(self.fresh());
        };
        let record = match self.store.load(sid)? {
            None => return Ok(self.fresh()),
            Some(loaded @ Loaded::Unreadable) => {
                // Only what was seen: a save since the load is not lost.
                self.store.delete_if(sid, &|l| *l == loaded)?;
                return Ok(self.fresh());
            }
            Some(Loaded::Record(record)) => record,
        };
        if expired_record(&record, now) {
            self.store.delete_if(sid, &|l| expired(l, now))?;
            return Ok(self.fresh());
        }
        let (reserved, data) = record
            .into_iter()
            .partition(|(k, _)| RESERVED.contains(&k.as_str()));
        Ok(Loaded2 {
            sid: sid.to_owned(),
            new: false,
            data,
            reserved,
        })
    }

    fn fresh(&mut self) -> Loaded2 {
        Loaded2 {
            sid: self.sids.next_sid(),
            new: true,
            data: Record::new(),
            reserved: Record::new(),
        }
    }

    fn restore(&self, session: &Loaded2) -> Option<Real> {
        let r = &session.reserved;
        let name = r.get(USER_ID)?.as_str()?;
        let method = r.get(USER_METHOD)?.as_str()?;
        let auth_at = r.get(AUTH_AT)?.as_i64()?;
        (self.config.auth.iter().any(|m| m == method) && self.config.account_enabled(name)).then(
            || Real {
                name: name.to_owned(),
                method: method.to_owned(),
                auth_at,
            },
        )
    }

    /// Destroys every record of `user` but `keep`.
    fn end_others(&mut self, user: &str, keep: &str) -> Result<(), ServiceError> {
        for sid in self.store.list()? {
            if sid == keep {
                continue;
            }
            let holds = |loaded: &Loaded| matches!(loaded, Loaded::Record(r) if r.get(USER_ID).and_then(Value::as_str) == Some(user));
            self.store.delete_if(&sid, &holds)?;
        }
        Ok(())
    }

    /// Runs a cleanup: the moin-1.9 rules (`r[m19.cleanup.*]`).
    pub fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, ServiceError> {
        if let Some(user) = &request.user {
            if !self.config.account_exists(user) {
                return Ok(CleanupOutcome::default());
            }
        }
        let mut removed = Vec::new();
        for sid in self.store.list()? {
            let decide = |loaded: &Loaded| removes(loaded, request);
            if self.store.delete_if(&sid, &decide)? {
                removed.push(sid);
            }
        }
        Ok(CleanupOutcome { removed })
    }

    /// The sids of every stored record.
    pub fn list(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.store.list()?)
    }
}

fn removes(loaded: &Loaded, request: &CleanupRequest) -> bool {
    // r[hard.cleanup.load-destroys]: every run that loads removes an
    // unreadable record, as a load would.
    let Loaded::Record(record) = loaded else {
        return true;
    };
    let expires = record.get(EXPIRES).and_then(Value::as_i64);
    if expires.is_some_and(|e| i128::from(e) * 1_000_000_000 < request.now.unix_timestamp_nanos()) {
        return true;
    }
    if let Some(user) = &request.user {
        if record.get(USER_ID).and_then(Value::as_str) != Some(user.as_str()) {
            return false;
        }
    }
    request.mode == CleanupMode::All || expires.is_none()
}

/// Whether a record's `expires` has passed at `now` (an unreadable entry
/// has none, and is not expired by this test).
fn expired(loaded: &Loaded, now: OffsetDateTime) -> bool {
    matches!(loaded, Loaded::Record(record) if expired_record(record, now))
}

fn expired_record(record: &Record, now: OffsetDateTime) -> bool {
    record
        .get(EXPIRES)
        .and_then(Value::as_i64)
        .is_some_and(|e| i128::from(e) * 1_000_000_000 < now.unix_timestamp_nanos())
}

/// The request's instant rounded up to a whole second.
fn ceil_second(now: OffsetDateTime) -> i64 {
    now.unix_timestamp() + i64::from(now.nanosecond() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_up() {
        let t = OffsetDateTime::from_unix_timestamp(7).unwrap();
        assert_eq!(ceil_second(t), 7);
        assert_eq!(ceil_second(t + time::Duration::nanoseconds(1)), 8);
    }
}
