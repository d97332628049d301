//! Configuration of a session service, per profile, with validation.
//!
//! Implements `r[m19.config.lifetime-pair]`, `r[m19.config.lifetime-default]`,
//! `r[m19.config.lifetime-finite]`, `r[m19.config.lifetime-wrong-length]`,
//! `r[m19.config.legacy-scalar]`, `r[m19.config.legacy-anon]`,
//! `r[m19.config.cookie-name-empty]` and `r[m19.config.cookie-attributes]`.
//!
//! A configuration is written as a [`ConfigPatch`]: every field optional, so
//! that a fixture names only what differs from MoinMoin's defaults and a
//! `reconfigure` step names only what changes. [`Config::build`] lays the
//! patches over the profile's defaults and validates the result.
//!
//! | `cookie_lifetime` written as | anonymous hours | logged-in hours |
//! | --- | --- | --- |
//! | absent | 0 | 12 |
//! | `[1.5, -2]` | 1.5 | -2 |
//! | `7.9` (legacy scalar) | `anonymous_session_lifetime`, else 0 | 7 |
//! | `[1, 2, 3]` | error: not a pair | |

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

/// The largest number of hours, either sign, that a lifetime may be: 100
/// years. Larger values cannot be rendered as a cookie expiry date.
pub const MAX_LIFETIME_HOURS: f64 = 876_000.0;

/// A configuration as written: every field optional.
///
/// Fields that a profile does not know are rejected by [`Config::build`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    /// `(anonymous, logged-in)` hours or a legacy scalar (moin-1.9); one
    /// number (moin-1.6). `null` is refused when the patch is read.
    #[serde(
        default,
        deserialize_with = "lifetime_not_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub cookie_lifetime: Option<LifetimeSetting>,
    /// moin-1.9: the pre-1.9 anonymous lifetime, read only with a legacy scalar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_session_lifetime: Option<f64>,
    /// moin-1.6: hours of anonymous sessions; absent or `null`: none.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub anonymous_cookie_lifetime: Option<Option<f64>>,
    /// The variable part of the cookie name; `null` derives it from the URL.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub cookie_name: Option<Option<String>>,
    /// The cookie's Path; `null` means the profile's default.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub cookie_path: Option<Option<String>>,
    /// The cookie's Domain; `null` means no Domain attribute.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub cookie_domain: Option<Option<String>>,
    /// `null`: Secure exactly on https; `true`: always; `false`: never.
    #[serde(
        default,
        deserialize_with = "present_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub cookie_secure: Option<Option<bool>>,
    /// Whether the cookie carries HttpOnly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_httponly: Option<bool>,
    /// Where the wiki is mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SitePatch>,
    /// The configured authentication methods, by name, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Vec<String>>,
    /// Accounts that exist and are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// Accounts that exist but are disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_users: Option<Vec<String>>,
    /// Names with superuser rights (the "change user" feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superusers: Option<Vec<String>>,
}

/// A patch field that may be absent (unchanged), `null` (set to null) or a
/// value: `null` must not collapse into "absent".
fn present_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `cookie_lifetime` may be absent, but not `null`
/// (`r[m19.config.legacy-scalar]`, `r[m16.config.lifetime-scalar]`).
fn lifetime_not_null<'de, D>(d: D) -> Result<Option<LifetimeSetting>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    match Option::<LifetimeSetting>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(D::Error::custom(
            "`cookie_lifetime` must be a number or a sequence of numbers, not null",
        )),
    }
}

/// Where the wiki is mounted, as a patch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    /// The server port the wiki is reached on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_port: Option<u16>,
    /// The script root (mount point), `""` at the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_root: Option<String>,
    /// The wiki's site id (`siteid`), used by `cookie_name = "siteidmagic"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siteid: Option<String>,
}

/// `cookie_lifetime` as written: a sequence (that must be a pair) or a
/// legacy scalar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LifetimeSetting {
    /// `[anonymous, logged_in]` hours.
    Pair(Vec<f64>),
    /// A pre-1.9 scalar: logged-in hours, truncated to a whole number.
    Scalar(f64),
}

/// Where the wiki is mounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The server port.
    pub server_port: u16,
    /// The script root, `""` at the root.
    pub script_root: String,
    /// The site id.
    pub siteid: String,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            server_port: 8080,
            script_root: String::new(),
            siteid: "default".to_owned(),
        }
    }
}

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
        let variable = match self.cookie_name.as_deref() {
            None => format!(
                "{}_{}",
                self.site.server_port,
                format!("ROOT{}", self.site.script_root).replace('/', "_")
            ),
            Some("siteidmagic") => self.site.siteid.clone(),
            Some(name) => name.to_owned(),
        };
        format!("MOIN_SESSION_{variable}")
    }

    /// The Path attribute (`r[m19.cookie.path]`): the configured path, or
    /// `/` when none or empty is configured.
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
}

impl Config {
    /// The profile this configuration belongs to.
    pub fn profile(&self) -> Profile {
        match self {
            Config::Moin16(_) => Profile::Moin16,
            Config::Moin19(_) => Profile::Moin19,
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
            Profile::Moin16 => build_m16(patches).map(Config::Moin16),
            Profile::Moin19 => build_m19(patches).map(Config::Moin19),
        }
    }
}

fn build_m19(patches: &[ConfigPatch]) -> Result<M19Config, ConfigError> {
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
        if patch.anonymous_cookie_lifetime.is_some() {
            return Err(ConfigError::NotInProfile {
                field: "anonymous_cookie_lifetime",
                profile: Profile::Moin19,
                rule: Some("m19.config.not-in-profile"),
            });
        }
        if let Some(v) = &patch.cookie_lifetime {
            lifetime = Some(v.clone());
        }
        if let Some(v) = patch.anonymous_session_lifetime {
            anon_legacy = Some(v);
        }
        if let Some(v) = &patch.cookie_name {
            config.cookie_name = v.clone();
        }
        if let Some(v) = &patch.cookie_path {
            config.cookie_path = v.clone();
        }
        if let Some(v) = &patch.cookie_domain {
            config.cookie_domain = v.clone();
        }
        if let Some(v) = patch.cookie_secure {
            config.cookie_secure = v;
        }
        if let Some(v) = patch.cookie_httponly {
            config.cookie_httponly = v;
        }
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
        if let Some(v) = &patch.auth {
            config.auth = v.clone();
        }
        if let Some(v) = &patch.users {
            config.users = v.clone();
        }
        if let Some(v) = &patch.disabled_users {
            config.disabled_users = v.clone();
        }
        if let Some(v) = &patch.superusers {
            config.superusers = v.clone();
        }
    }
    match lifetime {
        None => {}
        Some(LifetimeSetting::Pair(pair)) => {
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
        Some(LifetimeSetting::Scalar(scalar)) => {
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

/// An account is enabled or disabled, never both.
fn check_accounts(users: &[String], disabled: &[String]) -> Result<(), ConfigError> {
    match users.iter().find(|u| disabled.contains(u)) {
        Some(name) => Err(ConfigError::AccountTwice { name: name.clone() }),
        None => Ok(()),
    }
}

const M19_FINITE: &str = "m19.config.lifetime-finite";
const M19_ATTRIBUTES: &str = "m19.config.cookie-attributes";
const M16_ATTRIBUTES: &str = "m16.config.cookie-attributes";

fn check_path_and_domain(
    path: &Option<String>,
    domain: &Option<String>,
    rule: &'static str,
) -> Result<(), ConfigError> {
    if let Some(path) = path {
        if !path.is_empty() && (!path.starts_with('/') || !is_attribute_value(path)) {
            return Err(ConfigError::BadAttribute {
                field: "cookie_path",
                value: path.clone(),
                what: "a path starts with '/' and holds no ';', control or space character",
                rule,
            });
        }
    }
    if let Some(domain) = domain {
        if domain.is_empty() || !is_attribute_value(domain) {
            return Err(ConfigError::BadAttribute {
                field: "cookie_domain",
                value: domain.clone(),
                what: "a domain is non-empty and holds no ';', control or space character",
                rule,
            });
        }
    }
    Ok(())
}

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

fn build_m16(patches: &[ConfigPatch]) -> Result<M16Config, ConfigError> {
    let not_here = |field: &'static str| ConfigError::NotInProfile {
        field,
        profile: Profile::Moin16,
        rule: Some("m16.config.not-in-profile"),
    };
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
        if let Some(v) = patch.anonymous_cookie_lifetime {
            config.anonymous_cookie_lifetime = v;
        }
        if let Some(v) = &patch.cookie_path {
            config.cookie_path = v.clone();
        }
        if let Some(v) = &patch.cookie_domain {
            config.cookie_domain = v.clone();
        }
        if let Some(v) = patch.site.as_ref().and_then(|s| s.script_root.clone()) {
            config.script_name = v;
        }
        if let Some(v) = &patch.auth {
            config.auth = v.clone();
        }
        if let Some(v) = &patch.users {
            config.users = v.clone();
        }
        if let Some(v) = &patch.disabled_users {
            config.disabled_users = v.clone();
        }
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
    let order = config.auth.clone();
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

fn check_hours(field: &'static str, hours: f64, rule: &'static str) -> Result<f64, ConfigError> {
    if !hours.is_finite() {
        return Err(ConfigError::NonFinite {
            field,
            value: hours,
            rule,
        });
    }
    if hours.abs() > MAX_LIFETIME_HOURS {
        return Err(ConfigError::OutOfRange {
            field,
            value: hours,
            rule,
        });
    }
    Ok(hours)
}

fn is_attribute_value(s: &str) -> bool {
    s.chars().all(|c| !c.is_control() && c != ';' && c != ' ')
}

/// RFC 6265 token characters for a cookie name.
fn check_cookie_name(name: &str, rule: &'static str) -> Result<(), ConfigError> {
    let separators = "()<>@,;:\\\"/[]?={} \t";
    if let Some(bad) = name
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control() || separators.contains(*c))
    {
        return Err(ConfigError::BadCookieName {
            name: name.to_owned(),
            bad,
            rule,
        });
    }
    Ok(())
}

/// A configuration that breaks a rule.
///
/// Each message names the field and the rule, citing the requirement ID of
/// the spec clause that states it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A lifetime in hours is NaN or infinite.
    NonFinite {
        /// The field.
        field: &'static str,
        /// The value.
        value: f64,
        /// The requirement ID.
        rule: &'static str,
    },
    /// A lifetime is beyond [`MAX_LIFETIME_HOURS`].
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value.
        value: f64,
        /// The requirement ID.
        rule: &'static str,
    },
    /// A lifetime that must be at least one second is not.
    NotPositive {
        /// The field.
        field: &'static str,
        /// The value.
        value: f64,
        /// The requirement ID.
        rule: &'static str,
    },
    /// A sequence that must be a pair is not.
    WrongLength {
        /// The field.
        field: &'static str,
        /// How many elements it had.
        found: usize,
        /// The requirement ID.
        rule: &'static str,
    },
    /// A value of the wrong kind for the profile.
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
        /// The requirement ID.
        rule: &'static str,
    },
    /// `cookie_name` is the empty string.
    EmptyCookieName,
    /// The full cookie name holds a character a cookie name cannot hold.
    BadCookieName {
        /// The full name.
        name: String,
        /// The first offending character.
        bad: char,
        /// The requirement ID.
        rule: &'static str,
    },
    /// A cookie attribute value cannot be rendered.
    BadAttribute {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
        /// What a value must be.
        what: &'static str,
        /// The requirement ID.
        rule: &'static str,
    },
    /// A field that the profile does not have.
    NotInProfile {
        /// The field.
        field: &'static str,
        /// The profile.
        profile: Profile,
        /// The requirement ID, where the profile states the rule.
        rule: Option<&'static str>,
    },
    /// An account is listed as both enabled and disabled.
    AccountTwice {
        /// The account.
        name: String,
    },
    /// The moin-1.6 authentication chain is not valid.
    AuthChain {
        /// The order given.
        order: Vec<String>,
        /// What is wrong with it.
        problem: String,
        /// The requirement ID.
        rule: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NonFinite { field, value, rule } => write!(
                f,
                "config field `{field}`: {value} is not a finite number of hours (rule r[{rule}])"
            ),
            ConfigError::OutOfRange { field, value, rule } => write!(
                f,
                "config field `{field}`: {value} hours is beyond the limit of ±{MAX_LIFETIME_HOURS} hours (rule r[{rule}])"
            ),
            ConfigError::NotPositive { field, value, rule } => write!(
                f,
                "config field `{field}`: {value} hours is not a lifetime of at least one second; leave the setting out to disable (rule r[{rule}])"
            ),
            ConfigError::WrongLength { field, found, rule } => write!(
                f,
                "config field `{field}`: expected a pair (anonymous, logged-in) of hours, found {found} element(s) (rule r[{rule}])"
            ),
            ConfigError::WrongType { field, expected, rule } => {
                write!(f, "config field `{field}`: expected {expected} (rule r[{rule}])")
            }
            ConfigError::EmptyCookieName => write!(
                f,
                "config field `cookie_name`: must not be empty; use null to derive the name from the URL (rule r[m19.config.cookie-name-empty])"
            ),
            ConfigError::BadCookieName { name, bad, rule } => write!(
                f,
                "config: the session cookie name {name:?} holds {bad:?}, which a cookie name (an RFC 6265 token) cannot hold (rule r[{rule}])"
            ),
            ConfigError::BadAttribute {
                field,
                value,
                what,
                rule,
            } => write!(f, "config field `{field}`: {value:?} is not allowed: {what} (rule r[{rule}])"),
            ConfigError::NotInProfile { field, profile, rule } => {
                write!(f, "config field `{field}` is not a setting of profile {profile}")?;
                match rule {
                    Some(rule) => write!(f, " (rule r[{rule}])"),
                    None => Ok(()),
                }
            }
            ConfigError::AccountTwice { name } => write!(
                f,
                "config: {name:?} is listed in both `users` and `disabled_users`; an account is either enabled or disabled"
            ),
            ConfigError::AuthChain { order, problem, rule } => write!(
                f,
                "config field `auth` = [{}]: {problem} (rule r[{rule}])",
                order.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

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
