//! Authentication (section 12) and change user (section 13).

use serde_json::Value;

use crate::exchange::AuthAction;
use crate::store::Store;

use super::{RealUser, Session, SessionService, Users, LOGIN_METHOD};

impl<S: Store> SessionService<S> {
    /// Authentication (section 12): restore, stored change user, then the
    /// request's login or logout.
    pub(super) fn authenticate(&mut self, session: &Session, auth: &AuthAction) -> Users {
        let mut users = Users {
            real: None,
            setuid: None,
        };
        if let (Some(name), Some(method)) = (&session.user, &session.method) {
            if self.config.auth.contains(method) && self.config.account_enabled(name) {
                users.real = Some(RealUser {
                    name: name.clone(),
                    method: method.clone(),
                    attribs: session.attribs.clone().unwrap_or(Value::Null),
                });
            }
        }
        if let (Some(real), Some(target)) = (&users.real, &session.setuid) {
            // A change to an account that no longer exists is dropped
            // (r[m19.setuid.restore]), like one whose superuser was demoted.
            if self.is_superuser(&real.name) && self.config.account_exists(target) {
                users.setuid = Some(target.clone());
            }
        }
        match auth {
            AuthAction::Login { user, remember_me } => {
                let login_configured = self.config.auth.iter().any(|m| m == LOGIN_METHOD);
                if users.effective().is_none()
                    && login_configured
                    && self.config.account_enabled(user)
                {
                    users.real = Some(RealUser {
                        name: user.clone(),
                        method: LOGIN_METHOD.to_owned(),
                        attribs: Value::Object(Default::default()),
                    });
                    self.preferences.insert(user.clone(), *remember_me);
                }
            }
            AuthAction::Logout => {
                if users.setuid.is_some() {
                    users.setuid = None;
                } else {
                    users.real = None;
                }
            }
            AuthAction::None
            | AuthAction::FailedLogin { .. }
            | AuthAction::ChangeUser { .. }
            | AuthAction::EndOtherSessions => {}
        }
        users
    }

    fn is_superuser(&self, name: &str) -> bool {
        self.config.superusers.iter().any(|s| s == name)
    }

    /// Change user (section 13), in the application phase.
    pub(super) fn change_user(&self, users: &mut Users, target: &str) {
        let Some(runs_as) = users.effective().map(str::to_owned) else {
            return;
        };
        if !self.is_superuser(&runs_as) || !self.config.account_exists(target) {
            return;
        }
        // A chained change keeps the logged-in superuser as the real user;
        // the new target replaces the old one (r[m19.setuid.change-user]).
        users.setuid = Some(target.to_owned());
    }
}
