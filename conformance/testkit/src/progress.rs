//! Progress lines for long loops, so that no test binary is silent for
//! long: at most one line every [`EVERY`], written straight to the
//! process's standard error (libtest captures `eprintln!`, not the
//! stream itself).

use std::io::Write;
use std::time::{Duration, Instant};

/// How often a loop says how far it is, at most.
pub const EVERY: Duration = Duration::from_secs(10);

/// A loop of `total` steps that says how far it is.
#[derive(Debug)]
pub struct Progress {
    what: String,
    total: usize,
    start: Instant,
    last: Instant,
}

impl Progress {
    /// A loop called `what` (e.g. `differential moin-1.6 over file`).
    pub fn new(what: impl Into<String>, total: usize) -> Progress {
        let now = Instant::now();
        Progress {
            what: what.into(),
            total,
            start: now,
            last: now,
        }
    }

    /// `done` steps are done: prints a line when [`EVERY`] has passed
    /// since the last one (or since the start).
    pub fn tick(&mut self, done: usize) {
        if self.last.elapsed() < EVERY {
            return;
        }
        self.last = Instant::now();
        let line = format!(
            "    … {}: {done} of {} ({} s)\n",
            self.what,
            self.total,
            self.start.elapsed().as_secs()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Says `what` on the process's standard error at once (not captured by
/// libtest): for a step that may take long, such as installing packages.
pub fn note(what: &str) {
    let line = format!("    … {what}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
