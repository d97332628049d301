//! Running the workspace's programs as a user does: a [`Cli`] names one
//! by its path (`env!("CARGO_BIN_EXE_…")` in the test), [`Cli::run`]
//! returns its exit code and what it printed, [`Cli::ran`] the same as a
//! [`Ran`] to check in one chain (`.exits(1).says(&["…"])`), [`summary`]
//! reads the counts of a report's closing line.

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

    /// Runs the program with the words of `words` (split at white space),
    /// then `more` as they are (paths, adapter commands).
    pub fn ran(&self, words: &str, more: &[&str]) -> Ran {
        Ran::from(output(
            self.command().args(words.split_whitespace()).args(more),
        ))
    }

    /// The runner's `check` with the words of `words`, against the adapter
    /// command `adapter`.
    pub fn check(&self, words: &str, adapter: &str) -> Ran {
        self.ran(&format!("check {words} --adapter"), &[adapter])
    }
}

/// How a run of a program ended and what it printed, checked in a chain:
/// each check fails the test showing what the program printed.
#[derive(Debug)]
pub struct Ran {
    /// The exit code (`None`: ended by a signal).
    pub code: Option<i32>,
    /// What it printed on its standard output.
    pub stdout: String,
    /// What it printed on its standard error.
    pub stderr: String,
}

impl From<(Option<i32>, String, String)> for Ran {
    fn from((code, stdout, stderr): (Option<i32>, String, String)) -> Ran {
        Ran {
            code,
            stdout,
            stderr,
        }
    }
}

impl Ran {
    /// A finished program's output, whatever bytes it printed (those that
    /// are not UTF-8 replaced), for programs fed hostile input.
    pub fn lossy(out: Output) -> Ran {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        Ran::from((out.status.code(), text(&out.stdout), text(&out.stderr)))
    }

    /// Fails unless the program exited with `code`.
    #[track_caller]
    pub fn exits(self, code: i32) -> Ran {
        assert_eq!(self.code, Some(code), "{}\n{}", self.stdout, self.stderr);
        self
    }

    /// Fails unless the standard output holds each of `needles`.
    #[track_caller]
    pub fn says(self, needles: &[&str]) -> Ran {
        holds(&self.stdout, "standard output", needles, true);
        self
    }

    /// Fails if the standard output holds any of `needles`.
    #[track_caller]
    pub fn never_says(self, needles: &[&str]) -> Ran {
        holds(&self.stdout, "standard output", needles, false);
        self
    }

    /// Fails unless the standard error holds each of `needles`.
    #[track_caller]
    pub fn warns(self, needles: &[&str]) -> Ran {
        holds(&self.stderr, "standard error", needles, true);
        self
    }
}

/// Fails unless `text` (the program's `stream`) holds each of `needles`
/// (`wanted`), or none of them.
#[track_caller]
fn holds(text: &str, stream: &str, needles: &[&str], wanted: bool) {
    for needle in needles {
        let what = if wanted { "no" } else { "an unwanted" };
        assert!(
            text.contains(needle) == wanted,
            "{what} {needle:?} in the {stream}:\n{text}"
        );
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
