//! The model: the executable specification as a [`Backend`].
//!
//! The model is pure. It reads no clock (each call carries `now`), draws
//! session ids from a seeded generator ([`SeededSids`]), and touches no
//! file, network or global state. It is the oracle the corpus and random
//! traces are judged against.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`Model`]: the profiles behind one [`Backend`] |
//! | `m19.rs` | the moin-1.9 session service, as a pure step function, with `m19_state.rs` (what it keeps), `m19_auth.rs` (authentication) and `m19_cleanup.rs` (cleanup) |
//! | `m16.rs` | the moin-1.6 authentication chain, as a pure step function |
//! | `hardened.rs` | the hardened profile, as a pure step function |
//! | `macros.rs` | the HelpOnSessions example macros both profiles run |
//! | `account.rs` | [`Account`]: which clause the model applied, for attribution only |

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::backend::{Backend, BackendError, BackendInfo};
use crate::config::Config;
use crate::exchange::{CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request, Response};
use crate::profile::Profile;
use crate::sid::{SeededSids, SidSource};

mod account;
mod hardened;
mod hardened_finalize;
mod hardened_session;
mod m16;
mod m19;
mod m19_auth;
mod m19_cleanup;
mod m19_state;
mod macros;

pub use account::{Account, Judged, WRITERS};

/// The seed the model's session ids start from after [`Backend::reset`].
pub const MODEL_SID_SEED: u64 = 0x6d6f_696e_3139;

/// The executable model of every profile.
///
/// ```
/// use moin_session_spec::{Backend, Model};
/// let model = Model::new();
/// assert_eq!(model.info().name, "model");
/// ```
#[derive(Debug, Clone)]
pub struct Model {
    state: Option<ProfileState>,
    sids: SeededSids,
    /// Requests opened and not yet finished, by handle.
    open: BTreeMap<String, OpenRequest>,
}

#[derive(Debug, Clone)]
enum OpenRequest {
    Hardened(hardened::Open),
    Moin16(m16::Open),
    Moin19(m19::Open),
}

#[derive(Debug, Clone)]
enum ProfileState {
    Moin16(m16::State),
    Moin19(m19_state::State),
    Hardened(hardened::State),
}

impl Model {
    /// A model that must be [`reset`](Backend::reset) before use.
    pub fn new() -> Self {
        Model {
            state: None,
            sids: SeededSids::new(MODEL_SID_SEED),
            open: BTreeMap::new(),
        }
    }

    /// The model's account of its last request, open or cleanup, by
    /// clause: which rule decided the load, which removed or kept each
    /// record, which wrote each record's `expires`. For attribution only;
    /// kept for moin-1.9 (empty for the other profiles).
    ///
    /// ```
    /// use moin_session_spec::{Backend, Config, ConfigPatch, Model, Profile, Request, AuthAction};
    /// let mut model = Model::new();
    /// model.reset(&Config::build(Profile::Moin19, &[ConfigPatch::default()]).unwrap()).unwrap();
    /// model.request(&Request {
    ///     now: time::macros::datetime!(2009-03-01 12:00:00 UTC),
    ///     https: false,
    ///     path: "/".into(),
    ///     cookie_header: Some("MOIN_SESSION_8080_ROOT=not-a-sid".into()),
    ///     auth: AuthAction::None,
    ///     ops: vec![],
    /// }).unwrap();
    /// assert_eq!(model.account().load, Some("m19.load.malformed-sid"));
    /// ```
    pub fn account(&self) -> Account {
        match &self.state {
            Some(ProfileState::Moin19(s)) => s.account.clone(),
            _ => Account::default(),
        }
    }

    /// From now on, applies the writing rule `clause` the other way: where
    /// it saves a record without `expires` (a new login,
    /// `m19.persist.login-without-expires`) the record gets the instant the
    /// other rule would have recorded, and where it records `expires`
    /// (`m19.persist.expires-recorded`) the record is saved without one.
    /// Returns whether `clause` is a writing rule of the profile the model
    /// runs. For attribution's "was it written wrongly?" only: a model so
    /// changed is no longer the spec.
    pub fn swap_writer(&mut self, clause: &str) -> bool {
        match &mut self.state {
            Some(ProfileState::Moin19(s)) => {
                s.swapped = account::WRITERS.iter().copied().find(|w| *w == clause);
                s.swapped.is_some()
            }
            _ => false,
        }
    }

    fn state(&mut self) -> Result<&mut ProfileState, BackendError> {
        self.state
            .as_mut()
            .ok_or_else(|| BackendError::InvalidInput {
                message: "the model was not reset with a configuration".to_owned(),
            })
    }
}

/// The error of a model used before its reset.
fn not_reset() -> BackendError {
    BackendError::InvalidInput {
        message: "the model was not reset with a configuration".to_owned(),
    }
}

/// Opens a request in its profile's model.
fn open_request(
    state: &mut ProfileState,
    request: &Request,
    sids: &mut dyn SidSource,
) -> Result<(OpenRequest, Opened), BackendError> {
    Ok(match state {
        ProfileState::Moin16(s) => {
            let (o, opened) = m16::open(s, request, sids)?;
            (OpenRequest::Moin16(o), opened)
        }
        ProfileState::Moin19(s) => {
            let (o, opened) = m19::open(s, request, sids)?;
            (OpenRequest::Moin19(o), opened)
        }
        ProfileState::Hardened(s) => {
            let (o, opened) = hardened::open(s, request, sids)?;
            (OpenRequest::Hardened(o), opened)
        }
    })
}

/// Finishes an open request of the profile it was opened in; `None` for a
/// request opened under another profile (a reset since), which is not open
/// any more.
fn finish_request(
    state: &mut ProfileState,
    open: OpenRequest,
    now: OffsetDateTime,
    sids: &mut dyn SidSource,
) -> Option<Finished> {
    match (state, open) {
        (ProfileState::Moin16(_), OpenRequest::Moin16(o)) => Some(m16::finish(o)),
        (ProfileState::Moin19(s), OpenRequest::Moin19(o)) => Some(m19::finish(s, o, now)),
        (ProfileState::Hardened(s), OpenRequest::Hardened(o)) => {
            Some(hardened::finish(s, o, now, sids))
        }
        _ => None,
    }
}

fn not_open(handle: &str) -> BackendError {
    BackendError::InvalidInput {
        message: format!("no request {handle:?} is open"),
    }
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

impl Backend for Model {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "model".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            profiles: Profile::ALL.to_vec(),
        }
    }

    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.sids = SeededSids::new(MODEL_SID_SEED);
        self.open.clear();
        self.state = Some(match config {
            Config::Moin16(c) => ProfileState::Moin16(m16::State::new(c.clone())),
            Config::Moin19(c) => ProfileState::Moin19(m19_state::State::new(c.clone())),
            Config::Hardened(c) => ProfileState::Hardened(hardened::State::new(c.clone())),
        });
        Ok(())
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        if let Some(handle) = self.open.keys().next() {
            return Err(BackendError::InvalidInput {
                message: format!(
                    "cannot reconfigure while request {handle:?} is open (a wiki restarts between requests)"
                ),
            });
        }
        match (self.state()?, config) {
            (ProfileState::Moin16(s), Config::Moin16(c)) => s.config = c.clone(),
            (ProfileState::Moin19(s), Config::Moin19(c)) => s.config = c.clone(),
            (ProfileState::Hardened(s), Config::Hardened(c)) => hardened::reconfigure(s, c.clone()),
            (_, other) => {
                return Err(BackendError::InvalidInput {
                    message: format!(
                        "cannot reconfigure to another profile ({})",
                        other.profile()
                    ),
                })
            }
        }
        Ok(())
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let Model { state, sids, .. } = self;
        let state = state.as_mut().ok_or_else(not_reset)?;
        let (open, opened) = open_request(state, request, sids)?;
        let finished = finish_request(state, open, request.now, sids).ok_or_else(|| {
            BackendError::InvalidInput {
                message: "the request was opened under another profile".to_owned(),
            }
        })?;
        Ok(Response::of(opened, finished))
    }

    fn interleaves(&self) -> bool {
        true
    }

    fn capabilities(&self) -> crate::Capabilities {
        crate::Capabilities {
            corrupt: true,
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
        let Model { state, sids, open } = self;
        let state = state.as_mut().ok_or_else(not_reset)?;
        let (request_state, opened) = open_request(state, request, sids)?;
        open.insert(handle.to_owned(), request_state);
        Ok(opened)
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        let Model { state, open, .. } = self;
        match (state.as_mut(), open.get_mut(handle)) {
            (_, None) => Err(not_open(handle)),
            (Some(ProfileState::Moin16(s)), Some(OpenRequest::Moin16(o))) => m16::ops(s, o, ops),
            (Some(ProfileState::Moin19(_)), Some(OpenRequest::Moin19(o))) => m19::ops(o, ops),
            (Some(ProfileState::Hardened(_)), Some(OpenRequest::Hardened(o))) => {
                hardened::ops(o, ops)
            }
            _ => Err(not_open(handle)),
        }
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let open = self.open.remove(handle).ok_or_else(|| not_open(handle))?;
        let Model { state, sids, .. } = self;
        match state.as_mut() {
            Some(state) => finish_request(state, open, now, sids).ok_or_else(|| not_open(handle)),
            None => Err(not_open(handle)),
        }
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        match self.state()? {
            ProfileState::Moin16(s) => m16::cleanup(s, request),
            ProfileState::Moin19(s) => Ok(m19_cleanup::cleanup(s, request)),
            ProfileState::Hardened(s) => Ok(hardened::cleanup(s, request)),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        match self.state()? {
            ProfileState::Moin16(s) => Ok(s.records.keys().cloned().collect()),
            ProfileState::Moin19(s) => Ok(s.records.keys().cloned().collect()),
            ProfileState::Hardened(s) => Ok(s.records.keys().cloned().collect()),
        }
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        match self.state()? {
            ProfileState::Moin16(_) => {
                return Err(BackendError::Unsupported {
                    what:
                        "corrupting a stored record (moin-1.6 does not specify unreadable records)"
                            .to_owned(),
                })
            }
            ProfileState::Moin19(s) => m19_cleanup::corrupt(s, sid),
            ProfileState::Hardened(s) => hardened::corrupt(s, sid),
        }
        Ok(())
    }
}
