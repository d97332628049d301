//! Record ids: which ids the stores of this crate hold ([`is_valid_id`],
//! [`check_id`]) and the moin-1.9 session id check ([`check_sid`]), made
//! before any storage is touched, so that no id can name a path.

use super::StoreError;

/// The longest namespaced record id (see [`check_id`]): short enough that
/// a file store's temporary file name for it fits in 255 bytes.
pub const MAX_ID_LEN: usize = 217;

/// Whether `id` is a record id the stores of this crate hold: either a
/// moin-1.9 session id (40 lowercase hexadecimal characters), or a
/// *namespaced id* `<ns>-<body>`, where `<ns>` is 1 to 16 lowercase ASCII
/// letters and `<body>` 1 to 200 lowercase hexadecimal characters.
///
/// Both forms are made only of `a`-`z`, `0`-`9` and `-`, never start with
/// `.`, and are at most [`MAX_ID_LEN`] bytes long, so an id is always a
/// plain file name and never a path. Namespaced ids are how a service keeps
/// records of different kinds apart in one store (the moin-1.6 service
/// stores anonymous names hex-encoded as `anon-<hex>`, see
/// [`M16SessionService`](crate::M16SessionService)).
///
/// ```
/// use moin_session_spec::store::is_valid_id;
/// assert!(is_valid_id(&"a".repeat(40)));
/// assert!(is_valid_id("anon-2e2e2f78"));
/// assert!(!is_valid_id(&"a".repeat(41)));
/// assert!(!is_valid_id("anon-../x"));
/// assert!(!is_valid_id("Anon-00"));
/// assert!(!is_valid_id("README"));
/// ```
pub fn is_valid_id(id: &str) -> bool {
    if crate::sid::is_well_formed(id) {
        return true;
    }
    let Some((ns, body)) = id.split_once('-') else {
        return false;
    };
    (1..=16).contains(&ns.len())
        && ns.bytes().all(|b| b.is_ascii_lowercase())
        && (1..=200).contains(&body.len())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks that `id` is a record id the stores of this crate hold
/// ([`is_valid_id`]): a moin-1.9 session id or a namespaced id.
///
/// ```
/// use moin_session_spec::store::check_id;
/// assert!(check_id(&"a".repeat(40)).is_ok());
/// assert!(check_id("login-0123abcd").is_ok());
/// assert!(check_id("../../etc/passwd").is_err());
/// ```
pub fn check_id(id: &str) -> Result<(), StoreError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(StoreError::InvalidId {
            id: id.to_owned(),
            rule: "a record id is 40 lowercase hexadecimal characters (r[m19.load.malformed-sid]) \
                   or a namespaced id: 1 to 16 lowercase letters, '-', 1 to 200 lowercase \
                   hexadecimal characters",
        })
    }
}

/// Checks that `sid` is a moin-1.9 session id (40 lowercase hexadecimal
/// characters). The stores accept more ([`check_id`]); the moin-1.9
/// service never asks them for anything else.
///
/// ```
/// use moin_session_spec::store::check_sid;
/// assert!(check_sid(&"a".repeat(40)).is_ok());
/// assert!(check_sid("../../etc/passwd").is_err());
/// assert!(check_sid("anon-00").is_err());
/// ```
pub fn check_sid(sid: &str) -> Result<(), StoreError> {
    if crate::sid::is_well_formed(sid) {
        Ok(())
    } else {
        Err(StoreError::InvalidId {
            id: sid.to_owned(),
            rule: "a record id is 40 lowercase hexadecimal characters (r[m19.load.malformed-sid])",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn ids_are_sids_or_namespaced_hex() {
        for good in [
            "a".repeat(40),
            "anon-00".to_owned(),
            format!("login-{}", "f".repeat(40)),
            format!("abcdefghijklmnop-{}", "0".repeat(200)),
        ] {
            assert!(check_id(&good).is_ok(), "{good}");
        }
        for bad in [
            String::new(),
            "-00".to_owned(),
            "anon-".to_owned(),
            "anon-0g".to_owned(),
            "anon-00-00".to_owned(),
            "an0n-00".to_owned(),
            ".tmp-00".to_owned(),
            "anon-../x".to_owned(),
            "anon-00/..".to_owned(),
            "G".repeat(40),
            "a".repeat(41),
            format!("abcdefghijklmnopq-{}", "0".repeat(4)),
            format!("anon-{}", "0".repeat(201)),
        ] {
            assert!(check_id(&bad).is_err(), "{bad}");
        }
        assert!(format!("abcdefghijklmnop-{}", "0".repeat(200)).len() == MAX_ID_LEN);
    }

    #[test]
    fn errors_name_the_place_and_rule() {
        let e = check_sid("x/y").unwrap_err();
        assert!(e.to_string().contains("\"x/y\""), "{e}");
        assert!(e.to_string().contains("40 lowercase"), "{e}");
        let e = StoreError::Io {
            op: "read a record",
            path: PathBuf::from("/s/abc"),
            source: std::io::Error::other("boom"),
        };
        assert_eq!(e.to_string(), "store: cannot read a record at /s/abc: boom");
        assert!(std::error::Error::source(&e).is_some());
    }
}
