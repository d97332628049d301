//! `moin-session-conformance`: check a session backend against the corpus.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use moin_session_conformance::{
    default_fixtures_dir, load, report, run_all, runner::run_case, transcript, Selection,
};
use moin_session_spec::{Backend, Model, Profile};

/// Checks MoinMoin session backends against the moin-session-spec corpus.
///
/// Exit status: 0 when every selected case passed, 1 when a case failed or
/// errored, 2 for bad usage or a malformed fixture.
#[derive(Parser)]
#[command(name = "moin-session-conformance", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the corpus against a backend and reports per requirement.
    Check {
        /// The fixture directory.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        /// Only this profile (repeatable): moin-1.6 or moin-1.9.
        #[arg(long, value_name = "PROFILE")]
        profile: Vec<Profile>,
        /// Only cases whose id is this, starts with this dotted prefix, or matches this `*` pattern.
        #[arg(long, value_name = "PATTERN")]
        case: Option<String>,
        /// Only cases covering this requirement ID.
        #[arg(long, value_name = "ID")]
        requirement: Option<String>,
        /// The backend to check.
        #[arg(long, value_enum, default_value_t = BackendChoice::Model)]
        backend: BackendChoice,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Prints the transcript of one case run against the backend.
    Explain {
        /// The case id.
        id: String,
        /// The fixture directory.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        /// The backend to run it against.
        #[arg(long, value_enum, default_value_t = BackendChoice::Model)]
        backend: BackendChoice,
    },
    /// Lists the requirements of the spec and how many cases cover each.
    Requirements {
        /// The fixture directory.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        /// Only this profile.
        #[arg(long, value_name = "PROFILE")]
        profile: Option<Profile>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendChoice {
    /// The executable model (the oracle itself).
    Model,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A per-requirement summary for people.
    Text,
    /// One JSON object with `summary` and `cases`, for CI.
    Json,
}

fn backend(choice: BackendChoice) -> Box<dyn Backend> {
    match choice {
        BackendChoice::Model => Box::new(Model::new()),
    }
}

fn load_or_report(
    fixtures: Option<PathBuf>,
) -> Result<
    (
        moin_session_spec::fixture::Corpus,
        moin_session_spec::requirements::Requirements,
    ),
    ExitCode,
> {
    let dir = fixtures.unwrap_or_else(default_fixtures_dir);
    load(&dir).map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!(
            "{} malformed fixture error(s); no case was run",
            errors.len()
        );
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            fixtures,
            profile,
            case,
            requirement,
            backend: choice,
            format,
        } => {
            let (corpus, requirements) = match load_or_report(fixtures) {
                Ok(x) => x,
                Err(code) => return code,
            };
            if let Some(r) = &requirement {
                if requirements.get(r).is_none() {
                    eprintln!("error: --requirement {r:?} is not a requirement ID of the spec");
                    return ExitCode::from(2);
                }
            }
            let selection = Selection {
                profiles: profile.clone(),
                case: case.clone(),
                requirement,
            };
            let cases = selection.apply(&corpus);
            if cases.is_empty() {
                eprintln!("error: no case matches the selection");
                return ExitCode::from(2);
            }
            let mut backend = backend(choice);
            let name = backend.info().name;
            let progress = std::io::stderr().is_terminal() && format == Format::Text;
            let total = cases.len();
            let results = run_all(backend.as_mut(), &cases, |done, r| {
                if progress {
                    eprint!("\r\x1b[K[{done}/{total}] {} {}", r.verdict.word(), r.id);
                }
            });
            if progress {
                eprint!("\r\x1b[K");
            }
            let profiles: Vec<Profile> = if profile.is_empty() {
                let mut p: Vec<Profile> = cases.iter().map(|c| c.case.profile).collect();
                p.sort();
                p.dedup();
                p
            } else {
                profile
            };
            match format {
                Format::Text => {
                    println!("backend: {name}");
                    print!("{}", report::text(&results, &requirements, &profiles));
                }
                Format::Json => println!("{}", report::json(&results, &requirements, &name)),
            }
            if report::Summary::of(&results).ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Explain {
            id,
            fixtures,
            backend: choice,
        } => {
            let (corpus, _) = match load_or_report(fixtures) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let Some(case) = corpus.get(&id) else {
                eprintln!("error: no case with id {id:?} (try `check --case` with a prefix to list matches)");
                return ExitCode::from(2);
            };
            let mut backend = backend(choice);
            let result = run_case(backend.as_mut(), case);
            print!("{}", transcript::render(&result, &case.case.title));
            if matches!(
                result.verdict,
                moin_session_conformance::runner::Verdict::Pass
            ) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Requirements { fixtures, profile } => {
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
                println!(
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
    }
}
