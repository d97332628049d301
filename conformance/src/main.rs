//! `moin-session-conformance`: check a session backend against the corpus.
//! This file only parses the command line; `cli/` dispatches it.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod cli;

fn main() -> ExitCode {
    let mut command = cli::args::Cli::command();
    if std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
    {
        // Loading the built-in corpus to count it is only worth it here.
        command = command.version(&*Box::leak(cli::args::long_version().into_boxed_str()));
    }
    let matches = command.get_matches();
    // No adapter and no temporary store outlives the runner; an
    // interrupted run writes the report it has.
    if let Err(e) = moin_session_conformance::lifecycle::install(
        moin_session_conformance::lifecycle::OnSignal::Report,
    ) {
        eprintln!("warning: cannot handle SIGINT/SIGTERM/SIGHUP ({e}); an interrupted run may leave adapters and temporary stores behind");
    }
    match cli::args::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli::run(cli, &matches),
        Err(e) => e.exit(),
    }
}
