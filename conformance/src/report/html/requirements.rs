//! The requirement table of each profile, and the text of the violated
//! clauses. A row shows its clause's first sentence, with the rest of the
//! text and its place in the spec folded under it; a violated clause's
//! row links to its text, shown in full below the cases. The clauses that
//! only skipped cases cover (which a conformance claim leaves out) are one
//! row, those whose cases errored (an adapter that does not start makes
//! them all) another, and the passing rows hide with the passes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use moin_session_spec::requirements::{Requirement, Requirements};
use moin_session_spec::Profile;

use super::filter::Filter;
use crate::report::inert::html_code_spans as spans;
use crate::report::{by_requirement, row_status, xml_escape as esc, Outcome, Summary};
use crate::run::runner::CaseResult;

/// The clauses the differences of the cases shown as failing were
/// attributed to (known failures included): the page holds their text.
fn linked_clauses(results: &[CaseResult]) -> BTreeSet<&str> {
    results
        .iter()
        .filter(|r| Filter::of_outcome(Outcome::of(r)) == Filter::Failed)
        .flat_map(|r| r.verdict.violated())
        .map(String::as_str)
        .collect()
}

/// The clauses violated by failing cases that are not known failures:
/// clause → how many cases.
fn violated_by(results: &[CaseResult]) -> BTreeMap<&str, Vec<&CaseResult>> {
    let mut map: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in results.iter().filter(|r| r.known_failure.is_none()) {
        for v in r.verdict.violated() {
            map.entry(v.as_str()).or_default().push(r);
        }
    }
    map
}

/// The table of `profile`'s clauses that the run covered or found
/// violated, violated first, each group in spec order; returns how many
/// rows read VIOLATED.
pub(super) fn table(
    out: &mut String,
    results: &[CaseResult],
    requirements: &Requirements,
    profile: Profile,
) -> usize {
    let violated_by = violated_by(results);
    let per_req = by_requirement(results);
    let linked = linked_clauses(results);
    let mut reqs: Vec<&Requirement> = requirements
        .of_profile(profile)
        .into_iter()
        .filter(|r| per_req.contains_key(&r.id) || violated_by.contains_key(r.id.as_str()))
        .collect();
    reqs.sort_by_key(|r| (!violated_by.contains_key(r.id.as_str()), r.line));
    let _ = writeln!(
        out,
        "<h2>{profile}: requirements</h2>\n<table><tr><th>status</th><th>clause</th><th>violated in</th><th>cases</th><th>summary</th></tr>"
    );
    let (mut violated, mut passing) = (0, 0);
    let mut skipped_only: Vec<&Requirement> = Vec::new();
    let mut errored_only: Vec<&Requirement> = Vec::new();
    for req in reqs {
        let s = per_req.get(&req.id).copied().unwrap_or_default();
        let by = violated_by.get(req.id.as_str()).map_or(0, Vec::len);
        let status = row_status(
            &s,
            violated_by.get(req.id.as_str()).map_or(&[], Vec::as_slice),
        );
        match status {
            "SKIP" => skipped_only.push(req),
            "ERROR" => errored_only.push(req),
            "PASS" => passing += 1,
            "VIOLATED" => violated += 1,
            _ => {}
        }
        if !matches!(status, "SKIP" | "ERROR") {
            row(out, req, status, by, &s, linked.contains(req.id.as_str()));
        }
    }
    let groups = [
        (
            errored_only,
            "ERROR",
            Filter::Failed,
            "errored-only",
            "with a case that errored and none that failed",
        ),
        (
            skipped_only,
            "SKIP",
            Filter::Skipped,
            "skipped-only",
            "only skipped cases cover, left out of the claim",
        ),
    ];
    for (clauses, status, kind, class, what) in groups {
        if clauses.is_empty() {
            continue;
        }
        let ids: Vec<String> = clauses
            .iter()
            .map(|r| format!("<code>{}</code>", esc(&r.id)))
            .collect();
        let _ = writeln!(
            out,
            "<tr class=\"{} {class}\"><td class=\"status {status}\">{status}</td><td colspan=\"4\">{} clause(s) {what}: {}</td></tr>",
            kind.class(),
            ids.len(),
            ids.join(", ")
        );
    }
    if passing > 0 {
        let _ = writeln!(
            out,
            "<tr class=\"when-passes-hidden\"><td colspan=\"5\">{passing} passing clause(s) of {profile} not shown: <label for=\"show-passed\"><u>show the passes</u></label></td></tr>"
        );
    }
    let _ = writeln!(out, "</table>");
    violated
}

/// One clause's row: its status, its id (linking to its text when the
/// page holds it), in how many cases it was violated, how many cases
/// cover it, and its first sentence (the rest folded under it).
fn row(out: &mut String, req: &Requirement, status: &str, by: usize, s: &Summary, linked: bool) {
    let id = esc(&req.id);
    let (clause, summary) = if linked {
        (
            format!("<a href=\"#{id}\"><code>{id}</code></a>"),
            spans(req.summary()),
        )
    } else {
        (format!("<code>{id}</code>"), folded(req))
    };
    let cases = s.passed
        + s.deviated
        + s.failed
        + s.errored
        + s.skipped
        + s.expected_failures
        + s.unexpected_passes;
    let _ = writeln!(
        out,
        "<tr class=\"{kind}\"><td class=\"status {status}\">{status}</td><td class=\"id\">{clause}</td>\
         <td class=\"count{cls}\">{by}</td><td class=\"count\">{cases}</td><td>{summary}</td></tr>",
        kind = Filter::of_status(status).class(),
        cls = if by == 0 { "" } else { " violated" },
    );
}

/// A clause's first sentence, the rest of its text and its place in the
/// spec folded under it.
fn folded(req: &Requirement) -> String {
    let summary = req.summary();
    let rest = req.text[summary.len()..].trim();
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", spans(rest))
    };
    format!(
        "<details><summary>{}</summary>{rest}<p class=\"where\"><code>r[{}]</code>, {}:{}, {}</p></details>",
        spans(summary),
        esc(&req.id),
        esc(req.file),
        req.line,
        spans(&req.section)
    )
}

/// The text of every clause a failing case's difference was attributed
/// to, in spec order, each where its row and its cases link.
pub(super) fn violated_clauses(
    out: &mut String,
    results: &[CaseResult],
    requirements: &Requirements,
) {
    let linked = linked_clauses(results);
    if linked.is_empty() {
        return;
    }
    let _ = writeln!(out, "<h2>Violated clauses</h2>");
    for req in requirements
        .iter()
        .filter(|r| linked.contains(r.id.as_str()))
    {
        let _ = writeln!(
            out,
            "<div class=\"clause\" id=\"{id}\"><p><code>r[{id}]</code>, {file}:{line}, {section}</p><p>{text}</p></div>",
            id = esc(&req.id),
            file = esc(req.file),
            line = req.line,
            section = spans(&req.section),
            text = spans(&req.text)
        );
    }
}
