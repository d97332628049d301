//! The moin-1.9 configuration ([`M19Config`]) and its validation.
//!
//! Implements `r[m19.config.lifetime-pair]`, `r[m19.config.lifetime-default]`,
//! `r[m19.config.lifetime-finite]`, `r[m19.config.lifetime-wrong-length]`,
//! `r[m19.config.legacy-scalar]`, `r[m19.config.legacy-anon]`,
//! `r[m19.config.cookie-name-empty]`, `r[m19.config.cookie-attributes]` and
//! `r[m19.config.not-in-profile]`.
//!
//! | `cookie_lifetime` written as | anonymous hours | logged-in hours |
//! | --- | --- | --- |
//! | absent | 0 | 12 |
//! | `[1.5, -2]` | 1.5 | -2 |
//! | `7.9` (legacy scalar) | `anonymous_session_lifetime`, else 0 | 7 |
//! | `[1, 2, 3]` | error: not a pair | |

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

use super::checks::*;
use super::error::ConfigError;
use super::patch::{take_given, ConfigPatch, LifetimeSetting};
use super::site::Site;

const M19_FINITE: &str = "m19.config.lifetime-finite";
const M19_ATTRIBUTES: &str = "m19.config.cookie-attributes";

/// The two lifetimes of the moin-1.9 profile, in hours, after conversion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lifetimes {
    /// Hours for anonymous sessions.
    pub anonymous: f64,
    /// Hours for logged-in sessions.
    pub logged_in: f64,
}

/// A validated moin-1.9 configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M19Config {
    /// The lifetimes in hours.
    pub cookie_lifetime: Lifetimes,
    /// `true` when `cookie_lifetime` was a legacy scalar and was converted.
    pub legacy_lifetime: bool,
    /// The variable part of the cookie name (`None`: from the URL).
    pub cookie_name: Option<String>,
    /// The configured path (`None` or empty: `/`).
    pub cookie_path: Option<String>,
    /// The configured domain.
    pub cookie_domain: Option<String>,
    /// The Secure policy.
    pub cookie_secure: Option<bool>,
    /// HttpOnly.
    pub cookie_httponly: bool,
    /// Where the wiki is mounted.
    pub site: Site,
    /// Configured authentication method names.
    pub auth: Vec<String>,
    /// Enabled accounts.
    pub users: Vec<String>,
    /// Disabled accounts.
    pub disabled_users: Vec<String>,
    /// Superusers.
    pub superusers: Vec<String>,
}

impl M19Config {
    /// The session cookie's full name (`r[m19.name.default]`,
    /// `r[m19.name.script-root]`, `r[m19.name.siteidmagic]`,
    /// `r[m19.name.explicit]`).
    ///
    /// ```
    /// use moin_session_spec::{Config, ConfigPatch, Profile};
    /// let config = Config::build(Profile::Moin19, &[ConfigPatch::default()]).unwrap();
    /// assert_eq!(config.as_m19().unwrap().cookie_full_name(), "MOIN_SESSION_8080_ROOT");
    /// ```
    pub fn cookie_full_name(&self) -> String {
        self.site.session_cookie_name(self.cookie_name.as_deref())
    }
}

/// The Path attribute and the accounts, alike in a moin-1.9 configuration
/// and in the hardened one that refines it: `path_and_accounts!(Type)`
/// on a type with the fields `cookie_path`, `users` and `disabled_users`.
macro_rules! path_and_accounts {
    ($config:ty) => {
        impl $config {
            /// The Path attribute (`r[m19.cookie.path]`): the configured
            /// path, or `/` when none or empty is configured.
            pub fn effective_path(&self) -> &str {
                match self.cookie_path.as_deref() {
                    None | Some("") => "/",
                    Some(path) => path,
                }
            }

            /// Whether the account exists (enabled or disabled).
            pub fn account_exists(&self, name: &str) -> bool {
                self.users
                    .iter()
                    .chain(&self.disabled_users)
                    .any(|u| u == name)
            }

            /// Whether the account exists and is enabled.
            pub fn account_enabled(&self, name: &str) -> bool {
                self.users.iter().any(|u| u == name)
            }
        }
    };
}
pub(super) use path_and_accounts;

path_and_accounts!(M19Config);

pub(super) fn build_m19(patches: &[ConfigPatch]) -> Result<M19Config, ConfigError> {
    let mut lifetime: Option<LifetimeSetting> = None;
    let mut anon_legacy: Option<f64> = None;
    let mut config = M19Config {
        cookie_lifetime: Lifetimes {
            anonymous: 0.0,
            logged_in: 12.0,
        },
        legacy_lifetime: false,
        cookie_name: None,
        cookie_path: None,
        cookie_domain: None,
        cookie_secure: None,
        cookie_httponly: false,
        site: Site::default(),
        auth: vec!["moin".to_owned()],
        users: Vec::new(),
        disabled_users: Vec::new(),
        superusers: Vec::new(),
    };
    for patch in patches {
        apply_m19_patch(&mut config, patch)?;
        if let Some(v) = &patch.cookie_lifetime {
            lifetime = Some(v.clone());
        }
        if let Some(v) = patch.anonymous_session_lifetime {
            anon_legacy = Some(v);
        }
    }
    if let Some(setting) = lifetime {
        apply_lifetime(&mut config, setting, anon_legacy)?;
    }
    if let Some(name) = &config.cookie_name {
        if name.is_empty() {
            return Err(ConfigError::EmptyCookieName);
        }
    }
    check_path_and_domain(&config.cookie_path, &config.cookie_domain, M19_ATTRIBUTES)?;
    check_cookie_name(&config.cookie_full_name(), M19_ATTRIBUTES)?;
    check_accounts(&config.users, &config.disabled_users)?;
    Ok(config)
}

/// One patch over the configuration so far (the lifetimes aside, which
/// are read once all patches are in); a field moin-1.9 does not have is an
/// error (`m19.config.not-in-profile`).
fn apply_m19_patch(config: &mut M19Config, patch: &ConfigPatch) -> Result<(), ConfigError> {
    if patch.anonymous_cookie_lifetime.is_some() {
        return Err(ConfigError::NotInProfile {
            field: "anonymous_cookie_lifetime",
            profile: Profile::Moin19,
            rule: Some("m19.config.not-in-profile"),
        });
    }
    if let Some(field) = patch.hardened_only() {
        return Err(ConfigError::NotInProfile {
            field,
            profile: Profile::Moin19,
            rule: Some("m19.config.not-in-profile"),
        });
    }
    take_given!(config, patch; cookie_name, cookie_path, cookie_domain, cookie_secure, cookie_httponly);
    if let Some(site) = &patch.site {
        if let Some(v) = site.server_port {
            config.site.server_port = v;
        }
        if let Some(v) = &site.script_root {
            config.site.script_root = v.clone();
        }
        if let Some(v) = &site.siteid {
            config.site.siteid = v.clone();
        }
    }
    take_given!(config, patch; auth, users, disabled_users, superusers);
    Ok(())
}

/// The lifetimes the last `cookie_lifetime` gives: a pair, or the legacy
/// scalar with `anonymous_session_lifetime`.
fn apply_lifetime(
    config: &mut M19Config,
    setting: LifetimeSetting,
    anon_legacy: Option<f64>,
) -> Result<(), ConfigError> {
    match setting {
        LifetimeSetting::Pair(pair) => {
            if pair.len() != 2 {
                return Err(ConfigError::WrongLength {
                    field: "cookie_lifetime",
                    found: pair.len(),
                    rule: "m19.config.lifetime-wrong-length",
                });
            }
            config.cookie_lifetime = Lifetimes {
                anonymous: check_hours("cookie_lifetime[0]", pair[0], M19_FINITE)?,
                logged_in: check_hours("cookie_lifetime[1]", pair[1], M19_FINITE)?,
            };
        }
        LifetimeSetting::Scalar(scalar) => {
            let scalar = check_hours("cookie_lifetime", scalar, M19_FINITE)?;
            let anonymous = match anon_legacy {
                Some(h) => check_hours("anonymous_session_lifetime", h, M19_FINITE)?,
                None => 0.0,
            };
            config.cookie_lifetime = Lifetimes {
                anonymous,
                logged_in: scalar.trunc(),
            };
            config.legacy_lifetime = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SitePatch};

    fn build(patch: ConfigPatch) -> Result<M19Config, ConfigError> {
        Config::build(Profile::Moin19, &[patch]).map(|c| c.as_m19().unwrap().clone())
    }

    #[test]
    fn defaults_are_moinmoins() {
        let c = build(ConfigPatch::default()).unwrap();
        assert_eq!(c.cookie_lifetime.anonymous, 0.0);
        assert_eq!(c.cookie_lifetime.logged_in, 12.0);
        assert_eq!(c.effective_path(), "/");
        assert_eq!(c.cookie_secure, None);
        assert!(!c.cookie_httponly);
        assert_eq!(c.auth, vec!["moin"]);
    }

    #[test]
    fn legacy_scalar_truncates_and_reads_anonymous_lifetime() {
        let c = build(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Scalar(7.9)),
            anonymous_session_lifetime: Some(0.5),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.cookie_lifetime.logged_in, 7.0);
        assert_eq!(c.cookie_lifetime.anonymous, 0.5);
        assert!(c.legacy_lifetime);
        let c = build(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Scalar(-2.5)),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.cookie_lifetime.logged_in, -2.0);
        assert_eq!(c.cookie_lifetime.anonymous, 0.0);
    }

    #[test]
    fn anonymous_session_lifetime_is_ignored_with_a_pair() {
        let c = build(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 2.0])),
            anonymous_session_lifetime: Some(5.0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.cookie_lifetime.anonymous, 1.0);
    }

    #[test]
    fn bad_values_are_typed_errors_naming_field_and_rule() {
        let e = build(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![f64::NAN, 1.0])),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::NonFinite {
                field: "cookie_lifetime[0]",
                ..
            }
        ));
        assert!(e.to_string().contains("r[m19.config.lifetime-finite]"));
        let e = build(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0])),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("found 1 element"));
        let e = build(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Scalar(1e9)),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, ConfigError::OutOfRange { .. }));
        let e = build(ConfigPatch {
            cookie_name: Some(Some(String::new())),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e, ConfigError::EmptyCookieName);
        let e = build(ConfigPatch {
            cookie_name: Some(Some("a b".into())),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, ConfigError::BadCookieName { bad: ' ', .. }));
        let e = build(ConfigPatch {
            cookie_path: Some(Some("wiki".into())),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(
            e,
            ConfigError::BadAttribute {
                field: "cookie_path",
                ..
            }
        ));
    }

    #[test]
    fn cookie_names() {
        let name = |cookie_name: Option<&str>, root: &str| {
            build(ConfigPatch {
                cookie_name: Some(cookie_name.map(str::to_owned)),
                site: Some(SitePatch {
                    server_port: Some(443),
                    script_root: Some(root.into()),
                    siteid: Some("farm1".into()),
                }),
                ..Default::default()
            })
            .unwrap()
            .cookie_full_name()
        };
        assert_eq!(name(None, ""), "MOIN_SESSION_443_ROOT");
        assert_eq!(name(None, "/mywiki"), "MOIN_SESSION_443_ROOT_mywiki");
        assert_eq!(name(None, "/a/b"), "MOIN_SESSION_443_ROOT_a_b");
        assert_eq!(name(Some("siteidmagic"), "/x"), "MOIN_SESSION_farm1");
        assert_eq!(name(Some("shared"), "/x"), "MOIN_SESSION_shared");
    }

    #[test]
    fn later_patches_override_earlier_ones() {
        let c = Config::build(
            Profile::Moin19,
            &[
                ConfigPatch {
                    users: Some(vec!["alice".into()]),
                    cookie_httponly: Some(true),
                    ..Default::default()
                },
                ConfigPatch {
                    users: Some(vec![]),
                    ..Default::default()
                },
            ],
        )
        .unwrap();
        let c = c.as_m19().unwrap();
        assert!(c.users.is_empty());
        assert!(c.cookie_httponly);
    }
}
