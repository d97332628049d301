//! The command line: subcommands, options and their parsers.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use moin_session_conformance::backends::BackendChoice;
use moin_session_conformance::load_builtin;
use moin_session_conformance::proof::selftest::SelfTestArgs;
use moin_session_conformance::run::stop::StopRules;
use moin_session_spec::requirements::Requirements;
use moin_session_spec::Profile;

/// Checks MoinMoin session backends against the moin-session-spec corpus.
///
/// Exit status: 0 when every selected case passed (or deviated only on
/// declared deviations), 1 when a case failed or errored (or a known
/// failure passed, or a declared deviation was exercised and never
/// found), 2 for bad usage, a malformed
/// fixture or a malformed expectations file, 3 when nothing failed or
/// errored but nothing of a selected profile was checked (every case or
/// random trace of it skipped).
#[derive(Parser)]
#[command(name = "moin-session-conformance", version, about, long_about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Which backend to drive.
#[derive(Args, Clone)]
pub(crate) struct BackendArgs {
    /// The built-in backend to check: `model` (the oracle),
    /// `reference-memory` (the reference service over an in-memory store),
    /// `reference-file[:DIR]` (over a file store in DIR; without DIR, a
    /// fresh temporary directory removed afterwards),
    /// `reference-sqlite[:PATH]` (over an SQLite database file; without
    /// PATH, a temporary one) or `reference-redis[:URL]` (over a Redis
    /// server, by default redis://127.0.0.1:6379/, under a key prefix of
    /// its own). Each case starts from an empty store.
    #[arg(long, value_name = "BACKEND", value_parser = BackendChoice::parse, default_value = "reference-memory")]
    pub(crate) backend: BackendChoice,
    /// Check a backend in another process instead: the shell command that
    /// starts its adapter (spec/protocol.md). Runs the cases of the
    /// profiles the adapter declares.
    #[arg(long, value_name = "COMMAND", conflicts_with = "backend")]
    pub(crate) adapter: Option<String>,
    /// Let `reference-sqlite:PATH` empty an existing database that holds
    /// session records (without it, such a database is an error and is
    /// left as it is). Only with `--backend reference-sqlite:PATH`.
    #[arg(long, conflicts_with = "adapter")]
    pub(crate) clear_existing_store: bool,
    /// How long to wait for each adapter reply, in seconds (more than 0,
    /// at most 86400). Only with --adapter: a built-in backend answers in
    /// this process.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, allow_negative_numbers = true, value_parser = parse_step_timeout)]
    pub(crate) step_timeout: f64,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Runs the corpus against a backend and reports per requirement.
    Check(CheckArgs),
    /// Runs every seeded faulty backend against the corpus, then random
    /// traces and a short soak for those the corpus misses, and reports
    /// which case caught each. Exits 1 when a fault is not caught.
    SelfTest {
        /// Output format: text (the kill table) or json.
        #[arg(long, value_enum, default_value_t = ProofFormat::Text)]
        format: ProofFormat,
        #[command(flatten)]
        options: SelfTestArgs,
    },
    /// Prints the transcript of one case run against the backend.
    Explain {
        /// The case id.
        id: String,
        /// The fixture directory.
        #[arg(long, value_name = "DIR")]
        fixtures: Option<PathBuf>,
        #[command(flatten)]
        backend: BackendArgs,
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

/// The options of `check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The fixture directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) fixtures: Option<PathBuf>,
    /// Only this profile (repeatable): moin-1.9, moin-1.6 or hardened.
    #[arg(long, value_name = "PROFILE")]
    pub(crate) profile: Vec<Profile>,
    /// Only cases whose id is this, starts with this dotted prefix, or matches this `*` pattern.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) case: Option<String>,
    /// Only cases covering this requirement ID.
    #[arg(long, value_name = "ID")]
    pub(crate) requirement: Option<String>,
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// An expectations file (see README): `deviations`, clauses the
    /// backend departs from on purpose (a difference attributed to one
    /// deviates instead of failing; one exercised and never found fails
    /// the run), and `known_failures`, cases reported as expected failures
    /// (one that passes fails the run). With --random, only the
    /// deviations apply.
    #[arg(long, value_name = "FILE")]
    pub(crate) expectations: Option<PathBuf>,
    /// Output format (--random: text or json only).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// List the selected cases (id, profile, title) instead of running
    /// them. No backend runs: the backend and run options do not apply.
    #[arg(long, conflicts_with_all = ["random", "adapter", "backend", "clear_existing_store",
                                      "step_timeout", "expectations", "format", "jobs",
                                      "max_failures", "stop_after_errors", "stop_after_timeouts"])]
    pub(crate) list: bool,
    /// Run the cases over this many adapter processes at once (1 to
    /// 64); the report is the same as a serial run's. Only with
    /// --adapter: the built-in backends run in this process.
    #[arg(long, value_name = "N", default_value_t = 1,
          conflicts_with = "random", allow_negative_numbers = true, value_parser = parse_jobs)]
    pub(crate) jobs: u32,
    /// Instead of the corpus: run this many random traces per profile,
    /// compare the backend with the model step by step, group the
    /// divergences by clause and field, and shrink each group to a
    /// minimal case. (The corpus options --fixtures, --case and
    /// --requirement do not apply; of --expectations, the deviations do.)
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count,
          conflicts_with_all = ["fixtures", "case", "requirement"])]
    pub(crate) random: Option<u32>,
    /// The seed of the random traces (the same seed gives the same
    /// traces). Only with --random.
    #[arg(long, value_name = "S", default_value_t = 1, allow_negative_numbers = true, value_parser = parse_seed)]
    pub(crate) seed: u64,
    /// Write each group's minimal diverging case here as a fixture file,
    /// which `check --fixtures DIR` then replays on its own. Checked
    /// before the run: a directory, or one that can be made in an
    /// existing parent. Only with --random.
    #[arg(long, value_name = "DIR")]
    pub(crate) save_failures: Option<PathBuf>,
    /// Stop after this many cases (or random traces) that failed or
    /// errored; the report says how many were not run.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count)]
    pub(crate) max_failures: Option<u32>,
    /// Stop after this many errors in a row with the same message (0:
    /// never); the report says how many were not run.
    #[arg(long, value_name = "N", default_value_t = 10, allow_negative_numbers = true, value_parser = parse_limit)]
    pub(crate) stop_after_errors: u32,
    /// Stop after this many step timeouts in a row (0: never); the report
    /// says how many were not run. Only with --adapter (a built-in backend
    /// has no step timeout).
    #[arg(long, value_name = "N", default_value_t = 3, allow_negative_numbers = true, value_parser = parse_limit)]
    pub(crate) stop_after_timeouts: u32,
    /// Instead of the corpus: hold 200 sessions per profile across this
    /// much real time (`30s`, `10m`; more than zero) and check that none
    /// was lost.
    #[arg(long, value_name = "DURATION", value_parser = moin_session_conformance::proof::soak::parse_duration,
          conflicts_with_all = ["random", "list", "fixtures", "case", "requirement", "expectations",
                                "format", "jobs", "seed", "save_failures", "max_failures",
                                "stop_after_errors", "stop_after_timeouts"])]
    pub(crate) soak: Option<Duration>,
}

/// `--step-timeout`: a number of seconds a `Duration` and a deadline can hold.
pub(crate) fn parse_step_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err(format!(
            "{s} is out of range: a step timeout is more than 0 and at most 86400 seconds (one day)"
        ))
    }
}

/// A whole number in `range`, or why `s` is not one (`what` says what
/// the option takes).
fn parse_whole(s: &str, range: std::ops::RangeInclusive<i128>, what: &str) -> Result<i128, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if range.contains(&n) => Ok(n),
        Ok(_) => Err(format!("{s} is out of range: {what}")),
        Err(_) => Err(format!("{s:?} is not a whole number: {what}")),
    }
}

/// A count: a whole number from 1 to 4294967295.
pub(crate) fn parse_count(s: &str) -> Result<u32, String> {
    let what = format!("a count is a whole number from 1 to {}", u32::MAX);
    parse_whole(s, 1..=i128::from(u32::MAX), &what).map(|n| n as u32)
}

/// A limit: a whole number from 0 (never) to 4294967295.
pub(crate) fn parse_limit(s: &str) -> Result<u32, String> {
    let what = format!("a limit is a whole number from 0 (never) to {}", u32::MAX);
    parse_whole(s, 0..=i128::from(u32::MAX), &what).map(|n| n as u32)
}

impl CheckArgs {
    /// When the run stops early.
    pub(crate) fn stop_rules(&self) -> StopRules {
        StopRules {
            max_failures: self.max_failures.map(|m| m as usize),
            identical_errors: self.stop_after_errors as usize,
            timeouts: self.stop_after_timeouts as usize,
        }
    }
}

/// A seed: a whole number from 0 to 18446744073709551615.
pub(crate) fn parse_seed(s: &str) -> Result<u64, String> {
    let what = format!("a seed is a whole number from 0 to {}", u64::MAX);
    parse_whole(s, 0..=i128::from(u64::MAX), &what).map(|n| n as u64)
}

/// The exit status of a run that checked nothing of a selected profile.
pub(crate) const NOTHING_CHECKED: u8 = 3;

/// The output format.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A per-requirement summary for people.
    Text,
    /// One JSON object with `backend`, `summary`, `cases` and `requirements`, for CI.
    Json,
    /// JUnit XML, one test per case, for CI systems that display tests.
    Junit,
    /// Markdown, for a CI step summary.
    Markdown,
    /// One self-contained HTML page to open and browse: the violated
    /// clauses first, each failing case as its transcript.
    Html,
}

/// The output formats of `self-test`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProofFormat {
    /// The kill table, for people.
    Text,
    /// One JSON object, for CI.
    Json,
}

/// `--jobs`: 1 to 64.
pub(crate) fn parse_jobs(text: &str) -> Result<u32, String> {
    parse_whole(text, 1..=64, "--jobs takes 1 to 64 adapter processes").map(|n| n as u32)
}

/// `--version`: the runner, and the spec, protocol and built-in corpus it
/// judges by.
pub(crate) fn long_version() -> String {
    let specs: Vec<String> = Profile::ALL
        .iter()
        .map(|p| {
            format!(
                "{p} {}",
                Requirements::spec_version(*p).unwrap_or("(unversioned)")
            )
        })
        .collect();
    let cases = match load_builtin() {
        Ok((corpus, _)) => format!("{} cases", corpus.cases.len()),
        Err(errors) => format!("does not load: {} error(s)", errors.len()),
    };
    format!(
        "{}\nspec: {}\nadapter protocol: {}\ncorpus: built-in ({cases}), goes with the spec versions above",
        env!("CARGO_PKG_VERSION"),
        specs.join(", "),
        moin_session_spec::protocol::PROTOCOL_VERSION
    )
}
