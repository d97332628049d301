//! The JUnit XML report, for CI systems: one test case per fixture case.

use std::fmt::Write as _;

use moin_session_spec::Profile;

use super::summary::{deviation_rows, DeviationRow, Outcome, Summary};
use super::text::failure;
use crate::run::expectations::Deviation;
use crate::run::runner::{CaseResult, Verdict};

/// Escapes text for XML 1.0 content and attributes; characters XML 1.0
/// cannot carry at all are replaced by U+FFFD.
///
/// ```
/// use moin_session_conformance::report::xml_escape;
/// assert_eq!(xml_escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;\u{FFFD}");
/// ```
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML report: one `testsuite` per profile, one `testcase` per
/// case; failures carry the expected vs observed differences. A case that
/// deviates only on declared clauses passes, saying so in its
/// `system-out`; with declared deviations, one more `testsuite` holds one
/// `testcase` per declared clause (DEVIATES passes, UNUSED fails, NOT
/// EXERCISED is skipped).
pub fn junit(results: &[CaseResult], backend: &str, deviations: &[Deviation]) -> String {
    junit_of_run(results, backend, deviations, None)
}

/// [`junit`] of a run that may have stopped early: `stopped` (the line
/// that says why and how much it did not run, e.g. `stopped early:
/// interrupted by SIGINT: this is a partial report; 5 of 169 selected
/// case(s) not run`) becomes one
/// more `testsuite`, `run`, whose one `testcase` errors with it, so that a
/// CI system shows the run as incomplete.
pub fn junit_of_run(
    results: &[CaseResult],
    backend: &str,
    deviations: &[Deviation],
    stopped: Option<&str>,
) -> String {
    let mut profiles: Vec<Profile> = results.iter().map(|r| r.profile).collect();
    profiles.sort();
    profiles.dedup();
    let total = Summary::of(results);
    let rows = deviation_rows(results, deviations);
    let unused = rows.iter().filter(|r| r.status == "UNUSED").count();
    let unexercised = rows.iter().filter(|r| r.status == "NOT EXERCISED").count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"moin-session-conformance: {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        xml_escape(backend),
        results.len() + rows.len() + usize::from(stopped.is_some()),
        total.failed + total.unexpected_passes + unused,
        total.errored + usize::from(stopped.is_some()),
        total.skipped + total.expected_failures + unexercised
    );
    for profile in profiles {
        let cases: Vec<&CaseResult> = results.iter().filter(|r| r.profile == profile).collect();
        let owned: Vec<CaseResult> = cases.iter().map(|c| (*c).clone()).collect();
        let s = Summary::of(&owned);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{profile}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            cases.len(),
            s.failed + s.unexpected_passes,
            s.errored,
            s.skipped + s.expected_failures
        );
        for r in cases {
            let area = r.id.split('.').nth(1).unwrap_or("");
            let _ = write!(
                out,
                "    <testcase classname=\"{profile}.{}\" name=\"{}\" file=\"{}\"",
                xml_escape(area),
                xml_escape(&r.id),
                xml_escape(&r.file)
            );
            testcase_body(&mut out, r);
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    deviation_suite(&mut out, &rows);
    if let Some(line) = stopped {
        stop_suite(&mut out, line);
    }
    let _ = writeln!(out, "</testsuites>");
    out
}

/// What follows a `<testcase …` opening: `/>` for a pass, else the
/// failure, skip or error element and the closing tag.
fn testcase_body(out: &mut String, r: &CaseResult) {
    let reqs = format!("requirements: {}", r.blamed.join(", "));
    match (Outcome::of(r), &r.verdict) {
        (Outcome::Passed, _) => {
            let _ = writeln!(out, "/>");
        }
        (Outcome::Deviates, _) => {
            let _ = writeln!(out, ">");
            let lines: Vec<String> = r
                .deviations
                .iter()
                .map(|d| format!("step {}: {}", d.step, d.differences.join("; ")))
                .collect();
            let _ = writeln!(
                out,
                "      <system-out>deviates only on declared clauses: {}\n{}</system-out>",
                xml_escape(&r.deviated_clauses().join(", ")),
                xml_escape(&lines.join("\n"))
            );
            let _ = writeln!(out, "    </testcase>");
        }
        (Outcome::UnexpectedPass, _) => {
            let _ = writeln!(out, ">");
            let _ = writeln!(
                out,
                "      <failure message=\"passes but is listed as a known failure\">{}</failure>",
                xml_escape(&failure(r))
            );
            let _ = writeln!(out, "    </testcase>");
        }
        (Outcome::Skipped | Outcome::ExpectedFailure, _) => {
            let _ = writeln!(out, ">");
            let why = match (&r.verdict, &r.known_failure) {
                (_, Some(k)) => format!("known failure: {}", k.reason),
                (Verdict::Skipped { reason }, None) => reason.clone(),
                _ => String::new(),
            };
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", xml_escape(&why));
            let _ = writeln!(out, "    </testcase>");
        }
        (
            Outcome::Failed,
            Verdict::Fail {
                step,
                differences,
                violated,
            },
        ) => {
            let _ = writeln!(out, ">");
            let first = differences.first().cloned().unwrap_or_default();
            let violates = violated.join(", ");
            let body = format!(
                "violates: {violates}\nstep {step}; {reqs}\n{}",
                differences.join("\n")
            );
            let _ = writeln!(
                out,
                "      <failure message=\"violates {}: step {step}: {}\">{}</failure>",
                xml_escape(&violates),
                xml_escape(&first),
                xml_escape(&body)
            );
            let _ = writeln!(out, "    </testcase>");
        }
        (_, verdict) => {
            let _ = writeln!(out, ">");
            let (step, message) = match verdict {
                Verdict::Errored { step, message } => (*step, message.clone()),
                _ => (0, String::new()),
            };
            let first = message.lines().next().unwrap_or("").to_owned();
            let at = super::summary::at_step(step);
            let _ = writeln!(
                out,
                "      <error message=\"{at}: {}\">{}</error>",
                xml_escape(&first),
                xml_escape(&format!("{at}; {reqs}\n{message}"))
            );
            let _ = writeln!(out, "    </testcase>");
        }
    }
}

/// One `testcase` per declared deviation.
fn deviation_suite(out: &mut String, rows: &[DeviationRow]) {
    if rows.is_empty() {
        return;
    }
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"declared deviations\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        rows.len(),
        count("UNUSED"),
        count("NOT EXERCISED")
    );
    for row in rows {
        let detail = xml_escape(&format!("{} {}: {}", row.status, row.clause, row.detail()));
        let _ = write!(
            out,
            "    <testcase classname=\"deviations\" name=\"{}\">",
            xml_escape(&row.clause)
        );
        match row.status {
            "UNUSED" => {
                let _ = write!(
                    out,
                    "<failure message=\"declared deviation exercised and never found\">{detail}</failure>"
                );
            }
            "NOT EXERCISED" => {
                let _ = write!(out, "<skipped message=\"{detail}\"/>");
            }
            _ => {
                let _ = write!(out, "<system-out>{detail}</system-out>");
            }
        }
        let _ = writeln!(out, "</testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
}

/// The `run` suite of a run that stopped early: one `testcase`,
/// `finished`, errored with why it stopped.
fn stop_suite(out: &mut String, line: &str) {
    let line = xml_escape(line);
    let _ = writeln!(
        out,
        "  <testsuite name=\"run\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    \
         <testcase classname=\"run\" name=\"finished\"><error message=\"{line}\">{line}</error></testcase>\n  </testsuite>"
    );
}

#[cfg(test)]
mod tests {
    use moin_session_spec::requirements::Requirements;

    use super::*;
    use crate::report::{markdown::markdown, text::text};

    /// A case that errored before its first step (its reset failed) says
    /// so in the same words in every format, never "step 0".
    #[test]
    fn an_error_before_the_first_step_is_named_so_in_every_format() {
        let result = CaseResult {
            id: "m19.load.no-cookie-fresh-every-time".into(),
            profile: Profile::Moin19,
            covers: vec!["m19.load.no-cookie".into()],
            blamed: vec!["m19.load.no-cookie".into()],
            file: "moin-1.9/load.json".into(),
            verdict: Verdict::Errored {
                step: 0,
                message: "reset: the backend refused the configuration".into(),
            },
            steps: Vec::new(),
            bindings: Default::default(),
            known_failure: None,
            deviations: Vec::new(),
        };
        let results = [result];
        let requirements = Requirements::builtin();
        let reports = [
            junit(&results, "b", &[]),
            text(&results, &requirements, &[Profile::Moin19], &[]),
            markdown(&results, &requirements, &[Profile::Moin19], "b", &[]),
        ];
        for report in reports {
            assert!(report.contains("before the first"), "{report}");
            assert!(!report.contains("step 0"), "{report}");
        }
    }
}
