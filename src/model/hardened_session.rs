//! What the hardened model keeps and passes between its phases: the state
//! between steps, the session of one request with its write set
//! (`r[hard.overlap.write-set]`), who the request runs as, the reserved
//! keys and the request second. Below both `hardened.rs` (load,
//! authentication, the application, the finish) and `hardened_finalize.rs`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::config::HardenedConfig;

use super::m19_state::Record;

pub(super) const KEY_EXPIRES: &str = "expires";
pub(super) const KEY_USER_ID: &str = "user.id";
pub(super) const KEY_AUTH_METHOD: &str = "user.auth_method";
pub(super) const KEY_AUTH_ATTRIBS: &str = "user.auth_attribs";
pub(super) const KEY_AUTH_AT: &str = "user.auth_at";
pub(super) const KEY_SETUID: &str = "setuid";
pub(super) const RESERVED_KEYS: &[&str] = &[
    KEY_EXPIRES,
    KEY_USER_ID,
    KEY_AUTH_METHOD,
    KEY_AUTH_ATTRIBS,
    KEY_AUTH_AT,
    KEY_SETUID,
];

/// Everything the hardened model remembers between steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) config: HardenedConfig,
    pub(crate) records: BTreeMap<String, Record>,
    /// Each account's "remember login information" preference.
    pub(crate) remember_me: BTreeMap<String, bool>,
}

impl State {
    pub(crate) fn new(config: HardenedConfig) -> Self {
        State {
            config,
            records: BTreeMap::new(),
            remember_me: BTreeMap::new(),
        }
    }
}

/// The session during one request.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) sid: String,
    /// Application keys and reserved keys, as loaded and changed.
    pub(super) data: Map<String, Value>,
    pub(super) new: bool,
    /// The write set (`r[hard.overlap.write-set]`): per key, the last set
    /// (`Some`) or delete (`None`).
    pub(super) writes: BTreeMap<String, Option<Value>>,
}

/// The valid real user of a request.
#[derive(Debug, Clone)]
pub(super) struct RealUser {
    pub(super) name: String,
    pub(super) method: String,
    /// The instant of authentication, whole seconds (`r[hard.timeout.absolute]`).
    pub(super) auth_at: i64,
}

/// Who a request runs as after authentication.
#[derive(Debug, Clone)]
pub(super) struct Users {
    /// This request's login succeeded (`r[hard.overlap.stale-login]`).
    pub(super) logged_in: bool,
    pub(super) real: Option<RealUser>,
    /// The target of an active change user.
    pub(super) setuid: Option<String>,
    /// The session's sid must change (`r[hard.rotate.*]`).
    pub(super) rotate: bool,
}

/// `ceil(now)`: the request's instant rounded up to a whole second.
pub(super) fn whole_second(now: OffsetDateTime) -> i64 {
    let secs = now.unix_timestamp();
    if now.nanosecond() > 0 {
        secs + 1
    } else {
        secs
    }
}
