//! The finish of a hardened request (`r[hard.overlap.stale]`,
//! `r[hard.overlap.stale-login]`, `r[hard.overlap.commit]`) and finalize
//! (sections 11 and 12 of `spec/hardened.md`): for a stored session, the
//! liveness check, the merge of the write set and the save or destroy are
//! one atomic update of the store (`r[hard.store.atomic-update]`), so a
//! record that another request or process destroyed is never written
//! again.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::exchange::Finished;
use crate::lifetime::{hours_to_secs, COOKIE_CAP_SECS};
use crate::store::{Change, Loaded, OnConflict, Record, Store};

use super::cookie::Form;
use super::{
    ceil_second, expired, HardenedOpen, HardenedSessionService, AUTH_AT, EXPIRES, RESERVED, SETUID,
    USER_ATTRIBS, USER_ID, USER_METHOD,
};
use crate::reference::pipeline::ServiceError;

impl<S: Store> HardenedSessionService<S> {
    /// Finishes an open request at `now`: a stale request stores, destroys
    /// and sends nothing (`r[hard.overlap.stale]`) unless it logged in
    /// (`r[hard.overlap.stale-login]`); any other commits its write set into
    /// the record as stored now (`r[hard.overlap.commit]`), in one atomic
    /// update of the store (`r[hard.store.atomic-update]`).
    pub fn finish(
        &mut self,
        mut open: HardenedOpen,
        now: OffsetDateTime,
    ) -> Result<Finished, ServiceError> {
        let plan = if open.session.new {
            self.plan(&open, &open.session.data, now)
        } else {
            match self.commit(&open, now)? {
                Some(plan) => plan,
                None if open.logged_in => {
                    // r[hard.overlap.stale-login]: stale, so nothing of the
                    // dead session's cookie is deleted, even with L = 0.
                    open.presented = false;
                    open.session.sid = self.sids.next_sid();
                    open.session.new = true;
                    open.session.data = open
                        .writes
                        .iter()
                        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                        .collect();
                    self.plan(&open, &open.session.data, now)
                }
                None => return Ok(Finished::default()),
            }
        };
        let cookie = self.conclude(&mut open, plan)?;
        Ok(Finished {
            set_cookies: cookie.into_iter().collect(),
            cache_control: None,
        })
    }

    /// The commit of a request whose session is stored, as one atomic
    /// update of its record: the record must be live at `now`, the write
    /// set is merged into it as stored, and finalize's decision is saved,
    /// or the record destroyed (a kill, `L = 0`, the old sid of a
    /// rotation). `None`: the request is stale, and nothing was written.
    fn commit(
        &self,
        open: &HardenedOpen,
        now: OffsetDateTime,
    ) -> Result<Option<Plan>, ServiceError> {
        let mut planned = None;
        self.store
            .update(&open.session.sid, OnConflict::Retry, &mut |loaded| {
                planned = None;
                let Some(Loaded::Record(stored)) = loaded.filter(|l| !expired(l, now)) else {
                    return Change::Keep;
                };
                let plan = self.plan(open, &merge(stored, &open.writes), now);
                let change = match (&plan.record, plan.rotate) {
                    (Some(record), false) => Change::Save(record.clone()),
                    _ => Change::Destroy,
                };
                planned = Some(plan);
                change
            })?;
        Ok(planned)
    }

    /// Finalize's decision for a request whose session data is `data`
    /// (sections 11 and 12): `L`, `E`, kill and rotation, and the record to
    /// store.
    fn plan(&self, open: &HardenedOpen, data: &Record, now: OffsetDateTime) -> Plan {
        let real = open.real.as_ref();
        let killed = real.is_none() && open.session.reserved.contains_key(USER_ID);
        let absolute = hours_to_secs(self.config.absolute_timeout);
        let idle = match real {
            None => hours_to_secs(self.config.cookie_lifetime.anonymous),
            Some(_) => {
                let s = hours_to_secs(self.config.cookie_lifetime.logged_in);
                if s > 0 && open.remember_me {
                    absolute
                } else {
                    s
                }
            }
        };
        let lifetime = idle.clamp(0, COOKIE_CAP_SECS);
        let rotate = open.rotate && !open.session.new;
        let second = ceil_second(now);
        // r[hard.timeout.absolute]: a request whose second reaches the
        // deadline ends the session, as L = 0 would.
        let deadline_reached = real.is_some_and(|r| second >= r.auth_at + absolute);
        if killed || lifetime == 0 || deadline_reached {
            return Plan {
                record: None,
                rotate,
                second,
                expires: second,
            };
        }
        let mut expires = second + lifetime;
        if let Some(r) = real {
            expires = expires.min(r.auth_at + absolute);
        }
        let mut record = if open.session.new && real.is_none() {
            Record::new()
        } else {
            data.clone()
        };
        record.insert(EXPIRES.to_owned(), Value::from(expires));
        if let Some(r) = real {
            record.insert(USER_ID.to_owned(), Value::from(r.name.clone()));
            record.insert(USER_METHOD.to_owned(), Value::from(r.method.clone()));
            record.insert(USER_ATTRIBS.to_owned(), Value::Object(Default::default()));
            record.insert(AUTH_AT.to_owned(), Value::from(r.auth_at));
            if let Some(target) = &open.setuid {
                record.insert(SETUID.to_owned(), Value::from(target.clone()));
            }
        }
        Plan {
            record: Some(record),
            rotate,
            second,
            expires,
        }
    }

    /// Carries out the rest of a plan once the stored record is settled: a
    /// rotation's fresh sid and its save, a new session's save, and the
    /// cookie (issued, or the deletion of a presented one).
    fn conclude(
        &mut self,
        open: &mut HardenedOpen,
        plan: Plan,
    ) -> Result<Option<String>, ServiceError> {
        if plan.rotate {
            open.session.sid = self.sids.next_sid();
        }
        let form = Form::of(&self.config, open.https);
        let Some(record) = plan.record else {
            return Ok(open.presented.then(|| form.deletion()));
        };
        if open.session.new || plan.rotate {
            // A fresh sid: no other request knows it, a plain save is one step.
            self.store.save(&open.session.sid, &record)?;
        }
        Ok(Some(form.issue(
            &open.session.sid,
            plan.expires - plan.second,
            plan.expires,
        )))
    }
}

/// Finalize's decision ([`HardenedSessionService::plan`]).
struct Plan {
    /// The record to store, `expires` included; `None`: the session ends
    /// (killed, `L = 0`, or the deadline reached), its record is destroyed
    /// and a presented cookie deleted.
    record: Option<Record>,
    /// Whether the sid changes (a rotation of a stored session).
    rotate: bool,
    /// The finish's instant rounded up to a whole second.
    second: i64,
    /// `E`.
    expires: i64,
}

/// The application keys of `stored` with the write set applied
/// (`r[hard.overlap.commit]`).
fn merge(stored: &Record, writes: &BTreeMap<String, Option<Value>>) -> Record {
    let mut data: Record = stored
        .iter()
        .filter(|(k, _)| !RESERVED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, write) in writes {
        match write {
            Some(v) => data.insert(key.clone(), v.clone()),
            None => data.remove(key),
        };
    }
    data
}
