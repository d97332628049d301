//! The `Set-Cookie` values of the moin-1.6 reference service: the issued
//! cookie with `Max-Age` and an RFC 850 `Expires`, the deletion, and the
//! attributes both carry (section 14 of `spec/moin-1.6.md`).

use time::OffsetDateTime;

use crate::config::M16Config;
use crate::lifetime::FOREVER_SECS;
use crate::reference::pipeline::first_cookie;
use crate::sid::is_cookie_octet;

use super::keys::Key;

/// The one cookie name of the profile (`r[m16.cookie.name]`).
pub const M16_COOKIE_NAME: &str = "MOIN_SESSION";

/// What the deletion cookie's `Expires` lies in the past by, as MoinMoin's.
const DELETION_PAST_SECS: i64 = 365 * 86_400;

/// An issued session cookie (`r[m16.cookie.max-age-expires]` and the
/// attributes of section 14).
pub(super) fn issue(config: &M16Config, value: &str, lifetime: i64, expiry: i64) -> String {
    let mut out = format!(
        "{M16_COOKIE_NAME}={value}; Max-Age={lifetime}; Expires={}",
        cookie_date(expiry)
    );
    attributes(config, &mut out);
    out
}

/// `r[m16.cookie.delete-form]`.
pub(super) fn deletion(config: &M16Config, now: OffsetDateTime) -> String {
    let mut out = format!(
        "{M16_COOKIE_NAME}=; Max-Age=0; Expires={}",
        cookie_date(now.unix_timestamp() - DELETION_PAST_SECS)
    );
    attributes(config, &mut out);
    out
}

/// `r[m16.cookie.path]`, `r[m16.cookie.domain]`, and neither `Secure`
/// nor `HttpOnly` (`r[m16.cookie.no-secure-httponly]`).
fn attributes(config: &M16Config, out: &mut String) {
    out.push_str("; Path=");
    out.push_str(config.effective_path());
    if let Some(domain) = config.cookie_domain.as_deref().filter(|d| !d.is_empty()) {
        out.push_str("; Domain=");
        out.push_str(domain);
    }
}

/// An `Expires` date in MoinMoin 1.6's RFC 850 form,
/// `Monday, 02-Mar-09 00:00:30 GMT`, with a four-digit year outside 1970 to
/// 2049, where some readers of a two-digit year pick another century
/// (`r[m16.cookie.max-age-expires]`, `r[m16.cookie.expires-year]`).
fn cookie_date(secs: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp(secs)
        .expect("cookie instants are within 100 years of now (r[m16.config.lifetime-finite])");
    let two_digits = (1970..=2049).contains(&at.year());
    let result = if two_digits {
        at.format(time::macros::format_description!(
            "[weekday], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
        ))
    } else {
        at.format(time::macros::format_description!(
            "[weekday repr:short], [day]-[month repr:short]-[year] [hour]:[minute]:[second] GMT"
        ))
    };
    result.expect("an RFC 850 date can be written for any date of a four-digit year")
}

/// The logged-in lifetime `L` (`r[m16.lifetime.fraction-dropped]`,
/// `r[m16.lifetime.zero-forever]`, `r[m16.lifetime.positive]`,
/// `r[m16.lifetime.positive-remember-me]`, `r[m16.lifetime.negative]`).
pub(super) fn logged_in_secs(cookie_lifetime: f64, remember_me: bool) -> i64 {
    // |cookie_lifetime| <= 876000 (r[m16.config.lifetime-finite]).
    let s = (cookie_lifetime.trunc() as i64) * 3600;
    match s {
        0 => FOREVER_SECS,
        s if s > 0 && remember_me => FOREVER_SECS,
        s => s.abs(),
    }
}

/// `floor(now)`, in seconds since 1970.
pub(super) fn floor(now: OffsetDateTime) -> i64 {
    now.unix_timestamp()
}

/// What the request's session cookie is (section 4).
pub(super) enum SessionCookie<'h> {
    /// No session cookie, an empty value (`r[m16.session.no-cookie]`), or
    /// an anonymous name too long to have a record.
    Absent,
    /// An anonymous name.
    Anon(&'h str),
    /// A logged-in cookie value (it holds `:`).
    LoggedIn(&'h str),
}

impl<'h> SessionCookie<'h> {
    pub(super) fn of(header: Option<&'h str>) -> SessionCookie<'h> {
        match header.and_then(|h| first_cookie(h, M16_COOKIE_NAME)) {
            Some(v) if v.contains(':') => SessionCookie::LoggedIn(v),
            // r[m16.session.anon-name-octets]: a value a cookie cannot hold
            // is no cookie, so it is never echoed.
            Some(v) if !v.bytes().all(is_cookie_octet) => SessionCookie::Absent,
            Some(v) if Key::anon(v).is_some() => SessionCookie::Anon(v),
            _ => SessionCookie::Absent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc_850() {
        // 2009-03-02T00:00:30Z, the spec's example.
        assert_eq!(cookie_date(1_235_952_030), "Monday, 02-Mar-09 00:00:30 GMT");
        assert_eq!(cookie_date(0), "Thursday, 01-Jan-70 00:00:00 GMT");
        // 2050-01-01: some readers take a two-digit 50 as 1950.
        assert_eq!(cookie_date(2_524_608_000), "Sat, 01-Jan-2050 00:00:00 GMT");
        // 2070-01-01: a two-digit 70 would read as 1970.
        assert_eq!(cookie_date(3_155_760_000), "Wed, 01-Jan-2070 00:00:00 GMT");
    }

    #[test]
    fn lifetimes_follow_the_table_of_section_11() {
        for (hours, off, on) in [
            (0.0, FOREVER_SECS, FOREVER_SECS),
            (0.5, FOREVER_SECS, FOREVER_SECS),
            (-0.5, FOREVER_SECS, FOREVER_SECS),
            (1.9, 3600, FOREVER_SECS),
            (12.0, 43_200, FOREVER_SECS),
            (-2.0, 7200, 7200),
        ] {
            assert_eq!(logged_in_secs(hours, false), off, "{hours}");
            assert_eq!(logged_in_secs(hours, true), on, "{hours}");
        }
        assert_eq!((4.35f64 * 3600.0).trunc() as i64, 15_659);
    }
}
