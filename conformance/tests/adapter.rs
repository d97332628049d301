//! The adapter protocol from the runner's side: a well-behaved adapter
//! passes, and adapters that crash, hang, print garbage or speak another
//! protocol version give errored cases with a clear message and a non-zero
//! exit, while the run goes on.

use std::process::{Command, Output};

use moin_session_testkit::cli::{sh_quote, Cli};
use moin_session_testkit::long::long;
use moin_session_testkit::Scratch;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn check(adapter: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out: Output = cli()
        .args(["check", "--profile", "moin-1.9", "--adapter", adapter])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn summary(stdout: &str) -> (usize, usize, usize) {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .expect("a summary line");
    let n = |word: &str| -> usize {
        let i = line.find(word).unwrap();
        line[..i]
            .trim_end()
            .rsplit([' ', ','])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (n(" passed"), n(" failed"), n(" errored"))
}

/// r[proto.command.request], r[proto.command.reset], r[proto.command.list],
/// r[proto.command.cleanup], r[proto.command.corrupt], r[proto.command.reconfigure],
/// r[proto.handshake.identity], r[proto.framing.json-lines], r[proto.framing.seq]
#[test]
fn a_well_behaved_adapter_passes_the_corpus() {
    let (code, stdout, stderr) = check(ADAPTER, &[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("backend: reference-memory"), "{stdout}");
    let (passed, failed, errored) = summary(&stdout);
    assert!(passed > 100 && failed == 0 && errored == 0, "{stdout}");
}

/// r[proto.runner.crash], r[proto.runner.errored-not-pass]
#[test]
fn a_crashing_adapter_errors_one_case_and_the_run_goes_on() {
    let (code, stdout, _) = check(&format!("{ADAPTER} --misbehave crash-at-request=3"), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ERROR case"), "{stdout}");
    assert!(
        stdout.contains("closed its standard output before answering `request`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("crashing on purpose at request 3"),
        "the stderr tail is shown: {stdout}"
    );
    let (passed, failed, errored) = summary(&stdout);
    // The restarted adapter crashes again at its own third request, so some
    // cases error; most pass.
    assert!(errored >= 1 && failed == 0 && passed > 0, "{stdout}");
}

/// r[proto.runner.timeout]: the two lifetime-pair and lifetime-default
/// cases time out (each adapter hangs at its third request), and the
/// lifetime-finite case after them passes on a restarted adapter.
#[test]
fn a_hanging_adapter_times_out_and_is_restarted() {
    let (code, stdout, _) = check(
        &format!("{ADAPTER} --misbehave hang-at-request=3"),
        &["--step-timeout", "0.3", "--case", "m19.config.lifetime*"],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("did not answer `request`"), "{stdout}");
    assert!(stdout.contains("within 300 ms"), "{stdout}");
    let (passed, _, errored) = summary(&stdout);
    assert!(errored >= 1 && passed >= 1, "{stdout}");
}

/// r[proto.framing.stdout-only], r[proto.runner.crash]
#[test]
fn an_adapter_printing_garbage_errors_the_case() {
    let (code, stdout, _) = check(
        &format!("{ADAPTER} --misbehave garbage-at-request=1"),
        &["--case", "m19.store"],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("is not a protocol reply"), "{stdout}");
    assert!(
        stdout.contains("\"this is not a protocol reply\""),
        "{stdout}"
    );
}

/// r[proto.handshake.version], r[proto.handshake.first]: an adapter of
/// another protocol version is refused at the handshake: one error naming
/// the versions, no case run, exit status 2.
#[test]
fn an_adapter_of_another_protocol_version_is_refused_before_any_case() {
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":3,"implementation":{"name":"future","version":"9","language":"sh"},"profiles":["moin-1.9"],"capabilities":[]}'; cat >/dev/null"#;
    let (code, stdout, stderr) = check(
        &format!("sh -c '{}'", script.replace('\'', r"'\''")),
        &["--case", "m19.store"],
    );
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "no report: {stdout}");
    assert!(
        stderr.contains(
            "the adapter speaks protocol version 3; this runner speaks version 2 and accepts [1, 2]"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "one error: {stderr}");
}

/// An adapter that never starts is one clear error naming the command, its
/// exit status and its last stderr lines, and exit status 2; not an ERROR
/// per case.
#[test]
fn an_adapter_that_cannot_start_is_one_error_and_exit_status_2() {
    let (code, stdout, stderr) = check("/nonexistent/adapter-binary", &["--case", "m19.store"]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "no report: {stdout}");
    assert!(
        stderr.contains("cannot start adapter `/nonexistent/adapter-binary`"),
        "the reason is shown: {stderr}"
    );
    let (code, stdout, stderr) = check(
        "sh -c 'echo first-words >&2; echo last-words >&2; exit 7'",
        &[],
    );
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "no report: {stdout}");
    assert!(stderr.contains("did not start"), "{stderr}");
    assert!(stderr.contains("exit status: 7"), "{stderr}");
    assert!(stderr.contains("last-words"), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "one error: {stderr}");
}

/// r[proto.handshake.capabilities], r[proto.errors.kinds]: a capability the
/// adapter lacks skips the case; a skip is not a pass.
#[test]
fn missing_capabilities_skip_cases() {
    // r[proto.handshake.capabilities]: the case needs `corrupt`, which the
    // adapter leaves out of its handshake; it carries out everything else.
    let adapter = format!("{ADAPTER} --without corrupt");
    let (code, stdout, stderr) = check(
        &adapter,
        &["--case", "m19.load.unreadable-record-anonymous"],
    );
    assert_eq!(
        code,
        Some(3),
        "a run of skips only is not a pass:\n{stdout}"
    );
    assert!(
        stdout.contains("0 passed, 0 failed, 0 errored, 1 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("capability `corrupt`"), "{stdout}");
    assert!(stderr.contains("nothing was checked"), "{stderr}");
}

/// Cases about rejected configurations never reach an adapter: they are
/// skipped (never passed), and the text report says so in one line, not one
/// line per case.
#[test]
fn skips_for_one_reason_are_one_line() {
    let (code, stdout, _) = check(ADAPTER, &["--profile", "moin-1.9", "--case", "m19.config"]);
    assert_eq!(code, Some(0), "{stdout}");
    let not_passed = stdout
        .split("not passed:")
        .nth(1)
        .expect("a not-passed section");
    let skip_lines: Vec<&str> = not_passed.lines().filter(|l| l.contains("SKIP")).collect();
    assert_eq!(skip_lines.len(), 1, "{stdout}");
    assert!(
        skip_lines[0].contains("case(s): a rejected configuration never reaches this backend"),
        "{stdout}"
    );
}

/// r[proto.handshake.profiles]: only the declared profiles' cases run. The
/// adapter declares all three profiles; behind `sed`, its hello reply
/// declares moin-1.9 alone, and a `check` without `--profile` runs the
/// moin-1.9 cases and no other (one profile's corpus, not three).
#[test]
fn only_the_declared_profiles_run() {
    let only_m19 = r#"s/"profiles":\[[^]]*\]/"profiles":["moin-1.9"]/"#;
    let adapter = format!(
        "sh -c '{ADAPTER} | sed -u {}'",
        sh_quote(only_m19).replace('\'', r"'\''")
    );
    let out = cli()
        .args(["check", "--format", "json", "--adapter", &adapter])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let profiles: std::collections::BTreeSet<&str> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["profile"].as_str().unwrap())
        .collect();
    assert_eq!(profiles, ["moin-1.9"].into(), "{out:?}");
}

/// The report in `format` of the `m19.lifetime` cases on an adapter whose
/// cookies live a second too long: a failed run.
fn lifetime_fault_report(format: &str) -> String {
    let faulty = format!("{ADAPTER} --fault max-age-plus-one");
    let (code, stdout, _) = check(&faulty, &["--format", format, "--case", "m19.lifetime"]);
    assert_eq!(code, Some(1), "{stdout}");
    stdout
}

#[test]
fn junit_output_is_well_formed_xml_with_one_test_per_case() {
    let stdout = lifetime_fault_report("junit");
    let doc = roxmltree::Document::parse(&stdout).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        root.attribute("tests").unwrap().parse::<usize>().unwrap(),
        cases.len()
    );
    let failures: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert!(!failures.is_empty());
    assert_eq!(
        root.attribute("failures")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        failures.len()
    );
    let text = failures[0].text().unwrap();
    assert!(
        text.contains("max_age: expected") && text.contains("observed"),
        "{text}"
    );
    // The message leads with the violated clause.
    let message = failures[0].attribute("message").unwrap();
    assert!(
        message.starts_with("violates m19.cookie.max-age: step "),
        "{message}"
    );
}

#[test]
fn junit_escapes_hostile_text() {
    // An adapter that greets, then writes markup and control characters to
    // its stderr and dies at the first command after the handshake.
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":2,"implementation":{"name":"hostile","version":"0","language":"sh"},"profiles":["moin-1.9"],"capabilities":[]}'; read line; echo '<b>&"boom"</b>' >&2; printf '\001\033[31m' >&2; exit 1"#;
    let (_, stdout, _) = check(
        &format!("sh -c '{}'", script.replace('\'', r"'\''")),
        &["--format", "junit", "--case", "m19.store"],
    );
    let doc = roxmltree::Document::parse(&stdout).expect("well-formed XML despite hostile stderr");
    assert!(
        doc.descendants().any(|n| n.has_tag_name("error")),
        "the cases errored: {stdout}"
    );
}

#[test]
fn markdown_summarises_for_a_ci_step() {
    let (_, stdout, _) = check(
        &format!("{ADAPTER} --fault never-new"),
        &["--format", "markdown", "--case", "m19.new"],
    );
    assert!(
        stdout.starts_with("## ❌ moin-session-conformance"),
        "{stdout}"
    );
    assert!(stdout.contains("| outcome | case | step | violates | covers | detail |"));
    assert!(stdout.contains("| failed | `m19.new."), "{stdout}");
    // Violated clauses lead: only the definition of `new` is blamed.
    let lead = stdout
        .find("### Violated clauses")
        .expect("a violated section");
    assert!(lead < stdout.find("### Not passed").unwrap());
    let section = &stdout[lead..stdout.find("### Not passed").unwrap()];
    let rows = section.lines().filter(|l| l.starts_with("| `m19.")).count();
    assert_eq!(rows, 1, "{section}");
    assert!(section.contains("| `m19.new.definition` |"), "{section}");
}

#[test]
fn known_failures_are_expected_and_a_passing_one_fails_the_run() {
    let dir = Scratch::new("expect");
    let file = dir.join("expected.json");
    let faulty = format!("{ADAPTER} --fault max-age-plus-one");
    // With the fault every case that issues a cookie fails; list them all.
    let runner = Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance"));
    let out = runner.check(
        "--profile moin-1.9 --format json --case m19.lifetime",
        &faulty,
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let failing: Vec<&str> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "failed")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!failing.is_empty());
    let list: Vec<serde_json::Value> = failing
        .iter()
        .map(|id| serde_json::json!({"case": id, "reason": "max-age is off by one", "issue": "https://example.org/1"}))
        .collect();
    std::fs::write(
        &file,
        serde_json::json!({ "known_failures": list }).to_string(),
    )
    .unwrap();
    let expected = |adapter: &str| {
        let words = "check --profile moin-1.9 --case m19.lifetime --expectations";
        runner.ran(words, &[file.to_str().unwrap(), "--adapter", adapter])
    };
    let known = format!(
        "known failure (expectations file {}): max-age is off by one (https://example.org/1)",
        file.display()
    );
    let count = format!("{} expected failure(s)", failing.len());
    expected(&faulty)
        .exits(0)
        .says(&["XFAIL case", &known, &count]);
    // Without the fault, the listed cases pass: unexpected passes fail the run.
    expected(ADAPTER).exits(1).says(&["XPASS case"]);
    // A list naming no case is a usage error.
    std::fs::write(
        &file,
        r#"{"known_failures": [{"case": "m19.no.such", "reason": "x"}]}"#,
    )
    .unwrap();
    let (code, _, stderr) = check(ADAPTER, &["--expectations", file.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("names no case"), "{stderr}");
}

/// r[proto.runner.timeout]: the adapter is killed, with everything it
/// started, not only the `sh -c` wrapper.
#[test]
fn a_timed_out_adapter_leaves_no_process_behind() {
    use moin_session_testkit::hostile::{marker, processes_with_env};
    // `; true` keeps the shell from exec'ing, so the adapter is a grandchild.
    let command = format!("{ADAPTER} --misbehave hang-at-request=1; true");
    // A mark in the environment of this run's processes only (other test
    // runs may hang adapters of their own meanwhile).
    let mark = marker("timeout");
    let (name, value) = mark.split_once('=').unwrap();
    let out = cli()
        .args([
            "check",
            "--adapter",
            &command,
            "--step-timeout",
            "0.3",
            "--case",
            "m19.store",
        ])
        .env(name, value)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // Killed processes may take a moment to be gone; a left-over adapter
    // hangs for good, so it is still there after 5 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut survivors = processes_with_env(&mark);
    while !survivors.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        survivors = processes_with_env(&mark);
    }
    assert!(survivors.is_empty(), "adapters left running: {survivors:?}");
}

/// The lines of a text report's "not passed" part that report skipped
/// cases (not the per-requirement lines above it).
fn skip_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("not passed:"))
        .filter(|l| l.trim_start().starts_with("SKIP"))
        .collect()
}

/// r[proto.interleave.capability]: an adapter without `interleave` is sent
/// no open/ops/finish; its interleaved cases are skipped, never passed,
/// and the report says so in one line.
#[test]
fn an_adapter_without_interleave_skips_interleaved_cases_in_one_line() {
    let adapter = format!("{ADAPTER} --without interleave");
    let (code, stdout, stderr) = check(&adapter, &["--case", "m19.overlap"]);
    // Skips only: nothing was checked, which is not a success.
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("nothing was checked"), "{stderr}");
    let (passed, failed, errored) = summary(&stdout);
    assert_eq!((passed, failed, errored), (0, 0, 0), "{stdout}");
    assert!(stdout.contains(" 0 errored, 22 skipped"), "{stdout}");
    let skips = skip_lines(&stdout);
    assert_eq!(skips.len(), 1, "one line for all of them:\n{stdout}");
    assert!(
        skips[0].contains("SKIP 22 case(s)") && skips[0].contains("`interleave`"),
        "{stdout}"
    );
    // With the capability, the same cases run and pass.
    let (code, stdout, _) = check(ADAPTER, &["--case", "m19.overlap"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(summary(&stdout), (22, 0, 0), "{stdout}");
}

/// r[proto.handshake.version]: a protocol 1 adapter is still run, but never
/// sent overlapping requests, even if it claims `interleave`.
#[test]
fn a_protocol_1_adapter_runs_without_overlapping_requests() {
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":1,"implementation":{"name":"old","version":"1","language":"sh"},"profiles":["moin-1.9"],"capabilities":["interleave"]}'; while read line; do seq=$(echo "$line" | sed 's/.*"seq":\([0-9]*\).*/\1/'); case "$line" in *'"type":"reset"'*) echo "{\"seq\":$seq,\"type\":\"ok\"}";; *shutdown*) echo "{\"seq\":$seq,\"type\":\"bye\"}"; exit 0;; *) echo "{\"seq\":$seq,\"type\":\"error\",\"kind\":\"unsupported\",\"message\":\"no\"}";; esac; done"#;
    let (code, stdout, _) = check(
        &format!("sh -c '{}'", script.replace('\'', r"'\''")),
        &["--case", "m19.overlap.save-after-logout"],
    );
    assert_eq!(code, Some(3), "skips only: nothing was checked\n{stdout}");
    assert!(
        stdout.contains("0 passed, 0 failed, 0 errored, 1 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("`interleave`"), "{stdout}");
}

/// `--format html` is one self-contained page: it parses as XML, loads
/// nothing from elsewhere, leads its requirement table with the violated
/// clause, links each row to the clause's text within the page, and shows
/// the failing case's transcript with the failing step marked.
#[test]
fn html_report_is_one_self_contained_page_leading_with_the_violated_clause() {
    let stdout = lifetime_fault_report("html");
    let body = stdout
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("an HTML5 doctype");
    let doc = roxmltree::Document::parse(body).expect("well-formed");
    for node in doc.descendants() {
        for attr in ["src", "href"] {
            if let Some(v) = node.attribute(attr) {
                assert!(v.starts_with('#'), "only links within the page: {attr}={v}");
            }
        }
        assert!(
            !matches!(node.tag_name().name(), "script" | "link" | "img" | "iframe"),
            "nothing loaded from elsewhere"
        );
    }
    let first_row = doc
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .nth(1)
        .expect("a requirement row");
    let text: String = first_row
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.starts_with("VIOLATED m19.cookie.max-age"),
        "the violated clause first: {text}"
    );
    let link = first_row
        .descendants()
        .find_map(|n| n.attribute("href"))
        .expect("the row links to its clause");
    let target = &link[1..];
    assert!(
        doc.descendants().any(|n| n.attribute("id") == Some(target)),
        "the clause {target} is in the page"
    );
    let marked = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("failed"))
        .expect("the failing step is marked");
    let marked_text: String = marked
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap_or(""))
        .collect();
    assert!(marked_text.contains("Max-Age="), "{marked_text}");
}

/// The adapter binary serves the database stores too: SQLite in a
/// temporary file, Redis on a server started for the test.
#[test]
fn the_adapter_serves_the_sqlite_and_redis_stores() {
    let server = moin_session_testkit::redis_server::RedisServer::start()
        .unwrap_or_else(|e| panic!("no Redis server for the tests: {e}"));
    // The durable SQLite store runs the cleanup cases by default and the
    // whole corpus in the long run (the crowd case's 2,000 durable saves).
    let sqlite_scope: &[&str] = if long() {
        &[]
    } else {
        &["--case", "m19.cleanup"]
    };
    for (backend, scope) in [
        ("reference-sqlite".to_owned(), sqlite_scope),
        (format!("reference-redis:{}", server.url()), &[][..]),
    ] {
        let adapter = format!("{ADAPTER} --backend {backend}");
        let (code, stdout, stderr) = check(&adapter, scope);
        assert_eq!(code, Some(0), "{backend}: {stdout}\n{stderr}");
        let (passed, failed, errored) = summary(&stdout);
        let enough = if scope.is_empty() { 100 } else { 5 };
        assert!(passed > enough && failed == 0 && errored == 0, "{stdout}");
    }
    // A bad choice is refused by the adapter before it speaks.
    let out = Command::new(ADAPTER)
        .args(["--backend", "reference-sqlite:/nonexistent-moin-dir/s.db"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent-moin-dir"), "{stderr}");
}

/// `--jobs N` runs the cases over N adapter processes and reports exactly
/// what a serial run reports.
#[test]
fn jobs_give_the_report_of_a_serial_run() {
    let adapter = format!("{ADAPTER} --fault max-age-plus-one");
    let (code1, serial, _) = check(&adapter, &["--format", "json", "--case", "m19.lifetime"]);
    let (code3, parallel, stderr) = check(
        &adapter,
        &["--format", "json", "--case", "m19.lifetime", "--jobs", "3"],
    );
    assert_eq!((code1, code3), (Some(1), Some(1)), "{stderr}");
    let cases = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["cases"].clone()
    };
    assert_eq!(cases(&serial), cases(&parallel));
    let out = cli()
        .args(["check", "--jobs", "0", "--adapter", ADAPTER])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jobs takes 1 to 64"));
}
