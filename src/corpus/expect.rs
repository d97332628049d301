//! What a step sends and expects: requests, cookie and cleanup
//! expectations, and the symbols (`$s1`, `$l1`) that stand for session ids
//! a fixture cannot know.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::exchange::{AuthAction, CleanupMode, Op};

/// A session id in a fixture: a symbol (`$s1`), bound on first sight, or a
/// literal the client made up.
pub type SidRef = String;

/// Whether a fixture string is a symbol: `$s` and digits (a strict sid
/// symbol: fresh on first sight, the same afterwards) or `$l` and digits (a
/// "latest" symbol: rebound to whatever value is observed, for cookie
/// values the spec leaves opaque).
///
/// ```
/// use moin_session_spec::fixture::{is_latest_symbol, is_symbol};
/// assert!(is_symbol("$s1"));
/// assert!(is_symbol("$l2") && is_latest_symbol("$l2"));
/// assert!(!is_symbol("$x"));
/// assert!(!is_symbol("abc"));
/// ```
pub fn is_symbol(s: &str) -> bool {
    s.strip_prefix("$s")
        .or_else(|| s.strip_prefix("$l"))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a fixture string is a "latest" symbol (`$l` and digits).
pub fn is_latest_symbol(s: &str) -> bool {
    is_symbol(s) && s.starts_with("$l")
}

/// What the simulated browser sends and the user does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Over https.
    #[serde(default)]
    pub https: bool,
    /// The request path.
    #[serde(default = "root_path")]
    pub path: String,
    /// Which cookies the browser sends.
    #[serde(default)]
    pub cookies: CookieSource,
    /// The authentication action.
    #[serde(default)]
    pub auth: AuthAction,
    /// What application code does with the session.
    #[serde(default)]
    pub ops: Vec<Op>,
}

fn root_path() -> String {
    "/".to_owned()
}

/// Which cookies a request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CookieSource {
    /// What the browser's jar holds for this request (the default).
    #[default]
    Jar,
    /// No Cookie header.
    None,
    /// This Cookie header instead of the jar's; `$sN` symbols are replaced
    /// by the sids they are bound to.
    Header(String),
}

/// What a request step expects.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestExpect {
    /// The `new` flag.
    pub new: bool,
    /// The user the request ran as, `None` for anonymous.
    pub user: Option<String>,
    /// Every Set-Cookie of the response, in any order.
    pub set_cookies: Vec<CookieExpect>,
    /// One value per yielding op; null means "absent".
    pub results: Vec<Value>,
    /// `Some(true)`: the response must be marked not storable by shared
    /// caches. (`false` is not an expectation: the spec requires marking
    /// only where it says so, and never forbids it.)
    pub uncacheable: Option<bool>,
}

/// One expected Set-Cookie, by parsed attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieExpect {
    /// The cookie name.
    pub name: String,
    /// A deletion: a cookie the browser must drop (Max-Age ≤ 0, or no
    /// Max-Age and an Expires not after now). Its value is not checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The value: a sid symbol or literal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<SidRef>,
    /// Max-Age in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// Expires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires: Option<OffsetDateTime>,
    /// Path.
    pub path: String,
    /// Domain; `null` means no Domain attribute.
    #[serde(deserialize_with = "present_option")]
    pub domain: Option<String>,
    /// Secure (checked when given; required unless `deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure: Option<bool>,
    /// HttpOnly (checked when given; required unless `deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub httponly: Option<bool>,
    /// SameSite, `"Lax"`, `"Strict"` or `"None"` (checked when given;
    /// required on an issued cookie of a `hardened` case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samesite: Option<String>,
}

/// A field that must be present but may be null.
fn present_option<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

/// A field that may be absent, null, or a value.
pub(super) fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What an `open` step sends: a request, known by `id` until its
/// `finish` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSpec {
    /// The request's handle, e.g. `A`: unique among the requests open at
    /// the same time; it may be reused after the finish.
    pub id: String,
    /// Over https.
    #[serde(default)]
    pub https: bool,
    /// The request path.
    #[serde(default = "root_path")]
    pub path: String,
    /// Which cookies the browser sends (taken at the open).
    #[serde(default)]
    pub cookies: CookieSource,
    /// The authentication action.
    #[serde(default)]
    pub auth: AuthAction,
    /// What application code does with the session at the open.
    #[serde(default)]
    pub ops: Vec<Op>,
}

impl OpenSpec {
    /// The request this step opens, without its handle.
    pub fn request(&self) -> RequestSpec {
        RequestSpec {
            https: self.https,
            path: self.path.clone(),
            cookies: self.cookies.clone(),
            auth: self.auth.clone(),
            ops: self.ops.clone(),
        }
    }
}

/// What an `ops` step sends: more application code in an open request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsSpec {
    /// The open request's handle.
    pub id: String,
    /// What application code does with the session.
    pub ops: Vec<Op>,
}

/// What an `open` step expects: what load and authentication gave.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenExpect {
    /// The `new` flag.
    pub new: bool,
    /// The user the request runs as, `None` for anonymous.
    pub user: Option<String>,
    /// One value per yielding op of the open.
    pub results: Vec<Value>,
}

/// What a `finish` step expects: the response's headers.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishExpect {
    /// Every Set-Cookie of the response, in any order.
    pub set_cookies: Vec<CookieExpect>,
    /// As for a request: `Some(true)` requires the no-shared-cache marking.
    pub uncacheable: Option<bool>,
}

/// A cleanup run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupSpec {
    /// Expired only, or all.
    pub mode: CleanupMode,
    /// Only this account's sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// What a cleanup step expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupExpect {
    /// The sids removed, in any order.
    pub removed: Vec<SidRef>,
}
