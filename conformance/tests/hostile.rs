//! The suite under hostile backends (issue 16): no false pass, no false
//! error. A backend that issues malformed sids fails; one that implements
//! nothing makes the run fail; one that writes Latin-1 to stderr passes
//! like any correct backend; protocol breaches are named for what they
//! are; a random run against a crashing adapter ends in seconds with one
//! collapsed error.

use std::time::{Duration, Instant};

use moin_session_testkit::cli::{sh_quote, summary, Cli, Ran};
use moin_session_testkit::Scratch;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

/// Runs the CLI with the words of `words` and these further arguments.
fn run(words: &str, more: &[&str]) -> Ran {
    Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance")).ran(words, more)
}

/// `check` with the words of `words`, against `adapter`.
fn check(words: &str, adapter: &str) -> Ran {
    Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance")).check(words, adapter)
}

fn misbehaving(how: &str) -> String {
    format!("{ADAPTER} --misbehave {how}")
}

/// r[m19.cookie.sid-form], r[m16.anon.name-form]: an adapter whose only
/// fault is the form of the values it issues (`SESS.1`, `SESS.2`, …,
/// mapped back when they return) fails in both profiles, blamed on the
/// form clause.
#[test]
fn a_malformed_sid_adapter_fails_in_both_profiles() {
    // The cookie cases of every profile: each issues sids (the whole
    // corpus blames the same clauses, in seconds).
    check("--case *.cookie.*", &misbehaving("bad-sids"))
        .exits(1)
        .says(&[
            "observed \"SESS.1\"",
            "[r[m19.cookie.sid-form]]",
            "[r[m16.anon.name-form]]",
        ]);
    // In random mode too.
    check("--random 20", &misbehaving("bad-sids"))
        .exits(1)
        .says(&["m19.cookie.sid-form"]);
}

/// r[proto.command.mandatory]: a backend that declines everything fails:
/// every case errors (a decline of a mandatory command is no skip), in
/// corpus and in random mode.
#[test]
fn an_adapter_that_supports_nothing_makes_the_run_fail() {
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":1,"implementation":{"name":"nothing","version":"0","language":"sh"},"profiles":["moin-1.9","moin-1.6"],"capabilities":[]}'; while read line; do seq=$(echo "$line" | sed 's/.*"seq":\([0-9]*\).*/\1/'); case "$line" in *shutdown*) echo "{\"seq\":$seq,\"type\":\"bye\"}"; exit 0;; esac; echo "{\"seq\":$seq,\"type\":\"error\",\"kind\":\"unsupported\",\"message\":\"nothing here\"}"; done"#;
    let adapter = format!("sh -c '{}'", script.replace('\'', r"'\''"));
    check("", &adapter)
        .exits(1)
        .says(&[
            "\n0 passed, 0 failed, ",
            "the adapter declined `reset`",
            "[r[proto.command.mandatory]]",
        ])
        .warns(&["nothing was checked"]);
    check("--random 10", &adapter)
        .exits(1)
        .says(&["0 agreed"])
        .warns(&["nothing was checked"]);
}

/// An adapter that writes Latin-1 to stderr at every request passes like
/// the same adapter without it; also after 1.5 MiB of Latin-1 lines
/// before its hello, more than any pipe holds: it starts only once all of
/// them were written, so a runner that stops reading stderr (or closes
/// it) at bytes that are not UTF-8 never hears its hello. The cases:
/// every `*.cookie.*` case, 35 of the three profiles (the whole corpus
/// proves no more about stderr, and took seconds).
#[test]
fn latin1_on_stderr_is_no_error() {
    let dir = Scratch::new("latin1");
    let blob = dir.join("latin1");
    let line = b"adapter: caf\xe9 cr\xe8me br\xfbl\xe9e, \xe0 la fran\xe7aise (Latin-1)\n";
    std::fs::write(&blob, line.repeat((3 << 19) / line.len() + 1)).unwrap();
    let blob = sh_quote(&blob.display().to_string());
    let noisy = format!("cat {blob} >&2 && exec {ADAPTER} --misbehave latin1-stderr");
    let cases = "--case *.cookie.*";
    let plain = check(cases, ADAPTER).exits(0);
    let [passed, failed, errored, skipped] = summary(&plain.stdout);
    assert!(
        passed >= 30 && failed + errored + skipped == 0,
        "{}",
        plain.stdout
    );
    let last = |s: &str| s.lines().last().unwrap_or("").to_owned();
    for adapter in [misbehaving("latin1-stderr"), noisy] {
        let latin1 = check(cases, &adapter).exits(0);
        assert_eq!(last(&plain.stdout), last(&latin1.stdout), "{adapter}");
    }
}

/// r[proto.framing.json-lines]: a non-UTF-8 byte on stdout is named as such.
#[test]
fn a_non_utf8_reply_is_a_protocol_error_that_says_so() {
    // The message names the byte.
    check(
        "--case m19.store",
        &misbehaving("latin1-stdout-at-request=1"),
    )
    .exits(1)
    .says(&["is not UTF-8: byte 0xe9"])
    .never_says(&["closed its"]);
}

/// r[proto.framing.one-reply]: a second reply is called a duplicate, also
/// when it follows the run's last reply.
#[test]
fn duplicate_replies_are_named_duplicates() {
    let case = "m19.store.list-once-per-sid";
    let only = format!("--case {case}");
    check(&only, &misbehaving("duplicate-reply=3"))
        .exits(1)
        .says(&["a duplicate reply"]);
    // Count the replies of a clean run, then duplicate the last one.
    let dir = Scratch::new("hostile-dup");
    let log = dir.join("commands");
    let teed = format!("sh -c 'tee {} | {ADAPTER}'", log.display());
    check(&only, &teed).exits(0);
    let commands = std::fs::read_to_string(&log).unwrap().lines().count();
    // The last command is shutdown; the reply before its bye is the last.
    let last = format!("duplicate-reply={}", commands - 1);
    check(&only, &misbehaving(&last))
        .exits(1)
        .warns(&["at shutdown", "a duplicate reply to seq"]);
}

/// An adapter that closes its stdout is noticed at once, not after the
/// step timeout (it is started without a shell wrapper holding the pipe).
/// One case is enough: the adapter closes it at its first request.
#[test]
fn a_closed_stdout_is_noticed_at_once() {
    let noticed = |adapter: &str, says: &str| {
        let started = Instant::now();
        let out = check(
            "--case m19.store.list-once-per-sid --step-timeout 20",
            adapter,
        );
        let took = started.elapsed();
        out.exits(1).says(&[says]);
        assert!(took < Duration::from_secs(10), "{adapter}: took {took:?}");
    };
    // A command that needs the shell (quotes) is exec'd by it: the same.
    let quoted = format!("'{ADAPTER}' --misbehave close-stdout-at-request=1");
    let direct = misbehaving("close-stdout-at-request=1");
    // The two runs are independent: side by side.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let says = "closed its standard output before answering `request`";
            noticed(&direct, says);
        });
        scope.spawn(|| noticed(&quoted, "closed its standard output"));
    });
}

/// Random mode against an adapter that crashes on every request: errors
/// are not shrunk, collapse to one group with a count, and the run stops
/// after ten identical errors in a row, in seconds, saying how many traces
/// it did not run (issue 24's Done-when: 200 traces in under 10 s).
#[test]
fn random_against_a_crashing_adapter_is_fast_and_collapsed() {
    let started = Instant::now();
    let out = check(
        "--random 200 --profile moin-1.9",
        &misbehaving("crash-at-request=1"),
    );
    let took = started.elapsed();
    let out = out.exits(1).says(&[
        "[1/1] 10 trace(s)",
        "1 distinct divergence(s)",
        "10 errors in a row with the same message (--stop-after-errors); 190 of 200 trace(s) not run",
    ]);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(
        out.stdout.matches("ERROR case").count(),
        1,
        "{}",
        out.stdout
    );
}

/// r[m19.cookie.max-age] grouping: a systematic bug is reported once per
/// signature with its count; --max-failures stops the run; the options of
/// the corpus are usage errors with --random.
#[test]
fn random_groups_divergences_and_honours_its_options() {
    let faulty = format!("{ADAPTER} --fault max-age-plus-one");
    let out = check("--random 40 --profile moin-1.9", &faulty)
        .exits(1)
        .says(&[" trace(s): m19.cookie.max-age @ "]);
    let stdout = out.stdout;
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
    check("--random 40 --max-failures 2 --profile moin-1.9", &faulty)
        .exits(1)
        .says(&["stopped early"]);
    for extra in [
        "--case m19.load",
        "--requirement m19.load.no-cookie",
        "--fixtures .",
    ] {
        run(&format!("check --random 3 {extra}"), &[])
            .exits(2)
            .warns(&["cannot be used with"]);
    }
}

/// In-process random runs name the case and the clauses, like the CLI.
#[test]
fn a_library_random_run_reports_case_ids_and_clauses() {
    use moin_session_conformance::proof::faulty::Fault;
    use moin_session_conformance::proof::selftest::reference;
    use moin_session_conformance::random::{run_random, RandomOptions};
    use moin_session_spec::Profile;
    let mut backend = reference(Fault::MaxAgePlusOne);
    let options = RandomOptions {
        count: 30,
        seed: 5,
        ..RandomOptions::default()
    };
    let run = run_random(backend.as_mut(), &[Profile::Moin19], &options, |_, _| {}).unwrap();
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
    let dir = Scratch::new("hostile-save");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let save = "check --random 2 --save-failures";
    run(save, &[file.to_str().unwrap()])
        .exits(2)
        .warns(&["--save-failures", "not a directory"]);
    let deep = dir.join("no/such/parent");
    run(save, &[deep.to_str().unwrap()]).exits(2);
    assert!(!deep.exists());
}
