//! Cleanup (section 16).

use serde_json::Value;

use crate::clock::Clock;
use crate::exchange::{CleanupMode, CleanupOutcome, CleanupRequest};
use crate::store::{Loaded, Record, Store};

use super::load::expired;
use super::{SessionService, EXPIRES, USER_ID};
use crate::reference::pipeline::ServiceError;

impl<S: Store> SessionService<S> {
    /// Runs a cleanup (section 16): which records it removed.
    ///
    /// Each record is tested and removed in one step
    /// ([`Store::delete_if`]), so a record renewed by a concurrent request
    /// after this cleanup listed it is judged by its renewal.
    pub fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, ServiceError> {
        if let Some(user) = &request.user {
            if !self.config.account_exists(user) {
                // r[m19.cleanup.by-user-unknown]: an error for the operator,
                // nothing removed.
                return Ok(CleanupOutcome::default());
            }
        }
        let mut removed = Vec::new();
        if request.mode == CleanupMode::Expired && request.user.is_none() {
            // A record with an integer `expires >= floor(now) + 1` is neither
            // expired nor without `expires`: `cleanup_removes` keeps it, so
            // the store may skip it unread (its expiry index).
            let before = request.now.unix_timestamp() + 1;
            let remove = |_: &str, loaded: &Loaded| cleanup_removes(loaded, request);
            removed = self.store.delete_expired_if(before, &remove)?;
            return Ok(CleanupOutcome { removed });
        }
        for sid in self.store.list()? {
            let remove = |loaded: &Loaded| cleanup_removes(loaded, request);
            if self.store.delete_if(&sid, &remove)? {
                removed.push(sid);
            }
        }
        Ok(CleanupOutcome { removed })
    }

    /// A cleanup at the time of `clock`: the production entry point.
    pub fn cleanup_now(
        &mut self,
        clock: &dyn Clock,
        mode: CleanupMode,
        user: Option<String>,
    ) -> Result<CleanupOutcome, ServiceError> {
        self.cleanup(&CleanupRequest {
            now: clock.now(),
            mode,
            user,
        })
    }
}

/// Whether a cleanup removes a record (section 16).
fn cleanup_removes(loaded: &Loaded, request: &CleanupRequest) -> bool {
    let record = match loaded {
        // r[m19.cleanup.unreadable]: no data, no expires, no user.
        Loaded::Unreadable => return request.user.is_none(),
        Loaded::Record(record) => record,
    };
    // r[m19.cleanup.load-destroys]: loading destroys it, in every mode.
    if expired(record, request.now) {
        return true;
    }
    if let Some(user) = &request.user {
        let holds = record.get(USER_ID).and_then(Value::as_str) == Some(user.as_str());
        if !holds {
            return false;
        }
    }
    match request.mode {
        CleanupMode::All => true,
        // Unexpired here: only a record without `expires` goes.
        CleanupMode::Expired => expires_of(record).is_none(),
    }
}

/// The record's `expires`, in seconds since 1970, if it has a numeric one.
fn expires_of(record: &Record) -> Option<f64> {
    record.get(EXPIRES).and_then(Value::as_f64)
}
