//! The Markdown report, for a CI step summary.

use std::fmt::Write as _;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

use super::summary::{
    by_requirement, deviation_rows, row_detail, row_status, violated_first, violations, Outcome,
    Summary,
};
use crate::run::expectations::Deviation;
use crate::run::runner::{CaseResult, Verdict};

/// A table cell: each line made inert, its code spans as `<code>`
/// ([`super::inert::html_code_spans`]: no HTML of the text reaches the
/// renderer, and an escaped `<` inside a code span reads `<`, not
/// `&lt;`, as it would inside backticks), lines joined with `<br>`, `|`
/// escaped.
fn md_cell(s: &str) -> String {
    s.split('\n')
        .map(super::inert::html_code_spans)
        .collect::<Vec<_>>()
        .join("<br>")
        .replace('|', "\\|")
}

/// The Markdown report, for a CI step summary (e.g. `$GITHUB_STEP_SUMMARY`):
/// the closing line, the violated clauses, the declared deviations, the
/// cases that did not pass, the skips grouped by reason (one line each,
/// the cases in an expandable list), and per profile the requirements
/// (collapsed).
pub fn markdown(
    results: &[CaseResult],
    requirements: &Requirements,
    profiles: &[Profile],
    backend: &str,
    deviations: &[Deviation],
) -> String {
    let s = Summary::of(results);
    let mut out = String::new();
    let mark = if s.ok() { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "## {mark} moin-session-conformance: {}\n",
        md_cell(backend)
    );
    let _ = writeln!(out, "**{}**\n", s.line());
    violated_table(&mut out, results);
    deviation_table(&mut out, results, deviations);
    not_passed_table(&mut out, results);
    skip_groups(&mut out, results);
    let per_req = by_requirement(results);
    let viol = violations(results);
    for profile in profiles {
        requirement_table(&mut out, *profile, requirements, &per_req, &viol);
    }
    out
}

/// The violated clauses, most cases first, with their cases.
fn violated_table(out: &mut String, results: &[CaseResult]) {
    let lead = violated_first(results);
    if lead.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Violated clauses\n");
    let _ = writeln!(out, "| clause | cases |");
    let _ = writeln!(out, "| --- | --- |");
    for (clause, cases) in &lead {
        let ids: Vec<String> = cases.iter().map(|r| format!("`{}`", r.id)).collect();
        let _ = writeln!(out, "| `{clause}` | {} |", md_cell(&ids.join(", ")));
    }
    let _ = writeln!(out);
}

/// Every case that failed, errored or is listed wrongly, one row each
/// (passes, deviations and skips are elsewhere).
fn not_passed_table(out: &mut String, results: &[CaseResult]) {
    let problems: Vec<&CaseResult> = results
        .iter()
        .filter(|r| {
            !matches!(
                Outcome::of(r),
                Outcome::Passed | Outcome::Deviates | Outcome::Skipped
            )
        })
        .collect();
    if problems.is_empty() {
        return;
    }
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
            Verdict::Errored { step: 0, message } => {
                ("before the first".to_owned(), message.clone())
            }
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

/// One profile's requirements, collapsed: status, id, cases.
fn requirement_table(
    out: &mut String,
    profile: Profile,
    requirements: &Requirements,
    per_req: &std::collections::BTreeMap<String, Summary>,
    viol: &std::collections::BTreeMap<String, Vec<&CaseResult>>,
) {
    let _ = writeln!(
        out,
        "<details><summary>{profile}: per requirement</summary>\n"
    );
    let _ = writeln!(out, "| status | requirement | cases |");
    let _ = writeln!(out, "| --- | --- | --- |");
    for req in requirements.of_profile(profile) {
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

/// The declared deviations as a table: status, clause, cases, reason.
fn deviation_table(out: &mut String, results: &[CaseResult], deviations: &[Deviation]) {
    let rows = deviation_rows(results, deviations);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Declared deviations\n");
    let _ = writeln!(out, "| status | clause | detail |");
    let _ = writeln!(out, "| --- | --- | --- |");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} |",
            row.status,
            row.clause,
            md_cell(&row.detail())
        );
    }
    let _ = writeln!(out);
}

/// Skipped cases grouped by reason: one line per reason with the count,
/// the case ids in a collapsed list. The line is HTML (a `<summary>`,
/// where renderers read no Markdown): the reason inert, its code spans as
/// `<code>`.
fn skip_groups(out: &mut String, results: &[CaseResult]) {
    let groups = super::summary::skip_groups(results);
    if groups.is_empty() {
        return;
    }
    let total: usize = groups.iter().map(|(_, cases)| cases.len()).sum();
    let _ = writeln!(
        out,
        "### Skipped: {total} case(s), {} reason(s) (never counted as passed)\n",
        groups.len()
    );
    for (reason, cases) in groups {
        let list: Vec<String> = cases.iter().map(|r| format!("`{}`", r.id)).collect();
        let _ = writeln!(
            out,
            "<details><summary>{} case(s): {}</summary>\n\n{}\n\n</details>\n",
            cases.len(),
            super::inert::html_code_spans(&reason),
            list.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::md_cell;

    #[test]
    fn a_cell_shows_code_as_code_and_no_markup() {
        assert_eq!(
            md_cell("sends `HttpOnly` on <every> cookie"),
            "sends <code>HttpOnly</code> on &lt;every&gt; cookie"
        );
        assert_eq!(
            md_cell("`<img src=x>` | two\nlines"),
            "<code>&lt;img src=x&gt;</code> \\| two<br>lines"
        );
    }
}
