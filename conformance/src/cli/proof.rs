//! The `self-test` and `check --soak` commands of the CLI binary (a module
//! of the binary, not of the library: the logic lives in
//! `moin_session_conformance::{selftest, soak}`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use moin_session_conformance::proof::selftest::{self, SelfTestOptions};
use moin_session_conformance::proof::soak as soak_lib;
use moin_session_spec::Profile;

use moin_session_conformance::lifecycle;

use super::args::{BackendArgs, ProofFormat, NOTHING_CHECKED};
use super::output::{emit, emit_text};
use super::setup::{load_or_report, select_profiles, start_backend};

/// `check --soak DURATION`: exit status 0 when every session survived and
/// the backend shut down cleanly; 1 when not; 3 when no selected profile
/// can be soaked; `128 + signal` when interrupted.
pub(crate) fn soak(
    profile: Vec<Profile>,
    backend_args: BackendArgs,
    duration: Duration,
) -> ExitCode {
    let mut backend = match start_backend(&backend_args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let info = backend.info();
    let profiles = match select_profiles(profile, &info) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if profiles.iter().all(|p| *p == Profile::Hardened) {
        let _ = backend.end_run();
        eprintln!(
            "error: nothing was checked: the soak holds anonymous sessions, and the hardened profile has none; soak moin-1.9 or moin-1.6"
        );
        return ExitCode::from(NOTHING_CHECKED);
    }
    let tty = std::io::stderr().is_terminal();
    let run = soak_lib::run_report(backend.as_mut(), &profiles, duration, &info.name, tty);
    // r[proto.command.shutdown]: judged here as in every mode.
    let finished = backend.end_run();
    drop(backend);
    if let Some(signal) = lifecycle::interrupted() {
        if let Ok((text, _)) = &run {
            emit_text(text);
        }
        eprintln!(
            "error: the soak was interrupted by {}",
            lifecycle::signal_name(signal)
        );
        return ExitCode::from(lifecycle::interrupted_status(signal));
    }
    let (text, ok) = match run {
        Ok(x) => x,
        Err(e) => return fail2(format!("{}: {e}", info.name)),
    };
    emit_text(&text);
    if let Err(e) = &finished {
        eprintln!("error: {}: at shutdown: {e}", info.name);
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

/// Prints an error; exit status 2.
fn fail2(e: String) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}
