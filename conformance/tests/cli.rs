//! The command line as a user meets it: help, exit codes, JSON output, and
//! errors that name the place.

use std::path::Path;

use moin_session_testkit::cli::{copy_corpus, Cli};
use moin_session_testkit::long::long;
use moin_session_testkit::Scratch;

fn cli() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

/// Runs the CLI: (exit code, stdout, stderr).
fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Option<i32>, String, String) {
    cli().run(args)
}

/// A copy of the corpus in a scratch directory.
fn scratch_corpus(name: &str) -> Scratch {
    let dir = Scratch::new(&format!("cli-{name}"));
    copy_corpus(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures"),
        dir.path(),
    );
    dir
}

#[test]
fn help_describes_commands_and_exit_status() {
    let (code, text, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
    for word in [
        "check",
        "explain",
        "requirements",
        "Exit status",
        "3 when nothing failed",
    ] {
        assert!(text.contains(word), "{word} missing from --help:\n{text}");
    }
    let (_, text, _) = run(&["check", "--help"]);
    assert!(text.contains("--format") && text.contains("--profile") && text.contains("--case"));
    assert!(text.contains("--max-failures"), "{text}");
}

#[test]
fn check_passes_and_prints_a_summary() {
    let (code, text, stderr) = run(&["check"]);
    assert_eq!(code, Some(0), "{text}\n{stderr}");
    assert!(
        text.contains("PASS     m19.lifetime.remember-me-forever"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("0 failed, 0 errored, 0 skipped"),
        "{text}"
    );
}

#[test]
fn check_json_is_one_object_with_summary_and_cases() {
    let (code, stdout, _) = run(&["check", "--format", "json", "--profile", "moin-1.9"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is one JSON value");
    let summary = &v["summary"];
    for k in ["passed", "failed", "errored", "skipped"] {
        assert!(summary[k].is_u64(), "summary.{k}");
    }
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(summary["passed"].as_u64().unwrap() as usize, cases.len());
    let first = &cases[0];
    for k in ["id", "profile", "requirements", "verdict"] {
        assert!(!first[k].is_null(), "cases[0].{k}");
    }
    assert_eq!(first["verdict"], "pass");
    // Which runner, protocol, spec and corpus the report comes from.
    let versions = &v["versions"];
    assert_eq!(versions["runner"], env!("CARGO_PKG_VERSION"));
    assert_eq!(versions["protocol"], 2);
    assert_eq!(versions["corpus"], "built-in");
    for profile in ["moin-1.9", "moin-1.6"] {
        let spec = versions["spec"][profile].as_str().expect("a spec version");
        assert_eq!(spec.split('.').count(), 3, "{spec}");
    }
}

#[test]
fn a_changed_expectation_exits_1_naming_case_step_and_requirement() {
    let dir = scratch_corpus("mutated");
    let file = dir.join("moin-1.9/lifetime.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let changed = text.replacen("\"max_age\": 315360000", "\"max_age\": 315360001", 1);
    assert_ne!(text, changed, "lifetime.json has a forever cookie");
    std::fs::write(&file, changed).unwrap();
    let (code, stdout, _) = run(&["check".as_ref(), "--fixtures".as_ref(), dir.path()]);
    assert_eq!(code, Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("FAIL case"))
        .expect("a FAIL line");
    assert!(
        line.contains(", step ") && line.contains("violates: m19.cookie.max-age; covers: m19."),
        "{line}"
    );
    assert!(
        stdout.contains("max_age: expected 315360001, observed 315360000 (m19.cookie.max-age)"),
        "{stdout}"
    );
    // The report leads with the one violated clause.
    let lead = stdout
        .find("violated clauses:\n  m19.cookie.max-age: 1 case(s)")
        .expect("a violated section");
    assert!(lead < stdout.find("moin-1.6:").unwrap(), "{stdout}");
    assert!(stdout.contains("1 failed"));
}

#[test]
fn a_malformed_fixture_exits_2_naming_file_line_and_rule() {
    let dir = scratch_corpus("malformed");
    std::fs::write(
        dir.join("moin-1.9/zz-broken.json"),
        "{\"cases\": [\n  {\"id\": 3}\n]}",
    )
    .unwrap();
    let (code, _, stderr) = run(&["check".as_ref(), "--fixtures".as_ref(), dir.path()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("zz-broken.json:2:"), "{stderr}");
    assert!(stderr.contains("[rule fixture.schema]"), "{stderr}");
    assert!(stderr.contains("no case was run"));
}

#[test]
fn explain_prints_a_transcript_and_unknown_ids_are_errors() {
    let (code, text, _) = run(&["explain", "m19.lifetime.remember-me-forever-restored"]);
    if code == Some(2) {
        panic!("the corpus has no case m19.lifetime.remember-me-forever-restored");
    }
    assert!(
        text.contains("Set-Cookie: MOIN_SESSION_8080_ROOT=$s1"),
        "{text}"
    );
    assert!(text.contains("verdict: pass"));
    let (code, _, stderr) = run(&["explain", "m19.no.such-case"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no case with id"));
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = run(&["check", "--profile", "moin-0.1"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown profile"));
    let (code, _, _) = run(&["check", "--case", "m19.nothing-matches-this"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = run(&["check", "--requirement", "m19.not.a-requirement"]);
    assert_eq!(code, Some(2));
}

#[test]
fn list_shows_the_selected_cases_without_running_them() {
    let (code, text, _) = run(&["check", "--list", "--case", "m19.store"]);
    assert_eq!(code, Some(0));
    let ids: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| id.starts_with("m19.store.")), "{text}");
    assert!(!text.contains("passed"), "--list runs nothing: {text}");
    let (code, _, err) = run(&["check", "--list", "--case", "m19.persist.anon"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("\"m19.persist.anon*\""),
        "the hint suggests a pattern: {err}"
    );
}

/// The runner carries its corpus: run from `/`, far from any checkout, it
/// checks every case of the built-in corpus, and `--version` names the
/// spec, protocol and corpus it judges by.
#[test]
fn the_runner_needs_no_checkout_and_names_its_versions() {
    let out = cli()
        .command()
        .current_dir("/")
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["versions"]["corpus"], "built-in");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() > 200);
    assert!(cases
        .iter()
        .all(|c| c["file"].as_str().unwrap().starts_with("fixtures/")));
    let (code, text, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(text.contains("spec: moin-1.6 "), "{text}");
    assert!(text.contains("corpus: built-in ("), "{text}");
}

/// A mistyped case id, prefix or requirement ID gets the nearest real one.
#[test]
fn mistyped_ids_get_a_did_you_mean() {
    for (args, wanted) in [
        (vec!["check", "--case", "m19.lod"], "did you mean m19.load?"),
        (
            vec!["check", "--requirement", "m19.load.no-cooki"],
            "did you mean m19.load.no-cookie?",
        ),
        (
            vec!["explain", "m19.load.no-cookie-fresh-every-tim"],
            "did you mean m19.load.no-cookie-fresh-every-time?",
        ),
    ] {
        let (code, _, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
    }
}

/// `explain` shows the configuration the case runs with.
#[test]
fn explain_shows_the_configuration() {
    let (code, stdout, _) = run(&["explain", "m19.cookie.path-configured"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("configuration (") && stdout.contains("\"cookie_path\":\"/wiki\""),
        "{stdout}"
    );
}

#[test]
fn database_backends_are_checked_before_any_case_runs() {
    // A database path whose directory does not exist: named, exit 2.
    let (code, _, stderr) = run(&[
        "check",
        "--backend",
        "reference-sqlite:/nonexistent-moin-dir/s.db",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent-moin-dir"), "{stderr}");
    // A directory given as a database file.
    let tmp = format!("reference-sqlite:{}", std::env::temp_dir().display());
    let (code, _, stderr) = run(&["check", "--backend", &tmp]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is a directory"), "{stderr}");
    // Not a Redis URL: refused while parsing the arguments.
    let (code, _, stderr) = run(&["check", "--backend", "reference-redis:localhost:6379"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("not a Redis URL"), "{stderr}");
    // A server that does not answer (port 1 on loopback): named, with how
    // to start one.
    let (code, _, stderr) = run(&["check", "--backend", "reference-redis:redis://127.0.0.1:1/"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("redis://127.0.0.1:1/"), "{stderr}");
    assert!(stderr.contains("redis-server"), "{stderr}");
}

/// The durable SQLite store from the command line: the cleanup cases by
/// default; the whole corpus in the long run (`MOIN_LONG_TESTS=1`), where
/// the crowd cases make 2,000 durable saves each.
#[test]
fn the_sqlite_backend_runs_from_the_command_line() {
    let dir = Scratch::new("cli-sqlite");
    let db = format!("reference-sqlite:{}", dir.join("s.db").display());
    let scope: &[&str] = if long() {
        &[]
    } else {
        &["--case", "m19.cleanup"]
    };
    let (code, stdout, _) = run(&[&["check", "--backend", &db][..], scope].concat());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("backend: reference-sqlite"), "{stdout}");
    assert!(
        stdout.contains(" 0 failed, 0 errored, 0 skipped"),
        "{stdout}"
    );
    assert!(dir.join("s.db").exists());
}
