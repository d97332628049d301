//! Session ids: their form, a deterministic source for the model
//! ([`SeededSids`]) and the production source ([`OsSids`], in `os.rs`, the
//! one file outside the model that draws ambient randomness).
//!
//! Implements the sid form of `r[m19.load.malformed-sid]` and
//! `r[m19.cookie.sid-form]`, the forms of moin-1.6 values
//! (`r[m16.anon.name-form]`, `r[m16.logincookie.form]`,
//! `r[m16.logincookie.size]`), and RFC 6265's cookie octets
//! (`r[m16.session.anon-name-octets]`).

use crate::profile::Profile;

/// The longest fresh moin-1.6 anonymous name, in characters
/// (`r[m16.anon.name-form]`).
pub const M16_ANON_NAME_MAX: usize = 100;

/// The longest moin-1.6 logged-in cookie value, in octets
/// (`r[m16.logincookie.size]`).
pub const M16_LOGIN_VALUE_MAX: usize = 4000;

/// Whether `b` is an RFC 6265 `cookie-octet`: a visible US-ASCII
/// character other than `"`, `,`, `;` and `\`.
///
/// ```
/// use moin_session_spec::sid::is_cookie_octet;
/// assert!(is_cookie_octet(b'a') && is_cookie_octet(b':') && is_cookie_octet(b'='));
/// assert!(!is_cookie_octet(b' ') && !is_cookie_octet(b'"') && !is_cookie_octet(0));
/// assert!(!is_cookie_octet(0xc3));
/// ```
pub fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Whether `v` is an RFC 6265 `cookie-value`: cookie octets, optionally
/// in double quotes.
///
/// ```
/// use moin_session_spec::sid::is_cookie_value;
/// assert!(is_cookie_value("abc:def") && is_cookie_value("\"abc\"") && is_cookie_value(""));
/// assert!(!is_cookie_value("a b") && !is_cookie_value("a\"b") && !is_cookie_value("\"ab"));
/// ```
pub fn is_cookie_value(v: &str) -> bool {
    let inner = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    inner.bytes().all(is_cookie_octet)
}

/// Why a session cookie value a backend issued (not one the client sent
/// first) has the wrong form for `profile`; `None` when the form is right.
/// The reason ends with the clause it breaks.
///
/// ```
/// use moin_session_spec::sid::issued_value_problem;
/// use moin_session_spec::Profile;
/// assert_eq!(issued_value_problem(Profile::Moin19, &"0a".repeat(20)), None);
/// assert!(issued_value_problem(Profile::Moin19, "SESS-1").unwrap().contains("m19.cookie.sid-form"));
/// assert_eq!(issued_value_problem(Profile::Moin16, "Abc_9-x"), None);
/// assert!(issued_value_problem(Profile::Moin16, "SESS.1").unwrap().contains("m16.anon.name-form"));
/// assert_eq!(issued_value_problem(Profile::Moin16, "login:1:x"), None);
/// assert!(issued_value_problem(Profile::Moin16, "a b:c").unwrap().contains("m16.logincookie.form"));
/// ```
pub fn issued_value_problem(profile: Profile, value: &str) -> Option<&'static str> {
    match profile {
        Profile::Moin19 => (!is_well_formed(value))
            .then_some("a well-formed sid: 40 characters of 0-9 and a-f [r[m19.cookie.sid-form]]"),
        Profile::Hardened => (!is_well_formed(value)).then_some(
            "a fresh sid: 40 characters of 0-9 and a-f, 160 random bits [r[hard.sid.entropy]]",
        ),
        Profile::Moin16 if value.contains(':') => {
            if !is_cookie_value(value) {
                Some("a logged-in value of RFC 6265 cookie octets [r[m16.logincookie.form]]")
            } else if value.len() > M16_LOGIN_VALUE_MAX {
                Some("a logged-in value of at most 4000 octets [r[m16.logincookie.size]]")
            } else {
                None
            }
        }
        Profile::Moin16 => {
            let ok = !value.is_empty()
                && value.len() <= M16_ANON_NAME_MAX
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            (!ok).then_some(
                "a fresh anonymous name: 1 to 100 characters of A-Z, a-z, 0-9, _ and - [r[m16.anon.name-form]]",
            )
        }
    }
}

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

/// `bytes` as lowercase hexadecimal, two digits a byte.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
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
        let mut bytes = [0u8; 24];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_be_bytes());
        }
        lower_hex(&bytes[..20])
    }
}

mod os;

pub use os::OsSids;

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeded ids are the SplitMix64 outputs in hexadecimal, 16 digits
    /// each, cut to 40: the same ids for a seed as ever.
    #[test]
    fn seeded_ids_are_the_generator_in_hexadecimal() {
        for seed in [0, 1, 7, 0x5eed, u64::MAX] {
            let mut sids = SeededSids::new(seed);
            let mut again = SeededSids::new(seed);
            for _ in 0..50 {
                let mut words = format!(
                    "{:016x}{:016x}{:016x}",
                    again.next_u64(),
                    again.next_u64(),
                    again.next_u64()
                );
                words.truncate(40);
                assert_eq!(sids.next_sid(), words);
            }
        }
        assert_eq!(lower_hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
