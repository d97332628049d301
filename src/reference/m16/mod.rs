//! The reference session service of the moin-1.6 profile: sessions on the
//! authentication chain, over the same [`Store`] as the moin-1.9 service.
//!
//! Written from `spec/moin-1.6.md` alone (neither model file was read), so
//! that the model, this service and the hand-written corpus are three
//! derivations of one text. Implements, by section of the spec:
//!
//! - the chain (section 7): `r[m16.chain.order]`, `r[m16.chain.plain-dict]`,
//!   `r[m16.chain.new-flag]`;
//! - logging in (section 8): `r[m16.login.credentials]`,
//!   `r[m16.login.no-moin-login]`, `r[m16.login.issues-cookie]`,
//!   `r[m16.login.migrates-anon]`, `r[m16.login.anon-name-retired]`,
//!   `r[m16.login.relogin]`, `r[m16.login.failed-keeps-anon]`,
//!   `r[m16.login.failed-with-login-cookie]`;
//! - sessions from the cookie (section 9): every `r[m16.session.*]`;
//! - the logged-in cookie (section 10): every `r[m16.logincookie.*]`;
//! - lifetimes (section 11): every `r[m16.lifetime.*]`;
//! - logging out (section 12): every `r[m16.logout.*]`;
//! - `moin_anon_session` (section 13): every `r[m16.anon.*]`;
//! - the cookie (section 14): every `r[m16.cookie.*]`;
//! - the store and cleanup (section 15): every `r[m16.store.*]` and
//!   `r[m16.cleanup.*]`, and `r[m16.macro.example]`.
//!
//! Record ids, listing and the logged-in cookie's form are described in
//! `keys.rs`; the chain is in `chain.rs`, the cookie's form in `cookie.rs`.
//!
//! **Cleanup** removes session records by their `expires`
//! (`r[m16.cleanup.expired]`, `r[m16.cleanup.all]`) and, in either mode, the
//! logins whose lease has passed: every cookie of such a login has
//! `E < now` and is ignored anyway, so removing it is not observable. A
//! cleanup in mode `all` does not revoke live logins: their cookies keep
//! working, with an empty session (section 15).

use std::fmt;

use serde_json::Value;

use crate::clock::Clock;
use crate::config::M16Config;
use crate::exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Finished, MacroEdition, Op, Opened,
    Request, Response,
};
use crate::store::{Loaded, Record, Store, StoreError};

mod chain;
pub(super) mod cookie;
pub(super) mod keys;

use super::pipeline::{run_ops, service_basics, ServiceError};
use cookie::{floor, logged_in_secs, SessionCookie};
use keys::{expired, with_expires, Key};

/// The record key holding a session record's `expires`, whole seconds.
const EXPIRES: &str = "expires";

/// The chain's method names.
const MOIN_LOGIN: &str = "moin_login";
const MOIN_SESSION: &str = "moin_session";
const MOIN_ANON_SESSION: &str = "moin_anon_session";
/// Keys of a login's `key-<id>` record.
const KEY_USER: &str = "user";
const KEY_SECRET: &str = "secret";
const KEY_RECORD: &str = "record";

/// The grace between a cookie's expiry and its record's
/// (`r[m16.store.expires-grace]`).
const GRACE_SECS: i64 = 3600;

/// A moin-1.6 request between its open and its finish
/// ([`M16SessionService::open`]): its view of the established session and
/// the cookies its chain made.
pub struct M16OpenSession {
    cycle: Cycle,
    new: bool,
}

impl fmt::Debug for M16OpenSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("M16OpenSession")
            .field("new", &self.new)
            .field("user", &self.cycle.user)
            .finish_non_exhaustive()
    }
}

/// One request's passage through the chain.
struct Cycle {
    /// The user the last method returned.
    user: Option<String>,
    /// The established session: its record's key and the `expires` it
    /// gets (`E + 3600`). `None`: the plain dictionary.
    established: Option<(Key, i64)>,
    /// `request.session`'s data: the established session's, or the plain
    /// dictionary's.
    data: Record,
    /// `Set-Cookie` values, in order.
    set_cookies: Vec<String>,
}

service_basics! {
    /// The moin-1.6 session service over a store.
    ///
    /// ```
    /// use moin_session_spec::{
    ///     AuthAction, Config, ConfigPatch, M16SessionService, MemoryStore, Profile, Request,
    ///     sid::SeededSids,
    /// };
    /// let config = Config::build(Profile::Moin16, &[ConfigPatch {
    ///     anonymous_cookie_lifetime: Some(Some(1.0)),
    ///     auth: Some(vec!["moin_login".into(), "moin_session".into(), "moin_anon_session".into()]),
    ///     users: Some(vec!["alice".into()]),
    ///     ..ConfigPatch::default()
    /// }]).unwrap();
    /// let mut service = M16SessionService::new(
    ///     MemoryStore::new(),
    ///     config.as_m16().unwrap().clone(),
    ///     SeededSids::new(1),
    /// );
    /// let request = Request {
    ///     now: time::macros::datetime!(2009-03-01 12:00:30 UTC),
    ///     https: false,
    ///     path: "/".into(),
    ///     cookie_header: None,
    ///     auth: AuthAction::None,
    ///     ops: vec![],
    /// };
    /// // A new visitor gets an anonymous name, and no session yet.
    /// let first = service.handle(&request).unwrap();
    /// assert!(first.new);
    /// assert!(first.set_cookies[0].contains("Max-Age=3600"));
    /// assert!(first.set_cookies[0].contains("Expires=Sunday, 01-Mar-09 13:00:30 GMT"));
    /// // A login issues an opaque logged-in cookie holding ':'.
    /// let login = service.handle(&Request {
    ///     auth: AuthAction::Login { user: "alice".into(), remember_me: false },
    ///     ..request
    /// }).unwrap();
    /// assert_eq!(login.user.as_deref(), Some("alice"));
    /// assert!(login.set_cookies[0].starts_with("MOIN_SESSION="));
    /// assert!(login.set_cookies[0].split(';').next().unwrap().contains(':'));
    /// assert!(login.set_cookies[0].contains("Max-Age=43200"));
    /// ```
    M16SessionService, M16Config
}

impl<S: Store> M16SessionService<S> {
    /// Takes a new configuration, keeping the store and the preferences.
    pub fn set_config(&mut self, config: M16Config) {
        self.config = config;
    }

    /// Runs one request cycle at `request.now`: an open and its finish at
    /// one instant.
    pub fn handle(&mut self, request: &Request) -> Result<Response, ServiceError> {
        let (open, opened) = self.open(request)?;
        let finished = self.finish(open);
        Ok(Response::of(opened, finished))
    }

    /// Opens a request at `request.now`: the chain (which reads the
    /// session's record once, `r[m16.overlap.read-once]`, and makes the
    /// response's cookies), then the request's ops.
    pub fn open(&mut self, request: &Request) -> Result<(M16OpenSession, Opened), ServiceError> {
        check_request(request)?;
        let cookie = SessionCookie::of(request.cookie_header.as_deref());
        let mut cycle = Cycle {
            user: None,
            established: None,
            data: Record::new(),
            set_cookies: Vec::new(),
        };
        // r[m16.chain.order]: each method once, in list order.
        for method in self.config.auth.clone() {
            match method.as_str() {
                MOIN_LOGIN => self.moin_login(&mut cycle, &request.auth),
                MOIN_SESSION => self.moin_session(&mut cycle, request, &cookie)?,
                MOIN_ANON_SESSION => self.moin_anon_session(&mut cycle, request.now),
                // The configuration rules admit no other name
                // (r[m16.config.auth-methods]).
                _ => {}
            }
        }
        // The chain's own writes (the record's new `expires`, a login's
        // record and the retired anonymous name) were made as it went,
        // each as one step with what it read (`r[m16.overlap.chain-atomic]`).
        let mut open = M16OpenSession {
            // r[m16.chain.new-flag]: decided by the chain, not by the ops.
            new: cycle.established.is_none(),
            cycle,
        };
        let results = self.ops(&mut open, &request.ops)?;
        let opened = Opened {
            new: open.new,
            user: open.cycle.user.clone(),
            results,
        };
        Ok((open, opened))
    }

    /// Runs more application code in an open request. Each write stores
    /// the request's whole view at once
    /// (`r[m16.overlap.write-through-view]`).
    pub fn ops(&self, open: &mut M16OpenSession, ops: &[Op]) -> Result<Vec<Value>, ServiceError> {
        check_ops(ops)?;
        let mut results = Vec::new();
        for op in ops {
            let before =
                matches!(op, Op::Delete { .. } | Op::Macro { .. }).then(|| open.cycle.data.clone());
            results.extend(run_ops(
                &mut open.cycle.data,
                open.new,
                std::slice::from_ref(op),
            ));
            let wrote = match before {
                None => matches!(op, Op::Set { .. }),
                Some(before) => before != open.cycle.data,
            };
            if wrote {
                self.persist(&open.cycle)?;
            }
        }
        Ok(results)
    }

    /// Finishes an open request: the cookies its chain made. Nothing is
    /// stored at the finish (`r[m16.overlap.read-only]`).
    pub fn finish(&mut self, open: M16OpenSession) -> Finished {
        let set_cookies = open.cycle.set_cookies;
        // r[m16.cookie.uncacheable].
        let cache_control = (!set_cookies.is_empty()).then(|| "private".to_owned());
        Finished {
            set_cookies,
            cache_control,
        }
    }

    /// Stores the request's whole view after application code wrote: the
    /// established session's record holds its data and `expires`, or does
    /// not exist when there is no data (`r[m16.store.data-only]`,
    /// `r[m16.store.write-through]`, `r[m16.store.delete-last-key]`,
    /// `r[m16.overlap.write-through-view]`). The plain dictionary is never
    /// saved (`r[m16.chain.plain-dict]`).
    fn persist(&self, cycle: &Cycle) -> Result<(), ServiceError> {
        if let Some((key, expires)) = &cycle.established {
            if cycle.data.is_empty() {
                self.store.delete(&key.id())?;
            } else {
                self.store
                    .save(&key.id(), &with_expires(&cycle.data, *expires))?;
            }
        }
        Ok(())
    }

    /// The anonymous lifetime in seconds (`r[m16.lifetime.anon-seconds]`),
    /// or `None` when anonymous sessions are off
    /// (`r[m16.config.anon-lifetime]`).
    fn anon_lifetime(&self) -> Option<i64> {
        self.config
            .anonymous_cookie_lifetime
            .map(|hours| (hours * 3600.0).trunc() as i64)
    }

    /// The logged-in lifetime of `user` (section 11).
    fn logged_in_lifetime(&self, user: &str) -> i64 {
        logged_in_secs(self.config.cookie_lifetime, self.remember_me(user))
    }

    /// Runs a cleanup (section 15): the session records it removed, each
    /// tested and removed in one step. Expired logins go too, unreported.
    pub fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, ServiceError> {
        if request.user.is_some() {
            return Err(ServiceError::NotInProfile {
                what: "a cleanup of one user's sessions (moin-1.6 has none)",
            });
        }
        let now = request.now;
        let remove = |id: &str, loaded: &Loaded| match Key::parse(id) {
            // r[m16.cleanup.all], r[m16.cleanup.expired], r[m16.cleanup.grace].
            Some(Key::Anon(_) | Key::Login(_)) => {
                request.mode == CleanupMode::All || expired(loaded, now)
            }
            Some(Key::Lease(_)) => expired(loaded, now),
            Some(Key::Secret(_)) | None => false,
        };
        let gone = match request.mode {
            // Only `expired` ones go: never an integer `expires > now`.
            CleanupMode::Expired => self.store.delete_expired_if(floor(now) + 1, &remove)?,
            CleanupMode::All => {
                let mut gone = Vec::new();
                for id in self.store.list()? {
                    if self.store.delete_if(&id, &|loaded| remove(&id, loaded))? {
                        gone.push(id);
                    }
                }
                gone
            }
        };
        let mut removed = Vec::new();
        for id in gone {
            match Key::parse(&id) {
                Some(Key::Lease(login)) => self.store.delete(&Key::Secret(login).id())?,
                Some(key) => removed.extend(key.listed()),
                None => {}
            }
        }
        Ok(CleanupOutcome { removed })
    }

    /// A cleanup at the time of `clock`: the production entry point.
    pub fn cleanup_now(
        &mut self,
        clock: &dyn Clock,
        mode: CleanupMode,
    ) -> Result<CleanupOutcome, ServiceError> {
        self.cleanup(&CleanupRequest {
            now: clock.now(),
            mode,
            user: None,
        })
    }

    /// The names of every stored session record (`r[m16.store.list]`):
    /// anonymous names, and `login:<r>` for logins' records.
    pub fn list(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self
            .store
            .list()?
            .iter()
            .filter_map(|id| Key::parse(id)?.listed())
            .collect())
    }

    /// Makes the record listed as `name` unreadable.
    pub fn corrupt(&self, name: &str) -> Result<(), ServiceError> {
        let key = Key::of_listed(name).ok_or_else(|| {
            ServiceError::Store(StoreError::InvalidId {
                id: name.to_owned(),
                rule: "a moin-1.6 session record is listed as an anonymous name or login:<hex>",
            })
        })?;
        Ok(self.store.corrupt(&key.id())?)
    }
}

/// The checks of a request before anything runs: no reserved key, nothing
/// of the other profile.
fn check_request(request: &Request) -> Result<(), ServiceError> {
    check_ops(&request.ops)?;
    if let AuthAction::ChangeUser { .. } | AuthAction::EndOtherSessions = request.auth {
        return Err(ServiceError::NotInProfile {
            what: "change user or ending other sessions (moin-1.6 has neither)",
        });
    }
    Ok(())
}

/// Refuses ops the profile does not have.
fn check_ops(ops: &[Op]) -> Result<(), ServiceError> {
    for op in ops {
        match op {
            Op::Set { key, .. } | Op::Get { key } | Op::Delete { key } if key == EXPIRES => {
                return Err(ServiceError::ReservedKey {
                    key: key.clone(),
                    rule: "m16.store.expires-grace",
                });
            }
            Op::Macro {
                edition: MacroEdition::V19,
                ..
            } => {
                return Err(ServiceError::NotInProfile {
                    what: "the 1.9 edition of the example macro (moin-1.6 has no is_new)",
                })
            }
            _ => {}
        }
    }
    Ok(())
}
