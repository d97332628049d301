//! The moin-1.9 model's cleanup (`moin maint cleansessions`,
//! `r[m19.cleanup.*]`) and the damage a test can do to a record, as pure
//! functions of the state; each removal or keep is recorded in the
//! state's account ([`super::account`]) with the clause that decided it.

use serde_json::{Map, Value};

use crate::exchange::{CleanupMode, CleanupOutcome, CleanupRequest};

use super::account::{Account, Judged};
use super::m19_state::{is_expired, stored_expires, Record, State, KEY_USER_ID};

/// `moin maint cleansessions` (`r[m19.cleanup.*]`).
pub(crate) fn cleanup(state: &mut State, req: &CleanupRequest) -> CleanupOutcome {
    state.account = Account::default();
    // r[m19.cleanup.by-user-unknown]: an unknown account stops the run.
    if let Some(name) = &req.user {
        if !state.config.account_exists(name) {
            return CleanupOutcome::default();
        }
    }
    let mut removed = Vec::new();
    let sids: Vec<String> = state.records.keys().cloned().collect();
    for sid in sids {
        let (data, readable) = match state.records.get(&sid) {
            Some(Record::Data(d)) => (d.clone(), true),
            Some(Record::Unreadable) => (Map::new(), false),
            None => continue,
        };
        let by = judge(&data, readable, req);
        let written_by = state.written.get(&sid).map(|w| w.by);
        let remove = by.1;
        state.account.cleanup.insert(
            sid.clone(),
            Judged {
                removed: remove,
                by: by.0,
                written_by,
            },
        );
        if remove {
            state.records.remove(&sid);
            state.written.remove(&sid);
            removed.push(sid);
        }
    }
    CleanupOutcome { removed }
}

/// The clause that decides one record, and whether it is removed.
fn judge(data: &Map<String, Value>, readable: bool, req: &CleanupRequest) -> (&'static str, bool) {
    let expires = stored_expires(data);
    // r[m19.cleanup.load-destroys]: loading destroys an expired record.
    if expires.is_some_and(|e| is_expired(e, req.now)) {
        return ("m19.cleanup.expired", true);
    }
    // r[m19.cleanup.by-user]
    if let Some(name) = &req.user {
        if data.get(KEY_USER_ID) != Some(&Value::from(name.clone())) {
            return ("m19.cleanup.by-user", false);
        }
    }
    // r[m19.cleanup.missing-expires], r[m19.cleanup.unreadable]
    match (req.mode, expires) {
        (CleanupMode::Expired, None) if !readable => ("m19.cleanup.unreadable", true),
        (CleanupMode::Expired, None) => ("m19.cleanup.missing-expires", true),
        (CleanupMode::Expired, Some(_)) => ("m19.cleanup.unexpired-kept", false),
        (CleanupMode::All, _) => ("m19.cleanup.all", true),
    }
}

/// Marks a stored record unreadable; a missing one becomes an unreadable one.
pub(crate) fn corrupt(state: &mut State, sid: &str) {
    state.records.insert(sid.to_owned(), Record::Unreadable);
    state.written.remove(sid);
}
