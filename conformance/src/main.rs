//! `moin-session-conformance`: check a session backend against the corpus.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_conformance::backends::BackendChoice;
use moin_session_conformance::expectations::Expectations;
use moin_session_conformance::random::RandomOptions;
use moin_session_conformance::runner::Verdict;
use moin_session_conformance::selftest::SelfTestArgs;
use moin_session_conformance::{
    load, load_builtin, report, run_parallel, runner::run_case, transcript, Selection,
};
use moin_session_spec::fixture::Corpus;
use moin_session_spec::requirements::Requirements;
use moin_session_spec::{Backend, BackendInfo, Profile};

mod commands;
use commands::{self_test, soak};
/// Writes to standard output; a reader that has gone away (`… | head`)
/// ends the program quietly instead of with a panic. (SIGPIPE stays
/// ignored: a dead adapter's closed stdin must be an error, not a death.)
fn emit(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the report: {e}");
        std::process::exit(2);
    }
}

macro_rules! out {
    ($($t:tt)*) => { emit(&format!($($t)*)) };
}

macro_rules! outln {
    () => { emit("\n") };
    ($($t:tt)*) => { emit(&(format!($($t)*) + "\n")) };
}

/// Checks MoinMoin session backends against the moin-session-spec corpus.
///
/// Exit status: 0 when every selected case passed, 1 when a case failed or
/// errored (or a known failure passed), 2 for bad usage, a malformed
/// fixture or a malformed expectations file, 3 when nothing failed or
/// errored but nothing of a selected profile was checked (every case or
/// random trace of it skipped).
#[derive(Parser)]
#[command(name = "moin-session-conformance", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which backend to drive.
#[derive(Args, Clone)]
struct BackendArgs {
    /// The built-in backend to check: `model` (the oracle),
    /// `reference-memory` (the reference service over an in-memory store),
    /// `reference-file[:DIR]` (over a file store in DIR; without DIR, a
    /// fresh temporary directory removed afterwards),
    /// `reference-sqlite[:PATH]` (over an SQLite database file; without
    /// PATH, a temporary one) or `reference-redis[:URL]` (over a Redis
    /// server, by default redis://127.0.0.1:6379/, under a key prefix of
    /// its own). Each case starts from an empty store.
    #[arg(long, value_name = "BACKEND", value_parser = BackendChoice::parse, default_value = "reference-memory")]
    backend: BackendChoice,
    /// Check a backend in another process instead: the shell command that
    /// starts its adapter (spec/protocol.md). Runs the cases of the
    /// profiles the adapter declares.
    #[arg(long, value_name = "COMMAND", conflicts_with = "backend")]
    adapter: Option<String>,
    /// How long to wait for each adapter reply, in seconds (more than 0,
    /// at most 86400).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, allow_negative_numbers = true, value_parser = parse_step_timeout)]
    step_timeout: f64,
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
        #[command(flatten)]
        backend: BackendArgs,
        /// A file of known failures (see README): reported as expected
        /// failures; one that passes fails the run.
        #[arg(long, value_name = "FILE")]
        expectations: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// List the selected cases (id, profile, title) instead of running them.
        #[arg(long, conflicts_with = "random")]
        list: bool,
        /// Run the cases over this many adapter processes at once (1 to
        /// 64); the report is the same as a serial run's. Only with
        /// --adapter: the built-in backends run in this process.
        #[arg(long, value_name = "N", default_value_t = 1, requires = "adapter",
              conflicts_with = "random", allow_negative_numbers = true, value_parser = parse_jobs)]
        jobs: u32,
        /// Instead of the corpus: run this many random traces per profile,
        /// compare the backend with the model step by step, group the
        /// divergences by clause and field, and shrink each group to a
        /// minimal case. (The corpus options --fixtures, --case,
        /// --requirement and --expectations do not apply.)
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_count,
              conflicts_with_all = ["fixtures", "case", "requirement", "expectations"])]
        random: Option<u32>,
        /// The seed of the random traces (the same seed gives the same traces).
        #[arg(long, value_name = "S", default_value_t = 1, requires = "random", allow_negative_numbers = true, value_parser = parse_seed)]
        seed: u64,
        /// Write each group's minimal diverging case here as a fixture file,
        /// which `check --fixtures DIR` then replays on its own. Checked
        /// before the run: a directory, or one that can be made in an
        /// existing parent.
        #[arg(long, value_name = "DIR", requires = "random")]
        save_failures: Option<PathBuf>,
        /// With --random: stop after this many traces that did not agree
        /// with the model (diverged or errored).
        #[arg(long, value_name = "N", requires = "random", allow_negative_numbers = true, value_parser = parse_count)]
        max_failures: Option<u32>,
        /// Instead of the corpus: hold 200 sessions per profile across this
        /// much real time (`30s`, `10m`) and check that none was lost.
        #[arg(long, value_name = "DURATION", value_parser = moin_session_conformance::soak::parse_duration, conflicts_with_all = ["random", "list"])]
        soak: Option<Duration>,
    },
    /// Runs every seeded faulty backend against the corpus, then random
    /// traces and a short soak for those the corpus misses, and reports
    /// which case caught each. Exits 1 when a fault is not caught.
    SelfTest {
        /// Output format: text (the kill table) or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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

/// `--step-timeout`: a number of seconds a `Duration` and a deadline can hold.
fn parse_step_timeout(s: &str) -> Result<f64, String> {
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

/// A count: a whole number from 1 to 4294967295.
fn parse_count(s: &str) -> Result<u32, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if (1..=i128::from(u32::MAX)).contains(&n) => Ok(n as u32),
        Ok(_) => Err(format!(
            "{s} is out of range: a count is a whole number from 1 to {}",
            u32::MAX
        )),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

/// A seed: a whole number from 0 to 18446744073709551615.
fn parse_seed(s: &str) -> Result<u64, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if (0..=i128::from(u64::MAX)).contains(&n) => Ok(n as u64),
        Ok(_) => Err(format!(
            "{s} is out of range: a seed is a whole number from 0 to {}",
            u64::MAX
        )),
        Err(_) => Err(format!("{s:?} is not a whole number")),
    }
}

/// The exit status of a run that checked nothing of a selected profile.
const NOTHING_CHECKED: u8 = 3;

/// The output format.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
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

/// A progress bar on standard error when it is a terminal; hidden (and
/// silent) otherwise.
fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
    ))
    .expect("the template is valid");
    bar.set_style(style);
    bar
}

/// `--jobs`: 1 to 64.
fn parse_jobs(text: &str) -> Result<u32, String> {
    match text.parse::<i64>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n as u32),
        Ok(n) => Err(format!(
            "{n} is out of range: --jobs takes 1 to 64 adapter processes"
        )),
        Err(_) => Err(format!(
            "{text:?} is not a whole number (--jobs takes 1 to 64)"
        )),
    }
}

/// Starts the backend the arguments name; a failure is the exit code.
fn start_backend(args: &BackendArgs) -> Result<Box<dyn Backend>, ExitCode> {
    let Some(command) = &args.adapter else {
        return args.backend.start().map_err(|e| {
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
fn load_or_report(fixtures: Option<PathBuf>) -> Result<(Corpus, Requirements), ExitCode> {
    let loaded = match &fixtures {
        Some(dir) => load(dir),
        None => load_builtin(),
    };
    loaded.map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!("{} fixture error(s); no case was run", errors.len());
        ExitCode::from(2)
    })
}

#[allow(clippy::too_many_arguments)]
fn check(
    fixtures: Option<PathBuf>,
    profile: Vec<Profile>,
    case: Option<String>,
    requirement: Option<String>,
    backend_args: BackendArgs,
    expectations: Option<PathBuf>,
    format: Format,
    jobs: usize,
) -> ExitCode {
    let versions = report::Versions::of_run(fixtures.as_deref());
    let (corpus, requirements) = match load_or_report(fixtures) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Some(r) = &requirement {
        if requirements.get(r).is_none() {
            let hint =
                moin_session_spec::corpus::nearest(r, requirements.iter().map(|q| q.id.as_str()))
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_else(|| "; `requirements` lists them".to_owned());
            eprintln!("error: --requirement {r:?} is not a requirement ID of the spec{hint}");
            return ExitCode::from(2);
        }
    }
    let expectations = match expectations.as_deref().map(Expectations::load).transpose() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(e) = &expectations {
        if let Err(errors) = e.check(&corpus) {
            for error in errors {
                eprintln!("error: expectations: {error}");
            }
            return ExitCode::from(2);
        }
    }
    let mut backend = match start_backend(&backend_args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let info = backend.info();
    let profiles = match select_profiles(profile, &info) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let selection = Selection {
        profiles: profiles.clone(),
        case: case.clone(),
        requirement: requirement.clone(),
    };
    let cases = selection.apply(&corpus);
    if cases.is_empty() {
        eprintln!(
            "error: {}",
            no_match_hint(case.as_deref(), requirement.as_deref(), &corpus)
        );
        return ExitCode::from(2);
    }
    let name = if info.version.is_empty() {
        info.name.clone()
    } else {
        format!("{} {}", info.name, info.version)
    };
    let bar = progress_bar(cases.len() as u64, "cases");
    let start_more = || start_backend(&backend_args).map_err(|_| "see above".to_owned());
    let (mut results, job_errors) = run_parallel(
        backend.as_mut(),
        jobs.saturating_sub(1),
        &start_more,
        &cases,
        &|r| {
            bar.set_message(format!("{} {}", r.verdict.word(), r.id));
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    let mut finished = backend.end_run().map_err(|e| e.to_string());
    drop(backend);
    if let (Ok(()), Some(e)) = (&finished, job_errors.first()) {
        finished = Err(e.clone());
    }
    if let Some(e) = &expectations {
        e.apply(&mut results);
    }
    let mut shown: Vec<Profile> = cases.iter().map(|c| c.case.profile).collect();
    shown.sort();
    shown.dedup();
    match format {
        Format::Text => {
            outln!("backend: {name}");
            out!("{}", report::text(&results, &requirements, &shown));
        }
        Format::Json => outln!(
            "{}",
            report::json(&results, &requirements, &name, &versions)
        ),
        Format::Junit => out!("{}", report::junit(&results, &name)),
        Format::Markdown => out!(
            "{}",
            report::markdown(&results, &requirements, &shown, &name)
        ),
        Format::Html => {
            let titles = cases
                .iter()
                .map(|c| (c.case.id.clone(), c.case.title.clone()))
                .collect();
            let page = moin_session_conformance::report_html::HtmlReport {
                results: &results,
                titles: &titles,
                requirements: &requirements,
                profiles: &shown,
                backend: &name,
                versions: &versions,
            };
            out!("{}", page.render())
        }
    }
    let unchecked = report::unchecked_profiles(&results);
    for p in &unchecked {
        let n = results.iter().filter(|r| r.profile == *p).count();
        eprintln!(
            "error: nothing was checked: none of the {n} selected case(s) of {p} ran to a verdict (each was skipped or errored); a backend must carry out some case of every profile it declares"
        );
    }
    if let Err(e) = &finished {
        eprintln!("error: at shutdown: {e}");
    }
    let summary = report::Summary::of(&results);
    if summary.failed + summary.errored + summary.unexpected_passes > 0 || finished.is_err() {
        ExitCode::from(1)
    } else if !unchecked.is_empty() || !summary.ok() {
        ExitCode::from(NOTHING_CHECKED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The profiles to run: those asked for, each of which the backend must
/// implement, or else every profile it implements
/// (`r[proto.handshake.profiles]`).
fn select_profiles(asked: Vec<Profile>, info: &BackendInfo) -> Result<Vec<Profile>, ExitCode> {
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

/// `check --list`: the selected cases, one a line.
fn list_cases(
    fixtures: Option<PathBuf>,
    profile: Vec<Profile>,
    case: Option<String>,
    requirement: Option<String>,
) -> ExitCode {
    let (corpus, _) = match load_or_report(fixtures) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let selection = Selection {
        profiles: profile,
        case: case.clone(),
        requirement: requirement.clone(),
    };
    let cases = selection.apply(&corpus);
    if cases.is_empty() {
        eprintln!(
            "error: {}",
            no_match_hint(case.as_deref(), requirement.as_deref(), &corpus)
        );
        return ExitCode::from(2);
    }
    let width = cases.iter().map(|c| c.case.id.len()).max().unwrap_or(0);
    for c in &cases {
        outln!(
            "{:<width$}  {}  {}",
            c.case.id,
            c.case.profile,
            c.case.title
        );
    }
    ExitCode::SUCCESS
}

/// Why a selection is empty, and what to try instead.
fn no_match_hint(case: Option<&str>, requirement: Option<&str>, corpus: &Corpus) -> String {
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
fn case_suggestion<'c>(word: &str, corpus: &'c Corpus) -> Option<&'c str> {
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

fn random(
    profile: Vec<Profile>,
    backend_args: BackendArgs,
    format: Format,
    options: RandomOptions,
) -> ExitCode {
    if !matches!(format, Format::Text | Format::Json) {
        eprintln!("error: --random reports as text or json");
        return ExitCode::from(2);
    }
    if let Some(dir) = &options.save {
        if let Err(e) = moin_session_conformance::random_run::check_save_dir(dir) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let mut backend = match start_backend(&backend_args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let info = backend.info();
    let profiles = match select_profiles(profile, &info) {
        Ok(p) => p,
        Err(code) => return code,
    };
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
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    use moin_session_conformance::random_run;
    if format == Format::Json {
        let v = random_run::json(&run, &info.name, &profiles, options.seed);
        outln!("{}", serde_json::to_string_pretty(&v).expect("serialises"));
    } else {
        out!(
            "{}",
            random_run::text(&run, &info.name, &profiles, options.seed)
        );
    }
    let unchecked = run.unchecked_profiles();
    for p in &unchecked {
        eprintln!("error: nothing was checked: no random trace of {p} ran to a verdict (each was skipped, errored or not run)");
    }
    if let Err(e) = &finished {
        eprintln!("error: at shutdown: {e}");
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

/// `--version`: the runner, and the spec, protocol and built-in corpus it
/// judges by.
fn long_version() -> String {
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

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    if std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
    {
        // Loading the built-in corpus to count it is only worth it here.
        command = command.version(&*Box::leak(long_version().into_boxed_str()));
    }
    let matches = command.get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::SelfTest { format, options } => {
            self_test(options.fixtures.clone(), format, options.options())
        }
        Command::Check {
            profile,
            backend,
            soak: Some(duration),
            ..
        } => soak(profile, backend, duration),
        Command::Check {
            profile,
            backend,
            format,
            random: Some(count),
            seed,
            save_failures,
            max_failures,
            ..
        } => random(
            profile,
            backend,
            format,
            RandomOptions {
                count: count as usize,
                seed,
                save: save_failures,
                max_failures: max_failures.map(|m| m as usize),
            },
        ),
        Command::Check {
            fixtures,
            profile,
            case,
            requirement,
            list: true,
            ..
        } => list_cases(fixtures, profile, case, requirement),
        Command::Check {
            fixtures,
            profile,
            case,
            requirement,
            backend,
            expectations,
            format,
            random: None,
            list: false,
            jobs,
            soak: None,
            ..
        } => check(
            fixtures,
            profile,
            case,
            requirement,
            backend,
            expectations,
            format,
            jobs as usize,
        ),
        Command::Explain {
            id,
            fixtures,
            backend,
        } => {
            let (corpus, _) = match load_or_report(fixtures) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let Some(case) = corpus.get(&id) else {
                let hint = case_suggestion(&id, &corpus)
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_default();
                eprintln!(
                    "error: no case with id {id:?}{hint} (`check --list --case PATTERN` lists case ids)"
                );
                return ExitCode::from(2);
            };
            let mut backend = match start_backend(&backend) {
                Ok(b) => b,
                Err(code) => return code,
            };
            let result = run_case(backend.as_mut(), case);
            let config =
                serde_json::to_string(&case.case.config).expect("a configuration patch serialises");
            out!("{}", transcript::render(&result, &case.case.title));
            outln!(
                "\nconfiguration ({}, over the profile's defaults): {config}",
                case.file.display()
            );
            if matches!(result.verdict, Verdict::Pass) {
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
                outln!(
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
