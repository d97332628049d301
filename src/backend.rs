//! The one interface every session backend is driven through.
//!
//! The model, the reference implementation and out-of-process adapters all
//! implement [`Backend`]; the conformance runner plays the browser and the
//! clock against it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::capabilities::Capabilities;
use crate::config::Config;
use serde_json::Value;
use time::OffsetDateTime;

use crate::exchange::{CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request, Response};
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

    /// Runs `requests` one after another, each as
    /// [`request`](Backend::request) would, as one batch: a backend whose
    /// store has a bulk path may make the batch's writes durable together
    /// at its end (one transaction, one flush) instead of one by one
    /// ([`Store::begin_batch`](crate::store::Store::begin_batch)). Returns
    /// one result per request run, in order; the batch stops after the
    /// first error, which is then the last result. A backend that cannot
    /// end the batch (its writes may then be lost) adds that error as one
    /// more result. The default runs [`request`](Backend::request) for
    /// each.
    fn request_batch(&mut self, requests: &[Request]) -> Vec<Result<Response, BackendError>> {
        until_error(requests, |r| self.request(r))
    }

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

    /// Whether this backend runs overlapping requests: [`open`](Backend::open),
    /// [`ops`](Backend::ops) and [`finish`](Backend::finish) (the adapter
    /// capability `interleave`). Cases with interleaved steps are not run
    /// on a backend that says no, and are reported as skipped.
    fn interleaves(&self) -> bool {
        false
    }

    /// What this backend offers of the optional parts: `corrupt`,
    /// cleanups by user, change user, https, overlapping requests, and the
    /// configuration values it supports where it limits any. The runner
    /// skips (never passes) the cases that need what it lacks, and random
    /// traces never draw it. The default offers what every implementation
    /// of this trait carries out (cleanups by user, change user, https),
    /// [`interleaves`](Backend::interleaves) for overlapping requests, and
    /// no `corrupt` (the default [`corrupt`](Backend::corrupt) declines):
    /// a backend that implements `corrupt` says so here.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            interleave: self.interleaves(),
            ..Capabilities::default()
        }
    }

    /// Opens a request under `handle` (a name the caller chose, unique
    /// among the requests open now): the browser's `Cookie` header is
    /// taken, the session loaded, the user authenticated and
    /// `request.ops` run, all at `request.now`. The response waits for
    /// [`finish`](Backend::finish); other requests may run in between.
    /// Section "Overlapping requests" of each profile's spec says what
    /// they may observe of each other.
    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        let _ = (handle, request);
        Err(BackendError::Unsupported {
            what: "overlapping requests (open, ops, finish)".to_owned(),
        })
    }

    /// Runs more application code in the open request `handle`; one
    /// result per op that yields.
    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        let _ = (handle, ops);
        Err(BackendError::Unsupported {
            what: "overlapping requests (open, ops, finish)".to_owned(),
        })
    }

    /// Finishes the open request `handle` at `now`: finalize, and the
    /// response's headers. The handle is free again afterwards.
    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let _ = (handle, now);
        Err(BackendError::Unsupported {
            what: "overlapping requests (open, ops, finish)".to_owned(),
        })
    }

    /// Ends the run: the backend will get no more calls. A backend in
    /// another process is shut down here and checked (it answered every
    /// command once and exited cleanly); an error fails the run. The
    /// default does nothing.
    fn end_run(&mut self) -> Result<(), BackendError> {
        Ok(())
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
    fn request_batch(&mut self, requests: &[Request]) -> Vec<Result<Response, BackendError>> {
        (**self).request_batch(requests)
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
    fn interleaves(&self) -> bool {
        (**self).interleaves()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        (**self).open(handle, request)
    }
    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        (**self).ops(handle, ops)
    }
    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        (**self).finish(handle, now)
    }
    fn end_run(&mut self) -> Result<(), BackendError> {
        (**self).end_run()
    }
}

/// Runs `request` for each of `requests` in order, stopping after the
/// first error, which is then the last result: the answer of
/// [`Backend::request_batch`].
pub(crate) fn until_error(
    requests: &[Request],
    mut request: impl FnMut(&Request) -> Result<Response, BackendError>,
) -> Vec<Result<Response, BackendError>> {
    let mut out = Vec::with_capacity(requests.len());
    for r in requests {
        let result = request(r);
        let stop = result.is_err();
        out.push(result);
        if stop {
            break;
        }
    }
    out
}
