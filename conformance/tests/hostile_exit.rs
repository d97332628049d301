//! Clean exits under hostile adapters (issue 24, item 3): no adapter
//! outlives the runner on SIGINT, SIGTERM or SIGHUP; a step timeout sends
//! SIGTERM before SIGKILL; temporary stores (directories, SQLite files,
//! Redis keys) are removed on every exit path; an interrupted run writes
//! the partial report it has, marked interrupted.
//!
//! Each test signals the runner once the run has reached the moment it is
//! about (the adapters hung, the temporary store made, keys on the Redis
//! server), never after a fixed sleep: a hanging adapter is started with
//! `2>>LOG` and says there that it hangs. Independent runs go side by
//! side.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use moin_session_testkit::cli::{sh_quote, Ran};
use moin_session_testkit::hostile::{
    lines_holding, marker, processes_with_env, redis_dbsize, signal, wait_ready,
};
use moin_session_testkit::RedisServer;
use moin_session_testkit::Scratch;

const CLI: &str = env!("CARGO_BIN_EXE_moin-session-conformance");
const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

/// What a hanging adapter writes to its standard error as it hangs.
const HANGING: &str = "adapter: hanging on purpose at request";

/// Starts the runner with `args`, temporary files under `tmp` and the
/// environment `mark`; sends `sig` once `ready` holds (`what`: its name
/// in a failure); returns how the run ended and how long the runner took
/// after the signal.
fn interrupt(
    args: &[&str],
    tmp: &Scratch,
    mark: &str,
    what: &str,
    ready: impl FnMut() -> bool,
    sig: i32,
) -> (Ran, Duration) {
    let (name, value) = mark.split_once('=').expect("NAME=value");
    let mut child = Command::new(CLI)
        .args(args)
        .env("TMPDIR", tmp.path())
        .env(name, value)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = wait_ready(&mut child, what, ready) {
        signal(&child, libc::SIGINT);
        let ran = Ran::lossy(child.wait_with_output().unwrap());
        panic!("{e}\n{}\n{}", ran.stdout, ran.stderr);
    }
    signal(&child, sig);
    let sent = Instant::now();
    let ran = Ran::lossy(child.wait_with_output().unwrap());
    (ran, sent.elapsed())
}

/// The adapter, with the options `options`, hanging at its request `n`
/// and saying so in `log` (where all its standard error goes).
fn hanging(options: &str, n: u32, log: &Path) -> String {
    let log = sh_quote(&log.display().to_string());
    format!("{ADAPTER} {options} --misbehave hang-at-request={n} 2>>{log}")
}

/// Whether `count` adapters have said in `log` that they hang.
fn hung(log: &Path, count: usize) -> impl FnMut() -> bool + '_ {
    move || lines_holding(log, HANGING) >= count
}

/// Whether the run has made its temporary store in `tmp`.
fn store_made(tmp: &Scratch) -> impl FnMut() -> bool + '_ {
    move || !tmp.entries().is_empty()
}

/// Fails if an adapter marked `mark` lives on, or a temporary store is
/// left in `tmp` (`what`: the run).
fn nothing_left(mark: &str, tmp: &Scratch, what: &str) {
    assert_eq!(
        survivors(mark),
        Vec::<String>::new(),
        "{what}: adapters left"
    );
    assert_eq!(tmp.entries(), Vec::<String>::new(), "{what}: stores left");
}

/// Waits up to a second for the processes marked `mark` to be gone.
fn survivors(mark: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let left = processes_with_env(mark);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a run of hanging adapters needs: its temporary directory (which
/// must be empty at the end), a directory of its own for the adapters'
/// standard-error log (keep it alive for the run), the marker that finds
/// the run's adapters, and the log's path.
fn hanging_run(name: &str, mark: &str) -> (Scratch, Scratch, String, PathBuf) {
    let logs = Scratch::new(&format!("{name}-log"));
    let log = logs.join("stderr");
    (Scratch::new(name), logs, marker(mark), log)
}

/// r[proto.runner.exit], the Done-when case: `timeout -s INT` of a hung
/// run with `--jobs 8` leaves no adapter and no temporary store, and a
/// partial report.
#[test]
fn an_interrupted_hung_parallel_run_leaves_nothing_and_reports_what_it_has() {
    let (tmp, _logs, mark, log) = hanging_run("sigint-jobs", "sigint-jobs");
    // Each adapter has a temporary file store of its own, and hangs at its
    // first request; the runner waits for all eight.
    let adapter = hanging("--backend reference-file", 1, &log);
    let args = ["check", "--adapter", &adapter, "--jobs", "8"];
    let eight = hung(&log, 8);
    let (ran, took) = interrupt(&args, &tmp, &mark, "8 hung adapters", eight, libc::SIGINT);
    ran.exits(130).says(&[
        "interrupted by SIGINT: this is a partial report",
        "selected case(s) not run",
    ]);
    assert!(took < Duration::from_secs(5), "took {took:?} after SIGINT");
    nothing_left(&mark, &tmp, "SIGINT");
}

/// SIGTERM (a CI timeout) and SIGHUP (a closed terminal) end the run as
/// cleanly, with their own exit status.
#[test]
fn sigterm_and_sighup_end_the_run_as_cleanly() {
    let one = |sig, name: &str, status| {
        let (tmp, _logs, mark, log) = hanging_run("sigterm", name);
        let adapter = hanging("--backend reference-sqlite", 1, &log);
        let args = ["check", "--adapter", &adapter, "--jobs", "2"];
        let (ran, _) = interrupt(&args, &tmp, &mark, "2 hung adapters", hung(&log, 2), sig);
        ran.exits(status).says(&[&format!("interrupted by {name}")]);
        nothing_left(&mark, &tmp, name);
    };
    // Two independent runs, side by side.
    std::thread::scope(|scope| {
        scope.spawn(|| one(libc::SIGTERM, "SIGTERM", 143));
        scope.spawn(|| one(libc::SIGHUP, "SIGHUP", 129));
    });
}

/// An interrupted random run reports the traces it ran, marked
/// interrupted, with the count of those it did not.
#[test]
fn an_interrupted_random_run_writes_its_partial_report() {
    let tmp = Scratch::new("random");
    let mark = marker("random");
    let args = [
        "check",
        "--random",
        "1000000",
        "--backend",
        "reference-file",
    ];
    let (ran, _) = interrupt(
        &args,
        &tmp,
        &mark,
        "the run's temporary store",
        store_made(&tmp),
        libc::SIGINT,
    );
    ran.exits(130)
        .says(&["interrupted by SIGINT", "trace(s) not run"]);
    assert_eq!(tmp.entries(), Vec::<String>::new(), "temporary stores left");
}

/// An interrupted soak over the file and SQLite stores removes them.
#[test]
fn an_interrupted_soak_removes_its_temporary_store() {
    let one = |backend: &str| {
        let tmp = Scratch::new("soak");
        let mark = marker("soak");
        let args = ["check", "--soak", "30s", "--backend", backend];
        let made = store_made(&tmp);
        let (ran, took) = interrupt(&args, &tmp, &mark, "the soak's store", made, libc::SIGINT);
        ran.exits(130).says(&["interrupted by SIGINT"]);
        assert!(took < Duration::from_secs(5), "{backend}: took {took:?}");
        assert_eq!(tmp.entries(), Vec::<String>::new(), "{backend}: store left");
    };
    // Two independent runs, side by side.
    std::thread::scope(|scope| {
        scope.spawn(|| one("reference-file"));
        scope.spawn(|| one("reference-sqlite"));
    });
}

/// An interrupted soak over Redis removes its keys from the server.
#[test]
fn an_interrupted_redis_soak_removes_its_keys() {
    let server = RedisServer::start().expect("a Redis server for this test");
    let tmp = Scratch::new("redis");
    let mark = marker("redis");
    let backend = format!("reference-redis:{}", server.url());
    let args = ["check", "--soak", "30s", "--backend", &backend];
    // Signalled once the soak has keys on the server.
    let keys = || redis_dbsize(server.port()).is_ok_and(|n| n > 0);
    let (ran, _) = interrupt(&args, &tmp, &mark, "keys on the server", keys, libc::SIGINT);
    ran.exits(130);
    assert_eq!(
        redis_dbsize(server.port()),
        Ok(0),
        "keys left on the server"
    );
}

/// r[proto.runner.timeout]: a timed-out adapter gets SIGTERM first, and a
/// moment to clean up, before SIGKILL.
#[test]
fn a_step_timeout_sends_sigterm_before_sigkill() {
    let tmp = Scratch::new("term");
    let flag = tmp.path().join("got-sigterm");
    let script = format!(
        r#"trap 'touch {flag}; exit 0' TERM
read line
echo '{{"seq":1,"type":"hello","protocol":1,"implementation":{{"name":"trap","version":"0","language":"sh"}},"profiles":["moin-1.9"],"capabilities":[]}}'
read line
echo '{{"seq":2,"type":"ok"}}'
read line
sleep 60 & wait"#,
        flag = flag.display()
    );
    let file = tmp.path().join("adapter.sh");
    std::fs::write(&file, script).unwrap();
    let adapter = format!("sh {}", file.display());
    let out = Command::new(CLI)
        .args(["check", "--adapter", &adapter, "--step-timeout", "0.5"])
        .args(["--case", "m19.load.no-cookie-fresh-every-time"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("step timeout"), "{stdout}");
    assert!(flag.exists(), "the adapter never saw SIGTERM: {stdout}");
}

/// An interrupted run claims nothing: the cases it finished passed, but
/// what it did not run was not checked.
#[test]
fn an_interrupted_run_makes_no_conformance_claim() {
    let stdout = interrupted_moin_19("claim", "claim", &[])
        .exits(130)
        .says(&["no conformance claim (the run did not finish): moin-1.9"])
        .stdout;
    let passed: usize = stdout
        .lines()
        .find(|l| l.contains(" passed, ") && l.starts_with(|c: char| c.is_ascii_digit()))
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(passed > 0, "some cases passed before the signal: {stdout}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("conformance claim:")),
        "{stdout}"
    );
}

/// `check --profile moin-1.9` (and `extra`) of an adapter that passes its
/// first 40 requests, then hangs: interrupted (SIGINT) once it hangs.
fn interrupted_moin_19(name: &str, mark: &str, extra: &[&str]) -> Ran {
    let (tmp, _logs, mark, log) = hanging_run(name, mark);
    let adapter = hanging("", 40, &log);
    let args = ["check", "--profile", "moin-1.9", "--adapter", &adapter];
    let args = [&args[..], extra].concat();
    let hangs = hung(&log, 1);
    interrupt(&args, &tmp, &mark, "a hung adapter", hangs, libc::SIGINT).0
}

/// Every format marks an interrupted run (issue 24, item 3): HTML in its
/// title and a paragraph, JUnit as an errored `run` test; both stay
/// well-formed.
#[test]
fn an_interrupted_run_is_marked_in_html_and_junit() {
    // The two formats' runs are independent: side by side.
    std::thread::scope(|scope| {
        scope.spawn(|| interrupted_report_is_marked("html"));
        scope.spawn(|| interrupted_report_is_marked("junit"));
    });
}

/// An interrupted run's report in `format` is well-formed and marked.
fn interrupted_report_is_marked(format: &str) {
    let ran = interrupted_moin_19("formats", format, &["--format", format]);
    let stdout = ran.exits(130).says(&["selected case(s) not run"]).stdout;
    let doc = roxmltree::Document::parse(stdout.trim_start_matches("<!DOCTYPE html>\n"))
        .unwrap_or_else(|e| panic!("{format}: not well-formed: {e}\n{stdout}"));
    let marked = doc.descendants().any(|n| {
        n.text()
            .is_some_and(|t| t.contains("interrupted by SIGINT: this is a partial report"))
    });
    assert!(marked, "{format}: {stdout}");
    if format == "junit" {
        let run = doc
            .descendants()
            .find(|n| n.attribute("name") == Some("run"))
            .expect("a run suite");
        assert_eq!(run.attribute("errors"), Some("1"), "{stdout}");
    }
}
