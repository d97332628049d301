//! Options that do not apply to what a command does: each one given is a
//! usage error (exit 2) that names the option, the mode and why, never
//! silently ignored.
//!
//! Pairs that can never go together are clap's conflicts (`--soak` with
//! `--format`, `--list` with `--adapter`, ...; clap names both options);
//! what depends on another option's value is judged here, after parsing:
//! a step timeout only for an adapter, `--clear-existing-store` only for a
//! database file, `--seed` only with random traces.

use clap::parser::ValueSource;
use clap::ArgMatches;
use moin_session_conformance::backends::BackendChoice;

use super::args::{BackendArgs, CheckArgs, Format};

/// Whether the user gave option `id` on the command line (not its
/// default).
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

/// The mode of a `check`, as its usage errors name it.
pub(crate) fn check_mode(args: &CheckArgs) -> &'static str {
    if args.soak.is_some() {
        "check --soak"
    } else if args.random.is_some() {
        "check --random"
    } else if args.list {
        "check --list"
    } else {
        "check (the corpus)"
    }
}

/// The options of `check` that do not apply to its mode, as the usage
/// error of the first.
pub(crate) fn check(matches: &ArgMatches, args: &CheckArgs) -> Result<(), String> {
    let mode = check_mode(args);
    backend_options(matches, &args.backend, mode)?;
    if given(matches, "jobs") && args.backend.adapter.is_none() {
        return Err(format!(
            "--jobs does not apply to {mode} over the built-in backend {}: it runs in this \
             process; --jobs starts more adapter processes (--adapter)",
            backend_name(&args.backend.backend)
        ));
    }
    if given(matches, "stop_after_timeouts") && args.backend.adapter.is_none() {
        return Err(format!(
            "--stop-after-timeouts does not apply to {mode} over the built-in backend {}: \
             only an adapter (--adapter) has a step timeout",
            backend_name(&args.backend.backend)
        ));
    }
    if args.random.is_none() {
        for (id, option, why) in [
            ("seed", "--seed", "it seeds the random traces"),
            (
                "save_failures",
                "--save-failures",
                "it saves the minimal case of each group of diverging random traces",
            ),
        ] {
            if given(matches, id) {
                return Err(format!(
                    "{option} does not apply to {mode}: {why}, and only check --random runs them"
                ));
            }
        }
    } else if !matches!(args.format, Format::Text | Format::Json) {
        return Err(format!(
            "--format {} does not apply to check --random, which reports as text or json",
            format_name(args.format)
        ));
    }
    Ok(())
}

/// The backend options that do not apply to the backend chosen (`mode`
/// names the command), as the usage error of the first.
pub(crate) fn backend_options(
    matches: &ArgMatches,
    args: &BackendArgs,
    mode: &str,
) -> Result<(), String> {
    if given(matches, "step_timeout") && args.adapter.is_none() {
        return Err(format!(
            "--step-timeout does not apply to {mode} over the built-in backend {}: it answers \
             in this process; only an adapter (--adapter) has a step timeout",
            backend_name(&args.backend)
        ));
    }
    let database_file = matches!(args.backend, BackendChoice::ReferenceSqlite(Some(_)));
    if args.clear_existing_store && !database_file {
        return Err(format!(
            "--clear-existing-store does not apply to {mode} over --backend {}: it lets \
             reference-sqlite:PATH empty an existing database file, and this backend has none{}",
            backend_name(&args.backend),
            if args.backend == BackendChoice::ReferenceSqlite(None) {
                " (without PATH, the database is a temporary one of its own)"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// `self-test`: `--seed` only when random traces run.
pub(crate) fn self_test(matches: &ArgMatches, random: u32) -> Result<(), String> {
    if random == 0 && given(matches, "seed") {
        return Err(
            "--seed does not apply to self-test --random 0: it seeds the random traces, and \
             --random 0 runs none"
                .to_owned(),
        );
    }
    Ok(())
}

/// The name of a built-in backend, as `--backend` takes it.
fn backend_name(choice: &BackendChoice) -> String {
    choice.to_string()
}

/// The name `--format` takes for `format`.
fn format_name(format: Format) -> String {
    use clap::ValueEnum;
    format
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}
