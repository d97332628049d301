//! The hardened profile's session cookie: its attributes in one response
//! and its two forms, issued and deleted (`r[hard.cookie.httponly]`,
//! `r[hard.cookie.samesite]`, `r[hard.cookie.secure]`,
//! `r[hard.cookie.host-prefix]`, `r[hard.cookie.delete-form]`), for
//! [`HardenedSessionService`](super::hardened::HardenedSessionService).

use crate::reference::pipeline::http_date;

use crate::config::HardenedConfig;

/// The attributes of the session cookie in one response.
pub(super) struct Form<'a> {
    name: String,
    path: &'a str,
    domain: Option<&'a str>,
    secure: bool,
    samesite: &'static str,
}

impl<'a> Form<'a> {
    pub(super) fn of(config: &'a HardenedConfig, https: bool) -> Form<'a> {
        Form {
            name: config.cookie_full_name(),
            path: config.effective_path(),
            domain: config.cookie_domain.as_deref(),
            secure: config.cookie_secure.unwrap_or(https),
            samesite: config.cookie_samesite.as_str(),
        }
    }

    /// `max_age` is `None` for the deletion (`r[hard.cookie.delete-form]`).
    fn render(&self, value: &str, max_age: Option<i64>, expires: i64) -> String {
        let mut out = format!("{}={value}", self.name);
        if let Some(max_age) = max_age {
            out.push_str(&format!("; Max-Age={max_age}"));
        }
        out.push_str(&format!(
            "; Expires={}; Path={}",
            http_date(expires),
            self.path
        ));
        if let Some(domain) = self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; HttpOnly; SameSite=");
        out.push_str(self.samesite);
        out
    }

    pub(super) fn issue(&self, sid: &str, max_age: i64, expires: i64) -> String {
        self.render(sid, Some(max_age), expires)
    }

    /// No `Max-Age`, and the epoch as `Expires`: earlier than any
    /// request's instant (`r[hard.cookie.delete-form]`).
    pub(super) fn deletion(&self) -> String {
        self.render("", None, 0)
    }
}
