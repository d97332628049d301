//! A session backend as a backend author would write one: a moin-1.9
//! session service that always marks its session cookie `HttpOnly`, a
//! common hardening that departs from `m19.cookie.httponly` (which sends
//! it only when `cookie_httponly` is on). It keeps its sessions in the
//! reference service over a memory store and rewrites the cookies it
//! issues, so everything but that one attribute is the profile's.
//!
//! `tests/conformance.rs` runs the moin-1.9 corpus and a thousand random
//! traces against it, one test per case, with the departure declared once
//! (`.deviation("m19.cookie.httponly", …)`): the run is green, and a
//! difference on any other clause would still fail it.

use moin_session_spec::{
    Backend, BackendError, BackendInfo, Capabilities, CleanupOutcome, CleanupRequest, Config,
    Finished, MemoryStore, Op, Opened, Profile, ReferenceBackend, Request, Response,
};
use serde_json::Value;
use time::OffsetDateTime;

/// The moin-1.9 service with `HttpOnly` on every cookie it issues.
pub struct HttpOnlyWiki(ReferenceBackend<MemoryStore>);

impl HttpOnlyWiki {
    /// A wiki with no sessions yet.
    pub fn new() -> Self {
        HttpOnlyWiki(ReferenceBackend::new("httponly-wiki", MemoryStore::new()))
    }
}

impl Default for HttpOnlyWiki {
    fn default() -> Self {
        HttpOnlyWiki::new()
    }
}

/// Whether a `Set-Cookie` value removes its cookie (`Max-Age=0`, as
/// moin-1.9's deletion has it): a deletion stays as the service wrote it.
fn is_deletion(set_cookie: &str) -> bool {
    set_cookie
        .split(';')
        .skip(1)
        .any(|a| a.trim().eq_ignore_ascii_case("max-age=0"))
}

/// `HttpOnly` added to every cookie issued without it.
fn harden(set_cookies: &mut [String]) {
    for c in set_cookies.iter_mut() {
        let has = c
            .split(';')
            .skip(1)
            .any(|a| a.trim().eq_ignore_ascii_case("httponly"));
        if !has && !is_deletion(c) {
            c.push_str("; HttpOnly");
        }
    }
}

impl Backend for HttpOnlyWiki {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "httponly-wiki".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            profiles: vec![Profile::Moin19],
        }
    }

    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.0.reset(config)
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.0.reconfigure(config)
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let mut response = self.0.request(request)?;
        harden(&mut response.set_cookies);
        Ok(response)
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        self.0.cleanup(request)
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.0.list()
    }

    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    fn interleaves(&self) -> bool {
        self.0.interleaves()
    }

    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        self.0.open(handle, request)
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        self.0.ops(handle, ops)
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let mut finished = self.0.finish(handle, now)?;
        harden(&mut finished.set_cookies);
        Ok(finished)
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.0.corrupt(sid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_cookies_get_httponly_and_deletions_stay_as_written() {
        let mut cookies = vec![
            "MOIN_SESSION=ab; Max-Age=60; Path=/".to_owned(),
            "MOIN_SESSION=ab; Path=/; HttpOnly".to_owned(),
            "MOIN_SESSION=; Max-Age=0; Path=/".to_owned(),
        ];
        harden(&mut cookies);
        assert_eq!(
            cookies,
            [
                "MOIN_SESSION=ab; Max-Age=60; Path=/; HttpOnly",
                "MOIN_SESSION=ab; Path=/; HttpOnly",
                "MOIN_SESSION=; Max-Age=0; Path=/",
            ]
        );
    }
}
