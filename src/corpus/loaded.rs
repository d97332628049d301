//! What the loader produces and reports, below both the loader
//! (`load.rs`) and the case checks (`check.rs`): a loaded case, a fixture
//! error that names its place, the bounds of the virtual clock, and the
//! line index that turns byte offsets into lines and columns.

use std::fmt;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::config::Config;

use super::case::Case;

/// A malformed fixture: where, and which rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the error is about the file as a whole.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong, ending with the rule's name in brackets.
    pub message: String,
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for FixtureError {}

/// A loaded case with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedCase {
    /// The case.
    pub case: Case,
    /// Its file.
    pub file: PathBuf,
    /// Its validated starting configuration; `None` for a case that
    /// shows the configuration is rejected.
    pub config: Option<Config>,
}

/// Line starts of a text, for turning byte offsets into lines and columns
/// in logarithmic time (a file of many cases loads in time linear in its
/// size).
pub(crate) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn of(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// The 1-based line and column of byte `at`.
    pub(crate) fn position(&self, at: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|s| *s <= at);
        let start = self.starts[line.saturating_sub(1)];
        (line, at - start + 1)
    }
}

pub(crate) fn locate_in(lines: &Lines, text: &str, needle: &str, from: usize) -> (usize, usize) {
    match text.get(from..).and_then(|t| t.find(needle)) {
        Some(i) => lines.position(from + i),
        None => (0, 0),
    }
}

/// The earliest instant a corpus clock may show: the epoch (the specs'
/// `now` is never negative).
pub const EARLIEST_INSTANT: OffsetDateTime = time::macros::datetime!(1970-01-01 00:00:00 UTC);

/// The latest instant a corpus clock may show: the year 9000 leaves room
/// for every instant a backend computes from now (lifetimes of up to 100
/// years, grace periods) within four-digit years.
pub const LATEST_INSTANT: OffsetDateTime = time::macros::datetime!(9000-01-01 00:00:00 UTC);
