//! Faults that change what a backend does across several calls, emulated
//! around the inner backend with what the wrapper has seen:
//!
//! | fault | how |
//! | --- | --- |
//! | [`Fault::EndOthersByEffectiveUser`] | remembers which sessions act as another user (plain requests); after an "end other sessions", logs out the other sessions acting as the requester's effective user |
//! | [`Fault::FinishInOpenOrder`] | finishing a request first finishes, at that instant, every request opened before it; their results are handed out at their own finish |
//! | [`Fault::WritesAtFinish`] | holds back the sets and deletes of an open request and runs them at its finish |
//! | [`Fault::LoginStoresExpires`] | after a response that logs a new session in and issues its cookie, requests again at the same instant with that cookie: the session is no longer new, so its record is saved again, with `expires` |

use std::collections::BTreeMap;

use moin_session_spec::{AuthAction, Backend, BackendError, Finished, Op, Request, Response};
use serde_json::Value;
use time::OffsetDateTime;

use super::setcookie::{cookie_pairs, SetCookie};
use super::{Fault, Faulty};

/// What the emulated faults remember.
#[derive(Debug, Clone, Default)]
pub(super) struct Emulation {
    /// Sessions acting as another user under a change user: value to
    /// effective user.
    acting: BTreeMap<String, String>,
    /// Open handles, in the order they were opened.
    opened: Vec<String>,
    /// Finishes made early, by handle.
    early: BTreeMap<String, Finished>,
    /// Writes held back to the finish, by handle.
    pending: BTreeMap<String, Vec<Op>>,
}

fn writes_only(ops: &[Op]) -> bool {
    !ops.is_empty()
        && ops
            .iter()
            .all(|op| matches!(op, Op::Set { .. } | Op::Delete { .. }))
}

impl<B: Backend> Faulty<B> {
    /// [`Fault::LoginStoresExpires`]: the same browser requests again at
    /// the same instant, unknown to the application, after a response that
    /// logs a new session in and issues its cookie.
    fn store_expires_at_login(
        &mut self,
        request: &Request,
        response: &Response,
    ) -> Result<(), BackendError> {
        let name = self.cookie_name();
        let issued = response.set_cookies.iter().find_map(|h| {
            let c = SetCookie::parse(h)?;
            (c.name == name && !c.is_deletion(request.now)).then_some(c.value)
        });
        if let (true, Some(_), Some(sid)) = (response.new, &response.user, issued) {
            self.inner.request(&Request {
                cookie_header: Some(format!("{name}={sid}")),
                auth: AuthAction::None,
                ops: Vec::new(),
                ..request.clone()
            })?;
        }
        Ok(())
    }

    /// The session cookie value a request sends, if any.
    pub(super) fn sent_value(&self, request: &Request) -> Option<String> {
        let name = self.cookie_name();
        request
            .cookie_header
            .as_deref()
            .map(cookie_pairs)
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// After a plain request: [`Fault::EndOthersByEffectiveUser`],
    /// [`Fault::LoginStoresExpires`].
    pub(super) fn after_request(
        &mut self,
        request: &Request,
        response: &Response,
    ) -> Result<(), BackendError> {
        if self.on(Fault::LoginStoresExpires) {
            return self.store_expires_at_login(request, response);
        }
        if !self.on(Fault::EndOthersByEffectiveUser) {
            return Ok(());
        }
        let name = self.cookie_name();
        let sent = self.sent_value(request);
        let issued = response
            .set_cookies
            .iter()
            .filter_map(|h| SetCookie::parse(h))
            .find(|c| c.name == name && !c.is_deletion(request.now))
            .map(|c| c.value);
        let was = sent.as_ref().and_then(|v| self.emulation.acting.remove(v));
        let acting = match (&request.auth, &response.user) {
            (AuthAction::ChangeUser { to }, Some(u)) if u == to => Some(to.clone()),
            (_, Some(u)) if was.as_ref() == Some(u) => was,
            _ => None,
        };
        if let (Some(value), Some(user)) = (issued, acting) {
            self.emulation.acting.insert(value, user);
        }
        let (AuthAction::EndOtherSessions, Some(user)) = (&request.auth, &response.user) else {
            return Ok(());
        };
        let targets: Vec<String> = self
            .emulation
            .acting
            .iter()
            .filter(|(v, eff)| *eff == user && Some(*v) != sent.as_ref())
            .map(|(v, _)| v.clone())
            .collect();
        for value in targets {
            self.emulation.acting.remove(&value);
            self.inner.request(&Request {
                now: request.now,
                https: request.https,
                path: request.path.clone(),
                cookie_header: Some(format!("{name}={value}")),
                auth: AuthAction::Logout,
                ops: Vec::new(),
            })?;
        }
        Ok(())
    }

    /// At an open: remembers the order, and holds back its writes
    /// ([`Fault::WritesAtFinish`]); the request to send the inner backend.
    pub(super) fn at_open(&mut self, handle: &str, mut request: Request) -> Request {
        self.emulation.opened.push(handle.to_owned());
        if self.on(Fault::WritesAtFinish) && writes_only(&request.ops) {
            let ops = std::mem::take(&mut request.ops);
            self.emulation.pending.insert(handle.to_owned(), ops);
        }
        request
    }

    /// More ops of an open request: held back when they only write
    /// ([`Fault::WritesAtFinish`]); `None` when they are to run now.
    pub(super) fn hold_ops(&mut self, handle: &str, ops: &[Op]) -> Option<Vec<Value>> {
        if self.emulation.early.contains_key(handle) {
            // Finished early ([`Fault::FinishInOpenOrder`]): its later
            // application code reads nothing and its writes are lost.
            return Some(
                ops.iter()
                    .filter(|op| op.yields())
                    .map(|_| Value::Null)
                    .collect(),
            );
        }
        if !self.on(Fault::WritesAtFinish) || !writes_only(ops) {
            return None;
        }
        self.emulation
            .pending
            .entry(handle.to_owned())
            .or_default()
            .extend(ops.iter().cloned());
        Some(Vec::new())
    }

    /// The inner finish of `handle` at `now`, with its held-back writes
    /// first, or the result of an earlier finish made early.
    pub(super) fn finish_inner(
        &mut self,
        handle: &str,
        now: OffsetDateTime,
    ) -> Result<Finished, BackendError> {
        let position = self.emulation.opened.iter().position(|h| h == handle);
        let before: Vec<String> = self.emulation.opened[..position.unwrap_or(0)].to_vec();
        self.emulation.opened.retain(|h| h != handle);
        if let Some(done) = self.emulation.early.remove(handle) {
            return Ok(done);
        }
        if self.on(Fault::FinishInOpenOrder) {
            let earlier: Vec<String> = before
                .into_iter()
                .filter(|h| !self.emulation.early.contains_key(h))
                .collect();
            for h in earlier {
                let done = self.finish_held(&h, now)?;
                self.emulation.early.insert(h, done);
            }
        }
        self.finish_held(handle, now)
    }

    fn finish_held(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        if let Some(ops) = self.emulation.pending.remove(handle) {
            self.inner.ops(handle, &ops)?;
        }
        self.inner.finish(handle, now)
    }
}
