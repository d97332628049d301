//! Reports: per requirement and per case, as text for people and JSON for CI.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;
use serde::Serialize;

use crate::runner::{CaseResult, Verdict};

/// Counts of case verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases the backend could not run.
    pub errored: usize,
    /// Cases skipped (never counted as passed).
    pub skipped: usize,
}

impl Summary {
    /// Counts the verdicts of `results`.
    pub fn of(results: &[CaseResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            s.add(&r.verdict);
        }
        s
    }

    fn add(&mut self, v: &Verdict) {
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail { .. } => self.failed += 1,
            Verdict::Errored { .. } => self.errored += 1,
            Verdict::Skipped { .. } => self.skipped += 1,
        }
    }

    /// Whether the run is a success: nothing failed or errored.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.errored == 0
    }

    fn status(&self) -> &'static str {
        if self.failed > 0 {
            "FAIL"
        } else if self.errored > 0 {
            "ERROR"
        } else if self.passed == 0 {
            "SKIP"
        } else {
            "PASS"
        }
    }
}

/// The verdicts of the cases covering each requirement.
pub fn by_requirement(results: &[CaseResult]) -> BTreeMap<String, Summary> {
    let mut map: BTreeMap<String, Summary> = BTreeMap::new();
    for r in results {
        for req in &r.covers {
            map.entry(req.clone()).or_default().add(&r.verdict);
        }
    }
    map
}

/// The human report: per requirement of each profile run, then every
/// failure with case, step, requirements and differences, then totals.
pub fn text(results: &[CaseResult], requirements: &Requirements, profiles: &[Profile]) -> String {
    let per_req = by_requirement(results);
    let mut out = String::new();
    for profile in profiles {
        let reqs = requirements.of_profile(*profile);
        let _ = writeln!(out, "{profile}: {} requirements", reqs.len());
        let width = reqs.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for req in reqs {
            match per_req.get(&req.id) {
                Some(s) => {
                    let detail = match (s.failed, s.errored, s.skipped) {
                        (0, 0, 0) => format!("{} case(s)", s.passed),
                        _ => format!(
                            "{} passed, {} failed, {} errored, {} skipped",
                            s.passed, s.failed, s.errored, s.skipped
                        ),
                    };
                    let _ = writeln!(out, "  {:<5} {:<width$}  {detail}", s.status(), req.id);
                }
                None => {
                    let _ = writeln!(out, "  {:<5} {:<width$}  no case selected", "-", req.id);
                }
            }
        }
    }
    let problems: Vec<&CaseResult> = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass))
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "\nnot passed:");
        for r in problems {
            let _ = writeln!(out, "{}", failure(r));
        }
    }
    let s = Summary::of(results);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} errored, {} skipped",
        s.passed, s.failed, s.errored, s.skipped
    );
    out
}

/// One case's failure, naming case, file, step, requirements and the
/// expected vs observed differences.
pub fn failure(r: &CaseResult) -> String {
    let mut out = String::new();
    let reqs = r.blamed.join(", ");
    match &r.verdict {
        Verdict::Pass => {}
        Verdict::Fail { step, differences } => {
            let _ = writeln!(
                out,
                "  FAIL case {} ({}), step {step}; requirements: {reqs}",
                r.id, r.file
            );
            for d in differences {
                let _ = writeln!(out, "       {d}");
            }
        }
        Verdict::Errored { step, message } => {
            let _ = writeln!(
                out,
                "  ERROR case {} ({}), step {step}; requirements: {reqs}",
                r.id, r.file
            );
            let _ = writeln!(out, "       {message}");
        }
        Verdict::Skipped { reason } => {
            let _ = writeln!(out, "  SKIP case {} ({}): {reason}", r.id, r.file);
        }
    }
    out.trim_end().to_owned()
}

#[derive(Serialize)]
struct JsonCase<'a> {
    id: &'a str,
    profile: Profile,
    requirements: &'a [String],
    file: &'a str,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

#[derive(Serialize)]
struct JsonRequirement<'a> {
    id: &'a str,
    profile: Profile,
    #[serde(flatten)]
    summary: Summary,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    backend: &'a str,
    summary: Summary,
    cases: Vec<JsonCase<'a>>,
    requirements: Vec<JsonRequirement<'a>>,
}

/// The JSON report: one object with `summary`, `cases` and `requirements`.
pub fn json(results: &[CaseResult], requirements: &Requirements, backend: &str) -> String {
    let per_req = by_requirement(results);
    let report = JsonReport {
        backend,
        summary: Summary::of(results),
        cases: results
            .iter()
            .map(|r| JsonCase {
                id: &r.id,
                profile: r.profile,
                requirements: &r.covers,
                file: &r.file,
                verdict: &r.verdict,
            })
            .collect(),
        requirements: requirements
            .iter()
            .filter_map(|req| {
                per_req.get(&req.id).map(|s| JsonRequirement {
                    id: &req.id,
                    profile: req.profile,
                    summary: *s,
                })
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).expect("the report serialises")
}
