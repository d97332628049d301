//! # moin-session-spec
//!
//! The normative specification of MoinMoin's web session semantics
//! (`spec/`), its executable model ([`Model`]), the [`Backend`] interface
//! every implementation is driven through, and the fixture format
//! ([`fixture`]) of the conformance corpus.
//!
//! The conformance runner and CLI live in the companion package
//! `moin-session-conformance`.
#![deny(missing_docs)]

mod backend;
pub mod clock;
mod config;
mod exchange;
pub mod fixture;
pub mod lifetime;
mod m16;
mod m19;
mod model;
mod profile;
pub mod protocol;
pub mod requirements;
mod service;
mod service16;
pub mod sid;
mod sid_os;
pub mod store;
mod store_file;
mod store_memory;

pub use backend::{Backend, BackendError, BackendInfo};
pub use config::{
    Config, ConfigError, ConfigPatch, LifetimeSetting, Lifetimes, M16Config, M19Config, Site,
    SitePatch, M16_AUTH_METHODS, MAX_LIFETIME_HOURS,
};
pub use exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, MacroEdition, Op, Request, Response,
};
pub use model::{Model, MODEL_SID_SEED};
pub use profile::{Profile, UnknownProfile};
pub use service::{ReferenceBackend, ServiceError, SessionService, SidChoice};
pub use service16::{M16SessionService, M16_COOKIE_NAME, MAX_ANON_NAME};
pub use store_file::{Durability, FileStore, FileStoreOptions, FILE_FORMAT, TEMP_PREFIX};
pub use store_memory::MemoryStore;
