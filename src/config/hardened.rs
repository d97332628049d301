//! The hardened configuration ([`HardenedConfig`]) and its validation.
//!
//! Implements `r[hard.config.timeouts]`, `r[hard.config.legacy-rejected]`,
//! `r[hard.config.weakening-rejected]`, `r[hard.config.host-prefix]`,
//! `r[hard.config.cookie-size]` and the range of
//! `r[hard.load.cookie-header-limit]`. Every moin-1.9 configuration rule
//! that no hardened rule replaces applies as well, citing its moin-1.9 ID.
//!
//! | setting | hardened default | moin-1.9 values refused here |
//! | --- | --- | --- |
//! | `cookie_lifetime` | `[0, 12]`: idle timeouts in hours | a legacy scalar, a negative element |
//! | `absolute_timeout` | `720` hours from authentication | |
//! | `cookie_httponly` | always `true` | `false` |
//! | `cookie_secure` | `null`: Secure on https | `false` |
//! | `cookie_samesite` | `"Lax"` | `"None"` |
//! | `cookie_host_prefix` | `false` | |
//! | `max_cookie_header` | `8192` bytes | |
//! | `anonymous_session_lifetime`, `anonymous_cookie_lifetime` | | any value |

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

use super::checks::check_hours;
use super::error::ConfigError;
use super::m19::{build_m19, path_and_accounts, Lifetimes, M19Config};
use super::patch::{ConfigPatch, LifetimeSetting};
use super::site::Site;

const TIMEOUTS: &str = "hard.config.timeouts";
const LEGACY: &str = "hard.config.legacy-rejected";
const WEAKENING: &str = "hard.config.weakening-rejected";
const HOST_PREFIX: &str = "hard.config.host-prefix";
const COOKIE_SIZE: &str = "hard.config.cookie-size";
const HEADER_LIMIT: &str = "hard.load.cookie-header-limit";

/// The default absolute timeout, in hours (30 days).
pub const DEFAULT_ABSOLUTE_HOURS: f64 = 720.0;
/// The default longest `Cookie` header that is read, in bytes.
pub const DEFAULT_MAX_COOKIE_HEADER: u64 = 8192;
/// The range a configured `max_cookie_header` must lie in, in bytes.
pub const MAX_COOKIE_HEADER_RANGE: std::ops::RangeInclusive<u64> = 4096..=1_048_576;
/// The longest cookie name plus value a client keeps (RFC 6265bis §5.6), in bytes.
pub const COOKIE_PAIR_LIMIT: usize = 4096;
/// The longest cookie attribute value a client keeps (RFC 6265bis), in bytes.
pub const COOKIE_ATTRIBUTE_LIMIT: usize = 1024;
/// The prefix of the cookie name with `cookie_host_prefix`.
pub const HOST_PREFIX_NAME: &str = "__Host-";

/// The SameSite attribute of the session cookie (`r[hard.cookie.samesite]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SameSite {
    /// Sent on same-site requests and top-level cross-site navigations.
    Lax,
    /// Sent on same-site requests only.
    Strict,
}

impl SameSite {
    /// The attribute value as written in `Set-Cookie`.
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
        }
    }
}

/// A validated configuration of the hardened profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardenedConfig {
    /// The idle timeouts in hours, anonymous and logged in (never negative).
    pub cookie_lifetime: Lifetimes,
    /// Hours from authentication after which a logged-in session ends.
    pub absolute_timeout: f64,
    /// The variable part of the cookie name (`None`: from the URL).
    pub cookie_name: Option<String>,
    /// The configured path (`None` or empty: `/`).
    pub cookie_path: Option<String>,
    /// The configured domain.
    pub cookie_domain: Option<String>,
    /// `None`: Secure on https; `Some(true)`: always.
    pub cookie_secure: Option<bool>,
    /// The SameSite attribute.
    pub cookie_samesite: SameSite,
    /// Whether the cookie name starts with `__Host-`.
    pub cookie_host_prefix: bool,
    /// The longest `Cookie` header read, in bytes.
    pub max_cookie_header: u64,
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

impl HardenedConfig {
    /// The moin-1.9 configuration this one refines: the same names, paths,
    /// lifetimes and accounts, with HttpOnly on. What a moin-1.9 service
    /// would be given for this wiki (the conformance tests use it to show
    /// that moin-1.9 fails the hardened cases).
    pub fn to_m19(&self) -> M19Config {
        M19Config {
            cookie_lifetime: self.cookie_lifetime,
            legacy_lifetime: false,
            cookie_name: self.cookie_name.clone(),
            cookie_path: self.cookie_path.clone(),
            cookie_domain: self.cookie_domain.clone(),
            cookie_secure: self.cookie_secure,
            cookie_httponly: true,
            site: self.site.clone(),
            auth: self.auth.clone(),
            users: self.users.clone(),
            disabled_users: self.disabled_users.clone(),
            superusers: self.superusers.clone(),
        }
    }

    /// The session cookie's full name: moin-1.9's (`r[m19.name.default]`
    /// and the other name clauses), after `__Host-` when configured
    /// (`r[hard.cookie.host-prefix]`).
    ///
    /// ```
    /// use moin_session_spec::{Config, ConfigPatch, Profile};
    /// let patch = ConfigPatch { cookie_host_prefix: Some(true), cookie_secure: Some(Some(true)),
    ///                           ..ConfigPatch::default() };
    /// let config = Config::build(Profile::Hardened, &[patch]).unwrap();
    /// assert_eq!(config.as_hardened().unwrap().cookie_full_name(), "__Host-MOIN_SESSION_8080_ROOT");
    /// ```
    pub fn cookie_full_name(&self) -> String {
        let name = self.site.session_cookie_name(self.cookie_name.as_deref());
        if self.cookie_host_prefix {
            format!("{HOST_PREFIX_NAME}{name}")
        } else {
            name
        }
    }
}

path_and_accounts!(HardenedConfig);

fn rejected(field: &'static str, what: &'static str, rule: &'static str) -> ConfigError {
    ConfigError::WrongType {
        field,
        expected: what,
        rule,
    }
}

pub(super) fn build_hardened(patches: &[ConfigPatch]) -> Result<HardenedConfig, ConfigError> {
    let mut own = HardenedOwn {
        absolute: DEFAULT_ABSOLUTE_HOURS,
        samesite: SameSite::Lax,
        host_prefix: false,
        max_header: DEFAULT_MAX_COOKIE_HEADER,
    };
    let mut base = Vec::with_capacity(patches.len());
    for patch in patches {
        refuse_weakening(patch)?;
        own.apply(patch)?;
        base.push(ConfigPatch {
            absolute_timeout: None,
            cookie_samesite: None,
            cookie_host_prefix: None,
            max_cookie_header: None,
            ..patch.clone()
        });
    }
    let (samesite, host_prefix, max_header) = (own.samesite, own.host_prefix, own.max_header);
    let m19 = build_m19(&base)?;
    for (field, hours) in [
        ("cookie_lifetime[0]", m19.cookie_lifetime.anonymous),
        ("cookie_lifetime[1]", m19.cookie_lifetime.logged_in),
    ] {
        if hours < 0.0 {
            return Err(rejected(
                field,
                "an idle timeout of zero or more hours; a negative lifetime (\"ignore remember_me\") has no meaning here",
                TIMEOUTS,
            ));
        }
    }
    let absolute = check_hours("absolute_timeout", own.absolute, TIMEOUTS)?;
    if crate::lifetime::hours_to_secs(absolute) < 1 {
        return Err(ConfigError::NotPositive {
            field: "absolute_timeout",
            value: absolute,
            rule: TIMEOUTS,
        });
    }
    if !MAX_COOKIE_HEADER_RANGE.contains(&max_header) {
        return Err(rejected(
            "max_cookie_header",
            "a number of bytes from 4096 to 1048576",
            HEADER_LIMIT,
        ));
    }
    let config = HardenedConfig {
        cookie_lifetime: m19.cookie_lifetime,
        absolute_timeout: absolute,
        cookie_name: m19.cookie_name,
        cookie_path: m19.cookie_path,
        cookie_domain: m19.cookie_domain,
        cookie_secure: m19.cookie_secure,
        cookie_samesite: samesite,
        cookie_host_prefix: host_prefix,
        max_cookie_header: max_header,
        site: m19.site,
        auth: m19.auth,
        users: m19.users,
        disabled_users: m19.disabled_users,
        superusers: m19.superusers,
    };
    check_host_prefix(&config)?;
    check_sizes(&config)?;
    Ok(config)
}

/// The settings only the hardened profile has, as the patches set them.
struct HardenedOwn {
    absolute: f64,
    samesite: SameSite,
    host_prefix: bool,
    max_header: u64,
}

impl HardenedOwn {
    fn apply(&mut self, patch: &ConfigPatch) -> Result<(), ConfigError> {
        if let Some(hours) = patch.absolute_timeout {
            self.absolute = hours;
        }
        if let Some(value) = &patch.cookie_samesite {
            self.samesite = match value.as_str() {
                "Lax" => SameSite::Lax,
                "Strict" => SameSite::Strict,
                _ => {
                    return Err(rejected(
                        "cookie_samesite",
                        "\"Lax\" or \"Strict\"; \"None\" would send the session cookie on cross-site requests",
                        WEAKENING,
                    ))
                }
            };
        }
        if let Some(v) = patch.cookie_host_prefix {
            self.host_prefix = v;
        }
        if let Some(v) = patch.max_cookie_header {
            self.max_header = v;
        }
        Ok(())
    }
}

/// What a hardened configuration may not say: the legacy lifetimes, or
/// turning HttpOnly, Secure or the pair form off.
fn refuse_weakening(patch: &ConfigPatch) -> Result<(), ConfigError> {
    let legacy = [
        (
            "anonymous_session_lifetime",
            patch.anonymous_session_lifetime.is_some(),
        ),
        (
            "anonymous_cookie_lifetime",
            patch.anonymous_cookie_lifetime.is_some(),
        ),
    ];
    if let Some((field, _)) = legacy.iter().find(|(_, here)| *here) {
        return Err(ConfigError::NotInProfile {
            field,
            profile: Profile::Hardened,
            rule: Some(LEGACY),
        });
    }
    if let Some(LifetimeSetting::Scalar(_)) = patch.cookie_lifetime {
        return Err(rejected(
            "cookie_lifetime",
            "a pair [anonymous, logged_in] of idle timeouts in hours; the legacy single number is not accepted",
            LEGACY,
        ));
    }
    if patch.cookie_httponly == Some(false) {
        return Err(rejected(
            "cookie_httponly",
            "true or absent: the session cookie always carries HttpOnly",
            WEAKENING,
        ));
    }
    if patch.cookie_secure == Some(Some(false)) {
        return Err(rejected(
            "cookie_secure",
            "null (Secure on https) or true (always): Secure is never turned off",
            WEAKENING,
        ));
    }
    Ok(())
}

/// A `__Host-` cookie has `Path=/`, no `Domain`, and `Secure` always.
fn check_host_prefix(config: &HardenedConfig) -> Result<(), ConfigError> {
    if !config.cookie_host_prefix {
        return Ok(());
    }
    if config.effective_path() != "/" {
        return Err(rejected(
            "cookie_path",
            "null or \"/\" with cookie_host_prefix: a __Host- cookie has Path=/",
            HOST_PREFIX,
        ));
    }
    if config.cookie_domain.is_some() {
        return Err(rejected(
            "cookie_domain",
            "null with cookie_host_prefix: a __Host- cookie has no Domain",
            HOST_PREFIX,
        ));
    }
    if config.cookie_secure != Some(true) {
        return Err(rejected(
            "cookie_secure",
            "true with cookie_host_prefix: a __Host- cookie is always Secure",
            HOST_PREFIX,
        ));
    }
    Ok(())
}

/// The cookie's name, path and domain fit the RFC 6265bis size limits.
fn check_sizes(config: &HardenedConfig) -> Result<(), ConfigError> {
    // RFC 6265bis §5.6 and §5.7 step 4 count the name and the value, not
    // the `=` between them.
    let pair = config.cookie_full_name().len() + 40;
    if pair > COOKIE_PAIR_LIMIT {
        return Err(rejected(
            "cookie_name",
            "a name short enough that the name and a 40-byte sid fit in 4096 bytes",
            COOKIE_SIZE,
        ));
    }
    for (field, value) in [
        ("cookie_path", &config.cookie_path),
        ("cookie_domain", &config.cookie_domain),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.len() > COOKIE_ATTRIBUTE_LIMIT)
        {
            return Err(rejected(field, "at most 1024 bytes", COOKIE_SIZE));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn build(patch: ConfigPatch) -> Result<HardenedConfig, ConfigError> {
        Config::build(Profile::Hardened, &[patch]).map(|c| {
            c.as_hardened()
                .expect("a hardened build yields a hardened configuration")
                .clone()
        })
    }

    fn rule_of(patch: ConfigPatch) -> String {
        build(patch).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c = build(ConfigPatch::default()).unwrap();
        assert_eq!(c.cookie_lifetime.anonymous, 0.0);
        assert_eq!(c.cookie_lifetime.logged_in, 12.0);
        assert_eq!(c.absolute_timeout, 720.0);
        assert_eq!(c.cookie_samesite, SameSite::Lax);
        assert!(!c.cookie_host_prefix);
        assert_eq!(c.cookie_full_name(), "MOIN_SESSION_8080_ROOT");
    }

    #[test]
    fn each_rule_is_cited() {
        let cases = [
            (
                ConfigPatch {
                    cookie_lifetime: Some(LifetimeSetting::Scalar(12.0)),
                    ..Default::default()
                },
                LEGACY,
            ),
            (
                ConfigPatch {
                    anonymous_session_lifetime: Some(1.0),
                    ..Default::default()
                },
                LEGACY,
            ),
            (
                ConfigPatch {
                    cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, -2.0])),
                    ..Default::default()
                },
                TIMEOUTS,
            ),
            (
                ConfigPatch {
                    absolute_timeout: Some(0.0),
                    ..Default::default()
                },
                TIMEOUTS,
            ),
            (
                ConfigPatch {
                    cookie_httponly: Some(false),
                    ..Default::default()
                },
                WEAKENING,
            ),
            (
                ConfigPatch {
                    cookie_samesite: Some("None".into()),
                    ..Default::default()
                },
                WEAKENING,
            ),
            (
                ConfigPatch {
                    cookie_host_prefix: Some(true),
                    ..Default::default()
                },
                HOST_PREFIX,
            ),
            (
                ConfigPatch {
                    cookie_name: Some(Some("x".repeat(5000))),
                    ..Default::default()
                },
                COOKIE_SIZE,
            ),
            (
                ConfigPatch {
                    max_cookie_header: Some(100),
                    ..Default::default()
                },
                HEADER_LIMIT,
            ),
        ];
        for (patch, rule) in cases {
            let text = rule_of(patch);
            assert!(text.contains(&format!("r[{rule}]")), "{text}");
        }
    }

    #[test]
    fn inherited_rules_cite_moin_1_9() {
        let text = rule_of(ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0])),
            ..Default::default()
        });
        assert!(
            text.contains("r[m19.config.lifetime-wrong-length]"),
            "{text}"
        );
    }
}
