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
mod emulate;
mod rewrite;
mod setcookie;
mod store;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use moin_session_spec::{
    AuthAction, Backend, BackendError, BackendInfo, CleanupMode, CleanupOutcome, CleanupRequest,
    Config, Finished, Op, Opened, Request, Response,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

pub use catalogue::Fault;
pub use store::{FaultyStore, InProcessUpdate};

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
    /// Every session value issued so far ([`Fault::SidPrefixMatch`],
    /// [`Fault::RefusesUnknownSid`]).
    issued: BTreeSet<String>,
    /// What the faults emulated across calls remember.
    emulation: emulate::Emulation,
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
            issued: BTreeSet::new(),
            emulation: emulate::Emulation::default(),
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
            Fault::SidPrefixMatch | Fault::RefusesUnknownSid => {
                self.issued.insert(value.to_owned());
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
        self.issued.clear();
        self.emulation = emulate::Emulation::default();
    }
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
        let r = self.rewrite_response(r, request);
        self.after_request(request, &r)?;
        Ok(r)
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
            Fault::CleanupUnknownUserSweeps => {
                let known = |u: &str| match &self.config {
                    Some(Config::Moin19(m)) => {
                        m.users.iter().chain(&m.disabled_users).any(|x| x == u)
                    }
                    Some(Config::Hardened(m)) => m.account_exists(u),
                    _ => true,
                };
                if c.user.as_deref().is_some_and(|u| !known(u)) {
                    c.user = None;
                }
            }
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

    crate::forward_backend_calls!(inner: corrupt, capabilities, loads_configuration, interleaves);

    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        let rewritten = self.rewrite_request(request);
        let rewritten = self.at_open(handle, rewritten);
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
        if let Some(results) = self.hold_ops(handle, &ops) {
            return Ok(results);
        }
        let mut results = self.inner.ops(handle, &ops)?;
        self.rewrite_results(&mut results);
        Ok(results)
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let f = self.finish_inner(handle, self.shift(now))?;
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
    use super::rewrite::render_date;
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
