//! The moin-1.9 model's authentication (`setup_user`,
//! `r[m19.auth.*]`, `r[m19.setuid.*]`): the user a request runs as, from
//! the session's stored user and the request's action, as a pure function
//! of the state.

use crate::config::M19Config;
use crate::exchange::AuthAction;

use serde_json::Value;

use super::m19_state::{
    Session, State, KEY_AUTH_METHOD, KEY_SETUID, KEY_USER_ID, LOGIN_METHOD, SETUID_METHOD,
};

/// A user object of the request.
#[derive(Debug, Clone)]
pub(crate) struct UserObj {
    pub(crate) name: String,
    pub(crate) valid: bool,
    pub(crate) auth_method: String,
}

/// The user object an account name gives (`User(id=...)`): valid when the
/// account exists and is enabled.
fn account(config: &M19Config, name: &str, auth_method: &str) -> UserObj {
    UserObj {
        name: name.to_owned(),
        valid: config.account_enabled(name),
        auth_method: auth_method.to_owned(),
    }
}

fn is_superuser(config: &M19Config, user: &UserObj) -> bool {
    user.valid && config.superusers.contains(&user.name)
}

/// `setup_user`: returns (effective user, real user under change-user).
pub(crate) fn authenticate(
    state: &mut State,
    session: &Session,
    action: &AuthAction,
) -> (Option<UserObj>, Option<UserObj>) {
    let config = &state.config;
    // r[m19.auth.restore], r[m19.auth.method-unconfigured], r[m19.auth.account-invalid]
    let mut user = match (
        session.data.get(KEY_USER_ID),
        session.data.get(KEY_AUTH_METHOD),
    ) {
        (Some(Value::String(id)), Some(Value::String(method)))
            if config.auth.iter().any(|m| m == method) =>
        {
            Some(account(config, id, method))
        }
        _ => None,
    };
    // r[m19.setuid.restore], r[m19.setuid.lost-superuser]: a change to an
    // account that no longer exists is dropped too.
    let mut real = None;
    if let (Some(Value::String(target)), Some(u)) = (session.data.get(KEY_SETUID), &user) {
        if is_superuser(config, u) && config.account_exists(target) {
            real = user.take();
            user = Some(UserObj {
                name: target.clone(),
                valid: true,
                auth_method: SETUID_METHOD.to_owned(),
            });
        }
    }
    match action {
        AuthAction::None => {}
        AuthAction::Login {
            user: name,
            remember_me,
        } => {
            // r[m19.auth.login-while-logged-in]: a valid user stays.
            let already = user.as_ref().is_some_and(|u| u.valid);
            let method_on = config.auth.iter().any(|m| m == LOGIN_METHOD);
            if !already && method_on && config.account_enabled(name) {
                // r[m19.auth.login], r[m19.lifetime.remember-me-preference]
                state.remember_me.insert(name.clone(), *remember_me);
                user = Some(account(config, name, LOGIN_METHOD));
            }
        }
        // r[m19.auth.failed-login]; ending other sessions is refused in `request`.
        AuthAction::FailedLogin { .. } | AuthAction::EndOtherSessions => {}
        AuthAction::Logout => {
            if let Some(u) = user.as_mut() {
                if u.auth_method == SETUID_METHOD {
                    // r[m19.setuid.logout-reverts]
                    user = real.take();
                } else if config.auth.contains(&u.auth_method) {
                    // r[m19.auth.logout]
                    u.valid = false;
                }
            }
            // r[m19.auth.logout-anonymous]: nothing to do without a user.
        }
        AuthAction::ChangeUser { to } => {
            // r[m19.setuid.change-user], r[m19.setuid.not-superuser],
            // r[m19.setuid.disabled-target], r[m19.setuid.unknown-target]
            if let Some(u) = &user {
                // The check is on the user the request runs as: under an
                // active change user, that is the target.
                if is_superuser(config, u) && config.account_exists(to) {
                    // A chained change keeps the logged-in superuser as
                    // the real user; the new target replaces the old one.
                    let previous = user.take();
                    if real.is_none() {
                        real = previous;
                    }
                    user = Some(UserObj {
                        name: to.clone(),
                        valid: true,
                        auth_method: SETUID_METHOD.to_owned(),
                    });
                }
            }
        }
    }
    (user, real)
}
