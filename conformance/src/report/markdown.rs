//! The Markdown report, for a CI step summary.

use std::fmt::Write as _;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

use super::summary::{
    by_requirement, row_detail, row_status, violated_first, violations, Outcome, Summary,
};
use crate::run::runner::{CaseResult, Verdict};

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// The Markdown report, for a CI step summary (e.g. `$GITHUB_STEP_SUMMARY`).
pub fn markdown(
    results: &[CaseResult],
    requirements: &Requirements,
    profiles: &[Profile],
    backend: &str,
) -> String {
    let per_req = by_requirement(results);
    let viol = violations(results);
    let s = Summary::of(results);
    let mut out = String::new();
    let mark = if s.ok() { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "## {mark} moin-session-conformance: {}\n",
        md_cell(backend)
    );
    let _ = writeln!(out, "**{}**\n", s.line());
    let lead = violated_first(results);
    if !lead.is_empty() {
        let _ = writeln!(out, "### Violated clauses\n");
        let _ = writeln!(out, "| clause | cases |");
        let _ = writeln!(out, "| --- | --- |");
        for (clause, cases) in &lead {
            let ids: Vec<String> = cases.iter().map(|r| format!("`{}`", r.id)).collect();
            let _ = writeln!(out, "| `{clause}` | {} |", md_cell(&ids.join(", ")));
        }
        let _ = writeln!(out);
    }
    let problems: Vec<&CaseResult> = results
        .iter()
        .filter(|r| Outcome::of(r) != Outcome::Passed)
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "### Not passed\n");
        let _ = writeln!(
            out,
            "| outcome | case | step | violates | covers | detail |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
        for r in problems {
            let (step, detail) = match &r.verdict {
                Verdict::Fail {
                    step, differences, ..
                } => (step.to_string(), differences.join("\n")),
                Verdict::Errored { step, message } => (step.to_string(), message.clone()),
                Verdict::Skipped { reason } => (String::new(), reason.clone()),
                Verdict::Pass => (
                    String::new(),
                    "passes but is listed as a known failure".to_owned(),
                ),
            };
            let outcome = serde_json::to_value(Outcome::of(r))
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {outcome} | `{}` | {step} | {} | {} | {} |",
                r.id,
                md_cell(&r.verdict.violated().join(", ")),
                md_cell(&r.blamed.join(", ")),
                md_cell(&detail)
            );
        }
        let _ = writeln!(out);
    }
    for profile in profiles {
        let _ = writeln!(
            out,
            "<details><summary>{profile}: per requirement</summary>\n"
        );
        let _ = writeln!(out, "| status | requirement | cases |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for req in requirements.of_profile(*profile) {
            match per_req.get(&req.id) {
                Some(s) => {
                    let by = viol.get(&req.id).map(Vec::as_slice).unwrap_or(&[]);
                    let _ = writeln!(
                        out,
                        "| {} | `{}` | {} |",
                        row_status(s, by),
                        req.id,
                        row_detail(s, by)
                    );
                }
                None => {
                    let _ = writeln!(out, "| - | `{}` | no case selected |", req.id);
                }
            }
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}
