//! A configuration as written ([`ConfigPatch`]): every field optional, so
//! that a fixture names only what differs from MoinMoin's defaults and a
//! `reconfigure` step names only what changes.

use serde::{Deserialize, Serialize};

use super::site::SitePatch;

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
    /// hardened: hours from authentication after which a logged-in session
    /// ends, whatever its activity (`r[hard.timeout.absolute]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_timeout: Option<f64>,
    /// hardened: the cookie's SameSite value, `"Lax"` or `"Strict"`
    /// (`r[hard.cookie.samesite]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_samesite: Option<String>,
    /// hardened: whether the cookie name carries the `__Host-` prefix
    /// (`r[hard.cookie.host-prefix]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_host_prefix: Option<bool>,
    /// hardened: the longest `Cookie` header, in bytes, that is read
    /// (`r[hard.load.cookie-header-limit]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cookie_header: Option<u64>,
}

/// Takes each named field that `patch` gives into `config` (a field the
/// patch leaves out keeps the value `config` has): `take_given!(config,
/// patch; cookie_path, users)`.
macro_rules! take_given {
    ($config:ident, $patch:ident; $($field:ident),+ $(,)?) => {
        $(
            if let Some(v) = &$patch.$field {
                $config.$field = Clone::clone(v);
            }
        )+
    };
}
pub(super) use take_given;

impl ConfigPatch {
    /// The settings of this patch that only the `hardened` profile has, by
    /// name, for the other profiles' "not in profile" checks.
    pub(super) fn hardened_only(&self) -> Option<&'static str> {
        [
            ("absolute_timeout", self.absolute_timeout.is_some()),
            ("cookie_samesite", self.cookie_samesite.is_some()),
            ("cookie_host_prefix", self.cookie_host_prefix.is_some()),
            ("max_cookie_header", self.max_cookie_header.is_some()),
        ]
        .into_iter()
        .find_map(|(name, here)| here.then_some(name))
    }
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
