//! The reports of a random run ([`crate::random::run`]): text for people
//! and JSON for scripts, in the terms of whoever runs it (the CLI's flags
//! or the Rust harness's methods).

use std::fmt::Write as _;

use moin_session_spec::Profile;

use crate::random::run::RandomRun;
use crate::run::runner::Verdict;
use crate::run::stop::Stopped;

/// Whose terms a report's hints use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The command line: `--save-failures DIR`, `check --fixtures DIR`.
    Cli,
    /// The Rust harness: `.save_failures(dir)`, `.fixtures(dir)`.
    Harness,
}

/// The text report of a random run, as the CLI prints it.
pub fn text(run: &RandomRun, backend: &str, profiles: &[Profile], seed: u64) -> String {
    text_for(run, backend, profiles, seed, Speaker::Cli)
}

/// The text report of a random run, with hints in `speaker`'s terms.
pub fn text_for(
    run: &RandomRun,
    backend: &str,
    profiles: &[Profile],
    seed: u64,
    speaker: Speaker,
) -> String {
    let mut out = String::new();
    let names: Vec<&str> = profiles.iter().map(|p| p.name()).collect();
    let _ = writeln!(out, "backend: {backend}");
    let _ = writeln!(
        out,
        "random: {} trace(s) of {} from seed {seed}",
        run.traces,
        names.join(", ")
    );
    for line in &run.left_out {
        let _ = writeln!(out, "not generated: {line}");
    }
    for (i, g) in run.groups.iter().enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "[{}/{}] {} trace(s): {}",
            i + 1,
            run.groups.len(),
            g.count,
            g.signature.join("; ")
        );
        let _ = writeln!(out, "{}", crate::report::failure(&g.result));
        if g.count > 1 {
            for e in &g.examples {
                let _ = writeln!(out, "       e.g. {e}");
            }
        }
        if matches!(g.result.verdict, Verdict::Fail { .. }) {
            group_hint(&mut out, g, speaker);
        }
    }
    let _ = writeln!(out);
    closing_lines(&mut out, run, speaker);
    out
}

/// Where a group's minimal trace is, or how to keep it.
fn group_hint(out: &mut String, g: &crate::random::run::Divergence, speaker: Speaker) {
    let _ = writeln!(
        out,
        "       minimal trace: {} step(s)",
        g.case.case.steps.len()
    );
    let dir = g
        .saved
        .as_ref()
        .and_then(|p| p.parent())
        .map(|d| d.display().to_string());
    let line = match (&g.saved, speaker) {
        (Some(p), Speaker::Cli) => format!(
            "saved: {} (replay it: check --fixtures {})",
            p.display(),
            dir.unwrap_or_default()
        ),
        (Some(p), Speaker::Harness) => format!(
            "saved: {} (replay it: Harness::…fixtures(\"{}\"), or the CLI's check --fixtures)",
            p.display(),
            dir.unwrap_or_default()
        ),
        (None, Speaker::Cli) => "(add --save-failures DIR to keep it as a fixture)".to_owned(),
        (None, Speaker::Harness) => {
            "(add .save_failures(dir) to the harness to keep it as a fixture)".to_owned()
        }
    };
    let _ = writeln!(out, "       {line}");
}

/// The lines that close a random report: early stop, declared
/// deviations, profiles with nothing checked, and the tally, each count
/// that is not a verdict explained.
fn closing_lines(out: &mut String, run: &RandomRun, speaker: Speaker) {
    if let Some(why) = &run.stopped {
        let why = match speaker {
            Speaker::Cli => why.to_string(),
            // The harness has none of the CLI's stop flags: say the rule.
            Speaker::Harness => {
                let why = why.to_string();
                match why.find(" (--") {
                    Some(i) => why[..i].to_owned(),
                    None => why.replace("--max-failures ", "the limit of failures "),
                }
            }
        };
        let _ = writeln!(
            out,
            "stopped early: {why}; {} of {} trace(s) not run",
            run.not_reached,
            run.traces + run.not_reached
        );
    }
    for (clause, n) in &run.deviated {
        let _ = writeln!(
            out,
            "declared deviation {clause}: {n} trace(s) differed on it (counted as agreeing)"
        );
    }
    for p in run.unchecked_profiles() {
        let _ = writeln!(
            out,
            "nothing was checked: no random trace of {p} ran to a verdict (see the skipped and errored groups above)"
        );
    }
    let t = run.total();
    let deviated = if t.deviated > 0 {
        format!(" ({} of them only on declared deviations)", t.deviated)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{} trace(s): {} agreed{deviated}, {} diverged, {} errored, {} skipped, {} not run; {} distinct divergence(s)",
        run.traces,
        t.agreed,
        t.diverged,
        t.errored,
        t.skipped,
        t.not_run,
        run.groups.len()
    );
    if t.not_run > 0 {
        let _ = writeln!(
            out,
            "not run: {} trace(s) whose model run cannot be written as a case (an expectation no symbol can express); they say nothing about the backend and do not fail the run",
            t.not_run
        );
    }
}

/// The JSON report of a random run: `random` (the run), `summary` (the
/// tally), `divergences` (one per signature, with `count` and `signature`).
pub fn json(run: &RandomRun, backend: &str, profiles: &[Profile], seed: u64) -> serde_json::Value {
    let names: Vec<&str> = profiles.iter().map(|p| p.name()).collect();
    let divergences: Vec<serde_json::Value> = run
        .groups
        .iter()
        .map(|d| {
            serde_json::json!({
                "id": d.case.case.id,
                "requirements": d.result.blamed,
                "signature": d.signature,
                "count": d.count,
                "examples": d.examples,
                "file": d.saved.as_ref().map(|p| p.display().to_string()),
                "verdict": d.result.verdict,
                "steps": d.case.case.steps.len(),
            })
        })
        .collect();
    let unchecked: Vec<&str> = run.unchecked_profiles().iter().map(|p| p.name()).collect();
    serde_json::json!({
        "random": { "traces": run.traces, "seed": seed, "profiles": names, "backend": backend },
        "summary": run.total(),
        "stopped_early": run.stopped.is_some(),
        "stopped": run.stopped.as_ref().map(ToString::to_string),
        "interrupted": run.stopped.as_ref().is_some_and(Stopped::interrupted),
        "not_reached": run.not_reached,
        "deviated": run.deviated,
        "not_generated": run.left_out,
        "unchecked_profiles": unchecked,
        "divergences": divergences,
    })
}
