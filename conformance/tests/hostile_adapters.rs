//! The hostile-adapter set (issue 24): adapters that try to look good.
//! Declining what every adapter must do is an error, not a skip
//! (r[proto.command.mandatory]); a wrong shutdown fails every mode
//! (r[proto.command.shutdown]); escape sequences, newlines and HTML from
//! an adapter stay inert in the text and Markdown reports; one cause is
//! one divergence group and one error block; runs of identical errors
//! and of step timeouts stop early, saying what was not run; a reply
//! without end is an error, not a memory leak.

use std::process::Command;
use std::time::{Duration, Instant};

use moin_session_testkit::cli::Ran;
use moin_session_testkit::Scratch;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

/// Runs `command` to its end, whatever bytes it prints.
fn lossy(command: &mut Command) -> Ran {
    Ran::lossy(command.output().unwrap())
}

/// Runs the CLI with the words of `words`, then `more`.
fn run(words: &str, more: &[&str]) -> Ran {
    lossy(cli().args(words.split_whitespace()).args(more))
}

/// `check` with the words of `words`, against `adapter`.
fn check(words: &str, adapter: &str) -> Ran {
    run(&format!("check {words} --adapter"), &[adapter])
}

fn misbehaving(how: &str) -> String {
    format!("{ADAPTER} --misbehave {how}")
}

/// The `N errored` count of a text report's closing line
/// (`N passed, N failed, N errored, N skipped`).
fn errored(stdout: &str) -> usize {
    stdout
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" passed, "))
        .find_map(|l| {
            l.split(" errored")
                .next()?
                .rsplit(", ")
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Done-when: an adapter that declines `list`, `cleanup`, `remember_me` or
/// `reconfigure` fails; the cases error and name the command. The cases:
/// the 17 of `m19.persist`, which use all four (the whole profile showed
/// the same, in seconds).
#[test]
fn declining_a_mandatory_command_is_an_error_not_a_skip() {
    let declining = |how: &str, command: &str| {
        let adapter = misbehaving(&format!("decline={how}"));
        let declined = format!("the adapter declined `{command}`");
        let out = check("--case m19.persist --stop-after-errors 0", &adapter)
            .exits(1)
            .says(&[&declined, "[r[proto.command.mandatory]]"])
            .never_says(&["declined on purpose) ("]);
        assert!(errored(&out.stdout) > 0, "{how}: {}", out.stdout);
    };
    // Four independent runs, side by side.
    std::thread::scope(|scope| {
        scope.spawn(|| declining("list", "list"));
        scope.spawn(|| declining("cleanup", "cleanup"));
        scope.spawn(|| declining("remember-me", "request"));
        scope.spawn(|| declining("reconfigure", "reconfigure"));
    });
}

/// A capability the adapter declares must be carried out: one that claims
/// `interleave` and declines every `open` fails.
#[test]
fn declining_a_declared_capability_is_an_error() {
    let words = "--case m19.overlap --stop-after-errors 0";
    check(words, &misbehaving("decline=open"))
        .exits(1)
        .says(&["though it declares the capability `interleave`"])
        .never_says(&["SKIP"]);
}

/// Done-when: only a capability the adapter declared lacking skips, and
/// the report says so in one line per reason. The cases: the 15 of
/// `m19.cookie`, five of which need `https` (the whole profile added a
/// sixth, and a second of CPU).
#[test]
fn an_undeclared_capability_skips_in_one_line() {
    let adapter = format!("{ADAPTER} --without https");
    let Ran { code, stdout, .. } = check("--case m19.cookie", &adapter);
    let skips: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "not passed:")
        .filter(|l| l.trim_start().starts_with("SKIP "))
        .filter(|l| l.contains("capability"))
        .collect();
    assert_eq!(skips.len(), 1, "{stdout}");
    // One line for several cases.
    let count = skips[0].trim_start().strip_prefix("SKIP ");
    let count: usize = count
        .and_then(|c| c.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(count > 1, "{stdout}");
    assert!(skips[0].contains("capability `https`"), "{stdout}");
    // What it declares it carries out: nothing failed or errored.
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(errored(&stdout), 0, "{stdout}");
}

/// Done-when: a wrong shutdown fails `check`, `--random`, `--soak` and
/// `explain` alike.
#[test]
fn a_wrong_shutdown_fails_every_mode() {
    let modes = [
        "check --case m19.store.list-once-per-sid",
        "check --random 2 --profile moin-1.9",
        "check --soak 200ms --profile moin-1.9",
        "explain m19.store.list-once-per-sid",
    ];
    // Each of the sixteen runs in a thread of its own: they mostly wait
    // (a lingering adapter is waited for max(3 s, the step timeout) after
    // its bye: a step timeout of 3 s costs no more than one of 1 s, and
    // leaves a loaded machine room for the replies before the bye).
    std::thread::scope(|scope| {
        for how in [
            "bye-exit=3",
            "no-bye",
            "linger-after-bye",
            "extra-after-bye",
        ] {
            for mode in modes {
                scope.spawn(move || {
                    let ran = run(
                        &format!("{mode} --step-timeout 3 --adapter"),
                        &[&misbehaving(how)],
                    );
                    let what = format!("{how}, {mode}: {}\n{}", ran.stdout, ran.stderr);
                    assert_eq!(ran.code, Some(1), "{what}");
                    assert!(ran.stderr.contains("at shutdown"), "{what}");
                });
            }
        }
    });
}

/// Done-when: a newline or escape sequence in an adapter's error message,
/// name or user names appears escaped in the text and Markdown reports.
#[test]
fn adapter_text_is_inert_in_text_and_markdown_reports() {
    let adapter = misbehaving("hostile-text");
    for words in [
        "--case m19.auth --stop-after-errors 0",
        "--random 5 --profile moin-1.9",
    ] {
        let Ran { stdout, stderr, .. } = check(words, &adapter);
        for out in [&stdout, &stderr] {
            assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
            assert!(!out.contains('\r'), "{out:?}");
            assert!(
                !out.lines().any(|l| l.starts_with("  PASS  forged")),
                "a forged line: {out}"
            );
        }
        assert!(stdout.contains("\\u{1b}]0;pwned\\u{7}"), "{stdout}");
    }
    let words = "--case m19.auth --format markdown --stop-after-errors 0";
    let md = check(words, &adapter).stdout;
    assert!(!md.contains("<img") && !md.contains("<!--"), "{md}");
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
    assert!(!md.contains('\u{1b}'), "{md}");
}

/// Fixture titles, ids and file names are inert in `--list` and `explain`.
#[test]
fn fixture_text_is_inert_in_list_and_explain() {
    let dir = Scratch::new("titles");
    let case = r#"{"cases": [{"id": "m19.hostile.title", "profile": "moin-1.9",
        "title": "\u001b]0;pwned\u0007\u001b[2J\n  PASS  forged",
        "covers": ["m19.load.no-cookie"], "start": "2009-03-01T12:00:30Z",
        "steps": [{"request": {"path": "/"},
                   "expect": {"new": true, "user": null, "set_cookies": []}}]}]}"#;
    std::fs::write(dir.path().join("m19-hostile.json"), case).unwrap();
    let fixtures = dir.path().to_str().unwrap();
    for words in [
        "check --list --fixtures",
        "explain m19.hostile.title --fixtures",
    ] {
        eprintln!("{words}");
        let out = run(words, &[fixtures]);
        assert!(matches!(out.code, Some(0 | 1)), "{}", out.stderr);
        let stdout = out.says(&["\\u{1b}[2J\\n"]).never_says(&["\u{1b}"]).stdout;
        let forged = stdout.lines().any(|l| l.starts_with("  PASS  forged"));
        assert!(!forged, "{stdout}");
    }
}

/// Done-when: one cause gives one divergence group, with a few example
/// values, though each trace shows a value of its own.
#[test]
fn one_cause_gives_one_divergence_group() {
    let stdout = check(
        "--random 60 --profile moin-1.9",
        &misbehaving("varying-cookie"),
    )
    .exits(1)
    .says(&["1 distinct divergence(s)", "@ extra (unexpected)"])
    .stdout;
    assert!(
        stdout.matches("       e.g. set_cookies[x").count() >= 2,
        "{stdout}"
    );
}

/// One error that names a new file each time (a full disk) is one error
/// block in the corpus report and one group in random mode; ten in a row
/// stop the run, which says how many cases it did not run.
#[test]
fn one_error_with_new_values_is_one_block_and_stops_the_run() {
    let adapter = misbehaving("unique-errors");
    let stdout = check("--profile moin-1.9 --stop-after-errors 0", &adapter)
        .exits(1)
        .says(&["more case(s) with the same error"])
        .stdout;
    assert_eq!(stdout.matches("  ERROR case").count(), 1, "{stdout}");
    let stdout = check("--profile moin-1.9", &adapter)
        .exits(1)
        .says(&[
            "stopped early: 10 errors in a row with the same message (--stop-after-errors);",
            "selected case(s) not run",
        ])
        .warns(&["stopped early"])
        .stdout;
    assert_eq!(errored(&stdout), 10, "{stdout}");
    check("--random 30 --profile moin-1.9", &adapter).says(&["1 distinct divergence(s)"]);
}

/// A hanging adapter is not waited for case after case: three step
/// timeouts in a row stop the run.
#[test]
fn a_run_of_step_timeouts_stops_the_run() {
    let started = Instant::now();
    let words = "--profile moin-1.9 --step-timeout 0.5";
    let stdout = check(words, &misbehaving("hang-at-request=1"))
        .exits(1)
        .says(&["3 step timeouts in a row (--stop-after-timeouts)"])
        .stdout;
    assert_eq!(errored(&stdout), 3, "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(20), "{stdout}");
}

/// r[proto.framing.json-lines]: a reply that never ends its line is an
/// error past a bound, in seconds, with memory bounded.
#[test]
fn a_reply_without_end_is_an_error_past_the_bound() {
    let dir = Scratch::new("endless");
    let script = r#"read line
echo '{"seq":1,"type":"hello","protocol":1,"implementation":{"name":"endless","version":"0","language":"sh"},"profiles":["moin-1.9"],"capabilities":[]}'
read line
head -c 200000000 /dev/zero | tr '\0' 'x'
sleep 60"#;
    let file = dir.path().join("adapter.sh");
    std::fs::write(&file, script).unwrap();
    let adapter = format!("sh {}", file.display());
    let started = Instant::now();
    let stdout = check("--case m19.load.no-cookie-fresh-every-time", &adapter)
        .exits(1)
        .says(&["passed 16 MiB without ending its line"])
        .stdout;
    assert!(started.elapsed() < Duration::from_secs(20), "{stdout}");
}

/// Options that do not apply to a mode are usage errors (never silently
/// ignored), and `--help` lists only what works.
#[test]
fn options_that_do_not_apply_are_usage_errors() {
    let not_for_soak = [
        "--format json",
        "--max-failures 1",
        "--seed 3",
        "--expectations x.json",
        "--case m19.load",
        "--fixtures .",
        "--stop-after-errors 1",
    ];
    for extra in not_for_soak {
        eprintln!("--soak {extra}");
        run(&format!("check --soak 1s {extra}"), &[])
            .exits(2)
            .warns(&["cannot be used with"]);
    }
    for extra in ["--adapter x", "--format json"] {
        eprintln!("--list {extra}");
        run(&format!("check --list {extra}"), &[]).exits(2);
    }
    run("self-test --help", &[])
        .says(&["json"])
        .never_says(&["junit"]);
    run("self-test --format markdown", &[]).exits(2);
    let stderr = run("explain m19.load", &[]).exits(2).stderr;
    assert!(
        stderr.contains("is a prefix of") && !stderr.contains("did you mean m19.load?"),
        "{stderr}"
    );
}

/// Runs the CLI pinned to one CPU (with every adapter it starts): a
/// loaded machine, many jobs on few cores.
fn run_on_one_core(args: &[&str]) -> Ran {
    use std::os::unix::process::CommandExt;
    let mut command = cli();
    command.args(args);
    // SAFETY: between fork and exec, only sched_setaffinity(2) on a set
    // built on the stack; no allocation, no lock.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            Ok(())
        });
    }
    lossy(&mut command)
}

/// Each case's id and outcome in a JSON report.
fn outcomes(json: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(json).expect("a JSON report");
    v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `--jobs` gives the verdicts of a serial run at any load: 64 adapters
/// on one core, against one adapter on a free machine. The cases: the 73
/// of moin-1.6 whose id holds `in` (login, logout, lifetime, …), more than
/// 64, so that every adapter has one; not the 2,000-session crowd, a case
/// like any other here, which was nine tenths of the profile's CPU.
#[test]
fn sixty_four_jobs_on_one_core_give_the_serial_verdicts() {
    let faulty = format!("{ADAPTER} --fault max-age-plus-one");
    // A faulty adapter fails the same cases either way.
    for (adapter, code) in [(ADAPTER, 0), (&faulty, 1)] {
        let base = "check --profile moin-1.6 --case *in* --format json --adapter";
        let serial = outcomes(&run(base, &[adapter]).exits(code).stdout);
        assert!(serial.len() > 64, "{} cases: {serial:?}", serial.len());
        let mut args: Vec<&str> = base.split_whitespace().collect();
        args.extend([adapter, "--jobs", "64"]);
        let loaded = run_on_one_core(&args).exits(code).stdout;
        assert_eq!(serial, outcomes(&loaded));
    }
}

/// r[proto.framing.one-reply]: a protocol misuse is named the same
/// whatever the timing (the extra line found before the next command, or
/// in its place), on a free core or a loaded one.
#[test]
fn a_misuse_is_named_the_same_whatever_the_timing() {
    let adapter = misbehaving("duplicate-reply=3");
    let args = [
        "check",
        "--case",
        "m19.store",
        "--adapter",
        &adapter,
        "--jobs",
        "8",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for pinned in [false, true, false, true] {
        let ran = if pinned {
            run_on_one_core(&args)
        } else {
            run("", &args)
        };
        let stdout = ran.exits(1).stdout;
        for line in stdout
            .lines()
            .filter(|l| l.contains("no command asked for"))
        {
            seen.insert(line.trim().to_owned());
        }
    }
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(
        seen.iter()
            .all(|l| l.contains("a duplicate reply to seq 3")),
        "{seen:#?}"
    );
}

/// A fake Redis server on a loopback port: it reads a command, then
/// writes `head` and, forever, `chunk` every `pause`.
fn fake_redis(head: &'static [u8], chunk: &'static [u8], pause: Duration) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf);
                if s.write_all(head).is_err() {
                    return;
                }
                while s.write_all(chunk).is_ok() {
                    std::thread::sleep(pause);
                }
            });
        }
    });
    port
}

/// Done-when: a fake Redis server with an endless reply gives a clear
/// error within a few seconds and bounded memory; one that trickles its
/// reply gives one within the store's timeout.
#[test]
fn a_fake_redis_server_cannot_exhaust_memory_or_time() {
    static CHUNK: [u8; 65536] = [b'x'; 65536];
    let endless = fake_redis(b"$999999999999\r\n", &CHUNK, Duration::ZERO);
    let trickle = fake_redis(b"$10\r\n", b"x", Duration::from_secs(1));
    // Two independent runs, side by side (the trickle one waits out the
    // store's timeout, 5 s).
    std::thread::scope(|scope| {
        scope.spawn(|| bounded_error(endless, "passed 64 MiB"));
        scope.spawn(|| bounded_error(trickle, "within the timeout"));
    });
    // TLS is not built in: rediss:// is refused with a reason, not advertised.
    run("check --backend reference-redis:rediss://127.0.0.1:1/", &[])
        .exits(2)
        .warns(&["TLS (rediss://) is not built into"]);
}

/// A check against the fake Redis server on `port` ends with an error
/// that `says` so, within 12 s and a peak RSS under 400 MiB.
fn bounded_error(port: u16, says: &str) {
    let backend = format!("reference-redis:redis://127.0.0.1:{port}/");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
        .args(["check", "--backend", &backend])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    while child.try_wait().unwrap().is_none() {
        let status = std::fs::read_to_string(&status_file).unwrap_or_default();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        peak_kib = peak_kib.max(rss);
        assert!(started.elapsed() < Duration::from_secs(20), "still running");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(says), "{says}: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert!(peak_kib < 400 * 1024, "peak RSS {peak_kib} KiB");
}

/// An existing SQLite database with session records is never emptied
/// without `--clear-existing-store`; one the runner made is reusable.
#[test]
fn an_existing_sqlite_database_is_not_emptied_without_the_flag() {
    let dir = Scratch::new("sqlite");
    let db = dir.path().join("s.db");
    let backend = format!("reference-sqlite:{}", db.display());
    let check = |words: &str| {
        let words = format!("check --case m19.store.list-once-per-sid {words} --backend");
        run(&words, &[&backend])
    };
    // Made by the runner: left empty, reusable without the flag.
    check("").exits(0);
    check("").exits(0);
    // Someone's records: refused, and kept.
    let store = moin_session_spec::SqliteStore::open(&db).unwrap();
    let sid = "ab".repeat(20);
    let record =
        moin_session_spec::store::Record::from([("expires".to_owned(), 1_700_000_000.into())]);
    moin_session_spec::store::Store::save(&store, &sid, &record).unwrap();
    drop(store);
    check("")
        .exits(2)
        .warns(&["holds 1 session record(s)", "--clear-existing-store"]);
    let store = moin_session_spec::SqliteStore::open(&db).unwrap();
    assert_eq!(
        moin_session_spec::store::Store::list(&store).unwrap(),
        vec![sid]
    );
    drop(store);
    check("--clear-existing-store").exits(0);
}
