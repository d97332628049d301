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
//! | fresh sids | the injected [`SidSource`] ([`OsSids`](crate::sid::OsSids) in production) |
//!
//! The service keeps no state between requests other than the store and the
//! preferences, so several services (threads, processes) may share one
//! persistent store; the store's contract says what they see.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::M19Config;
use crate::exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request,
    Response,
};
use crate::lifetime::session_lifetime_secs;
use crate::sid::{is_well_formed, SidSource};
use crate::store::{Loaded, Record, Store};

use super::pipeline::{first_cookie, run_ops, ServiceError};
use crate::sid::OsSids;

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
pub struct SessionService<S: Store> {
    store: S,
    config: M19Config,
    sids: Box<dyn SidSource + Send>,
    /// Users' `remember_me` preferences; absent means on.
    preferences: BTreeMap<String, bool>,
}

impl<S: Store> fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionService")
            .field("config", &self.config)
            .field("preferences", &self.preferences)
            .finish_non_exhaustive()
    }
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
    for op in ops {
        if let Op::Set { key, .. } | Op::Get { key } | Op::Delete { key } = op {
            if RESERVED.contains(&key.as_str()) {
                return Err(ServiceError::ReservedKey {
                    key: key.clone(),
                    rule: "m19.persist.reserved-keys",
                });
            }
        }
    }
    Ok(())
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
    /// A service over `store` with `config`, drawing fresh sids from `sids`.
    pub fn new(store: S, config: M19Config, sids: impl SidSource + Send + 'static) -> Self {
        SessionService {
            store,
            config,
            sids: Box::new(sids),
            preferences: BTreeMap::new(),
        }
    }

    /// A service for production: sids from the OS CSPRNG.
    pub fn with_os_sids(store: S, config: M19Config) -> Self {
        SessionService::new(store, config, OsSids::new())
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, taking the service apart.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The configuration.
    pub fn config(&self) -> &M19Config {
        &self.config
    }

    /// Takes a new configuration, keeping the store and the preferences (a
    /// wiki's configuration edited and the wiki restarted).
    pub fn set_config(&mut self, config: M19Config) {
        self.config = config;
    }

    /// Replaces the sid source.
    pub fn set_sids(&mut self, sids: impl SidSource + Send + 'static) {
        self.sids = Box::new(sids);
    }

    /// Forgets every user preference.
    pub fn forget_preferences(&mut self) {
        self.preferences.clear();
    }

    /// A user's `remember_me` preference (`r[m19.lifetime.remember-me-preference]`):
    /// on until a login sets it.
    pub fn remember_me(&self, user: &str) -> bool {
        self.preferences.get(user).copied().unwrap_or(true)
    }

    /// Runs one request cycle with the time of `clock` (read once) in place
    /// of `request.now`: the production entry point.
    pub fn handle_now(
        &mut self,
        clock: &dyn Clock,
        request: Request,
    ) -> Result<Response, ServiceError> {
        self.handle(&Request {
            now: clock.now(),
            ..request
        })
    }

    /// Runs one request cycle at `request.now`: an open and its finish at
    /// one instant.
    pub fn handle(&mut self, request: &Request) -> Result<Response, ServiceError> {
        let (open, opened) = self.open(request)?;
        let finished = self.finish(open, request.now)?;
        Ok(Response {
            new: opened.new,
            user: opened.user,
            set_cookies: finished.set_cookies,
            results: opened.results,
            cache_control: finished.cache_control,
        })
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

    /// Load (section 10): the request's session.
    fn load(
        &mut self,
        cookie_header: Option<&str>,
        cookie_name: &str,
        now: OffsetDateTime,
    ) -> Result<Session, ServiceError> {
        let sid = match cookie_header.and_then(|h| first_cookie(h, cookie_name)) {
            Some(value) if is_well_formed(value) => value.to_owned(),
            // No cookie, or a malformed sid: fresh, the store untouched.
            _ => return Ok(Session::fresh(self.sids.next_sid())),
        };
        let record = match self.store.load(&sid)? {
            None | Some(Loaded::Unreadable) => return Ok(Session::empty(sid)),
            Some(Loaded::Record(record)) => record,
        };
        if expired(&record, now) {
            self.store.delete(&sid)?;
            return Ok(Session::fresh(self.sids.next_sid()));
        }
        let mut session = Session::empty(sid);
        session.snapshot = record.clone();
        for (key, value) in record {
            match key.as_str() {
                USER_ID => session.user = value.as_str().map(str::to_owned),
                USER_METHOD => session.method = value.as_str().map(str::to_owned),
                USER_ATTRIBS => session.attribs = Some(value),
                SETUID => session.setuid = value.as_str().map(str::to_owned),
                EXPIRES => {}
                _ => {
                    session.data.insert(key, value);
                }
            }
        }
        Ok(session)
    }

    /// Authentication (section 12): restore, stored change user, then the
    /// request's login or logout.
    fn authenticate(&mut self, session: &Session, auth: &AuthAction) -> Users {
        let mut users = Users {
            real: None,
            setuid: None,
        };
        if let (Some(name), Some(method)) = (&session.user, &session.method) {
            if self.config.auth.contains(method) && self.config.account_enabled(name) {
                users.real = Some(RealUser {
                    name: name.clone(),
                    method: method.clone(),
                    attribs: session.attribs.clone().unwrap_or(Value::Null),
                });
            }
        }
        if let (Some(real), Some(target)) = (&users.real, &session.setuid) {
            // A change to an account that no longer exists is dropped
            // (r[m19.setuid.restore]), like one whose superuser was demoted.
            if self.is_superuser(&real.name) && self.config.account_exists(target) {
                users.setuid = Some(target.clone());
            }
        }
        match auth {
            AuthAction::Login { user, remember_me } => {
                let login_configured = self.config.auth.iter().any(|m| m == LOGIN_METHOD);
                if users.effective().is_none()
                    && login_configured
                    && self.config.account_enabled(user)
                {
                    users.real = Some(RealUser {
                        name: user.clone(),
                        method: LOGIN_METHOD.to_owned(),
                        attribs: Value::Object(Default::default()),
                    });
                    self.preferences.insert(user.clone(), *remember_me);
                }
            }
            AuthAction::Logout => {
                if users.setuid.is_some() {
                    users.setuid = None;
                } else {
                    users.real = None;
                }
            }
            AuthAction::None
            | AuthAction::FailedLogin { .. }
            | AuthAction::ChangeUser { .. }
            | AuthAction::EndOtherSessions => {}
        }
        users
    }

    fn is_superuser(&self, name: &str) -> bool {
        self.config.superusers.iter().any(|s| s == name)
    }

    /// Change user (section 13), in the application phase.
    fn change_user(&self, users: &mut Users, target: &str) {
        let Some(runs_as) = users.effective().map(str::to_owned) else {
            return;
        };
        if !self.is_superuser(&runs_as) || !self.config.account_exists(target) {
            return;
        }
        // A chained change keeps the logged-in superuser as the real user;
        // the new target replaces the old one (r[m19.setuid.change-user]).
        users.setuid = Some(target.to_owned());
    }

    /// Finalize (sections 14 and 15): the cookie and the record.
    fn finalize(
        &mut self,
        open: &OpenSession,
        now: OffsetDateTime,
        cookie_name: &str,
    ) -> Result<Option<String>, ServiceError> {
        let (session, users) = (&open.session, &open.users);
        let lifetimes = self.config.cookie_lifetime;
        let lifetime = match (&users.real, open.remember_me) {
            (Some(_), Some(remember_me)) => {
                session_lifetime_secs(lifetimes.logged_in, true, remember_me)
            }
            _ => session_lifetime_secs(lifetimes.anonymous, false, false),
        };
        let killed = users.real.is_none() && session.user.is_some();
        let cookie = CookieForm::of(&self.config, open.https, cookie_name);
        if killed || lifetime == 0 {
            if !session.new {
                self.store.delete(&session.sid)?;
                return Ok(Some(cookie.deletion()));
            }
            return Ok(None);
        }
        let expires_at = minute_floor(now) + lifetime;
        let stores = !session.new || users.real.is_some();
        if stores {
            let mut record = session.data.clone();
            if !session.new {
                record.insert(EXPIRES.to_owned(), Value::from(expires_at));
            }
            if let Some(real) = &users.real {
                record.insert(USER_ID.to_owned(), Value::from(real.name.clone()));
                record.insert(USER_METHOD.to_owned(), Value::from(real.method.clone()));
                record.insert(USER_ATTRIBS.to_owned(), real.attribs.clone());
                if let Some(target) = &users.setuid {
                    record.insert(SETUID.to_owned(), Value::from(target.clone()));
                }
            }
            // r[m19.overlap.save-if-changed]: only a changed session is
            // written, and then whole (r[m19.overlap.save-replaces]).
            if session.touched || record != session.snapshot {
                self.store.save(&session.sid, &record)?;
            }
        }
        Ok(Some(cookie.issue(&session.sid, lifetime, expires_at)))
    }

    /// Runs a cleanup (section 16): which records it removed.
    ///
    /// Each record is tested and removed in one step
    /// ([`Store::delete_if`]), so a record renewed by a concurrent request
    /// after this cleanup listed it is judged by its renewal.
    pub fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, ServiceError> {
        if let Some(user) = &request.user {
            if !self.config.account_exists(user) {
                // r[m19.cleanup.by-user-unknown]: an error for the operator,
                // nothing removed.
                return Ok(CleanupOutcome::default());
            }
        }
        let mut removed = Vec::new();
        if request.mode == CleanupMode::Expired && request.user.is_none() {
            // A record with an integer `expires >= floor(now) + 1` is neither
            // expired nor without `expires`: `cleanup_removes` keeps it, so
            // the store may skip it unread (its expiry index).
            let before = request.now.unix_timestamp() + 1;
            let remove = |_: &str, loaded: &Loaded| cleanup_removes(loaded, request);
            removed = self.store.delete_expired_if(before, &remove)?;
            return Ok(CleanupOutcome { removed });
        }
        for sid in self.store.list()? {
            let remove = |loaded: &Loaded| cleanup_removes(loaded, request);
            if self.store.delete_if(&sid, &remove)? {
                removed.push(sid);
            }
        }
        Ok(CleanupOutcome { removed })
    }

    /// A cleanup at the time of `clock`: the production entry point.
    pub fn cleanup_now(
        &mut self,
        clock: &dyn Clock,
        mode: CleanupMode,
        user: Option<String>,
    ) -> Result<CleanupOutcome, ServiceError> {
        self.cleanup(&CleanupRequest {
            now: clock.now(),
            mode,
            user,
        })
    }

    /// The sids of every stored record (`r[m19.store.list]`).
    pub fn list(&self) -> Result<Vec<String>, ServiceError> {
        Ok(self.store.list()?)
    }
}

/// Whether a cleanup removes a record (section 16).
fn cleanup_removes(loaded: &Loaded, request: &CleanupRequest) -> bool {
    let record = match loaded {
        // r[m19.cleanup.unreadable]: no data, no expires, no user.
        Loaded::Unreadable => return request.user.is_none(),
        Loaded::Record(record) => record,
    };
    // r[m19.cleanup.load-destroys]: loading destroys it, in every mode.
    if expired(record, request.now) {
        return true;
    }
    if let Some(user) = &request.user {
        let holds = record.get(USER_ID).and_then(Value::as_str) == Some(user.as_str());
        if !holds {
            return false;
        }
    }
    match request.mode {
        CleanupMode::All => true,
        // Unexpired here: only a record without `expires` goes.
        CleanupMode::Expired => expires_of(record).is_none(),
    }
}

/// The record's `expires`, in seconds since 1970, if it has a numeric one.
fn expires_of(record: &Record) -> Option<f64> {
    record.get(EXPIRES).and_then(Value::as_f64)
}

/// `expires < now` (`r[m19.load.expired-destroyed]`,
/// `r[m19.load.expiry-boundary]`); a record without `expires` never is
/// (`r[m19.load.no-expires]`).
fn expired(record: &Record, now: OffsetDateTime) -> bool {
    match record.get(EXPIRES) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(secs) => i128::from(secs) * 1_000_000_000 < now.unix_timestamp_nanos(),
            None => n
                .as_f64()
                .is_some_and(|secs| secs < now.unix_timestamp_nanos() as f64 / 1e9),
        },
        _ => false,
    }
}

/// `floor(now / 60) * 60`, in seconds since 1970.
fn minute_floor(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(60) * 60
}

/// The attributes shared by the issued and the deletion cookie
/// (`r[m19.cookie.path]` to `r[m19.cookie.httponly]`).
struct CookieForm<'a> {
    name: &'a str,
    path: &'a str,
    domain: Option<&'a str>,
    secure: bool,
    httponly: bool,
}

impl<'a> CookieForm<'a> {
    fn of(config: &'a M19Config, https: bool, name: &'a str) -> CookieForm<'a> {
        CookieForm {
            name,
            path: config.effective_path(),
            domain: config.cookie_domain.as_deref(),
            secure: config.cookie_secure.unwrap_or(https),
            httponly: config.cookie_httponly,
        }
    }

    fn attributes(&self, out: &mut String) {
        out.push_str("; Path=");
        out.push_str(self.path);
        if let Some(domain) = self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if self.httponly {
            out.push_str("; HttpOnly");
        }
    }

    /// `r[m19.cookie.value-sid]`, `r[m19.cookie.max-age]`,
    /// `r[m19.cookie.expires-granularity]`.
    fn issue(&self, sid: &str, lifetime: i64, expires_at: i64) -> String {
        let mut out = format!(
            "{}={sid}; Max-Age={lifetime}; Expires={}",
            self.name,
            http_date(expires_at)
        );
        self.attributes(&mut out);
        out
    }

    /// `r[m19.cookie.delete-form]`. Without `Secure` and `HttpOnly`,
    /// which the clause allows but does not require: an RFC 6265bis client
    /// ignores a `Secure` cookie set over http, so a deletion carrying it
    /// (with `cookie_secure = true`) would leave the session cookie in
    /// place. MoinMoin's deletion carries neither.
    fn deletion(&self) -> String {
        let mut out = format!(
            "{}=; Max-Age=0; Expires={}; Path={}",
            self.name,
            http_date(0),
            self.path
        );
        if let Some(domain) = self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        out
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(secs: i64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    OffsetDateTime::from_unix_timestamp(secs)
        .expect("expiry instants are within 100 years of now (r[m19.config.lifetime-finite])")
        .format(&format)
        .expect("an IMF-fixdate can be written for any date of a four-digit year")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigPatch};
    use crate::profile::Profile;
    use crate::sid::SeededSids;
    use time::macros::datetime;

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_700_003_580), "Tue, 14 Nov 2023 23:13:00 GMT");
    }

    #[test]
    fn the_minute_floor_and_the_boundary() {
        assert_eq!(
            minute_floor(datetime!(2023-11-14 22:13:50 UTC)),
            1_699_999_980
        );
        let record = Record::from([(EXPIRES.to_owned(), Value::from(1_700_003_580))]);
        let at = |s: i64, nanos: i64| {
            OffsetDateTime::from_unix_timestamp(s).unwrap() + time::Duration::nanoseconds(nanos)
        };
        assert!(!expired(&record, at(1_700_003_580, 0)));
        assert!(expired(&record, at(1_700_003_580, 500_000_000)));
        assert!(!expired(&Record::new(), at(i32::MAX.into(), 0)));
    }

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
