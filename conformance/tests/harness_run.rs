//! The Rust harness as its users run it: `Harness::run` in a test binary
//! of its own (`harness = false`), run by `cargo test`, read as a user
//! reads it. Each trial below runs this binary again as a child that runs
//! one harness, with cargo's arguments and environment, and checks its
//! exit status and what it printed: a failing case names the `cargo test`
//! filter that prints its transcript, and that filter does; the run ends
//! with one block of violated clauses; a declared deviation never found
//! fails the run in the harness's terms; a run that checked nothing exits
//! with status 3.

use std::process::{Command, ExitCode};

use libtest_mimic::{Arguments, Failed, Trial};
use moin_session_conformance::harness::Harness;
use moin_session_conformance::proof::faulty::{Fault, Faulty};
use moin_session_spec::{MemoryStore, Model, Profile};
use moin_session_testkit::backends::Limited;

/// Set in a child: which harness it runs.
const CHILD: &str = "MOIN_HARNESS_RUN_CHILD";
const PACKAGE: &str = "moin-session-conformance";

fn main() -> ExitCode {
    if let Ok(which) = std::env::var(CHILD) {
        return child(&which);
    }
    let trials = vec![
        Trial::test(
            "a_failing_case_names_the_filter_that_prints_its_transcript",
            failing,
        ),
        Trial::test("a_deviation_never_found_fails_the_run_naming_it", unused),
        Trial::test("a_run_that_checked_nothing_exits_with_status_3", nothing),
    ];
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

/// The harness a child runs, as a user's `main` would.
fn child(which: &str) -> ExitCode {
    let harness = match which {
        "faulty" => Harness::new("faulty", || Faulty::new(Model::new(), Fault::MaxAgePlusOne)),
        "unused" => Harness::for_store("memory", MemoryStore::new)
            .deviation("m19.cookie.httponly", "we always send HttpOnly"),
        "nothing" => Harness::new("nothing", || Limited::new(Model::new()).without_requests()),
        _ => return ExitCode::from(2),
    };
    harness.profiles(&[Profile::Moin19]).run()
}

/// Runs a child with libtest's arguments `args`, as `cargo test -p
/// PACKAGE --test harness_run -- ARGS` would: (exit status, stdout,
/// stderr).
fn run(which: &str, args: &[&str]) -> Result<(Option<i32>, String, String), Failed> {
    let exe = std::env::current_exe().map_err(|e| format!("this test's binary: {e}"))?;
    let out = Command::new(exe)
        .env(CHILD, which)
        .env("CARGO_PKG_NAME", PACKAGE)
        .args(args)
        .output()
        .map_err(|e| format!("the child does not start: {e}"))?;
    Ok((
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn check(ok: bool, what: &str, out: &(Option<i32>, String, String)) -> Result<(), Failed> {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what}\nexit status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.0, out.1, out.2
        )
        .into())
    }
}

const CASE: &str = "m19.cookie.max-age-is-lifetime";

fn failing() -> Result<(), Failed> {
    let out = run("faulty", &["m19.cookie.max-age", "--test-threads", "1"])?;
    check(out.0 == Some(101), "libtest's failure status", &out)?;
    let hint = format!("next: `cargo test -p {PACKAGE} --test harness_run -- {CASE} --exact`");
    check(out.1.contains(&hint), &format!("the hint {hint:?}"), &out)?;
    check(!out.1.contains("--save-failures"), "no CLI flag", &out)?;
    check(
        out.2
            .contains("violated clauses (over every failing case):\n  m19.cookie.max-age: ")
            && out.2.matches("violated clauses").count() == 1,
        "one closing block of violated clauses",
        &out,
    )?;
    // The hint, followed: the case alone, with its transcript.
    let out = run("faulty", &[CASE, "--exact"])?;
    check(
        out.0 == Some(101)
            && out.1.contains(&format!("case {CASE}: "))
            && out.1.contains("✗ set_cookies[")
            && out.1.contains("verdict: fail at step"),
        "the transcript of the case",
        &out,
    )
}

fn unused() -> Result<(), Failed> {
    let out = run("unused", &["m19.cookie.httponly"])?;
    check(out.0 == Some(1), "exit status 1", &out)?;
    check(
        out.1.contains("test result: ok."),
        "every test passed; the declaration fails the run",
        &out,
    )?;
    check(
        out.2
            .contains("error: declared deviation m19.cookie.httponly was exercised by")
            && out.2.contains("the harness's .deviation(…) calls")
            && !out.2.contains("expectations file"),
        "the unused declaration named, in the harness's terms",
        &out,
    )
}

fn nothing() -> Result<(), Failed> {
    let out = run("nothing", &["m19.cookie"])?;
    check(out.0 == Some(3), "exit status 3", &out)?;
    check(
        out.2.contains("nothing was checked: no case of moin-1.9"),
        "the profile of which nothing was checked",
        &out,
    )
}
