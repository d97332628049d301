//! Seeded faults: every one is caught (by the corpus, random traces or the
//! soak), a one-rule fault is blamed on at most three clauses, and the soak
//! catches a backend that forgets sessions on wall-clock time.

use std::process::Command;

use moin_session_conformance::proof::faulty::Fault;
use moin_session_conformance::proof::selftest::{check_fault, self_test, SelfTestOptions};
use moin_session_conformance::{default_fixtures_dir, load};
use moin_session_testkit::cli::Cli;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

/// A soak just longer than the 2 s after which `wall-clock-expiry` forgets
/// an unused session: the soak sleeps at least this long after the last
/// use of its sessions before it reads them back, so every one is gone,
/// however loaded the machine (a timer only ever runs late).
const SOAK_PAST_THE_FAULT: &str = "2100ms";

#[test]
fn every_seeded_fault_is_caught() {
    let (corpus, _) = load(&default_fixtures_dir()).expect("the corpus loads");
    let options = SelfTestOptions {
        random: 50,
        seed: 1,
        soak: moin_session_conformance::proof::soak::parse_duration(SOAK_PAST_THE_FAULT).unwrap(),
        faults: Vec::new(),
        first_only: true,
    };
    let reports = self_test(&corpus, &options, |_, _, _| {});
    assert!(reports.len() >= 40, "{} faults", reports.len());
    let missed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.caught)
        .map(|r| r.name.as_str())
        .collect();
    assert!(missed.is_empty(), "faults nothing caught: {missed:?}");
    for r in &reports {
        assert!(r.case.is_some(), "{} has no catching case", r.name);
        assert!(!r.violated.is_empty(), "{} violated nothing", r.name);
    }
}

#[test]
fn the_minute_floor_fault_violates_one_to_three_clauses() {
    let (corpus, _) = load(&default_fixtures_dir()).expect("the corpus loads");
    let options = SelfTestOptions {
        random: 0,
        soak: std::time::Duration::ZERO,
        ..SelfTestOptions::default()
    };
    let r = check_fault(&corpus, Fault::ExpiresNotFloored, &options);
    assert!(r.caught);
    assert!(r.failed_cases > 10, "{} failing cases", r.failed_cases);
    assert!(
        (1..=3).contains(&r.violated.len()),
        "violated: {:?}",
        r.violated
    );
    assert!(r
        .violated
        .contains(&"m19.cookie.expires-granularity".to_owned()));
}

#[test]
fn the_json_report_counts_violations_per_requirement() {
    let faulty = format!("{ADAPTER} --fault expires-not-floored");
    let out = Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
        .check("--profile moin-1.9 --format json", &faulty)
        .exits(1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let violated: Vec<(&str, u64)> = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["violated"].as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!((1..=3).contains(&violated.len()), "{violated:?}");
    assert!(
        violated
            .iter()
            .any(|(id, _)| *id == "m19.cookie.expires-granularity"),
        "{violated:?}"
    );
    // The report leads with the violated clauses too.
    assert_eq!(
        v["violated"][0]["id"].as_str(),
        Some("m19.cookie.expires-granularity")
    );
}

/// `check --soak` of `adapter`: its exit status and standard output.
fn soak(duration: &str, adapter: &str) -> (Option<i32>, String) {
    let out = cli()
        .args(["check", "--soak", duration, "--adapter", adapter])
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_short_soak_catches_a_wall_clock_expiry() {
    // The soak with the fault and the same soak without it run side by
    // side: both wait on the clock, not on the processor.
    let faulty = format!("{ADAPTER} --fault wall-clock-expiry");
    let ((code, stdout), (clean_code, clean)) = std::thread::scope(|scope| {
        let clean = scope.spawn(|| soak("1s", ADAPTER));
        let faulty = soak(SOAK_PAST_THE_FAULT, &faulty);
        (faulty, clean.join().expect("the clean soak does not panic"))
    });
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  soak moin-1.9"), "{stdout}");
    assert!(stdout.contains("violates: m19.store.clock"), "{stdout}");
    assert!(stdout.contains("violates: m16.store.clock"), "{stdout}");
    // Without the fault the same soak passes.
    assert_eq!(clean_code, Some(0), "{clean}");
    assert!(clean.contains("2 passed, 0 failed"), "{clean}");
}

#[test]
fn self_test_reports_json_with_a_faults_list() {
    let out = cli()
        .args([
            "self-test",
            "--format",
            "json",
            "--fault",
            "samesite-dropped",
            "--fault",
            "anon-session-off",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let faults = v["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2);
    for f in faults {
        assert_eq!(f["caught"], true);
        assert!(f["case"].is_string());
        assert!(f["name"].is_string());
    }
    assert_eq!(v["caught"], 2);
}
