//! What every report format counts: the outcome of each case, and per
//! requirement how many cases passed, failed or were skipped, and which
//! clauses a run violated.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::run::runner::{CaseResult, Verdict};

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
    /// Every difference fell on a declared deviation: the backend departs
    /// from those clauses on purpose and kept every other one.
    Deviates,
}

impl Outcome {
    /// The outcome of one case result.
    pub fn of(r: &CaseResult) -> Outcome {
        match (&r.verdict, r.known_failure.is_some()) {
            (Verdict::Skipped { .. }, _) => Outcome::Skipped,
            (Verdict::Pass, false) if !r.deviations.is_empty() => Outcome::Deviates,
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
    /// Cases whose every difference fell on a declared deviation.
    pub deviated: usize,
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

    pub(crate) fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Errored => self.errored += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::ExpectedFailure => self.expected_failures += 1,
            Outcome::UnexpectedPass => self.unexpected_passes += 1,
            Outcome::Deviates => self.deviated += 1,
        }
    }

    /// Whether the run is a success: something was checked (a case passed
    /// or failed), nothing failed or errored unexpectedly, and no known
    /// failure passed. A run of skips only is not a success; see also
    /// [`unchecked_profiles`].
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errored == 0 && self.unexpected_passes == 0 && self.checked() > 0
    }

    /// Cases that ran to a verdict on the backend's behaviour: passed,
    /// deviated or failed, known failures included.
    pub fn checked(&self) -> usize {
        self.passed + self.deviated + self.failed + self.expected_failures + self.unexpected_passes
    }

    /// The one-word status of a requirement row: FAIL, ERROR, XPASS, XFAIL,
    /// DEVIATES, SKIP (nothing ran) or PASS.
    pub fn status(&self) -> &'static str {
        if self.failed > 0 {
            "FAIL"
        } else if self.errored > 0 {
            "ERROR"
        } else if self.unexpected_passes > 0 {
            "XPASS"
        } else if self.expected_failures > 0 {
            "XFAIL"
        } else if self.deviated > 0 {
            "DEVIATES"
        } else if self.passed == 0 {
            "SKIP"
        } else {
            "PASS"
        }
    }

    /// The closing line: `N passed, N failed, N errored, N skipped`, with
    /// declared deviations and known failures when there are any.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} passed, {} failed, {} errored, {} skipped",
            self.passed, self.failed, self.errored, self.skipped
        );
        if self.deviated > 0 {
            s.push_str(&format!(
                ", {} deviate (declared deviations only)",
                self.deviated
            ));
        }
        if self.expected_failures + self.unexpected_passes > 0 {
            s.push_str(&format!(
                " ({} expected failure(s), {} unexpected pass(es))",
                self.expected_failures, self.unexpected_passes
            ));
        }
        s
    }
}

/// The outcomes of the cases covering each requirement. A case that
/// deviated counts as deviating for the declared clauses it deviated on,
/// and as passed for every other clause it covers: everything but the
/// declared clauses was checked, and held.
pub fn by_requirement(results: &[CaseResult]) -> BTreeMap<String, Summary> {
    let mut map: BTreeMap<String, Summary> = BTreeMap::new();
    for r in results {
        let outcome = Outcome::of(r);
        let deviated = r.deviated_clauses();
        for req in &r.covers {
            let o = match outcome {
                Outcome::Deviates if !deviated.contains(&req.as_str()) => Outcome::Passed,
                o => o,
            };
            map.entry(req.clone()).or_default().add(o);
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

/// Where in its case a verdict was reached, in every format's words:
/// `step N`, or `before the first step` (step 0: the reset or the
/// configuration failed).
pub(crate) fn at_step(step: usize) -> String {
    if step == 0 {
        "before the first step".to_owned()
    } else {
        format!("step {step}")
    }
}

/// A skip's reason without the step it happened at, so that skips for one
/// reason group together.
pub(crate) fn skip_reason(reason: &str) -> String {
    match reason.split_once(": ") {
        Some((step, rest))
            if step.starts_with("step ") && step[5..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest.to_owned()
        }
        _ => reason.to_owned(),
    }
}

/// The skipped cases grouped by [`skip_reason`], reasons in the order
/// they first came, cases in run order.
pub(crate) fn skip_groups<'a>(
    results: impl IntoIterator<Item = &'a CaseResult>,
) -> Vec<(String, Vec<&'a CaseResult>)> {
    let mut groups: Vec<(String, Vec<&CaseResult>)> = Vec::new();
    for r in results {
        let Verdict::Skipped { reason } = &r.verdict else {
            continue;
        };
        let reason = skip_reason(reason);
        match groups.iter_mut().find(|(g, _)| *g == reason) {
            Some((_, cases)) => cases.push(r),
            None => groups.push((reason, vec![r])),
        }
    }
    groups
}

/// The clauses violated, most cases first: `(clause, cases)`.
pub(crate) fn violated_first(results: &[CaseResult]) -> Vec<(String, Vec<&CaseResult>)> {
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

pub(crate) fn row_detail(s: &Summary, violated_by: &[&CaseResult]) -> String {
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
pub(crate) fn violated_lines(results: &[CaseResult]) -> Vec<String> {
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

pub(crate) fn requirement_detail(s: &Summary) -> String {
    if s.failed + s.errored + s.skipped + s.expected_failures + s.unexpected_passes + s.deviated
        == 0
    {
        format!("{} case(s)", s.passed)
    } else {
        let mut d = format!(
            "{} passed, {} failed, {} errored, {} skipped",
            s.passed, s.failed, s.errored, s.skipped
        );
        if s.deviated > 0 {
            d.push_str(&format!(", {} deviate", s.deviated));
        }
        if s.expected_failures + s.unexpected_passes > 0 {
            d.push_str(&format!(
                ", {} expected failure(s), {} unexpected pass(es)",
                s.expected_failures, s.unexpected_passes
            ));
        }
        d
    }
}

/// One row per declared deviation, as every report format shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviationRow {
    /// `DEVIATES` (differences were attributed to it), `UNUSED` (the run
    /// exercised it and never found it: the run fails) or `NOT EXERCISED`
    /// (no case covering it ran to a verdict).
    pub status: &'static str,
    /// The requirement ID.
    pub clause: String,
    /// Cases in which a difference was attributed to it.
    pub cases: usize,
    /// Why the backend departs from it.
    pub reason: String,
    /// Where it is tracked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// The configuration setting the clause is about, when the departure
    /// is really a configuration value the backend does not support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<&'static str>,
    /// The first cases that deviated on it.
    pub examples: Vec<String>,
}

impl DeviationRow {
    /// The row's detail as one line: count, reason, link, and the
    /// configuration note.
    pub fn detail(&self) -> String {
        let mut d = match self.status {
            "UNUSED" => "exercised, never found: the backend keeps this clause".to_owned(),
            "NOT EXERCISED" => "no case covering it ran".to_owned(),
            _ => format!("{} case(s)", self.cases),
        };
        d.push_str(&format!("; {}", self.reason));
        if let Some(i) = &self.issue {
            d.push_str(&format!(" ({i})"));
        }
        if let Some(c) = self.configuration {
            d.push_str(&format!(
                "; this is the configuration value `{c}`: a backend that supports only some of its values can declare them instead (capability `configurations`), and cases with other values are skipped"
            ));
        }
        d
    }
}

/// The rows of the declared `deviations` over `results`.
pub fn deviation_rows(
    results: &[CaseResult],
    deviations: &[crate::run::expectations::Deviation],
) -> Vec<DeviationRow> {
    crate::run::expectations::deviation_uses(deviations, results)
        .into_iter()
        .map(|u| DeviationRow {
            status: if !u.cases.is_empty() {
                "DEVIATES"
            } else if u.unused() {
                "UNUSED"
            } else {
                "NOT EXERCISED"
            },
            clause: u.deviation.clause.clone(),
            cases: u.cases.len(),
            reason: u.deviation.reason.clone(),
            issue: u.deviation.issue.clone(),
            configuration: crate::run::expectations::configuration_of(&u.deviation.clause),
            examples: u.cases.iter().take(3).map(|r| r.id.clone()).collect(),
        })
        .collect()
}
