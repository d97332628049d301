//! `check --list` and `requirements`: what the corpus and the spec hold,
//! without running anything.

use std::path::PathBuf;
use std::process::ExitCode;

use moin_session_conformance::report::inert::visible;
use moin_session_conformance::Selection;
use moin_session_spec::Profile;

use super::output::outln;
use super::setup::{load_or_report, select_cases};

/// `check --list`: the selected cases, one a line.
pub(crate) fn list_cases(
    fixtures: Option<PathBuf>,
    profile: Vec<Profile>,
    case: Option<String>,
    requirement: Option<String>,
) -> ExitCode {
    let (corpus, _) = match load_or_report(fixtures) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let selection = Selection {
        profiles: profile,
        case,
        requirement,
    };
    let cases = match select_cases(&selection, &corpus) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Ids and titles come from fixture files: shown, never obeyed.
    let width = cases
        .iter()
        .map(|c| visible(&c.case.id).chars().count())
        .max()
        .unwrap_or(0);
    for c in &cases {
        outln!(
            "{:<width$}  {}  {}",
            visible(&c.case.id),
            c.case.profile,
            visible(&c.case.title)
        );
    }
    ExitCode::SUCCESS
}

/// `requirements`: each requirement ID of the spec (of one profile, or
/// all), with how many cases cover it and where its text is.
pub(crate) fn requirements(fixtures: Option<PathBuf>, profile: Option<Profile>) -> ExitCode {
    let (corpus, requirements) = match load_or_report(fixtures) {
        Ok(x) => x,
        Err(code) => return code,
    };
    for req in requirements
        .iter()
        .filter(|r| profile.is_none_or(|p| r.profile == p))
    {
        let n = corpus
            .cases
            .iter()
            .filter(|c| c.case.covers.contains(&req.id))
            .count();
        outln!(
            "{:<48} {:>3} case(s)  {}:{}  {}",
            req.id,
            n,
            req.file,
            req.line,
            req.summary()
        );
    }
    ExitCode::SUCCESS
}
