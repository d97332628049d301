//! What the command-line tool writes: standard output that tolerates a
//! reader going away, and a progress bar on a terminal.

use std::io::IsTerminal;

use moin_session_conformance::report::inert::visible_lines;

/// Writes to standard output; a reader that has gone away (`… | head`)
/// ends the program quietly instead of with a panic. (SIGPIPE stays
/// ignored: a dead adapter's closed stdin must be an error, not a death.)
pub(crate) fn emit(text: &str) {
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

/// Writes text for people: every control character but newlines and
/// tabs shown as an escape ([`visible_lines`]), whatever a value in it
/// held.
pub(crate) fn emit_text(text: &str) {
    emit(&visible_lines(text));
}

/// Writes `error: TEXT` on standard error, every control character but
/// newlines and tabs shown as an escape: an error message may carry what
/// an adapter, a store or a fixture said.
pub(crate) fn error(text: impl std::fmt::Display) {
    eprintln!("error: {}", visible_lines(&text.to_string()));
}

/// Writes `note: TEXT` on standard error, as [`error`] does.
pub(crate) fn note(text: impl std::fmt::Display) {
    eprintln!("note: {}", visible_lines(&text.to_string()));
}

/// `print!` through [`emit`].
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::output::emit(&format!($($t)*)) };
}

/// `println!` through [`emit`].
macro_rules! outln {
    () => { $crate::cli::output::emit("\n") };
    ($($t:tt)*) => { $crate::cli::output::emit(&(format!($($t)*) + "\n")) };
}

pub(crate) use {out, outln};

/// A progress bar on standard error when it is a terminal; hidden (and
/// silent) otherwise.
pub(crate) fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
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
