//! The HTML report (`check --format html`): one self-contained page (no
//! script, no network, styles inline) that a person opens and browses.
//!
//! It holds the summary and versions, the requirement table of each
//! profile in spec order with the violated clauses first, the text of
//! every clause the table names (so each row links to its clause within
//! the page), and every case that did not pass as its transcript, with the
//! step that failed marked and its differences listed. The page is
//! well-formed XML as well as HTML, so tests parse it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use moin_session_spec::requirements::{Requirement, Requirements};
use moin_session_spec::Profile;

use crate::report::transcript;
use crate::report::{by_requirement, row_status, xml_escape as esc, Outcome, Summary, Versions};
use crate::run::runner::{CaseResult, Verdict};

/// What the page is made of.
pub struct HtmlReport<'a> {
    /// The results, in run order.
    pub results: &'a [CaseResult],
    /// Each case's title, by case id (for the transcripts).
    pub titles: &'a BTreeMap<String, String>,
    /// The spec's clauses.
    pub requirements: &'a Requirements,
    /// The profiles that ran.
    pub profiles: &'a [Profile],
    /// The backend's name and version.
    pub backend: &'a str,
    /// The runner, protocol, spec and corpus versions.
    pub versions: &'a Versions,
    /// The declared deviations.
    pub deviations: &'a [crate::run::expectations::Deviation],
    /// The line that says why the run stopped early and how much it did
    /// not run (e.g. `stopped early: interrupted by SIGINT: this is a
    /// partial report; 5 of 169 selected case(s) not run`), or `None` for
    /// a run that finished.
    pub stopped: Option<&'a str>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:75em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}\
.PASS{color:#176f2c}.VIOLATED,.FAIL,.ERROR,.XPASS,.violated{color:#b00020;font-weight:bold}.AFFECTED,.SKIP,.XFAIL{color:#8a6d00}\
pre{background:#f6f6f6;padding:.8em;overflow-x:auto}pre .failed{background:#ffe3e3;display:block}\
.diff{color:#b00020}code{font-size:95%}.clause{border-left:3px solid #ccc;padding-left:.8em;margin:.8em 0}";

/// The clauses a result shows violated: those its failing step's
/// differences were attributed to (`crate::run::attribution`); an error or a
/// known failure violates none.
fn violated(r: &CaseResult) -> Vec<String> {
    if r.known_failure.is_some() {
        return Vec::new();
    }
    r.verdict.violated().to_vec()
}

impl HtmlReport<'_> {
    /// The page.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let summary = Summary::of(self.results);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
             <title>moin-session conformance: {}{}</title><style>{STYLE}</style></head><body>\n",
            esc(self.backend),
            if self.stopped.is_some() {
                " (stopped early)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "<h1>Conformance of {}</h1>\n<p id=\"summary\">{}</p>",
            esc(self.backend),
            esc(&summary.line())
        );
        if let Some(line) = self.stopped {
            let _ = writeln!(out, "<p id=\"stopped\" class=\"ERROR\">{}</p>", esc(line));
        }
        let specs: Vec<String> = self
            .versions
            .spec
            .iter()
            .map(|(p, v)| format!("{p} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "<p>runner {}, adapter protocol {}, spec {}, corpus {}</p>",
            esc(self.versions.runner),
            self.versions.protocol,
            esc(&specs.join(", ")),
            esc(&self.versions.corpus)
        );
        self.deviation_table(&mut out);
        let mut violated_by: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
        for r in self.results {
            for v in violated(r) {
                violated_by.entry(v).or_default().push(r);
            }
        }
        let per_req = by_requirement(self.results);
        let mut named: BTreeSet<&str> = BTreeSet::new();
        for profile in self.profiles {
            // Every clause a selected case covers, and every clause a
            // difference was attributed to, covered or not.
            let mut reqs: Vec<&Requirement> = self
                .requirements
                .of_profile(*profile)
                .into_iter()
                .filter(|r| per_req.contains_key(&r.id) || violated_by.contains_key(&r.id))
                .collect();
            // Violated clauses first, each group in spec order.
            reqs.sort_by_key(|r| (!violated_by.contains_key(&r.id), r.line));
            let _ = writeln!(
                out,
                "<h2>{profile}: requirements</h2>\n<table><tr><th>status</th><th>clause</th><th>violated in</th><th>covering cases</th><th>summary</th></tr>"
            );
            for req in reqs {
                named.insert(&req.id);
                let s = per_req.get(&req.id).copied().unwrap_or_default();
                let by = violated_by.get(&req.id).map(Vec::as_slice).unwrap_or(&[]);
                let status = row_status(&s, by);
                let _ = writeln!(
                    out,
                    "<tr><td class=\"{status}\">{status}</td><td><a href=\"#{id}\"><code>{id}</code></a></td>\
                     <td class=\"{cls}\">{violations}</td><td>{cases}</td><td>{summary}</td></tr>",
                    id = esc(&req.id),
                    cls = if by.is_empty() { "" } else { "violated" },
                    violations = by.len(),
                    cases = s.passed + s.failed + s.errored + s.skipped + s.expected_failures + s.unexpected_passes,
                    summary = esc(req.summary()),
                );
            }
            let _ = writeln!(out, "</table>");
        }
        self.problems(&mut out);
        let _ = writeln!(out, "<h2>Clauses</h2>");
        for req in self
            .requirements
            .iter()
            .filter(|r| named.contains(r.id.as_str()))
        {
            let _ = writeln!(
                out,
                "<div class=\"clause\" id=\"{id}\"><p><code>r[{id}]</code>, {file}:{line}, {section}</p><p>{text}</p></div>",
                id = esc(&req.id),
                file = esc(req.file),
                line = req.line,
                section = esc(&req.section),
                text = esc(&req.text)
            );
        }
        let _ = writeln!(out, "</body></html>");
        out
    }

    /// One row per declared deviation.
    fn deviation_table(&self, out: &mut String) {
        let rows = crate::report::summary::deviation_rows(self.results, self.deviations);
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "<h2>Declared deviations</h2>\n<table><tr><th>status</th><th>clause</th><th>detail</th></tr>"
        );
        for row in rows {
            let _ = writeln!(
                out,
                "<tr><td class=\"{cls}\">{status}</td><td><code>{clause}</code></td><td>{detail}</td></tr>",
                cls = row.status.replace(' ', "-"),
                status = row.status,
                clause = esc(&row.clause),
                detail = esc(&row.detail())
            );
        }
        let _ = writeln!(out, "</table>");
    }

    /// Every case that did not simply pass, as its transcript.
    fn problems(&self, out: &mut String) {
        let problems: Vec<&CaseResult> = self
            .results
            .iter()
            .filter(|r| !matches!(Outcome::of(r), Outcome::Passed | Outcome::Deviates))
            .collect();
        if problems.is_empty() {
            return;
        }
        let _ = writeln!(out, "<h2>Cases that did not pass</h2>");
        for r in problems {
            let (label, step, lines): (&str, usize, Vec<String>) = match &r.verdict {
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
            let label = match Outcome::of(r) {
                Outcome::ExpectedFailure => "XFAIL",
                _ => label,
            };
            let _ = writeln!(
                out,
                "<h3 id=\"case-{id}\"><span class=\"{label}\">{label}</span> <code>{id}</code> ({file})</h3>",
                id = esc(&r.id),
                file = esc(&r.file)
            );
            let clauses: Vec<String> = violated(r)
                .iter()
                .map(|c| format!("<a href=\"#{0}\"><code>{0}</code></a>", esc(c)))
                .collect();
            if !clauses.is_empty() {
                let _ = writeln!(out, "<p>violated: {}</p>", clauses.join(", "));
            }
            let _ = writeln!(out, "<ul>");
            for line in &lines {
                let _ = writeln!(out, "<li class=\"diff\">{}</li>", esc(line));
            }
            let _ = writeln!(out, "</ul>");
            let title = self.titles.get(&r.id).map(String::as_str).unwrap_or("");
            let text = transcript::render(r, title);
            let _ = write!(out, "<pre>");
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
                let _ = writeln!(out, "{}", esc(line));
            }
            if in_failed {
                out.push_str("</span>");
            }
            let _ = writeln!(out, "</pre>");
        }
    }
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
