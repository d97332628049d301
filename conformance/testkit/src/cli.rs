//! Running the workspace's programs as a user does: a [`Cli`] names one
//! by its path (`env!("CARGO_BIN_EXE_…")` in the test), [`Cli::run`]
//! returns its exit code and what it printed, [`summary`] reads the counts
//! of a report's closing line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One of the workspace's programs.
#[derive(Debug, Clone)]
pub struct Cli {
    program: PathBuf,
}

impl Cli {
    /// The program at `program` (a test passes
    /// `env!("CARGO_BIN_EXE_moin-session-conformance")`).
    pub fn new(program: impl Into<PathBuf>) -> Cli {
        Cli {
            program: program.into(),
        }
    }

    /// A command for the program, to add arguments, a directory or
    /// environment to.
    pub fn command(&self) -> Command {
        Command::new(&self.program)
    }

    /// Runs the program with `args`: (exit code, stdout, stderr); both
    /// streams must be UTF-8.
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> (Option<i32>, String, String) {
        output(self.command().args(args))
    }
}

/// Runs `command` to its end: (exit code, stdout, stderr); both streams
/// must be UTF-8.
pub fn output(command: &mut Command) -> (Option<i32>, String, String) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    texts(out)
}

/// An output's (exit code, stdout, stderr); both streams must be UTF-8.
pub fn texts(out: Output) -> (Option<i32>, String, String) {
    let text = |bytes: Vec<u8>, which: &str| {
        String::from_utf8(bytes).unwrap_or_else(|e| {
            panic!(
                "the program's {which} is not UTF-8 ({e}): {:?}",
                String::from_utf8_lossy(e.as_bytes())
            )
        })
    };
    (
        out.status.code(),
        text(out.stdout, "stdout"),
        text(out.stderr, "stderr"),
    )
}

/// `[passed, failed, errored, skipped]` from a text report's closing line
/// (`N passed, N failed, N errored, N skipped`).
pub fn summary(stdout: &str) -> [usize; 4] {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    let n = |word: &str| -> usize {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
        line[..at]
            .rsplit([' ', ','])
            .find(|w| !w.is_empty())
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("no count before {word:?} in {line:?}"))
    };
    [n(" passed"), n(" failed"), n(" errored"), n(" skipped")]
}

/// `s` quoted for `sh -c` (how the runner starts an adapter command with
/// shell syntax).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Copies the corpus `from` (a `fixtures/` directory) into `to`, without
/// its transcripts.
pub fn copy_corpus(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != "transcripts" {
                copy_corpus(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| {
                panic!("{} to {}: {e}", entry.path().display(), target.display())
            });
        }
    }
}
