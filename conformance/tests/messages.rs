//! Every message names the adapter or file, the case, the step and what
//! happened (issue 24, item 7): options given where they do not apply are
//! usage errors naming the option and the mode; `--help` lists only what
//! works; a backend or store that fails during `--soak` or a corpus run
//! is named with its place, the case and the step.

use std::io::{Read, Write};
use std::time::Duration;

use moin_session_testkit::cli::Cli;
use moin_session_testkit::redis_server::RedisServer;
use moin_session_testkit::Scratch;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

/// Runs the CLI: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance")).run(args)
}

/// A case that runs in a moment on every backend.
const CASE: &str = "m19.store.list-once-per-sid";

#[test]
fn options_that_do_not_apply_name_the_option_and_the_mode() {
    let db = Scratch::new("messages-usage");
    let save = db.path().join("saved");
    let save = save.to_str().unwrap();
    #[rustfmt::skip]
    let table: &[(&[&str], &[&str])] = &[
        (&["check", "--step-timeout", "2"],
         &["--step-timeout does not apply to check (the corpus)", "built-in backend reference-memory", "--adapter"]),
        (&["check", "--random", "2", "--step-timeout", "2", "--backend", "model"],
         &["--step-timeout does not apply to check --random", "built-in backend model"]),
        (&["check", "--soak", "1s", "--step-timeout", "2"],
         &["--step-timeout does not apply to check --soak"]),
        (&["explain", CASE, "--step-timeout", "2"],
         &["--step-timeout does not apply to explain"]),
        (&["check", "--clear-existing-store"],
         &["--clear-existing-store does not apply to check (the corpus) over --backend reference-memory"]),
        (&["check", "--clear-existing-store", "--backend", "reference-sqlite"],
         &["--clear-existing-store does not apply", "reference-sqlite", "temporary one"]),
        (&["check", "--soak", "1s", "--clear-existing-store", "--backend", "reference-file"],
         &["--clear-existing-store does not apply to check --soak over --backend reference-file"]),
        (&["explain", CASE, "--clear-existing-store"],
         &["--clear-existing-store does not apply to explain"]),
        (&["check", "--jobs", "2"],
         &["--jobs does not apply to check (the corpus) over the built-in backend reference-memory"]),
        (&["check", "--stop-after-timeouts", "1", "--random", "2"],
         &["--stop-after-timeouts does not apply to check --random", "step timeout"]),
        (&["check", "--seed", "3"],
         &["--seed does not apply to check (the corpus)", "check --random"]),
        (&["check", "--save-failures", save],
         &["--save-failures does not apply to check (the corpus)"]),
        (&["check", "--random", "2", "--format", "html"],
         &["--format html does not apply to check --random", "text or json"]),
        (&["check", "--random", "2", "--format", "junit"],
         &["--format junit does not apply to check --random"]),
        (&["self-test", "--random", "0", "--seed", "3"],
         &["--seed does not apply to self-test --random 0"]),
        // Pairs that never go together: clap names both options.
        (&["check", "--list", "--backend", "model"], &["--list", "--backend"]),
        (&["check", "--list", "--step-timeout", "2"], &["--list", "--step-timeout"]),
        (&["check", "--list", "--clear-existing-store"], &["--list", "--clear-existing-store"]),
        (&["check", "--soak", "1s", "--save-failures", save], &["--soak", "--save-failures"]),
        (&["check", "--soak", "1s", "--expectations", "x.json"], &["--soak", "--expectations"]),
        (&["check", "--soak", "1s", "--random", "2"], &["--soak", "--random"]),
        (&["check", "--random", "2", "--jobs", "2", "--adapter", ADAPTER], &["--jobs", "--random"]),
    ];
    for (args, says) in table {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}\n{stderr}");
        for words in *says {
            assert!(
                stderr.contains(words),
                "{args:?}: {words:?} missing:\n{stderr}"
            );
        }
        assert!(stdout.is_empty(), "{args:?} ran: {stdout}");
    }
}

/// The same options where they apply are accepted: the usage errors above
/// come from the mode, not from the option.
#[test]
fn the_same_options_are_accepted_where_they_apply() {
    let dir = Scratch::new("messages-apply");
    let db = dir.path().join("s.db");
    let sqlite = format!("reference-sqlite:{}", db.display());
    let save = dir.path().join("saved");
    let runs: [&[&str]; 4] = [
        &[
            "check",
            "--case",
            CASE,
            "--adapter",
            ADAPTER,
            "--step-timeout",
            "5",
            "--jobs",
            "2",
            "--stop-after-timeouts",
            "1",
        ],
        &[
            "check",
            "--random",
            "2",
            "--seed",
            "3",
            "--format",
            "json",
            "--save-failures",
            save.to_str().unwrap(),
        ],
        &[
            "check",
            "--case",
            CASE,
            "--clear-existing-store",
            "--backend",
            &sqlite,
        ],
        &["explain", CASE, "--adapter", ADAPTER, "--step-timeout", "5"],
    ];
    for args in runs {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(0), "{args:?}: {stdout}\n{stderr}");
    }
}

/// `self-test --soak 0s` is what its help says: no soak. `check --soak`
/// takes more than zero, and its help says so too.
#[test]
fn a_zero_soak_is_what_the_help_says() {
    let (_, help, _) = run(&["self-test", "--help"]);
    assert!(help.contains("0s: none"), "{help}");
    for zero in ["0s", "0"] {
        let (code, stdout, stderr) = run(&[
            "self-test",
            "--fault",
            "samesite-dropped",
            "--random",
            "0",
            "--soak",
            zero,
        ]);
        assert_eq!(code, Some(0), "--soak {zero}: {stdout}\n{stderr}");
        assert!(stdout.contains("samesite-dropped"), "{stdout}");
    }
    let (_, help, _) = run(&["check", "--help"]);
    let soak = option_help(&help, "--soak");
    assert!(soak.contains("more than zero"), "{soak}");
    let (code, _, stderr) = run(&["check", "--soak", "0s"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--soak") && stderr.contains("more than zero"),
        "{stderr}"
    );
}

/// The part of a `--help` text that describes `option`: from its line to
/// the next option's.
fn option_help(help: &str, option: &str) -> String {
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(option));
    let mut out: Vec<&str> = lines.next().into_iter().collect();
    out.extend(lines.take_while(|l| !l.trim_start().starts_with("--")));
    assert!(!out.is_empty(), "no {option} in:\n{help}");
    out.join("\n")
}

/// The values a `--help` text lists for `option` (` - NAME: …` lines).
fn listed_values(help: &str, option: &str) -> Vec<String> {
    let values: Vec<String> = option_help(help, option)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split(':').next())
        .map(str::to_owned)
        .collect();
    assert!(!values.is_empty(), "{option} lists no values:\n{help}");
    values
}

/// Every format and profile `--help` lists works in the mode it is listed
/// for; the backends it names run; no URL scheme it refuses is named.
#[test]
fn help_lists_only_what_works() {
    let (_, help, _) = run(&["check", "--help"]);
    for format in listed_values(&help, "--format") {
        let (code, stdout, stderr) = run(&["check", "--case", CASE, "--format", &format]);
        assert_eq!(code, Some(0), "check --format {format}: {stdout}\n{stderr}");
        if ["text", "json"].contains(&format.as_str()) {
            let (code, _, stderr) = run(&["check", "--random", "2", "--format", &format]);
            assert_eq!(code, Some(0), "check --random --format {format}: {stderr}");
        }
    }
    assert!(option_help(&help, "--format").contains("--random: text or json"));
    let profiles = option_help(&help, "--profile");
    for profile in ["moin-1.9", "moin-1.6", "hardened"] {
        assert!(profiles.contains(profile), "{profiles}");
        for command in [&["check", "--list"][..], &["requirements"][..]] {
            let (code, out, stderr) = run(&[command, &["--profile", profile]].concat());
            assert_eq!(code, Some(0), "{command:?} --profile {profile}: {stderr}");
            assert!(
                !out.is_empty(),
                "{command:?} --profile {profile} lists nothing"
            );
        }
    }
    let backends = option_help(&help, "--backend");
    assert!(!backends.contains("rediss"), "{backends}");
    for backend in [
        "model",
        "reference-memory",
        "reference-file",
        "reference-sqlite",
    ] {
        assert!(backends.contains(backend), "{backends}");
        let (code, _, stderr) = run(&["check", "--case", CASE, "--backend", backend]);
        assert_eq!(code, Some(0), "--backend {backend}: {stderr}");
    }
    let (_, help, _) = run(&["self-test", "--help"]);
    for format in listed_values(&help, "--format") {
        let (code, _, stderr) = run(&[
            "self-test",
            "--format",
            &format,
            "--fault",
            "samesite-dropped",
            "--random",
            "0",
            "--soak",
            "0s",
        ]);
        assert_eq!(code, Some(0), "self-test --format {format}: {stderr}");
    }
}

/// Sends one command to the Redis server on `port`; its reply.
fn redis_command(port: u16, args: &[&str]) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut command = format!("*{}\r\n", args.len());
    for a in args {
        command.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(command.as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Asserts that `text` holds each of `words`.
fn assert_says(text: &str, words: &[String]) {
    for w in words {
        assert!(text.contains(w.as_str()), "{w:?} missing:\n{text}");
    }
}

/// A one-second soak of moin-1.9 over `backend` (`--backend B` or
/// `--adapter COMMAND`), which must fail (exit 1); its standard error.
fn failing_soak(backend: [&str; 2]) -> String {
    let soak = ["check", "--soak", "1s", "--profile", "moin-1.9"];
    let (code, stdout, stderr) = run(&[&soak[..], &backend[..]].concat());
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    stderr
}

/// A Redis server that refuses every write (out of memory): what a store
/// error looks like to the user during `--soak` and a corpus run.
#[test]
fn a_store_error_names_the_store_the_case_and_the_step() {
    let server = RedisServer::start().unwrap_or_else(|e| panic!("{e}"));
    let reply = redis_command(server.port(), &["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(reply, "+OK\r\n");
    let backend = format!("reference-redis:{}", server.url());
    let place = format!("the Redis server {}", server.url());
    let stderr = failing_soak(["--backend", &backend]);
    let soak = format!("check --soak of {backend}: case soak:moin-1.9, step 2 (open 200 sessions)");
    assert_says(&stderr, &[soak, place.clone(), "OOM".to_owned()]);
    let (code, stdout, stderr) = run(&["check", "--case", CASE, "--backend", &backend]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("ERROR") && l.contains(CASE))
        .unwrap_or_else(|| panic!("no ERROR line for {CASE}:\n{stdout}"));
    assert!(line.contains("step "), "{line}");
    assert_says(&stdout, &[place, "OOM".to_owned()]);
}

/// An adapter that fails during a soak is named by its name and command,
/// with the case and the step.
#[test]
fn an_adapter_failing_in_a_soak_is_named_with_the_case_and_step() {
    let adapter = format!("{ADAPTER} --misbehave crash-at-request=5");
    let stderr = failing_soak(["--adapter", &adapter]);
    assert_says(
        &stderr,
        &[
            "check --soak of adapter \"".to_owned(),
            format!("(`{adapter}`): case soak:moin-1.9, step 2"),
            "(open 200 sessions): backend failed: ".to_owned(),
            "the adapter closed its standard output".to_owned(),
            "exit status: 3".to_owned(),
        ],
    );
}

/// An expectations file's errors name the file and the entry, in a corpus
/// run and a random one alike.
#[test]
fn an_expectations_error_names_the_file_and_the_entry() {
    let dir = Scratch::new("messages-expectations");
    let file = dir.path().join("expectations.json");
    std::fs::write(
        &file,
        r#"{"known_failures": [{"case": "m19.nope", "reason": "x"}],
            "deviations": [{"clause": "m19.cookie.max-age", "reason": " "}]}"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    for mode in [&["check"][..], &["check", "--random", "2"][..]] {
        let (code, _, stderr) = run(&[mode, &["--expectations", path]].concat());
        assert_eq!(code, Some(2), "{mode:?}: {stderr}");
        for words in [
            format!("{path}: known_failures[0]: \"m19.nope\" names no case"),
            format!("{path}: deviations[0] (m19.cookie.max-age): a deviation needs a reason"),
        ] {
            assert!(
                stderr.contains(&words),
                "{mode:?}: {words:?} missing:\n{stderr}"
            );
        }
    }
}

/// The test adapter refuses a `decline=` name it never declines (a
/// hostile-adapter test would otherwise pass for nothing), and the runner
/// names the adapter that did not start.
#[test]
fn the_test_adapter_refuses_an_unknown_decline() {
    let adapter = format!("{ADAPTER} --misbehave decline=remember_me");
    let (code, stdout, stderr) = run(&["check", "--adapter", &adapter]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert_says(
        &stderr,
        &[
            format!("the adapter `{adapter}` did not start"),
            "\"remember_me\" is not a command or feature it can decline".to_owned(),
            "remember-me".to_owned(),
        ],
    );
}

/// `reference-redis` says how to start a server only when nothing
/// answered; a server that is not Redis gets no such advice.
#[test]
fn the_redis_hint_fits_what_went_wrong() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let url = format!("redis://127.0.0.1:{port}/");
    let (code, _, stderr) = run(&["check", "--backend", &format!("reference-redis:{url}")]);
    assert_eq!(code, Some(2), "{stderr}");
    let nobody = [
        format!("the Redis server {url}"),
        "cannot connect".to_owned(),
    ];
    assert_says(&stderr, &nobody);
    assert_says(&stderr, &["start a server".to_owned()]);
    let web = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}/", web.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for stream in web.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.read(&mut [0u8; 512]);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let (code, _, stderr) = run(&["check", "--backend", &format!("reference-redis:{url}")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_says(&stderr, &[format!("the Redis server {url}")]);
    assert!(!stderr.contains("start a server"), "{stderr}");
}

/// A `--profile` the adapter does not implement names the adapter and
/// what it implements. The adapter answers the `shutdown` that follows
/// (the runner would otherwise wait for it to exit).
#[test]
fn a_profile_the_adapter_lacks_names_the_adapter() {
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":1,"implementation":{"name":"only19","version":"1","language":"sh"},"profiles":["moin-1.9"],"capabilities":[]}'; read line; echo '{"seq":2,"type":"bye"}'"#;
    let adapter = format!("sh -c {}", moin_session_testkit::cli::sh_quote(script));
    let args = ["check", "--profile", "moin-1.6", "--step-timeout", "1"];
    let (code, _, stderr) = run(&[&args[..], &["--adapter", &adapter]].concat());
    assert_eq!(code, Some(2), "{stderr}");
    let says = format!(
        "adapter \"only19\" (`{adapter}`) implements moin-1.9; --profile moin-1.6 selects a profile it does not implement"
    );
    assert_says(&stderr, &[says]);
}

/// An extra `--jobs` adapter that does not start is named as such (not as
/// a shutdown error), and fails the run.
#[test]
fn an_extra_job_that_does_not_start_is_named() {
    let dir = Scratch::new("messages-jobs");
    let flag = dir.path().join("started");
    let script = format!(
        "if [ -e {flag} ]; then echo 'no second adapter here' >&2; exit 7; fi; touch {flag}; exec {ADAPTER}",
        flag = flag.display()
    );
    let adapter = format!("sh -c {}", moin_session_testkit::cli::sh_quote(&script));
    let (code, stdout, stderr) = run(&[
        "check",
        "--case",
        "m19.load",
        "--adapter",
        &adapter,
        "--jobs",
        "2",
    ]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert_says(
        &stderr,
        &[
            "no second adapter here".to_owned(),
            format!("(`{adapter}`): job 2: the backend did not start: see the error above"),
        ],
    );
    assert!(!stderr.contains("at shutdown"), "{stderr}");
}

/// A run that stops early says on standard error which backend, in which
/// mode, why, and how much was not run.
#[test]
fn a_run_that_stops_early_names_the_backend() {
    let adapter = format!("{ADAPTER} --misbehave crash-at-request=1");
    let check = ["check", "--profile", "moin-1.9", "--adapter", &adapter];
    for (extra, mode, not_run) in [
        (&[][..], "check of", "selected case(s) not run"),
        (
            &["--random", "50"][..],
            "check --random of",
            "trace(s) not run",
        ),
    ] {
        let (code, stdout, stderr) = run(&[&check[..], extra].concat());
        assert_eq!(code, Some(1), "{stdout}\n{stderr}");
        let says = format!(
            "{mode} adapter \"reference-memory\" (`{adapter}`) stopped early: 10 errors in a row with the same message (--stop-after-errors);"
        );
        assert_says(&stderr, &[says, not_run.to_owned()]);
    }
}
