//! The one interface every session backend is driven through.
//!
//! The model, the reference implementation and out-of-process adapters all
//! implement [`Backend`]; the conformance runner plays the browser and the
//! clock against it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::exchange::{CleanupOutcome, CleanupRequest, Request, Response};
use crate::profile::Profile;

/// Who a backend is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// A short name, e.g. `model`.
    pub name: String,
    /// The implementation's version.
    pub version: String,
    /// The profiles it implements.
    pub profiles: Vec<Profile>,
}

/// A session backend, driven one step at a time.
///
/// A backend reads no wall clock (every call that needs the time carries
/// it) and keeps no state but its session store and its user preferences.
///
/// ```
/// use moin_session_spec::{Backend, Config, ConfigPatch, Model, Profile, Request, AuthAction};
/// let mut model = Model::new();
/// model.reset(&Config::build(Profile::Moin19, &[ConfigPatch::default()]).unwrap()).unwrap();
/// let response = model.request(&Request {
///     now: time::macros::datetime!(2009-03-01 12:00:00 UTC),
///     https: false,
///     path: "/".into(),
///     cookie_header: None,
///     auth: AuthAction::None,
///     ops: vec![],
/// }).unwrap();
/// assert!(response.new);
/// // Anonymous sessions are off by default: no cookie is issued.
/// assert!(response.set_cookies.is_empty());
/// ```
pub trait Backend {
    /// Who this backend is.
    fn info(&self) -> BackendInfo;

    /// Forgets every session and user preference and takes `config`.
    fn reset(&mut self, config: &Config) -> Result<(), BackendError>;

    /// Takes `config` and keeps the stored sessions and user preferences,
    /// as a wiki does when its configuration is edited and it restarts.
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError>;

    /// Runs one request cycle.
    fn request(&mut self, request: &Request) -> Result<Response, BackendError>;

    /// Runs a cleanup.
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError>;

    /// Lists the ids of every stored session record, in any order.
    fn list(&mut self) -> Result<Vec<String>, BackendError>;

    /// Whether this backend's configurations come through this library's
    /// loader ([`Config::build`]), so that cases about rejected
    /// configurations judge it. True for Rust backends; an adapter receives
    /// only validated configurations, and those cases are skipped for it.
    fn loads_configuration(&self) -> bool {
        true
    }

    /// Makes the stored record of `sid` unreadable (as a truncated or
    /// garbled file would be). Backends that cannot do this say
    /// [`BackendError::Unsupported`], and cases that need it are skipped.
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        let _ = sid;
        Err(BackendError::Unsupported {
            what: "corrupting a stored record".to_owned(),
        })
    }
}

/// A backend could not carry out a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendError {
    /// The backend does not offer this (a case needing it is skipped).
    Unsupported {
        /// What it does not offer.
        what: String,
    },
    /// The call was malformed for this backend (e.g. a reserved key).
    InvalidInput {
        /// What was wrong.
        message: String,
    },
    /// The backend failed.
    Failed {
        /// What happened.
        message: String,
    },
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Unsupported { what } => write!(f, "unsupported by this backend: {what}"),
            BackendError::InvalidInput { message } => write!(f, "invalid input: {message}"),
            BackendError::Failed { message } => write!(f, "backend failed: {message}"),
        }
    }
}

impl std::error::Error for BackendError {}

/// A boxed backend is a backend, so wrappers compose over trait objects.
impl<B: Backend + ?Sized> Backend for Box<B> {
    fn info(&self) -> BackendInfo {
        (**self).info()
    }
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        (**self).reset(config)
    }
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        (**self).reconfigure(config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        (**self).request(request)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        (**self).cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        (**self).list()
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        (**self).corrupt(sid)
    }
    fn loads_configuration(&self) -> bool {
        (**self).loads_configuration()
    }
}
