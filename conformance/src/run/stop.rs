//! Stopping a run early: after `--max-failures` cases or traces that did
//! not agree, after a run of errors that are all the same, after a run of
//! step timeouts, or when a signal interrupted the run. A run that stops
//! says why and how much it did not run; what it did not run is never
//! counted as passed (the stop itself follows a failure or an error, so
//! the run fails).

use std::fmt;

use crate::lifecycle;
use crate::run::runner::Verdict;

/// When a run stops before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopRules {
    /// After this many cases or traces that failed or errored (`None`:
    /// never).
    pub max_failures: Option<usize>,
    /// After this many errors in a row with the same message (numbers and
    /// ids aside); 0: never.
    pub identical_errors: usize,
    /// After this many step timeouts in a row; 0: never.
    pub timeouts: usize,
}

impl Default for StopRules {
    /// No failure limit; 10 identical errors or 3 step timeouts in a row.
    fn default() -> Self {
        StopRules {
            max_failures: None,
            identical_errors: 10,
            timeouts: 3,
        }
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// A signal (`SIGINT`, `SIGTERM`, `SIGHUP`) interrupted it.
    Interrupted(i32),
    /// `--max-failures` was reached.
    MaxFailures(usize),
    /// This many errors in a row had the same message.
    IdenticalErrors(usize),
    /// This many step timeouts in a row.
    Timeouts(usize),
}

impl Stopped {
    /// Whether the run was interrupted by a signal.
    pub fn interrupted(&self) -> bool {
        matches!(self, Stopped::Interrupted(_))
    }
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Interrupted(s) => write!(
                f,
                "interrupted by {}: this is a partial report",
                lifecycle::signal_name(*s)
            ),
            Stopped::MaxFailures(n) => write!(f, "--max-failures {n} reached"),
            Stopped::IdenticalErrors(n) => write!(
                f,
                "{n} errors in a row with the same message (--stop-after-errors)"
            ),
            Stopped::Timeouts(n) => {
                write!(f, "{n} step timeouts in a row (--stop-after-timeouts)")
            }
        }
    }
}

/// Whether an error message is a step timeout's (`r[proto.runner.timeout]`).
pub fn is_step_timeout(message: &str) -> bool {
    message.contains(crate::adapter::STEP_TIMEOUT)
}

/// An error message's identity for "the same error": its first line with
/// numbers, long hexadecimal runs (sids, addresses) and quoted values
/// blanked, so that messages that differ only in those compare equal.
///
/// ```
/// use moin_session_conformance::run::stop::error_identity;
/// assert_eq!(
///     error_identity("seq 12: cannot write /tmp/s/0f3a9c2e77aa01bb: disk full\nmore"),
///     error_identity("seq 9: cannot write /tmp/s/77be01c2d3e4f5a6: disk full"),
/// );
/// assert_ne!(error_identity("disk full"), error_identity("timed out"));
/// ```
pub fn error_identity(message: &str) -> String {
    let line = message.lines().next().unwrap_or("");
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = word.len() >= 8 && word.bytes().all(|b| b.is_ascii_hexdigit());
        let number = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
        out.push_str(if number {
            "N"
        } else if hex {
            "X"
        } else {
            word
        });
        word.clear();
    };
    let mut quoted = false;
    for c in line.chars() {
        if c == '"' {
            flush(&mut word, &mut out);
            if !quoted {
                out.push_str("\"…");
            }
            quoted = !quoted;
            if !quoted {
                out.push('"');
            }
        } else if quoted {
            continue;
        } else if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Keeps count of the verdicts of a run and says when it must stop.
#[derive(Debug, Default)]
pub struct Stopper {
    rules: StopRules,
    failures: usize,
    last_error: Option<String>,
    same_errors: usize,
    timeouts: usize,
    stopped: Option<Stopped>,
}

impl Stopper {
    /// A stopper for `rules`.
    pub fn new(rules: StopRules) -> Stopper {
        Stopper {
            rules,
            ..Stopper::default()
        }
    }

    /// Counts one verdict.
    pub fn record(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Fail { .. } => {
                self.failures += 1;
                self.last_error = None;
                self.same_errors = 0;
                self.timeouts = 0;
            }
            Verdict::Errored { message, .. } => {
                self.failures += 1;
                let id = error_identity(message);
                if self.last_error.as_deref() == Some(id.as_str()) {
                    self.same_errors += 1;
                } else {
                    self.last_error = Some(id);
                    self.same_errors = 1;
                }
                if is_step_timeout(message) {
                    self.timeouts += 1;
                } else {
                    self.timeouts = 0;
                }
            }
            Verdict::Pass => {
                self.last_error = None;
                self.same_errors = 0;
                self.timeouts = 0;
            }
            Verdict::Skipped { .. } => {}
        }
        self.judge();
    }

    fn judge(&mut self) {
        if self.stopped.is_some() {
            return;
        }
        let r = self.rules;
        self.stopped = if r.max_failures.is_some_and(|m| self.failures >= m) {
            Some(Stopped::MaxFailures(self.failures))
        } else if r.timeouts > 0 && self.timeouts >= r.timeouts {
            Some(Stopped::Timeouts(self.timeouts))
        } else if r.identical_errors > 0 && self.same_errors >= r.identical_errors {
            Some(Stopped::IdenticalErrors(self.same_errors))
        } else {
            None
        };
    }

    /// Why the run must stop now, if it must (a signal included).
    pub fn stopped(&mut self) -> Option<&Stopped> {
        if let Some(signal) = lifecycle::interrupted() {
            if !self.stopped.as_ref().is_some_and(Stopped::interrupted) {
                self.stopped = Some(Stopped::Interrupted(signal));
            }
        }
        self.stopped.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(message: &str) -> Verdict {
        Verdict::Errored {
            step: 1,
            message: message.to_owned(),
        }
    }

    #[test]
    fn identical_errors_stop_after_the_limit_and_a_pass_resets_the_count() {
        let mut s = Stopper::new(StopRules::default());
        for n in 0..9 {
            s.record(&error(&format!("adapter crashed at seq {n}")));
        }
        assert_eq!(s.stopped(), None);
        s.record(&Verdict::Pass);
        for n in 0..9 {
            s.record(&error(&format!("adapter crashed at seq {n}")));
        }
        assert_eq!(s.stopped(), None);
        s.record(&error("adapter crashed at seq 99"));
        assert_eq!(s.stopped(), Some(&Stopped::IdenticalErrors(10)));
    }

    #[test]
    fn different_errors_do_not_stop_the_run() {
        let mut s = Stopper::new(StopRules::default());
        for n in 0..30 {
            s.record(&error(if n % 2 == 0 { "disk full" } else { "crashed" }));
        }
        assert_eq!(s.stopped(), None);
    }

    #[test]
    fn step_timeouts_in_a_row_stop_the_run() {
        let mut s = Stopper::new(StopRules::default());
        let timeout = format!(
            "the adapter {} `request` (seq 3)",
            crate::adapter::STEP_TIMEOUT
        );
        s.record(&error(&timeout));
        s.record(&error(&timeout.replace("request", "list")));
        assert_eq!(s.stopped(), None);
        s.record(&error(&timeout));
        assert_eq!(s.stopped(), Some(&Stopped::Timeouts(3)));
    }

    #[test]
    fn max_failures_counts_failures_and_errors() {
        let mut s = Stopper::new(StopRules {
            max_failures: Some(2),
            ..StopRules::default()
        });
        s.record(&Verdict::Fail {
            step: 1,
            differences: Vec::new(),
            violated: Vec::new(),
        });
        assert_eq!(s.stopped(), None);
        s.record(&error("x"));
        assert_eq!(s.stopped(), Some(&Stopped::MaxFailures(2)));
    }
}
