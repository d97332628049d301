//! The lifetime rules: hours in the configuration to seconds of a session.
//!
//! Implements `r[m19.lifetime.seconds]`, `r[m19.lifetime.truncation]`,
//! `r[m19.lifetime.anon-zero-disables]`,
//! `r[m19.lifetime.logged-in-zero-disables]`,
//! `r[m19.lifetime.negative-ignores-remember-me]` and
//! `r[m19.lifetime.remember-me-forever]`, and for moin-1.6
//! ([`m16_logged_in_secs`]) the `r[m16.lifetime.*]` rules of the logged-in
//! cookie.
//!
//! | hours | valid user | remember_me | seconds |
//! | --- | --- | --- | --- |
//! | 12 | yes | no | 43 200 |
//! | 12 | yes | yes | 315 360 000 (forever) |
//! | -2 | yes | yes | 7 200 |
//! | 0 | any | any | 0 (disabled) |
//! | 0.0002 | any | any | 0 (0.72 s truncates to 0) |

/// The largest number of hours, either sign, that a configured lifetime
/// may be: 100 years. Larger values cannot be rendered as a cookie expiry
/// date (`r[m19.config.lifetime-finite]`, `r[m16.config.lifetime-finite]`).
pub const MAX_LIFETIME_HOURS: f64 = 876_000.0;

/// "Forever": ten years of 365 days, in seconds.
pub const FOREVER_SECS: i64 = 10 * 365 * 24 * 3600;

/// Whole seconds of `hours`, truncated toward zero.
///
/// ```
/// use moin_session_spec::lifetime::hours_to_secs;
/// assert_eq!(hours_to_secs(1.5), 5400);
/// assert_eq!(hours_to_secs(-0.5), -1800);
/// assert_eq!(hours_to_secs(0.0002), 0);
/// ```
pub fn hours_to_secs(hours: f64) -> i64 {
    (hours * 3600.0).trunc() as i64
}

/// The session lifetime in seconds (`L`) for a user.
///
/// `hours` is the element of `cookie_lifetime` for the user's kind (the
/// logged-in element for a valid user, else the anonymous one); `valid` and
/// `remember_me` describe the real user. 0 means sessions are disabled.
///
/// ```
/// use moin_session_spec::lifetime::{session_lifetime_secs, FOREVER_SECS};
/// assert_eq!(session_lifetime_secs(12.0, true, true), FOREVER_SECS);
/// assert_eq!(session_lifetime_secs(12.0, true, false), 43_200);
/// assert_eq!(session_lifetime_secs(-2.0, true, true), 7_200);
/// assert_eq!(session_lifetime_secs(0.0, true, true), 0);
/// // remember_me counts only for a valid user:
/// assert_eq!(session_lifetime_secs(1.0, false, true), 3_600);
/// ```
pub fn session_lifetime_secs(hours: f64, valid: bool, remember_me: bool) -> i64 {
    let secs = hours_to_secs(hours);
    if valid && remember_me && secs > 0 {
        FOREVER_SECS
    } else {
        secs.abs()
    }
}

/// The logged-in lifetime (`r[m16.lifetime.*]`): the fraction of the hours
/// is dropped before scaling; 0 is forever; positive is forever with
/// remember_me; negative is its absolute value.
///
/// ```
/// use moin_session_spec::lifetime::{m16_logged_in_secs, FOREVER_SECS};
/// assert_eq!(m16_logged_in_secs(0.5, false), FOREVER_SECS);
/// assert_eq!(m16_logged_in_secs(1.9, false), 3600);
/// assert_eq!(m16_logged_in_secs(12.0, true), FOREVER_SECS);
/// assert_eq!(m16_logged_in_secs(-2.0, true), 7200);
/// ```
pub fn m16_logged_in_secs(hours: f64, remember_me: bool) -> i64 {
    let secs = hours.trunc() as i64 * 3600;
    if secs == 0 || (secs > 0 && remember_me) {
        FOREVER_SECS
    } else {
        secs.abs()
    }
}

/// The longest a cookie may live, in seconds: 400 days, the limit RFC
/// 6265bis lets clients apply (`r[hard.cookie.400-days]`).
pub const COOKIE_CAP_SECS: i64 = 400 * 24 * 3600;

/// The hardened idle lifetime in seconds, before the 400-day cap and the
/// absolute deadline (`r[hard.timeout.idle]`, `r[hard.timeout.remember-me]`):
/// the element's whole seconds; for a valid user with `remember_me` and a
/// logged-in element of at least one second, the absolute timeout instead.
///
/// ```
/// use moin_session_spec::lifetime::hardened_idle_secs;
/// assert_eq!(hardened_idle_secs(12.0, true, false, 720.0), 43_200);
/// assert_eq!(hardened_idle_secs(12.0, true, true, 720.0), 2_592_000);
/// assert_eq!(hardened_idle_secs(0.0, true, true, 720.0), 0);
/// assert_eq!(hardened_idle_secs(1.0, false, true, 720.0), 3_600);
/// ```
pub fn hardened_idle_secs(hours: f64, valid: bool, remember_me: bool, absolute_hours: f64) -> i64 {
    let secs = hours_to_secs(hours).max(0);
    if valid && remember_me && secs > 0 {
        hours_to_secs(absolute_hours)
    } else {
        secs
    }
}
