//! `explain ID`: one case run against the backend, as its transcript.

use std::path::PathBuf;
use std::process::ExitCode;

use moin_session_conformance::report::inert::visible;
use moin_session_conformance::report::transcript;
use moin_session_conformance::run::runner::{run_case, Verdict};

use super::args::BackendArgs;
use super::output::{self, emit_text, outln};
use super::setup::{backend_label, case_suggestion, load_or_report, start_backend};

/// Prints the transcript of case `id` and the configuration it ran with;
/// exit status 0 when it passed, 1 when not, 2 for a usage error.
pub(crate) fn explain(id: &str, fixtures: Option<PathBuf>, backend_args: &BackendArgs) -> ExitCode {
    let (corpus, _) = match load_or_report(fixtures) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(case) = corpus.get(id) else {
        let under: Vec<&str> = corpus
            .cases
            .iter()
            .map(|c| c.case.id.as_str())
            .filter(|c| moin_session_conformance::id_matches(id, c))
            .collect();
        let hint = if under.is_empty() {
            case_suggestion(id, &corpus)
                .filter(|n| *n != id)
                .map(|n| format!("; did you mean {n}?"))
                .unwrap_or_default()
        } else {
            format!(
                "; it is a prefix of {} case id(s), and explain takes one, e.g. {}",
                under.len(),
                under[0]
            )
        };
        output::error(format_args!(
            "no case with id {id:?}{hint} (`check --list --case PATTERN` lists case ids)"
        ));
        return ExitCode::from(2);
    };
    let mut backend = match start_backend(backend_args) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let label = backend_label(backend_args, &backend.info());
    let result = run_case(backend.as_mut(), case);
    // r[proto.command.shutdown]: judged here as in every mode.
    let finished = backend.end_run();
    drop(backend);
    let config =
        serde_json::to_string(&case.case.config).expect("a configuration patch serialises");
    let mut text = transcript::render(&result, &visible(&case.case.title));
    text.push_str(&format!(
        "\nconfiguration ({}, over the profile's defaults): {config}\n",
        visible(&case.file.display().to_string())
    ));
    emit_text(&text);
    if let Err(e) = &finished {
        outln!("\nat shutdown: {e}");
        output::error(format_args!("{label}: at shutdown: {e}"));
    }
    if matches!(result.verdict, Verdict::Pass) && finished.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
