//! The strict loader of the corpus: reads every fixture file of a tree,
//! parses it ([`parse_file`]), and validates each case against the format,
//! the configuration rules and the requirement registry. A malformed file
//! is an error that names the file, line, column and the rule it broke
//! ([`FixtureError`]); no case is ever skipped for being malformed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::config::Config;
use crate::profile::Profile;

use super::case::profile_problems;
use super::case::*;
use super::expect::*;
use super::ids::{is_semantic_id, nearest, symbols_in};
use super::inheritance::Inheritance;
use super::requirements::Requirements;

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
        let (mut message, rule) = fixture_wording(&message, rule);
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

/// serde's wording, said in terms of the fixture format: serde names Rust
/// types and untagged enums, which a fixture author never sees.
fn fixture_wording(message: &str, rule: &'static str) -> (String, &'static str) {
    if message.contains("recursion limit exceeded") {
        return (
            "the JSON nests deeper than 128 levels, which no fixture needs".to_owned(),
            "fixture.json",
        );
    }
    if message.contains("untagged enum LifetimeSetting") {
        return (
            "`cookie_lifetime` must be a number of hours or a list of numbers of hours".to_owned(),
            rule,
        );
    }
    let mut out = message.to_owned();
    for (serde, ours) in [
        (
            "struct FixtureFile",
            "a fixture file object ({\"cases\": [...]})",
        ),
        ("struct Case", "a case object"),
        ("struct RawStep", "a step object"),
        ("struct RawExpect", "an `expect` object"),
        ("struct RequestSpec", "a `request` object"),
        ("struct CookieExpect", "a cookie expectation object"),
        ("struct CleanupSpec", "a `cleanup` object"),
        ("struct ConfigPatch", "a configuration object"),
        ("struct SitePatch", "a `site` object"),
        ("struct Empty", "an empty object {}"),
        ("enum AuthAction", "an `auth` value"),
        ("enum Op", "an op"),
        ("enum CookieSource", "a `cookies` value"),
        ("enum Profile", "a profile name"),
        ("enum CleanupMode", "a cleanup mode"),
        ("enum MacroEdition", "a macro edition"),
        ("a sequence", "a list"),
        ("a map", "an object"),
        ("type: sequence", "type: a list"),
        ("type: map", "type: an object"),
    ] {
        out = out.replace(serde, ours);
    }
    (without_element_count(&out), rule)
}

/// Drops serde's " with N elements" (a Rust struct's field count) from an
/// error message, and says "found a list" where serde reports a list given
/// for an object as an "invalid length"; shared by every JSON file reader
/// of the suite (fixtures, expectations files).
///
/// ```
/// use moin_session_spec::corpus::without_element_count;
/// assert_eq!(
///     without_element_count("invalid type: map, expected struct Case with 8 elements"),
///     "invalid type: map, expected struct Case"
/// );
/// ```
pub fn without_element_count(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" with ") {
        let after = &rest[i + 6..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let tail = after[digits..].strip_prefix(' ').unwrap_or("");
        let word = ["elements", "element"]
            .into_iter()
            .find(|w| digits > 0 && tail.starts_with(w));
        out.push_str(&rest[..i]);
        match word {
            Some(w) => rest = &tail[w.len()..],
            None => {
                out.push_str(" with ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // serde reads a list given for an object field by field: "invalid
    // length N" then only means "a list where an object belongs".
    if let Some(rest) = out.strip_prefix("invalid length ") {
        if let Some(i) = rest.find(", expected ") {
            return format!("found a list, expected {}", &rest[i + 11..]);
        }
    }
    out
}

/// Line starts of a text, for turning byte offsets into lines and columns
/// in logarithmic time (a file of many cases loads in time linear in its
/// size).
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn of(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// The 1-based line and column of byte `at`.
    fn position(&self, at: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|s| *s <= at);
        let start = self.starts[line.saturating_sub(1)];
        (line, at - start + 1)
    }
}

/// The 1-based line and column of the first `needle` in `text` at or after
/// byte `from`, or (0, 0).
#[cfg(test)]
fn locate(text: &str, needle: &str, from: usize) -> (usize, usize) {
    locate_in(&Lines::of(text), text, needle, from)
}

fn locate_in(lines: &Lines, text: &str, needle: &str, from: usize) -> (usize, usize) {
    match text.get(from..).and_then(|t| t.find(needle)) {
        Some(i) => lines.position(from + i),
        None => (0, 0),
    }
}

/// The earliest instant a corpus clock may show: the epoch (the specs'
/// `now` is never negative).
pub const EARLIEST_INSTANT: OffsetDateTime = time::macros::datetime!(1970-01-01 00:00:00 UTC);

/// The latest instant a corpus clock may show: the year 9000 leaves room
/// for every instant a backend computes from now (lifetimes of up to 100
/// years, grace periods) within four-digit years.
pub const LATEST_INSTANT: OffsetDateTime = time::macros::datetime!(9000-01-01 00:00:00 UTC);

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
    let mut sources = Vec::new();
    for file in files {
        match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => sources.push((file, text)),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    let text = String::from_utf8_lossy(e.as_bytes());
                    let (line, column) = Lines::of(&text).position(at);
                    errors.push(FixtureError {
                        file,
                        line,
                        column,
                        message: "a fixture file is UTF-8 text, and this byte is not UTF-8 [rule fixture.json]"
                            .to_owned(),
                    });
                }
            },
            Err(e) => errors.push(FixtureError {
                file,
                line: 0,
                column: 0,
                message: format!("cannot read: {e} [rule fixture.json]"),
            }),
        }
    }
    check_sources(sources, errors, requirements)
}

/// Loads a corpus whose files are already in memory (`(file name, text)`,
/// in the order the cases are to run), with the same checks as
/// [`load_corpus`]; the built-in corpus ([`super::builtin_corpus`]) is
/// loaded this way.
pub fn load_texts(
    sources: Vec<(PathBuf, String)>,
    requirements: &Requirements,
) -> Result<Corpus, Vec<FixtureError>> {
    check_sources(sources, Vec::new(), requirements)
}

fn check_sources(
    sources: Vec<(PathBuf, String)>,
    mut errors: Vec<FixtureError>,
    requirements: &Requirements,
) -> Result<Corpus, Vec<FixtureError>> {
    let mut corpus = Corpus::default();
    let mut seen: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for (file, text) in sources {
        let parsed = match parse_file(&file, &text) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let text = text.as_str();
        let lines = Lines::of(text);
        let locate = |text: &str, needle: &str, from: usize| locate_in(&lines, text, needle, from);
        let mut cursor = 0;
        for case in parsed.cases {
            let id_needle = format!("\"{}\"", case.id);
            let (line, column) = locate(text, &id_needle, cursor);
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
                // A hardened case may also cover a moin-1.9 clause that
                // hardened inherits (spec/hardened.md, section 1).
                let inherited =
                    case.profile == Profile::Hardened && Inheritance::builtin().inherits(req);
                let known = requirements.get(req).is_some_and(|r| {
                    r.profile == case.profile || (inherited && r.profile == Profile::Moin19)
                });
                if !known {
                    let replaced = Inheritance::builtin()
                        .replacement(req)
                        .filter(|_| case.profile == Profile::Hardened)
                        .map(|r| format!(" ({req} is replaced in hardened by {})", r.by.join(", ")))
                        .unwrap_or_default();
                    errors.push(err(
                        format!(
                            "covers {req:?}, which is not a requirement ID of profile {}{replaced}{} [rule fixture.unknown-requirement]",
                            case.profile,
                            nearest(req, requirements.of_profile(case.profile).iter().map(|r| r.id.as_str()))
                                .map(|n| format!("; did you mean {n:?}?"))
                                .unwrap_or_default()
                        ),
                        locate(text, &format!("\"{req}\""), case_start),
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
            let clock_error = |at: &str| {
                format!(
                    "{at} the virtual clock outside {} to {} [rule fixture.clock]",
                    EARLIEST_INSTANT.date(),
                    LATEST_INSTANT.date()
                )
            };
            let in_range = |t: OffsetDateTime| (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&t);
            let mut now = Some(case.start).filter(|t| in_range(*t));
            if now.is_none() {
                errors.push(err(
                    clock_error("`start` puts"),
                    locate(text, "\"start\"", case_start),
                ));
                case_ok = false;
            }
            let mut bound: BTreeSet<String> = BTreeSet::new();
            // Requests opened and not yet finished, by handle.
            let mut open: BTreeSet<String> = BTreeSet::new();
            for (n, step) in case.steps.iter().enumerate() {
                let step_no = n + 1;
                if let (Action::Advance(d), Some(t)) = (&step.action, now) {
                    now = t.checked_add(*d).filter(|t| in_range(*t));
                    if now.is_none() {
                        errors.push(err(
                            clock_error(&format!("step {step_no}: this advance takes")),
                            locate(text, "\"advance\"", case_start),
                        ));
                        case_ok = false;
                    }
                }
                for (needle, problem) in profile_problems(case.profile, &step.action) {
                    errors.push(err(
                        format!("step {step_no}: {problem}"),
                        locate(text, &needle, case_start),
                    ));
                    case_ok = false;
                }
                let mut need_bound = |sym: &str, where_: &str| {
                    if is_symbol(sym) && !bound.contains(sym) {
                        errors.push(err(
                            format!("step {step_no}: {where_} uses {sym}, which no earlier step bound [rule fixture.unbound-symbol]"),
                            locate(text, sym, case_start),
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
                                locate(text, "removed", case_start),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::List(sids) => {
                        if let Some(problem) = bind_sid_set(sids, &mut bound) {
                            errors.push(err(
                                format!("step {step_no}: `sids` {problem}"),
                                locate(text, "sids", case_start),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::Corrupt(s) => need_bound(s, "`corrupt`"),
                    Action::Open(spec, _) => {
                        if let CookieSource::Header(h) = &spec.cookies {
                            for sym in symbols_in(h) {
                                need_bound(&sym, "the Cookie header");
                            }
                        }
                        if !open.insert(spec.id.clone()) {
                            errors.push(err(
                                format!("step {step_no}: request {:?} is opened while it is still open [rule fixture.interleave]", spec.id),
                                locate(text, "\"open\"", case_start),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::Ops(spec, _) => {
                        if !open.contains(&spec.id) {
                            errors.push(err(
                                format!("step {step_no}: `ops` names request {:?}, which is not open [rule fixture.interleave]", spec.id),
                                locate(text, "\"ops\"", case_start),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::Finish(id, e) => {
                        if !open.remove(id) {
                            errors.push(err(
                                format!("step {step_no}: `finish` names request {id:?}, which is not open [rule fixture.interleave]"),
                                locate(text, "\"finish\"", case_start),
                            ));
                            case_ok = false;
                        }
                        for c in &e.set_cookies {
                            if let Some(v) = &c.value {
                                if is_symbol(v) {
                                    bound.insert(v.clone());
                                }
                            }
                        }
                    }
                    Action::Reconfigure(p) => {
                        if let Some(id) = open.iter().next() {
                            errors.push(err(
                                format!("step {step_no}: reconfigure while request {id:?} is open; a wiki restarts between requests [rule fixture.interleave]"),
                                locate(text, "\"reconfigure\"", case_start),
                            ));
                            case_ok = false;
                        }
                        patches.push(p.clone());
                        if let Err(e) = Config::build(case.profile, &patches) {
                            errors.push(err(
                                format!("step {step_no}: reconfigure: {e} [rule fixture.config]"),
                                (line, column),
                            ));
                            case_ok = false;
                        }
                    }
                    Action::Advance(_) | Action::Crowd(_) => {}
                }
            }
            if !open.is_empty() {
                let ids: Vec<String> = open.iter().map(|id| format!("{id:?}")).collect();
                errors.push(err(
                    format!(
                        "request(s) {} opened and never finished; every open request must be finished by the end of the case [rule fixture.interleave]",
                        ids.join(", ")
                    ),
                    (line, column),
                ));
                case_ok = false;
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
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            // A link could lead outside the corpus or round in a loop: the
            // corpus is the tree itself (rule fixture.corpus).
            errors.push(FixtureError {
                file: path.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "a symbolic link{}; the loader does not follow links, so a corpus never reads outside its directory or loops: copy the file or directory in instead [rule fixture.corpus]",
                    std::fs::read_link(&path)
                        .map(|t| format!(" to {}", t.display()))
                        .unwrap_or_default()
                ),
            });
        } else if kind.is_dir() {
            collect_json(&path, files, errors);
        } else if kind.is_file()
            && path.extension().is_some_and(|e| e == "json")
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
