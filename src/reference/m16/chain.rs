//! The authentication chain of the moin-1.6 service (sections 7 to 13 of
//! `spec/moin-1.6.md`): `moin_login`, `moin_session` (anonymous names, new
//! logins, refreshes, logouts) and `moin_anon_session`, and how the chain
//! reads and writes the store, each read and its write one atomic step
//! (`r[m16.overlap.read-once]`, `r[m16.overlap.chain-atomic]`).

use hmac::Mac;
use serde_json::Value;
use time::OffsetDateTime;

use crate::exchange::{AuthAction, Request};
use crate::store::{Change, Loaded, OnConflict, Record, Store};

use super::cookie::{deletion, floor, issue, SessionCookie};
use super::keys::{app_data, is_hex, lease, mac, parse_expiry, sign, unhex, with_expires, Key};
use super::{Cycle, M16SessionService, EXPIRES, GRACE_SECS, KEY_RECORD, KEY_SECRET, KEY_USER};
use crate::reference::pipeline::ServiceError;

/// A login whose cookie passed every check of section 10.
struct Honoured {
    id: String,
    user: String,
    secret: String,
    record: String,
}

impl<S: Store> M16SessionService<S> {
    /// `moin_login` (`r[m16.login.credentials]`): a login with an enabled
    /// account's credentials returns that user; anything else passes on
    /// the user received.
    pub(super) fn moin_login(&mut self, cycle: &mut Cycle, auth: &AuthAction) {
        if let AuthAction::Login { user, remember_me } = auth {
            if self.config.account_enabled(user) {
                // r[m16.lifetime.remember-me-preference]: set by each
                // successful login.
                self.preferences.insert(user.clone(), *remember_me);
                cycle.user = Some(user.clone());
            }
        }
    }

    /// `moin_session` (sections 8, 9 and 12).
    pub(super) fn moin_session(
        &mut self,
        cycle: &mut Cycle,
        request: &Request,
        cookie: &SessionCookie<'_>,
    ) -> Result<(), ServiceError> {
        let now = request.now;
        match &request.auth {
            AuthAction::Login { .. } | AuthAction::FailedLogin { .. } => {
                // Only a user an earlier method made valid logs in
                // (r[m16.login.issues-cookie]); moin_login returns one only
                // after checking the credentials.
                if let Some(user) = cycle.user.clone() {
                    return self.new_login(cycle, &user, cookie, now);
                }
                match cookie {
                    // r[m16.login.failed-keeps-anon].
                    SessionCookie::Anon(name) => self.anon_refresh(cycle, name, now),
                    // r[m16.login.failed-with-login-cookie]: no fallback
                    // to the cookie; it is neither refreshed nor deleted.
                    SessionCookie::LoggedIn(_) | SessionCookie::Absent => Ok(()),
                }
            }
            AuthAction::Logout => match cookie {
                // r[m16.logout.account-invalid]: the account is not checked.
                SessionCookie::LoggedIn(value) => match self.verify(value, now)? {
                    Some(login) => self.logout(cycle, &login, now),
                    // r[m16.logout.anonymous]: an ignored cookie.
                    None => Ok(()),
                },
                // r[m16.logout.anonymous]: as without the logout.
                SessionCookie::Anon(name) => self.anon_refresh(cycle, name, now),
                SessionCookie::Absent => Ok(()),
            },
            // No action: change user and ending other sessions are refused first.
            _ => match cookie {
                // r[m16.session.no-cookie].
                SessionCookie::Absent => Ok(()),
                SessionCookie::Anon(name) => self.anon_refresh(cycle, name, now),
                SessionCookie::LoggedIn(value) => match self.honour(value, now)? {
                    Some(login) => self.login_refresh(cycle, &login, now),
                    // r[m16.logincookie.ignored-not-deleted].
                    None => Ok(()),
                },
            },
        }
    }

    /// `moin_anon_session` (section 13): a fresh anonymous name when no
    /// session is established and anonymous sessions are on; nothing is
    /// established (`r[m16.anon.issue-only]`).
    pub(super) fn moin_anon_session(&mut self, cycle: &mut Cycle, now: OffsetDateTime) {
        let Some(lifetime) = self.anon_lifetime() else {
            // r[m16.anon.noop-when-disabled].
            return;
        };
        if cycle.established.is_some() {
            // r[m16.anon.noop-when-established].
            return;
        }
        let name = self.sids.next_sid();
        cycle
            .set_cookies
            .push(issue(&self.config, &name, lifetime, floor(now) + lifetime));
    }

    /// `r[m16.session.anon-refresh]`, `r[m16.session.anon-disabled]`,
    /// `r[m16.session.anon-unverified]`: the same name with the anonymous
    /// lifetime, and its session (the record's data, whatever its
    /// `expires`).
    fn anon_refresh(
        &mut self,
        cycle: &mut Cycle,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let Some(lifetime) = self.anon_lifetime() else {
            return Ok(());
        };
        let Some(key) = Key::anon(name) else {
            return Ok(());
        };
        let expiry = floor(now) + lifetime;
        self.establish(cycle, key, expiry)?;
        cycle
            .set_cookies
            .push(issue(&self.config, name, lifetime, expiry));
        Ok(())
    }

    /// A new login for `user` (`r[m16.login.issues-cookie]`), taking the
    /// data of an anonymous cookie's record (`r[m16.login.migrates-anon]`)
    /// but never another login's (`r[m16.login.relogin]`).
    fn new_login(
        &mut self,
        cycle: &mut Cycle,
        user: &str,
        cookie: &SessionCookie<'_>,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let id = self.sids.next_sid();
        let record = self.sids.next_sid();
        let secret = format!("{}{}", self.sids.next_sid(), self.sids.next_sid());
        let lifetime = self.logged_in_lifetime(user);
        let expiry = floor(now) + lifetime;
        // The lease first: a login whose lease is missing is never left
        // behind by a crash between the two saves.
        self.store
            .save(&Key::Lease(id.clone()).id(), &lease(expiry))?;
        let login = Record::from([
            (KEY_USER.to_owned(), Value::from(user)),
            (KEY_SECRET.to_owned(), Value::from(secret.as_str())),
            (KEY_RECORD.to_owned(), Value::from(record.as_str())),
        ]);
        self.store.save(&Key::Secret(id.clone()).id(), &login)?;
        cycle.user = Some(user.to_owned());
        cycle.established = Some((Key::Login(record), expiry + GRACE_SECS));
        cycle.data = Record::new();
        if let SessionCookie::Anon(name) = cookie {
            if let Some(anon) = Key::anon(name) {
                // Whatever the anonymous setting: it depends only on the
                // cookie and the record.
                self.migrate(cycle, &anon)?;
            }
        }
        cycle.set_cookies.push(issue(
            &self.config,
            &sign(&id, expiry, &secret),
            lifetime,
            expiry,
        ));
        Ok(())
    }

    /// `r[m16.session.login-refresh]`: a new value for the same login, with
    /// an expiry from this request's now, and the login's session.
    fn login_refresh(
        &mut self,
        cycle: &mut Cycle,
        login: &Honoured,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        let lifetime = self.logged_in_lifetime(&login.user);
        let expiry = floor(now) + lifetime;
        // The lease rises to the latest expiry in one step, so that of two
        // overlapping refreshes neither lowers what the other raised. A
        // lease that is gone ends the login (a logout or a cleanup got
        // there first): the cookie is then ignored, as it would be had
        // that chain run before this one (`r[m16.overlap.chain-atomic]`).
        let mut alive = false;
        self.store.update(
            &Key::Lease(login.id.clone()).id(),
            OnConflict::Retry,
            &mut |loaded| {
                alive = loaded.is_some();
                match loaded {
                    None => Change::Keep,
                    Some(Loaded::Record(r))
                        if r.get(EXPIRES)
                            .and_then(Value::as_i64)
                            .is_some_and(|latest| latest >= expiry) =>
                    {
                        Change::Keep
                    }
                    Some(_) => Change::Save(lease(expiry)),
                }
            },
        )?;
        if !alive {
            // r[m16.logincookie.ignored-not-deleted].
            return Ok(());
        }
        self.establish(cycle, Key::Login(login.record.clone()), expiry)?;
        cycle.user = Some(login.user.clone());
        let value = sign(&login.id, expiry, &login.secret);
        cycle
            .set_cookies
            .push(issue(&self.config, &value, lifetime, expiry));
        Ok(())
    }

    /// `r[m16.logout.kills]`: the login revoked, its record removed, the
    /// cookie deleted, no user, no session.
    fn logout(
        &mut self,
        cycle: &mut Cycle,
        login: &Honoured,
        now: OffsetDateTime,
    ) -> Result<(), ServiceError> {
        // The secret first: from this point on no value of the login is
        // honoured (r[m16.logincookie.revoked]).
        self.store.delete(&Key::Secret(login.id.clone()).id())?;
        self.store.delete(&Key::Lease(login.id.clone()).id())?;
        self.store.delete(&Key::Login(login.record.clone()).id())?;
        cycle.user = None;
        cycle.set_cookies.push(deletion(&self.config, now));
        Ok(())
    }

    /// The login of an honoured cookie value: authentic, with a valid
    /// account (`r[m16.session.login-account-invalid]`: not revoked, ignored).
    fn honour(&self, value: &str, now: OffsetDateTime) -> Result<Option<Honoured>, ServiceError> {
        let login = self.verify(value, now)?;
        Ok(login.filter(|l| self.config.account_enabled(&l.user)))
    }

    /// Section 10: the login of an authentic value (issued, unaltered, not
    /// expired, not revoked), whatever its account; `None` when it is not.
    /// Malformed values are ignored without touching the store, never an
    /// error (`r[m16.logincookie.unforgeable]`).
    fn verify(&self, value: &str, now: OffsetDateTime) -> Result<Option<Honoured>, ServiceError> {
        let Some((signed, tag)) = value.rsplit_once(':') else {
            return Ok(None);
        };
        let Some((id, expiry)) = signed.split_once(':') else {
            return Ok(None);
        };
        if id.len() != 40 || !is_hex(id) {
            return Ok(None);
        }
        let Some(expiry) = parse_expiry(expiry) else {
            return Ok(None);
        };
        let Some(tag) = unhex(tag) else {
            return Ok(None);
        };
        let Some(login) = self.login_of(id)? else {
            // Never issued, or revoked (r[m16.logincookie.revoked]).
            return Ok(None);
        };
        let (user, secret, record) = login;
        if mac(&secret, signed).verify_slice(&tag).is_err() {
            return Ok(None);
        }
        // r[m16.logincookie.expiry]: honoured at now = E, not after.
        if i128::from(expiry) * 1_000_000_000 < now.unix_timestamp_nanos() {
            return Ok(None);
        }
        Ok(Some(Honoured {
            id: id.to_owned(),
            user,
            secret,
            record,
        }))
    }

    /// The user, secret and record of login `id`, if it exists.
    fn login_of(&self, id: &str) -> Result<Option<(String, String, String)>, ServiceError> {
        let Some(Loaded::Record(r)) = self.store.load(&Key::Secret(id.to_owned()).id())? else {
            return Ok(None);
        };
        let field = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(
            match (field(KEY_USER), field(KEY_SECRET), field(KEY_RECORD)) {
                (Some(user), Some(secret), Some(record)) if is_hex(&record) => {
                    Some((user, secret, record))
                }
                _ => None,
            },
        )
    }

    /// Establishes the session of record `key` for a cookie expiring at
    /// `expiry`: its data becomes `request.session`'s, and its record's
    /// `expires` becomes `expiry + 3600` (`r[m16.store.expires-grace]`) in
    /// the same atomic update as the read (`r[m16.overlap.chain-atomic]`):
    /// a record that is there with data is saved with it, one that holds
    /// no data (or cannot be read) is removed (`r[m16.store.data-only]`),
    /// and none is created.
    fn establish(&self, cycle: &mut Cycle, key: Key, expiry: i64) -> Result<(), ServiceError> {
        let expires = expiry + GRACE_SECS;
        let mut data = Record::new();
        self.store
            .update(&key.id(), OnConflict::Retry, &mut |loaded| {
                data = app_data(loaded);
                match loaded {
                    None => Change::Keep,
                    Some(_) if data.is_empty() => Change::Destroy,
                    Some(_) => Change::Save(with_expires(&data, expires)),
                }
            })?;
        cycle.data = data;
        cycle.established = Some((key, expires));
        Ok(())
    }

    /// A login takes the data of the anonymous record `anon`
    /// (`r[m16.login.migrates-anon]`): the login's record is saved with it
    /// first, then the anonymous record is removed
    /// (`r[m16.login.anon-name-retired]`), so that a crash never leaves the
    /// data in neither. The removal takes only what was moved: a write
    /// another request made to the anonymous record since the read stays
    /// (`r[m16.overlap.login-migration]`).
    fn migrate(&self, cycle: &mut Cycle, anon: &Key) -> Result<(), ServiceError> {
        let moved = app_data(self.store.load(&anon.id())?.as_ref());
        cycle.data = moved.clone();
        if let Some((key, expires)) = &cycle.established {
            if !moved.is_empty() {
                self.store
                    .save(&key.id(), &with_expires(&moved, *expires))?;
            }
        }
        self.store
            .delete_if(&anon.id(), &|l| app_data(Some(l)) == moved)?;
        Ok(())
    }
}
