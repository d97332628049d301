//! Grouping and shrinking of random traces: a trace's signature (its
//! cause, not its values: see [`signature`]) and the shrinking of a
//! diverging trace to a minimal one with the same signature.

use moin_session_spec::fixture::LoadedCase;
use moin_session_spec::{AuthAction, Backend, ConfigPatch};

use crate::random::materialize::materialize;
use crate::random::skeleton::{AbstractStep, CookiePick, Skeleton};
use crate::run::difference::{Difference, Field};
use crate::run::runner::{run_case_keeping, CaseResult, Deviation, Keep, Verdict};
use crate::run::stop::error_identity;

/// What one trace did.
pub(super) enum Probe {
    /// Agreed; the declared clauses it differed on.
    Agrees(Vec<String>),
    NotRun,
    Differs(Box<CaseResult>),
}

pub(super) fn probe(
    backend: &mut dyn Backend,
    skeleton: &Skeleton,
    deviations: &[Deviation],
) -> Probe {
    let Ok(case) = materialize(skeleton, "random") else {
        return Probe::NotRun;
    };
    probe_case(backend, &case, deviations)
}

/// [`probe`] of a trace already written as a case.
pub(super) fn probe_case(
    backend: &mut dyn Backend,
    case: &LoadedCase,
    deviations: &[Deviation],
) -> Probe {
    let r = run_case_keeping(backend, case, deviations, Keep::UnlessPassed);
    match r.verdict {
        Verdict::Pass => {
            Probe::Agrees(r.deviated_clauses().iter().map(|c| c.to_string()).collect())
        }
        _ => Probe::Differs(Box::new(r)),
    }
}

/// A difference line's clauses: the attribution at its end, `(clause)` or
/// `(writer; read by reader)`; none for one on a declared deviation
/// `(clause, declared deviation)`.
fn line_clauses(line: &str) -> Vec<&str> {
    let Some(inner) = line.strip_suffix(')') else {
        return Vec::new();
    };
    let Some(open) = inner.rfind('(') else {
        return Vec::new();
    };
    let clause = &inner[open + 1..];
    if clause.ends_with(", declared deviation") {
        return Vec::new();
    }
    match clause.split_once("; read by ") {
        Some((writer, reader)) => vec![writer, reader],
        None => vec![clause],
    }
}

/// A result's signature: its cause, not its values (see the module docs
/// of [`crate::random::run`]). For a divergence, each difference of the
/// diverging step not on a declared deviation as `clause @ field (kind)`:
/// the clause attribution named, the field, and whether the value is
/// missing, unexpected or different; for an error or a skip, its message
/// with numbers, ids and quoted values blanked ([`error_identity`]).
pub fn signature(result: &CaseResult) -> Vec<String> {
    match &result.verdict {
        Verdict::Pass => Vec::new(),
        Verdict::Fail { differences, .. } => {
            let structured = result
                .steps
                .last()
                .map(|s| s.differences.as_slice())
                .filter(|d| d.len() == differences.len());
            let mut out: Vec<String> = match structured {
                Some(structured) => differences
                    .iter()
                    .zip(structured)
                    .flat_map(|(line, d)| {
                        let cause = format!("{} ({})", field_name(d.field), difference_kind(d));
                        line_clauses(line)
                            .into_iter()
                            .map(move |clause| format!("{clause} @ {cause}"))
                    })
                    .collect(),
                // No trace of the step (a rejected configuration): the
                // clauses, each with the identity of its line.
                None => differences
                    .iter()
                    .flat_map(|line| {
                        let cause = error_identity(line);
                        line_clauses(line)
                            .into_iter()
                            .map(move |clause| format!("{clause} @ {cause}"))
                    })
                    .collect(),
            };
            out.sort();
            out.dedup();
            out
        }
        Verdict::Errored { message, .. } => vec![format!("error: {}", error_identity(message))],
        Verdict::Skipped { reason } => vec![format!("skipped: {}", error_identity(reason))],
    }
}

/// A field's name as reports write it (`max_age`).
fn field_name(field: Field) -> String {
    serde_json::to_value(field)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{field:?}"))
}

/// Whether a difference is a value missing, one not expected, or a value
/// other than the expected one.
fn difference_kind(d: &Difference) -> &'static str {
    let absent = |s: &str| {
        s.starts_with("no ") || s.starts_with("absent") || matches!(s, "none" | "anonymous" | "[]")
    };
    if absent(&d.expected) {
        "unexpected"
    } else if absent(&d.observed) {
        "missing"
    } else {
        "differs"
    }
}

/// Removes steps, operations, auth actions, special cookie picks and
/// configuration fields while the backend still diverges from the model
/// with the same signature; returns the smallest skeleton found and its
/// result. An error is returned as it is, and a candidate that errors ends
/// the shrinking.
pub fn shrink(
    backend: &mut dyn Backend,
    skeleton: Skeleton,
    result: CaseResult,
    deviations: &[Deviation],
) -> (Skeleton, CaseResult) {
    if !matches!(result.verdict, Verdict::Fail { .. }) {
        return (skeleton, result);
    }
    let target = signature(&result);
    let mut best = skeleton;
    let mut best_result = result;
    // Ok(Some): a smaller divergence; Ok(None): not this one; Err: stop.
    let attempt =
        |backend: &mut dyn Backend, candidate: &Skeleton| -> Result<Option<CaseResult>, ()> {
            match probe(backend, candidate, deviations) {
                Probe::Differs(r) if matches!(r.verdict, Verdict::Errored { .. }) => Err(()),
                Probe::Differs(r) if signature(&r) == target => Ok(Some(*r)),
                _ => Ok(None),
            }
        };
    loop {
        let mut improved = false;
        let mut candidates: Vec<Skeleton> = Vec::new();
        // Drop whole steps, from the end (later steps rarely matter).
        for i in (0..best.steps.len()).rev() {
            let mut c = best.clone();
            c.steps.remove(i);
            candidates.push(c);
        }
        // Simplify requests: drop ops, then the auth action, then the cookie choice.
        for i in 0..best.steps.len() {
            let AbstractStep::Request {
                ops, auth, cookies, ..
            } = &best.steps[i]
            else {
                continue;
            };
            for j in 0..ops.len() {
                let mut c = best.clone();
                if let AbstractStep::Request { ops, .. } = &mut c.steps[i] {
                    ops.remove(j);
                }
                candidates.push(c);
            }
            if *auth != AuthAction::None {
                let mut c = best.clone();
                if let AbstractStep::Request { auth, .. } = &mut c.steps[i] {
                    *auth = AuthAction::None;
                }
                candidates.push(c);
            }
            if *cookies != CookiePick::Jar {
                let mut c = best.clone();
                if let AbstractStep::Request { cookies, .. } = &mut c.steps[i] {
                    *cookies = CookiePick::Jar;
                }
                candidates.push(c);
            }
        }
        // The configuration: each field back to the profile's default.
        for config in simpler_configs(&best.config) {
            let mut c = best.clone();
            c.config = config;
            candidates.push(c);
        }
        for candidate in candidates {
            match attempt(backend, &candidate) {
                Err(()) => return (best, best_result),
                Ok(Some(r)) => {
                    best = candidate;
                    best_result = r;
                    improved = true;
                    break;
                }
                Ok(None) => {}
            }
        }
        if !improved {
            return (best, best_result);
        }
    }
}

/// The patch with one field left out, for each field it sets.
fn simpler_configs(patch: &ConfigPatch) -> Vec<ConfigPatch> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(patch) else {
        return Vec::new();
    };
    fields
        .keys()
        .filter_map(|k| {
            let mut fewer = fields.clone();
            fewer.remove(k);
            serde_json::from_value::<ConfigPatch>(serde_json::Value::Object(fewer)).ok()
        })
        .filter(|p| p != patch)
        .collect()
}
