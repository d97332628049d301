//! What the moin-1.9 model keeps and works on: the stored records, the
//! state between steps (with the account kept for attribution), the
//! session as application code sees it, and the reserved keys. Below the
//! request cycle (`m19.rs`), authentication (`m19_auth.rs`) and cleanup
//! (`m19_cleanup.rs`), which all use it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::config::M19Config;
use crate::sid::SidSource;

use super::account::{Account, Written};

/// Session keys that belong to the session service (`r[m19.persist.reserved-keys]`).
pub(crate) const RESERVED_KEYS: &[&str] = &[
    KEY_EXPIRES,
    KEY_USER_ID,
    KEY_AUTH_METHOD,
    KEY_AUTH_ATTRIBS,
    KEY_SETUID,
];
pub(crate) const KEY_EXPIRES: &str = "expires";
pub(crate) const KEY_USER_ID: &str = "user.id";
pub(crate) const KEY_AUTH_METHOD: &str = "user.auth_method";
pub(crate) const KEY_AUTH_ATTRIBS: &str = "user.auth_attribs";
pub(crate) const KEY_SETUID: &str = "setuid";

/// The auth method name a successful login records.
pub(crate) const LOGIN_METHOD: &str = "moin";
/// The auth method name of a user assumed through "change user".
pub(crate) const SETUID_METHOD: &str = "setuid";

/// A stored session record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// A record that loads.
    Data(Map<String, Value>),
    /// A record that cannot be read (garbled on disk).
    Unreadable,
}

/// Everything the moin-1.9 model remembers between steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct State {
    pub(crate) config: M19Config,
    pub(crate) records: BTreeMap<String, Record>,
    /// Each account's "remember login information" preference.
    pub(crate) remember_me: BTreeMap<String, bool>,
    /// Which rule wrote each record's `expires`, for attribution only
    /// ([`super::account`]); the rules never read it.
    pub(crate) written: BTreeMap<String, Written>,
    /// What the last request or cleanup did, by clause (for attribution).
    pub(crate) account: Account,
    /// A writing rule applied the other way (attribution's counterfactual,
    /// [`super::Model::swap_writer`]); `None` in every ordinary run.
    pub(crate) swapped: Option<&'static str>,
}

impl State {
    pub(crate) fn new(config: M19Config) -> Self {
        State {
            config,
            records: BTreeMap::new(),
            remember_me: BTreeMap::new(),
            written: BTreeMap::new(),
            account: Account::default(),
            swapped: None,
        }
    }
}

/// The session as application code sees it during one request.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) sid: String,
    pub(crate) data: Map<String, Value>,
    pub(crate) new: bool,
    pub(crate) modified: bool,
}

impl Session {
    pub(crate) fn fresh(sids: &mut dyn SidSource) -> Self {
        Session {
            sid: sids.next_sid(),
            data: Map::new(),
            new: true,
            modified: false,
        }
    }

    /// Assigns only when the value differs (`update_session` in finalize).
    pub(crate) fn update(&mut self, key: &str, value: Value) {
        if self.data.get(key) != Some(&value) {
            self.data.insert(key.to_owned(), value);
            self.modified = true;
        }
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if self.data.remove(key).is_some() {
            self.modified = true;
        }
    }
}

/// Seconds since the epoch, with the fraction, as an exact comparison key.
pub(crate) fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

/// `expires < now`, exact (`r[m19.load.expiry-boundary]`).
pub(crate) fn is_expired(expires: i64, now: OffsetDateTime) -> bool {
    i128::from(expires) * 1_000_000_000 < nanos(now)
}

pub(crate) fn stored_expires(data: &Map<String, Value>) -> Option<i64> {
    data.get(KEY_EXPIRES).and_then(Value::as_i64)
}
