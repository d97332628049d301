//! Load (section 10): the request's session, and when a record has
//! expired.

use serde_json::Value;
use time::OffsetDateTime;

use crate::sid::is_well_formed;
use crate::store::{Loaded, Record, Store};

use super::{Session, SessionService, EXPIRES, SETUID, USER_ATTRIBS, USER_ID, USER_METHOD};
use crate::reference::pipeline::{first_cookie, ServiceError};

impl<S: Store> SessionService<S> {
    /// Load (section 10): the request's session.
    pub(super) fn load(
        &mut self,
        cookie_header: Option<&str>,
        cookie_name: &str,
        now: OffsetDateTime,
    ) -> Result<Session, ServiceError> {
        let sid = match cookie_header.and_then(|h| first_cookie(h, cookie_name)) {
            Some(value) if is_well_formed(value) => value.to_owned(),
            // No cookie, or a malformed sid: fresh, the store untouched.
            _ => return Ok(Session::fresh(self.sids.next_sid())),
        };
        let record = match self.store.load(&sid)? {
            None | Some(Loaded::Unreadable) => return Ok(Session::empty(sid)),
            Some(Loaded::Record(record)) => record,
        };
        if expired(&record, now) {
            self.store.delete(&sid)?;
            return Ok(Session::fresh(self.sids.next_sid()));
        }
        let mut session = Session::empty(sid);
        session.snapshot = record.clone();
        for (key, value) in record {
            match key.as_str() {
                USER_ID => session.user = value.as_str().map(str::to_owned),
                USER_METHOD => session.method = value.as_str().map(str::to_owned),
                USER_ATTRIBS => session.attribs = Some(value),
                SETUID => session.setuid = value.as_str().map(str::to_owned),
                EXPIRES => {}
                _ => {
                    session.data.insert(key, value);
                }
            }
        }
        Ok(session)
    }
}

/// `expires < now` (`r[m19.load.expired-destroyed]`,
/// `r[m19.load.expiry-boundary]`); a record without `expires` never is
/// (`r[m19.load.no-expires]`).
pub(super) fn expired(record: &Record, now: OffsetDateTime) -> bool {
    match record.get(EXPIRES) {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(secs) => i128::from(secs) * 1_000_000_000 < now.unix_timestamp_nanos(),
            None => n
                .as_f64()
                .is_some_and(|secs| secs < now.unix_timestamp_nanos() as f64 / 1e9),
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_boundary() {
        let record = Record::from([(EXPIRES.to_owned(), Value::from(1_700_003_580))]);
        let at = |s: i64, nanos: i64| {
            OffsetDateTime::from_unix_timestamp(s).unwrap() + time::Duration::nanoseconds(nanos)
        };
        assert!(!expired(&record, at(1_700_003_580, 0)));
        assert!(expired(&record, at(1_700_003_580, 500_000_000)));
        assert!(!expired(&Record::new(), at(i32::MAX.into(), 0)));
    }
}
