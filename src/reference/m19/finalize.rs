//! Finalize and the cookie (sections 14 and 15).

use serde_json::Value;
use time::OffsetDateTime;

use crate::config::M19Config;
use crate::lifetime::session_lifetime_secs;
use crate::store::Store;

use super::{OpenSession, SessionService, EXPIRES, SETUID, USER_ATTRIBS, USER_ID, USER_METHOD};
use crate::reference::pipeline::{http_date, ServiceError};

impl<S: Store> SessionService<S> {
    /// Finalize (sections 14 and 15): the cookie and the record.
    pub(super) fn finalize(
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_700_003_580), "Tue, 14 Nov 2023 23:13:00 GMT");
    }

    #[test]
    fn the_minute_floor() {
        assert_eq!(
            minute_floor(datetime!(2023-11-14 22:13:50 UTC)),
            1_699_999_980
        );
    }
}
