//! The command-line tool, one file per subcommand; the logic lives in the
//! library, where tests reach it.
//!
//! - [`args`]: the subcommands, their options and parsers;
//! - [`output`]: standard output and the progress bar;
//! - [`setup`]: what subcommands share (start the backend, load the
//!   corpus, pick the profiles);
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

use std::process::ExitCode;

use moin_session_conformance::random::RandomOptions;

use args::{CheckArgs, Cli, Command};

/// Runs the subcommand `cli` names.
pub(crate) fn run(cli: Cli) -> ExitCode {
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
