//! The JSON report, for scripts, with the versions of everything that
//! made the verdict.

use std::collections::BTreeMap;

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;
use serde::Serialize;

use super::summary::{
    by_requirement, deviation_rows, violated_first, violations, DeviationRow, Outcome, Summary,
};
use crate::run::expectations::Deviation;
use crate::run::runner::{CaseResult, DeviatedStep, Verdict};

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
    known_failure: Option<&'a crate::run::expectations::KnownFailure>,
    /// The steps that differed only on declared deviations.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    deviations: &'a [DeviatedStep],
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
    /// One row per declared deviation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deviations: Vec<DeviationRow>,
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

/// The JSON report: one object with `summary`, `violated`, `deviations`
/// (one row per declared deviation), `cases` and `requirements`.
pub fn json(
    results: &[CaseResult],
    requirements: &Requirements,
    backend: &str,
    versions: &Versions,
    deviations: &[Deviation],
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
        deviations: deviation_rows(results, deviations),
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
                deviations: &r.deviations,
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
