//! The model's account of what it did, by clause: which rule decided the
//! session at the last load, which rule removed or kept each record at the
//! last cleanup, and which rule wrote (or left out) each record's
//! `expires`. It exists for attribution only: the conformance runner
//! blames a difference on the rule that decided what differs, and a wrong
//! stored field seen only later on the rule that governs the write. The
//! rules never read it.
//!
//! Kept for moin-1.9; the other profiles give an empty account, and
//! attribution falls back to its table.

use std::collections::BTreeMap;

/// The rule that wrote a record's `expires`, and what the other writing
/// rule would have stored instead (`other`: for the counterfactual of
/// [`super::Model::swap_writer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// The clause that wrote it.
    pub(crate) by: &'static str,
    /// The `expires` the other rule would have written: `Some` instant for
    /// a record written without one, `None` (no `expires`) for one written
    /// with one.
    pub(crate) other: Option<i64>,
}

/// The moin-1.9 rule that saves a new logged-in session without `expires`.
pub(crate) const LOGIN_WITHOUT_EXPIRES: &str = "m19.persist.login-without-expires";
/// The moin-1.9 rule that records `expires` on every other save.
pub(crate) const EXPIRES_RECORDED: &str = "m19.persist.expires-recorded";

/// The rules that write a stored field, which attribution may blame for a
/// difference seen later ([`super::Model::swap_writer`]).
pub const WRITERS: &[&str] = &[LOGIN_WITHOUT_EXPIRES, EXPIRES_RECORDED];

/// What the model's last request, open or cleanup did, by clause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// The rule that decided the session at the last load, when one of the
    /// load rules about the cookie, the sid or the record did (`None` for a
    /// request without a cookie and for an ordinary load of a stored
    /// record).
    pub load: Option<&'static str>,
    /// The record the last load read (its sid) and the rule that wrote its
    /// `expires`.
    pub load_read: Option<(String, &'static str)>,
    /// Per sid the last cleanup judged, the rule that removed or kept it
    /// and the rule that wrote the `expires` it was judged by.
    pub cleanup: BTreeMap<String, Judged>,
}

/// How the last cleanup judged one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// Whether it was removed.
    pub removed: bool,
    /// The clause that removed or kept it.
    pub by: &'static str,
    /// The clause that wrote its `expires` (or left it out), when known.
    pub written_by: Option<&'static str>,
}
