//! Hostile input (issue 16): corrupted fixture trees, expectations files
//! and command lines. None panics (exit 101); each is an error (exit 2)
//! naming the place and the rule.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = cli().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("moin-hostile-in-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A one-case fixture file with this start and these steps.
fn case(id: &str, start: &str, steps: &str) -> String {
    format!(
        r#"{{"cases": [{{"id": "{id}", "title": "t", "covers": ["m19.load.no-cookie"], "profile": "moin-1.9",
  "config": {{"cookie_lifetime": [1, 12]}}, "start": "{start}",
  "steps": [{steps}]}}]}}"#
    )
}

const REQUEST: &str = r#"{"request": {}, "expect": {"new": true, "user": null, "set_cookies": [
  {"name": "MOIN_SESSION_8080_ROOT", "value": "$s1", "max_age": 3600, "expires": "2009-03-01T13:00:00Z",
   "path": "/", "domain": null, "secure": false, "httponly": false}]}}"#;

/// Every command that loads the corpus, on `dir`: each exits 2, never 101,
/// and says `needle` on stderr.
fn every_command_refuses(dir: &Path, id: &str, needle: &str) {
    let d = dir.to_str().unwrap();
    for args in [
        vec!["check", "--fixtures", d],
        vec!["check", "--list", "--fixtures", d],
        vec!["explain", id, "--fixtures", d],
        vec!["requirements", "--fixtures", d],
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn huge_advances_are_errors_not_overflows() {
    for advance in [
        "99999999999999999999d",
        "9000000000000000h9000000000000000h",
        "106751991167300d",
        "3650001d",
    ] {
        let dir = scratch("advance");
        let steps = format!(r#"{{"advance": "{advance}"}}, {REQUEST}"#);
        std::fs::write(
            dir.join("a.json"),
            case("m19.load.x", "2009-03-01T12:00:30Z", &steps),
        )
        .unwrap();
        every_command_refuses(&dir, "m19.load.x", "[rule fixture.advance]");
        let (_, _, stderr) = run(&["check", "--fixtures", dir.to_str().unwrap()]);
        assert!(stderr.contains("a.json:3:"), "the place is named: {stderr}");
    }
}

#[test]
fn a_clock_past_the_year_9000_or_before_1970_is_an_error() {
    for (start, steps) in [
        (
            "8999-12-31T00:00:00Z",
            format!(r#"{{"advance": "400d"}}, {REQUEST}"#),
        ),
        ("9999-12-31T23:59:59Z", REQUEST.to_owned()),
        ("0001-01-01T00:00:00Z", REQUEST.to_owned()),
        (
            "2009-03-01T12:00:30Z",
            format!(r#"{{"advance": "3650000d"}}, {{"advance": "3650000d"}}, {REQUEST}"#),
        ),
    ] {
        let dir = scratch("clock");
        std::fs::write(dir.join("c.json"), case("m19.load.y", start, &steps)).unwrap();
        every_command_refuses(&dir, "m19.load.y", "[rule fixture.clock]");
    }
}

#[test]
fn serde_wording_is_replaced_by_the_fixture_format() {
    for (text, needle) in [
        ("[]", "a fixture file object"),
        (r#"{"cases": [[]]}"#, "a case object"),
        (
            &case("m19.load.z", "2009-03-01T12:00:30Z", REQUEST).replace("[1, 12]", "\"x\""),
            "`cookie_lifetime` must be a number",
        ),
        (
            &case(
                "m19.load.d",
                "2009-03-01T12:00:30Z",
                &REQUEST.replace(
                    "\"user\": null,",
                    &format!(
                        "\"user\": null, \"results\": {}1{},",
                        "[".repeat(5000),
                        "]".repeat(5000)
                    ),
                ),
            ),
            "nests deeper than 128 levels",
        ),
    ] {
        let dir = scratch("wording");
        std::fs::write(dir.join("w.json"), text).unwrap();
        let (code, _, stderr) = run(&["check", "--fixtures", dir.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        for serde in ["struct ", "untagged", "FixtureFile", "with 2 elements"] {
            assert!(!stderr.contains(serde), "serde's wording leaks: {stderr}");
        }
        assert!(stderr.contains("[rule fixture."), "{stderr}");
    }
}

#[test]
fn a_fixture_file_that_is_not_utf8_is_located() {
    let dir = scratch("utf8");
    let mut bytes = case("m19.load.u", "2009-03-01T12:00:30Z", REQUEST).into_bytes();
    bytes.extend(b"\n\xff");
    let line = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    std::fs::write(dir.join("u.json"), bytes).unwrap();
    let (code, _, stderr) = run(&["check", "--fixtures", dir.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("u.json:{line}:1: ")) && stderr.contains("not UTF-8"),
        "{stderr}"
    );
}

#[test]
fn directory_links_are_never_followed() {
    let dir = scratch("links");
    std::fs::write(
        dir.join("ok.json"),
        case("m19.load.ok", "2009-03-01T12:00:30Z", REQUEST),
    )
    .unwrap();
    std::os::unix::fs::symlink(".", dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("up")).unwrap();
    let (code, _, stderr) = run(&["check", "--fixtures", dir.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.matches("a symbolic link").count(), 2, "{stderr}");
    assert!(stderr.contains("loop: a symbolic link to .;"), "{stderr}");
    assert!(!stderr.contains("duplicate case id"), "{stderr}");
    assert!(stderr.contains("[rule fixture.corpus]"), "{stderr}");
}

#[test]
fn a_file_of_ten_thousand_cases_loads_in_linear_time() {
    let one = |n: usize| {
        format!(
            r#"{{"id": "m19.load.many-{n}", "title": "t", "covers": ["m19.load.no-cookie"], "profile": "moin-1.9",
  "config": {{"cookie_lifetime": [1, 12]}}, "start": "2009-03-01T12:00:30Z",
  "steps": [{REQUEST}]}}"#
        )
    };
    let time = |n: usize| {
        let cases: Vec<String> = (0..n).map(one).collect();
        let text = format!("{{\"cases\": [\n{}\n]}}", cases.join(",\n"));
        let files = vec![(PathBuf::from("many.json"), text)];
        let requirements = moin_session_spec::requirements::Requirements::builtin();
        let started = Instant::now();
        let corpus = moin_session_spec::fixture::load_texts(files, &requirements).unwrap();
        assert_eq!(corpus.cases.len(), n);
        started.elapsed()
    };
    let small = time(1000);
    let large = time(10_000);
    // Linear: ten times the cases, about ten times the time (quadratic
    // would be a hundred).
    assert!(
        large < small * 30 + Duration::from_millis(200),
        "1000 cases: {small:?}; 10000 cases: {large:?}"
    );
}

#[test]
fn option_values_out_of_range_are_usage_errors() {
    for (args, needle) in [
        (vec!["--step-timeout", "1e308"], "out of range"),
        (
            vec!["--step-timeout", "99999999999999999999"],
            "out of range",
        ),
        (vec!["--step-timeout", "-1"], "out of range"),
        (vec!["--step-timeout", "0"], "out of range"),
        (vec!["--step-timeout", "NaN"], "out of range"),
        (vec!["--step-timeout", "soon"], "not a number"),
        (vec!["--random", "-5"], "out of range"),
        (vec!["--random", "0"], "out of range"),
        (vec!["--random", "99999999999999999999"], "out of range"),
        (vec!["--random", "2", "--seed", "-1"], "out of range"),
        (
            vec!["--random", "2", "--max-failures", "-3"],
            "out of range",
        ),
    ] {
        let mut all = vec!["check", "--adapter", "true"];
        all.extend(&args);
        let (code, _, stderr) = run(&all);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("unexpected argument"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_file_store_directory_that_does_not_exist_is_not_created() {
    let dir = scratch("nostore").join("no/such/dir");
    let backend = format!("reference-file:{}", dir.display());
    let (code, _, stderr) = run(&["check", "--case", "m19.store", "--backend", &backend]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no such directory"), "{stderr}");
    assert!(!dir.exists());
}

#[test]
fn duplicate_expectations_are_rejected() {
    let dir = scratch("expect");
    let file = dir.join("known.json");
    let entry = r#"{"case": "m19.load.no-cookie-fresh-session", "reason": "r"}"#;
    std::fs::write(
        &file,
        format!(r#"{{"known_failures": [{entry}, {entry}]}}"#),
    )
    .unwrap();
    let (code, _, stderr) = run(&["check", "--expectations", file.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("listed twice"), "{stderr}");
    std::fs::write(&file, "[1]").unwrap();
    let (code, _, stderr) = run(&["check", "--expectations", file.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("known.json:1:") && !stderr.contains("struct "),
        "{stderr}"
    );
}
