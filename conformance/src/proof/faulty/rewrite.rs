//! How a fault rewrites what passes between the caller and the inner
//! backend: the configuration, the request (clock, cookie header, action,
//! application code), the cleanup, and the response's headers and values.

use moin_session_spec::{AuthAction, Backend, Config, Op, Request, Response};
use serde_json::Value;
use time::format_description::well_known::Rfc2822;
use time::{Duration, OffsetDateTime};

use super::setcookie::{cookie_header, cookie_pairs, SetCookie};
use super::{Fault, Faulty, WALL_CLOCK_TTL};

impl<B: Backend> Faulty<B> {
    pub(super) fn rewrite_config(&self, config: &Config) -> Config {
        let mut c = config.clone();
        if !self.fault.profiles().contains(&c.profile()) {
            return c;
        }
        match (&mut c, self.fault) {
            (Config::Moin19(m), Fault::NegativeDisables) if m.cookie_lifetime.logged_in < 0.0 => {
                m.cookie_lifetime.logged_in = 0.0;
            }
            (Config::Moin19(m), Fault::NegativeHonoursRememberMe) => {
                m.cookie_lifetime.logged_in = m.cookie_lifetime.logged_in.abs();
            }
            (Config::Moin16(m), Fault::NegativeHonoursRememberMe) => {
                m.cookie_lifetime = m.cookie_lifetime.abs();
            }
            (Config::Moin19(m), Fault::AnonZeroEnables) if m.cookie_lifetime.anonymous == 0.0 => {
                m.cookie_lifetime.anonymous = 1.0;
            }
            (Config::Moin19(m), Fault::LifetimeRounded) => {
                let round = |h: f64| {
                    let r = (h * 3600.0).round();
                    (r + 0.5 * h.signum()) / 3600.0
                };
                m.cookie_lifetime.anonymous = round(m.cookie_lifetime.anonymous);
                m.cookie_lifetime.logged_in = round(m.cookie_lifetime.logged_in);
            }
            (Config::Moin19(m), Fault::DefaultLifetime24h)
                if m.cookie_lifetime.anonymous == 0.0 && m.cookie_lifetime.logged_in == 12.0 =>
            {
                m.cookie_lifetime.logged_in = 24.0;
            }
            (Config::Moin16(m), Fault::DefaultLifetime24h) if m.cookie_lifetime == 12.0 => {
                m.cookie_lifetime = 24.0;
            }
            (Config::Moin16(m), Fault::AnonSecondsRounded) => {
                // A setting whose truncated seconds are the rounded ones.
                m.anonymous_cookie_lifetime = m
                    .anonymous_cookie_lifetime
                    .map(|h| ((h * 3600.0).round() + 0.5) / 3600.0);
            }
            (Config::Hardened(m), Fault::HeaderLimitChars) => {
                // The limit is applied to characters in the request rewrite.
                m.max_cookie_header = u64::MAX;
            }
            (Config::Moin16(m), Fault::AnonLifetimeWholeHours) => {
                m.anonymous_cookie_lifetime = m
                    .anonymous_cookie_lifetime
                    .map(f64::trunc)
                    .filter(|h| *h >= 1.0);
            }
            (Config::Moin16(m), Fault::ZeroNotForever) if m.cookie_lifetime == 0.0 => {
                m.cookie_lifetime = 12.0;
            }
            (Config::Moin16(m), Fault::AnonLeaseFromLoginLifetime)
                if m.cookie_lifetime >= 1.0 && m.anonymous_cookie_lifetime.is_some() =>
            {
                m.anonymous_cookie_lifetime = Some(m.cookie_lifetime);
            }
            (Config::Moin16(m), Fault::AnonSessionOff) => {
                m.auth.retain(|a| a != "moin_anon_session");
            }
            (Config::Moin19(m), Fault::DisabledAccountsEnabled) => {
                m.users.append(&mut m.disabled_users);
            }
            (Config::Moin16(m), Fault::DisabledAccountsEnabled) => {
                m.users.append(&mut m.disabled_users);
            }
            (Config::Hardened(m), Fault::DisabledAccountsEnabled) => {
                m.users.append(&mut m.disabled_users);
            }
            (Config::Hardened(m), Fault::StrictAsLax) => {
                m.cookie_samesite = moin_session_spec::SameSite::Lax;
            }
            (Config::Hardened(m), Fault::NoAbsoluteTimeout) => {
                m.absolute_timeout = moin_session_spec::MAX_LIFETIME_HOURS;
            }
            (Config::Hardened(m), Fault::HeaderLimitIgnored) => {
                m.max_cookie_header = u64::MAX;
            }
            (Config::Moin19(m), Fault::AuthMethodKept) if !m.auth.iter().any(|a| a == "moin") => {
                m.auth.push("moin".to_owned());
            }
            (Config::Moin19(m), Fault::EveryoneSuperuser) => {
                m.superusers = m.users.iter().chain(&m.disabled_users).cloned().collect();
            }
            _ => {}
        }
        c
    }

    /// Shifts an instant as a clock fault would.
    pub(super) fn shift(&self, now: OffsetDateTime) -> OffsetDateTime {
        if self.on(Fault::NowFlooredToSecond) {
            now.replace_nanosecond(0).expect("0 ns is valid")
        } else if self.on(Fault::ClockOneSecondLate) {
            now + Duration::seconds(1)
        } else {
            now
        }
    }

    pub(super) fn forgets(&self, value: &str, now: OffsetDateTime) -> bool {
        match self.fault {
            Fault::EvictsBeyond500 => self.forgotten.contains(value),
            Fault::IdleCapOneYear => self
                .virtual_use
                .get(value)
                .is_some_and(|t| now - *t > Duration::days(365)),
            Fault::WallClockExpiry => self
                .wall
                .get(value)
                .is_some_and(|t| t.elapsed() > WALL_CLOCK_TTL),
            // Well-formed and never issued: refused, as if not sent.
            Fault::RefusesUnknownSid => {
                moin_session_spec::sid::is_well_formed(value) && !self.issued.contains(value)
            }
            _ => false,
        }
    }

    pub(super) fn rewrite_request(&self, request: &Request) -> Request {
        let mut r = request.clone();
        if !self.active() {
            return r;
        }
        r.now = self.shift(r.now);
        let name = self.cookie_name();
        if let (Fault::HeaderLimitChars, Some(Config::Hardened(c)), Some(h)) =
            (self.fault, &self.config, &r.cookie_header)
        {
            if h.chars().count() as u64 > c.max_cookie_header {
                r.cookie_header = None;
            }
        }
        if let Some(h) = &r.cookie_header {
            let mut pairs = cookie_pairs(h);
            pairs.retain(|(_, v)| !self.forgets(v, request.now));
            let lower40 = |v: &str| v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit());
            for (k, v) in pairs.iter_mut().filter(|(k, _)| *k == name) {
                if self.fault == Fault::SidCaseInsensitive && lower40(v) {
                    *v = v.to_ascii_lowercase();
                }
                if self.fault == Fault::SidTrimmedTo40 && v.len() > 40 && lower40(&v[..40]) {
                    v.truncate(40);
                }
                if self.fault == Fault::SidUnquoted && v.len() >= 2 {
                    if let Some(inner) = v.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                        *v = inner.to_owned();
                    }
                }
                if self.fault == Fault::SidPrefixMatch && (8..40).contains(&v.len()) {
                    if let Some(sid) = self.issued.iter().find(|s| s.starts_with(v.as_str())) {
                        *v = sid.clone();
                    }
                }
                let _ = k;
            }
            if self.fault == Fault::LastCookieWins {
                let session: Vec<usize> =
                    (0..pairs.len()).filter(|i| pairs[*i].0 == name).collect();
                if let Some((_, earlier)) = session.split_last() {
                    for i in earlier.iter().rev() {
                        pairs.remove(*i);
                    }
                }
            }
            r.cookie_header = cookie_header(&pairs);
        }
        r.auth = match (self.fault, r.auth) {
            (Fault::RememberMeIgnored, AuthAction::Login { user, .. }) => AuthAction::Login {
                user,
                remember_me: false,
            },
            (Fault::RememberMeAlways, AuthAction::Login { user, .. }) => AuthAction::Login {
                user,
                remember_me: true,
            },
            (Fault::FailedLoginSucceeds, AuthAction::FailedLogin { user }) => AuthAction::Login {
                user,
                remember_me: true,
            },
            (Fault::LogoutIgnored, AuthAction::Logout) => AuthAction::None,
            (Fault::ChangeUserIgnored, AuthAction::ChangeUser { .. }) => AuthAction::None,
            (Fault::EndOthersIgnored, AuthAction::EndOtherSessions) => AuthAction::None,
            (_, auth) => auth,
        };
        r.ops = self.rewrite_ops(&r.ops);
        r
    }

    /// Application code as a fault would carry it out.
    pub(super) fn rewrite_ops(&self, ops: &[Op]) -> Vec<Op> {
        let mut ops = ops.to_vec();
        if self.on(Fault::DeleteIgnored) {
            ops.retain(|op| !matches!(op, Op::Delete { .. }));
        }
        if self.on(Fault::DeleteAbsentIsAWrite) {
            // A set before each delete: the key is held, so the delete is
            // a write whether or not the session held it.
            ops = ops
                .into_iter()
                .flat_map(|op| match op {
                    Op::Delete { key } => vec![
                        Op::Set {
                            key: key.clone(),
                            value: Value::Bool(true),
                        },
                        Op::Delete { key },
                    ],
                    op => vec![op],
                })
                .collect();
        }
        if self.on(Fault::MacroOffByOne) {
            for op in &mut ops {
                if let Op::Macro { random, .. } = op {
                    *random += 1;
                }
            }
        }
        ops
    }

    /// Values read back as a fault would return them.
    pub(super) fn rewrite_results(&self, results: &mut [Value]) {
        if self.on(Fault::ValuesStringified) {
            for v in results.iter_mut().filter(|v| v.is_number()) {
                *v = Value::String(v.to_string());
            }
        }
    }

    /// Rewrites one Set-Cookie header; `None` drops it.
    pub(super) fn rewrite_cookie(&self, c: &mut SetCookie, request: &Request) -> bool {
        let deletion = c.is_deletion(request.now);
        let expires_at = |c: &SetCookie, base: OffsetDateTime| {
            c.max_age()
                .map(|l| render_date(base + Duration::seconds(l)))
        };
        match self.fault {
            Fault::MaxAgePlusOne if !deletion => {
                if let Some(n) = c.max_age() {
                    c.set("Max-Age", Some((n + 1).to_string()));
                }
            }
            Fault::ExpiresNotFloored if !deletion => {
                let base = request.now.replace_nanosecond(0).expect("0 ns is valid");
                if let Some(e) = expires_at(c, base) {
                    c.set("Expires", Some(e));
                }
            }
            Fault::ExpiresFloorHour if !deletion => {
                let t = request.now.unix_timestamp();
                let base = OffsetDateTime::from_unix_timestamp(t - t.rem_euclid(3600))
                    .expect("an hour floor is in range");
                if let Some(e) = expires_at(c, base) {
                    c.set("Expires", Some(e));
                }
            }
            Fault::ExpiresRoundedSecond if !deletion && request.now.millisecond() >= 500 => {
                let base = request.now.replace_nanosecond(0).expect("0 ns is valid")
                    + Duration::seconds(1);
                if let Some(e) = expires_at(c, base) {
                    c.set("Expires", Some(e));
                }
            }
            Fault::DeletionKeepsValue if deletion => c.value = "deleted".to_owned(),
            Fault::DeletionWithoutExpires if deletion => c.remove("Expires"),
            Fault::DeletionWithoutMaxAge if deletion => {
                c.remove("Max-Age");
                if !c.has("Expires") {
                    c.set("Expires", Some("Thu, 01 Jan 1970 00:00:00 GMT".to_owned()));
                }
            }
            Fault::DeletionSecure if deletion => c.set("Secure", None),
            Fault::PathAlwaysRoot => c.set("Path", Some("/".to_owned())),
            Fault::NoDomain => c.remove("Domain"),
            Fault::SecureNever if !deletion => c.remove("Secure"),
            Fault::SecureAlways if !deletion => c.set("Secure", None),
            Fault::HttpOnlyAlways if !deletion => c.set("HttpOnly", None),
            Fault::HttpOnlyNever if !deletion => c.remove("HttpOnly"),
            Fault::SameSiteDropped if !deletion => c.remove("SameSite"),
            Fault::DeletionNotSecure if deletion => c.remove("Secure"),
            Fault::DeletionWithMaxAge if deletion => c.set("Max-Age", Some("0".to_owned())),
            Fault::DeletionFutureExpires if deletion && !c.has("Max-Age") => {
                c.set(
                    "Expires",
                    Some(render_date(request.now + Duration::days(365))),
                );
            }
            Fault::ExpiresTwoDigitYear | Fault::ExpiresYearZeroPadded if !deletion => {
                let date = c
                    .get("Expires")
                    .and_then(crate::run::cookie_date::parse_cookie_date);
                if let Some(date) = date {
                    let padded = self.fault == Fault::ExpiresYearZeroPadded;
                    c.set("Expires", Some(two_digit_date(date.instant, padded)));
                }
            }
            Fault::MaxAgeUnbounded if !deletion => {
                if let Some(Config::Hardened(h)) = &self.config {
                    let idle = |hours: f64| moin_session_spec::lifetime::hours_to_secs(hours);
                    let longest = idle(h.cookie_lifetime.logged_in)
                        .max(idle(h.cookie_lifetime.anonymous))
                        .min(moin_session_spec::lifetime::COOKIE_CAP_SECS);
                    if c.max_age().is_some_and(|n| n > 0 && n < longest) {
                        c.set("Max-Age", Some(longest.to_string()));
                    }
                }
            }
            Fault::NameSuffix => c.name.push_str("_X"),
            Fault::NoDeletion if deletion => return false,
            Fault::AnonNotRefreshed if !deletion && !c.value.contains(':') => {
                let sent = request
                    .cookie_header
                    .as_deref()
                    .map(cookie_pairs)
                    .unwrap_or_default();
                if sent.iter().any(|(k, v)| *k == c.name && *v == c.value) {
                    return false;
                }
            }
            _ => {}
        }
        true
    }

    pub(super) fn rewrite_response(&mut self, mut r: Response, request: &Request) -> Response {
        let mut headers = Vec::new();
        for h in &r.set_cookies {
            match SetCookie::parse(h) {
                Some(mut c) => {
                    if !c.is_deletion(request.now) {
                        self.touch(&c.value, request.now);
                    }
                    if !self.active() || self.rewrite_cookie(&mut c, request) {
                        headers.push(if self.active() { c.render() } else { h.clone() });
                    }
                }
                None => headers.push(h.clone()),
            }
        }
        r.set_cookies = headers;
        if !self.active() {
            return r;
        }
        match self.fault {
            Fault::NeverNew => r.new = false,
            Fault::DuplicateCookie => {
                r.set_cookies = r
                    .set_cookies
                    .iter()
                    .flat_map(|h| [h.clone(), h.clone()])
                    .collect();
            }
            Fault::Cacheable => r.cache_control = None,
            Fault::DeadlineSidMaxAgeZero if r.user.is_some() => {
                // A valid user whose response deletes the cookie: the
                // deadline was reached; send the sid with Max-Age=0 instead.
                let name = self.cookie_name();
                let sent = self.sent_value(request);
                let at = request.now + Duration::nanoseconds(999_999_999);
                let at = at.replace_nanosecond(0).expect("0 ns is valid");
                for h in r.set_cookies.iter_mut() {
                    match (SetCookie::parse(h), &sent) {
                        (Some(mut c), Some(sid))
                            if c.name == name && c.is_deletion(request.now) =>
                        {
                            c.value = sid.clone();
                            c.set("Max-Age", Some("0".to_owned()));
                            c.set("Expires", Some(render_date(at)));
                            *h = c.render();
                        }
                        _ => {}
                    }
                }
            }
            Fault::SilentOnRefusedSid if r.new => {
                r.set_cookies
                    .retain(|h| !SetCookie::parse(h).is_some_and(|c| c.is_deletion(request.now)));
            }
            Fault::DeletionWhenNew => {
                let name = self.cookie_name();
                let sends = r
                    .set_cookies
                    .iter()
                    .any(|h| SetCookie::parse(h).is_some_and(|c| c.name == name));
                if r.new && !sends {
                    if let Some(Config::Moin19(m)) = &self.config {
                        let mut d = format!(
                            "{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path={}",
                            m.effective_path()
                        );
                        if let Some(domain) = &m.cookie_domain {
                            d.push_str(&format!("; Domain={domain}"));
                        }
                        r.set_cookies.push(d);
                    }
                }
            }
            _ => {}
        }
        self.rewrite_results(&mut r.results);
        r
    }
}

/// An instant as an IMF-fixdate.
/// An instant as `b49a8d6c` writes it: `Weekday, DD-Mon-YY HH:MM:SS GMT`.
/// `t` as `b49a8d6c` writes it (the year's last two digits), or with those
/// two digits padded to four (`0055`).
fn two_digit_date(t: OffsetDateTime, padded: bool) -> String {
    let format = if padded {
        time::macros::format_description!(
            "[weekday repr:short], [day]-[month repr:short]-00[year repr:last_two] [hour]:[minute]:[second] GMT"
        )
    } else {
        time::macros::format_description!(
            "[weekday], [day]-[month repr:short]-[year repr:last_two] [hour]:[minute]:[second] GMT"
        )
    };
    t.format(&format).expect("an instant formats")
}

pub(super) fn render_date(t: OffsetDateTime) -> String {
    let s = t.format(&Rfc2822).expect("an instant formats");
    // RFC 2822 ends in "+0000"; a cookie date ends in "GMT".
    s.replace(" +0000", " GMT")
}
