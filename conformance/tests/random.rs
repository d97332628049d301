//! `check --random`: a backend with one deliberate fault is caught, the
//! divergence is shrunk to a minimal case, and the saved fixture reproduces
//! the fault on its own.

use std::path::PathBuf;
use std::process::Command;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("moin-random-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_deliberate_fault_is_caught_shrunk_saved_and_reproduced() {
    for fault in [
        "no-deletion",
        "max-age-plus-one",
        "never-new",
        "lazy-cleanup",
    ] {
        let dir = scratch(fault);
        let faulty = format!("{ADAPTER} --fault {fault}");
        let out = cli()
            .args([
                "check",
                "--profile",
                "moin-1.9",
                "--random",
                "60",
                "--seed",
                "11",
                "--adapter",
                &faulty,
            ])
            .arg("--save-failures")
            .arg(&dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{fault} not caught:\n{stdout}");
        assert!(stdout.contains("minimal trace:"), "{stdout}");
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
        let again = cli()
            .args(["check", "--adapter", &faulty, "--fixtures"])
            .arg(&dir)
            .output()
            .unwrap();
        let again_out = String::from_utf8(again.stdout).unwrap();
        assert_eq!(
            again.status.code(),
            Some(1),
            "{again_out}\n{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(
            again_out.contains("FAIL case m19.random.seed-11-trace-"),
            "{again_out}"
        );
        // ...and is a correct case: the model and the fault-free adapter pass it.
        for ok in [vec!["--backend", "model"], vec!["--adapter", ADAPTER]] {
            let clean = cli()
                .args(["check", "--fixtures"])
                .arg(&dir)
                .args(&ok)
                .output()
                .unwrap();
            assert_eq!(
                clean.status.code(),
                Some(0),
                "{ok:?}: {}",
                String::from_utf8_lossy(&clean.stdout)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_correct_backend_shows_no_divergence() {
    let out = cli()
        .args([
            "check",
            "--random",
            "80",
            "--seed",
            "5",
            "--adapter",
            ADAPTER,
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let out = cli()
        .args([
            "check",
            "--random",
            "5",
            "--profile",
            "moin-1.6",
            // The script never answers `shutdown`: no need to wait the
            // default ten seconds for it.
            "--step-timeout",
            "1",
            "--adapter",
            &adapter,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("selects a profile it does not implement"),
        "{err}"
    );
}

/// The model, but a finished open request sends no `Set-Cookie`: wrong
/// only when requests overlap (`m19.overlap.*`, `m16.overlap.*`), right
/// for every plain request.
struct SilentFinish(moin_session_spec::Model);

impl moin_session_spec::Backend for SilentFinish {
    fn info(&self) -> moin_session_spec::BackendInfo {
        self.0.info()
    }
    fn reset(
        &mut self,
        c: &moin_session_spec::Config,
    ) -> Result<(), moin_session_spec::BackendError> {
        self.0.reset(c)
    }
    fn reconfigure(
        &mut self,
        c: &moin_session_spec::Config,
    ) -> Result<(), moin_session_spec::BackendError> {
        self.0.reconfigure(c)
    }
    fn request(
        &mut self,
        r: &moin_session_spec::Request,
    ) -> Result<moin_session_spec::Response, moin_session_spec::BackendError> {
        self.0.request(r)
    }
    fn cleanup(
        &mut self,
        r: &moin_session_spec::CleanupRequest,
    ) -> Result<moin_session_spec::CleanupOutcome, moin_session_spec::BackendError> {
        self.0.cleanup(r)
    }
    fn list(&mut self) -> Result<Vec<String>, moin_session_spec::BackendError> {
        self.0.list()
    }
    fn interleaves(&self) -> bool {
        true
    }
    fn open(
        &mut self,
        h: &str,
        r: &moin_session_spec::Request,
    ) -> Result<moin_session_spec::Opened, moin_session_spec::BackendError> {
        self.0.open(h, r)
    }
    fn ops(
        &mut self,
        h: &str,
        ops: &[moin_session_spec::Op],
    ) -> Result<Vec<serde_json::Value>, moin_session_spec::BackendError> {
        self.0.ops(h, ops)
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
