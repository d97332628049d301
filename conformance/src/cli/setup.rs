//! What several subcommands do first: start the backend, load the corpus,
//! pick the profiles, and explain an empty selection.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_conformance::backends::StartOptions;
use moin_session_conformance::run::expectations::Expectations;
use moin_session_conformance::{load, load_builtin, Selection};
use moin_session_spec::fixture::{Corpus, LoadedCase};
use moin_session_spec::requirements::Requirements;
use moin_session_spec::{Backend, BackendInfo, Profile};

use moin_session_conformance::report::inert::visible;

use super::args::BackendArgs;
use super::output;

/// Starts the backend the arguments name; a failure is the exit code.
pub(crate) fn start_backend(args: &BackendArgs) -> Result<Box<dyn Backend>, ExitCode> {
    let Some(command) = &args.adapter else {
        let options = StartOptions {
            clear_existing: args.clear_existing_store,
        };
        return args.backend.start_with(options).map_err(|e| {
            output::error(format_args!("--backend: {e}"));
            ExitCode::from(2)
        });
    };
    let options = AdapterOptions {
        command: command.clone(),
        step_timeout: Duration::from_secs_f64(args.step_timeout),
    };
    // An adapter that cannot start and shake hands is one error, not an
    // ERROR per case: nothing could be checked.
    match AdapterBackend::start(options) {
        Ok(backend) => Ok(Box::new(backend)),
        Err(e) => {
            output::error(format_args!("the adapter `{command}` did not start: {e}"));
            output::note("no case was run; try the command by hand, or see `moin-session-conformance check --help` on --adapter");
            Err(ExitCode::from(2))
        }
    }
}

/// The expectations file `file`, checked against the corpus and the
/// spec; each error names the file; a failure is the exit code.
pub(crate) fn load_expectations(
    file: &Path,
    corpus: &Corpus,
    requirements: &Requirements,
) -> Result<Expectations, ExitCode> {
    // Load errors name the file, line and column themselves.
    let expectations = Expectations::load(file).map_err(|e| {
        output::error(e);
        ExitCode::from(2)
    })?;
    if let Err(errors) = expectations.check(corpus, requirements) {
        // Each error names the file and the entry.
        for error in errors {
            output::error(error);
        }
        return Err(ExitCode::from(2));
    }
    Ok(expectations)
}

/// A started backend, what it says of itself, and the profiles to run on it.
pub(crate) type Started = (Box<dyn Backend>, BackendInfo, Vec<Profile>);

/// Starts the backend the arguments name and picks the profiles to run
/// ([`select_profiles`]); a failure is the exit code.
pub(crate) fn start_selected(args: &BackendArgs, asked: Vec<Profile>) -> Result<Started, ExitCode> {
    let backend = start_backend(args)?;
    let info = backend.info();
    let profiles = select_profiles(asked, &info, &backend_label(args, &info))?;
    Ok((backend, info, profiles))
}

/// The backend as messages name it: `adapter "NAME" (`COMMAND`)`, or the
/// built-in one as `--backend` takes it (`reference-sqlite:PATH`). The
/// adapter's name is its own text, shown inert.
pub(crate) fn backend_label(args: &BackendArgs, info: &BackendInfo) -> String {
    match &args.adapter {
        Some(command) => format!("adapter \"{}\" (`{command}`)", visible(&info.name)),
        None => args.backend.to_string(),
    }
}

/// The corpus of `--fixtures DIR`, or the one built into the runner.
pub(crate) fn load_or_report(
    fixtures: Option<PathBuf>,
) -> Result<(Corpus, Requirements), ExitCode> {
    let loaded = match &fixtures {
        Some(dir) => load(dir),
        None => load_builtin(),
    };
    loaded.map_err(|errors| {
        for e in &errors {
            // File names and values from the files: shown, never obeyed.
            output::error(e);
        }
        output::note(format_args!(
            "{} fixture error(s); no case was run",
            errors.len()
        ));
        ExitCode::from(2)
    })
}

/// The profiles to run: those asked for, each of which the backend must
/// implement, or else every profile it implements
/// (`r[proto.handshake.profiles]`).
fn select_profiles(
    asked: Vec<Profile>,
    info: &BackendInfo,
    label: &str,
) -> Result<Vec<Profile>, ExitCode> {
    if asked.is_empty() {
        return Ok(info.profiles.clone());
    }
    let unimplemented: Vec<&str> = asked
        .iter()
        .filter(|p| !info.profiles.contains(p))
        .map(|p| p.name())
        .collect();
    if unimplemented.is_empty() {
        return Ok(asked);
    }
    let declared: Vec<&str> = info.profiles.iter().map(|p| p.name()).collect();
    output::error(format_args!(
        "{label} implements {}; --profile {} selects a profile it does not implement",
        if declared.is_empty() {
            "no profile".to_owned()
        } else {
            declared.join(", ")
        },
        unimplemented.join(", ")
    ));
    Err(ExitCode::from(2))
}

/// The cases `selection` picks from `corpus`; none is a usage error that
/// says why and what to try instead.
pub(crate) fn select_cases<'c>(
    selection: &Selection,
    corpus: &'c Corpus,
) -> Result<Vec<&'c LoadedCase>, ExitCode> {
    let cases = selection.apply(corpus);
    if cases.is_empty() {
        output::error(no_match_hint(
            selection.case.as_deref(),
            selection.requirement.as_deref(),
            corpus,
        ));
        return Err(ExitCode::from(2));
    }
    Ok(cases)
}

/// Why a selection is empty, and what to try instead.
fn no_match_hint(case: Option<&str>, requirement: Option<&str>, corpus: &Corpus) -> String {
    let Some(pattern) = case else {
        return match requirement {
            Some(r) => format!("no case of the selected profiles covers --requirement {r}"),
            None => "no case matches the selection".to_owned(),
        };
    };
    let mut message = format!("--case {pattern:?} matches no case");
    if !pattern.contains('*') {
        message.push_str(&format!(
            "; a dotted prefix matches whole words (\"m19.persist\" matches m19.persist.*); for part of a word use \"{pattern}*\""
        ));
        let partial = corpus
            .cases
            .iter()
            .filter(|c| c.case.id.starts_with(pattern))
            .count();
        if partial > 0 {
            message.push_str(&format!(" ({partial} case id(s) start with it)"));
        }
    }
    if moin_session_spec::requirements::Requirements::builtin()
        .get(pattern)
        .is_some()
    {
        message.push_str("; this is a requirement ID: use --requirement");
    } else if let Some(near) = case_suggestion(pattern, corpus) {
        message.push_str(&format!("; did you mean {near}?"));
    }
    message
}

/// The case id, or dotted prefix of case ids (`m19.load`), closest to a
/// mistyped one.
pub(crate) fn case_suggestion<'c>(word: &str, corpus: &'c Corpus) -> Option<&'c str> {
    let mut candidates: Vec<&str> = Vec::new();
    for c in &corpus.cases {
        let id = c.case.id.as_str();
        candidates.push(id);
        let mut dots = id.match_indices('.').map(|(i, _)| i);
        if let (Some(_), Some(second)) = (dots.next(), dots.next()) {
            candidates.push(&id[..second]);
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    moin_session_spec::corpus::nearest(word, candidates)
}
