//! Seeded faulty backends: a correct backend with one deliberate fault, to
//! show that the corpus, random traces and the soak catch it
//! ([`crate::proof::selftest`] runs them all).
//!
//! A fault is applied around the inner backend: by rewriting what the
//! configuration, the request or the cleanup says before the inner backend
//! sees it, by rewriting what it answers, or by forgetting sessions the way
//! a cache would (by count, by virtual idle time, by wall-clock time). Each
//! fault applies to the profiles [`Fault::profiles`] names; for other
//! profiles the backend is unchanged.

mod catalogue;
mod setcookie;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use moin_session_spec::{
    AuthAction, Backend, BackendError, BackendInfo, CleanupMode, CleanupOutcome, CleanupRequest,
    Config, Finished, Op, Opened, Request, Response,
};
use serde_json::Value;
use time::format_description::well_known::Rfc2822;
use time::{Duration, OffsetDateTime};

pub use catalogue::Fault;
use setcookie::{cookie_header, cookie_pairs, SetCookie};

/// How many sessions [`Fault::EvictsBeyond500`] keeps.
const CACHE_SIZE: usize = 500;
/// How long [`Fault::WallClockExpiry`] keeps an unused session.
const WALL_CLOCK_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A backend with one deliberate fault.
pub struct Faulty<B> {
    inner: B,
    fault: Fault,
    config: Option<Config>,
    /// Session values by recency of use (least recent first).
    recent: VecDeque<String>,
    /// Values the fault has forgotten.
    forgotten: BTreeSet<String>,
    /// When each value was last used, in real time.
    wall: BTreeMap<String, Instant>,
    /// When each value was last used, in virtual time.
    virtual_use: BTreeMap<String, OffsetDateTime>,
    /// Open requests by handle, as the caller sent them.
    open: BTreeMap<String, Request>,
}

impl<B: Backend> Faulty<B> {
    /// Wraps `inner`, adding `fault`.
    pub fn new(inner: B, fault: Fault) -> Self {
        Faulty {
            inner,
            fault,
            config: None,
            recent: VecDeque::new(),
            forgotten: BTreeSet::new(),
            wall: BTreeMap::new(),
            virtual_use: BTreeMap::new(),
            open: BTreeMap::new(),
        }
    }

    fn active(&self) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| self.fault.profiles().contains(&c.profile()))
    }

    fn on(&self, f: Fault) -> bool {
        self.fault == f && self.active()
    }

    fn cookie_name(&self) -> String {
        match &self.config {
            Some(Config::Moin19(c)) => c.cookie_full_name(),
            Some(Config::Hardened(c)) => c.cookie_full_name(),
            _ => "MOIN_SESSION".to_owned(),
        }
    }

    fn rewrite_config(&self, config: &Config) -> Config {
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
    fn shift(&self, now: OffsetDateTime) -> OffsetDateTime {
        if self.on(Fault::NowFlooredToSecond) {
            now.replace_nanosecond(0).expect("0 ns is valid")
        } else if self.on(Fault::ClockOneSecondLate) {
            now + Duration::seconds(1)
        } else {
            now
        }
    }

    fn forgets(&self, value: &str, now: OffsetDateTime) -> bool {
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
            _ => false,
        }
    }

    fn rewrite_request(&self, request: &Request) -> Request {
        let mut r = request.clone();
        if !self.active() {
            return r;
        }
        r.now = self.shift(r.now);
        let name = self.cookie_name();
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
    fn rewrite_ops(&self, ops: &[Op]) -> Vec<Op> {
        let mut ops = ops.to_vec();
        if self.on(Fault::DeleteIgnored) {
            ops.retain(|op| !matches!(op, Op::Delete { .. }));
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
    fn rewrite_results(&self, results: &mut [Value]) {
        if self.on(Fault::ValuesStringified) {
            for v in results.iter_mut().filter(|v| v.is_number()) {
                *v = Value::String(v.to_string());
            }
        }
    }

    /// Rewrites one Set-Cookie header; `None` drops it.
    fn rewrite_cookie(&self, c: &mut SetCookie, request: &Request) -> bool {
        let deletion = c.is_deletion();
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

    fn rewrite_response(&mut self, mut r: Response, request: &Request) -> Response {
        let mut headers = Vec::new();
        for h in &r.set_cookies {
            match SetCookie::parse(h) {
                Some(mut c) => {
                    if !c.is_deletion() {
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
            Fault::SilentOnRefusedSid if r.new => {
                r.set_cookies
                    .retain(|h| !SetCookie::parse(h).is_some_and(|c| c.is_deletion()));
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

    /// Notes a session value as used now.
    fn touch(&mut self, value: &str, now: OffsetDateTime) {
        if !self.active() {
            return;
        }
        match self.fault {
            Fault::EvictsBeyond500 => {
                self.recent.retain(|v| v != value);
                self.recent.push_back(value.to_owned());
                while self.recent.len() > CACHE_SIZE {
                    let old = self.recent.pop_front().expect("longer than the cache");
                    self.forgotten.insert(old);
                }
            }
            Fault::IdleCapOneYear => {
                self.virtual_use.insert(value.to_owned(), now);
            }
            Fault::WallClockExpiry => {
                self.wall.insert(value.to_owned(), Instant::now());
            }
            _ => {}
        }
    }

    fn forget_all(&mut self) {
        self.recent.clear();
        self.forgotten.clear();
        self.wall.clear();
        self.virtual_use.clear();
        self.open.clear();
    }
}

/// An instant as an IMF-fixdate.
fn render_date(t: OffsetDateTime) -> String {
    let s = t.format(&Rfc2822).expect("an instant formats");
    // RFC 2822 ends in "+0000"; a cookie date ends in "GMT".
    s.replace(" +0000", " GMT")
}

impl<B: Backend> Backend for Faulty<B> {
    fn info(&self) -> BackendInfo {
        let mut info = self.inner.info();
        info.name = format!("{} with fault {}", info.name, self.fault);
        info
    }

    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.config = Some(config.clone());
        self.forget_all();
        let c = self.rewrite_config(config);
        self.inner.reset(&c)
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.config = Some(config.clone());
        let c = self.rewrite_config(config);
        self.inner.reconfigure(&c)
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let rewritten = self.rewrite_request(request);
        let r = self.inner.request(&rewritten)?;
        Ok(self.rewrite_response(r, request))
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        if !self.active() {
            return self.inner.cleanup(request);
        }
        let mut c = request.clone();
        c.now = self.shift(c.now);
        match self.fault {
            Fault::LazyCleanup => return Ok(CleanupOutcome::default()),
            Fault::CleanupInclusive => c.now += Duration::milliseconds(1),
            Fault::CleanupAllIsExpired if c.mode == CleanupMode::All => {
                c.mode = CleanupMode::Expired;
            }
            Fault::CleanupIgnoresUser => c.user = None,
            _ => {}
        }
        let mut outcome = self.inner.cleanup(&c)?;
        if self.fault == Fault::CleanupSilent {
            outcome.removed.clear();
        }
        Ok(outcome)
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        let mut sids = self.inner.list()?;
        if self.on(Fault::ListDropsOne) {
            sids.sort();
            if !sids.is_empty() {
                sids.remove(0);
            }
        }
        if self.on(Fault::ListDuplicates) {
            sids = sids.iter().flat_map(|s| [s.clone(), s.clone()]).collect();
        }
        Ok(sids)
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.inner.corrupt(sid)
    }
    fn capabilities(&self) -> moin_session_spec::Capabilities {
        self.inner.capabilities()
    }

    fn loads_configuration(&self) -> bool {
        self.inner.loads_configuration()
    }

    fn interleaves(&self) -> bool {
        self.inner.interleaves()
    }

    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        let rewritten = self.rewrite_request(request);
        let mut o = self.inner.open(handle, &rewritten)?;
        self.open.insert(handle.to_owned(), request.clone());
        if self.on(Fault::NeverNew) {
            o.new = false;
        }
        self.rewrite_results(&mut o.results);
        Ok(o)
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        let ops = self.rewrite_ops(ops);
        let mut results = self.inner.ops(handle, &ops)?;
        self.rewrite_results(&mut results);
        Ok(results)
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let f = self.inner.finish(handle, self.shift(now))?;
        let mut request = self.open.remove(handle).unwrap_or_else(|| Request {
            now,
            https: false,
            path: "/".to_owned(),
            cookie_header: None,
            auth: AuthAction::None,
            ops: Vec::new(),
        });
        request.now = now;
        // The finish's headers, rewritten as a whole response's would be
        // (`new` is not known here, so a fault about it does not apply).
        let as_response = Response {
            new: false,
            user: None,
            set_cookies: f.set_cookies,
            results: Vec::new(),
            cache_control: f.cache_control,
        };
        let r = self.rewrite_response(as_response, &request);
        Ok(Finished {
            set_cookies: r.set_cookies,
            cache_control: r.cache_control,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_there_are_forty() {
        for (name, fault) in Fault::ALL {
            assert_eq!(name.parse::<Fault>().unwrap(), *fault);
            assert_eq!(fault.to_string(), *name);
            assert!(!fault.profiles().is_empty());
            assert!(!fault.description().is_empty());
        }
        assert!(Fault::ALL.len() >= 40);
        assert!("nope".parse::<Fault>().is_err());
    }

    #[test]
    fn dates_render_as_cookie_dates() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_003_580).unwrap();
        assert_eq!(render_date(t), "Tue, 14 Nov 2023 23:13:00 GMT");
    }
}
