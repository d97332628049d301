//! The page's case sections: the declared deviations and the cases that
//! differ only on them, the cases that failed or errored (differences
//! shown, transcript folded), the skips (one line per reason, cases
//! folded), and the passes. Each section and entry carries the class of
//! its filter ([`super::filter`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::filter::Filter;
use crate::report::inert::{html as inert, html_code_spans as spans};
use crate::report::summary::{deviation_rows, skip_groups};
use crate::report::transcript;
use crate::report::{xml_escape as esc, Outcome};
use crate::run::expectations::Deviation;
use crate::run::runner::{CaseResult, Verdict};
use crate::run::stop::error_identity;

/// Case ids as code, comma-separated.
fn id_list(cases: &[&CaseResult]) -> String {
    let ids: Vec<String> = cases
        .iter()
        .map(|r| format!("<code>{}</code>", esc(&r.id)))
        .collect();
    ids.join(", ")
}

/// One row per declared deviation, then the cases that differ only on
/// declared clauses, folded.
pub(super) fn deviations(out: &mut String, results: &[CaseResult], declared: &[Deviation]) {
    let rows = deviation_rows(results, declared);
    if rows.is_empty() {
        return;
    }
    let class = Filter::Deviates.class();
    let _ = writeln!(
        out,
        "<section class=\"{class}\" id=\"deviations\"><h2>Declared deviations</h2>\n<table><tr><th>status</th><th>clause</th><th>detail</th></tr>"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "<tr><td class=\"{cls}\">{status}</td><td><code>{clause}</code></td><td>{detail}</td></tr>",
            cls = row.status.replace(' ', "-"),
            status = row.status,
            clause = esc(&row.clause),
            detail = spans(&row.detail())
        );
    }
    let _ = writeln!(out, "</table>");
    let deviating: Vec<&CaseResult> = results
        .iter()
        .filter(|r| Outcome::of(r) == Outcome::Deviates)
        .collect();
    if !deviating.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} case(s) differ only on declared deviations</summary><p class=\"ids\">{}</p></details>",
            deviating.len(),
            id_list(&deviating)
        );
    }
    let _ = writeln!(out, "</section>");
}

/// Every case that failed or errored, or is listed wrongly as a known
/// failure. Cases that errored with one and the same error (numbers and
/// ids aside: an adapter that does not start) are shown once, with the
/// others listed under it.
pub(super) fn not_passed(
    out: &mut String,
    results: &[CaseResult],
    titles: &BTreeMap<String, String>,
) {
    let problems: Vec<&CaseResult> = results
        .iter()
        .filter(|r| Filter::of_outcome(Outcome::of(r)) == Filter::Failed)
        .collect();
    if problems.is_empty() {
        return;
    }
    let mut same_error: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in problems.iter().copied() {
        if let (Verdict::Errored { message, .. }, None) = (&r.verdict, &r.known_failure) {
            same_error
                .entry(error_identity(message))
                .or_default()
                .push(r);
        }
    }
    let _ = writeln!(
        out,
        "<section class=\"{}\" id=\"not-passed\"><h2>Cases that did not pass</h2>",
        Filter::Failed.class()
    );
    for r in problems {
        let same: &[&CaseResult] = match (&r.verdict, &r.known_failure) {
            (Verdict::Errored { message, .. }, None) => same_error
                .get(&error_identity(message))
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            _ => &[],
        };
        match same.split_first() {
            Some((first, _)) if first.id != r.id => continue,
            Some((_, others)) => case_block(out, r, titles, others),
            None => case_block(out, r, titles, &[]),
        }
    }
    let _ = writeln!(out, "</section>");
}

/// The label, the step and the lines that say what went wrong.
fn what_went_wrong(r: &CaseResult) -> (&'static str, usize, Vec<String>) {
    let (label, step, lines) = match &r.verdict {
        Verdict::Fail {
            step, differences, ..
        } => ("FAIL", *step, differences.clone()),
        Verdict::Errored { step, message } => ("ERROR", *step, vec![message.clone()]),
        Verdict::Skipped { reason } => ("SKIP", 0, vec![reason.clone()]),
        Verdict::Pass => (
            "XPASS",
            0,
            vec!["passes, but is listed as a known failure".to_owned()],
        ),
    };
    match Outcome::of(r) {
        Outcome::ExpectedFailure => ("XFAIL", step, lines),
        _ => (label, step, lines),
    }
}

/// One case: label, id and title; file, step and violated clauses; the
/// known failure it is listed as; the differences; the transcript,
/// folded; and the cases that errored the same way.
fn case_block(
    out: &mut String,
    r: &CaseResult,
    titles: &BTreeMap<String, String>,
    same: &[&CaseResult],
) {
    let (label, step, lines) = what_went_wrong(r);
    let title = titles.get(&r.id).map(String::as_str).unwrap_or("");
    let _ = writeln!(
        out,
        "<div class=\"case {}\" id=\"case-{id}\"><h3><span class=\"{label}\">{label}</span> <code>{id}</code> {title}</h3>",
        Filter::Failed.class(),
        id = esc(&r.id),
        title = inert(title),
    );
    let mut place = esc(&r.file);
    if step > 0 {
        let _ = write!(place, ", step {step}");
    }
    let clauses: Vec<String> = r
        .verdict
        .violated()
        .iter()
        .map(|c| format!("<a href=\"#{0}\"><code>{0}</code></a>", esc(c)))
        .collect();
    if !clauses.is_empty() {
        let _ = write!(place, "; violated: {}", clauses.join(", "));
    }
    let _ = writeln!(out, "<p>{place}</p>");
    if let Some(k) = &r.known_failure {
        let issue = k.issue.as_deref().map(|i| format!(" ({})", inert(i)));
        let _ = writeln!(
            out,
            "<p>known failure ({}): {}{}</p>",
            inert(&k.origin.label()),
            inert(&k.reason),
            issue.unwrap_or_default()
        );
    }
    let _ = writeln!(out, "<ul>");
    for line in &lines {
        let _ = writeln!(out, "<li class=\"diff\">{}</li>", inert(line));
    }
    let _ = writeln!(out, "</ul>");
    transcript_block(out, r, title, step);
    if !same.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} more case(s) with the same error (numbers and ids aside)</summary><p class=\"ids\">{}</p></details>",
            same.len(),
            id_list(same)
        );
    }
    let _ = writeln!(out, "</div>");
}

/// The case's transcript, folded, with the failing step's lines marked.
fn transcript_block(out: &mut String, r: &CaseResult, title: &str, step: usize) {
    let _ = write!(
        out,
        "<details><summary>transcript: {} step(s){}</summary><pre>",
        r.steps.len(),
        if step > 0 && !r.steps.is_empty() {
            format!(", step {step} marked")
        } else {
            String::new()
        }
    );
    let text = transcript::render(r, title);
    let mut in_failed = false;
    for line in text.lines() {
        if let Some(n) = step_number(line) {
            if in_failed {
                out.push_str("</span>");
                in_failed = false;
            }
            if n == step && step > 0 {
                out.push_str("<span class=\"failed\">");
                in_failed = true;
            }
        }
        let _ = writeln!(out, "{}", inert(line));
    }
    if in_failed {
        out.push_str("</span>");
    }
    let _ = writeln!(out, "</pre></details>");
}

/// The skipped cases, one line per reason (without the step it happened
/// at) with the count, the cases folded under it.
pub(super) fn skipped(out: &mut String, results: &[CaseResult]) {
    let groups = skip_groups(results);
    if groups.is_empty() {
        return;
    }
    let total: usize = groups.iter().map(|(_, cases)| cases.len()).sum();
    let _ = writeln!(
        out,
        "<section class=\"{}\" id=\"skipped\"><h2>Skipped: {total} case(s), {} reason(s) (never counted as passed)</h2>",
        Filter::Skipped.class(),
        groups.len()
    );
    for (reason, cases) in &groups {
        let _ = writeln!(
            out,
            "<details class=\"skip-group\"><summary><span class=\"SKIP\">SKIP</span> {} case(s): {}</summary><p class=\"ids\">{}</p></details>",
            cases.len(),
            spans(reason),
            id_list(cases)
        );
    }
    let _ = writeln!(out, "</section>");
}

/// The cases that passed, as a list of ids (hidden with the passes).
pub(super) fn passed(out: &mut String, results: &[CaseResult]) {
    let passed: Vec<&CaseResult> = results
        .iter()
        .filter(|r| Outcome::of(r) == Outcome::Passed)
        .collect();
    if passed.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"{}\" id=\"passed\"><h2>Passed: {} case(s)</h2><p class=\"ids\">{}</p></section>",
        Filter::Passed.class(),
        passed.len(),
        id_list(&passed)
    );
}

/// The step number of a transcript line that opens a step (`[3] …`).
fn step_number(line: &str) -> Option<usize> {
    let rest = line.strip_prefix('[')?;
    let (n, _) = rest.split_once(']')?;
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_are_recognised() {
        assert_eq!(step_number("[3] 2009-03-01T12:00:30Z request /"), Some(3));
        assert_eq!(step_number("  > Cookie: a=[1]"), None);
        assert_eq!(step_number("[x] no"), None);
    }
}
