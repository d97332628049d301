//! The HTML report (`check --format html`): one self-contained page (no
//! script, no network, styles inline) that a person opens and browses.
//!
//! From the top: the summary and versions; a filter bar (violated,
//! deviates, failed, skipped, passed; [`filter`]) with the passes hidden
//! until asked for; the declared deviations; the requirement table of
//! each profile in spec order with the violated clauses first (each row's
//! clause text folded in it, the clauses only skipped cases cover in one
//! row); every case that failed or errored with its differences, its
//! transcript folded and the failing step marked in it; the skips, one
//! line per reason with its cases folded; the passes; and the text of
//! every violated clause, which the rows and cases link to.
//!
//! The spec's text shows its code spans as code
//! ([`super::inert::html_code_spans`]); what a backend, a fixture or an
//! expectations file wrote is escaped. Long titles and values wrap. The
//! page is well-formed XML as well as HTML, so tests parse it.

mod cases;
mod filter;
mod requirements;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

use crate::report::{xml_escape as esc, Summary, Versions};
use crate::run::runner::CaseResult;
use filter::Filter;

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

impl HtmlReport<'_> {
    /// The page.
    pub fn render(&self) -> String {
        let summary = Summary::of(self.results);
        let mut body = String::new();
        cases::deviations(&mut body, self.results, self.deviations);
        let mut violated = 0;
        for profile in self.profiles {
            violated += requirements::table(&mut body, self.results, self.requirements, *profile);
        }
        cases::not_passed(&mut body, self.results, self.titles);
        cases::skipped(&mut body, self.results);
        cases::passed(&mut body, self.results);
        requirements::violated_clauses(&mut body, self.results, self.requirements);
        let counts = [
            (Filter::Violated, format!("{violated} clause(s)")),
            (Filter::Deviates, format!("{} case(s)", summary.deviated)),
            (
                Filter::Failed,
                format!(
                    "{} case(s)",
                    summary.failed
                        + summary.errored
                        + summary.expected_failures
                        + summary.unexpected_passes
                ),
            ),
            (Filter::Skipped, format!("{} case(s)", summary.skipped)),
            (Filter::Passed, format!("{} case(s)", summary.passed)),
        ];
        let mut out = self.head(&summary);
        filter::bar(&mut out, &counts);
        let _ = write!(out, "<div id=\"report\">\n{body}</div>\n</body></html>\n");
        out
    }

    /// The page up to the filter bar: title, summary, early stop, versions.
    fn head(&self, summary: &Summary) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
             <title>moin-session conformance: {}{}</title><style>{}</style></head><body>\n",
            esc(self.backend),
            if self.stopped.is_some() {
                " (stopped early)"
            } else {
                ""
            },
            filter::style()
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
        out
    }
}
