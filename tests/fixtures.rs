//! The corpus as data: every fixture file against `fixtures/schema.json`,
//! the loader's rules on malformed files, and requirement coverage.

use std::path::{Path, PathBuf};

use moin_session_spec::fixture::{load_corpus, FixtureError};
use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;
use moin_session_testkit::corpus::lines;
use moin_session_testkit::source::rust_files;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn fixture_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("fixtures dir is readable") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json")
                && !path.ends_with("schema.json")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&fixtures_dir(), &mut out);
    out.sort();
    out
}

#[test]
fn every_fixture_file_matches_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema.json is a valid JSON Schema");
    let files = fixture_files();
    assert!(!files.is_empty(), "no fixture files found");
    let mut problems = Vec::new();
    for file in files {
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for error in validator.iter_errors(&value) {
            problems.push(format!(
                "{}: {} at {}",
                file.display(),
                error,
                error.instance_path()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "schema violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_schema_rejects_what_the_loader_rejects() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let case = |extra: serde_json::Value| {
        let mut c = serde_json::json!({
            "id": "m19.x.y", "title": "t", "covers": ["m19.store.list"], "profile": "moin-1.9",
            "start": "2009-03-01T12:00:00Z", "steps": [{"list": {}, "expect": {"sids": []}}]
        });
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::json!({ "cases": [c] })
    };
    assert!(validator.is_valid(&case(serde_json::json!({}))));
    for bad in [
        serde_json::json!({"surprise": 1}),
        serde_json::json!({"steps": []}),
        serde_json::json!({"steps": [{"advance": "1h", "list": {}}]}),
        serde_json::json!({"steps": [{"request": {}, "expect": {"new": true, "user": null}}]}),
        serde_json::json!({"steps": [{"request": {"ops": [{"set": {"key": "k", "value": null}}]},
            "expect": {"new": true, "user": null, "set_cookies": []}}]}),
        serde_json::json!({"steps": [{"request": {}, "expect": {"new": true, "user": null,
            "set_cookies": [{"name": "n", "value": "$s1", "path": "/", "domain": null}]}}]}),
        serde_json::json!({"id": "Case_1"}),
    ] {
        assert!(
            !validator.is_valid(&case(bad.clone())),
            "schema accepted {bad}"
        );
    }
}

#[test]
fn the_corpus_loads_and_every_requirement_has_a_case() {
    let requirements = Requirements::builtin();
    let corpus = match load_corpus(&fixtures_dir(), &requirements) {
        Ok(c) => c,
        Err(errors) => panic!("malformed fixtures:\n{}", lines(&errors)),
    };
    let uncovered: Vec<&str> = requirements
        .iter()
        .filter(|r| {
            !corpus.cases.iter().any(|c| {
                c.case.covers.contains(&r.id)
                    || c.case.steps.iter().any(|s| s.covers.contains(&r.id))
            })
        })
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        uncovered.is_empty(),
        "requirements with no case:\n{}",
        uncovered.join("\n")
    );
    for profile in Profile::ALL {
        let n = corpus
            .cases
            .iter()
            .filter(|c| c.case.profile == *profile)
            .count();
        assert!(n > 0, "profile {profile} has no case");
    }
}

/// The corpus built into the library is exactly the `fixtures/` tree:
/// the same files, the same text, the same cases in the same order.
#[test]
fn the_built_in_corpus_is_the_fixtures_directory() {
    use moin_session_spec::corpus::{builtin_corpus, BUILTIN_FILES};
    let on_disk: Vec<(String, String)> = fixture_files()
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(fixtures_dir()).unwrap();
            let rel = rel.to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(f).unwrap())
        })
        .collect();
    let built_in: Vec<(String, String)> = BUILTIN_FILES
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(built_in, on_disk);
    let requirements = Requirements::builtin();
    let ids = |c: &moin_session_spec::corpus::Corpus| -> Vec<String> {
        c.cases.iter().map(|c| c.case.id.clone()).collect()
    };
    let a = builtin_corpus(&requirements).expect("the built-in corpus loads");
    let b = load_corpus(&fixtures_dir(), &requirements).expect("the corpus loads");
    assert_eq!(ids(&a), ids(&b));
}

/// A scratch fixture directory holding the given files.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moin-session-spec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn load_errors(name: &str, files: &[(&str, &str)]) -> Vec<FixtureError> {
    let dir = scratch(name, files);
    let result = load_corpus(&dir, &Requirements::builtin());
    let _ = std::fs::remove_dir_all(&dir);
    result.expect_err("the corpus must be rejected")
}

const GOOD_CASE: &str = r#"{"id": "m19.t.good", "title": "t", "covers": ["m19.store.list"], "profile": "moin-1.9",
 "start": "2009-03-01T12:00:00Z", "steps": [{"list": {}, "expect": {"sids": []}}]}"#;

#[test]
fn bad_json_names_file_line_column_and_rule() {
    let errors = load_errors("badjson", &[("a.json", "{\"cases\": [\n  {\"id\": }\n]}")]);
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert!(e.file.ends_with("a.json"));
    assert_eq!((e.line, e.column), (2, 10));
    assert!(e.message.ends_with("[rule fixture.json]"), "{e}");
}

#[test]
fn an_unknown_field_is_an_error_not_ignored() {
    let text = GOOD_CASE.replace("\"title\"", "\"titel\": 1, \"title\"");
    let errors = load_errors(
        "unknownfield",
        &[("a.json", &format!("{{\"cases\": [{text}]}}"))],
    );
    assert!(
        errors[0].message.contains("unknown field `titel`"),
        "{}",
        errors[0]
    );
    assert!(errors[0].message.contains("[rule fixture.schema]"));
    assert_eq!(errors[0].line, 1);
}

#[test]
fn an_unknown_requirement_is_located() {
    let text = GOOD_CASE.replace("m19.store.list", "m19.store.lists");
    let errors = load_errors(
        "unknownreq",
        &[("a.json", &format!("{{\"cases\": [\n{text}]}}"))],
    );
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].message.contains("\"m19.store.lists\""),
        "{}",
        errors[0]
    );
    assert!(errors[0]
        .message
        .contains("[rule fixture.unknown-requirement]"));
    assert!(
        errors[0]
            .message
            .contains("did you mean \"m19.store.list\"?"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0].line, 2);
}

#[test]
fn a_duplicate_case_id_names_both_places() {
    let errors = load_errors(
        "dupid",
        &[
            ("a.json", &format!("{{\"cases\": [{GOOD_CASE}]}}")),
            ("b.json", &format!("{{\"cases\": [\n\n{GOOD_CASE}]}}")),
        ],
    );
    assert_eq!(errors.len(), 1);
    let e = &errors[0];
    assert!(e.file.ends_with("b.json"));
    assert_eq!(e.line, 3);
    assert!(e.message.contains("a.json:1"), "{e}");
    assert!(e.message.contains("[rule fixture.duplicate-id]"));
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let errors = load_errors(
        "many",
        &[
            ("a.json", "{\"cases\": ["),
            (
                "b.json",
                &format!(
                    "{{\"cases\": [{}]}}",
                    GOOD_CASE.replace("m19.store.list", "m19.nope")
                ),
            ),
        ],
    );
    assert_eq!(errors.len(), 2);
}

#[test]
fn unbound_symbols_and_reserved_keys_are_rejected() {
    // One new symbol in a list may bind to the one unexplained id; two may not.
    let case = GOOD_CASE.replace("\"sids\": []", "\"sids\": [\"$s1\", \"$s2\"]");
    let header = GOOD_CASE.replace(
        "{\"list\": {}, \"expect\": {\"sids\": []}}",
        "{\"request\": {\"cookies\": {\"header\": \"A=$s1\"}}, \"expect\": {\"new\": true, \"user\": null, \"set_cookies\": []}}",
    );
    assert_breaks(&header, "unboundheader", "fixture.unbound-symbol");
    assert_breaks(&case, "unbound", "fixture.unbound-symbol");
    let case = GOOD_CASE.replace(
        "{\"list\": {}, \"expect\": {\"sids\": []}}",
        "{\"request\": {\"ops\": [{\"get\": {\"key\": \"user.id\"}}]}, \"expect\": {\"new\": true, \"user\": null, \"set_cookies\": [], \"results\": [null]}}",
    );
    assert_breaks(&case, "reserved", "fixture.reserved-key");
}

#[test]
fn a_rejects_case_has_no_steps_and_covers_its_rule() {
    let case = r#"{"id": "m19.t.r", "title": "t", "covers": ["m19.store.list"], "profile": "moin-1.9",
      "config": {"cookie_name": ""}, "start": "2009-03-01T12:00:00Z", "steps": [], "rejects": "m19.config.cookie-name-empty"}"#;
    assert_breaks(case, "rejects", "fixture.rejects");
}

#[test]
fn an_empty_directory_is_an_error() {
    let errors = load_errors("empty", &[]);
    assert!(errors[0].message.contains("[rule fixture.corpus]"));
}

#[test]
fn every_requirement_id_cited_in_the_source_exists() {
    let requirements = Requirements::builtin();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let files: Vec<_> = ["src", "conformance/src"]
        .iter()
        .flat_map(|dir| rust_files(&root.join(dir)))
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("reference/m19/load.rs")),
        "the scan reaches the source files in folders"
    );
    {
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests below `#[cfg(test)]` use made-up IDs on purpose.
            for (n, line) in text
                .lines()
                .enumerate()
                .take_while(|(_, l)| !l.starts_with("#[cfg(test)]"))
            {
                for id in cited_ids(line) {
                    if requirements.get(&id).is_none() {
                        missing.push(format!("{}:{}: {id}", path.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cited but not in the spec:\n{}",
        missing.join("\n")
    );
}

/// Loading a file with the one case `case` fails first on `rule`.
fn assert_breaks(case: &str, tag: &str, rule: &str) {
    let errors = load_errors(tag, &[("a.json", &format!("{{\"cases\": [{case}]}}"))]);
    assert!(
        errors[0].message.contains(&format!("[rule {rule}]")),
        "{}",
        errors[0]
    );
}

/// Requirement IDs a line cites: `r[m1x.…]` or a string literal `"m1x.…"`
/// naming a rule. Patterns with `*` and bare prefixes are not citations.
fn cited_ids(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    // String literals count in code only: a doc comment may show case ids.
    let in_comment = line.trim_start().starts_with("//");
    for (open, close) in [("r[", ']'), ("\"", '"')] {
        if in_comment && open == "\"" {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find(open) {
            rest = &rest[i + open.len()..];
            let Some(end) = rest.find(close) else { break };
            let candidate = &rest[..end];
            if (candidate.starts_with("m16.") || candidate.starts_with("m19."))
                && candidate.split('.').count() == 3
                && moin_session_spec::fixture::is_semantic_id(candidate)
            {
                out.push(candidate.to_owned());
            }
        }
    }
    out
}

#[test]
fn interleaved_requests_must_be_opened_once_and_finished() {
    const OPEN: &str = r#"{"open": {"id": "A"}, "expect": {"new": true, "user": null}}"#;
    const FINISH: &str = r#"{"finish": "A", "expect": {"set_cookies": []}}"#;
    const OPS: &str = r#"{"ops": {"id": "B", "ops": []}}"#;
    const RECONFIGURE: &str = r#"{"reconfigure": {}}"#;
    let with_steps = |steps: &[&str]| {
        GOOD_CASE.replace(
            "{\"list\": {}, \"expect\": {\"sids\": []}}",
            &steps.join(", "),
        )
    };
    for (name, steps, says) in [
        ("unfinished", vec![OPEN], "never finished"),
        ("twice", vec![OPEN, OPEN, FINISH], "still open"),
        ("finish-unopened", vec![FINISH], "not open"),
        ("ops-unopened", vec![OPEN, OPS, FINISH], "not open"),
        (
            "reconfigure-open",
            vec![OPEN, RECONFIGURE, FINISH],
            "reconfigure while",
        ),
    ] {
        let case = with_steps(&steps);
        let errors = load_errors(name, &[("a.json", &format!("{{\"cases\": [{case}]}}"))]);
        assert!(
            errors[0].message.contains("[rule fixture.interleave]")
                && errors[0].message.contains(says),
            "{name}: {}",
            errors[0]
        );
    }
    // A well-formed interleaving loads, and the handle may be reused.
    let case = with_steps(&[OPEN, FINISH, OPEN, FINISH]);
    let dir = scratch(
        "interleave-ok",
        &[("a.json", &format!("{{\"cases\": [{case}]}}"))],
    );
    let loaded = load_corpus(&dir, &Requirements::builtin());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}
