//! The reference services as one [`Backend`]: [`ReferenceBackend`] runs
//! the moin-1.9 [`SessionService`], the moin-1.6 [`M16SessionService`] or
//! the [`HardenedSessionService`] over one store, as each reset's
//! configuration says.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;

use crate::backend::{Backend, BackendError, BackendInfo};
use crate::config::{Config, ConfigPatch};
use crate::exchange::{CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request, Response};
use crate::profile::Profile;
use crate::sid::{SeededSids, SidSource};
use crate::store::{Store, StoreError};

use super::hardened::{HardenedOpen, HardenedSessionService};
use super::m16::{M16OpenSession, M16SessionService};
use super::m19::{OpenSession, SessionService};
use super::pipeline::ServiceError;
use crate::sid::OsSids;

/// How a [`ReferenceBackend`] draws sids after each reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidChoice {
    /// From the OS CSPRNG ([`OsSids`]).
    Os,
    /// From [`SeededSids`] with this seed, restarted at each reset, so that
    /// a run is repeatable.
    Seeded(u64),
}

impl SidChoice {
    fn source(self) -> Box<dyn SidSource + Send> {
        match self {
            SidChoice::Os => Box::new(OsSids::new()),
            SidChoice::Seeded(seed) => Box::new(SeededSids::new(seed)),
        }
    }
}

impl SidSource for Box<dyn SidSource + Send> {
    fn next_sid(&mut self) -> String {
        (**self).next_sid()
    }
}

/// The service of the profile a [`ReferenceBackend`] was last reset to;
/// each owns the store in turn.
enum Active<S: Store> {
    Moin19(SessionService<S>),
    Moin16(M16SessionService<S>),
    Hardened(HardenedSessionService<S>),
}

impl<S: Store> Active<S> {
    fn store(&self) -> &S {
        match self {
            Active::Moin19(s) => s.store(),
            Active::Moin16(s) => s.store(),
            Active::Hardened(s) => s.store(),
        }
    }

    fn into_store(self) -> S {
        match self {
            Active::Moin19(s) => s.into_store(),
            Active::Moin16(s) => s.into_store(),
            Active::Hardened(s) => s.into_store(),
        }
    }
}

/// The reference services as a [`Backend`], for the conformance runner:
/// the moin-1.9 [`SessionService`] or the moin-1.6 [`M16SessionService`]
/// over one store, as each reset's configuration says.
///
/// ```
/// use moin_session_spec::{Backend, MemoryStore, Profile, ReferenceBackend};
/// let backend = ReferenceBackend::new("reference-memory", MemoryStore::new());
/// assert_eq!(backend.info().name, "reference-memory");
/// assert_eq!(backend.info().profiles, Profile::ALL.to_vec());
/// ```
pub struct ReferenceBackend<S: Store> {
    name: String,
    /// Always `Some` between calls; taken only while a reset hands the
    /// store from one profile's service to the other's.
    active: Option<Active<S>>,
    sids: SidChoice,
    /// Requests opened and not yet finished, by handle.
    open: BTreeMap<String, Open>,
}

/// A request between its open and its finish, of any profile.
enum Open {
    Moin19(OpenSession),
    Moin16(M16OpenSession),
    Hardened(HardenedOpen),
}

impl<S: Store> fmt::Debug for ReferenceBackend<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReferenceBackend");
        d.field("name", &self.name);
        match &self.active {
            Some(Active::Moin19(s)) => d.field("service", s),
            Some(Active::Moin16(s)) => d.field("service", s),
            Some(Active::Hardened(s)) => d.field("service", s),
            None => d.field("service", &"none"),
        };
        d.finish()
    }
}

impl<S: Store> ReferenceBackend<S> {
    /// A backend named `name` over `store`, drawing sids from the OS.
    pub fn new(name: impl Into<String>, store: S) -> Self {
        ReferenceBackend::with_sids(name, store, SidChoice::Os)
    }

    /// A backend drawing sids as `sids` says. Until its first reset it
    /// runs the default moin-1.9 configuration.
    pub fn with_sids(name: impl Into<String>, store: S, sids: SidChoice) -> Self {
        let config = Config::build(Profile::Moin19, &[ConfigPatch::default()])
            .expect("the default moin-1.9 configuration is valid");
        let config = config
            .as_m19()
            .expect("a moin-1.9 build yields a moin-1.9 configuration")
            .clone();
        ReferenceBackend {
            name: name.into(),
            active: Some(Active::Moin19(SessionService::new(
                store,
                config,
                OsSids::new(),
            ))),
            sids,
            open: BTreeMap::new(),
        }
    }

    fn active(&self) -> &Active<S> {
        self.active
            .as_ref()
            .expect("a reset always puts a service back")
    }

    fn active_mut(&mut self) -> &mut Active<S> {
        self.active
            .as_mut()
            .expect("a reset always puts a service back")
    }

    /// The moin-1.9 service, when the last reset was to moin-1.9.
    pub fn service(&self) -> Option<&SessionService<S>> {
        match self.active() {
            Active::Moin19(s) => Some(s),
            Active::Moin16(_) | Active::Hardened(_) => None,
        }
    }

    /// The moin-1.6 service, when the last reset was to moin-1.6.
    pub fn service16(&self) -> Option<&M16SessionService<S>> {
        match self.active() {
            Active::Moin16(s) => Some(s),
            Active::Moin19(_) | Active::Hardened(_) => None,
        }
    }

    /// The hardened service, when the last reset was to hardened.
    pub fn service_hardened(&self) -> Option<&HardenedSessionService<S>> {
        match self.active() {
            Active::Hardened(s) => Some(s),
            Active::Moin19(_) | Active::Moin16(_) => None,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        self.active().store()
    }
}

fn not_open(handle: &str) -> BackendError {
    BackendError::InvalidInput {
        message: format!("no request {handle:?} is open"),
    }
}

fn backend_error(e: ServiceError) -> BackendError {
    match e {
        ServiceError::ReservedKey { .. } => BackendError::InvalidInput {
            message: e.to_string(),
        },
        ServiceError::NotInProfile { what } => BackendError::Unsupported {
            what: what.to_owned(),
        },
        ServiceError::Store(StoreError::Unsupported { what }) => BackendError::Unsupported {
            what: what.to_owned(),
        },
        other => BackendError::Failed {
            message: other.to_string(),
        },
    }
}

impl<S: Store> Backend for ReferenceBackend<S> {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: self.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            profiles: vec![Profile::Moin16, Profile::Moin19, Profile::Hardened],
        }
    }

    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        let store = self
            .active
            .take()
            .expect("a reset always puts a service back")
            .into_store();
        // Preferences are forgotten with the service that held them.
        let sids = self.sids.source();
        let next = match config {
            Config::Moin19(c) => Active::Moin19(SessionService::new(store, c.clone(), sids)),
            Config::Moin16(c) => Active::Moin16(M16SessionService::new(store, c.clone(), sids)),
            Config::Hardened(c) => {
                Active::Hardened(HardenedSessionService::new(store, c.clone(), sids))
            }
        };
        self.open.clear();
        let cleared = next.store().clear();
        self.active = Some(next);
        cleared.map_err(|e| backend_error(e.into()))
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        if let Some(handle) = self.open.keys().next() {
            return Err(BackendError::InvalidInput {
                message: format!("cannot reconfigure while request {handle:?} is open"),
            });
        }
        match (self.active_mut(), config) {
            (Active::Moin19(s), Config::Moin19(c)) => s.set_config(c.clone()),
            (Active::Moin16(s), Config::Moin16(c)) => s.set_config(c.clone()),
            (Active::Hardened(s), Config::Hardened(c)) => {
                return s.set_config(c.clone()).map_err(backend_error)
            }
            _ => {
                return Err(BackendError::Unsupported {
                    what: format!(
                        "reconfiguring to profile {} without a reset",
                        config.profile()
                    ),
                })
            }
        }
        Ok(())
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        match self.active_mut() {
            Active::Moin19(s) => s.handle(request),
            Active::Moin16(s) => s.handle(request),
            Active::Hardened(s) => s.handle(request),
        }
        .map_err(backend_error)
    }

    /// The requests in one batch of the store
    /// ([`Store::begin_batch`](crate::store::Store::begin_batch)): over a
    /// file or SQLite store, their saves are made durable together at the
    /// end rather than one by one.
    fn request_batch(&mut self, requests: &[Request]) -> Vec<Result<Response, BackendError>> {
        if let Err(e) = self.store().begin_batch() {
            return vec![Err(backend_error(e.into()))];
        }
        let mut out = crate::backend::until_error(requests, |r| self.request(r));
        if let Err(e) = self.store().end_batch() {
            // The batch's writes may be lost: its last answer is the error.
            out.push(Err(backend_error(e.into())));
        }
        out
    }

    fn interleaves(&self) -> bool {
        true
    }

    /// Everything, `corrupt` when its store can ([`Store::can_corrupt`]).
    fn capabilities(&self) -> crate::Capabilities {
        crate::Capabilities {
            corrupt: self.store().can_corrupt(),
            interleave: true,
            ..crate::Capabilities::default()
        }
    }

    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        if self.open.contains_key(handle) {
            return Err(BackendError::InvalidInput {
                message: format!("request {handle:?} is already open"),
            });
        }
        let (open, opened) = match self.active_mut() {
            Active::Moin19(s) => s.open(request).map(|(o, r)| (Open::Moin19(o), r)),
            Active::Moin16(s) => s.open(request).map(|(o, r)| (Open::Moin16(o), r)),
            Active::Hardened(s) => s.open(request).map(|(o, r)| (Open::Hardened(o), r)),
        }
        .map_err(backend_error)?;
        self.open.insert(handle.to_owned(), open);
        Ok(opened)
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        let open = self.open.get_mut(handle).ok_or_else(|| not_open(handle))?;
        let active = self
            .active
            .as_ref()
            .expect("a reset always puts a service back");
        match (active, open) {
            (Active::Moin19(s), Open::Moin19(o)) => s.ops(o, ops),
            (Active::Moin16(s), Open::Moin16(o)) => s.ops(o, ops),
            (Active::Hardened(s), Open::Hardened(o)) => s.ops(o, ops),
            _ => return Err(not_open(handle)),
        }
        .map_err(backend_error)
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let open = self.open.remove(handle).ok_or_else(|| not_open(handle))?;
        match (self.active_mut(), open) {
            (Active::Moin19(s), Open::Moin19(o)) => s.finish(o, now).map_err(backend_error),
            (Active::Moin16(s), Open::Moin16(o)) => Ok(s.finish(o)),
            (Active::Hardened(s), Open::Hardened(o)) => s.finish(o, now).map_err(backend_error),
            _ => Err(not_open(handle)),
        }
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        match self.active_mut() {
            Active::Moin19(s) => s.cleanup(request),
            Active::Moin16(s) => s.cleanup(request),
            Active::Hardened(s) => s.cleanup(request),
        }
        .map_err(backend_error)
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        match self.active() {
            Active::Moin19(s) => s.list(),
            Active::Moin16(s) => s.list(),
            Active::Hardened(s) => s.list(),
        }
        .map_err(backend_error)
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        match self.active() {
            Active::Moin19(s) => s.store().corrupt(sid).map_err(ServiceError::from),
            Active::Moin16(s) => s.corrupt(sid),
            Active::Hardened(s) => s.store().corrupt(sid).map_err(ServiceError::from),
        }
        .map_err(backend_error)
    }
}
