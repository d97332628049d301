//! The run: the runner plays the browser ([`jar`]) and the clock, drives a
//! backend through a case ([`runner`]), judges each step with the one
//! comparison ([`compare`], with [`bindings`] and [`difference`] below it),
//! names the clause each difference violates ([`attribution`], with the
//! model's account of the step: [`blame`]) and gives
//! the case its [`verdict`]. [`crowd`] holds the many browsers of the
//! capacity cases; [`expectations`] reads what a backend declares of
//! itself (known failures and deviations). [`cookie_date`] reads `Expires`
//! as RFC 6265bis does, for the jar and the comparison alike.

pub mod attribution;
pub mod bindings;
pub mod blame;
pub mod compare;
mod compare_cookie;
pub mod cookie_date;
pub mod crowd;
pub mod difference;
pub mod expectations;
pub mod jar;
mod judge;
pub mod runner;
pub mod stop;
pub mod verdict;
mod world;

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::Backend;

use self::runner::{run_case_with, CaseResult, Deviation};
use self::stop::{StopRules, Stopped, Stopper};

/// Runs `cases` against `backend`, calling `progress(done, result)` after
/// each case.
pub fn run_all(
    backend: &mut dyn Backend,
    cases: &[&LoadedCase],
    progress: impl FnMut(usize, &CaseResult),
) -> Vec<CaseResult> {
    run_all_with(backend, cases, &[], progress)
}

/// [`run_all`] for a backend that declares `deviations`
/// ([`expectations`]).
pub fn run_all_with(
    backend: &mut dyn Backend,
    cases: &[&LoadedCase],
    deviations: &[Deviation],
    mut progress: impl FnMut(usize, &CaseResult),
) -> Vec<CaseResult> {
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let r = run_case_with(backend, case, deviations);
        progress(i + 1, &r);
        results.push(r);
    }
    results
}

/// What [`run_parallel`] did.
#[derive(Debug, Default)]
pub struct ParallelRun {
    /// The results of the cases that ran, in case order.
    pub results: Vec<CaseResult>,
    /// The errors of the extra backends (start, shutdown).
    pub job_errors: Vec<String>,
    /// Why the run stopped before its end, if it did.
    pub stopped: Option<Stopped>,
    /// How many selected cases were not run.
    pub not_run: usize,
}

/// Runs `cases` over several backends at once and returns the results in
/// case order, as [`run_all`] on one backend would: every case resets its
/// backend, so which backend runs it does not matter. `first` runs cases on
/// this thread; `more` other backends, each made by `start` on a thread of
/// its own, take cases from the same queue (a backend that cannot start
/// leaves its share to the others, and its error is returned). `done` is
/// called after each case, from any of the threads. The run stops taking
/// cases when `rules` say so or a signal interrupted it
/// ([`crate::lifecycle`]); a case in flight when the signal came is left
/// out. Every backend declares `deviations`. The extra backends are ended
/// ([`Backend::end_run`]) before this returns; ending `first` is the
/// caller's.
pub fn run_parallel(
    first: &mut dyn Backend,
    more: usize,
    start: &(dyn Fn() -> Result<Box<dyn Backend>, String> + Sync),
    cases: &[&LoadedCase],
    rules: StopRules,
    deviations: &[Deviation],
    done: &(dyn Fn(&CaseResult) + Sync),
) -> ParallelRun {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let stopper = Mutex::new(Stopper::new(rules));
    let stop = || {
        let mut s = stopper.lock().unwrap_or_else(|e| e.into_inner());
        s.stopped().is_some()
    };
    let work = |backend: &mut dyn Backend| loop {
        if stop() {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(case) = cases.get(i) else {
            break;
        };
        let result = run_case_with(backend, case, deviations);
        if crate::lifecycle::interrupted().is_some() {
            // Its adapter may have been ended under it: not a verdict.
            break;
        }
        stopper
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(&result.verdict);
        done(&result);
        slots.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
    };
    std::thread::scope(|scope| {
        for n in 0..more {
            let (work, errors) = (&work, &errors);
            scope.spawn(move || {
                let mut backend = match start() {
                    Ok(b) => b,
                    Err(e) => {
                        let mut errors = errors.lock().unwrap_or_else(|e| e.into_inner());
                        errors.push(format!("job {}: the backend did not start: {e}", n + 2));
                        return;
                    }
                };
                work(backend.as_mut());
                if let Err(e) = backend.end_run() {
                    let mut errors = errors.lock().unwrap_or_else(|e| e.into_inner());
                    errors.push(format!("job {}: at shutdown: {e}", n + 2));
                }
            });
        }
        work(first);
    });
    let results: Vec<CaseResult> = slots
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect();
    let mut stopper = stopper.into_inner().unwrap_or_else(|e| e.into_inner());
    let not_run = cases.len() - results.len();
    ParallelRun {
        // A rule met by the last case stopped nothing.
        stopped: stopper
            .stopped()
            .cloned()
            .filter(|s| not_run > 0 || s.interrupted()),
        not_run,
        results,
        job_errors: errors.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}
