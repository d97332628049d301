//! The command-line tool, one file per subcommand; the logic lives in the
//! library, where tests reach it.
//!
//! - [`args`]: the subcommands, their options and parsers;
//! - [`output`]: standard output and the progress bar;
//! - [`setup`]: what subcommands share (start the backend, load the
//!   corpus, pick the profiles);
//! - [`usage`]: options given where they do not apply (usage errors);
//! - [`check`], [`random`], [`list`], [`explain`], [`proof`] (`self-test`
//!   and `check --soak`): the subcommands.

pub(crate) mod args;
mod check;
mod explain;
mod list;
pub(crate) mod output;
mod proof;
mod random;
mod setup;
mod usage;

use std::process::ExitCode;

use clap::ArgMatches;
use moin_session_conformance::random::RandomOptions;

use args::{CheckArgs, Cli, Command};

/// Runs the subcommand `cli` names; `matches` (the same command line)
/// tells an option given from its default.
pub(crate) fn run(cli: Cli, matches: &ArgMatches) -> ExitCode {
    let (name, sub) = matches
        .subcommand()
        .expect("clap requires a subcommand before `run`");
    let applies = match &cli.command {
        Command::SelfTest { options, .. } => usage::self_test(sub, options.random),
        Command::Check(args) => usage::check(sub, args),
        Command::Explain { backend, .. } => usage::backend_options(sub, backend, "explain"),
        Command::Requirements { .. } => Ok(()),
    };
    if let Err(message) = applies {
        output::error(&message);
        output::note(format!("see `moin-session-conformance {name} --help`"));
        return ExitCode::from(2);
    }
    match cli.command {
        Command::SelfTest { format, options } => {
            proof::self_test(options.fixtures.clone(), format, options.options())
        }
        Command::Check(args) => check_mode(args),
        Command::Explain {
            id,
            fixtures,
            backend,
        } => explain::explain(&id, fixtures, &backend),
        Command::Requirements { fixtures, profile } => list::requirements(fixtures, profile),
    }
}

/// `check` in its four modes: a soak, random traces, a listing, or the
/// corpus.
fn check_mode(args: CheckArgs) -> ExitCode {
    if let Some(duration) = args.soak {
        return proof::soak(args.profile, args.backend, duration);
    }
    if let Some(count) = args.random {
        let deviations = match random::declared_deviations(args.expectations.as_deref()) {
            Ok(d) => d,
            Err(code) => return code,
        };
        let options = RandomOptions {
            count: count as usize,
            seed: args.seed,
            stop: args.stop_rules(),
            save: args.save_failures,
            deviations,
        };
        return random::random(args.profile, args.backend, args.format, options);
    }
    if args.list {
        return list::list_cases(args.fixtures, args.profile, args.case, args.requirement);
    }
    check::check(args)
}
