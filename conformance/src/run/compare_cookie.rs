//! The comparison of `Set-Cookie` headers: each expected cookie against
//! what the backend sent, attribute by attribute as a browser parses them
//! (the `cookie` crate, with `Expires` read by the RFC 6265bis date
//! algorithm of [`crate::run::cookie_date`]), deletion cookies in full, and
//! how a moin-1.6 `Expires` date is written.

use cookie::Cookie;
use moin_session_spec::fixture::CookieExpect;
use time::OffsetDateTime;

use crate::run::bindings::Bindings;
use crate::run::cookie_date::{expires_attribute, parse_set_cookie};
use crate::run::difference::{diff, show_instant, show_opt, Difference, Field};
use crate::run::jar::is_deletion;

/// Compares the expected cookies of a step with the `Set-Cookie` headers
/// observed at `now`.
pub(crate) fn compare_cookies(
    expected: &[CookieExpect],
    observed: &[String],
    now: OffsetDateTime,
    bindings: &mut Bindings,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut parsed: Vec<Option<std::rc::Rc<Cookie<'static>>>> = Vec::new();
    for (i, header) in observed.iter().enumerate() {
        match parse_set_cookie(header) {
            Ok(c) => parsed.push(Some(c)),
            Err(e) => {
                out.push(diff(
                    Field::Unparsable,
                    format!("set_cookies[{i}]"),
                    "a Set-Cookie header that parses (RFC 6265bis)",
                    format!("{header:?} ({e})"),
                ));
                parsed.push(None);
            }
        }
    }
    let mut used = vec![false; parsed.len()];
    for e in expected {
        let found = parsed
            .iter()
            .enumerate()
            .position(|(i, c)| !used[i] && c.as_ref().is_some_and(|c| c.name() == e.name));
        let Some(i) = found else {
            let what = if e.deleted {
                "a deletion"
            } else {
                "a Set-Cookie"
            };
            out.push(diff(
                Field::Missing,
                format!("set_cookies[{}]", e.name),
                what,
                "none",
            ));
            continue;
        };
        used[i] = true;
        let c = parsed[i].as_ref().expect("position found a parsed cookie");
        out.extend(compare_cookie(e, c, now, bindings));
        if !e.deleted && bindings.profile() == Some(moin_session_spec::Profile::Moin16) {
            out.extend(compare_expires_year(e, &observed[i]));
        }
    }
    let missing = out.iter().any(|d| d.field == Field::Missing);
    for (i, c) in parsed.iter().enumerate() {
        if let (false, Some(c)) = (used[i], c) {
            let again = expected.iter().any(|e| e.name == c.name());
            let field = if again {
                Field::Duplicate
            } else if missing {
                Field::Name
            } else if is_deletion(c, now) {
                Field::ExtraDeletion
            } else {
                Field::Extra
            };
            out.push(diff(
                field,
                format!("set_cookies[{}]", c.name()),
                "no such Set-Cookie",
                bindings.symbolize(&observed[i]),
            ));
        }
    }
    if out.iter().any(|d| d.field == Field::Name) {
        for d in out.iter_mut().filter(|d| d.field == Field::Missing) {
            d.field = Field::Name;
        }
    }
    out
}

fn strip_dot(d: &str) -> &str {
    d.strip_prefix('.').unwrap_or(d)
}

/// Compares one expected cookie with the `Set-Cookie` observed for it.
fn compare_cookie(
    e: &CookieExpect,
    c: &Cookie<'_>,
    now: OffsetDateTime,
    bindings: &mut Bindings,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let at = |field: &str| format!("set_cookies[{}].{field}", e.name);
    let deletion = is_deletion(c, now);
    if e.deleted != deletion {
        out.push(diff(
            Field::Kind,
            at("kind"),
            if e.deleted {
                "a deletion"
            } else {
                "an issued cookie"
            },
            if deletion {
                "a deletion"
            } else {
                "an issued cookie"
            },
        ));
        return out;
    }
    if e.deleted {
        // The deletion is judged in full, in the form of its profile.
        let hardened = bindings.profile() == Some(moin_session_spec::Profile::Hardened);
        out.extend(compare_deletion_form(e, c, now, hardened));
    } else {
        out.extend(compare_issued(e, c, bindings));
    }
    out.extend(compare_attributes(e, c));
    out
}

/// An issued cookie's value (its form, and the sid it must be) and its
/// lifetime (`Max-Age`, `Expires`; both off by the same amount is one
/// wrong lifetime).
fn compare_issued(e: &CookieExpect, c: &Cookie<'_>, bindings: &mut Bindings) -> Vec<Difference> {
    let mut out = Vec::new();
    let at = |field: &str| format!("set_cookies[{}].{field}", e.name);
    if let Some(value) = &e.value {
        if let Some(problem) = bindings.form_problem(value, c.value()) {
            out.push(diff(
                Field::ValueForm,
                at("value"),
                problem,
                format!("{:?}", c.value()),
            ));
        }
        if let Err(expected) = bindings.check(value, c.value()) {
            out.push(diff(
                Field::Value,
                at("value"),
                expected,
                bindings.symbolize(c.value()),
            ));
        }
    }
    let observed_age = c.max_age().map(|d| d.whole_seconds());
    let observed_expires = c.expires_datetime();
    let age_off = e.max_age.filter(|m| observed_age != Some(*m));
    let expires_off = e.expires.filter(|x| observed_expires != Some(*x));
    // Both off by the same amount: the lifetime `L` is wrong, not the
    // rendering of either attribute.
    let same_shift = match (age_off, expires_off, observed_age, observed_expires) {
        (Some(m), Some(x), Some(om), Some(ox)) => (ox - x).whole_seconds() == om - m,
        _ => false,
    };
    let (age_field, expires_field) = if same_shift {
        (Field::Lifetime, Field::Lifetime)
    } else {
        (Field::MaxAge, Field::Expires)
    };
    if let Some(max_age) = age_off {
        out.push(diff(
            age_field,
            at("max_age"),
            max_age,
            show_opt(observed_age),
        ));
    }
    if let Some(expires) = expires_off {
        out.push(diff(
            expires_field,
            at("expires"),
            show_instant(expires),
            show_opt(observed_expires.map(show_instant)),
        ));
    }
    out
}

/// The attributes judged on every cookie: `Path`, `Domain`, `Secure`,
/// `HttpOnly`, `SameSite`.
fn compare_attributes(e: &CookieExpect, c: &Cookie<'_>) -> Vec<Difference> {
    let mut out = Vec::new();
    let at = |field: &str| format!("set_cookies[{}].{field}", e.name);
    if c.path() != Some(e.path.as_str()) {
        out.push(diff(Field::Path, at("path"), &e.path, show_opt(c.path())));
    }
    let observed_domain = c.domain().map(strip_dot);
    if e.domain.as_deref().map(strip_dot) != observed_domain {
        out.push(diff(
            Field::Domain,
            at("domain"),
            show_opt(e.domain.as_deref()),
            show_opt(observed_domain),
        ));
    }
    if let Some(secure) = e.secure {
        if c.secure().unwrap_or(false) != secure {
            let field = if e.deleted {
                Field::DeletionForm
            } else {
                Field::Secure
            };
            out.push(diff(field, at("secure"), secure, !secure));
        }
    }
    if let Some(httponly) = e.httponly {
        if c.http_only().unwrap_or(false) != httponly {
            out.push(diff(Field::HttpOnly, at("httponly"), httponly, !httponly));
        }
    }
    if let Some(samesite) = &e.samesite {
        let observed = c.same_site().map(|s| s.to_string());
        if observed.as_deref() != Some(samesite.as_str()) {
            out.push(diff(
                Field::SameSite,
                at("samesite"),
                samesite,
                show_opt(observed.as_deref()),
            ));
        }
    }
    out
}

/// The form of a moin-1.6 `Expires` date (`m16.cookie.expires-year`): a year
/// outside 1970 to 2049 written as itself in four digits, and a four-digit
/// year with a three-letter weekday, if it names one. RFC 6265bis reads the
/// two-digit years 50 to 69 as 2050 to 2069, and `0055` as 2055, so the
/// instant alone cannot show such a year; the form can.
fn compare_expires_year(e: &CookieExpect, header: &str) -> Vec<Difference> {
    let Some(date) = expires_attribute(header) else {
        return Vec::new();
    };
    let at = format!("set_cookies[{}].expires", e.name);
    let year = date.instant.year();
    let mut out = Vec::new();
    let written_whole = date.year_digits == 4 && i64::from(date.year_as_written) == i64::from(year);
    if !(1970..=2049).contains(&year) && !written_whole {
        out.push(diff(
            Field::ExpiresForm,
            at.clone(),
            format!("the year {year} in four digits"),
            format!(
                "{:0width$} ({} digits)",
                date.year_as_written,
                date.year_digits,
                width = date.year_digits
            ),
        ));
    }
    if date.year_digits == 4 && date.weekday_letters.is_some_and(|n| n != 3) {
        out.push(diff(
            Field::ExpiresForm,
            at,
            "a three-letter weekday with a four-digit year",
            "a full weekday name",
        ));
    }
    out
}

/// The form of a deletion cookie. Both originals (`m19.cookie.delete-form`,
/// `m16.cookie.delete-form`): an empty value, `Max-Age=0`, an `Expires`
/// before now, and no `Secure` unless the expectation says otherwise. The
/// hardened profile (`hard.cookie.delete-form`): an empty value, no
/// `Max-Age` at all, an `Expires` before now; its `Secure`, `HttpOnly` and
/// `SameSite`, which a hardened fixture always gives, are compared with
/// the other attributes.
fn compare_deletion_form(
    e: &CookieExpect,
    c: &Cookie<'_>,
    now: OffsetDateTime,
    hardened: bool,
) -> Vec<Difference> {
    let at = |field: &str| format!("set_cookies[{}].{field}", e.name);
    let mut out = Vec::new();
    if !c.value().is_empty() {
        out.push(diff(
            Field::DeletionForm,
            at("value"),
            "an empty value (deletion)",
            format!("{:?}", c.value()),
        ));
    }
    let age = c.max_age().map(|d| d.whole_seconds());
    let (wanted_age, wanted) = if hardened {
        (None, "no Max-Age (deletion by a past Expires)")
    } else {
        (Some(0), "0 (deletion)")
    };
    if age != wanted_age {
        out.push(diff(
            Field::DeletionForm,
            at("max_age"),
            wanted,
            show_opt(age),
        ));
    }
    match c.expires_datetime() {
        Some(t) if t < now => {}
        other => out.push(diff(
            Field::DeletionForm,
            at("expires"),
            format!("an instant before now ({}) (deletion)", show_instant(now)),
            show_opt(other.map(show_instant)),
        )),
    }
    if !hardened && e.secure.is_none() && c.secure().unwrap_or(false) {
        out.push(diff(
            Field::DeletionForm,
            at("secure"),
            "no Secure (deletion)",
            "Secure",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn expect(deleted: bool) -> CookieExpect {
        CookieExpect {
            name: "S".into(),
            deleted,
            value: (!deleted).then(|| "v".into()),
            max_age: None,
            expires: None,
            path: "/".into(),
            domain: None,
            secure: Some(false),
            httponly: Some(!deleted),
            samesite: None,
        }
    }

    fn form_of(header: &str) -> Vec<String> {
        compare_expires_year(&expect(false), header)
            .into_iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn m16_years_outside_1970_to_2049_are_written_whole() {
        let ok = "S=v; Max-Age=1; Expires=Wed, 02-Jun-2055 00:01:30 GMT";
        assert!(form_of(ok).is_empty());
        let ok = "S=v; Max-Age=1; Expires=Monday, 02-Mar-09 00:00:30 GMT";
        assert!(form_of(ok).is_empty(), "two digits are kept for 2009");
        for (header, observed) in [
            (
                "S=v; Expires=Wednesday, 02-Jun-55 00:01:30 GMT",
                "55 (2 digits)",
            ),
            (
                "S=v; Expires=Wed, 02-Jun-0055 00:01:30 GMT",
                "0055 (4 digits)",
            ),
            (
                "S=v; Expires=Wed, 02-Jun-055 00:01:30 GMT",
                "055 (3 digits)",
            ),
        ] {
            let d = form_of(header);
            assert_eq!(d.len(), 1, "{header}: {d:?}");
            assert!(d[0].contains("the year 2055 in four digits"), "{}", d[0]);
            assert!(d[0].contains(observed), "{}", d[0]);
        }
        let d = form_of("S=v; Expires=Wednesday, 02-Jun-2055 00:01:30 GMT");
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("three-letter weekday"), "{}", d[0]);
    }

    #[test]
    fn the_hardened_deletion_form() {
        let now = datetime!(2009-03-01 12:00:30 UTC);
        let judge = |header: &str| {
            let c = parse_set_cookie(header).unwrap();
            compare_deletion_form(&expect(true), &c, now, true)
        };
        assert!(judge("S=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/").is_empty());
        for (header, what) in [
            (
                "S=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                "set_cookies[S].max_age",
            ),
            (
                "S=sid; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                "set_cookies[S].value",
            ),
            (
                "S=; Expires=Sun, 01 Mar 2009 12:00:30 GMT; Path=/",
                "set_cookies[S].expires",
            ),
            ("S=; Max-Age=0; Path=/", "set_cookies[S].max_age"),
        ] {
            let d = judge(header);
            assert!(
                d.iter()
                    .any(|d| d.what == what && d.field == Field::DeletionForm),
                "{header}: {d:?}"
            );
        }
        // A deletion without Expires is missing its past Expires too.
        assert_eq!(judge("S=; Max-Age=0; Path=/").len(), 2);
        // moin-1.9 and moin-1.6 want Max-Age=0.
        let c = parse_set_cookie("S=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/").unwrap();
        let d = compare_deletion_form(&expect(true), &c, now, false);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].what, "set_cookies[S].max_age");
    }
}
