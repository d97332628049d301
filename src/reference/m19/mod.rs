//! The reference session service: the moin-1.9 policy over a [`Store`].
//!
//! Written from `spec/moin-1.9.md` independently of the model, so that the
//! two can be tested against each other. Implements, by section of the
//! spec:
//!
//! - load (section 10): `r[m19.load.no-cookie]`, `r[m19.load.first-cookie]`,
//!   `r[m19.load.malformed-sid]`, `r[m19.load.unknown-sid-adopted]`,
//!   `r[m19.load.unreadable-record]`, `r[m19.load.expired-destroyed]`,
//!   `r[m19.load.expiry-boundary]`, `r[m19.load.no-expires]`;
//! - `new` (section 11): `r[m19.new.definition]`, `r[m19.new.macro-example]`;
//! - authentication (section 12): `r[m19.auth.restore]`,
//!   `r[m19.auth.method-unconfigured]`, `r[m19.auth.account-invalid]`,
//!   `r[m19.auth.login]`, `r[m19.auth.login-while-logged-in]`,
//!   `r[m19.auth.failed-login]`, `r[m19.auth.logout]`,
//!   `r[m19.auth.logout-anonymous]`;
//! - change user (section 13): `r[m19.setuid.change-user]`,
//!   `r[m19.setuid.restore]`, `r[m19.setuid.not-superuser]`,
//!   `r[m19.setuid.lost-superuser]`, `r[m19.setuid.logout-reverts]`,
//!   `r[m19.setuid.disabled-target]`, `r[m19.setuid.unknown-target]`;
//! - lifetime (section 8, through [`crate::lifetime`]):
//!   `r[m19.lifetime.remember-me-preference]`, `r[m19.lifetime.real-user]`;
//! - finalize and the cookie (section 14): `r[m19.finalize.kill]`,
//!   `r[m19.finalize.issue]`, `r[m19.finalize.sliding]`,
//!   `r[m19.finalize.silent-when-new]`, `r[m19.finalize.delete]`, every
//!   `r[m19.cookie.*]`;
//! - persistence (section 15): every `r[m19.persist.*]`;
//! - cleanup (section 16): every `r[m19.cleanup.*]`; the store
//!   (section 17): `r[m19.store.list]`.
//!
//! # What lives where
//!
//! | state | where |
//! | --- | --- |
//! | session records (data, `expires`, `user.id`, `user.auth_method`, `user.auth_attribs`, `setuid`) | the [`Store`], one [`Record`] per sid |
//! | users' `remember_me` preferences | the service, in memory (a real wiki keeps them in user profiles) |
//! | the configuration | the service |
//! | the current time | each [`Request`] and [`CleanupRequest`] (`now`); [`Clock`] in production |
//! | fresh sids | the injected [`SidSource`](crate::sid::SidSource) ([`OsSids`](crate::sid::OsSids) in production) |
//!
//! The service keeps no state between requests other than the store and the
//! preferences, so several services (threads, processes) may share one
//! persistent store; the store's contract says what they see.

use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;

use crate::config::M19Config;
use crate::exchange::{AuthAction, Finished, Op, Opened, Request, Response};
use crate::store::{Record, Store};

mod auth;
mod cleanup;
mod finalize;
mod load;

use super::pipeline::{refuse_reserved, run_ops, service_basics, ServiceError};

/// The record key holding the expiry instant, in whole seconds since 1970.
const EXPIRES: &str = "expires";
/// The record key holding the logged-in (real) user's id.
const USER_ID: &str = "user.id";
/// The record key holding the method that logged the user in.
const USER_METHOD: &str = "user.auth_method";
/// The record key holding that method's data.
const USER_ATTRIBS: &str = "user.auth_attribs";
/// The record key holding the effective user of an active change user.
const SETUID: &str = "setuid";
/// Every reserved key (`r[m19.persist.reserved-keys]`).
const RESERVED: [&str; 5] = [EXPIRES, USER_ID, USER_METHOD, USER_ATTRIBS, SETUID];

/// The authentication method behind the login action.
const LOGIN_METHOD: &str = "moin";

service_basics! {
    /// What the 1.9 example macro prints on a new session.
    /// The moin-1.9 session service over a store.
    ///
    /// ```
    /// use moin_session_spec::{
    ///     AuthAction, Config, ConfigPatch, LifetimeSetting, MemoryStore, Profile, Request,
    ///     SessionService, sid::SeededSids, store::Store,
    /// };
    /// let config = Config::build(Profile::Moin19, &[ConfigPatch {
    ///     cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
    ///     ..ConfigPatch::default()
    /// }]).unwrap();
    /// let mut service = SessionService::new(
    ///     MemoryStore::new(),
    ///     config.as_m19().unwrap().clone(),
    ///     SeededSids::new(1),
    /// );
    /// let request = Request {
    ///     now: time::macros::datetime!(2023-11-14 22:13:50 UTC),
    ///     https: false,
    ///     path: "/".into(),
    ///     cookie_header: None,
    ///     auth: AuthAction::None,
    ///     ops: vec![],
    /// };
    /// let first = service.handle(&request).unwrap();
    /// assert!(first.new);
    /// // Anonymous sessions are on: the first response issues the cookie,
    /// // expiring at the minute floor of now plus one hour.
    /// assert!(first.set_cookies[0].contains("Max-Age=3600"));
    /// assert!(first.set_cookies[0].contains("Expires=Tue, 14 Nov 2023 23:13:00 GMT"));
    /// // ... and stores nothing until the client sends it back.
    /// assert!(service.store().list().unwrap().is_empty());
    /// let cookie = first.set_cookies[0].split(';').next().unwrap().to_owned();
    /// let second = service
    ///     .handle(&Request { cookie_header: Some(cookie), ..request })
    ///     .unwrap();
    /// assert!(!second.new);
    /// assert_eq!(service.store().list().unwrap().len(), 1);
    /// ```
    SessionService, M19Config
}

/// The request's session after load.
struct Session {
    sid: String,
    new: bool,
    /// Application keys only.
    data: Record,
    /// `user.id` of the loaded record.
    user: Option<String>,
    /// `user.auth_method` of the loaded record.
    method: Option<String>,
    /// `user.auth_attribs` of the loaded record.
    attribs: Option<Value>,
    /// `setuid` of the loaded record.
    setuid: Option<String>,
    /// The whole record as loaded (empty when none was), to tell whether
    /// the request changed it (`r[m19.overlap.changed]`).
    snapshot: Record,
    /// Whether application code set a key or removed a present one.
    touched: bool,
}

impl Session {
    fn fresh(sid: String) -> Session {
        Session {
            sid,
            new: true,
            data: Record::new(),
            user: None,
            method: None,
            attribs: None,
            setuid: None,
            snapshot: Record::new(),
            touched: false,
        }
    }

    fn empty(sid: String) -> Session {
        Session {
            new: false,
            ..Session::fresh(sid)
        }
    }
}

/// A moin-1.9 request between its open and its finish
/// ([`SessionService::open`]): its snapshot of the session with its own
/// changes, and who it runs as.
pub struct OpenSession {
    session: Session,
    users: Users,
    /// The real user's `remember_me` preference as it stood at the open.
    remember_me: Option<bool>,
    https: bool,
}

impl fmt::Debug for OpenSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenSession")
            .field("new", &self.session.new)
            .field("user", &self.users.effective())
            .finish_non_exhaustive()
    }
}

/// Refuses ops on reserved keys (`r[m19.persist.reserved-keys]`).
fn check_ops(ops: &[Op]) -> Result<(), ServiceError> {
    refuse_reserved(ops, &RESERVED)
}

/// A valid real user and the method that logged them in.
#[derive(Clone)]
struct RealUser {
    name: String,
    method: String,
    attribs: Value,
}

/// Who the request runs as.
struct Users {
    /// The valid real user, if any.
    real: Option<RealUser>,
    /// The effective user of an active change user.
    setuid: Option<String>,
}

impl Users {
    fn effective(&self) -> Option<&str> {
        self.setuid
            .as_deref()
            .or(self.real.as_ref().map(|r| r.name.as_str()))
    }
}

impl<S: Store> SessionService<S> {
    /// Takes a new configuration, keeping the store and the preferences (a
    /// wiki's configuration edited and the wiki restarted).
    pub fn set_config(&mut self, config: M19Config) {
        self.config = config;
    }

    /// Runs one request cycle at `request.now`: an open and its finish at
    /// one instant.
    pub fn handle(&mut self, request: &Request) -> Result<Response, ServiceError> {
        let (open, opened) = self.open(request)?;
        let finished = self.finish(open, request.now)?;
        Ok(Response::of(opened, finished))
    }

    /// Opens a request at `request.now`: load, authentication and the
    /// request's ops (`r[m19.overlap.read-once]`). Other requests may run
    /// before [`finish`](SessionService::finish).
    pub fn open(&mut self, request: &Request) -> Result<(OpenSession, Opened), ServiceError> {
        if let AuthAction::EndOtherSessions = request.auth {
            return Err(ServiceError::NotInProfile {
                what: "ending other sessions (a hardened request action)",
            });
        }
        check_ops(&request.ops)?;
        let cookie_name = self.config.cookie_full_name();
        let session = self.load(request.cookie_header.as_deref(), &cookie_name, request.now)?;
        let mut users = self.authenticate(&session, &request.auth);
        if let AuthAction::ChangeUser { to } = &request.auth {
            self.change_user(&mut users, to);
        }
        let remember_me = users.real.as_ref().map(|r| self.remember_me(&r.name));
        let mut open = OpenSession {
            session,
            users,
            remember_me,
            https: request.https,
        };
        let results = self.ops(&mut open, &request.ops)?;
        let opened = Opened {
            new: open.session.new,
            user: open.users.effective().map(str::to_owned),
            results,
        };
        Ok((open, opened))
    }

    /// Runs more application code in an open request, on its own copy of
    /// the session.
    pub fn ops(&self, open: &mut OpenSession, ops: &[Op]) -> Result<Vec<Value>, ServiceError> {
        check_ops(ops)?;
        let session = &mut open.session;
        let mut results = Vec::new();
        for op in ops {
            let before =
                matches!(op, Op::Delete { .. } | Op::Macro { .. }).then(|| session.data.clone());
            results.extend(run_ops(
                &mut session.data,
                session.new,
                std::slice::from_ref(op),
            ));
            // r[m19.overlap.changed]: any assignment, even of an equal
            // value; a removal only of a present key.
            let changed = match before {
                None => matches!(op, Op::Set { .. }),
                Some(before) => before != session.data,
            };
            session.touched |= changed;
        }
        Ok(results)
    }

    /// Finishes an open request at `now`: finalize with the finish's clock
    /// (`r[m19.overlap.save-if-changed]`, `r[m19.overlap.save-replaces]`,
    /// `r[m19.overlap.destroy-unconditional]`).
    pub fn finish(
        &mut self,
        open: OpenSession,
        now: OffsetDateTime,
    ) -> Result<Finished, ServiceError> {
        let cookie_name = self.config.cookie_full_name();
        let set_cookie = self.finalize(&open, now, &cookie_name)?;
        Ok(Finished {
            set_cookies: set_cookie.into_iter().collect(),
            cache_control: None,
        })
    }

    /// The sids of every stored record (`r[m19.store.list]`).
    pub fn list(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.store.list()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigPatch};
    use crate::profile::Profile;
    use crate::sid::SeededSids;
    use time::macros::datetime;

    #[test]
    fn reserved_keys_are_refused() {
        let config = Config::build(Profile::Moin19, &[ConfigPatch::default()]).unwrap();
        let mut s = SessionService::new(
            crate::MemoryStore::new(),
            config.as_m19().unwrap().clone(),
            SeededSids::new(3),
        );
        let e = s
            .handle(&Request {
                now: datetime!(2023-11-14 22:13:50 UTC),
                https: false,
                path: "/".into(),
                cookie_header: None,
                auth: AuthAction::None,
                ops: vec![Op::Get {
                    key: "user.id".into(),
                }],
            })
            .unwrap_err();
        assert!(
            e.to_string().contains("r[m19.persist.reserved-keys]"),
            "{e}"
        );
    }
}
