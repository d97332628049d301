//! Seeded faulty backends: a correct backend with one deliberate fault, to
//! show that the corpus and random traces catch it.

use std::fmt;
use std::str::FromStr;

use moin_session_spec::{
    Backend, BackendError, BackendInfo, CleanupOutcome, CleanupRequest, Config, Finished, Op,
    Opened, Request, Response,
};
use serde_json::Value;
use time::OffsetDateTime;

/// One deliberate fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every issued cookie's Max-Age is one second too long.
    MaxAgePlusOne,
    /// The `new` flag is always false.
    NeverNew,
    /// Deletion cookies are never sent.
    NoDeletion,
    /// Cleanup reports nothing removed and removes nothing.
    LazyCleanup,
}

impl Fault {
    /// Every fault, by name.
    pub const ALL: &'static [(&'static str, Fault)] = &[
        ("max-age-plus-one", Fault::MaxAgePlusOne),
        ("never-new", Fault::NeverNew),
        ("no-deletion", Fault::NoDeletion),
        ("lazy-cleanup", Fault::LazyCleanup),
    ];
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Fault::ALL
            .iter()
            .find(|(_, x)| x == self)
            .map(|(n, _)| *n)
            .expect("every fault has a name");
        f.write_str(name)
    }
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Fault::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|(n, _)| *n).collect();
                format!("unknown fault {s:?} (known: {})", names.join(", "))
            })
    }
}

/// A backend with one deliberate fault.
pub struct Faulty<B> {
    inner: B,
    fault: Fault,
}

impl<B: Backend> Faulty<B> {
    /// Wraps `inner`, adding `fault`.
    pub fn new(inner: B, fault: Fault) -> Self {
        Faulty { inner, fault }
    }
}

fn is_deletion(header: &str) -> bool {
    header.contains("Max-Age=0")
}

fn bump_max_age(header: &str) -> String {
    let Some(i) = header.find("Max-Age=") else {
        return header.to_owned();
    };
    let start = i + "Max-Age=".len();
    let end = header[start..]
        .find(';')
        .map_or(header.len(), |j| start + j);
    match header[start..end].parse::<i64>() {
        Ok(n) if n > 0 => format!("{}{}{}", &header[..start], n + 1, &header[end..]),
        _ => header.to_owned(),
    }
}

impl<B: Backend> Backend for Faulty<B> {
    fn info(&self) -> BackendInfo {
        let mut info = self.inner.info();
        info.name = format!("{} with fault {}", info.name, self.fault);
        info
    }

    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner.reset(config)
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner.reconfigure(config)
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let mut r = self.inner.request(request)?;
        match self.fault {
            Fault::MaxAgePlusOne => {
                r.set_cookies = r.set_cookies.iter().map(|h| bump_max_age(h)).collect()
            }
            Fault::NeverNew => r.new = false,
            Fault::NoDeletion => r.set_cookies.retain(|h| !is_deletion(h)),
            Fault::LazyCleanup => {}
        }
        Ok(r)
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        if self.fault == Fault::LazyCleanup {
            return Ok(CleanupOutcome::default());
        }
        self.inner.cleanup(request)
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.inner.list()
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.inner.corrupt(sid)
    }

    fn interleaves(&self) -> bool {
        self.inner.interleaves()
    }

    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        let mut o = self.inner.open(handle, request)?;
        if self.fault == Fault::NeverNew {
            o.new = false;
        }
        Ok(o)
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        self.inner.ops(handle, ops)
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let mut f = self.inner.finish(handle, now)?;
        match self.fault {
            Fault::MaxAgePlusOne => {
                f.set_cookies = f.set_cookies.iter().map(|h| bump_max_age(h)).collect()
            }
            Fault::NoDeletion => f.set_cookies.retain(|h| !is_deletion(h)),
            Fault::NeverNew | Fault::LazyCleanup => {}
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_bumped_only_on_issued_cookies() {
        assert_eq!(
            bump_max_age("A=1; Max-Age=60; Path=/"),
            "A=1; Max-Age=61; Path=/"
        );
        assert_eq!(
            bump_max_age("A=1; Path=/; Max-Age=60"),
            "A=1; Path=/; Max-Age=61"
        );
        assert_eq!(bump_max_age("A=; Max-Age=0"), "A=; Max-Age=0");
    }

    #[test]
    fn names_round_trip() {
        for (name, fault) in Fault::ALL {
            assert_eq!(name.parse::<Fault>().unwrap(), *fault);
            assert_eq!(fault.to_string(), *name);
        }
        assert!("nope".parse::<Fault>().is_err());
    }
}
