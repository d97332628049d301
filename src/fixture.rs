//! The fixture format: conformance cases as JSON, and their loader.
//!
//! `fixtures/README.md` is the guide to the format and
//! `fixtures/schema.json` its JSON Schema; this module is the strict reader.
//! A fixture file holds `{"cases": [...]}`; a case names the requirements it
//! covers, a profile, a configuration, a start instant and steps. A
//! malformed file is an error that names the file, line, column and the
//! rule it broke ([`FixtureError`]); no case is ever skipped for being
//! malformed.
//!
//! | step | what it does | `expect` |
//! | --- | --- | --- |
//! | `{"advance": "1h30m"}` | moves the virtual clock forward | none |
//! | `{"request": {...}}` | one browser request | `new`, `user`, `set_cookies`, `results` |
//! | `{"cleanup": {"mode": "expired"}}` | runs cleanup | `removed` |
//! | `{"list": {}}` | lists stored sessions | `sids` |
//! | `{"reconfigure": {...}}` | changes the configuration, keeps the store | none |
//! | `{"corrupt": "$s1"}` | makes a stored record unreadable | none |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::config::{Config, ConfigPatch};
use crate::exchange::{AuthAction, CleanupMode, Op};
use crate::profile::Profile;
use crate::requirements::Requirements;

/// One fixture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureFile {
    /// The schema reference editors use; ignored by the reader.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The cases, in reading order.
    pub cases: Vec<Case>,
}

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable semantic id, e.g. `m19.lifetime.remember-me-forever`.
    pub id: String,
    /// One line saying what the case shows.
    pub title: String,
    /// The requirement IDs the case covers.
    pub covers: Vec<String>,
    /// The profile.
    pub profile: Profile,
    /// The configuration, over the profile's defaults.
    #[serde(default)]
    pub config: ConfigPatch,
    /// The virtual clock's start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// The steps (none when the case `rejects` its configuration).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// When given, the case shows that `config` is rejected: building it
    /// must fail with an error citing this requirement ID, and the case
    /// has no steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejects: Option<String>,
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub struct Step {
    /// What the step does.
    pub action: Action,
    /// Requirement IDs this step shows in particular (reported on failure).
    pub covers: Vec<String>,
    /// A note for readers.
    pub note: Option<String>,
}

/// What a step does, with what it expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Moves the virtual clock forward.
    Advance(Duration),
    /// One browser request.
    Request(RequestSpec, RequestExpect),
    /// A cleanup.
    Cleanup(CleanupSpec, CleanupExpect),
    /// Lists stored sessions; the expected sids.
    List(Vec<SidRef>),
    /// Changes the configuration, keeping the store.
    Reconfigure(ConfigPatch),
    /// Makes a stored record unreadable.
    Corrupt(SidRef),
}

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
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
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

/// Empty object for `{"list": {}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Every `expect` field of any step kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    new: Option<bool>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    user: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    set_cookies: Option<Vec<CookieExpect>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    results: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uncacheable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    removed: Option<Vec<SidRef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sids: Option<Vec<SidRef>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    advance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<RequestSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cleanup: Option<CleanupSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    list: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reconfigure: Option<ConfigPatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    corrupt: Option<SidRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect: Option<RawExpect>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    covers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;

    fn try_from(raw: RawStep) -> Result<Self, String> {
        let kinds = [
            raw.advance.is_some(),
            raw.request.is_some(),
            raw.cleanup.is_some(),
            raw.list.is_some(),
            raw.reconfigure.is_some(),
            raw.corrupt.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err("a step has exactly one of advance, request, cleanup, list, reconfigure, corrupt [rule fixture.step-shape]".to_owned());
        }
        let expect = raw.expect;
        let no_expect = |what: &str| -> Result<(), String> {
            if expect.is_some() {
                Err(format!(
                    "a {what} step takes no `expect` [rule fixture.step-shape]"
                ))
            } else {
                Ok(())
            }
        };
        let only = |e: &RawExpect, allowed: &[&str], what: &str| -> Result<(), String> {
            let present = [
                ("new", e.new.is_some()),
                ("user", e.user.is_some()),
                ("set_cookies", e.set_cookies.is_some()),
                ("results", e.results.is_some()),
                ("uncacheable", e.uncacheable.is_some()),
                ("removed", e.removed.is_some()),
                ("sids", e.sids.is_some()),
            ];
            for (name, here) in present {
                if here && !allowed.contains(&name) {
                    return Err(format!(
                        "`expect.{name}` does not belong to a {what} step (it takes {}) [rule fixture.step-shape]",
                        allowed.join(", ")
                    ));
                }
            }
            Ok(())
        };
        let action = if let Some(text) = raw.advance {
            no_expect("advance")?;
            Action::Advance(parse_advance(&text)?)
        } else if let Some(spec) = raw.request {
            let e = expect.ok_or("a request step needs `expect` with new, user and set_cookies [rule fixture.step-shape]")?;
            only(
                &e,
                &["new", "user", "set_cookies", "results", "uncacheable"],
                "request",
            )?;
            let yields = spec.ops.iter().filter(|op| op.yields()).count();
            let results = e.results.unwrap_or_default();
            if results.len() != yields {
                return Err(format!(
                    "`expect.results` has {} value(s) but the request's ops yield {yields} (one per get and macro) [rule fixture.results-count]",
                    results.len()
                ));
            }
            if e.uncacheable == Some(false) {
                return Err("`expect.uncacheable` may only be true: no clause forbids marking a response uncacheable [rule fixture.step-shape]".to_owned());
            }
            for cookie in e.set_cookies.iter().flatten() {
                check_cookie_expect(cookie)?;
            }
            check_ops(&spec.ops)?;
            Action::Request(
                spec,
                RequestExpect {
                    new: e.new.ok_or("a request step's expect needs `new` [rule fixture.step-shape]")?,
                    user: e.user.ok_or("a request step's expect needs `user` (null for anonymous) [rule fixture.step-shape]")?,
                    set_cookies: e.set_cookies.ok_or("a request step's expect needs `set_cookies` ([] for none) [rule fixture.step-shape]")?,
                    results,
                    uncacheable: e.uncacheable,
                },
            )
        } else if let Some(spec) = raw.cleanup {
            let e = expect
                .ok_or("a cleanup step needs `expect` with removed [rule fixture.step-shape]")?;
            only(&e, &["removed"], "cleanup")?;
            Action::Cleanup(
                spec,
                CleanupExpect {
                    removed: e.removed.ok_or(
                        "a cleanup step's expect needs `removed` [rule fixture.step-shape]",
                    )?,
                },
            )
        } else if raw.list.is_some() {
            let e =
                expect.ok_or("a list step needs `expect` with sids [rule fixture.step-shape]")?;
            only(&e, &["sids"], "list")?;
            Action::List(
                e.sids
                    .ok_or("a list step's expect needs `sids` [rule fixture.step-shape]")?,
            )
        } else if let Some(patch) = raw.reconfigure {
            no_expect("reconfigure")?;
            Action::Reconfigure(patch)
        } else {
            no_expect("corrupt")?;
            Action::Corrupt(raw.corrupt.expect("one kind is present, checked above"))
        };
        Ok(Step {
            action,
            covers: raw.covers,
            note: raw.note,
        })
    }
}

impl From<Step> for RawStep {
    fn from(step: Step) -> RawStep {
        let mut raw = RawStep {
            covers: step.covers,
            note: step.note,
            ..RawStep::default()
        };
        match step.action {
            Action::Advance(d) => raw.advance = Some(format_duration(d)),
            Action::Request(spec, e) => {
                raw.request = Some(spec);
                raw.expect = Some(RawExpect {
                    new: Some(e.new),
                    user: Some(e.user),
                    set_cookies: Some(e.set_cookies),
                    results: (!e.results.is_empty()).then_some(e.results),
                    uncacheable: e.uncacheable,
                    ..RawExpect::default()
                });
            }
            Action::Cleanup(spec, e) => {
                raw.cleanup = Some(spec);
                raw.expect = Some(RawExpect {
                    removed: Some(e.removed),
                    ..RawExpect::default()
                });
            }
            Action::List(sids) => {
                raw.list = Some(Empty {});
                raw.expect = Some(RawExpect {
                    sids: Some(sids),
                    ..RawExpect::default()
                });
            }
            Action::Reconfigure(p) => raw.reconfigure = Some(p),
            Action::Corrupt(s) => raw.corrupt = Some(s),
        }
        raw
    }
}

fn check_cookie_expect(c: &CookieExpect) -> Result<(), String> {
    if c.deleted {
        if c.value.is_some() || c.max_age.is_some() || c.expires.is_some() {
            return Err(format!(
                "expected deletion of cookie {:?} gives no value, max_age or expires (any deletion form is accepted) [rule fixture.step-shape]",
                c.name
            ));
        }
        return Ok(());
    }
    let missing: Vec<&str> = [
        ("value", c.value.is_none()),
        ("max_age", c.max_age.is_none()),
        ("expires", c.expires.is_none()),
        ("secure", c.secure.is_none()),
        ("httponly", c.httponly.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    if !missing.is_empty() {
        return Err(format!(
            "expected cookie {:?} must give every attribute; missing: {} [rule fixture.cookie-complete]",
            c.name,
            missing.join(", ")
        ));
    }
    Ok(())
}

fn check_ops(ops: &[Op]) -> Result<(), String> {
    for op in ops {
        if let Op::Set { key, value } = op {
            if value.is_null() {
                return Err(format!("`set` of {key:?} stores null, which the spec does not allow [rule fixture.value]"));
            }
        }
    }
    Ok(())
}

/// What a request or cleanup of a case uses that its profile does not
/// have (`fixture.reserved-key`, `fixture.profile-action`).
fn profile_problems(profile: Profile, action: &Action) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match action {
        Action::Request(spec, _) => {
            for op in &spec.ops {
                let key = match op {
                    Op::Set { key, .. } | Op::Get { key } | Op::Delete { key } => key,
                    Op::Macro { edition, .. } => {
                        if profile == Profile::Moin16
                            && *edition == crate::exchange::MacroEdition::V19
                        {
                            out.push((
                                "\"1.9\"".to_owned(),
                                "the 1.9 example macro needs `is_new`, which moin-1.6 sessions do not have [rule fixture.profile-action]".to_owned(),
                            ));
                        }
                        continue;
                    }
                };
                if profile.reserved_keys().contains(&key.as_str()) {
                    out.push((
                        format!("\"{key}\""),
                        format!("{key:?} is a reserved session key of {profile}; conformance never touches it [rule fixture.reserved-key]"),
                    ));
                }
            }
            if profile == Profile::Moin16 && matches!(spec.auth, AuthAction::ChangeUser { .. }) {
                out.push((
                    "\"change_user\"".to_owned(),
                    "change user is not part of profile moin-1.6 [rule fixture.profile-action]"
                        .to_owned(),
                ));
            }
        }
        Action::Cleanup(spec, _) if profile == Profile::Moin16 && spec.user.is_some() => {
            out.push((
                "\"user\"".to_owned(),
                "cleanup by user is not part of profile moin-1.6 [rule fixture.profile-action]"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    out
}

/// Parses an advance like `59s`, `+1h`, `1h30m`, `2d`, `250ms`.
///
/// ```
/// use moin_session_spec::fixture::parse_advance;
/// assert_eq!(parse_advance("+1h30m").unwrap(), time::Duration::minutes(90));
/// assert!(parse_advance("-1h").is_err());
/// ```
pub fn parse_advance(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("advance {text:?} is not a positive duration such as 59s, 1h30m, 2d or 250ms [rule fixture.advance]")
    };
    let body = text.strip_prefix('+').unwrap_or(text);
    if body.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = body;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "d" => Duration::days(n),
            "h" => Duration::hours(n),
            "m" => Duration::minutes(n),
            "s" => Duration::seconds(n),
            "ms" => Duration::milliseconds(n),
            _ => return Err(bad()),
        };
        total += part;
    }
    if total <= Duration::ZERO {
        return Err(bad());
    }
    Ok(total)
}

/// Writes a duration the way [`parse_advance`] reads it.
pub fn format_duration(d: Duration) -> String {
    let mut out = String::new();
    let mut ms = d.whole_milliseconds();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// A malformed fixture: where, and which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the error is about the file as a whole.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong, ending with the rule's name in brackets.
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for FixtureError {}

/// A loaded case with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCase {
    /// The case.
    pub case: Case,
    /// Its file.
    pub file: PathBuf,
    /// Its validated starting configuration; `None` for a case that
    /// shows the configuration is rejected.
    pub config: Option<Config>,
}

/// Every case of a fixture tree, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Corpus {
    /// The cases, ordered by file path and then position in the file.
    pub cases: Vec<LoadedCase>,
}

impl Corpus {
    /// The case with this id.
    pub fn get(&self, id: &str) -> Option<&LoadedCase> {
        self.cases.iter().find(|c| c.case.id == id)
    }
}

/// Parses one fixture file's text. Errors carry line and column.
pub fn parse_file(file: &Path, text: &str) -> Result<FixtureFile, FixtureError> {
    serde_json::from_str::<FixtureFile>(text).map_err(|e| {
        let rule = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "fixture.json"
            }
            _ => "fixture.schema",
        };
        let mut message = e.to_string();
        // serde_json appends " at line L column C"; we print the position up front.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        if !message.contains("[rule ") {
            message.push_str(&format!(" [rule {rule}]"));
        }
        FixtureError {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
            message,
        }
    })
}

/// The 1-based line and column of the first `needle` in `text` at or after
/// byte `from`, or (0, 0).
fn locate(text: &str, needle: &str, from: usize) -> (usize, usize) {
    match text.get(from..).and_then(|t| t.find(needle)) {
        Some(i) => {
            let at = from + i;
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let column = at - before.rfind('\n').map_or(0, |n| n + 1) + 1;
            (line, column)
        }
        None => (0, 0),
    }
}

/// Whether `id` has the form of a semantic id: lowercase dot-separated
/// words of letters, digits and dashes, at least two of them.
///
/// ```
/// use moin_session_spec::fixture::is_semantic_id;
/// assert!(is_semantic_id("m19.lifetime.remember-me-forever"));
/// assert!(!is_semantic_id("case_1"));
/// ```
pub fn is_semantic_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('-')
                && !p.ends_with('-')
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Loads every `*.json` file under `dir` (recursively, skipping
/// `schema.json`), validating each case against the format, the
/// configuration rules and `requirements`. Returns every error found, not
/// just the first.
pub fn load_corpus(dir: &Path, requirements: &Requirements) -> Result<Corpus, Vec<FixtureError>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect_json(dir, &mut files, &mut errors);
    files.sort();
    if files.is_empty() && errors.is_empty() {
        errors.push(FixtureError {
            file: dir.to_owned(),
            line: 0,
            column: 0,
            message: "no fixture files (*.json) found here [rule fixture.corpus]".to_owned(),
        });
    }
    let mut corpus = Corpus::default();
    let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for file in files {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FixtureError {
                    file: file.clone(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read: {e} [rule fixture.json]"),
                });
                continue;
            }
        };
        let parsed = match parse_file(&file, &text) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut cursor = 0;
        for case in parsed.cases {
            let id_needle = format!("\"{}\"", case.id);
            let (line, column) = locate(&text, &id_needle, cursor);
            if let Some(i) = text.get(cursor..).and_then(|t| t.find(&id_needle)) {
                cursor += i + id_needle.len();
            }
            let case_start = cursor;
            let err = |message: String, (line, column): (usize, usize)| FixtureError {
                file: file.clone(),
                line,
                column,
                message: format!("case {}: {message}", case.id),
            };
            let mut case_ok = true;
            if !is_semantic_id(&case.id) || !case.id.starts_with(case.profile.id_prefix()) {
                errors.push(err(
                    format!(
                        "the id must be semantic (lowercase dot-separated words) and start with {:?} [rule fixture.id-form]",
                        case.profile.id_prefix()
                    ),
                    (line, column),
                ));
                case_ok = false;
            }
            if let Some((other, other_line)) = seen.get(&case.id) {
                errors.push(err(
                    format!(
                        "duplicate case id; first defined at {}:{other_line} [rule fixture.duplicate-id]",
                        other.display()
                    ),
                    (line, column),
                ));
                case_ok = false;
            } else {
                seen.insert(case.id.clone(), (file.clone(), line));
            }
            if case.covers.is_empty() {
                errors.push(err(
                    "`covers` names no requirement [rule fixture.unknown-requirement]".to_owned(),
                    (line, column),
                ));
                case_ok = false;
            }
            let step_covers = case.steps.iter().flat_map(|s| s.covers.iter());
            for req in case.covers.iter().chain(step_covers) {
                let known = requirements
                    .get(req)
                    .is_some_and(|r| r.profile == case.profile);
                if !known {
                    errors.push(err(
                        format!(
                            "covers {req:?}, which is not a requirement ID of profile {}{} [rule fixture.unknown-requirement]",
                            case.profile,
                            nearest(req, requirements.of_profile(case.profile).iter().map(|r| r.id.as_str()))
                                .map(|n| format!("; did you mean {n:?}?"))
                                .unwrap_or_default()
                        ),
                        locate(&text, &format!("\"{req}\""), case_start),
                    ));
                    case_ok = false;
                }
            }
            let mut patches = vec![case.config.clone()];
            let built = Config::build(case.profile, &patches);
            if let Some(rule) = &case.rejects {
                let cited = format!("r[{rule}]");
                let problem = if !case.steps.is_empty() {
                    Some("a case that `rejects` its configuration has no steps".to_owned())
                } else if !case.covers.contains(rule) {
                    Some(format!(
                        "`rejects` names {rule:?}, which `covers` must list too"
                    ))
                } else if requirements.get(rule).is_none() {
                    Some(format!(
                        "`rejects` names {cited}, which is not a requirement ID"
                    ))
                } else {
                    // Whether the configuration is really rejected, and for
                    // this rule, is the runner's verdict, not a load error.
                    None
                };
                if let Some(problem) = problem {
                    errors.push(err(
                        format!("{problem} [rule fixture.rejects]"),
                        (line, column),
                    ));
                    case_ok = false;
                }
                if case_ok {
                    let config = built.as_ref().ok().cloned();
                    corpus.cases.push(LoadedCase {
                        case,
                        file: file.clone(),
                        config,
                    });
                }
                continue;
            }
            if case.steps.is_empty() {
                errors.push(err(
                    "a case needs at least one step [rule fixture.step-shape]".to_owned(),
                    (line, column),
                ));
                case_ok = false;
            }
            let config = match built {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.push(err(format!("{e} [rule fixture.config]"), (line, column)));
                    case_ok = false;
                    None
                }
            };
            let mut bound: BTreeSet<String> = BTreeSet::new();
            for (n, step) in case.steps.iter().enumerate() {
                let step_no = n + 1;
                for (needle, problem) in profile_problems(case.profile, &step.action) {
                    errors.push(err(
                        format!("step {step_no}: {problem}"),
                        locate(&text, &needle, case_start),
                    ));
                    case_ok = false;
                }
                let mut need_bound = |sym: &str, where_: &str| {
                    if is_symbol(sym) && !bound.contains(sym) {
                        errors.push(err(
                            format!("step {step_no}: {where_} uses {sym}, which no earlier step bound [rule fixture.unbound-symbol]"),
                            locate(&text, sym, case_start),
                        ));
                        case_ok = false;
                    }
                };
                match &step.action {
                    Action::Request(spec, e) => {
                        if let CookieSource::Header(h) = &spec.cookies {
                            for sym in symbols_in(h) {
                                need_bound(&sym, "the Cookie header");
                            }
                        }
                        for c in &e.set_cookies {
                            if let Some(v) = &c.value {
                                if is_symbol(v) {
                                    bound.insert(v.clone());
                                }
                            }
                        }
                    }
                    Action::Cleanup(_, e) => {
                        if let Some(problem) = bind_sid_set(&e.removed, &mut bound) {
                            errors.push(err(
                                format!("step {step_no}: `removed` {problem}"),
                                locate(&text, "removed", case_start),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::List(sids) => {
                        if let Some(problem) = bind_sid_set(sids, &mut bound) {
                            errors.push(err(
                                format!("step {step_no}: `sids` {problem}"),
                                locate(&text, "sids", case_start),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::Corrupt(s) => need_bound(s, "`corrupt`"),
                    Action::Reconfigure(p) => {
                        patches.push(p.clone());
                        if let Err(e) = Config::build(case.profile, &patches) {
                            errors.push(err(
                                format!("step {step_no}: reconfigure: {e} [rule fixture.config]"),
                                (line, column),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::Advance(_) => {}
                }
            }
            if let (true, Some(config)) = (case_ok, config) {
                corpus.cases.push(LoadedCase {
                    case,
                    file: file.clone(),
                    config: Some(config),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(corpus)
    } else {
        Err(errors)
    }
}

/// Binds the one new strict symbol a list or cleanup expectation may name
/// (the one listed id not otherwise accounted for); describes the problem
/// when there are more, or a new latest symbol.
fn bind_sid_set(sids: &[SidRef], bound: &mut BTreeSet<String>) -> Option<String> {
    let unbound: Vec<&SidRef> = sids
        .iter()
        .filter(|s| is_symbol(s) && !bound.contains(*s))
        .collect();
    match unbound.as_slice() {
        [] => None,
        [one] if !is_latest_symbol(one) => {
            bound.insert((*one).clone());
            None
        }
        _ => Some(format!(
            "may bind at most one new $s symbol; it has {} [rule fixture.unbound-symbol]",
            unbound
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The candidate closest to `word` by edit distance, when it is close
/// enough to be a likely typo.
///
/// ```
/// use moin_session_spec::fixture::nearest;
/// let ids = ["m19.lifetime.seconds", "m19.lifetime.truncation"];
/// assert_eq!(nearest("m19.lifetime.second", ids), Some("m19.lifetime.seconds"));
/// assert_eq!(nearest("m19.store.list", ids), None);
/// ```
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    let limit = (word.chars().count() / 5).max(2);
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The `$sN` and `$lN` symbols in a text, in order of appearance.
pub fn symbols_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 2 < bytes.len() + 1 {
        if bytes[i] == b'$' && matches!(bytes.get(i + 1), Some(b's' | b'l')) {
            let digits = bytes[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                out.push(text[i..i + 2 + digits].to_owned());
                i += 2 + digits;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn collect_json(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<FixtureError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(FixtureError {
                file: dir.to_owned(),
                line: 0,
                column: 0,
                message: format!("cannot read the fixture directory: {e} [rule fixture.corpus]"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_json(&path, files, errors);
        } else if path.extension().is_some_and(|e| e == "json")
            && path.file_name().is_some_and(|n| n != "schema.json")
        {
            files.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_forms() {
        assert_eq!(parse_advance("59s").unwrap(), Duration::seconds(59));
        assert_eq!(parse_advance("2d").unwrap(), Duration::days(2));
        assert_eq!(
            parse_advance("1m250ms").unwrap(),
            Duration::milliseconds(60_250)
        );
        for bad in ["", "+", "1", "h", "1y", "0s", "1h-2m"] {
            assert!(parse_advance(bad).is_err(), "{bad}");
        }
        assert_eq!(
            format_duration(Duration::milliseconds(90_061_001)),
            "1d1h1m1s1ms"
        );
    }

    #[test]
    fn symbols_are_found_in_headers() {
        assert_eq!(symbols_in("A=$s1; B=$s12x"), vec!["$s1", "$s12"]);
        assert!(symbols_in("A=$x; $s").is_empty());
    }

    #[test]
    fn locate_gives_line_and_column() {
        assert_eq!(locate("ab\ncd\n  x", "x", 0), (3, 3));
        assert_eq!(locate("x", "y", 0), (0, 0));
    }

    #[test]
    fn step_shape_errors_are_located() {
        let text = "{\"cases\": [{\"id\": \"m19.a.b\", \"title\": \"t\", \"covers\": [], \"profile\": \"moin-1.9\",\n \"start\": \"2009-01-01T00:00:00Z\", \"steps\": [\n {\"advance\": \"1h\", \"list\": {}}]}]}";
        let e = parse_file(Path::new("f.json"), text).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("fixture.step-shape"), "{}", e.message);
        let text = "{\"cases\": [], \"extra\": 1}";
        let e = parse_file(Path::new("f.json"), text).unwrap_err();
        assert!(e.message.contains("unknown field `extra`"), "{}", e.message);
        assert!(e.message.contains("fixture.schema"));
        let e = parse_file(Path::new("f.json"), "{\"cases\": [").unwrap_err();
        assert!(e.message.contains("fixture.json"));
    }
}
