//! What a random trace is before the model runs over it: the
//! deterministic generator ([`Rng`]), the abstract steps ([`AbstractStep`],
//! [`CookiePick`]) and the trace ([`Skeleton`]). Below both the generator
//! and materialisation ([`crate::random::materialize`]) and the interleaving
//! ([`crate::random::interleave`]), which share it.

use moin_session_spec::{AuthAction, CleanupMode, ConfigPatch, Op, Profile};
use time::{Duration, OffsetDateTime};

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same traces on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Which cookie a request sends.
#[derive(Debug, Clone, PartialEq)]
pub enum CookiePick {
    /// What the browser's jar holds.
    Jar,
    /// No cookie.
    None,
    /// The last session cookie value the server issued, whatever the jar says.
    ReplayLast,
    /// That value with a character appended.
    TamperLast,
    /// A well-formed sid the client made up.
    MadeUp(String),
    /// The last issued value and a pad cookie that makes the header
    /// `delta` bytes longer than the hardened `max_cookie_header`, the pad
    /// in two-byte UTF-8 characters when `multibyte`.
    Padded {
        /// Bytes over the limit (-1, 0 or 1).
        delta: i8,
        /// Whether the pad is `é`s (two bytes each) or ASCII.
        multibyte: bool,
    },
}

/// One abstract step.
#[derive(Debug, Clone, PartialEq)]
pub enum AbstractStep {
    /// Move the clock.
    Advance(Duration),
    /// One request.
    Request {
        /// Over https.
        https: bool,
        /// Which cookie it sends.
        cookies: CookiePick,
        /// The authentication action.
        auth: AuthAction,
        /// The session operations.
        ops: Vec<Op>,
    },
    /// A cleanup.
    Cleanup(CleanupMode, Option<String>),
    /// List the store.
    List,
    /// Change the configuration.
    Reconfigure(Box<ConfigPatch>),
    /// Make the last issued sid's record unreadable.
    Corrupt,
    /// Open a request in a slot (`random_interleave::handle` names it) that
    /// finishes in a later step.
    Open {
        /// The slot.
        slot: u8,
        /// Over https.
        https: bool,
        /// Which cookie it sends.
        cookies: CookiePick,
        /// The authentication action.
        auth: AuthAction,
        /// The session operations at the open.
        ops: Vec<Op>,
    },
    /// More session operations in the slot's open request.
    Ops {
        /// The slot.
        slot: u8,
        /// The operations.
        ops: Vec<Op>,
    },
    /// Finish the slot's open request.
    Finish {
        /// The slot.
        slot: u8,
    },
}

/// A random trace before the model has run over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Skeleton {
    /// The profile.
    pub profile: Profile,
    /// The configuration.
    pub config: ConfigPatch,
    /// The clock's start.
    pub start: OffsetDateTime,
    /// The steps.
    pub steps: Vec<AbstractStep>,
}

/// Why a skeleton cannot be written as a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable(pub String);
