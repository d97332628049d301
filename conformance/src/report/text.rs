//! The text report, for people at a terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

use super::summary::{
    by_requirement, deviation_rows, row_detail, row_status, skip_reason, violated_lines,
    violations, Outcome, Summary,
};
use crate::run::expectations::Deviation;
use crate::run::runner::{CaseResult, Verdict};
use crate::run::stop::error_identity;

/// The human report: the violated clauses, the declared deviations, per
/// requirement of each profile run, then every case that did not simply
/// pass or deviate, then the closing line.
pub fn text(
    results: &[CaseResult],
    requirements: &Requirements,
    profiles: &[Profile],
    deviations: &[Deviation],
) -> String {
    let mut out = String::new();
    let lead = violated_lines(results);
    if !lead.is_empty() {
        let _ = writeln!(out, "violated clauses:");
        for l in &lead {
            let _ = writeln!(out, "  {l}");
        }
        let _ = writeln!(out);
    }
    out.push_str(&deviation_block(results, deviations));
    let per_req = by_requirement(results);
    let viol = violations(results);
    for profile in profiles {
        requirement_rows(&mut out, *profile, requirements, &per_req, &viol);
    }
    let problems: Vec<&CaseResult> = results
        .iter()
        .filter(|r| !matches!(Outcome::of(r), Outcome::Passed | Outcome::Deviates))
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nnot passed:");
        not_passed(&mut out, &problems);
    }
    let claim = super::claim_lines(results, profiles);
    if !claim.is_empty() {
        let _ = writeln!(out);
        for line in claim {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", Summary::of(results).line());
    out
}

/// The requirement table of one profile: a row per requirement a case
/// ran for, and (in a full run) a row per requirement no case covered.
fn requirement_rows(
    out: &mut String,
    profile: Profile,
    requirements: &Requirements,
    per_req: &BTreeMap<String, Summary>,
    viol: &BTreeMap<String, Vec<&CaseResult>>,
) {
    let reqs = requirements.of_profile(profile);
    let _ = writeln!(out, "{profile}: {} requirements", reqs.len());
    let width = reqs.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let selected = reqs.iter().filter(|r| per_req.contains_key(&r.id)).count();
    // A narrow run lists only what it ran; a full run shows every gap.
    let narrow = selected * 2 < reqs.len();
    for req in &reqs {
        match per_req.get(&req.id) {
            Some(s) => {
                let by = viol.get(&req.id).map(Vec::as_slice).unwrap_or(&[]);
                let _ = writeln!(
                    out,
                    "  {:<8} {:<width$}  {}",
                    row_status(s, by),
                    req.id,
                    row_detail(s, by)
                );
            }
            None if !narrow => {
                let _ = writeln!(out, "  {:<8} {:<width$}  no case selected", "-", req.id);
            }
            None => {}
        }
    }
    if narrow {
        let _ = writeln!(
            out,
            "  ({} other requirement(s) of {profile}: no case selected)",
            reqs.len() - selected
        );
    }
}

/// Every case that did not simply pass. Many cases failing with one and
/// the same error (an adapter that does not start) are shown once, with
/// the ids of the others; skips for one reason (a profile, a call or a
/// configuration the backend never gets) are one line, not one per case.
fn not_passed(out: &mut String, problems: &[&CaseResult]) {
    // Errors are the same when they differ only in numbers, ids and
    // quoted values (a full disk names a new file each time).
    let mut shown: Vec<(String, Vec<&str>)> = Vec::new();
    let mut skipped: Vec<(String, Vec<&str>)> = Vec::new();
    for r in problems {
        if let (Verdict::Skipped { reason }, None) = (&r.verdict, &r.known_failure) {
            let reason = skip_reason(reason);
            match skipped.iter_mut().find(|(m, _)| *m == reason) {
                Some((_, ids)) => ids.push(&r.id),
                None => skipped.push((reason, vec![&r.id])),
            }
            continue;
        }
        if let Verdict::Errored { message, .. } = &r.verdict {
            let identity = error_identity(message);
            if let Some((_, same)) = shown.iter_mut().find(|(m, _)| *m == identity) {
                same.push(&r.id);
                continue;
            }
            shown.push((identity, Vec::new()));
        }
        let _ = writeln!(out, "{}", failure(r));
    }
    for (_, same) in shown.iter().filter(|(_, same)| !same.is_empty()) {
        let _ = writeln!(
            out,
            "  ERROR {} more case(s) with the same error as above (numbers and ids aside): {}",
            same.len(),
            some_of(same, 5)
        );
    }
    for (reason, ids) in &skipped {
        let _ = writeln!(
            out,
            "  SKIP {} case(s): {reason} ({})",
            ids.len(),
            some_of(ids, 3)
        );
    }
}

/// The first `n` ids, and how many more there are.
fn some_of(ids: &[&str], n: usize) -> String {
    let listed: Vec<&str> = ids.iter().take(n).copied().collect();
    let more = if ids.len() > n {
        format!(", and {} more", ids.len() - n)
    } else {
        String::new()
    };
    format!("{}{more}", listed.join(", "))
}

/// The declared deviations, one line each (empty when none are declared):
/// `DEVIATES clause: N case(s); reason (link)`.
pub(crate) fn deviation_block(results: &[CaseResult], deviations: &[Deviation]) -> String {
    let rows = deviation_rows(results, deviations);
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("declared deviations:\n");
    for row in rows {
        let _ = writeln!(out, "  {} {}: {}", row.status, row.clause, row.detail());
    }
    out.push('\n');
    out
}

/// One case that did not simply pass, naming case, file, step,
/// requirements and the expected vs observed differences.
pub fn failure(r: &CaseResult) -> String {
    let mut out = String::new();
    // A random trace's error blames no clause: say so instead of an empty list.
    let reqs = if r.blamed.is_empty() {
        "none (an error of the backend, not a difference)".to_owned()
    } else {
        r.blamed.join(", ")
    };
    let outcome = Outcome::of(r);
    let label = match outcome {
        Outcome::ExpectedFailure => "XFAIL",
        Outcome::UnexpectedPass => "XPASS",
        _ => "",
    };
    match &r.verdict {
        Verdict::Pass => {
            if outcome == Outcome::UnexpectedPass {
                let place = r
                    .known_failure
                    .as_ref()
                    .map(|k| k.origin.place("known failure"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  XPASS case {} ({}) passes but is listed as a known failure; remove it from {place}",
                    r.id, r.file
                );
            }
        }
        Verdict::Fail {
            step,
            differences,
            violated,
        } => {
            let label = if label.is_empty() { "FAIL" } else { label };
            let _ = writeln!(
                out,
                "  {label} case {} ({}), step {step}; violates: {}; covers: {reqs}",
                r.id,
                r.file,
                violated.join(", ")
            );
            for d in differences {
                let _ = writeln!(out, "       {d}");
            }
        }
        Verdict::Errored { step, message } => {
            let label = if label.is_empty() { "ERROR" } else { label };
            let _ = writeln!(
                out,
                "  {label} case {} ({}), {}; requirements: {reqs}",
                r.id,
                r.file,
                super::summary::at_step(*step)
            );
            for line in message.lines() {
                let _ = writeln!(out, "       {line}");
            }
        }
        Verdict::Skipped { reason } => {
            let _ = writeln!(out, "  SKIP case {} ({}): {reason}", r.id, r.file);
        }
    }
    if matches!(r.verdict, Verdict::Fail { .. }) {
        let earlier: Vec<String> = r
            .deviations
            .iter()
            .filter(|d| !matches!(r.verdict, Verdict::Fail { step, .. } if step == d.step))
            .map(|d| format!("step {} ({})", d.step, d.clauses.join(", ")))
            .collect();
        if !earlier.is_empty() {
            let _ = writeln!(
                out,
                "       earlier steps differed only on declared deviations: {}",
                earlier.join(", ")
            );
        }
    }
    if let Some(k) = &r.known_failure {
        let issue = k
            .issue
            .as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "       known failure ({}): {}{issue}",
            k.origin.label(),
            k.reason
        );
    }
    out.trim_end().to_owned()
}
