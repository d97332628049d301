//! Cookie dates as RFC 6265bis (draft 20) §5.1.1 reads them, and the
//! `Expires` attribute of a `Set-Cookie` as §5.6 and §5.6.1 process it.
//!
//! The specs say that clients, the conformance runner included, read
//! `Expires` with this algorithm (`moin-1.9` and `moin-1.6` section 5). The
//! `cookie` crate, which the runner uses for the rest of a `Set-Cookie`,
//! reads four fixed date formats instead, and reads some two-digit years
//! differently; [`parse_set_cookie`] therefore parses with the crate and
//! then sets the expiry this module computes.
//!
//! | `Expires` value | instant |
//! | --- | --- |
//! | `Sun, 06 Nov 1994 08:49:37 GMT` | 1994-11-06T08:49:37Z |
//! | `Sunday, 06-Nov-94 08:49:37 GMT` | 1994-11-06T08:49:37Z |
//! | `Wed, 02-Jun-55 00:01:30 GMT` | 2055-06-02T00:01:30Z (`00`–`69` are 20xx) |
//! | `Monday, 02-Mar-2055 00:00:30 GMT` | 2055-03-02T00:00:30Z |
//! | `06 nov 1994 8:49:37` | 1994-11-06T08:49:37Z (any order, any case) |
//! | `Sun, 06 Nov 1994` | none: no time |
//! | `Feb 30 2000 00:00:00` | none: no such date |

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use cookie::Cookie;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// A cookie date and the form it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieDate {
    /// The instant the date denotes.
    pub instant: OffsetDateTime,
    /// How many digits the year was written with (2 to 4).
    pub year_digits: usize,
    /// The number the year's digits denote as written, before steps 3 and
    /// 4 of the algorithm add a century (`55` for `55`, `55` for `0055`).
    pub year_as_written: u32,
    /// How many letters the weekday name had, when the date names one
    /// (3 for `Wed`, 9 for `Wednesday`).
    pub weekday_letters: Option<usize>,
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, 0x09 | 0x20..=0x2F | 0x3B..=0x40 | 0x5B..=0x60 | 0x7B..=0x7E)
}

/// The leading ASCII digits of `token` and what follows them.
fn digits(token: &[u8]) -> (&[u8], &[u8]) {
    let n = token.iter().take_while(|b| b.is_ascii_digit()).count();
    token.split_at(n)
}

fn number(ds: &[u8]) -> u32 {
    ds.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// `1*2DIGIT` at the start of `token` followed by `rest_ok`; the value and
/// the remainder.
fn field(token: &[u8]) -> Option<(u32, &[u8])> {
    let (ds, rest) = digits(token);
    (1..=2).contains(&ds.len()).then(|| (number(ds), rest))
}

/// The `time` production: `hms-time [ non-digit *OCTET ]`.
fn time_of(token: &[u8]) -> Option<(u32, u32, u32)> {
    let (h, rest) = field(token)?;
    let rest = rest.strip_prefix(b":")?;
    let (m, rest) = field(rest)?;
    let rest = rest.strip_prefix(b":")?;
    let (s, _) = field(rest)?;
    Some((h, m, s))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn month_of(token: &[u8]) -> Option<Month> {
    let head = token.get(..3)?.to_ascii_lowercase();
    let i = MONTHS.iter().position(|m| m[..] == head[..])?;
    Month::try_from(u8::try_from(i + 1).expect("twelve months")).ok()
}

/// How many letters a weekday name token has, if it is one (`Wed` or
/// `Wednesday`, any case).
fn weekday_letters(token: &[u8]) -> Option<usize> {
    let t = std::str::from_utf8(token).ok()?.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .any(|w| t == *w || (t.len() == 3 && w.starts_with(&t)))
        .then_some(t.len())
}

/// Parses a cookie date with the algorithm of RFC 6265bis §5.1.1.
///
/// ```
/// use moin_session_conformance::run::cookie_date::parse_cookie_date;
/// let d = parse_cookie_date("Wed, 02-Jun-55 00:01:30 GMT").unwrap();
/// assert_eq!(d.instant, time::macros::datetime!(2055-06-02 00:01:30 UTC));
/// assert_eq!(d.year_digits, 2);
/// assert_eq!(d.weekday_letters, Some(3));
/// assert!(parse_cookie_date("Sun, 06 Nov 1994").is_none());
/// ```
pub fn parse_cookie_date(text: &str) -> Option<CookieDate> {
    let bytes = text.as_bytes();
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    let mut weekday = None;
    for token in bytes.split(|b| is_delimiter(*b)).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = time_of(token) {
                time = Some(t);
                continue;
            }
        }
        let (ds, _) = digits(token);
        if day.is_none() && (1..=2).contains(&ds.len()) {
            day = Some(number(ds));
            continue;
        }
        if month.is_none() {
            if let Some(m) = month_of(token) {
                month = Some(m);
                continue;
            }
        }
        if year.is_none() && (2..=4).contains(&ds.len()) {
            year = Some((number(ds), ds.len()));
            continue;
        }
        if weekday.is_none() {
            weekday = weekday_letters(token);
        }
    }
    let ((hour, minute, second), day, month, (year_as_written, year_digits)) =
        (time?, day?, month?, year?);
    let mut y = year_as_written;
    // Steps 3 and 4: two-digit years.
    if (70..=99).contains(&y) {
        y += 1900;
    } else if y <= 69 {
        y += 2000;
    }
    // Step 5.
    if !(1..=31).contains(&day) || y < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Step 6: a date that exists.
    let date =
        Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(CookieDate {
        instant: PrimitiveDateTime::new(date, time).assume_utc(),
        year_digits,
        year_as_written,
        weekday_letters: weekday,
    })
}

/// The `Expires` attribute of a `Set-Cookie` header as RFC 6265bis §5.6
/// and §5.6.1 process it: the last `Expires` attribute whose value (at
/// most 1024 octets, trimmed) parses as a cookie date. Attribute names are
/// matched without regard to case.
///
/// ```
/// use moin_session_conformance::run::cookie_date::expires_attribute;
/// let h = "A=1; expires=bogus; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/";
/// assert_eq!(expires_attribute(h).unwrap().instant.unix_timestamp(), 0);
/// assert!(expires_attribute("A=1; Max-Age=5").is_none());
/// ```
pub fn expires_attribute(header: &str) -> Option<CookieDate> {
    let (_, attributes) = header.split_once(';')?;
    attributes.split(';').rev().find_map(|av| {
        let (name, value) = av.split_once('=').unwrap_or((av, ""));
        let value = value.trim_matches([' ', '\t']);
        (name
            .trim_matches([' ', '\t'])
            .eq_ignore_ascii_case("expires")
            && value.len() <= 1024)
            .then(|| parse_cookie_date(value))
            .flatten()
    })
}

/// A `Set-Cookie` header parsed as the runner's browser parses it: name,
/// value and attributes by the `cookie` crate, `Expires` by RFC 6265bis
/// ([`expires_attribute`]), which replaces whatever the crate read.
///
/// ```
/// use moin_session_conformance::run::cookie_date::parse_set_cookie;
/// let c = parse_set_cookie("S=v; Expires=Monday, 02-Mar-2055 00:00:30 GMT").unwrap();
/// assert_eq!(c.expires_datetime(), Some(time::macros::datetime!(2055-03-02 00:00:30 UTC)));
/// ```
pub fn parse_set_cookie(header: &str) -> Result<Rc<Cookie<'static>>, cookie::ParseError> {
    // One header is read several times in a row (the comparison, the
    // browser, the random trace's own browser): the last few are kept,
    // and shared rather than copied.
    thread_local! {
        static RECENT: RefCell<VecDeque<(String, Parsed)>> = const { RefCell::new(VecDeque::new()) };
    }
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        if let Some((_, parsed)) = recent.iter().find(|(h, _)| h == header) {
            return parsed.clone();
        }
        let parsed = parse_uncached(header);
        if recent.len() == RECENT_HEADERS {
            recent.pop_front();
        }
        recent.push_back((header.to_owned(), parsed.clone()));
        parsed
    })
}

/// What parsing one header gave.
type Parsed = Result<Rc<Cookie<'static>>, cookie::ParseError>;

/// How many parsed headers [`parse_set_cookie`] keeps.
const RECENT_HEADERS: usize = 8;

fn parse_uncached(header: &str) -> Parsed {
    let mut c = Cookie::parse(header.to_owned())?;
    match expires_attribute(header) {
        Some(date) => c.set_expires(date.instant),
        None => c.unset_expires(),
    }
    Ok(Rc::new(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn at(text: &str) -> Option<OffsetDateTime> {
        parse_cookie_date(text).map(|d| d.instant)
    }

    /// Each text reads as its instant.
    fn reads(cases: &[(&str, OffsetDateTime)]) {
        for (text, instant) in cases {
            assert_eq!(at(text), Some(*instant), "{text:?}");
        }
    }

    #[test]
    fn the_usual_forms() {
        let t = datetime!(1994-11-06 08:49:37 UTC);
        reads(&[
            ("Sun, 06 Nov 1994 08:49:37 GMT", t),
            ("Sunday, 06-Nov-94 08:49:37 GMT", t),
            ("Sun Nov  6 08:49:37 1994", t),
            ("06 nov 1994 8:49:37", t),
            (
                "Monday, 02-Mar-2055 00:00:30 GMT",
                datetime!(2055-03-02 00:00:30 UTC),
            ),
        ]);
    }

    #[test]
    fn two_digit_years_pivot_at_70() {
        reads(&[
            (
                "Wed, 02-Jun-55 00:01:30 GMT",
                datetime!(2055-06-02 00:01:30 UTC),
            ),
            (
                "Thu, 03-Jan-75 12:00:30 GMT",
                datetime!(1975-01-03 12:00:30 UTC),
            ),
            (
                "Fri, 31-Dec-69 23:59:59 GMT",
                datetime!(2069-12-31 23:59:59 UTC),
            ),
        ]);
        assert_eq!(
            at("01 Jan 70 00:00:00").map(|t| t.unix_timestamp()),
            Some(0)
        );
    }

    #[test]
    fn what_fails() {
        assert_eq!(at("Sun, 06 Nov 1994"), None);
        assert_eq!(at("Nov 1994 08:49:37"), None);
        assert_eq!(at("30 Feb 2000 00:00:00"), None);
        assert_eq!(at("32 Jan 2000 00:00:00"), None);
        assert_eq!(at("01 Jan 1600 00:00:00"), None);
        assert_eq!(at("01 Jan 2000 24:00:00"), None);
        assert_eq!(at("01 Jan 2000 00:60:00"), None);
        assert_eq!(at(""), None);
        assert_eq!(at("01 Jan 12345 00:00:00"), None);
    }

    #[test]
    fn two_digit_year_boundaries() {
        // Step 4 adds 2000 to 0 to 69; step 3 adds 1900 to 70 to 99. The
        // steps look at the value, not at how many digits wrote it.
        reads(&[
            ("01 Jan 00 00:00:00", datetime!(2000-01-01 00:00:00 UTC)),
            ("31 Dec 99 23:59:59", datetime!(1999-12-31 23:59:59 UTC)),
            ("01 Jan 069 00:00:00", datetime!(2069-01-01 00:00:00 UTC)),
            ("01 Jan 0070 00:00:00", datetime!(1970-01-01 00:00:00 UTC)),
        ]);
        let d = parse_cookie_date("02 Jun 0055 00:01:30").unwrap();
        assert_eq!(
            (d.instant.year(), d.year_digits, d.year_as_written),
            (2055, 4, 55)
        );
        // A value of 100 or more is taken as it is: below 1601 it fails.
        assert_eq!(at("01 Jan 999 00:00:00"), None);
        assert_eq!(at("01 Jan 1600 23:59:59"), None);
        reads(&[("01 Jan 1601 00:00:00", datetime!(1601-01-01 00:00:00 UTC))]);
        // One digit is a day, never a year.
        assert_eq!(at("01 Jan 5 00:00:00"), None);
    }

    #[test]
    fn out_of_range_fields() {
        assert_eq!(at("00 Jan 2000 00:00:00"), None, "day 0");
        assert_eq!(at("01 Jan 2000 00:00:60"), None, "a leap second");
        assert_eq!(at("01 Jan 2000 23:59:59").map(|t| t.hour()), Some(23));
        assert_eq!(
            at("29 Feb 2000 00:00:00"),
            Some(datetime!(2000-02-29 00:00:00 UTC))
        );
        assert_eq!(at("29 Feb 2100 00:00:00"), None, "2100 is no leap year");
        assert_eq!(at("31 Apr 2000 00:00:00"), None);
        assert_eq!(
            at("31 Dec 9999 23:59:59"),
            Some(datetime!(9999-12-31 23:59:59 UTC))
        );
        // The first token of one or two digits is the day, even where a
        // reader would see a year: 94 is no day of a month.
        assert_eq!(at("Nov 94 06 08:49:37"), None);
    }

    #[test]
    fn delimiters_and_tokens() {
        let t = datetime!(1994-11-06 08:49:37 UTC);
        // Tab and every delimiter range of the grammar split tokens;
        // leading and trailing delimiters are allowed.
        assert_eq!(at("\tSun,\t06/Nov/1994\t08:49:37\t"), Some(t));
        assert_eq!(at("!06\"Nov#1994$08:49:37%"), Some(t));
        assert_eq!(at(";06<Nov=1994>08:49:37?@"), Some(t));
        assert_eq!(at("[06\\Nov]1994^08:49:37_`"), Some(t));
        assert_eq!(at("{06|Nov}1994~08:49:37"), Some(t));
        // `:` is no delimiter: a time is one token.
        assert_eq!(at("06 Nov 1994 08 49 37"), None);
        // What follows the digits of a token, after a non-digit, is ignored.
        assert_eq!(at("6th NOVEMBER 1994AD 08:49:37GMT"), Some(t));
        assert_eq!(at("06 Nov 1994 08:49:37.999"), Some(t));
        // Control characters (but tab) and bytes above 0x7E are part of a
        // token, not delimiters.
        assert_eq!(at("06\u{1} Nov 1994\u{7f} 08:49:37"), Some(t));
        assert_eq!(at("06 Nové 1994é 08:49:37"), Some(t));
        assert_eq!(at("06\u{1}Nov 1994 08:49:37"), None, "no month token");
        // A third time field of three digits is no time; the token is then
        // read as a day (its first two digits), and no time is found.
        assert_eq!(at("Nov 1994 08:49:370 06"), None);
        // Only the first time, day, month and year count.
        assert_eq!(at("06 Nov 1994 08:49:37 07 Dec 1995 09:00:00"), Some(t));
    }

    #[test]
    fn the_form_is_reported() {
        let d = parse_cookie_date("Wednesday, 02-Jun-2055 00:01:30 GMT").unwrap();
        assert_eq!((d.year_digits, d.weekday_letters), (4, Some(9)));
        let d = parse_cookie_date("02 Jun 2055 00:01:30").unwrap();
        assert_eq!(d.weekday_letters, None);
    }

    #[test]
    fn the_last_valid_expires_counts() {
        let h = "A=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; EXPIRES=Fri, 02 Jan 1970 00:00:00 GMT; expires=junk";
        assert_eq!(
            expires_attribute(h).unwrap().instant.unix_timestamp(),
            86400
        );
        let long = format!("A=1; Expires={}01 Jan 1970 00:00:00", " ".repeat(2000));
        assert_eq!(
            expires_attribute(&long).map(|d| d.instant.unix_timestamp()),
            Some(0),
            "leading blanks are trimmed before the 1024-octet limit"
        );
        let long = format!("A=1; Expires=01 Jan 1970 00:00:00 {}", "x".repeat(1100));
        assert!(expires_attribute(&long).is_none());
    }

    #[test]
    fn the_crate_reading_is_replaced() {
        let c = parse_set_cookie("S=v; Expires=Wed, 02-Jun-55 00:01:30 GMT").unwrap();
        assert_eq!(
            c.expires_datetime(),
            Some(datetime!(2055-06-02 00:01:30 UTC))
        );
        let c = parse_set_cookie("S=v; Expires=nonsense").unwrap();
        assert_eq!(c.expires_datetime(), None);
    }
}
