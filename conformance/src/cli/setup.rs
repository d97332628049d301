//! What several subcommands do first: start the backend, load the corpus,
//! pick the profiles, and explain an empty selection.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_conformance::backends::StartOptions;
use moin_session_conformance::report::inert::visible_lines;
use moin_session_conformance::{load, load_builtin};
use moin_session_spec::fixture::Corpus;
use moin_session_spec::requirements::Requirements;
use moin_session_spec::{Backend, BackendInfo, Profile};

use super::args::BackendArgs;

/// Starts the backend the arguments name; a failure is the exit code.
pub(crate) fn start_backend(args: &BackendArgs) -> Result<Box<dyn Backend>, ExitCode> {
    let Some(command) = &args.adapter else {
        let options = StartOptions {
            clear_existing: args.clear_existing_store,
        };
        return args.backend.start_with(options).map_err(|e| {
            eprintln!("error: --backend: {e}");
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
            eprintln!("error: the adapter `{command}` did not start: {e}");
            eprintln!("no case was run; try the command by hand, or see `moin-session-conformance check --help` on --adapter");
            Err(ExitCode::from(2))
        }
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
            eprintln!("error: {}", visible_lines(&e.to_string()));
        }
        eprintln!("{} fixture error(s); no case was run", errors.len());
        ExitCode::from(2)
    })
}

/// The profiles to run: those asked for, each of which the backend must
/// implement, or else every profile it implements
/// (`r[proto.handshake.profiles]`).
pub(crate) fn select_profiles(
    asked: Vec<Profile>,
    info: &BackendInfo,
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
    eprintln!(
        "error: the backend implements {}; --profile {} selects a profile it does not implement",
        if declared.is_empty() {
            "no profile".to_owned()
        } else {
            declared.join(", ")
        },
        unimplemented.join(", ")
    );
    Err(ExitCode::from(2))
}

/// Why a selection is empty, and what to try instead.
pub(crate) fn no_match_hint(
    case: Option<&str>,
    requirement: Option<&str>,
    corpus: &Corpus,
) -> String {
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
