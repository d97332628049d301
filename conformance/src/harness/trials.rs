//! The harness's tests: one trial per case, the random-trace trial, what
//! each outcome becomes for libtest, and the closing block after the run.
//! Every message speaks in the harness's terms: its builder methods and
//! `cargo test` filters, never a CLI flag the test binary does not take.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use libtest_mimic::{Completion, Failed, Trial};
use moin_session_spec::fixture::Corpus;
use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

use super::{Closing, Harness};
use crate::contract::{Broken, Checked};
use crate::random::run::{run_random, RandomOptions, RandomRun};
use crate::report::deviation_block;
use crate::report::{failure, violations, Outcome};
use crate::run::expectations::{unused_deviations, Deviation};
use crate::run::runner::{run_case_with, CaseResult, Verdict};
use crate::{load, load_builtin, Selection};

/// The name of the running test target (`conformance` for
/// `target/debug/deps/conformance-1a2b3c`), for `cargo test --test NAME`.
pub(super) fn target_name() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    let stem = Path::new(&argv0)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("conformance")
        .to_owned();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => stem,
    }
}

/// Cargo's arguments that select the running test target: `--test NAME`,
/// preceded by `-p PACKAGE` when cargo says which package runs it (it
/// sets `CARGO_PKG_NAME` for the tests it runs), so that the hint works
/// from a workspace's root too.
pub(super) fn target_selector() -> String {
    selector(
        std::env::var("CARGO_PKG_NAME").ok().as_deref(),
        &target_name(),
    )
}

fn selector(package: Option<&str>, target: &str) -> String {
    match package {
        Some(p) if !p.is_empty() => format!("-p {p} --test {target}"),
        _ => format!("--test {target}"),
    }
}

/// The corpus of `fixtures`, or the built-in one; an error is one message.
pub(super) fn load_corpus(fixtures: Option<&Path>) -> Result<(Corpus, Requirements), String> {
    let loaded = match fixtures {
        Some(dir) => load(dir),
        None => load_builtin(),
    };
    loaded.map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        format!("the corpus does not load:\n{}", lines.join("\n"))
    })
}

/// The profiles to run: those asked for, each of which the backend must
/// implement, else every one it implements.
fn profiles(h: &Harness) -> Result<Vec<Profile>, String> {
    let offered = (h.make)().info().profiles;
    if h.profiles.is_empty() {
        return Ok(offered);
    }
    if let Some(p) = h.profiles.iter().find(|p| !offered.contains(p)) {
        return Err(format!(
            "backend {} does not implement profile {p} (it implements: {}); change its .profiles(…)",
            h.name,
            offered
                .iter()
                .map(Profile::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(h.profiles.clone())
}

/// See [`Harness::trials`].
pub(super) fn trials(h: &Harness) -> Result<Vec<Trial>, String> {
    if !h.problems.is_empty() {
        return Err(h.problems.join("\n"));
    }
    let (corpus, requirements) = load_corpus(h.fixtures.as_deref())?;
    h.declared.check(&corpus, &requirements).map_err(|errors| {
        format!(
            "what the harness declares (.known_failure, .deviation, .expectations):\n{}",
            errors.join("\n")
        )
    })?;
    let profiles = profiles(h)?;
    let cases = Selection {
        profiles: profiles.clone(),
        ..Selection::default()
    }
    .apply(&corpus);
    let mut trials = contract_trials(h);
    for case in cases {
        let case = case.clone();
        let make = Arc::clone(&h.make);
        let declared = h.declared.clone();
        let results = Arc::clone(&h.results);
        let (target, explain) = (h.target.clone(), h.explain_failures);
        let kind = case.case.profile.to_string();
        trials.push(
            Trial::ignorable_test(case.case.id.clone(), move || {
                let mut backend = make();
                let mut result = [run_case_with(backend.as_mut(), &case, &declared.deviations)];
                declared.apply(&mut result);
                let [result] = result;
                let outcome = judge(&result, &target);
                let outcome = match (outcome, explain) {
                    (Err(e), true) => Err(with_transcript(e, &result, &case.case.title)),
                    (o, _) => o,
                };
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(result);
                outcome
            })
            .with_kind(kind),
        );
    }
    if h.random > 0 {
        trials.push(random_trial(h, &profiles));
    }
    Ok(trials)
}

/// For a store: one test per case of the store contract, named by its id
/// (`store.clock.virtual`), before the corpus.
fn contract_trials(h: &Harness) -> Vec<Trial> {
    let Some(contract) = &h.contract else {
        return Vec::new();
    };
    crate::contract::cases()
        .into_iter()
        .map(|case| {
            let contract = Arc::clone(contract);
            let broken = Arc::clone(&h.broken);
            Trial::ignorable_test(case.id, move || match contract(&case) {
                Checked::Kept => Ok(Completion::Completed),
                Checked::Skipped(why) => Ok(Completion::ignored_with(why)),
                Checked::Broken(b) => {
                    let message = format!(
                        "  STORE {}: {}\n       {b}\n       the contract protects {}",
                        case.id,
                        case.title,
                        case.clauses.join(", ")
                    );
                    broken
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((case.id, b));
                    Err(Failed::from(message))
                }
            })
            .with_kind("store")
        })
        .collect()
}

fn random_trial(h: &Harness, profiles: &[Profile]) -> Trial {
    let name = format!("random-traces.seed-{}", h.seed);
    let make = Arc::clone(&h.make);
    let options = RandomOptions {
        count: h.random,
        seed: h.seed,
        save: h.save_failures.clone(),
        stop: Default::default(),
        deviations: h.declared.deviations.clone(),
    };
    let kind = profiles
        .iter()
        .map(Profile::to_string)
        .collect::<Vec<_>>()
        .join("+");
    let profiles = profiles.to_vec();
    let violated = Arc::clone(&h.random_violated);
    let target = h.target.clone();
    Trial::test(name, move || {
        let mut backend = make();
        match run_random(backend.as_mut(), &profiles, &options, |_, _| {}) {
            Err(e) => Err(Failed::from(format!("random traces could not run: {e}"))),
            Ok(run) if run.ok() => Ok(()),
            Ok(run) => {
                *violated.lock().unwrap_or_else(|e| e.into_inner()) = random_violations(&run);
                let name = backend.info().name;
                let mut out = crate::report::random::text_for(
                    &run,
                    &name,
                    &profiles,
                    options.seed,
                    crate::report::random::Speaker::Harness,
                );
                if run.total().diverged > 0 {
                    out.push_str("  The expectations come from the model: read the cited clause to decide which side is wrong; .save_failures(dir) keeps each minimal trace as a fixture.\n");
                }
                out.push_str(&format!(
                    "  next: `cargo test {target} -- random-traces` runs the random traces alone (the same seed, the same traces)"
                ));
                Err(Failed::from(out))
            }
        }
    })
    .with_kind(kind)
}

/// Each clause the random run's divergences violated, with the number of
/// traces that showed it.
fn random_violations(run: &RandomRun) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for g in &run.groups {
        if let Verdict::Fail { violated, .. } = &g.result.verdict {
            for clause in violated {
                *out.entry(clause.clone()).or_default() += g.count;
            }
        }
    }
    out
}

/// A case's result as a test outcome (see the module documentation of
/// [`crate::harness`]); `target` selects the test target in hints
/// (`--test conformance`).
pub(super) fn judge(result: &CaseResult, target: &str) -> Result<Completion, Failed> {
    match Outcome::of(result) {
        Outcome::Passed | Outcome::Deviates => Ok(Completion::Completed),
        Outcome::Skipped => Ok(Completion::ignored_with(failure(result).trim().to_owned())),
        Outcome::ExpectedFailure => Ok(Completion::ignored_with(format!(
            "known failure ({}): {}",
            result
                .known_failure
                .as_ref()
                .map(|k| k.origin.label())
                .unwrap_or_default(),
            result
                .known_failure
                .as_ref()
                .map(|k| k.reason.as_str())
                .unwrap_or_default()
        ))),
        Outcome::Failed | Outcome::Errored | Outcome::UnexpectedPass => {
            let id = &result.id;
            Err(Failed::from(format!(
                "{}\n  next: `cargo test {target} -- {id} --exact` runs this case alone and prints its transcript step by step",
                failure(result)
            )))
        }
    }
}

/// A failure with the case's transcript appended (a run of one case).
fn with_transcript(e: Failed, result: &CaseResult, title: &str) -> Failed {
    let message = e.message().unwrap_or_default();
    let message = message
        .lines()
        .filter(|l| !l.trim_start().starts_with("next: "))
        .collect::<Vec<_>>()
        .join("\n");
    Failed::from(format!(
        "{message}\n\n{}",
        crate::report::transcript::render(result, title)
    ))
}

/// What a run did, for its closing block.
pub(super) struct Ran<'a> {
    pub results: &'a [CaseResult],
    pub broken: &'a [(&'static str, Broken)],
    /// The random traces' violated clauses, with their trace counts.
    pub random: &'a BTreeMap<String, usize>,
    pub deviations: &'a [Deviation],
}

/// The closing block of a run (see [`Closing`]).
pub(super) fn closing(ran: Ran<'_>) -> Closing {
    let Ran {
        results,
        broken,
        random,
        deviations,
    } = ran;
    let mut text = String::new();
    if !broken.is_empty() {
        let _ = writeln!(text, "store contract broken:");
        for (id, b) in broken {
            let _ = writeln!(text, "  {id}: `{}` ({})", b.call, b.clause);
        }
        let _ = writeln!(text);
    }
    let lead = crate::report::summary::violated_lines(results);
    let failing = violations(results)
        .values()
        .flatten()
        .filter(|r| Outcome::of(r) == Outcome::Failed)
        .count();
    if !lead.is_empty() && failing > 0 {
        let _ = writeln!(text, "violated clauses (over every failing case):");
        for l in &lead {
            let _ = writeln!(text, "  {l}");
        }
        let _ = writeln!(text);
    }
    if !random.is_empty() {
        let mut by_count: Vec<(&String, &usize)> = random.iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let _ = writeln!(
            text,
            "violated clauses (over the random traces that diverged):"
        );
        for (clause, n) in by_count {
            let _ = writeln!(text, "  {clause}: {n} trace(s)");
        }
        let _ = writeln!(text);
    }
    text.push_str(&deviation_block(results, deviations));
    let unused = unused_deviations(deviations, results);
    for u in &unused {
        let _ = writeln!(text, "error: {}", u.unused_message());
    }
    let unchecked = unchecked(results);
    for profile in &unchecked {
        let _ = writeln!(
            text,
            "nothing was checked: no case of {profile} that ran reached a verdict (each was skipped)"
        );
    }
    let text = text.trim_end().to_owned();
    let text = if text.is_empty() {
        text
    } else {
        format!("moin-session conformance harness:\n{text}")
    };
    Closing {
        text,
        unused_deviations: unused.len(),
        unchecked,
    }
}

/// The profiles of which some case ran but none reached a verdict on the
/// backend: each was skipped, or judged only the configuration loader (a
/// case about a rejected configuration runs no step).
fn unchecked(results: &[CaseResult]) -> Vec<Profile> {
    let mut tally: BTreeMap<Profile, (usize, usize)> = BTreeMap::new();
    for r in results {
        let judged = !r.steps.is_empty() && !matches!(r.verdict, Verdict::Skipped { .. });
        let entry = tally.entry(r.profile).or_default();
        entry.0 += 1;
        entry.1 += usize::from(judged);
    }
    tally
        .into_iter()
        .filter(|(_, (ran, judged))| *ran > 0 && *judged == 0)
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::faulty::{Fault, Faulty};
    use crate::run::expectations::{Expectations, KnownFailure, Origin};
    use moin_session_spec::{Backend, Model};

    fn result_of(backend: &mut dyn Backend, id: &str, known: Option<&str>) -> CaseResult {
        let (corpus, _) = load_builtin().expect("the corpus loads");
        let case = corpus.get(id).expect("the case exists");
        let mut result = [run_case_with(backend, case, &[])];
        if let Some(reason) = known {
            Expectations {
                known_failures: vec![KnownFailure {
                    case: id.to_owned(),
                    reason: reason.to_owned(),
                    issue: None,
                    origin: Origin::Code,
                }],
                deviations: Vec::new(),
            }
            .apply(&mut result);
        }
        let [result] = result;
        result
    }

    const CASE: &str = "m19.cookie.max-age-is-lifetime";

    #[test]
    fn a_failing_case_fails_with_the_cli_report_and_the_cargo_test_filter() {
        let mut faulty = Faulty::new(Model::new(), Fault::MaxAgePlusOne);
        let Err(e) = judge(&result_of(&mut faulty, CASE, None), "--test conformance") else {
            panic!("the fault is caught");
        };
        let message = e.message().expect("a failure says why");
        assert!(message.contains(&format!("FAIL case {CASE}")), "{message}");
        assert!(message.contains("max_age: expected"), "{message}");
        assert!(
            message.contains(&format!("cargo test --test conformance -- {CASE} --exact")),
            "{message}"
        );
        assert!(!message.contains("--save-failures"), "{message}");
    }

    #[test]
    fn known_failures_declared_in_code_are_named_so() {
        let mut faulty = Faulty::new(Model::new(), Fault::MaxAgePlusOne);
        let r = result_of(&mut faulty, CASE, Some("off by one"));
        assert!(matches!(
            judge(&r, "t"),
            Ok(Completion::Ignored { reason: Some(ref why) })
                if why.contains("off by one") && why.contains("declared in the harness")
        ));
        let r = result_of(&mut Model::new(), CASE, Some("off by one"));
        let Err(e) = judge(&r, "t") else {
            panic!("a listed case that passes fails the run");
        };
        let message = e.message().unwrap_or_default();
        assert!(message.contains("XPASS"), "{message}");
        assert!(message.contains(".known_failure(…)"), "{message}");
        assert!(!message.contains("expectations file"), "{message}");
        assert!(matches!(
            judge(&result_of(&mut Model::new(), CASE, None), "t"),
            Ok(Completion::Completed)
        ));
    }

    #[test]
    fn the_target_name_drops_cargos_hash() {
        assert!(!target_name().is_empty());
        assert_eq!(selector(Some("my-store"), "t"), "-p my-store --test t");
        assert_eq!(selector(None, "t"), "--test t");
    }
}
