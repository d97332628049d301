//! Running a harness's trials inside a test, as `cargo test` runs them for
//! a backend's author, with libtest's log of each trial kept for the
//! test to read.

use libtest_mimic::{Arguments, Conclusion, Trial};

use crate::scratch::Scratch;

/// Runs `trials` on two threads (only those whose name holds `filter`,
/// when given): how the run concluded, and libtest's log (one line per
/// trial run, `… ok` or `… FAILED`).
pub fn run_trials(trials: Vec<Trial>, filter: Option<&str>) -> (Conclusion, String) {
    let dir = Scratch::new("trials");
    let path = dir.join("trials.log");
    let args = Arguments {
        test_threads: Some(2),
        filter: filter.map(str::to_owned),
        logfile: Some(path.display().to_string()),
        ..Arguments::default()
    };
    let conclusion = libtest_mimic::run(&args, trials);
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    (conclusion, log)
}
