//! # moin-session-spec
//!
//! The normative specification of MoinMoin's web session semantics
//! (`spec/`), its executable model ([`Model`]), the reference
//! implementation ([`ReferenceBackend`] over a [`store::Store`]), the
//! [`Backend`] interface every implementation is driven through, and the
//! corpus format ([`corpus`]) of the conformance cases.
//!
//! | module | part |
//! | --- | --- |
//! | [`config`], `exchange`, `profile`, `backend`, `capabilities`, [`clock`], [`sid`], [`lifetime`] | the vocabulary every part shares |
//! | `model` | the model: the pure oracle, one file per profile |
//! | `reference` | the reference services over a store, one file per profile |
//! | [`store`] | the store contract, then one file per store |
//! | [`corpus`] | the fixture format, the requirement registry, the loader |
//! | [`protocol`] | the adapter protocol: the [`Backend`] trait as JSON lines |
//!
//! The conformance runner and CLI live in the companion package
//! `moin-session-conformance`.
#![deny(missing_docs)]

mod backend;
mod capabilities;
pub mod clock;
pub mod config;
pub mod corpus;
mod exchange;
pub mod lifetime;
mod model;
mod profile;
pub mod protocol;
mod reference;
pub mod sid;
pub mod store;

/// The fixture format: the old path of [`corpus`], kept working.
pub use corpus as fixture;
/// The requirement registry: the old path of [`corpus`], kept working.
pub use corpus as requirements;

pub use backend::{Backend, BackendError, BackendInfo};
pub use capabilities::{Capabilities, ConfigSupport, LIMITABLE_SETTINGS};
pub use config::{
    Config, ConfigError, ConfigPatch, HardenedConfig, LifetimeSetting, Lifetimes, M16Config,
    M19Config, SameSite, Site, SitePatch, M16_AUTH_METHODS, MAX_LIFETIME_HOURS,
};
pub use exchange::{
    AuthAction, CleanupMode, CleanupOutcome, CleanupRequest, Finished, MacroEdition, Op, Opened,
    Request, Response,
};
pub use model::{Account, Judged, Model, MODEL_SID_SEED, WRITERS};
pub use profile::{Profile, UnknownProfile};
pub use reference::{
    HardenedOpen, HardenedSessionService, M16OpenSession, M16SessionService, OpenSession,
    ReferenceBackend, ServiceError, SessionService, SidChoice, M16_COOKIE_NAME, MAX_ANON_NAME,
};
pub use sid::OsSids;
pub use store::{
    redacted_url, Durability, FileStore, FileStoreOptions, MemoryStore, RedisStore,
    RedisStoreOptions, SqliteStore, SqliteStoreOptions, FILE_FORMAT, MTIME_MARK_NANOS, NO_EXPIRY,
    TEMP_PREFIX,
};
