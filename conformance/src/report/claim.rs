//! The conformance claim a run supports (`spec/moin-1.9.md` section 20,
//! "Conformance claims"): per profile, the version of its spec, what
//! passed, the declared deviations, every reason cases were skipped, and
//! the clauses whose every case was skipped, which the claim leaves out.

use std::collections::{BTreeMap, BTreeSet};

use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

use super::summary::{skip_groups, Outcome, Summary};
use crate::run::runner::{CaseResult, Verdict};

/// The lines of the claim, one block per profile that had cases in the
/// run. A profile with a failed or errored case supports no claim, and
/// the block says so.
///
/// ```
/// use moin_session_conformance::report::claim_lines;
/// use moin_session_spec::Profile;
/// assert!(claim_lines(&[], &[Profile::Moin19]).is_empty());
/// ```
pub fn claim_lines(results: &[CaseResult], profiles: &[Profile]) -> Vec<String> {
    let mut out = Vec::new();
    for profile in profiles {
        let of_profile: Vec<&CaseResult> =
            results.iter().filter(|r| r.profile == *profile).collect();
        if of_profile.is_empty() {
            continue;
        }
        let version = Requirements::spec_version(*profile).unwrap_or("(unversioned)");
        let mut s = Summary::default();
        for r in &of_profile {
            s.add(Outcome::of(r));
        }
        let known = s.expected_failures + s.unexpected_passes;
        if s.failed + s.errored + known > 0 {
            out.push(format!(
                "no conformance claim for {profile} {version}: {} failed, {} errored, {known} listed as known failures",
                s.failed, s.errored
            ));
            continue;
        }
        out.push(format!(
            "conformance claim: {profile} {version}, {} case(s) passed, checked with moin-session-conformance {}",
            s.passed,
            env!("CARGO_PKG_VERSION")
        ));
        let deviated = deviated_clauses(&of_profile);
        if !deviated.is_empty() {
            out.push(format!(
                "  except the declared deviations ({} case(s) deviate): {}",
                s.deviated,
                deviated.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        for (reason, cases) in skip_groups(of_profile.iter().copied()) {
            out.push(format!("  skipped {} case(s): {reason}", cases.len()));
        }
        let left_out = unclaimed_clauses(&of_profile);
        if !left_out.is_empty() {
            out.push(format!(
                "  not claimed (every case of them skipped): {}",
                left_out.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    out
}

/// The declared clauses the run's cases deviated on.
fn deviated_clauses(results: &[&CaseResult]) -> BTreeSet<String> {
    results
        .iter()
        .flat_map(|r| r.deviated_clauses())
        .map(str::to_owned)
        .collect()
}

/// The clauses covered by some case of the run and by no case that ran.
fn unclaimed_clauses(results: &[&CaseResult]) -> BTreeSet<String> {
    let mut ran: BTreeMap<&str, bool> = BTreeMap::new();
    for r in results {
        let skipped = matches!(r.verdict, Verdict::Skipped { .. });
        for c in &r.covers {
            let entry = ran.entry(c.as_str()).or_insert(false);
            *entry |= !skipped;
        }
    }
    ran.into_iter()
        .filter(|(_, ran)| !ran)
        .map(|(c, _)| c.to_owned())
        .collect()
}
