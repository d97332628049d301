//! The checks both profiles' configurations share: lifetimes within
//! bounds, cookie names, paths and domains a browser can use, accounts
//! enabled or disabled but not both.

use crate::lifetime::MAX_LIFETIME_HOURS;

use super::error::ConfigError;

/// An account is enabled or disabled, never both.
pub(super) fn check_accounts(users: &[String], disabled: &[String]) -> Result<(), ConfigError> {
    match users.iter().find(|u| disabled.contains(u)) {
        Some(name) => Err(ConfigError::AccountTwice { name: name.clone() }),
        None => Ok(()),
    }
}

pub(super) fn check_path_and_domain(
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

pub(super) fn check_hours(
    field: &'static str,
    hours: f64,
    rule: &'static str,
) -> Result<f64, ConfigError> {
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

pub(super) fn is_attribute_value(s: &str) -> bool {
    s.chars().all(|c| !c.is_control() && c != ';' && c != ' ')
}

/// RFC 6265 token characters for a cookie name.
pub(super) fn check_cookie_name(name: &str, rule: &'static str) -> Result<(), ConfigError> {
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
