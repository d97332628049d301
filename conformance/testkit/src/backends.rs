//! A backend made to lack something: [`Limited`] forwards every call to
//! the backend it wraps, except what it was told to change (the profiles
//! it declares, its name, a configuration mapping, and the calls it does
//! not offer, which answer "unsupported" as a backend without them does).

use moin_session_spec::{
    Backend, BackendError, BackendInfo, Capabilities, CleanupOutcome, CleanupRequest, Config,
    Finished, Op, Opened, Profile, Request, Response,
};
use serde_json::Value;
use time::OffsetDateTime;

/// What the trait's defaults say of overlapping requests.
const INTERLEAVE: &str = "overlapping requests (open, ops, finish)";

/// How a configuration reaches the wrapped backend.
pub type ConfigMap = fn(&Config) -> Result<Config, BackendError>;

/// `inner`, but lacking what the builder methods say.
pub struct Limited<B> {
    inner: B,
    name: Option<String>,
    profiles: Option<Vec<Profile>>,
    config: Option<ConfigMap>,
    corrupt: bool,
    interleave: bool,
    requests: bool,
}

impl<B: Backend> Limited<B> {
    /// `inner` with nothing changed.
    pub fn new(inner: B) -> Limited<B> {
        Limited {
            inner,
            name: None,
            profiles: None,
            config: None,
            corrupt: true,
            interleave: true,
            requests: true,
        }
    }

    /// Declares this name (and version `test`).
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Declares these profiles.
    pub fn declaring(mut self, profiles: &[Profile]) -> Self {
        self.profiles = Some(profiles.to_vec());
        self
    }

    /// Hands each configuration to the wrapped backend through `map`.
    pub fn configured_by(mut self, map: ConfigMap) -> Self {
        self.config = Some(map);
        self
    }

    /// Cannot corrupt a record (as many real backends).
    pub fn without_corrupt(mut self) -> Self {
        self.corrupt = false;
        self
    }

    /// Does not run overlapping requests.
    pub fn without_interleave(mut self) -> Self {
        self.interleave = false;
        self
    }

    /// Every request, cleanup and listing is unsupported: nothing can be
    /// checked.
    pub fn without_requests(mut self) -> Self {
        self.requests = false;
        self
    }

    fn config(&self, config: &Config) -> Result<Config, BackendError> {
        match self.config {
            Some(map) => map(config),
            None => Ok(config.clone()),
        }
    }

    /// "Unsupported: `what`" unless `offered`.
    fn offers(&self, offered: bool, what: &str) -> Result<(), BackendError> {
        if offered {
            Ok(())
        } else {
            Err(BackendError::Unsupported {
                what: what.to_owned(),
            })
        }
    }
}

impl<B: Backend> Backend for Limited<B> {
    fn info(&self) -> BackendInfo {
        let mut info = self.inner.info();
        if let Some(name) = &self.name {
            info.name = name.clone();
            info.version = "test".to_owned();
        }
        if let Some(profiles) = &self.profiles {
            info.profiles = profiles.clone();
        }
        info
    }
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        let config = self.config(config)?;
        self.inner.reset(&config)
    }
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        let config = self.config(config)?;
        self.inner.reconfigure(&config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        self.offers(self.requests, "anything")?;
        self.inner.request(request)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        self.offers(self.requests, "anything")?;
        self.inner.cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.offers(self.requests, "anything")?;
        self.inner.list()
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.offers(self.corrupt && self.requests, "corrupting a stored record")?;
        self.inner.corrupt(sid)
    }
    fn interleaves(&self) -> bool {
        self.interleave && self.requests && self.inner.interleaves()
    }
    fn capabilities(&self) -> Capabilities {
        let inner = self.inner.capabilities();
        Capabilities {
            corrupt: inner.corrupt && self.corrupt && self.requests,
            interleave: self.interleaves(),
            ..inner
        }
    }
    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        self.offers(self.interleave && self.requests, INTERLEAVE)?;
        self.inner.open(handle, request)
    }
    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        self.offers(self.interleave && self.requests, INTERLEAVE)?;
        self.inner.ops(handle, ops)
    }
    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        self.offers(self.interleave && self.requests, INTERLEAVE)?;
        self.inner.finish(handle, now)
    }
}
