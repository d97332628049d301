//! [`ConfigError`]: a configuration that breaks a rule, naming the field
//! and citing the requirement ID of the clause that states the rule.

use std::fmt;

use crate::lifetime::MAX_LIFETIME_HOURS;
use crate::profile::Profile;

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
