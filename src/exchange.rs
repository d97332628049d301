//! What crosses the boundary of a backend: one request cycle in, one
//! response out; a cleanup in, what it removed out.
//!
//! These types are the [`Backend`](crate::Backend) trait's arguments and
//! results, and the same types are serialised for out-of-process adapters.
//! Everything here is observable: a backend's internal session keys never
//! appear.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// One request cycle: what the browser sends, what the user does, and what
/// application code does with `request.session`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The injected current instant. A backend reads no other clock.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// Whether the request came over https.
    pub https: bool,
    /// The request path (for the browser's cookie path matching).
    pub path: String,
    /// The `Cookie` request header as sent, if any.
    pub cookie_header: Option<String>,
    /// What the user does about authentication in this request.
    pub auth: AuthAction,
    /// What application code does with the session, in order, after
    /// authentication and before the response is finalised.
    pub ops: Vec<Op>,
}

/// What the user does about authentication in one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthAction {
    /// Nothing: the user is whoever the session says.
    #[default]
    None,
    /// Logs in with correct credentials; `remember_me` is the user's
    /// "remember login information" preference from now on.
    Login {
        /// The account name.
        user: String,
        /// The remember-me preference.
        remember_me: bool,
    },
    /// Tries to log in with wrong credentials.
    FailedLogin {
        /// The account name tried.
        user: String,
    },
    /// Logs out.
    Logout,
    /// A superuser assumes another account's identity ("change user").
    ChangeUser {
        /// The account to act as.
        to: String,
    },
    /// Ends every other session of the request's logged-in user, keeping
    /// this one (hardened only: `r[hard.end.others]`).
    EndOtherSessions,
}

/// One thing application code does with the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// `session[key] = value`.
    Set {
        /// The key (never a reserved key).
        key: String,
        /// The value (any JSON value but null).
        value: Value,
    },
    /// Reads `session[key]`; yields the value, or null when absent.
    Get {
        /// The key.
        key: String,
    },
    /// `del session[key]` when present; nothing when absent.
    Delete {
        /// The key.
        key: String,
    },
    /// Runs the example macro of a HelpOnSessions edition; yields its text.
    Macro {
        /// Which edition's macro.
        edition: MacroEdition,
        /// The number the macro's `random.randint(1, 100000)` returns.
        random: u32,
    },
}

impl Op {
    /// Whether the op yields a result in [`Response::results`].
    pub fn yields(&self) -> bool {
        matches!(self, Op::Get { .. } | Op::Macro { .. })
    }
}

/// The editions of the HelpOnSessions example macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MacroEdition {
    /// The 1.6-era page: prints the stored value, or stores one and prints
    /// `set to value N`.
    #[serde(rename = "1.6")]
    V16,
    /// The 1.9 page: gated on `is_new`.
    #[serde(rename = "1.9")]
    V19,
}

/// What a backend answers to one request cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The session's `new` flag as application code saw it.
    pub new: bool,
    /// The account name the request ran as (the effective user under
    /// "change user"), or `None` when anonymous.
    pub user: Option<String>,
    /// Every `Set-Cookie` header value of the response, as sent.
    pub set_cookies: Vec<String>,
    /// One result per op that yields ([`Op::yields`]), in order.
    pub results: Vec<Value>,
    /// The response's `Cache-Control` header, if any.
    #[serde(default)]
    pub cache_control: Option<String>,
}

impl Response {
    /// The response of a whole request cycle: what its open produced, with
    /// the headers of its finish.
    pub fn of(opened: Opened, finished: Finished) -> Response {
        Response {
            new: opened.new,
            user: opened.user,
            set_cookies: finished.set_cookies,
            results: opened.results,
            cache_control: finished.cache_control,
        }
    }
}

/// What a backend answers when a request is opened
/// ([`Backend::open`](crate::Backend::open)): what load, authentication
/// and the open's own ops produced. The cookie comes at the finish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opened {
    /// The session's `new` flag as application code saw it.
    pub new: bool,
    /// The account name the request runs as, or `None` when anonymous.
    pub user: Option<String>,
    /// One result per op of the open that yields, in order.
    pub results: Vec<Value>,
}

/// What a backend answers when an open request finishes
/// ([`Backend::finish`](crate::Backend::finish)): the response's headers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finished {
    /// Every `Set-Cookie` header value of the response, as sent.
    pub set_cookies: Vec<String>,
    /// The response's `Cache-Control` header, if any.
    #[serde(default)]
    pub cache_control: Option<String>,
}

/// Which stored sessions a cleanup removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupMode {
    /// Expired sessions only (`moin maint cleansessions`).
    Expired,
    /// Every session (`--all`).
    All,
}

/// A cleanup run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupRequest {
    /// The injected current instant.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// Expired only, or all.
    pub mode: CleanupMode,
    /// Only the sessions of this account (`--name`).
    pub user: Option<String>,
}

/// What a cleanup did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanupOutcome {
    /// The session ids whose records it removed.
    pub removed: Vec<String>,
}
