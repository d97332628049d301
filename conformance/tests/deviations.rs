//! Declared deviations: a backend that departs from one clause on purpose
//! (it always sends HttpOnly; it refuses session ids it never issued)
//! declares it once and is green, over the corpus and 200 random traces
//! (from seed 1, of which 119 differ on HttpOnly and 70 on the refused
//! sid), through the CLI and the Rust harness; a difference on any other
//! clause still fails; a declaration that is not true of the backend
//! (exercised, never found) fails the run; an unknown clause is a usage
//! error; every report format shows one DEVIATES row per declared clause.

use std::path::PathBuf;
use std::process::Command;

use moin_session_conformance::harness::Harness;
use moin_session_conformance::proof::faulty::{Fault, Faulty};
use moin_session_conformance::random::{run_random, RandomOptions};
use moin_session_conformance::run::expectations::{Deviation, Expectations, Origin};
use moin_session_conformance::run::runner::{run_case_with, Verdict};
use moin_session_conformance::{load_builtin, report, run_all_with, Selection};
use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{MemoryStore, Model, Profile, ReferenceBackend};
use moin_session_testkit::corpus::cases_of;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

/// Writes `text` as an expectations file in a directory of this test's own.
fn expectations_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deviations");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, text).unwrap();
    file
}

const HTTPONLY: &str = r#"{"deviations": [{"clause": "m19.cookie.httponly",
  "reason": "we always send HttpOnly", "issue": "https://example.org/7"}]}"#;

fn run(args: &[&str], adapter: &str) -> (Option<i32>, String, String) {
    let out = cli()
        .args(args)
        .args(["--adapter", adapter])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Random traces through the CLI and the harness: enough that many differ
/// on the declared clause (the tests assert how many), few enough to be
/// quick.
const TRACES: &str = "200";

fn deviation(clause: &str) -> Deviation {
    Deviation {
        clause: clause.to_owned(),
        reason: "on purpose".to_owned(),
        issue: None,
        origin: Origin::Code,
    }
}

#[test]
fn an_always_httponly_adapter_is_green_with_one_declared_deviation() {
    let file = expectations_file("httponly", HTTPONLY);
    let adapter = format!("{ADAPTER} --fault httponly-always");
    let base = ["check", "--profile", "moin-1.9", "--expectations"];
    let mut args = base.to_vec();
    args.push(file.to_str().unwrap());
    let (code, stdout, stderr) = run(&args, &adapter);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("declared deviations:\n  DEVIATES m19.cookie.httponly: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("we always send HttpOnly (https://example.org/7)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("configuration value `cookie_httponly`"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" deviate (declared deviations only)"),
        "{stdout}"
    );
    assert!(!stdout.contains("violated clauses:"), "{stdout}");
    args.extend(["--random", TRACES]);
    let (code, stdout, stderr) = run(&args, &adapter);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("only on declared deviations"), "{stdout}");
    assert!(stdout.contains("0 diverged"), "{stdout}");
    // 119 of the 200 traces from seed 1 differ on HttpOnly: the
    // declaration is honoured over many traces, not a lucky few.
    let deviating = number_after(&stdout, "declared deviation m19.cookie.httponly: ");
    assert!(deviating >= 100, "{deviating} traces deviate:\n{stdout}");
}

const REFUSES: &str = r#"{"deviations": [{"clause": "m19.load.unknown-sid-adopted",
  "reason": "we refuse session ids we never issued (session fixation)"}]}"#;

/// A backend that refuses client-chosen sids departs from one clause; the
/// steps after the refusal, which the case wrote for the adopted session,
/// are its consequences and deviate too (`run/judge.rs`).
#[test]
fn a_backend_refusing_client_chosen_sids_is_green_with_one_declared_deviation() {
    let file = expectations_file("refuses", REFUSES);
    let adapter = format!("{ADAPTER} --fault refuses-unknown-sid");
    let mut args = vec!["check", "--profile", "moin-1.9", "--expectations"];
    args.push(file.to_str().unwrap());
    let mut random = args.clone();
    random.extend(["--random", TRACES]);
    // Three independent runs, side by side: the corpus and the random
    // traces with the declaration, the corpus without it.
    let [declared, random, undeclared] = std::thread::scope(|scope| {
        let runs = [
            &args[..],
            &random[..],
            &["check", "--profile", "moin-1.9"][..],
        ]
        .map(|args| scope.spawn(|| run(args, &adapter)));
        runs.map(|r| r.join().expect("the CLI run does not panic"))
    });
    let (code, stdout, stderr) = declared;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  DEVIATES m19.load.unknown-sid-adopted: 11 case(s)"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 failed, 0 errored"), "{stdout}");
    let (code, stdout, stderr) = random;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("0 diverged"), "{stdout}");
    // 70 of the 200 traces from seed 1 meet a refused sid.
    let deviating = number_after(&stdout, "declared deviation m19.load.unknown-sid-adopted: ");
    assert!(deviating >= 50, "{deviating} traces deviate:\n{stdout}");
    // Without the declaration, the same run fails on that clause.
    let (code, stdout, _) = undeclared;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("violated clauses:\n  m19.load.unknown-sid-adopted: 11 case(s)"),
        "{stdout}"
    );
}

/// A deviation on a clause that decides the session waives only what
/// follows from it: another fault on top is still found in every case in
/// which the deviation does not arise.
#[test]
fn a_session_deviation_hides_another_fault_only_where_it_arises() {
    let cases = cases_of(Profile::Moin19);
    let declared = [deviation("m19.load.unknown-sid-adopted")];
    // The three faults are independent: they run side by side.
    std::thread::scope(|scope| {
        let faults = [
            Fault::MaxAgePlusOne,
            Fault::ValuesStringified,
            Fault::LogoutIgnored,
        ];
        let (cases, declared) = (&cases, &declared);
        let runs = faults
            .map(|fault| scope.spawn(move || hidden_only_where_it_arises(fault, cases, declared)));
        for run in runs {
            run.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
}

/// `fault` alone and under the declared sid refusal: a case that fails
/// alone and not under both is one where the deviation arose.
fn hidden_only_where_it_arises(fault: Fault, cases: &[&LoadedCase], declared: &[Deviation]) {
    let mut alone = Faulty::new(Model::new(), fault);
    let alone = run_all_with(&mut alone, cases, &[], |_, _| {});
    let mut both = Faulty::new(Faulty::new(Model::new(), Fault::RefusesUnknownSid), fault);
    let both = run_all_with(&mut both, cases, declared, |_, _| {});
    for (a, b) in alone.iter().zip(&both) {
        if matches!(a.verdict, Verdict::Fail { .. }) && !matches!(b.verdict, Verdict::Fail { .. }) {
            assert!(
                b.deviated_clauses() == ["m19.load.unknown-sid-adopted"],
                "{fault}: {} passed without the deviation arising: {b:?}",
                a.id
            );
        }
    }
    let failed = |rs: &[moin_session_conformance::run::runner::CaseResult]| {
        rs.iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail { .. }))
            .count()
    };
    assert!(failed(&both) + 6 >= failed(&alone), "{fault}");
}

#[test]
fn the_same_backend_without_the_declaration_fails_on_that_clause_alone() {
    let (code, stdout, _) = run(
        &["check", "--profile", "moin-1.9", "--random", "50"],
        &format!("{ADAPTER} --fault httponly-always"),
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("m19.cookie.httponly @ "), "{stdout}");
}

#[test]
fn a_declared_deviation_never_found_fails_the_run_naming_it() {
    let file = expectations_file("unused", HTTPONLY);
    // The cookie cases exercise the clause (the whole corpus need not run).
    let (code, stdout, stderr) = run(
        &[
            "check",
            "--profile",
            "moin-1.9",
            "--case",
            "m19.cookie",
            "--expectations",
            file.to_str().unwrap(),
        ],
        ADAPTER,
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("declared deviation m19.cookie.httponly was exercised by")
            && stderr.contains("and never found")
            && stderr.contains(&format!(
                "remove it from the expectations file {}",
                file.display()
            )),
        "{stderr}"
    );
    assert!(stdout.contains("UNUSED m19.cookie.httponly"), "{stdout}");
}

#[test]
fn an_unknown_clause_is_a_usage_error_with_a_did_you_mean() {
    let file = expectations_file(
        "typo",
        r#"{"deviations": [{"clause": "m19.cookie.httponlyy", "reason": "typo"}]}"#,
    );
    for extra in [&[][..], &["--random", "5"][..]] {
        let mut args = vec!["check", "--expectations", file.to_str().unwrap()];
        args.extend(extra);
        let (code, _, stderr) = run(&args, ADAPTER);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("names no requirement of the spec")
                && stderr.contains("did you mean m19.cookie.httponly?"),
            "{stderr}"
        );
    }
}

#[test]
fn the_older_file_of_known_failures_only_still_reads() {
    let e = Expectations::parse(
        std::path::Path::new("old.json"),
        r#"{"known_failures": [{"case": "m19.load.no-cookie", "reason": "x"}]}"#,
    )
    .unwrap();
    assert_eq!(e.known_failures.len(), 1);
    assert!(e.deviations.is_empty());
    assert_eq!(
        e.known_failures[0].origin,
        Origin::File("old.json".to_owned())
    );
    let bad = Expectations::parse(
        std::path::Path::new("bad.json"),
        r#"{"deviations": [{"clause": "m19.cookie.httponly"}]}"#,
    )
    .unwrap_err();
    assert!(
        bad.contains("bad.json:1:") && bad.contains("reason"),
        "{bad}"
    );
}

/// Two faults at once: HttpOnly always (declared) and Max-Age off by one
/// (not): every case with a cookie still fails, on `m19.cookie.max-age`
/// only, and its report marks the HttpOnly difference as declared.
#[test]
fn a_deviation_cannot_hide_a_difference_on_another_clause() {
    let cases = cases_of(Profile::Moin19);
    let mut both = Faulty::new(
        Faulty::new(Model::new(), Fault::HttpOnlyAlways),
        Fault::MaxAgePlusOne,
    );
    let declared = [deviation("m19.cookie.httponly")];
    let results = run_all_with(&mut both, &cases, &declared, |_, _| {});
    let summary = report::Summary::of(&results);
    assert!(summary.failed > 100, "{}", summary.line());
    let mut marked = 0;
    for r in &results {
        if let Verdict::Fail {
            violated,
            differences,
            ..
        } = &r.verdict
        {
            assert!(
                !violated.contains(&"m19.cookie.httponly".to_owned()),
                "{r:?}"
            );
            marked += differences
                .iter()
                .filter(|d| d.ends_with("(m19.cookie.httponly, declared deviation)"))
                .count();
        }
    }
    assert!(marked > 100, "the declared differences are shown, marked");
    // Only the Max-Age fault, with the same declaration: the same cases
    // fail, and the declaration is unused.
    let mut one = Faulty::new(Model::new(), Fault::MaxAgePlusOne);
    let alone = run_all_with(&mut one, &cases, &declared, |_, _| {});
    assert_eq!(report::Summary::of(&alone).failed, summary.failed);
    assert_eq!(
        moin_session_conformance::run::expectations::unused_deviations(&declared, &alone).len(),
        1
    );
}

/// A step that deviates does not end the case: the steps after it are
/// judged, so a fault in a later step is still found.
#[test]
fn the_steps_after_a_deviating_step_are_still_judged() {
    let (corpus, _) = load_builtin().unwrap();
    let case = corpus.get("m19.auth.logout-kills-session").unwrap();
    let mut both = Faulty::new(
        Faulty::new(Model::new(), Fault::HttpOnlyAlways),
        Fault::LogoutIgnored,
    );
    let r = run_case_with(&mut both, case, &[deviation("m19.cookie.httponly")]);
    let Verdict::Fail { step, violated, .. } = &r.verdict else {
        panic!("the ignored logout is found: {r:?}");
    };
    assert!(
        r.deviations.first().is_some_and(|d| d.step < *step),
        "{r:?}"
    );
    assert!(
        violated.iter().all(|c| c != "m19.cookie.httponly"),
        "{violated:?}"
    );
}

#[test]
fn random_traces_that_differ_only_on_a_declared_clause_agree() {
    let mut backend = Faulty::new(
        ReferenceBackend::new("r", MemoryStore::new()),
        Fault::HttpOnlyAlways,
    );
    let options = RandomOptions {
        count: 100,
        seed: 3,
        deviations: vec![deviation("m19.cookie.httponly")],
        ..RandomOptions::default()
    };
    let run = run_random(&mut backend, &[Profile::Moin19], &options, |_, _| {}).unwrap();
    assert!(
        run.ok(),
        "{}",
        moin_session_conformance::random::run::text(&run, "b", &[Profile::Moin19], 3)
    );
    assert!(run.total().deviated > 50, "{:?}", run.total());
    assert!(run.deviated["m19.cookie.httponly"] > 50);
}

#[test]
fn every_report_format_shows_one_deviates_row_per_declared_clause() {
    let (corpus, requirements) = load_builtin().unwrap();
    let cases = Selection {
        profiles: vec![Profile::Moin19],
        case: Some("m19.cookie".to_owned()),
        ..Selection::default()
    }
    .apply(&corpus);
    let mut backend = Faulty::new(Model::new(), Fault::HttpOnlyAlways);
    let declared = [
        deviation("m19.cookie.httponly"),
        deviation("m19.cookie.path"),
        deviation("hard.cookie.samesite"),
    ];
    let results = run_all_with(&mut backend, &cases, &declared, |_, _| {});
    let text = report::text(&results, &requirements, &[Profile::Moin19], &declared);
    assert!(text.contains("  DEVIATES m19.cookie.httponly: "), "{text}");
    assert!(text.contains("  UNUSED m19.cookie.path: "), "{text}");
    assert!(
        text.contains("  NOT EXERCISED hard.cookie.samesite: "),
        "{text}"
    );
    let versions = report::Versions::of_run(None);
    let json: serde_json::Value = serde_json::from_str(&report::json(
        &results,
        &requirements,
        "b",
        &versions,
        &declared,
    ))
    .unwrap();
    assert_eq!(json["deviations"][0]["status"], "DEVIATES");
    assert_eq!(json["deviations"][0]["configuration"], "cookie_httponly");
    assert!(json["summary"]["deviated"].as_u64().unwrap() > 0);
    let junit = report::junit(&results, "b", &declared);
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let suite = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("declared deviations"))
        .expect("a suite of declared deviations");
    assert_eq!(suite.attribute("failures"), Some("1"), "{junit}");
    let md = report::markdown(&results, &requirements, &[Profile::Moin19], "b", &declared);
    assert!(md.contains("| DEVIATES | `m19.cookie.httponly` |"), "{md}");
    let titles = Default::default();
    let html = report::html::HtmlReport {
        results: &results,
        titles: &titles,
        requirements: &requirements,
        profiles: &[Profile::Moin19],
        backend: "b",
        versions: &versions,
        deviations: &declared,
        stopped: None,
    }
    .render();
    assert!(html.contains("<h2>Declared deviations</h2>"), "{html}");
    assert!(html.contains("<code>m19.cookie.httponly</code>"), "{html}");
}

#[test]
fn the_harness_takes_a_deviation_and_reports_it_after_the_tests() {
    let harness = Harness::new("httponly", || {
        Faulty::new(Model::new(), Fault::HttpOnlyAlways)
    })
    .profiles(&[Profile::Moin19])
    .deviation("m19.cookie.httponly", "we always send HttpOnly");
    let trials = harness.trials().unwrap();
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("deviations-harness.log");
    let args = libtest_mimic::Arguments {
        test_threads: Some(2),
        logfile: Some(log.display().to_string()),
        ..libtest_mimic::Arguments::default()
    };
    let conclusion = libtest_mimic::run(&args, trials);
    assert_eq!(conclusion.num_failed, 0, "{conclusion:?}");
    let closing = harness.closing();
    assert_eq!(closing.unused_deviations, 0);
    assert!(
        closing.text.contains("DEVIATES m19.cookie.httponly"),
        "{}",
        closing.text
    );
    // Declared on a backend that keeps the clause: the run fails after
    // the tests, naming the declaration in the harness's terms.
    let keeps = Harness::for_store("memory", MemoryStore::new)
        .profiles(&[Profile::Moin19])
        .deviation("m19.cookie.httponly", "we always send HttpOnly");
    let conclusion = libtest_mimic::run(&args, keeps.trials().unwrap());
    assert_eq!(conclusion.num_failed, 0);
    let closing = keeps.closing();
    assert_eq!(closing.unused_deviations, 1);
    assert!(
        closing.text.contains("the harness's .deviation(…) calls"),
        "{}",
        closing.text
    );
    let Err(e) = Harness::for_store("memory", MemoryStore::new)
        .deviation("m19.cookie.htponly", "typo")
        .trials()
    else {
        panic!("an unknown clause is refused before any test");
    };
    assert!(e.contains("did you mean m19.cookie.httponly?"), "{e}");
}

/// A Rust backend through the harness, over the moin-1.9 corpus and 200
/// random traces (the CLI's traces from the same seed: 119 of them differ
/// on HttpOnly, 70 meet a refused sid), with the one deviation it has
/// declared: every
/// test passes (the random-trace test included) and the declaration was
/// found, not UNUSED.
fn green_through_the_harness(fault: Fault, clause: &str) {
    let harness = Harness::new(fault.to_string(), move || {
        Faulty::new(ReferenceBackend::new("r", MemoryStore::new()), fault)
    })
    .profiles(&[Profile::Moin19])
    .deviation(clause, "on purpose")
    .random_traces(TRACES.parse().expect("a count"));
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("green-{fault}.log"));
    let args = libtest_mimic::Arguments {
        test_threads: Some(2),
        logfile: Some(log.display().to_string()),
        ..libtest_mimic::Arguments::default()
    };
    let conclusion = libtest_mimic::run(&args, harness.trials().unwrap());
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(conclusion.num_failed, 0, "{fault}:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("random-traces.seed-1") && l.ends_with("ok")),
        "{fault}:\n{log}"
    );
    let closing = harness.closing();
    assert_eq!(closing.unused_deviations, 0, "{}", closing.text);
    assert!(
        closing.text.contains(&format!("DEVIATES {clause}: ")),
        "{}",
        closing.text
    );
    assert!(
        !closing.text.contains("violated clauses"),
        "{}",
        closing.text
    );
}

#[test]
fn an_always_httponly_rust_backend_is_green_through_the_harness() {
    green_through_the_harness(Fault::HttpOnlyAlways, "m19.cookie.httponly");
}

#[test]
fn a_rust_backend_refusing_client_chosen_sids_is_green_through_the_harness() {
    green_through_the_harness(Fault::RefusesUnknownSid, "m19.load.unknown-sid-adopted");
}

/// The first number after `marker` in `text` (the README, a report).
fn number_after(text: &str, marker: &str) -> usize {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} is missing (from the README or the report)"));
    text[at + marker.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {marker:?}"))
}

/// The README's table of what each deviation example costs is measured:
/// the moin-1.9 case count, and for each example how many cases deviate
/// and how many pass, with nothing failing.
#[test]
fn the_readme_says_how_many_cases_each_deviation_example_affects() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    let cases = cases_of(Profile::Moin19);
    assert_eq!(
        number_after(&readme, "over the built-in corpus's "),
        cases.len(),
        "the README's count of moin-1.9 cases"
    );
    for (row, fault, clause) in [
        (
            "| always sends `HttpOnly` | `m19.cookie.httponly` | ",
            Fault::HttpOnlyAlways,
            "m19.cookie.httponly",
        ),
        (
            "| refuses session ids it never issued | `m19.load.unknown-sid-adopted` | ",
            Fault::RefusesUnknownSid,
            "m19.load.unknown-sid-adopted",
        ),
    ] {
        let mut backend = Faulty::new(Model::new(), fault);
        let results = run_all_with(&mut backend, &cases, &[deviation(clause)], |_, _| {});
        let s = report::Summary::of(&results);
        assert_eq!((s.failed, s.errored), (0, 0), "{fault}: {}", s.line());
        assert_eq!(
            number_after(&readme, row),
            s.deviated,
            "{fault}: the README's count of deviating cases ({})",
            s.line()
        );
        let line = readme[readme.find(row).unwrap()..].lines().next().unwrap();
        if line.contains(" pass;") {
            assert_eq!(number_after(line, "deviate, "), s.passed, "{line}");
        } else {
            assert!(line.contains("the rest pass"), "{line}");
            assert_eq!(s.passed + s.deviated + s.skipped, cases.len(), "{line}");
        }
    }
}
