//! Configuration of a session service, per profile, with validation.
//!
//! A configuration is written as a [`ConfigPatch`]: every field optional, so
//! that a fixture names only what differs from MoinMoin's defaults and a
//! `reconfigure` step names only what changes. [`Config::build`] lays the
//! patches over the profile's defaults and validates the result.
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`Config`]: one profile's validated configuration, built from patches |
//! | `patch.rs` | [`ConfigPatch`], [`LifetimeSetting`]: a configuration as written |
//! | `site.rs` | [`Site`], [`SitePatch`]: where the wiki is mounted |
//! | `m19.rs` | [`M19Config`] and the moin-1.9 rules (`r[m19.config.*]`) |
//! | `m16.rs` | [`M16Config`] and the moin-1.6 rules (`r[m16.config.*]`) |
//! | `hardened.rs` | [`HardenedConfig`] and the hardened rules (`r[hard.config.*]`) |
//! | `checks.rs` | the checks both profiles share |
//! | `error.rs` | [`ConfigError`]: the rule broken, by requirement ID |

mod checks;
mod error;
mod hardened;
mod m16;
mod m19;
mod patch;
mod site;

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

pub use crate::lifetime::MAX_LIFETIME_HOURS;
pub use error::ConfigError;
pub use hardened::{
    HardenedConfig, SameSite, COOKIE_ATTRIBUTE_LIMIT, COOKIE_PAIR_LIMIT, DEFAULT_ABSOLUTE_HOURS,
    DEFAULT_MAX_COOKIE_HEADER, HOST_PREFIX_NAME, MAX_COOKIE_HEADER_RANGE,
};
pub use m16::{M16Config, M16_AUTH_METHODS};
pub use m19::{Lifetimes, M19Config};
pub use patch::{ConfigPatch, LifetimeSetting};
pub use site::{Site, SitePatch};

/// A validated configuration of one profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "profile", content = "settings")]
pub enum Config {
    /// Sessions on the 1.6-era authentication chain.
    #[serde(rename = "moin-1.6")]
    Moin16(M16Config),
    /// The moin-1.9 session service.
    #[serde(rename = "moin-1.9")]
    Moin19(M19Config),
    /// The hardened profile.
    #[serde(rename = "hardened")]
    Hardened(HardenedConfig),
}

impl Config {
    /// The profile this configuration belongs to.
    pub fn profile(&self) -> Profile {
        match self {
            Config::Moin16(_) => Profile::Moin16,
            Config::Moin19(_) => Profile::Moin19,
            Config::Hardened(_) => Profile::Hardened,
        }
    }

    /// The hardened configuration, if this is one.
    pub fn as_hardened(&self) -> Option<&HardenedConfig> {
        match self {
            Config::Hardened(c) => Some(c),
            _ => None,
        }
    }

    /// The moin-1.9 configuration, if this is one.
    pub fn as_m19(&self) -> Option<&M19Config> {
        match self {
            Config::Moin19(c) => Some(c),
            _ => None,
        }
    }

    /// The moin-1.6 configuration, if this is one.
    pub fn as_m16(&self) -> Option<&M16Config> {
        match self {
            Config::Moin16(c) => Some(c),
            _ => None,
        }
    }

    /// Lays `patches` in order over the profile's defaults and validates.
    ///
    /// ```
    /// use moin_session_spec::{Config, ConfigError, ConfigPatch, LifetimeSetting, Profile};
    /// let patch = ConfigPatch {
    ///     cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 2.0, 3.0])),
    ///     ..ConfigPatch::default()
    /// };
    /// let err = Config::build(Profile::Moin19, &[patch]).unwrap_err();
    /// assert!(matches!(err, ConfigError::WrongLength { found: 3, .. }));
    /// assert!(err.to_string().contains("r[m19.config.lifetime-wrong-length]"));
    /// ```
    pub fn build(profile: Profile, patches: &[ConfigPatch]) -> Result<Config, ConfigError> {
        match profile {
            Profile::Moin16 => m16::build_m16(patches).map(Config::Moin16),
            Profile::Moin19 => m19::build_m19(patches).map(Config::Moin19),
            Profile::Hardened => hardened::build_hardened(patches).map(Config::Hardened),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(patch: ConfigPatch) -> Result<Config, ConfigError> {
        Config::build(Profile::Moin19, &[patch])
    }

    fn m16(patch: ConfigPatch) -> Result<Config, ConfigError> {
        Config::build(Profile::Moin16, &[patch])
    }

    #[test]
    fn settings_of_the_other_profile_are_rejected() {
        let e = m16(ConfigPatch {
            cookie_secure: Some(Some(true)),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("r[m16.config.not-in-profile]"),
            "{e}"
        );
        let e = build(ConfigPatch {
            anonymous_cookie_lifetime: Some(Some(1.0)),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::NotInProfile {
                profile: Profile::Moin19,
                ..
            }
        ));
    }

    #[test]
    fn null_in_a_patch_sets_null_and_absent_keeps() {
        let patches: Vec<ConfigPatch> = [
            r#"{"anonymous_cookie_lifetime": 1, "cookie_domain": "example.org"}"#,
            r#"{"anonymous_cookie_lifetime": null}"#,
        ]
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect();
        assert_eq!(patches[1].anonymous_cookie_lifetime, Some(None));
        assert_eq!(patches[1].cookie_domain, None);
        let c = Config::build(Profile::Moin16, &patches).unwrap();
        let c = c.as_m16().unwrap();
        assert_eq!(c.anonymous_cookie_lifetime, None);
        assert_eq!(c.cookie_domain.as_deref(), Some("example.org"));
    }

    #[test]
    fn a_null_cookie_lifetime_is_refused_when_read() {
        let e = serde_json::from_str::<ConfigPatch>(r#"{"cookie_lifetime": null}"#).unwrap_err();
        assert!(e.to_string().contains("not null"), "{e}");
        let e = serde_json::from_str::<ConfigPatch>(r#"{"cookie_lifetime": "12"}"#).unwrap_err();
        assert!(e.to_string().contains("did not match"), "{e}");
    }
}
