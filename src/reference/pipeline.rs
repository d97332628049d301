//! What the reference services of both profiles share: their error type,
//! picking a cookie out of the `Cookie` header, and the application phase
//! (the session operations and the HelpOnSessions example macro).
//!
//! Implements `r[m19.load.first-cookie]` (for the moin-1.9 service) and the
//! example macro of both editions (`r[m19.new.macro-example]`,
//! `r[m16.macro.example]`).

use std::fmt;

use serde_json::Value;

use crate::exchange::{MacroEdition, Op};
use crate::store::{Record, StoreError};

/// What the 1.9 edition of the example macro says on a request whose
/// session is `new`.
const NOT_STORING: &str = "Not storing any state until you send a cookie.";

/// The service could not handle a request or a cleanup.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServiceError {
    /// The store failed.
    Store(StoreError),
    /// Application code touched a reserved session key.
    ReservedKey {
        /// The key.
        key: String,
        /// The rule.
        rule: &'static str,
    },
    /// The request or cleanup asks for something the profile does not have
    /// (change user or cleanup by user in moin-1.6).
    NotInProfile {
        /// What.
        what: &'static str,
    },
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Store(e) => write!(f, "session service: {e}"),
            ServiceError::ReservedKey { key, rule } => write!(
                f,
                "session service: application code must not touch the reserved key {key:?} (rule r[{rule}])"
            ),
            ServiceError::NotInProfile { what } => {
                write!(f, "session service: not part of this profile: {what}")
            }
        }
    }
}

impl std::error::Error for ServiceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServiceError::Store(e) => Some(e),
            ServiceError::ReservedKey { .. } | ServiceError::NotInProfile { .. } => None,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

/// The value of the first cookie named `name` in a `Cookie` header
/// (`r[m19.load.first-cookie]`).
pub(crate) fn first_cookie<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name).then(|| v.trim())
    })
}

/// The application phase's session operations on the session's `data`
/// (application keys only); `new` is the session's flag. Shared with the
/// moin-1.6 service, whose plain dictionary is such a map too.
pub(crate) fn run_ops(data: &mut Record, new: bool, ops: &[Op]) -> Vec<Value> {
    let mut results = Vec::new();
    for op in ops {
        match op {
            Op::Set { key, value } => {
                data.insert(key.clone(), value.clone());
            }
            Op::Get { key } => results.push(data.get(key).cloned().unwrap_or(Value::Null)),
            Op::Delete { key } => {
                data.remove(key);
            }
            Op::Macro { edition, random } => {
                results.push(Value::from(run_macro(data, new, *edition, *random)))
            }
        }
    }
    results
}

/// The HelpOnSessions example macro (`r[m19.new.macro-example]` for the
/// 1.9 edition; the 1.6 edition has no `new` test: `r[m16.macro.example]`).
fn run_macro(data: &mut Record, new: bool, edition: MacroEdition, random: u32) -> String {
    if edition == MacroEdition::V19 && new {
        return NOT_STORING.to_owned();
    }
    match data.get("test") {
        Some(value) => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match edition {
                MacroEdition::V19 => format!("Loaded value {text}"),
                MacroEdition::V16 => text,
            }
        }
        None => {
            data.insert("test".to_owned(), Value::from(random));
            match edition {
                MacroEdition::V19 => format!("Set to value {random}"),
                MacroEdition::V16 => format!("set to value {random}"),
            }
        }
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) fn http_date(secs: i64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(secs)
        .expect("expiry instants are within 100 years of now (r[m19.config.lifetime-finite])")
        .format(&format)
        .expect("an IMF-fixdate can be written for any date of a four-digit year")
}

/// Refuses an op on one of the profile's reserved keys
/// (`r[m19.persist.reserved-keys]` and its hardened equivalent).
pub(crate) fn refuse_reserved(ops: &[Op], reserved: &[&str]) -> Result<(), ServiceError> {
    for op in ops {
        if let Op::Set { key, .. } | Op::Get { key } | Op::Delete { key } = op {
            if reserved.contains(&key.as_str()) {
                return Err(ServiceError::ReservedKey {
                    key: key.clone(),
                    rule: "m19.persist.reserved-keys",
                });
            }
        }
    }
    Ok(())
}

/// What every reference service has alike, given its documentation, its
/// name and its configuration type: the struct with its fields `store`,
/// `config`, `sids` and `preferences`, the `Debug` form, the constructors,
/// and the accessors of the store, the configuration, the sid source and
/// the users' `remember_me` preferences (absent means on:
/// `r[m19.lifetime.remember-me-preference]`,
/// `r[m16.lifetime.remember-me-preference]`).
macro_rules! service_basics {
    ($(#[$doc:meta])* $service:ident, $config:ty) => {
        $(#[$doc])*
        pub struct $service<S: $crate::store::Store> {
            store: S,
            config: $config,
            sids: Box<dyn $crate::sid::SidSource + Send>,
            /// Users' `remember_me` preferences; absent means on.
            preferences: std::collections::BTreeMap<String, bool>,
        }

        impl<S: $crate::store::Store> std::fmt::Debug for $service<S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($service))
                    .field("config", &self.config)
                    .field("preferences", &self.preferences)
                    .finish_non_exhaustive()
            }
        }

        impl<S: $crate::store::Store> $service<S> {
            /// A service over `store` with `config`, drawing fresh sids (in
            /// moin-1.6: anonymous names, login ids and secrets) from `sids`.
            pub fn new(
                store: S,
                config: $config,
                sids: impl $crate::sid::SidSource + Send + 'static,
            ) -> Self {
                $service {
                    store,
                    config,
                    sids: Box::new(sids),
                    preferences: std::collections::BTreeMap::new(),
                }
            }

            /// A service for production: sids (and moin-1.6's secrets) from
            /// the OS CSPRNG (`r[hard.sid.entropy]`).
            pub fn with_os_sids(store: S, config: $config) -> Self {
                Self::new(store, config, $crate::sid::OsSids::new())
            }

            /// The store.
            pub fn store(&self) -> &S {
                &self.store
            }

            /// The store, taking the service apart.
            pub fn into_store(self) -> S {
                self.store
            }

            /// The configuration.
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// Replaces the sid source.
            pub fn set_sids(&mut self, sids: impl $crate::sid::SidSource + Send + 'static) {
                self.sids = Box::new(sids);
            }

            /// Forgets every user preference.
            pub fn forget_preferences(&mut self) {
                self.preferences.clear();
            }

            /// A user's `remember_me` preference: on until a login sets it.
            pub fn remember_me(&self, user: &str) -> bool {
                self.preferences.get(user).copied().unwrap_or(true)
            }

            /// Runs one request cycle with the time of `clock` (read once)
            /// in place of `request.now`: the production entry point.
            pub fn handle_now(
                &mut self,
                clock: &dyn $crate::clock::Clock,
                request: $crate::exchange::Request,
            ) -> Result<$crate::exchange::Response, $crate::reference::pipeline::ServiceError> {
                self.handle(&$crate::exchange::Request {
                    now: clock.now(),
                    ..request
                })
            }
        }
    };
}
pub(super) use service_basics;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cookie_of_the_name_wins() {
        assert_eq!(first_cookie("a=1; S=x; S=y", "S"), Some("x"));
        assert_eq!(first_cookie("SS=1;S =  z ", "S"), Some("z"));
        assert_eq!(first_cookie("flag; a=1", "S"), None);
    }
}
