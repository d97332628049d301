//! The differential loops: random traces run through the model and a
//! backend, every observation of the model an expectation for the backend,
//! judged by the runner's one comparison. Each loop says how far it is
//! ([`crate::progress`]) and fails with a minimal trace.

use std::cell::RefCell;

use moin_session_conformance::random::differential::run_differential;
use moin_session_conformance::random::interleave::interleave;
use moin_session_conformance::random::{materialize, random_skeleton, shrink, Rng};
use moin_session_conformance::run::runner::{run_case, Verdict};
use moin_session_spec::{Backend, Model, Profile};
use proptest::test_runner::{FileFailurePersistence, TestCaseError, TestRunner};

use crate::progress::Progress;

/// Runs `count` random traces of `profile` from `seed` against `backend`,
/// every other one with overlapping requests: each skeleton is
/// materialised by the model into a case (expectations from the model)
/// and must pass; the first failure is shrunk and shown as a minimal case.
pub fn random_traces(backend: &mut dyn Backend, profile: Profile, seed: u64, count: usize) {
    let mut rng = Rng::new(seed);
    let mut ran = 0;
    let id = format!("{}random.differential", profile.id_prefix());
    let name = backend.info().name;
    let mut progress = Progress::new(format!("{profile} traces on {name}"), count);
    for n in 0..count {
        progress.tick(n);
        let skeleton = random_skeleton(profile, &mut rng);
        let skeleton = if n % 2 == 1 {
            interleave(skeleton, &mut rng)
        } else {
            skeleton
        };
        let Ok(case) = materialize(&skeleton, &id) else {
            continue;
        };
        ran += 1;
        let result = run_case(backend, &case);
        if result.verdict != Verdict::Pass {
            let (small, result) = shrink(backend, skeleton, result, &[]);
            let case = materialize(&small, &id)
                .expect("a shrunk trace of a representable one is representable");
            panic!(
                "{profile} trace {n} of seed {seed:#x} diverges from the model on {name}; minimised:\n{}\nverdict: {:?}",
                serde_json::to_string_pretty(&case.case).expect("a case serialises"),
                result.verdict
            );
        }
    }
    // Nearly every skeleton can be written as a case; a generator change
    // that made most of them unrepresentable would test nothing.
    assert!(
        ran * 10 >= count * 9,
        "only {ran} of {count} traces were representable"
    );
}

/// Runs `cases` proptest moin-1.9 traces ([`crate::strategies::trace`])
/// through the model and `backend` side by side; failing traces are kept
/// in `regressions` (relative to the test's directory) and replayed first
/// on every run.
pub fn proptest_traces(backend: &mut dyn Backend, regressions: &'static str, cases: usize) {
    let config = proptest::test_runner::Config {
        cases: u32::try_from(cases).expect("fewer than 2^32 cases"),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..proptest::test_runner::Config::default()
    };
    let mut runner = TestRunner::new(config);
    let name = backend.info().name;
    let progress = RefCell::new((
        Progress::new(format!("moin-1.9 traces on {name}"), cases),
        0,
    ));
    // The runner's closure is `Fn`; each trace resets both backends.
    let sides = RefCell::new((Model::new(), backend));
    let result = runner.run(&crate::strategies::trace(), |trace| {
        {
            let (progress, done) = &mut *progress.borrow_mut();
            progress.tick(*done);
            *done += 1;
        }
        let mut sides = sides.borrow_mut();
        let (model, backend) = &mut *sides;
        if let Err(divergence) = run_differential(&trace, model, *backend) {
            return Err(TestCaseError::fail(format!(
                "{name} disagrees with the model at {divergence}"
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
