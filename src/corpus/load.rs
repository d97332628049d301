//! The strict loader of the corpus: reads every fixture file of a tree,
//! parses it ([`parse_file`]), and validates each case against the format,
//! the configuration rules and the requirement registry. A malformed file
//! is an error that names the file, line, column and the rule it broke
//! ([`FixtureError`]); no case is ever skipped for being malformed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::case::*;
use super::check::{check_case, CaseCheck};
use super::loaded::{locate_in, Lines};
pub use super::loaded::{FixtureError, LoadedCase, EARLIEST_INSTANT, LATEST_INSTANT};
use super::requirements::Requirements;

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

/// The 1-based line and column of the first `needle` in `text` at or after
/// byte `from`, or (0, 0).
#[cfg(test)]
fn locate(text: &str, needle: &str, from: usize) -> (usize, usize) {
    locate_in(&Lines::of(text), text, needle, from)
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
        let lines = Lines::of(&text);
        let mut cursor = 0;
        for case in parsed.cases {
            let id_needle = format!("\"{}\"", case.id);
            let at = locate_in(&lines, &text, &id_needle, cursor);
            if let Some(i) = text.get(cursor..).and_then(|t| t.find(&id_needle)) {
                cursor += i + id_needle.len();
            }
            let case_id = case.id.clone();
            let mut check = CaseCheck {
                file: &file,
                text: &text,
                lines: &lines,
                case_id: &case_id,
                at,
                case_start: cursor,
                errors: &mut errors,
                ok: true,
            };
            if let Some(loaded) = check_case(&mut check, case, requirements, &mut seen) {
                corpus.cases.push(loaded);
            }
        }
    }
    if errors.is_empty() {
        Ok(corpus)
    } else {
        Err(errors)
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
