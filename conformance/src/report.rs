//! Reports: per requirement and per case, as text for people, JSON for
//! scripts, JUnit XML for CI systems, and Markdown for a CI step summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;
use serde::Serialize;

use crate::runner::{CaseResult, Verdict};

/// What a case counts as in a run, once known failures are taken into
/// account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Passed.
    Passed,
    /// Failed.
    Failed,
    /// The backend could not run it.
    Errored,
    /// Skipped (never a pass).
    Skipped,
    /// Failed or errored, and listed as a known failure.
    ExpectedFailure,
    /// Passed, but listed as a known failure: the list is out of date.
    UnexpectedPass,
}

impl Outcome {
    /// The outcome of one case result.
    pub fn of(r: &CaseResult) -> Outcome {
        match (&r.verdict, r.known_failure.is_some()) {
            (Verdict::Skipped { .. }, _) => Outcome::Skipped,
            (Verdict::Pass, false) => Outcome::Passed,
            (Verdict::Pass, true) => Outcome::UnexpectedPass,
            (Verdict::Fail { .. } | Verdict::Errored { .. }, true) => Outcome::ExpectedFailure,
            (Verdict::Fail { .. }, false) => Outcome::Failed,
            (Verdict::Errored { .. }, false) => Outcome::Errored,
        }
    }
}

/// Counts of case outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed (not counting known failures).
    pub failed: usize,
    /// Cases the backend could not run (not counting known failures).
    pub errored: usize,
    /// Cases skipped (never counted as passed).
    pub skipped: usize,
    /// Known failures that failed or errored, as expected.
    pub expected_failures: usize,
    /// Known failures that passed.
    pub unexpected_passes: usize,
}

impl Summary {
    /// Counts the outcomes of `results`.
    pub fn of(results: &[CaseResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            s.add(Outcome::of(r));
        }
        s
    }

    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Errored => self.errored += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::ExpectedFailure => self.expected_failures += 1,
            Outcome::UnexpectedPass => self.unexpected_passes += 1,
        }
    }

    /// Whether the run is a success: something was checked (a case passed
    /// or failed), nothing failed or errored unexpectedly, and no known
    /// failure passed. A run of skips only is not a success; see also
    /// [`unchecked_profiles`].
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errored == 0 && self.unexpected_passes == 0 && self.checked() > 0
    }

    /// Cases that ran to a verdict on the backend's behaviour: passed or
    /// failed, known failures included.
    pub fn checked(&self) -> usize {
        self.passed + self.failed + self.expected_failures + self.unexpected_passes
    }

    /// The one-word status of a requirement row: FAIL, ERROR, XPASS, XFAIL,
    /// SKIP (nothing ran) or PASS.
    pub fn status(&self) -> &'static str {
        if self.failed > 0 {
            "FAIL"
        } else if self.errored > 0 {
            "ERROR"
        } else if self.unexpected_passes > 0 {
            "XPASS"
        } else if self.expected_failures > 0 {
            "XFAIL"
        } else if self.passed == 0 {
            "SKIP"
        } else {
            "PASS"
        }
    }

    /// The closing line: `N passed, N failed, N errored, N skipped`, with
    /// known failures when there are any.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} passed, {} failed, {} errored, {} skipped",
            self.passed, self.failed, self.errored, self.skipped
        );
        if self.expected_failures + self.unexpected_passes > 0 {
            s.push_str(&format!(
                " ({} expected failure(s), {} unexpected pass(es))",
                self.expected_failures, self.unexpected_passes
            ));
        }
        s
    }
}

/// The outcomes of the cases covering each requirement.
pub fn by_requirement(results: &[CaseResult]) -> BTreeMap<String, Summary> {
    let mut map: BTreeMap<String, Summary> = BTreeMap::new();
    for r in results {
        for req in &r.covers {
            map.entry(req.clone()).or_default().add(Outcome::of(r));
        }
    }
    map
}

/// For each clause some difference was attributed to, the cases that
/// violated it (failing cases, known failures included), in run order.
pub fn violations(results: &[CaseResult]) -> BTreeMap<String, Vec<&CaseResult>> {
    let mut map: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        for clause in r.verdict.violated() {
            map.entry(clause.clone()).or_default().push(r);
        }
    }
    map
}

/// The clauses violated, most cases first: `(clause, cases)`.
fn violated_first(results: &[CaseResult]) -> Vec<(String, Vec<&CaseResult>)> {
    let mut v: Vec<(String, Vec<&CaseResult>)> = violations(results).into_iter().collect();
    v.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The status word of a requirement row: `VIOLATED` when a difference of a
/// case that failed (not a known failure) was attributed to it, `AFFECTED`
/// when failing cases cover it but none of their differences was.
pub fn row_status(s: &Summary, violated_by: &[&CaseResult]) -> &'static str {
    if violated_by
        .iter()
        .any(|r| Outcome::of(r) == Outcome::Failed)
    {
        "VIOLATED"
    } else if s.failed > 0 {
        "AFFECTED"
    } else {
        s.status()
    }
}

fn row_detail(s: &Summary, violated_by: &[&CaseResult]) -> String {
    let base = requirement_detail(s);
    if violated_by.is_empty() {
        if s.failed > 0 {
            format!("{base}; no difference attributed to it")
        } else {
            base
        }
    } else {
        format!("violated in {} case(s); {base}", violated_by.len())
    }
}

/// The lines that lead a report: each violated clause with its count and
/// the first cases that violate it.
fn violated_lines(results: &[CaseResult]) -> Vec<String> {
    violated_first(results)
        .into_iter()
        .map(|(clause, cases)| {
            let ids: Vec<&str> = cases.iter().take(3).map(|r| r.id.as_str()).collect();
            let more = if cases.len() > 3 {
                format!(", and {} more", cases.len() - 3)
            } else {
                String::new()
            };
            format!(
                "{clause}: {} case(s): {}{more}",
                cases.len(),
                ids.join(", ")
            )
        })
        .collect()
}

fn requirement_detail(s: &Summary) -> String {
    if s.failed + s.errored + s.skipped + s.expected_failures + s.unexpected_passes == 0 {
        format!("{} case(s)", s.passed)
    } else {
        let mut d = format!(
            "{} passed, {} failed, {} errored, {} skipped",
            s.passed, s.failed, s.errored, s.skipped
        );
        if s.expected_failures + s.unexpected_passes > 0 {
            d.push_str(&format!(
                ", {} expected failure(s), {} unexpected pass(es)",
                s.expected_failures, s.unexpected_passes
            ));
        }
        d
    }
}

/// The human report: per requirement of each profile run, then every case
/// that did not simply pass, then the closing line.
pub fn text(results: &[CaseResult], requirements: &Requirements, profiles: &[Profile]) -> String {
    let per_req = by_requirement(results);
    let viol = violations(results);
    let mut out = String::new();
    let lead = violated_lines(results);
    if !lead.is_empty() {
        let _ = writeln!(out, "violated clauses:");
        for l in &lead {
            let _ = writeln!(out, "  {l}");
        }
        let _ = writeln!(out);
    }
    for profile in profiles {
        let reqs = requirements.of_profile(*profile);
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
    let problems: Vec<&CaseResult> = results
        .iter()
        .filter(|r| Outcome::of(r) != Outcome::Passed)
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nnot passed:");
        // Many cases failing with one and the same error (an adapter that
        // does not start) are shown once, with the ids of the others.
        let mut shown: Vec<(&str, Vec<&str>)> = Vec::new();
        // Skips for one reason (a profile, a call or a configuration the
        // backend never gets) are one line, not one per case.
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
                if let Some((_, same)) = shown.iter_mut().find(|(m, _)| *m == message.as_str()) {
                    same.push(&r.id);
                    continue;
                }
                shown.push((message.as_str(), Vec::new()));
            }
            let _ = writeln!(out, "{}", failure(r));
        }
        for (_, same) in shown.iter().filter(|(_, same)| !same.is_empty()) {
            let listed: Vec<&str> = same.iter().take(5).copied().collect();
            let more = if same.len() > 5 {
                format!(", and {} more", same.len() - 5)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  ERROR {} more case(s) with the same error as above: {}{more}",
                same.len(),
                listed.join(", ")
            );
        }
        for (reason, ids) in &skipped {
            let listed: Vec<&str> = ids.iter().take(3).copied().collect();
            let more = if ids.len() > 3 {
                format!(", and {} more", ids.len() - 3)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  SKIP {} case(s): {reason} ({}{more})",
                ids.len(),
                listed.join(", ")
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", Summary::of(results).line());
    out
}

/// A skip's reason without the step it happened at, so that skips for one
/// reason group together.
fn skip_reason(reason: &str) -> String {
    match reason.split_once(": ") {
        Some((step, rest))
            if step.starts_with("step ") && step[5..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest.to_owned()
        }
        _ => reason.to_owned(),
    }
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
                let _ = writeln!(
                    out,
                    "  XPASS case {} ({}) passes but is listed as a known failure; remove it from the expectations file",
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
                "  {label} case {} ({}), step {step}; requirements: {reqs}",
                r.id, r.file
            );
            for line in message.lines() {
                let _ = writeln!(out, "       {line}");
            }
        }
        Verdict::Skipped { reason } => {
            let _ = writeln!(out, "  SKIP case {} ({}): {reason}", r.id, r.file);
        }
    }
    if let Some(k) = &r.known_failure {
        let issue = k
            .issue
            .as_deref()
            .map(|i| format!(" ({i})"))
            .unwrap_or_default();
        let _ = writeln!(out, "       known failure: {}{issue}", k.reason);
    }
    out.trim_end().to_owned()
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    profile: Profile,
    requirements: &'a [String],
    file: &'a str,
    outcome: Outcome,
    #[serde(flatten)]
    verdict: &'a Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    known_failure: Option<&'a crate::expectations::KnownFailure>,
}

#[derive(Serialize)]
struct JsonRequirement<'a> {
    id: &'a str,
    profile: Profile,
    /// Cases in which a difference was attributed to this requirement.
    violated: usize,
    #[serde(flatten)]
    summary: Summary,
}

/// Which runner, protocol, spec and corpus a report comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// The runner's version (this package).
    pub runner: &'static str,
    /// The adapter protocol version the runner speaks.
    pub protocol: u32,
    /// The version of each profile's compiled-in spec, by profile name. The
    /// built-in corpus goes with the spec of the same commit (section 20
    /// of each spec).
    pub spec: BTreeMap<String, String>,
    /// The corpus: `built-in` for the corpus built into this runner (the
    /// one of its source tree, which goes with the specs above), else the
    /// directory given with `--fixtures`.
    pub corpus: String,
}

impl Versions {
    /// The versions of this runner, with the corpus read from `fixtures`
    /// (`None`: the built-in corpus).
    pub fn of_run(fixtures: Option<&std::path::Path>) -> Versions {
        let corpus = match fixtures {
            None => "built-in".to_owned(),
            Some(dir) => dir.display().to_string(),
        };
        Versions {
            runner: env!("CARGO_PKG_VERSION"),
            protocol: moin_session_spec::protocol::PROTOCOL_VERSION,
            spec: Profile::ALL
                .iter()
                .filter_map(|p| {
                    Requirements::spec_version(*p).map(|v| (p.to_string(), v.to_owned()))
                })
                .collect(),
            corpus,
        }
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    versions: &'a Versions,
    backend: &'a str,
    summary: Summary,
    /// The violated clauses, most cases first.
    violated: Vec<JsonViolation>,
    cases: Vec<JsonCase<'a>>,
    requirements: Vec<JsonRequirement<'a>>,
}

/// The profiles of `results` none of whose cases was checked (every one
/// skipped or errored): a run that checks nothing of a profile must not
/// pass. A case about a rejected configuration checks the configuration
/// loader, not the backend (it runs no step), so it does not count.
pub fn unchecked_profiles(results: &[CaseResult]) -> Vec<Profile> {
    let mut by: BTreeMap<Profile, Summary> = BTreeMap::new();
    for r in results {
        let summary = by.entry(r.profile).or_default();
        if !r.steps.is_empty() {
            summary.add(Outcome::of(r));
        }
    }
    by.into_iter()
        .filter(|(_, s)| s.checked() == 0)
        .map(|(p, _)| p)
        .collect()
}

#[derive(Serialize)]
struct JsonViolation {
    id: String,
    cases: Vec<String>,
}

/// The JSON report: one object with `summary`, `cases` and `requirements`.
pub fn json(
    results: &[CaseResult],
    requirements: &Requirements,
    backend: &str,
    versions: &Versions,
) -> String {
    let per_req = by_requirement(results);
    let viol = violations(results);
    let report = JsonReport {
        versions,
        backend,
        summary: Summary::of(results),
        violated: violated_first(results)
            .into_iter()
            .map(|(id, cases)| JsonViolation {
                id,
                cases: cases.iter().map(|r| r.id.clone()).collect(),
            })
            .collect(),
        cases: results
            .iter()
            .map(|r| JsonCase {
                id: &r.id,
                profile: r.profile,
                requirements: &r.covers,
                file: &r.file,
                outcome: Outcome::of(r),
                verdict: &r.verdict,
                known_failure: r.known_failure.as_ref(),
            })
            .collect(),
        requirements: requirements
            .iter()
            .filter_map(|req| {
                per_req.get(&req.id).map(|s| JsonRequirement {
                    id: &req.id,
                    profile: req.profile,
                    violated: viol.get(&req.id).map_or(0, Vec::len),
                    summary: *s,
                })
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).expect("the report serialises")
}

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
/// case; failures carry the expected vs observed differences.
pub fn junit(results: &[CaseResult], backend: &str) -> String {
    let mut profiles: Vec<Profile> = results.iter().map(|r| r.profile).collect();
    profiles.sort();
    profiles.dedup();
    let total = Summary::of(results);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"moin-session-conformance: {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        xml_escape(backend),
        results.len(),
        total.failed + total.unexpected_passes,
        total.errored,
        total.skipped + total.expected_failures
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
            let reqs = format!("requirements: {}", r.blamed.join(", "));
            match (Outcome::of(r), &r.verdict) {
                (Outcome::Passed, _) => {
                    let _ = writeln!(out, "/>");
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
                    let _ = writeln!(
                        out,
                        "      <error message=\"step {step}: {}\">{}</error>",
                        xml_escape(&first),
                        xml_escape(&format!("step {step}; {reqs}\n{message}"))
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    let _ = writeln!(out, "</testsuites>");
    out
}

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
