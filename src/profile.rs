//! The profiles the specification defines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A profile: one edition of MoinMoin's session semantics.
///
/// Deliberately exhaustive: adding a profile should make the compiler list
/// every place that must learn about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Profile {
    /// The 1.6-era design, sessions on the authentication chain
    /// (`spec/moin-1.6.md`).
    #[serde(rename = "moin-1.6")]
    Moin16,
    /// The MoinMoin 1.9 session service (`spec/moin-1.9.md`).
    #[serde(rename = "moin-1.9")]
    Moin19,
    /// MoinMoin 1.9's semantics with today's session security, a delta on
    /// moin-1.9 (`spec/hardened.md`).
    #[serde(rename = "hardened")]
    Hardened,
}

impl Profile {
    /// Every profile, in reading order.
    pub const ALL: &'static [Profile] = &[Profile::Moin16, Profile::Moin19, Profile::Hardened];

    /// The profile's name as written in fixtures and on the command line.
    ///
    /// ```
    /// assert_eq!(moin_session_spec::Profile::Moin19.name(), "moin-1.9");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Profile::Moin16 => "moin-1.6",
            Profile::Moin19 => "moin-1.9",
            Profile::Hardened => "hardened",
        }
    }

    /// Session keys that belong to the session service in this profile;
    /// application code (and so a fixture) never touches them.
    pub fn reserved_keys(self) -> &'static [&'static str] {
        match self {
            Profile::Moin16 => &["expires"],
            Profile::Moin19 => &[
                "expires",
                "user.id",
                "user.auth_method",
                "user.auth_attribs",
                "setuid",
            ],
            Profile::Hardened => &[
                "expires",
                "user.id",
                "user.auth_method",
                "user.auth_attribs",
                "user.auth_at",
                "setuid",
            ],
        }
    }

    /// The prefix of the profile's requirement IDs.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Profile::Moin16 => "m16.",
            Profile::Moin19 => "m19.",
            Profile::Hardened => "hard.",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownProfile(pub String);

impl fmt::Display for UnknownProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
        write!(
            f,
            "unknown profile {:?} (known: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownProfile {}

impl FromStr for Profile {
    type Err = UnknownProfile;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .iter()
            .copied()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}
