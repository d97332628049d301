//! The records, record ids and signed logged-in values of the moin-1.6
//! reference service ([`super::m16`]): how anonymous names, logins and
//! their session records map onto store ids, and how a logged-in cookie
//! value is signed and checked (`r[m16.logincookie.bound]`,
//! `r[m16.logincookie.unforgeable]`, `r[m16.session.anon-refresh]`: names
//! are keys, never paths).
//!
//! # What lives where
//!
//! Everything a request needs is in the store, under namespaced record ids
//! ([`check_id`](crate::store::check_id)); nothing is kept in the service
//! between requests but the configuration and the users' `remember_me`
//! preferences (in memory, as for moin-1.9).
//!
//! | record id | what | listed as a session |
//! | --- | --- | --- |
//! | `anon-<hex of the name>` | an anonymous session's data and `expires` | yes, as the anonymous name |
//! | `login-<r>` | a login's session data and `expires` | yes, as `login:<r>` |
//! | `key-<id>` | a login: its user, its signing secret, its record `r` | no |
//! | `lease-<id>` | a login: the latest expiry of any cookie issued for it | no |
//!
//! **Anonymous names are keys, never paths** (`r[m16.session.anon-refresh]`).
//! Any client-sent value without `:` is an anonymous name; its record id is
//! `anon-` followed by the name's UTF-8 bytes in lowercase hex, so `../x`
//! is the id `anon-2e2e2f78`, a plain file name. Names longer than
//! [`MAX_ANON_NAME`] bytes (which a store id cannot hold) are treated like
//! an absent cookie: `moin_session` ignores them and `moin_anon_session`
//! replaces them with a fresh name. Fresh names are 40 hexadecimal
//! characters from the injected [`SidSource`](crate::sid::SidSource).
//!
//! **Listing** (`r[m16.store.list]`) shows session records only: the
//! anonymous name of each `anon-` record and `login:<r>` for each `login-`
//! record. The `:` makes a login's listed name differ from every anonymous
//! name, which never contains one (`r[m16.logincookie.form]`); the login's
//! id, secret and lease are not sessions and are not listed. Ids of other
//! forms (a moin-1.9 sid left in a shared directory) are not listed and
//! never touched.
//!
//! # The logged-in cookie
//!
//! `<id>:<E>:<tag>`: the login's id (40 hex), the cookie expiry `E` in
//! whole seconds since 1970, and `tag` = HMAC-SHA256 over `<id>:<E>` (the
//! bytes as sent) keyed with the login's own 320-bit secret, in lowercase
//! hex. The secret never leaves the server (`key-<id>`), so:
//!
//! - *bound* (`r[m16.logincookie.bound]`): the id names one login, whose
//!   record holds its user and its session record; the tag ties the value
//!   to that login's secret;
//! - *unforgeable* (`r[m16.logincookie.unforgeable]`): changing any
//!   character changes the id (another secret, or none) or the signed text
//!   (the tag no longer verifies, checked in constant time); parts of two
//!   issued values carry one login's id and another's tag; anything that
//!   does not parse is ignored without touching the store;
//! - *revocable* (`r[m16.logincookie.revoked]`): logout deletes `key-<id>`;
//!   every value ever issued for the login then names no secret. Refreshes
//!   never rewrite `key-<id>` (only the lease), so a refresh racing a
//!   logout cannot bring the login back;
//! - *expiring* (`r[m16.logincookie.expiry]`): `E` is signed, and a value
//!   is ignored when `now > E`.
//!
//! The login's session record `login-<r>` is named by a separate random
//! draw, so neither the cookie nor the listing reveals the other (the
//! spec's implementer note on record names).
//!

use hmac::{Hmac, Mac};
use serde_json::Value;
use time::OffsetDateTime;

use crate::store::{Loaded, Record};
use sha2::Sha256;

/// The longest anonymous name, in bytes, that has a record id
/// (`anon-` and two hex digits per byte fit in a store id).
pub const MAX_ANON_NAME: usize = 100;

/// The record key holding a record's `expires`, whole seconds.
const EXPIRES: &str = "expires";

/// Namespaces of record ids (see the module documentation).
const NS_ANON: &str = "anon";
const NS_LOGIN: &str = "login";
const NS_KEY: &str = "key";
const NS_LEASE: &str = "lease";

/// A record id of this service, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    /// An anonymous session, by its name.
    Anon(String),
    /// A login's session record, by its random name (hex).
    Login(String),
    /// A login (user, secret, record), by the login's id (hex).
    Secret(String),
    /// A login's latest cookie expiry, by the login's id (hex).
    Lease(String),
}

impl Key {
    /// The anonymous session key of `name`, if the name fits a store id.
    pub(super) fn anon(name: &str) -> Option<Key> {
        (!name.is_empty() && name.len() <= MAX_ANON_NAME && !name.contains(':'))
            .then(|| Key::Anon(name.to_owned()))
    }

    /// The store id.
    pub(super) fn id(&self) -> String {
        match self {
            Key::Anon(name) => format!("{NS_ANON}-{}", hex(name.as_bytes())),
            Key::Login(r) => format!("{NS_LOGIN}-{r}"),
            Key::Secret(id) => format!("{NS_KEY}-{id}"),
            Key::Lease(id) => format!("{NS_LEASE}-{id}"),
        }
    }

    /// The key of a store id, or `None` for an id this service never makes.
    pub(super) fn parse(id: &str) -> Option<Key> {
        let (ns, body) = id.split_once('-')?;
        match ns {
            NS_ANON => {
                let name = String::from_utf8(unhex(body)?).ok()?;
                Key::anon(&name)
            }
            NS_LOGIN => Some(Key::Login(body.to_owned())),
            NS_KEY => Some(Key::Secret(body.to_owned())),
            NS_LEASE => Some(Key::Lease(body.to_owned())),
            _ => None,
        }
    }

    /// The name `list` and cleanup report for a session record
    /// (`r[m16.store.list]`); `None` for a login's own records.
    pub(super) fn listed(&self) -> Option<String> {
        match self {
            Key::Anon(name) => Some(name.clone()),
            Key::Login(r) => Some(format!("{NS_LOGIN}:{r}")),
            Key::Secret(_) | Key::Lease(_) => None,
        }
    }

    /// The session key of a listed name (the inverse of [`Key::listed`]).
    pub(super) fn of_listed(name: &str) -> Option<Key> {
        match name.split_once(':') {
            Some((NS_LOGIN, r)) if is_hex(r) => Some(Key::Login(r.to_owned())),
            Some(_) => None,
            None => Key::anon(name),
        }
    }
}

/// The signed part's expiry: a plain decimal, as this service writes it.
pub(super) fn parse_expiry(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A logged-in cookie value: `<id>:<E>:<HMAC-SHA256(secret, "<id>:<E>")>`.
pub(super) fn sign(id: &str, expiry: i64, secret: &str) -> String {
    let signed = format!("{id}:{expiry}");
    let tag = mac(secret, &signed).finalize().into_bytes();
    format!("{signed}:{}", hex(&tag))
}

pub(super) fn mac(secret: &str, signed: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(signed.as_bytes());
    mac
}

pub(super) fn hex(bytes: &[u8]) -> String {
    crate::sid::lower_hex(bytes)
}

pub(super) fn is_hex(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Lowercase hex to bytes; `None` for anything else.
pub(super) fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !is_hex(text) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// A lease record: the latest cookie expiry of a login.
pub(super) fn lease(expiry: i64) -> Record {
    Record::from([(EXPIRES.to_owned(), Value::from(expiry))])
}

/// Whether a cleanup in mode `expired` removes an entry: `expires < now`;
/// an entry whose `expires` cannot be read has none left to keep it.
pub(super) fn expired(loaded: &Loaded, now: OffsetDateTime) -> bool {
    match loaded {
        Loaded::Record(record) => match record.get(EXPIRES).and_then(Value::as_i64) {
            Some(secs) => i128::from(secs) * 1_000_000_000 < now.unix_timestamp_nanos(),
            None => true,
        },
        Loaded::Unreadable => true,
    }
}

/// The application data of a session record's entry: its keys but
/// `expires`; nothing for an entry that is absent or cannot be read.
pub(super) fn app_data(loaded: Option<&Loaded>) -> Record {
    match loaded {
        Some(Loaded::Record(record)) => {
            let mut data = record.clone();
            data.remove(EXPIRES);
            data
        }
        _ => Record::new(),
    }
}

/// `data` with `expires` set.
pub(super) fn with_expires(data: &Record, expires: i64) -> Record {
    let mut record = data.clone();
    record.insert(EXPIRES.to_owned(), Value::from(expires));
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_names_are_keys_never_paths() {
        for name in ["../sessions/x", "/etc/passwd", "x", "visitor1", "é"] {
            let key = Key::anon(name).unwrap();
            let id = key.id();
            assert!(crate::store::is_valid_id(&id), "{id}");
            assert_eq!(Key::parse(&id), Some(key.clone()));
            assert_eq!(key.listed().as_deref(), Some(name));
            assert_eq!(Key::of_listed(name), Some(key));
        }
        assert_eq!(Key::anon(""), None);
        assert_eq!(Key::anon("a:b"), None);
        assert_eq!(Key::anon(&"x".repeat(MAX_ANON_NAME + 1)), None);
        assert!(crate::store::is_valid_id(
            &Key::anon(&"\u{7f}".repeat(MAX_ANON_NAME)).unwrap().id()
        ));
        let login = Key::Login("ab".repeat(20));
        assert_eq!(login.listed(), Some(format!("login:{}", "ab".repeat(20))));
        assert_eq!(Key::of_listed(&login.listed().unwrap()), Some(login));
        assert_eq!(Key::Secret("ab".into()).listed(), None);
        assert_eq!(Key::Lease("ab".into()).listed(), None);
        assert_eq!(Key::parse(&"a".repeat(40)), None);
    }

    #[test]
    fn signed_values_verify_and_nothing_else_does() {
        let id = "0123456789abcdef0123456789abcdef01234567";
        let value = sign(id, 1_235_952_030, "secret");
        let (signed, tag) = value.rsplit_once(':').unwrap();
        assert!(mac("secret", signed)
            .verify_slice(&unhex(tag).unwrap())
            .is_ok());
        assert!(mac("other", signed)
            .verify_slice(&unhex(tag).unwrap())
            .is_err());
        assert_eq!(parse_expiry("+5"), None);
        assert_eq!(parse_expiry("99999999999"), Some(99_999_999_999));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
