//! The moin-1.6 configuration ([`M16Config`]) and its validation: the
//! authentication chain, the scalar `cookie_lifetime` and
//! `anonymous_cookie_lifetime` (`r[m16.config.*]`).

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

use super::checks::*;
use super::error::ConfigError;
use super::patch::{take_given, ConfigPatch, LifetimeSetting};

const M16_ATTRIBUTES: &str = "m16.config.cookie-attributes";

/// The authentication methods of the moin-1.6 chain.
pub const M16_AUTH_METHODS: &[&str] = &["moin_login", "moin_session", "moin_anon_session"];

/// A validated moin-1.6 configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M16Config {
    /// Logged-in lifetime in hours, as configured (one number).
    pub cookie_lifetime: f64,
    /// Anonymous lifetime in hours; `None`: no anonymous sessions.
    pub anonymous_cookie_lifetime: Option<f64>,
    /// The configured path.
    pub cookie_path: Option<String>,
    /// The configured domain.
    pub cookie_domain: Option<String>,
    /// The script name the wiki is mounted at (`""` at the root).
    pub script_name: String,
    /// The authentication chain, in order.
    pub auth: Vec<String>,
    /// Enabled accounts.
    pub users: Vec<String>,
    /// Disabled accounts.
    pub disabled_users: Vec<String>,
}

impl M16Config {
    /// The Path attribute (`r[m16.cookie.path]`): `cookie_path`, else the
    /// script name, else `/`.
    ///
    /// ```
    /// use moin_session_spec::{Config, ConfigPatch, Profile, SitePatch};
    /// let patch = ConfigPatch {
    ///     site: Some(SitePatch { script_root: Some("/wiki".into()), ..Default::default() }),
    ///     ..Default::default()
    /// };
    /// let config = Config::build(Profile::Moin16, &[patch]).unwrap();
    /// assert_eq!(config.as_m16().unwrap().effective_path(), "/wiki");
    /// ```
    pub fn effective_path(&self) -> &str {
        match (self.cookie_path.as_deref(), self.script_name.as_str()) {
            (Some(p), _) if !p.is_empty() => p,
            (_, s) if !s.is_empty() => s,
            _ => "/",
        }
    }

    /// Whether the account exists and is enabled.
    pub fn account_enabled(&self, name: &str) -> bool {
        self.users.iter().any(|u| u == name)
    }

    /// Whether a method is in the chain.
    pub fn has(&self, method: &str) -> bool {
        self.auth.iter().any(|m| m == method)
    }
}

pub(super) fn build_m16(patches: &[ConfigPatch]) -> Result<M16Config, ConfigError> {
    let mut config = M16Config {
        cookie_lifetime: 12.0,
        anonymous_cookie_lifetime: None,
        cookie_path: None,
        cookie_domain: None,
        script_name: String::new(),
        auth: vec!["moin_login".to_owned(), "moin_session".to_owned()],
        users: Vec::new(),
        disabled_users: Vec::new(),
    };
    for patch in patches {
        apply_m16_patch(&mut config, patch)?;
    }
    check_hours(
        "cookie_lifetime",
        config.cookie_lifetime,
        "m16.config.lifetime-finite",
    )?;
    if let Some(h) = config.anonymous_cookie_lifetime {
        check_hours("anonymous_cookie_lifetime", h, "m16.config.lifetime-finite")?;
        if (h * 3600.0).trunc() < 1.0 {
            return Err(ConfigError::NotPositive {
                field: "anonymous_cookie_lifetime",
                value: h,
                rule: "m16.config.anon-lifetime-positive",
            });
        }
    }
    check_auth_chain(&config.auth)?;
    check_path_and_domain(&config.cookie_path, &config.cookie_domain, M16_ATTRIBUTES)?;
    check_accounts(&config.users, &config.disabled_users)?;
    if !config.script_name.is_empty()
        && (!config.script_name.starts_with('/') || !is_attribute_value(&config.script_name))
    {
        return Err(ConfigError::BadAttribute {
            field: "site.script_root",
            value: config.script_name.clone(),
            what: "the script name becomes the cookie Path: it starts with '/' and holds no ';', control or space character",
            rule: M16_ATTRIBUTES,
        });
    }
    Ok(config)
}

/// One patch over the configuration so far; a field moin-1.6 does not
/// have is an error (`m16.config.not-in-profile`).
fn apply_m16_patch(config: &mut M16Config, patch: &ConfigPatch) -> Result<(), ConfigError> {
    let not_here = |field: &'static str| ConfigError::NotInProfile {
        field,
        profile: Profile::Moin16,
        rule: Some("m16.config.not-in-profile"),
    };
    let foreign = [
        (
            "anonymous_session_lifetime",
            patch.anonymous_session_lifetime.is_some(),
        ),
        ("cookie_name", patch.cookie_name.is_some()),
        ("cookie_secure", patch.cookie_secure.is_some()),
        ("cookie_httponly", patch.cookie_httponly.is_some()),
        ("superusers", patch.superusers.is_some()),
        (
            "site.server_port",
            patch.site.as_ref().is_some_and(|s| s.server_port.is_some()),
        ),
        (
            "site.siteid",
            patch.site.as_ref().is_some_and(|s| s.siteid.is_some()),
        ),
    ];
    if let Some((field, _)) = foreign.iter().find(|(_, here)| *here) {
        return Err(not_here(field));
    }
    if let Some(field) = patch.hardened_only() {
        return Err(not_here(field));
    }
    match &patch.cookie_lifetime {
        None => {}
        Some(LifetimeSetting::Scalar(h)) => config.cookie_lifetime = *h,
        Some(LifetimeSetting::Pair(_)) => {
            return Err(ConfigError::WrongType {
                field: "cookie_lifetime",
                expected: "one number of hours (the pair form is moin-1.9's)",
                rule: "m16.config.lifetime-scalar",
            })
        }
    }
    take_given!(config, patch; anonymous_cookie_lifetime, cookie_path, cookie_domain);
    if let Some(v) = patch.site.as_ref().and_then(|s| s.script_root.clone()) {
        config.script_name = v;
    }
    take_given!(config, patch; auth, users, disabled_users);
    Ok(())
}

/// The authentication chain names known methods once each, and
/// `moin_session`, with `moin_anon_session` (if present) after it.
fn check_auth_chain(auth: &[String]) -> Result<(), ConfigError> {
    let order = auth.to_vec();
    if let Some(unknown) = order
        .iter()
        .find(|m| !M16_AUTH_METHODS.contains(&m.as_str()))
        .cloned()
    {
        return Err(ConfigError::AuthChain {
            order,
            problem: format!(
                "{unknown:?} is not an authentication method of this profile (known: {})",
                M16_AUTH_METHODS.join(", ")
            ),
            rule: "m16.config.auth-methods",
        });
    }
    if let Some(dup) = order
        .iter()
        .enumerate()
        .find(|(i, m)| order[..*i].contains(m))
        .map(|(_, m)| m.clone())
    {
        return Err(ConfigError::AuthChain {
            problem: format!("{dup:?} is listed twice"),
            order,
            rule: "m16.config.auth-methods",
        });
    }
    let session = order.iter().position(|m| m == "moin_session");
    let anon = order.iter().position(|m| m == "moin_anon_session");
    match (session, anon) {
        (None, _) => {
            return Err(ConfigError::AuthChain {
                order,
                problem: "moin_session is missing; it is the method that establishes sessions"
                    .to_owned(),
                rule: "m16.config.auth-requires-session",
            })
        }
        (Some(s), Some(a)) if a < s => {
            return Err(ConfigError::AuthChain {
                order,
                problem: "moin_anon_session comes before moin_session; it must come after"
                    .to_owned(),
                rule: "m16.config.auth-order",
            })
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn m16(patch: ConfigPatch) -> Result<M16Config, ConfigError> {
        Config::build(Profile::Moin16, &[patch]).map(|c| c.as_m16().unwrap().clone())
    }

    fn chain(methods: &[&str]) -> ConfigPatch {
        ConfigPatch {
            auth: Some(methods.iter().map(|m| m.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn m16_chain_in_the_wrong_order_is_rejected_naming_rule_and_order() {
        let e = m16(chain(&["moin_login", "moin_anon_session", "moin_session"])).unwrap_err();
        assert!(matches!(
            e,
            ConfigError::AuthChain {
                rule: "m16.config.auth-order",
                ..
            }
        ));
        let text = e.to_string();
        assert!(text.contains("r[m16.config.auth-order]"), "{text}");
        assert!(
            text.contains(r#"["moin_login", "moin_anon_session", "moin_session"]"#),
            "the order given is quoted: {text}"
        );
        assert!(text.contains("must come after"), "{text}");
    }

    #[test]
    fn m16_chain_without_moin_session_unknown_or_repeated_methods_is_rejected() {
        let e = m16(chain(&["moin_login", "moin_anon_session"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("r[m16.config.auth-requires-session]"),
            "{e}"
        );
        let e = m16(chain(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("r[m16.config.auth-requires-session]"),
            "{e}"
        );
        let e = m16(chain(&["moin_session", "ldap_login"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("\"ldap_login\" is not an authentication method"),
            "{e}"
        );
        let e = m16(chain(&["moin_session", "moin_session"])).unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let ok = m16(chain(&["moin_login", "moin_session", "moin_anon_session"])).unwrap();
        assert!(ok.has("moin_anon_session"));
    }

    #[test]
    fn m16_defaults_and_lifetimes() {
        let c = m16(ConfigPatch::default()).unwrap();
        assert_eq!(c.cookie_lifetime, 12.0);
        assert_eq!(c.anonymous_cookie_lifetime, None);
        assert_eq!(c.auth, vec!["moin_login", "moin_session"]);
        assert_eq!(c.effective_path(), "/");
        let e = m16(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![0.0, 12.0])),
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            e.to_string().contains("r[m16.config.lifetime-scalar]"),
            "{e}"
        );
        for bad in [0.0, -1.0, 0.0002] {
            let e = m16(ConfigPatch {
                anonymous_cookie_lifetime: Some(Some(bad)),
                ..Default::default()
            })
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("r[m16.config.anon-lifetime-positive]"),
                "{bad}: {e}"
            );
        }
        let e = m16(ConfigPatch {
            anonymous_cookie_lifetime: Some(Some(f64::INFINITY)),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, ConfigError::NonFinite { .. }));
        let c = m16(ConfigPatch {
            anonymous_cookie_lifetime: Some(None),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.anonymous_cookie_lifetime, None);
    }
}
