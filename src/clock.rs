//! The clock of the reference service: every decision takes `now` from the
//! request; only [`SystemClock`] reads the real time, once per request, in
//! production.
//!
//! Follows the spec's implementer note on time (section 18): use the same
//! `now` for the expiry test at load, the minute floor and `Expires`.

use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// A source of the current instant.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
}

/// The real time. The only place of this crate that reads the wall clock.
///
/// ```
/// use moin_session_spec::clock::{Clock, SystemClock};
/// assert!(SystemClock.now().year() >= 2024);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that says what it is told, for tests: whole seconds since the
/// epoch, advanced by hand, shareable between threads.
///
/// ```
/// use moin_session_spec::clock::{Clock, ManualClock};
/// let clock = ManualClock::at(1_700_000_000);
/// clock.advance(59);
/// assert_eq!(clock.now().unix_timestamp(), 1_700_000_059);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    secs: AtomicI64,
}

impl ManualClock {
    /// A clock at `secs` seconds since the epoch.
    pub fn at(secs: i64) -> Self {
        ManualClock {
            secs: AtomicI64::new(secs),
        }
    }

    /// Moves the clock `secs` seconds forward (or back, if negative).
    pub fn advance(&self, secs: i64) {
        self.secs.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.secs.load(Ordering::SeqCst))
            .expect("a manual clock is set within the range of dates")
    }
}
