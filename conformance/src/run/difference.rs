//! What the comparison reports: one [`Difference`] per way an observation
//! differs from its expectation, with the [`Field`] it is about (which
//! attribution, [`crate::run::attribution`], maps to a clause).

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::report::inert::visible;

/// Declares [`Field`] and [`Field::ALL`] from one list of its variants.
macro_rules! fields {
    ($($(#[doc = $doc:literal])* $variant:ident,)+) => {
        /// Which part of an observation a [`Difference`] is about: what
        /// attribution ([`crate::run::attribution`]) maps to the governing clause.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Field {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Field {
            /// Every field, in the order of their declaration.
            pub const ALL: &'static [Field] = &[$(Field::$variant),+];
        }
    };
}

fields! {
    /// The `new` flag.
    New,
    /// The user the request ran as.
    User,
    /// The values read back (`get`, `macro`): their number, or one absent
    /// where the other is present.
    Results,
    /// A value read back that is present but not equal to what was stored.
    StoredValue,
    /// The `Cache-Control` marking.
    Uncacheable,
    /// The value of an issued cookie: the session's sid or name.
    Value,
    /// The form of an issued cookie's value (a sid's syntax, a name's
    /// octets, a logged-in cookie's size).
    ValueForm,
    /// `SameSite` of an issued cookie.
    SameSite,
    /// An expected cookie is absent from the response.
    Missing,
    /// The response issues a cookie no expectation accounts for.
    Extra,
    /// The response deletes a cookie where no expectation accounts for it.
    ExtraDeletion,
    /// A second Set-Cookie of a name already matched.
    Duplicate,
    /// An expected cookie is absent and an unexpected one of another name is
    /// present: the cookie's name.
    Name,
    /// A `Set-Cookie` header a browser cannot parse.
    Unparsable,
    /// A deletion where a cookie was expected to be issued, or the reverse.
    Kind,
    /// `Max-Age` of an issued cookie, alone.
    MaxAge,
    /// `Expires` of an issued cookie, alone.
    Expires,
    /// The form of an issued cookie's `Expires` date: its year written with
    /// too few digits, or a full weekday name with a four-digit year
    /// (`m16.cookie.expires-year`).
    ExpiresForm,
    /// `Max-Age` and `Expires` of an issued cookie both off by the same
    /// amount: the lifetime `L`.
    Lifetime,
    /// `Path`.
    Path,
    /// `Domain`.
    Domain,
    /// `Secure` of an issued cookie.
    Secure,
    /// `HttpOnly` of an issued cookie.
    HttpOnly,
    /// The form of a deletion cookie: its value, `Max-Age`, `Expires`,
    /// `Secure`.
    DeletionForm,
    /// The sids a listing returned.
    Sids,
    /// A listing or cleanup that names one sid more than once.
    SidsRepeated,
    /// The sids a cleanup removed.
    Removed,
}

/// One way an observation differs from the expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What was compared, e.g. `set_cookies[MOIN_SESSION_8080_ROOT].max_age`.
    pub what: String,
    /// The kind of thing that differs.
    pub field: Field,
    /// What the spec says.
    pub expected: String,
    /// What the backend did.
    pub observed: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, observed {}",
            self.what, self.expected, self.observed
        )
    }
}

pub(crate) fn diff(
    field: Field,
    what: impl Into<String>,
    expected: impl fmt::Display,
    observed: impl fmt::Display,
) -> Difference {
    // What a backend or a fixture wrote is shown, never obeyed.
    Difference {
        what: visible(&what.into()),
        field,
        expected: cut(&visible(&expected.to_string())),
        observed: cut(&visible(&observed.to_string())),
    }
}

/// The most characters of one value a difference shows.
pub const SHOWN_CHARS: usize = 200;

/// `text` cut to [`SHOWN_CHARS`] characters, with its size when cut, so a
/// hostile 10 MB value stays readable in every report.
///
/// ```
/// use moin_session_conformance::run::compare::cut;
/// assert_eq!(cut("short"), "short");
/// let long = "x".repeat(1000);
/// assert!(cut(&long).ends_with("… (1000 bytes in all)"));
/// ```
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes in all)", &text[..end], text.len()),
    }
}

/// An optional value as a difference shows it (`none` when absent).
pub(crate) fn show_opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// An instant as a difference shows it (RFC 3339).
pub(crate) fn show_instant(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// The field of a sid set by its name (`removed` or `sids`).
pub(crate) fn set_field(name: &str) -> Field {
    if name == "removed" {
        Field::Removed
    } else {
        Field::Sids
    }
}
