//! Clean exits under hostile adapters (issue 24, item 3): no adapter
//! outlives the runner on SIGINT, SIGTERM or SIGHUP; a step timeout sends
//! SIGTERM before SIGKILL; temporary stores (directories, SQLite files,
//! Redis keys) are removed on every exit path; an interrupted run writes
//! the partial report it has, marked interrupted.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use moin_session_testkit::cli::Ran;
use moin_session_testkit::hostile::{marker, processes_with_env, redis_dbsize, signal};
use moin_session_testkit::RedisServer;
use moin_session_testkit::Scratch;

const CLI: &str = env!("CARGO_BIN_EXE_moin-session-conformance");
const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

/// Starts the runner with `args`, temporary files under `tmp` and the
/// environment `mark`; sends `sig` once `ready` has passed; returns how
/// the run ended and how long the runner took after the signal.
fn interrupt(
    args: &[&str],
    tmp: &Scratch,
    mark: &str,
    ready: Duration,
    sig: i32,
) -> (Ran, Duration) {
    let (name, value) = mark.split_once('=').expect("NAME=value");
    let child = Command::new(CLI)
        .args(args)
        .env("TMPDIR", tmp.path())
        .env(name, value)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(ready);
    signal(&child, sig);
    let sent = Instant::now();
    let ran = Ran::lossy(child.wait_with_output().unwrap());
    (ran, sent.elapsed())
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

/// r[proto.runner.exit], the Done-when case: `timeout -s INT` of a hung
/// run with `--jobs 8` leaves no adapter and no temporary store, and a
/// partial report.
#[test]
fn an_interrupted_hung_parallel_run_leaves_nothing_and_reports_what_it_has() {
    let tmp = Scratch::new("sigint-jobs");
    let mark = marker("sigint-jobs");
    // Each adapter has a temporary file store of its own, and hangs at its
    // first request; the runner waits for all eight.
    let adapter = format!("{ADAPTER} --backend reference-file --misbehave hang-at-request=1");
    let args = ["check", "--adapter", &adapter, "--jobs", "8"];
    let (ran, took) = interrupt(&args, &tmp, &mark, Duration::from_secs(3), libc::SIGINT);
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
    for (sig, name, status) in [
        (libc::SIGTERM, "SIGTERM", 143),
        (libc::SIGHUP, "SIGHUP", 129),
    ] {
        let tmp = Scratch::new("sigterm");
        let mark = marker(name);
        let adapter = format!("{ADAPTER} --backend reference-sqlite --misbehave hang-at-request=1");
        let args = ["check", "--adapter", &adapter, "--jobs", "2"];
        let (ran, _) = interrupt(&args, &tmp, &mark, Duration::from_secs(2), sig);
        ran.exits(status).says(&[&format!("interrupted by {name}")]);
        nothing_left(&mark, &tmp, name);
    }
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
    let (ran, _) = interrupt(&args, &tmp, &mark, Duration::from_secs(2), libc::SIGINT);
    ran.exits(130)
        .says(&["interrupted by SIGINT", "trace(s) not run"]);
    assert_eq!(tmp.entries(), Vec::<String>::new(), "temporary stores left");
}

/// An interrupted soak over the file and SQLite stores removes them.
#[test]
fn an_interrupted_soak_removes_its_temporary_store() {
    for backend in ["reference-file", "reference-sqlite"] {
        let tmp = Scratch::new("soak");
        let mark = marker("soak");
        let args = ["check", "--soak", "30s", "--backend", backend];
        let (ran, took) = interrupt(&args, &tmp, &mark, Duration::from_secs(2), libc::SIGINT);
        ran.exits(130).says(&["interrupted by SIGINT"]);
        assert!(took < Duration::from_secs(5), "{backend}: took {took:?}");
        assert_eq!(tmp.entries(), Vec::<String>::new(), "{backend}: store left");
    }
}

/// An interrupted soak over Redis removes its keys from the server.
#[test]
fn an_interrupted_redis_soak_removes_its_keys() {
    let server = RedisServer::start().expect("a Redis server for this test");
    let tmp = Scratch::new("redis");
    let mark = marker("redis");
    let backend = format!("reference-redis:{}", server.url());
    let args = ["check", "--soak", "30s", "--backend", &backend];
    let (ran, _) = interrupt(&args, &tmp, &mark, Duration::from_secs(2), libc::SIGINT);
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
    let tmp = Scratch::new("claim");
    let mark = marker("claim");
    // Passes its first cases, then hangs.
    let adapter = format!("{ADAPTER} --misbehave hang-at-request=40");
    let args = ["check", "--profile", "moin-1.9", "--adapter", &adapter];
    let (ran, _) = interrupt(&args, &tmp, &mark, Duration::from_secs(3), libc::SIGINT);
    let stdout = ran
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

/// Every format marks an interrupted run (issue 24, item 3): HTML in its
/// title and a paragraph, JUnit as an errored `run` test; both stay
/// well-formed.
#[test]
fn an_interrupted_run_is_marked_in_html_and_junit() {
    for format in ["html", "junit"] {
        let tmp = Scratch::new("formats");
        let mark = marker(format);
        let adapter = format!("{ADAPTER} --misbehave hang-at-request=40");
        let args = ["check", "--profile", "moin-1.9", "--adapter", &adapter];
        let args = [&args[..], &["--format", format]].concat();
        let (ran, _) = interrupt(&args, &tmp, &mark, Duration::from_secs(3), libc::SIGINT);
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
}
