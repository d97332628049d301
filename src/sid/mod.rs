//! Session ids: their form, a deterministic source for the model
//! ([`SeededSids`]) and the production source ([`OsSids`], in `os.rs`, the
//! one file outside the model that draws ambient randomness).
//!
//! Implements the sid form of `r[m19.load.malformed-sid]`.

/// Whether `sid` has the form of a moin-1.9 session id: exactly 40
/// lowercase hexadecimal characters.
///
/// ```
/// use moin_session_spec::sid::is_well_formed;
/// assert!(is_well_formed(&"ab".repeat(20)));
/// assert!(!is_well_formed(&"AB".repeat(20)));
/// assert!(!is_well_formed("abc"));
/// ```
pub fn is_well_formed(sid: &str) -> bool {
    sid.len() == 40
        && sid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A source of fresh session ids.
///
/// Production code draws from the operating system's CSPRNG; the model and
/// tests use [`SeededSids`], so that a run is repeatable.
pub trait SidSource {
    /// The next session id: 40 lowercase hexadecimal characters.
    fn next_sid(&mut self) -> String;
}

/// A deterministic, seeded sid source (SplitMix64). Not for production:
/// its ids are predictable by design.
///
/// ```
/// use moin_session_spec::sid::{SeededSids, SidSource, is_well_formed};
/// let mut a = SeededSids::new(7);
/// let mut b = SeededSids::new(7);
/// let sid = a.next_sid();
/// assert!(is_well_formed(&sid));
/// assert_eq!(sid, b.next_sid());
/// assert_ne!(sid, a.next_sid());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededSids {
    state: u64,
}

impl SeededSids {
    /// A source starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededSids { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl SidSource for SeededSids {
    fn next_sid(&mut self) -> String {
        let mut s = format!(
            "{:016x}{:016x}{:016x}",
            self.next_u64(),
            self.next_u64(),
            self.next_u64()
        );
        s.truncate(40);
        s
    }
}

mod os;

pub use os::OsSids;
