//! Finalize of the hardened model: the cookie and the record
//! (`r[hard.timeout.*]`, `r[hard.cookie.*]`, `r[hard.finalize.delete-presented]`,
//! `r[hard.persist.*]`, `r[hard.rotate.old-destroyed]`,
//! `r[hard.rotate.carry-data]`), for one request or the finish of an
//! open one.

use cookie::{Cookie, SameSite as CookieSameSite};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::config::SameSite;
use crate::lifetime::{hardened_idle_secs, hours_to_secs, COOKIE_CAP_SECS};
use crate::sid::SidSource;

use super::hardened_session::{
    whole_second, Session, State, Users, KEY_AUTH_AT, KEY_AUTH_ATTRIBS, KEY_AUTH_METHOD,
    KEY_EXPIRES, KEY_SETUID, KEY_USER_ID, RESERVED_KEYS,
};
use super::m19_state::Record;

/// Finalize: the cookie and the record.
#[allow(clippy::too_many_arguments)]
pub(super) fn finalize(
    state: &mut State,
    session: &mut Session,
    users: &Users,
    remember_me: bool,
    now: OffsetDateTime,
    https: bool,
    presented: bool,
    sids: &mut dyn SidSource,
) -> Vec<String> {
    let config = &state.config;
    let valid = users.real.is_some();
    let hours = if valid {
        config.cookie_lifetime.logged_in
    } else {
        config.cookie_lifetime.anonymous
    };
    // r[hard.timeout.idle], r[hard.timeout.remember-me], r[hard.cookie.400-days]
    let lifetime =
        hardened_idle_secs(hours, valid, remember_me, config.absolute_timeout).min(COOKIE_CAP_SECS);
    // r[m19.finalize.kill]
    let kill = !valid && session.data.contains_key(KEY_USER_ID);
    let t = whole_second(now);
    let mut expires_at = t + lifetime;
    let mut deadline_reached = false;
    if let Some(real) = &users.real {
        // r[hard.timeout.absolute]: E = min(t + L, D); a request whose
        // request second reaches D ends the session.
        let deadline = real.auth_at + hours_to_secs(config.absolute_timeout);
        expires_at = expires_at.min(deadline);
        deadline_reached = t >= deadline;
    }
    // r[hard.rotate.old-destroyed], r[hard.rotate.carry-data]
    if users.rotate && !session.new {
        state.records.remove(&session.sid);
        session.sid = sids.next_sid();
    }
    let issue = lifetime > 0 && !kill && !deadline_reached;
    let name = config.cookie_full_name();
    let secure = config.cookie_secure.unwrap_or(https);
    let samesite = match config.cookie_samesite {
        SameSite::Lax => CookieSameSite::Lax,
        SameSite::Strict => CookieSameSite::Strict,
    };
    // r[hard.cookie.delete-form]: a deletion has no Max-Age (`None`).
    let build = |value: String, max_age: Option<i64>, expires: i64| {
        let mut c = Cookie::build((name.clone(), value))
            .expires(OffsetDateTime::from_unix_timestamp(expires).expect("bounded by validation"))
            .path(config.effective_path().to_owned())
            .secure(secure)
            .http_only(true)
            .same_site(samesite);
        if let Some(domain) = &config.cookie_domain {
            c = c.domain(domain.clone());
        }
        if let Some(max_age) = max_age {
            c = c.max_age(Duration::seconds(max_age));
        }
        c.build().to_string()
    };
    let mut set_cookies = Vec::new();
    if issue {
        // r[hard.cookie.max-age-within]
        set_cookies.push(build(session.sid.clone(), Some(expires_at - t), expires_at));
        // r[hard.persist.issue-stores], r[hard.persist.expires-at-once]
        let mut record = if session.new && !valid {
            // r[m19.persist.anon-first-request]: the writes are lost.
            Map::new()
        } else {
            session.data.clone()
        };
        for key in RESERVED_KEYS {
            record.remove(*key);
        }
        record.insert(KEY_EXPIRES.to_owned(), Value::from(expires_at));
        if let Some(real) = &users.real {
            record.insert(KEY_USER_ID.to_owned(), Value::from(real.name.clone()));
            record.insert(KEY_AUTH_METHOD.to_owned(), Value::from(real.method.clone()));
            record.insert(KEY_AUTH_ATTRIBS.to_owned(), Value::Object(Map::new()));
            record.insert(KEY_AUTH_AT.to_owned(), Value::from(real.auth_at));
            if let Some(target) = &users.setuid {
                record.insert(KEY_SETUID.to_owned(), Value::from(target.clone()));
            }
        }
        state
            .records
            .insert(session.sid.clone(), Record::Data(record));
    } else {
        // r[m19.persist.disabled-destroys], r[m19.persist.kill-destroys],
        // r[hard.timeout.absolute]
        state.records.remove(&session.sid);
        // r[hard.finalize.delete-presented], r[hard.cookie.delete-form]: the
        // epoch, earlier than any request's instant.
        if presented {
            set_cookies.push(build(String::new(), None, 0));
        }
    }
    set_cookies
}
