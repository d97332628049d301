//! The comparison of `Set-Cookie` headers: each expected cookie against
//! what the backend sent, attribute by attribute as a browser parses them
//! (the `cookie` crate), and deletion cookies in full.

use cookie::Cookie;
use moin_session_spec::fixture::CookieExpect;
use time::OffsetDateTime;

use crate::run::bindings::Bindings;
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
    let mut parsed: Vec<Option<Cookie<'static>>> = Vec::new();
    for (i, header) in observed.iter().enumerate() {
        match Cookie::parse(header.clone()) {
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
        // Judged in full for the two originals. The hardened deletion
        // carries Secure, and its model and reference both end a session
        // at its absolute timeout with the sid and `Max-Age=0` (a deletion
        // by effect only): judged by effect until that is settled.
        if bindings.profile() != Some(moin_session_spec::Profile::Hardened) {
            out.extend(compare_deletion_form(e, c, now));
        }
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

fn compare_deletion_form(e: &CookieExpect, c: &Cookie<'_>, now: OffsetDateTime) -> Vec<Difference> {
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
    if age != Some(0) {
        out.push(diff(
            Field::DeletionForm,
            at("max_age"),
            "0 (deletion)",
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
    if e.secure.is_none() && c.secure().unwrap_or(false) {
        out.push(diff(
            Field::DeletionForm,
            at("secure"),
            "no Secure (deletion)",
            "Secure",
        ));
    }
    out
}
