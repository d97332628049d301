//! `check --random`: a backend with one deliberate fault is caught, the
//! divergence is shrunk to a minimal case, and the saved fixture reproduces
//! the fault on its own.

use std::path::PathBuf;

use moin_session_testkit::cli::{Cli, Ran};
use moin_session_testkit::Scratch;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

/// Runs the CLI with the words of `words`, then `more`.
fn run(words: &str, more: &[&str]) -> Ran {
    Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance")).ran(words, more)
}

#[test]
fn a_deliberate_fault_is_caught_shrunk_saved_and_reproduced() {
    for fault in [
        "no-deletion",
        "max-age-plus-one",
        "never-new",
        "lazy-cleanup",
    ] {
        // The directory does not exist before the run: it makes it.
        let scratch = Scratch::new("random");
        let dir = scratch.join(fault);
        let saves = dir.to_str().unwrap();
        let faulty = format!("{ADAPTER} --fault {fault}");
        eprintln!("{fault}");
        let words = "check --profile moin-1.9 --random 60 --seed 11 --adapter";
        let stdout = run(words, &[&faulty, "--save-failures", saves])
            .exits(1)
            .says(&["minimal trace:"])
            .stdout;
        let saved: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(!saved.is_empty(), "{stdout}");
        // Shrinking leaves short traces.
        let text = std::fs::read_to_string(&saved[0]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let steps = v["cases"][0]["steps"].as_array().unwrap().len();
        assert!(
            steps <= 6,
            "{fault}: minimal trace has {steps} steps:\n{text}"
        );
        // The saved fixture reproduces the fault on its own...
        run("check --fixtures", &[saves, "--adapter", &faulty])
            .exits(1)
            .says(&["FAIL case m19.random.seed-11-trace-"]);
        // ...and is a correct case: the model and the fault-free adapter pass it.
        for ok in [["--backend", "model"], ["--adapter", ADAPTER]] {
            eprintln!("{ok:?}");
            run("check --fixtures", &[&[saves][..], &ok[..]].concat()).exits(0);
        }
    }
}

#[test]
fn a_correct_backend_shows_no_divergence() {
    let out = run(
        "check --random 80 --seed 5 --format json --adapter",
        &[ADAPTER],
    )
    .exits(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["divergences"].as_array().unwrap().len(), 0);
    // Every profile the adapter declares, 80 traces each.
    let profiles = v["random"]["profiles"].as_array().unwrap().len();
    assert!(profiles >= 1);
    assert_eq!(v["random"]["traces"], 80 * profiles as u64);
}

#[test]
fn random_traces_of_a_profile_the_backend_lacks_are_refused() {
    let script = r#"read line; echo '{"seq":1,"type":"hello","protocol":1,"implementation":{"name":"only19","version":"1","language":"sh"},"profiles":["moin-1.9"],"capabilities":[]}'; cat >/dev/null"#;
    let adapter = format!("sh -c '{}'", script.replace('\'', r"'\''"));
    // The script never answers `shutdown`: no need to wait the default
    // ten seconds for it.
    let words = "check --random 5 --profile moin-1.6 --step-timeout 1 --adapter";
    run(words, &[&adapter])
        .exits(2)
        .warns(&["selects a profile it does not implement"]);
}

/// The model, but a finished open request sends no `Set-Cookie`: wrong
/// only when requests overlap (`m19.overlap.*`, `m16.overlap.*`), right
/// for every plain request.
struct SilentFinish(moin_session_spec::Model);

impl moin_session_spec::Backend for SilentFinish {
    moin_session_conformance::forward_backend_calls!(0: info, reset, reconfigure, request);
    moin_session_conformance::forward_backend_calls!(0: cleanup, list, open, ops);
    fn interleaves(&self) -> bool {
        true
    }
    fn finish(
        &mut self,
        h: &str,
        now: time::OffsetDateTime,
    ) -> Result<moin_session_spec::Finished, moin_session_spec::BackendError> {
        let mut f = self.0.finish(h, now)?;
        f.set_cookies.clear();
        Ok(f)
    }
}

/// Random mode interleaves requests for a backend that runs overlapping
/// ones, finds a fault only overlap shows, and shrinks it like any other to
/// a small case that still opens and finishes a request.
#[test]
fn an_overlap_only_fault_is_found_and_shrunk_to_an_interleaved_case() {
    use moin_session_conformance::random::run::{run_random, RandomOptions};
    use moin_session_spec::fixture::Action;
    let options = RandomOptions {
        count: 40,
        seed: 5,
        save: None,
        stop: moin_session_conformance::run::stop::StopRules {
            max_failures: Some(3),
            ..Default::default()
        },
        deviations: Vec::new(),
    };
    let run = run_random(
        &mut SilentFinish(moin_session_spec::Model::new()),
        &[moin_session_spec::Profile::Moin19],
        &options,
        |_, _| {},
    )
    .expect("the run completes");
    let found = run
        .groups
        .iter()
        .find(|g| {
            matches!(
                g.result.verdict,
                moin_session_conformance::run::runner::Verdict::Fail { .. }
            )
        })
        .expect("the fault is found");
    let steps = &found.case.case.steps;
    assert!(
        steps.iter().any(|s| matches!(s.action, Action::Open(..)))
            && steps.iter().any(|s| matches!(s.action, Action::Finish(..))),
        "{:#?}",
        found.case.case
    );
    assert!(steps.len() <= 4, "shrunk: {:#?}", found.case.case);
}
