//! [`OsSids`]: session ids from the operating system's CSPRNG, for
//! production. The one place of this crate that draws ambient randomness.
//!
//! Follows the spec's implementer note on sid generation (section 18): sids
//! SHOULD come from a cryptographically secure generator; they have the form
//! of `r[m19.load.malformed-sid]`'s well-formed sid.

use super::SidSource;

/// Draws each sid as 160 bits from the operating system's CSPRNG
/// (`getrandom`), written as 40 lowercase hexadecimal characters.
///
/// ```
/// use moin_session_spec::sid::{is_well_formed, OsSids, SidSource};
/// let mut sids = OsSids::new();
/// let a = sids.next_sid();
/// assert!(is_well_formed(&a));
/// assert_ne!(a, sids.next_sid());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsSids;

impl OsSids {
    /// The OS source.
    pub fn new() -> Self {
        OsSids
    }
}

impl SidSource for OsSids {
    fn next_sid(&mut self) -> String {
        let mut bytes = [0u8; 20];
        // A machine whose kernel cannot provide random bytes cannot issue
        // unguessable session ids; there is no safe fallback.
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        super::lower_hex(&bytes)
    }
}
