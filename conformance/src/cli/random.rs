//! `check --random N`: random traces against a backend.

use std::process::ExitCode;

use std::path::Path;

use moin_session_conformance::lifecycle;
use moin_session_conformance::random::{run as random_run, RandomOptions};
use moin_session_conformance::report::inert::visible;
use moin_session_conformance::run::expectations::Deviation;
use moin_session_conformance::run::stop::Stopped;
use moin_session_spec::Profile;

use super::args::{BackendArgs, Format, NOTHING_CHECKED};
use super::output::{self, emit_text, outln, progress_bar};
use super::setup::{backend_label, load_expectations, load_or_report, start_selected};

/// The deviations of an expectations file for a random run, each checked
/// (a clause of the spec, once, with a reason); its known failures name
/// corpus cases, which random traces are not, and are only noted.
pub(crate) fn declared_deviations(file: Option<&Path>) -> Result<Vec<Deviation>, ExitCode> {
    let Some(file) = file else {
        return Ok(Vec::new());
    };
    let (corpus, requirements) = load_or_report(None)?;
    let expectations = load_expectations(file, &corpus, &requirements)?;
    if !expectations.known_failures.is_empty() {
        output::note(format_args!(
            "the {} known failure(s) of {} name corpus cases and do not apply to random traces; its deviations do",
            expectations.known_failures.len(),
            file.display()
        ));
    }
    Ok(expectations.deviations)
}

/// `check --random N`: random traces against the backend, compared with
/// the model step by step.
pub(crate) fn random(
    profile: Vec<Profile>,
    backend_args: BackendArgs,
    format: Format,
    options: RandomOptions,
) -> ExitCode {
    // The format is text or json: others are usage errors (usage.rs).
    if let Some(dir) = &options.save {
        if let Err(e) = moin_session_conformance::random::run::check_save_dir(dir) {
            output::error(e);
            return ExitCode::from(2);
        }
    }
    let (mut backend, info, profiles) = match start_selected(&backend_args, profile) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let label = backend_label(&backend_args, &info);
    let bar = progress_bar(0, "random traces");
    let outcome = moin_session_conformance::random::run_random(
        backend.as_mut(),
        &profiles,
        &options,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    );
    bar.finish_and_clear();
    let finished = backend.end_run();
    drop(backend);
    let run = match outcome {
        Ok(x) => x,
        Err(e) => {
            output::error(e);
            return ExitCode::from(2);
        }
    };
    if format == Format::Json {
        let v = random_run::json(&run, &info.name, &profiles, options.seed);
        outln!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
    } else {
        emit_text(&random_run::text(
            &run,
            &visible(&info.name),
            &profiles,
            options.seed,
        ));
    }
    if let Some(why) = &run.stopped {
        output::error(format_args!(
            "check --random of {label} stopped early: {why}; {} trace(s) not run",
            run.not_reached
        ));
        if let Stopped::Interrupted(signal) = why {
            return ExitCode::from(lifecycle::interrupted_status(*signal));
        }
    }
    let unchecked = run.unchecked_profiles();
    for p in &unchecked {
        output::error(format_args!("nothing was checked: no random trace of {p} ran to a verdict on {label} (each was skipped, errored or not run)"));
    }
    if let Err(e) = &finished {
        output::error(format_args!("{label}: at shutdown: {e}"));
    }
    let total = run.total();
    if total.diverged + total.errored > 0 || finished.is_err() {
        ExitCode::from(1)
    } else if !unchecked.is_empty() {
        ExitCode::from(NOTHING_CHECKED)
    } else if run.ok() {
        ExitCode::SUCCESS
    } else {
        // Skipped traces: not agreeing, though something was checked.
        ExitCode::from(1)
    }
}
