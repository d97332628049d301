//! The simulated browser's cookie jar, after RFC 6265bis.
//!
//! What it does, and what it leaves out:
//!
//! | rule | here |
//! | --- | --- |
//! | Max-Age wins over Expires | yes |
//! | Max-Age ≤ 0, or (no Max-Age and) Expires not after now, removes the cookie | yes |
//! | no Path attribute: the default path of the request | yes |
//! | a Secure cookie is not stored from, nor sent over, plain http | yes |
//! | path matching when sending; longer paths first | yes |
//! | Domain | ignored: every request goes to one host |
//! | an expired cookie is not sent | yes |
//! | `Expires` read with the cookie date algorithm (§5.1.1) | yes ([`crate::run::cookie_date`]) |

use cookie::Cookie;
use time::{Duration, OffsetDateTime};

use crate::run::cookie_date::parse_set_cookie;

/// One stored cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Path.
    pub path: String,
    /// When it expires; `None` for a cookie that lives as long as the browser.
    pub expires: Option<OffsetDateTime>,
    /// Sent only over https.
    pub secure: bool,
    created: u64,
}

/// A browser's cookie jar for one host.
#[derive(Debug, Clone, Default)]
pub struct Jar {
    cookies: Vec<StoredCookie>,
    next: u64,
}

/// What happened to a received Set-Cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored (or replaced an older one).
    Stored,
    /// Removed the cookie (or would have, had there been one).
    Removed,
    /// Ignored, with the reason.
    Ignored(&'static str),
}

/// Whether a parsed Set-Cookie tells the browser to drop the cookie:
/// Max-Age ≤ 0, or no Max-Age and an Expires not after `now`.
pub fn is_deletion(c: &Cookie<'_>, now: OffsetDateTime) -> bool {
    match c.max_age() {
        Some(age) => age <= Duration::ZERO,
        None => c.expires_datetime().is_some_and(|e| e <= now),
    }
}

/// The default path of a request path (RFC 6265 §5.1.4).
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request_path[..i].to_owned(),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path[cookie_path.len()..].starts_with('/')))
}

impl Jar {
    /// An empty jar.
    pub fn new() -> Self {
        Jar::default()
    }

    /// Takes one Set-Cookie header received in answer to a request for
    /// `request_path` over `https` at `now`. An unparsable header is an
    /// error carrying the parser's message.
    pub fn receive(
        &mut self,
        header: &str,
        request_path: &str,
        https: bool,
        now: OffsetDateTime,
    ) -> Result<Received, String> {
        let c = parse_set_cookie(header).map_err(|e| e.to_string())?;
        if c.secure() == Some(true) && !https {
            return Ok(Received::Ignored("a Secure cookie set over plain http"));
        }
        // RFC 6265bis, cookie name prefixes.
        if c.name().starts_with("__Secure-") && c.secure() != Some(true) {
            return Ok(Received::Ignored("a __Secure- cookie without Secure"));
        }
        if c.name().starts_with("__Host-")
            && (c.secure() != Some(true) || c.domain().is_some() || c.path() != Some("/"))
        {
            return Ok(Received::Ignored(
                "a __Host- cookie without Secure, with a Domain, or with a Path other than /",
            ));
        }
        let path = match c.path() {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => default_path(request_path),
        };
        let name = c.name().to_owned();
        let existing = self
            .cookies
            .iter()
            .position(|s| s.name == name && s.path == path);
        if is_deletion(&c, now) {
            if let Some(i) = existing {
                self.cookies.remove(i);
            }
            return Ok(Received::Removed);
        }
        // RFC 6265bis: a client keeps a cookie for at most 400 days.
        let cap = now + time::Duration::days(400);
        let expires = match c.max_age() {
            // RFC 6265 §5.2.2: an expiry past the latest representable
            // date is the latest one (a hostile Max-Age never overflows).
            Some(age) => Some(
                now.checked_add(age)
                    .unwrap_or(time::macros::datetime!(9999-12-31 23:59:59 UTC)),
            ),
            None => c.expires_datetime(),
        }
        .map(|e| e.min(cap));
        let created = match existing {
            Some(i) => self.cookies.remove(i).created,
            None => {
                self.next += 1;
                self.next
            }
        };
        self.cookies.push(StoredCookie {
            name,
            value: c.value().to_owned(),
            path,
            expires,
            secure: c.secure() == Some(true),
            created,
        });
        Ok(Received::Stored)
    }

    /// The Cookie header the browser sends for a request, if any.
    ///
    /// ```
    /// use moin_session_conformance::run::jar::Jar;
    /// let now = time::macros::datetime!(2009-03-01 12:00 UTC);
    /// let mut jar = Jar::new();
    /// jar.receive("A=1; Max-Age=60; Path=/", "/", false, now).unwrap();
    /// assert_eq!(jar.header_for("/Page", false, now).as_deref(), Some("A=1"));
    /// assert_eq!(jar.header_for("/Page", false, now + time::Duration::seconds(60)), None);
    /// ```
    pub fn header_for(
        &self,
        request_path: &str,
        https: bool,
        now: OffsetDateTime,
    ) -> Option<String> {
        let mut sent: Vec<&StoredCookie> = self
            .cookies
            .iter()
            .filter(|c| c.expires.is_none_or(|e| e > now))
            .filter(|c| !c.secure || https)
            .filter(|c| path_matches(request_path, &c.path))
            .collect();
        if sent.is_empty() {
            return None;
        }
        sent.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        let mut header = String::new();
        for c in sent {
            if !header.is_empty() {
                header.push_str("; ");
            }
            header.push_str(&c.name);
            header.push('=');
            header.push_str(&c.value);
        }
        Some(header)
    }

    /// The cookies held, live or not.
    pub fn cookies(&self) -> &[StoredCookie] {
        &self.cookies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2009-03-01 12:00 UTC);

    #[test]
    fn max_age_wins_over_expires() {
        let mut jar = Jar::new();
        jar.receive(
            "A=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "/",
            false,
            NOW,
        )
        .unwrap();
        assert!(jar.header_for("/", false, NOW).is_some());
        let mut jar = Jar::new();
        jar.receive(
            "A=1; Max-Age=0; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
            "/",
            false,
            NOW,
        )
        .unwrap();
        assert!(jar.cookies().is_empty());
    }

    #[test]
    fn deletion_by_past_expires_removes() {
        let mut jar = Jar::new();
        jar.receive("A=1; Path=/", "/", false, NOW).unwrap();
        assert_eq!(
            jar.receive(
                "A=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                "/",
                false,
                NOW
            ),
            Ok(Received::Removed)
        );
        assert!(jar.header_for("/", false, NOW).is_none());
    }

    #[test]
    fn deletion_needs_the_same_path() {
        let mut jar = Jar::new();
        jar.receive("A=1; Path=/wiki", "/wiki/X", false, NOW)
            .unwrap();
        jar.receive("A=; Max-Age=0; Path=/", "/", false, NOW)
            .unwrap();
        assert_eq!(
            jar.header_for("/wiki/X", false, NOW).as_deref(),
            Some("A=1")
        );
    }

    #[test]
    fn path_and_secure_matching() {
        let mut jar = Jar::new();
        jar.receive("A=1; Path=/wiki", "/wiki/Page", false, NOW)
            .unwrap();
        jar.receive("S=2; Path=/; Secure", "/", true, NOW).unwrap();
        assert_eq!(
            jar.receive("T=3; Path=/; Secure", "/", false, NOW),
            Ok(Received::Ignored("a Secure cookie set over plain http"))
        );
        assert_eq!(jar.header_for("/wiki", false, NOW).as_deref(), Some("A=1"));
        assert_eq!(
            jar.header_for("/wiki/P", true, NOW).as_deref(),
            Some("A=1; S=2")
        );
        assert_eq!(jar.header_for("/wikipedia", false, NOW), None);
        assert_eq!(jar.header_for("/", true, NOW).as_deref(), Some("S=2"));
    }

    #[test]
    fn default_path_comes_from_the_request() {
        let mut jar = Jar::new();
        jar.receive("A=1", "/a/b", false, NOW).unwrap();
        assert_eq!(jar.cookies()[0].path, "/a");
        assert_eq!(default_path("/"), "/");
        assert_eq!(default_path("/x"), "/");
    }

    #[test]
    fn replacing_keeps_one_cookie() {
        let mut jar = Jar::new();
        jar.receive("A=1; Path=/", "/", false, NOW).unwrap();
        jar.receive("A=2; Path=/", "/", false, NOW).unwrap();
        assert_eq!(jar.header_for("/", false, NOW).as_deref(), Some("A=2"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(Jar::new()
            .receive("no equals sign", "/", false, NOW)
            .is_err());
    }
}
