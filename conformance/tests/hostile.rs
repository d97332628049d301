//! The suite under hostile backends (issue 16): no false pass, no false
//! error. A backend that issues malformed sids fails; one that implements
//! nothing makes the run fail; one that writes Latin-1 to stderr passes
//! like any correct backend; protocol breaches are named for what they
//! are; a random run against a crashing adapter ends in seconds with one
//! collapsed error.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

/// Runs the CLI: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = cli().args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn misbehaving(how: &str) -> String {
    format!("{ADAPTER} --misbehave {how}")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("moin-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// r[m19.cookie.sid-form], r[m16.anon.name-form]: an adapter whose only
/// fault is the form of the values it issues (`SESS.1`, `SESS.2`, …,
/// mapped back when they return) fails in both profiles, blamed on the
/// form clause.
#[test]
fn a_malformed_sid_adapter_fails_in_both_profiles() {
    let (code, stdout, _) = run(&["check", "--adapter", &misbehaving("bad-sids")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("observed \"SESS.1\"") && stdout.contains("[r[m19.cookie.sid-form]]"),
        "{stdout}"
    );
    assert!(stdout.contains("[r[m16.anon.name-form]]"), "{stdout}");
    // In random mode too.
    let (code, stdout, _) = run(&[
        "check",
        "--random",
        "20",
        "--adapter",
        &misbehaving("bad-sids"),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("m19.cookie.sid-form"), "{stdout}");
}

/// r[proto.command.mandatory]: a backend that declines everything fails:
/// every case errors (a decline of a mandatory command is no skip), in
/// corpus and in random mode.
#[test]
fn an_adapter_that_supports_nothing_makes_the_run_fail() {
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":1,"implementation":{"name":"nothing","version":"0","language":"sh"},"profiles":["moin-1.9","moin-1.6"],"capabilities":[]}'; while read line; do seq=$(echo "$line" | sed 's/.*"seq":\([0-9]*\).*/\1/'); case "$line" in *shutdown*) echo "{\"seq\":$seq,\"type\":\"bye\"}"; exit 0;; esac; echo "{\"seq\":$seq,\"type\":\"error\",\"kind\":\"unsupported\",\"message\":\"nothing here\"}"; done"#;
    let adapter = format!("sh -c '{}'", script.replace('\'', r"'\''"));
    let (code, stdout, stderr) = run(&["check", "--adapter", &adapter]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("\n0 passed, 0 failed, "), "{stdout}");
    assert!(
        stdout.contains("the adapter declined `reset`")
            && stdout.contains("[r[proto.command.mandatory]]"),
        "{stdout}"
    );
    assert!(stderr.contains("nothing was checked"), "{stderr}");
    let (code, stdout, stderr) = run(&["check", "--random", "10", "--adapter", &adapter]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 agreed"), "{stdout}");
    assert!(stderr.contains("nothing was checked"), "{stderr}");
}

/// An adapter that writes Latin-1 to stderr at every request passes like
/// the same adapter without it.
#[test]
fn latin1_on_stderr_is_no_error() {
    let plain = run(&["check", "--adapter", ADAPTER]);
    let latin1 = run(&["check", "--adapter", &misbehaving("latin1-stderr")]);
    assert_eq!(plain.0, Some(0), "{}", plain.1);
    assert_eq!(latin1.0, Some(0), "{}\n{}", latin1.1, latin1.2);
    let last = |s: &str| s.lines().last().unwrap_or("").to_owned();
    assert_eq!(last(&plain.1), last(&latin1.1));
}

/// r[proto.framing.json-lines]: a non-UTF-8 byte on stdout is named as such.
#[test]
fn a_non_utf8_reply_is_a_protocol_error_that_says_so() {
    let (code, stdout, _) = run(&[
        "check",
        "--case",
        "m19.store",
        "--adapter",
        &misbehaving("latin1-stdout-at-request=1"),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("is not UTF-8: byte 0xe9"),
        "the message names the byte: {stdout}"
    );
    assert!(!stdout.contains("closed its"), "{stdout}");
}

/// r[proto.framing.one-reply]: a second reply is called a duplicate, also
/// when it follows the run's last reply.
#[test]
fn duplicate_replies_are_named_duplicates() {
    let case = "m19.store.list-once-per-sid";
    let (code, stdout, _) = run(&[
        "check",
        "--case",
        case,
        "--adapter",
        &misbehaving("duplicate-reply=3"),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("a duplicate reply"), "{stdout}");
    // Count the replies of a clean run, then duplicate the last one.
    let dir = scratch("dup");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("commands");
    let teed = format!("sh -c 'tee {} | {ADAPTER}'", log.display());
    let (code, _, _) = run(&["check", "--case", case, "--adapter", &teed]);
    assert_eq!(code, Some(0));
    let commands = std::fs::read_to_string(&log).unwrap().lines().count();
    // The last command is shutdown; the reply before its bye is the last.
    let last = format!("duplicate-reply={}", commands - 1);
    let (code, stdout, stderr) = run(&["check", "--case", case, "--adapter", &misbehaving(&last)]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("at shutdown") && stderr.contains("a duplicate reply to seq"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An adapter that closes its stdout is noticed at once, not after the
/// step timeout (it is started without a shell wrapper holding the pipe).
#[test]
fn a_closed_stdout_is_noticed_at_once() {
    let started = Instant::now();
    let (code, stdout, _) = run(&[
        "check",
        "--case",
        "m19.store",
        "--step-timeout",
        "20",
        "--adapter",
        &misbehaving("close-stdout-at-request=1"),
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("closed its standard output before answering `request`"),
        "{stdout}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{stdout}");
    // A command that needs the shell (quotes) is exec'd by it: the same.
    let started = Instant::now();
    let quoted = format!("'{ADAPTER}' --misbehave close-stdout-at-request=1");
    let (code, stdout, _) = run(&[
        "check",
        "--case",
        "m19.store",
        "--step-timeout",
        "20",
        "--adapter",
        &quoted,
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("closed its standard output"), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(10), "{stdout}");
}

/// Random mode against an adapter that crashes on every request: errors
/// are not shrunk, collapse to one group with a count, and the run stops
/// after ten identical errors in a row, in seconds, saying how many traces
/// it did not run (issue 24's Done-when: 200 traces in under 10 s).
#[test]
fn random_against_a_crashing_adapter_is_fast_and_collapsed() {
    let started = Instant::now();
    let (code, stdout, _) = run(&[
        "check",
        "--random",
        "200",
        "--profile",
        "moin-1.9",
        "--adapter",
        &misbehaving("crash-at-request=1"),
    ]);
    let took = started.elapsed();
    assert_eq!(code, Some(1), "{stdout}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(stdout.matches("ERROR case").count(), 1, "{stdout}");
    assert!(stdout.contains("[1/1] 10 trace(s)"), "{stdout}");
    assert!(stdout.contains("1 distinct divergence(s)"), "{stdout}");
    assert!(
        stdout.contains("10 errors in a row with the same message (--stop-after-errors); 190 of 200 trace(s) not run"),
        "{stdout}"
    );
}

/// r[m19.cookie.max-age] grouping: a systematic bug is reported once per
/// signature with its count; --max-failures stops the run; the options of
/// the corpus are usage errors with --random.
#[test]
fn random_groups_divergences_and_honours_its_options() {
    let faulty = format!("{ADAPTER} --fault max-age-plus-one");
    let (code, stdout, _) = run(&[
        "check",
        "--random",
        "40",
        "--profile",
        "moin-1.9",
        "--adapter",
        &faulty,
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    let groups = stdout.matches("FAIL case").count();
    let diverged: usize = stdout
        .lines()
        .last()
        .and_then(|l| l.split(" agreed, ").nth(1))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        groups >= 1 && groups < diverged,
        "{groups} groups for {diverged} diverging traces:\n{stdout}"
    );
    assert!(
        stdout.contains(" trace(s): m19.cookie.max-age @ "),
        "{stdout}"
    );
    let (code, stdout, _) = run(&[
        "check",
        "--random",
        "40",
        "--max-failures",
        "2",
        "--profile",
        "moin-1.9",
        "--adapter",
        &faulty,
    ]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("stopped early"), "{stdout}");
    for extra in [
        ["--case", "m19.load"],
        ["--requirement", "m19.load.no-cookie"],
        ["--fixtures", "."],
    ] {
        let (code, _, stderr) = run(&[&["check", "--random", "3"][..], &extra[..]].concat());
        assert_eq!(code, Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}

/// In-process random runs name the case and the clauses, like the CLI.
#[test]
fn a_library_random_run_reports_case_ids_and_clauses() {
    use moin_session_conformance::proof::faulty::{Fault, Faulty};
    use moin_session_conformance::random::{run_random, RandomOptions};
    use moin_session_spec::{MemoryStore, Profile, ReferenceBackend};
    let mut backend = Faulty::new(
        ReferenceBackend::new("reference-memory", MemoryStore::new()),
        Fault::MaxAgePlusOne,
    );
    let options = RandomOptions {
        count: 30,
        seed: 5,
        ..RandomOptions::default()
    };
    let run = run_random(&mut backend, &[Profile::Moin19], &options, |_, _| {}).unwrap();
    assert!(!run.ok());
    let g = &run.groups[0];
    assert!(
        g.result.id.starts_with("m19.random.seed-5-trace-"),
        "{}",
        g.result.id
    );
    assert!(
        g.result.blamed.iter().any(|r| r == "m19.cookie.max-age"),
        "{:?}",
        g.result.blamed
    );
    // The configuration is shrunk as well as the steps: a lifetime fault
    // needs at most the users and the lifetime.
    let config = serde_json::to_value(&g.case.case.config).unwrap();
    let fields = config.as_object().unwrap();
    assert!(fields.len() <= 2, "{config}");
    assert_eq!(
        g.count,
        run.total().diverged,
        "one group: {:?}",
        run.groups.len()
    );
    let text = moin_session_conformance::report::failure(&g.result);
    assert!(text.contains("violates: m19.cookie.max-age"), "{text}");
}

/// Random mode checks --save-failures before it runs.
#[test]
fn save_failures_is_checked_before_the_run() {
    let dir = scratch("save");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, _, stderr) = run(&[
        "check",
        "--random",
        "2",
        "--save-failures",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--save-failures") && stderr.contains("not a directory"),
        "{stderr}"
    );
    let deep = dir.join("no/such/parent");
    let (code, _, stderr) = run(&[
        "check",
        "--random",
        "2",
        "--save-failures",
        deep.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!deep.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
