//! The `self-test` and `check --soak` commands of the CLI binary (a module
//! of the binary, not of the library: the logic lives in
//! `moin_session_conformance::{selftest, soak}`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use moin_session_conformance::proof::selftest::{self, SelfTestOptions};
use moin_session_conformance::proof::soak as soak_lib;
use moin_session_spec::{BackendError, Profile};

use moin_session_conformance::lifecycle;

use super::args::{BackendArgs, ProofFormat, NOTHING_CHECKED};
use super::output::{self, emit, emit_text};
use super::setup::{backend_label, load_or_report, start_selected};

/// `check --soak DURATION`: exit status 0 when every session survived and
/// the backend shut down cleanly; 1 when not, or when the backend failed
/// (the error names it, the profile's soak and the step); 3 when no
/// selected profile can be soaked; `128 + signal` when interrupted.
pub(crate) fn soak(
    profile: Vec<Profile>,
    backend_args: BackendArgs,
    duration: Duration,
) -> ExitCode {
    let asked_hardened = profile.contains(&Profile::Hardened);
    let (mut backend, info, profiles) = match start_selected(&backend_args, profile) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let label = backend_label(&backend_args, &info);
    if profiles.iter().all(|p| *p == Profile::Hardened) {
        let _ = backend.end_run();
        output::error(format_args!(
            "nothing was checked: check --soak of {label} holds anonymous sessions, and the hardened profile has none; soak moin-1.9 or moin-1.6"
        ));
        return ExitCode::from(NOTHING_CHECKED);
    }
    if asked_hardened {
        output::note(
            "the hardened profile has no anonymous sessions to hold, and is not soaked; the others are",
        );
    }
    let tty = std::io::stderr().is_terminal();
    let run = soak_lib::run_report(backend.as_mut(), &profiles, duration, &info.name, tty);
    // r[proto.command.shutdown]: judged here as in every mode.
    let finished = backend.end_run();
    drop(backend);
    soak_verdict(run, finished, &label)
}

/// Prints a soak's report and errors; its exit status.
fn soak_verdict(
    run: Result<(String, bool), String>,
    finished: Result<(), BackendError>,
    label: &str,
) -> ExitCode {
    if let Some(signal) = lifecycle::interrupted() {
        if let Ok((text, _)) = &run {
            emit_text(text);
        }
        output::error(format_args!(
            "check --soak of {label} was interrupted by {}",
            lifecycle::signal_name(signal)
        ));
        return ExitCode::from(lifecycle::interrupted_status(signal));
    }
    let ok = match &run {
        Ok((text, ok)) => {
            emit_text(text);
            *ok
        }
        Err(e) => {
            output::error(format_args!("check --soak of {label}: {e}"));
            false
        }
    };
    if let Err(e) = &finished {
        output::error(format_args!("{label}: at shutdown: {e}"));
    }
    ExitCode::from(u8::from(!ok || finished.is_err()))
}

pub(crate) fn self_test(
    fixtures: Option<PathBuf>,
    format: ProofFormat,
    options: SelfTestOptions,
) -> ExitCode {
    let corpus = match load_or_report(fixtures) {
        Ok((corpus, _)) => corpus,
        Err(code) => return code,
    };
    let tty = std::io::stderr().is_terminal();
    let (text, ok) = selftest::run_report(&corpus, &options, format == ProofFormat::Json, tty);
    done(&text, ok)
}

/// Prints a report; exit status 0 when `ok`, else 1.
fn done(text: &str, ok: bool) -> ExitCode {
    emit(text);
    ExitCode::from(u8::from(!ok))
}
