//! What a backend offers of the optional parts of the [`Backend`] trait
//! and of the configurations a profile allows: the protocol's
//! `capabilities` and `configurations` (`r[proto.handshake.capabilities]`,
//! `r[proto.handshake.configurations]`), as Rust values.
//!
//! The conformance runner reads them to skip (never pass) the cases that
//! need what a backend lacks, and random generation reads them to draw
//! only what the backend offers.
//!
//! ```
//! use moin_session_spec::{Capabilities, Config, ConfigPatch, ConfigSupport, Profile};
//! let mut only = ConfigSupport::default();
//! only.limit("cookie_httponly", vec![serde_json::json!(true)]).unwrap();
//! let default = Config::build(Profile::Moin19, &[ConfigPatch::default()]).unwrap();
//! let why = only.refuses(&default).unwrap();
//! assert_eq!(why, "cookie_httponly = false (it supports true only)");
//! assert!(only.limit("cookie_lifetime", vec![]).is_err());
//! assert!(!Capabilities::default().corrupt);
//! ```
//!
//! [`Backend`]: crate::Backend

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::Config;

/// The optional abilities of a backend, by the protocol's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `corrupt`: it can make a stored record unreadable.
    pub corrupt: bool,
    /// `cleanup-by-user`: it runs cleanups limited to one user.
    pub cleanup_by_user: bool,
    /// `change-user`: it runs the "change user" action.
    pub change_user: bool,
    /// `https`: it takes requests over https.
    pub https: bool,
    /// `interleave`: it runs overlapping requests (open, ops, finish).
    pub interleave: bool,
    /// The configuration values it supports, where it limits any.
    pub configurations: ConfigSupport,
}

/// Everything but `corrupt` and `interleave`, which the trait's default
/// methods decline: what a Rust backend offers unless it says otherwise.
impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            corrupt: false,
            cleanup_by_user: true,
            change_user: true,
            https: true,
            interleave: false,
            configurations: ConfigSupport::default(),
        }
    }
}

impl Capabilities {
    /// From the protocol's list of capability names (unknown names are
    /// ignored) and its `configurations`.
    pub fn from_names(names: &[String], configurations: ConfigSupport) -> Capabilities {
        let has = |n: &str| names.iter().any(|x| x == n);
        Capabilities {
            corrupt: has("corrupt"),
            cleanup_by_user: has("cleanup-by-user"),
            change_user: has("change-user"),
            https: has("https"),
            interleave: has("interleave"),
            configurations,
        }
    }

    /// The optional abilities it lacks, by the protocol's names, with what
    /// each is.
    pub fn lacking(&self) -> Vec<(&'static str, &'static str)> {
        [
            (self.corrupt, "corrupt", "corrupting a stored record"),
            (self.cleanup_by_user, "cleanup-by-user", "cleanups by user"),
            (self.change_user, "change-user", "the change-user action"),
            (self.https, "https", "requests over https"),
            (
                self.interleave,
                "interleave",
                "overlapping requests (open, ops, finish)",
            ),
        ]
        .into_iter()
        .filter(|(has, _, _)| !has)
        .map(|(_, name, what)| (name, what))
        .collect()
    }
}

/// The configuration settings a backend limits, each to the values it
/// supports; a setting not named here may take any value the profile
/// allows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConfigSupport(pub BTreeMap<String, Vec<Value>>);

/// The settings a backend may limit: those whose value is one JSON scalar,
/// written the same in a fixture's configuration and in the protocol's
/// (`null` included), so that a limit means the same in both.
pub const LIMITABLE_SETTINGS: &[&str] = &[
    "cookie_httponly",
    "cookie_secure",
    "cookie_samesite",
    "cookie_host_prefix",
];

impl ConfigSupport {
    /// Limits `setting` to `values`; an error for a setting that cannot be
    /// limited ([`LIMITABLE_SETTINGS`]) or an empty list.
    pub fn limit(&mut self, setting: &str, values: Vec<Value>) -> Result<(), String> {
        self.check_one(setting, &values)?;
        self.0.insert(setting.to_owned(), values);
        Ok(())
    }

    /// Checks every limit as [`ConfigSupport::limit`] does.
    pub fn check(&self) -> Result<(), String> {
        self.0.iter().try_for_each(|(s, v)| self.check_one(s, v))
    }

    fn check_one(&self, setting: &str, values: &[Value]) -> Result<(), String> {
        if !LIMITABLE_SETTINGS.contains(&setting) {
            return Err(format!(
                "configurations: {setting:?} cannot be limited (these can: {})",
                LIMITABLE_SETTINGS.join(", ")
            ));
        }
        if values.is_empty() {
            return Err(format!(
                "configurations: {setting} lists no value; leave it out to support every value"
            ));
        }
        Ok(())
    }

    /// Whether no setting is limited.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Why the backend does not support `config` (the first setting whose
    /// value it does not list), or `None` when it does.
    pub fn refuses(&self, config: &Config) -> Option<String> {
        // Nothing limited, nothing refused (and no configuration to write
        // out on every case and reconfiguration).
        if self.0.is_empty() {
            return None;
        }
        let value = serde_json::to_value(config).ok()?;
        let settings = value.get("settings")?;
        self.0.iter().find_map(|(setting, allowed)| {
            let actual = settings.get(setting)?;
            (!allowed.contains(actual)).then(|| {
                let listed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                format!(
                    "{setting} = {actual} (it supports {} only)",
                    listed.join(" or ")
                )
            })
        })
    }

    /// The value a random configuration takes for `setting` when the one
    /// drawn is not supported: the first listed.
    pub fn first(&self, setting: &str) -> Option<&Value> {
        self.0.get(setting).and_then(|v| v.first())
    }
}
