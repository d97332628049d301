//! `check`: run the corpus against a backend and report per requirement.

use std::process::ExitCode;

use moin_session_conformance::lifecycle;
use moin_session_conformance::report::html::HtmlReport;
use moin_session_conformance::report::inert::visible;
use moin_session_conformance::run::expectations::{unused_deviations, Deviation, Expectations};
use moin_session_conformance::run::stop::Stopped;
use moin_session_conformance::run::ParallelRun;
use moin_session_conformance::{report, run_parallel, Selection};
use moin_session_spec::fixture::{Corpus, LoadedCase};
use moin_session_spec::requirements::Requirements;
use moin_session_spec::{Backend, Profile};

use super::args::{CheckArgs, Format, NOTHING_CHECKED};
use super::output::{self, emit_text, out, outln, progress_bar};
use super::setup::{
    backend_label, load_expectations, load_or_report, select_cases, start_backend, start_selected,
};

/// What a check needs before any backend starts: the corpus, the spec's
/// requirements and the expectations file, each checked.
struct Inputs {
    corpus: Corpus,
    requirements: Requirements,
    expectations: Option<Expectations>,
    versions: report::Versions,
}

impl Inputs {
    /// The deviations the expectations file declares (none without one).
    fn deviations(&self) -> &[Deviation] {
        self.expectations
            .as_ref()
            .map_or(&[], |e| e.deviations.as_slice())
    }
}

/// `check` over the corpus (not `--random`, `--soak` or `--list`).
pub(crate) fn check(args: CheckArgs) -> ExitCode {
    let inputs = match load_inputs(&args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (backend, info, profiles) = match start_selected(&args.backend, args.profile.clone()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let selection = Selection {
        profiles,
        case: args.case.clone(),
        requirement: args.requirement.clone(),
    };
    let cases = match select_cases(&selection, &inputs.corpus) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let name = if info.version.is_empty() {
        info.name.clone()
    } else {
        format!("{} {}", info.name, info.version)
    };
    let (mut run, problems) = run_cases(backend, &args, &cases, inputs.deviations());
    if let Some(e) = &inputs.expectations {
        e.apply(&mut run.results);
    }
    write_report(&args, &inputs, &cases, &run, &name);
    let label = backend_label(&args.backend, &info);
    verdict(&run, &problems, inputs.deviations(), &label)
}

/// The corpus, requirements and expectations of a check, or the exit
/// code of a usage error (named on standard error).
fn load_inputs(args: &CheckArgs) -> Result<Inputs, ExitCode> {
    let versions = report::Versions::of_run(args.fixtures.as_deref());
    let (corpus, requirements) = load_or_report(args.fixtures.clone())?;
    if let Some(r) = &args.requirement {
        if requirements.get(r).is_none() {
            let hint =
                moin_session_spec::corpus::nearest(r, requirements.iter().map(|q| q.id.as_str()))
                    .map(|n| format!("; did you mean {n}?"))
                    .unwrap_or_else(|| "; `requirements` lists them".to_owned());
            output::error(format_args!(
                "--requirement {r:?} is not a requirement ID of the spec{hint}"
            ));
            return Err(ExitCode::from(2));
        }
    }
    let expectations = match &args.expectations {
        Some(file) => Some(load_expectations(file, &corpus, &requirements)?),
        None => None,
    };
    Ok(Inputs {
        corpus,
        requirements,
        expectations,
        versions,
    })
}

/// Runs the cases over `backend` and `--jobs - 1` more, then ends them;
/// the second value is what went wrong with the backends themselves: a
/// shutdown error, an extra job's that did not start or shut down.
fn run_cases(
    mut backend: Box<dyn Backend>,
    args: &CheckArgs,
    cases: &[&LoadedCase],
    deviations: &[Deviation],
) -> (ParallelRun, Vec<String>) {
    let bar = progress_bar(cases.len() as u64, "cases");
    let start_more = || start_backend(&args.backend).map_err(|_| "see the error above".to_owned());
    let run = run_parallel(
        backend.as_mut(),
        (args.jobs as usize).saturating_sub(1),
        &start_more,
        cases,
        args.stop_rules(),
        deviations,
        &|r| {
            bar.set_message(format!("{} {}", r.verdict.word(), r.id));
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    let mut problems: Vec<String> = backend
        .end_run()
        .err()
        .map(|e| format!("at shutdown: {e}"))
        .into_iter()
        .collect();
    drop(backend);
    problems.extend(run.job_errors.iter().cloned());
    (run, problems)
}

/// The line that says a run stopped early, and how much it did not run.
fn stop_line(run: &ParallelRun) -> Option<String> {
    run.stopped.as_ref().map(|why| {
        format!(
            "stopped early: {why}; {} of {} selected case(s) not run",
            run.not_run,
            run.not_run + run.results.len()
        )
    })
}

/// A report of a run that stopped early (interrupted, or stopped by a
/// rule) with its conformance claims withdrawn: what did not run was not
/// checked, so no claim rests on it.
fn no_claim(report: &str) -> String {
    report
        .lines()
        .map(|l| match l.strip_prefix("conformance claim: ") {
            Some(rest) => format!("no conformance claim (the run did not finish): {rest}\n"),
            None => format!("{l}\n"),
        })
        .collect()
}

/// The JSON report with `stopped` (why the run stopped early, or null),
/// `interrupted` and `not_run` added.
fn json_with_stop(report: String, run: &ParallelRun) -> String {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(&report) else {
        return report;
    };
    map.insert(
        "stopped".to_owned(),
        run.stopped.as_ref().map(ToString::to_string).into(),
    );
    map.insert(
        "interrupted".to_owned(),
        run.stopped
            .as_ref()
            .is_some_and(Stopped::interrupted)
            .into(),
    );
    map.insert("not_run".to_owned(), run.not_run.into());
    serde_json::to_string_pretty(&map).expect("a JSON value serialises")
}

/// The text report of backend `name`: a run that stopped early claims
/// nothing and ends with the line that says why.
fn text_report(report: String, name: &str, stop: Option<&str>) -> String {
    let mut text = format!("backend: {}\n", visible(name));
    match stop {
        Some(line) => {
            text.push_str(&no_claim(&report));
            text.push_str(line);
            text.push('\n');
        }
        None => text.push_str(&report),
    }
    text
}

/// Writes the report in the format asked for; a run that stopped early
/// says so in every format (and [`verdict`] on standard error).
fn write_report(
    args: &CheckArgs,
    inputs: &Inputs,
    cases: &[&LoadedCase],
    run: &ParallelRun,
    name: &str,
) {
    let results = &run.results;
    let stop = stop_line(run);
    let requirements = &inputs.requirements;
    let deviations = inputs.deviations();
    let mut shown: Vec<Profile> = cases.iter().map(|c| c.case.profile).collect();
    shown.sort();
    shown.dedup();
    match args.format {
        Format::Text => emit_text(&text_report(
            report::text(results, requirements, &shown, deviations),
            name,
            stop.as_deref(),
        )),
        Format::Json => outln!(
            "{}",
            json_with_stop(
                report::json(results, requirements, name, &inputs.versions, deviations),
                run
            )
        ),
        Format::Junit => out!(
            "{}",
            report::junit_of_run(results, name, deviations, stop.as_deref())
        ),
        Format::Markdown => {
            out!(
                "{}",
                report::markdown(results, requirements, &shown, name, deviations)
            );
            if let Some(line) = &stop {
                outln!("**{line}**");
            }
        }
        Format::Html => {
            let titles = cases
                .iter()
                .map(|c| (c.case.id.clone(), c.case.title.clone()))
                .collect();
            let page = HtmlReport {
                results,
                titles: &titles,
                requirements,
                profiles: &shown,
                backend: name,
                versions: &inputs.versions,
                deviations,
                stopped: stop.as_deref(),
            };
            out!("{}", page.render())
        }
    }
}

/// The exit status of a check: `128 + signal` when a signal interrupted
/// it; 1 when a case failed or errored, a known failure passed, a
/// declared deviation was exercised and never found, or a backend had a
/// problem (`problems`: it did not start or shut down cleanly); 3 when a selected profile had nothing checked;
/// else 0.
fn verdict(
    run: &ParallelRun,
    problems: &[String],
    deviations: &[Deviation],
    label: &str,
) -> ExitCode {
    if let Some(line) = stop_line(run) {
        output::error(format_args!("check of {label} {line}"));
    }
    if let Some(Stopped::Interrupted(signal)) = &run.stopped {
        return ExitCode::from(lifecycle::interrupted_status(*signal));
    }
    let results = &run.results;
    let unused = unused_deviations(deviations, results);
    for u in &unused {
        output::error(u.unused_message());
    }
    let unchecked = report::unchecked_profiles(results);
    for p in &unchecked {
        let n = results.iter().filter(|r| r.profile == *p).count();
        output::error(format_args!(
            "nothing was checked: none of the {n} selected case(s) of {p} ran to a verdict on {label} (each was skipped or errored); a backend must carry out some case of every profile it declares"
        ));
    }
    for problem in problems {
        output::error(format_args!("{label}: {problem}"));
    }
    let summary = report::Summary::of(results);
    if summary.failed + summary.errored + summary.unexpected_passes + unused.len() > 0
        || !problems.is_empty()
    {
        ExitCode::from(1)
    } else if !unchecked.is_empty() || !summary.ok() {
        ExitCode::from(NOTHING_CHECKED)
    } else {
        ExitCode::SUCCESS
    }
}
