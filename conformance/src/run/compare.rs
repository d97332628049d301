//! The one comparison: what a step expected against what the backend did.
//!
//! The same code judges fixture steps and random traces, for every kind of
//! backend. It returns every difference it finds, not just the first.

use std::collections::BTreeSet;

use moin_session_spec::fixture::{RequestExpect, SidRef};
use moin_session_spec::Response;
use serde_json::Value;
use time::OffsetDateTime;

pub use crate::run::bindings::Bindings;
use crate::run::compare_cookie::compare_cookies;
pub use crate::run::difference::{cut, Difference, Field, SHOWN_CHARS};
use crate::run::difference::{diff, set_field, show_opt};

/// Compares a request step's expectation with a response observed at `now`.
pub fn compare_request(
    expect: &RequestExpect,
    observed: &Response,
    now: OffsetDateTime,
    bindings: &mut Bindings,
) -> Vec<Difference> {
    let mut out = Vec::new();
    if expect.new != observed.new {
        out.push(diff(Field::New, "new", expect.new, observed.new));
    }
    if expect.user != observed.user {
        let show = |u: &Option<String>| u.clone().unwrap_or_else(|| "anonymous".to_owned());
        out.push(diff(
            Field::User,
            "user",
            show(&expect.user),
            show(&observed.user),
        ));
    }
    if expect.results.len() != observed.results.len() {
        out.push(diff(
            Field::Results,
            "results",
            format!("{} value(s)", expect.results.len()),
            format!("{} value(s)", observed.results.len()),
        ));
    } else {
        for (i, (e, o)) in expect.results.iter().zip(&observed.results).enumerate() {
            if e != o {
                // Both present but unequal: the value did not survive;
                // one absent: the record or the session did not.
                let field = if e.is_null() || o.is_null() {
                    Field::Results
                } else {
                    Field::StoredValue
                };
                out.push(diff(
                    field,
                    format!("results[{i}]"),
                    show_value(e),
                    show_value(o),
                ));
            }
        }
    }
    if let Some(want) = expect.uncacheable {
        let got = observed
            .cache_control
            .as_deref()
            .is_some_and(is_uncacheable);
        if want != got {
            out.push(diff(
                Field::Uncacheable,
                "uncacheable",
                if want {
                    "Cache-Control with private or no-store"
                } else {
                    "no such marking"
                },
                show_opt(observed.cache_control.as_deref()),
            ));
        }
    }
    out.extend(compare_cookies(
        &expect.set_cookies,
        &observed.set_cookies,
        now,
        bindings,
    ));
    out
}

/// Whether a Cache-Control value keeps shared caches from storing the
/// response: it has `private` or `no-store`. (`no-cache` does not: a cache
/// may store the response and revalidate it.)
///
/// ```
/// use moin_session_conformance::run::compare::is_uncacheable;
/// assert!(is_uncacheable("private, must-revalidate, max-age=10"));
/// assert!(is_uncacheable("No-Store"));
/// assert!(!is_uncacheable("no-cache"));
/// assert!(!is_uncacheable("public, max-age=60"));
/// ```
pub fn is_uncacheable(cache_control: &str) -> bool {
    cache_control.split(',').any(|d| {
        let d = d
            .trim()
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(d.as_str(), "private" | "no-store")
    })
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "absent (null)".to_owned(),
        other => other.to_string(),
    }
}

/// Compares an expected set of sids (`removed`, `sids`) with what was
/// observed, order aside. At most one symbol may be unbound: it binds to
/// the one observed id not otherwise accounted for, which must be fresh.
pub fn compare_sid_set(
    field: &str,
    expected: &[SidRef],
    observed: &[String],
    bindings: &mut Bindings,
) -> Vec<Difference> {
    let got: BTreeSet<String> = observed.iter().cloned().collect();
    let unbound: Vec<&SidRef> = expected
        .iter()
        .filter(|s| bindings.resolve(s).is_none())
        .collect();
    if let [symbol] = unbound.as_slice() {
        let known: BTreeSet<String> = expected
            .iter()
            .filter_map(|s| bindings.resolve(s))
            .collect();
        let rest: Vec<&String> = got.iter().filter(|s| !known.contains(*s)).collect();
        if let [one] = rest.as_slice() {
            if bindings.check(symbol, one).is_err() {
                return vec![diff(
                    set_field(field),
                    field,
                    format!("a fresh id for {symbol}"),
                    bindings.symbolize(one),
                )];
            }
        }
    }
    let want: BTreeSet<String> = expected
        .iter()
        .map(|s| {
            bindings
                .resolve(s)
                .unwrap_or_else(|| format!("<unbound {s}>"))
        })
        .collect();
    for sid in observed {
        bindings.see(sid);
    }
    if want == got && observed.len() == got.len() {
        return Vec::new();
    }
    let show = |set: &BTreeSet<String>| {
        let v: Vec<String> = set.iter().map(|s| bindings.symbolize(s)).collect();
        format!("[{}]", v.join(", "))
    };
    let kind = if observed.len() != got.len() {
        Field::SidsRepeated
    } else {
        set_field(field)
    };
    let mut d = diff(kind, field, show(&want), show(&got));
    if observed.len() != got.len() {
        d.observed.push_str(" (with duplicates)");
    }
    vec![d]
}

#[cfg(test)]
mod tests {
    use super::*;
    use moin_session_spec::fixture::CookieExpect;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2009-03-01 12:00:30 UTC);

    fn issued(value: &str) -> CookieExpect {
        CookieExpect {
            name: "S".into(),
            deleted: false,
            value: Some(value.into()),
            max_age: Some(3600),
            expires: Some(datetime!(2009-03-01 13:00 UTC)),
            path: "/".into(),
            domain: None,
            secure: Some(false),
            httponly: Some(false),
            samesite: None,
        }
    }

    fn expect(cookies: Vec<CookieExpect>) -> RequestExpect {
        RequestExpect {
            new: true,
            user: None,
            set_cookies: cookies,
            results: vec![],
            uncacheable: None,
        }
    }

    fn response(headers: &[&str]) -> Response {
        Response {
            new: true,
            user: None,
            set_cookies: headers.iter().map(|h| h.to_string()).collect(),
            results: vec![],
            cache_control: None,
        }
    }

    const GOOD: &str = "S=abc; Max-Age=3600; Expires=Sun, 01 Mar 2009 13:00:00 GMT; Path=/";

    /// Compares `header` with the expectation of one cookie issued with
    /// the sid `symbol`, at `NOW`.
    fn issue(symbol: &str, header: &str, b: &mut Bindings) -> Vec<Difference> {
        compare_request(&expect(vec![issued(symbol)]), &response(&[header]), NOW, b)
    }

    /// The field of each difference.
    fn fields(d: &[Difference]) -> Vec<Field> {
        d.iter().map(|d| d.field).collect()
    }

    #[test]
    fn a_matching_cookie_binds_its_symbol() {
        let mut b = Bindings::new();
        assert!(issue("$s1", GOOD, &mut b).is_empty());
        assert_eq!(b.get("$s1"), Some("abc"));
        // Bound now: the same symbol must be the same sid.
        assert!(issue("$s1", GOOD, &mut b).is_empty());
        // A new symbol needs a fresh sid.
        let d = issue("$s2", GOOD, &mut b);
        assert_eq!(d.len(), 1);
        assert!(d[0].expected.contains("fresh"), "{}", d[0]);
    }

    #[test]
    fn every_attribute_is_compared() {
        let mut b = Bindings::new();
        let bad = "S=abc; Max-Age=60; Expires=Sun, 01 Mar 2009 13:00:01 GMT; Path=/x; Domain=example.org; Secure; HttpOnly";
        let d = issue("$s1", bad, &mut b);
        let whats: Vec<&str> = d.iter().map(|d| d.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "set_cookies[S].max_age",
                "set_cookies[S].expires",
                "set_cookies[S].path",
                "set_cookies[S].domain",
                "set_cookies[S].secure",
                "set_cookies[S].httponly"
            ]
        );
    }

    #[test]
    fn missing_extra_and_garbage_cookies_are_differences() {
        let mut b = Bindings::new();
        let d = compare_request(&expect(vec![issued("$s1")]), &response(&[]), NOW, &mut b);
        assert_eq!(d[0].observed, "none");
        let d = compare_request(&expect(vec![]), &response(&[GOOD, "garbage"]), NOW, &mut b);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn deletions_are_compared_in_full() {
        let del = CookieExpect {
            name: "S".into(),
            deleted: true,
            value: None,
            max_age: None,
            expires: None,
            path: "/".into(),
            domain: None,
            secure: None,
            httponly: None,
            samesite: None,
        };
        let mut b = Bindings::new();
        let good = "S=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/";
        assert!(
            compare_request(&expect(vec![del.clone()]), &response(&[good]), NOW, &mut b).is_empty()
        );
        // Each of these still removes the cookie, but is not the deletion form.
        for (form, what) in [
            ("S=; Max-Age=0; Path=/", "set_cookies[S].expires"),
            (
                "S=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                "set_cookies[S].max_age",
            ),
            (
                "S=x; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
                "set_cookies[S].value",
            ),
            (
                "S=; Max-Age=0; Expires=Sun, 01 Mar 2009 12:00:30 GMT; Path=/",
                "set_cookies[S].expires",
            ),
            (
                "S=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure",
                "set_cookies[S].secure",
            ),
        ] {
            let d = compare_request(&expect(vec![del.clone()]), &response(&[form]), NOW, &mut b);
            assert_eq!(d.len(), 1, "{form}: {d:?}");
            assert_eq!(d[0].what, what, "{form}");
            assert_eq!(d[0].field, Field::DeletionForm, "{form}");
        }
        let d = compare_request(&expect(vec![del]), &response(&[GOOD]), NOW, &mut b);
        assert_eq!(d[0].what, "set_cookies[S].kind");
    }

    #[test]
    fn a_shift_of_both_max_age_and_expires_is_the_lifetime() {
        let mut b = Bindings::new();
        let longer = "S=abc; Max-Age=3660; Expires=Sun, 01 Mar 2009 13:01:00 GMT; Path=/";
        let d = issue("$s1", longer, &mut b);
        assert_eq!(fields(&d), [Field::Lifetime, Field::Lifetime]);
        let unfloored = "S=abc; Max-Age=3600; Expires=Sun, 01 Mar 2009 13:00:30 GMT; Path=/";
        let d = issue("$s1", unfloored, &mut b);
        assert_eq!(fields(&d), [Field::Expires]);
    }

    #[test]
    fn a_cookie_of_another_name_is_a_name_difference() {
        let mut b = Bindings::new();
        let other = GOOD.replace("S=abc", "T=abc");
        let d = issue("$s1", &other, &mut b);
        assert_eq!(fields(&d), [Field::Name, Field::Name]);
    }

    #[test]
    fn new_user_and_results_are_exact() {
        let mut b = Bindings::new();
        let mut e = expect(vec![]);
        e.results = vec![Value::Null, Value::from(3)];
        let mut r = response(&[]);
        r.new = false;
        r.user = Some("alice".into());
        r.results = vec![Value::from(3), Value::from(3)];
        let d = compare_request(&e, &r, NOW, &mut b);
        let whats: Vec<&str> = d.iter().map(|d| d.what.as_str()).collect();
        assert_eq!(whats, ["new", "user", "results[0]"]);
    }

    #[test]
    fn sid_sets_ignore_order_but_not_content() {
        let mut b = Bindings::new();
        issue("$s1", GOOD, &mut b);
        assert!(compare_sid_set("sids", &["$s1".into()], &["abc".into()], &mut b).is_empty());
        let d = compare_sid_set("sids", &[], &["abc".into()], &mut b);
        assert_eq!(d[0].observed, "[$s1]");
        let d = compare_sid_set(
            "sids",
            &["$s1".into()],
            &["abc".into(), "abc".into()],
            &mut b,
        );
        assert!(d[0].observed.contains("duplicates"));
    }

    #[test]
    fn latest_symbols_rebind_and_judge_nothing() {
        let mut b = Bindings::new();
        let mut e = issued("$l1");
        e.max_age = Some(3600);
        assert!(
            compare_request(&expect(vec![e.clone()]), &response(&[GOOD]), NOW, &mut b).is_empty()
        );
        let other = GOOD.replace("S=abc", "S=x:y");
        assert!(compare_request(&expect(vec![e]), &response(&[&other]), NOW, &mut b).is_empty());
        assert_eq!(b.get("$l1"), Some("x:y"));
    }

    #[test]
    fn one_unbound_symbol_in_a_set_binds_to_the_remaining_id() {
        let mut b = Bindings::new();
        issue("$s1", GOOD, &mut b);
        let observed = vec!["abc".to_owned(), "rec".to_owned()];
        assert!(
            compare_sid_set("sids", &["$s1".into(), "$s2".into()], &observed, &mut b).is_empty()
        );
        assert_eq!(b.get("$s2"), Some("rec"));
        // Bound now; a set without it differs.
        assert_eq!(
            compare_sid_set("sids", &["$s2".into()], &["abc".to_owned()], &mut b).len(),
            1
        );
    }

    #[test]
    fn uncacheable_is_judged_when_expected() {
        let mut b = Bindings::new();
        let mut e = expect(vec![]);
        e.uncacheable = Some(true);
        let mut r = response(&[]);
        assert_eq!(compare_request(&e, &r, NOW, &mut b)[0].what, "uncacheable");
        r.cache_control = Some("private, max-age=10".into());
        assert!(compare_request(&e, &r, NOW, &mut b).is_empty());
    }
}
