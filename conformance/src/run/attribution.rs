//! Attribution: which clause a difference violates.
//!
//! The comparison ([`crate::run::compare`]) says *what* differs (a [`Field`]);
//! this module says *which requirement* governs that field at that step, so
//! that a report can name the one clause that broke instead of every clause
//! a failing case happens to cover.
//!
//! The rule, for one failing step of a case of profile `p`:
//!
//! 1. **Causes before effects.** A request is load, then auth, then the
//!    application, then finalize. When a load field differs (the cookie's
//!    sid value; in moin-1.9 also `new`), every other difference of the
//!    step is its consequence and carries the same clause; else when the
//!    user differs, every later difference (in moin-1.6 `new` too, which
//!    the chain decides last) carries the user's clause. Otherwise each
//!    difference is attributed on its own. The cookie attributes that only
//!    the configuration decides (`Path`, `Domain`, `Secure`, `HttpOnly`,
//!    `SameSite`) are never an effect: they are attributed on their own
//!    rule whatever else differs, so that a difference in them is never
//!    folded into a load clause (nor waived with a deviation on one).
//! 2. **A table of candidates.** Each field has, per profile, an ordered
//!    list of candidate clauses (an entry ending in `.` stands for every
//!    clause with that prefix) and a default. The clause is the first
//!    candidate that the failing step's own `covers` lists; else the first
//!    that the case's `covers` lists; else the default. A case's `covers`
//!    thus says which of several rules that could produce a field it
//!    exercises; the table keeps a field from ever being blamed on a clause
//!    that cannot govern it.
//!
//! | field | moin-1.9 default | moin-1.6 default |
//! | --- | --- | --- |
//! | `new` alone | `m19.new.definition` | `m16.chain.new-flag` |
//! | sid value | `m19.cookie.value-sid` (load clauses when covered) | `m16.session.anon-refresh` |
//! | user | `m19.auth.restore` | `m16.logincookie.bound` |
//! | results | `m19.persist.values` | `m16.store.write-through` |
//! | `Max-Age` alone | `m19.cookie.max-age` | `m16.cookie.max-age-expires` |
//! | `Expires` alone | `m19.cookie.expires-granularity` | `m16.cookie.max-age-expires` |
//! | both by the same amount | `m19.lifetime.seconds` | `m16.lifetime.positive` |
//! | deletion form | `m19.cookie.delete-form` | `m16.cookie.delete-form` |
//! | name | `m19.name.default` | `m16.cookie.name` |
//!
//! ```
//! use moin_session_conformance::run::attribution::attribute;
//! use moin_session_conformance::run::compare::{Difference, Field};
//! use moin_session_spec::Profile;
//! let d = Difference {
//!     what: "set_cookies[S].expires".into(),
//!     field: Field::Expires,
//!     expected: "a".into(),
//!     observed: "b".into(),
//! };
//! let covers = vec!["m19.cookie.max-age".to_owned()];
//! assert_eq!(
//!     attribute(Profile::Moin19, &[d], &[], &covers),
//!     ["m19.cookie.expires-granularity"]
//! );
//! ```

use moin_session_spec::Profile;

use crate::run::compare::{Difference, Field};

/// Candidate clauses for a field, and the clause blamed when the case
/// covers none of them.
struct Rule {
    candidates: &'static [&'static str],
    default: &'static str,
}

const fn rule(candidates: &'static [&'static str], default: &'static str) -> Rule {
    Rule {
        candidates,
        default,
    }
}

/// The load clauses that decide which sid a request gets (1.9).
const M19_LOAD: &[&str] = &[
    "m19.store.capacity",
    "m19.store.clock",
    "m19.load.expired-destroyed",
    "m19.load.expiry-boundary",
    "m19.load.malformed-sid",
    "m19.load.unknown-sid-adopted",
    "m19.load.unreadable-record",
    "m19.load.no-expires",
    "m19.load.first-cookie",
    "m19.load.no-cookie",
    "m19.cleanup.",
    "m19.cookie.value-sid",
];

/// The clauses that decide whether a cookie is issued, deleted or not sent.
const M19_PRESENCE: &[&str] = &[
    "m19.store.capacity",
    "m19.store.clock",
    "m19.finalize.silent-when-new",
    "m19.finalize.kill",
    "m19.finalize.delete",
    "m19.lifetime.anon-zero-disables",
    "m19.lifetime.logged-in-zero-disables",
    "m19.persist.disabled-destroys",
    "m19.auth.",
    "m19.setuid.",
    "m19.finalize.sliding",
    "m19.finalize.issue",
];

const M19_LIFETIME: &[&str] = &[
    "m19.lifetime.",
    "m19.config.legacy-scalar",
    "m19.config.legacy-anon",
    "m19.config.lifetime-default",
    "m19.config.lifetime-pair",
];

const M19_STORED: &[&str] = &[
    "m19.persist.anon-first-request",
    "m19.persist.anon-returning",
    "m19.persist.login-at-once",
    "m19.persist.login-without-expires",
    "m19.persist.expires-recorded",
    "m19.persist.disabled-destroys",
    "m19.persist.kill-destroys",
    "m19.persist.delete-key",
    "m19.persist.reserved-keys",
    "m19.store.capacity",
    "m19.store.clock",
    "m19.load.",
    "m19.cleanup.",
    "m19.auth.",
    "m19.setuid.",
    "m19.new.macro-example",
    "m19.persist.values",
    "m19.store.list",
];

const M16_SESSION: &[&str] = &[
    "m16.store.capacity",
    "m16.store.clock",
    "m16.logincookie.",
    "m16.login.",
    "m16.logout.",
    "m16.anon.",
    "m16.session.",
    "m16.chain.",
    "m16.config.",
];

const M16_LIFETIME: &[&str] = &[
    "m16.lifetime.",
    "m16.config.lifetime-scalar",
    "m16.config.anon-lifetime",
];

const M16_STORED: &[&str] = &[
    "m16.store.data-only",
    "m16.store.delete-last-key",
    "m16.store.expires-grace",
    "m16.store.capacity",
    "m16.store.clock",
    "m16.login.",
    "m16.logout.",
    "m16.logincookie.",
    "m16.anon.",
    "m16.session.",
    "m16.chain.",
    "m16.cleanup.",
    "m16.macro.example",
    "m16.store.write-through",
    "m16.store.list",
];

/// The hardened profile's clauses in the order a covered one is preferred
/// for a field that no single hardened clause governs.
const HARD_ANY: &[&str] = &[
    "hard.rotate.",
    "hard.end.",
    "hard.timeout.",
    "hard.load.",
    "hard.persist.",
    "hard.finalize.",
    "hard.cookie.",
    "hard.sid.",
    "hard.config.",
];

/// The rule for a difference in `field` in `profile`: the clauses a
/// covered one may be (prefixes end in `.`), and the clause blamed when the
/// case covers none of them. A table per profile.
fn rule_for(profile: Profile, field: Field) -> Rule {
    match profile {
        Profile::Hardened => hardened_rule(field),
        Profile::Moin19 => m19_rule(field),
        Profile::Moin16 => m16_rule(field),
    }
}

fn hardened_rule(field: Field) -> Rule {
    use Field::*;
    match field {
        MaxAge | Expires | ExpiresForm | Lifetime => rule(
            &[
                "hard.timeout.",
                "hard.cookie.max-age-within",
                "hard.cookie.max-400-days",
            ],
            "hard.cookie.max-age-within",
        ),
        Secure => rule(&["hard.cookie.secure"], "hard.cookie.secure"),
        HttpOnly => rule(&["hard.cookie.httponly"], "hard.cookie.httponly"),
        SameSite => rule(&["hard.cookie.samesite"], "hard.cookie.samesite"),
        DeletionForm => rule(&["hard.cookie.delete-form"], "hard.cookie.delete-form"),
        Path | Domain => rule(
            &["hard.cookie.delete-form", "hard.cookie.host-prefix"],
            "hard.cookie.host-prefix",
        ),
        Name | Unparsable => rule(&["hard.cookie.host-prefix"], "hard.cookie.host-prefix"),
        ValueForm => rule(&["hard.sid.entropy"], "hard.sid.entropy"),
        Removed => rule(&["hard.end.", "hard.timeout."], "hard.timeout.idle"),
        New | Value => rule(HARD_ANY, "hard.load.unknown-sid-refused"),
        User => rule(HARD_ANY, "hard.end.logout"),
        _ => rule(HARD_ANY, "hard.persist.issue-stores"),
    }
}

fn m19_rule(field: Field) -> Rule {
    use Field::*;
    match field {
        New => rule(
            &[
                "m19.store.capacity",
                "m19.store.clock",
                "m19.new.definition",
            ],
            "m19.new.definition",
        ),
        Value => rule(M19_LOAD, "m19.cookie.value-sid"),
        User => rule(
            &["m19.auth.", "m19.setuid.", "m19.cleanup."],
            "m19.auth.restore",
        ),
        Results => rule(M19_STORED, "m19.persist.values"),
        ValueForm => rule(&["m19.cookie.sid-form"], "m19.cookie.sid-form"),
        SameSite => rule(&[], "m19.cookie.value-sid"),
        StoredValue => rule(
            &["m19.new.macro-example", "m19.persist.reserved-keys"],
            "m19.persist.values",
        ),
        ExtraDeletion => rule(
            &[
                "m19.store.capacity",
                "m19.store.clock",
                "m19.finalize.silent-when-new",
                "m19.load.malformed-sid",
            ],
            "m19.finalize.silent-when-new",
        ),
        Duplicate => rule(&["m19.finalize.delete"], "m19.finalize.issue"),
        SidsRepeated => rule(&[], "m19.store.list"),
        Uncacheable => rule(&[], "m19.finalize.issue"),
        Missing | Extra | Kind => rule(M19_PRESENCE, "m19.finalize.issue"),
        Unparsable => rule(
            &["m19.name.", "m19.config.cookie-attributes"],
            "m19.finalize.issue",
        ),
        Name => rule(&["m19.name."], "m19.name.default"),
        MaxAge => rule(&["m19.cookie.max-age"], "m19.cookie.max-age"),
        Expires | ExpiresForm => rule(
            &["m19.cookie.expires-granularity", "m19.finalize.sliding"],
            "m19.cookie.expires-granularity",
        ),
        Lifetime => rule(M19_LIFETIME, "m19.lifetime.seconds"),
        Path => rule(&["m19.cookie.path"], "m19.cookie.path"),
        Domain => rule(&["m19.cookie.domain"], "m19.cookie.domain"),
        Secure => rule(
            &["m19.cookie.secure-forced", "m19.cookie.secure-auto"],
            "m19.cookie.secure-auto",
        ),
        HttpOnly => rule(&["m19.cookie.httponly"], "m19.cookie.httponly"),
        DeletionForm => rule(&["m19.cookie.delete-form"], "m19.cookie.delete-form"),
        Sids => rule(M19_STORED, "m19.store.list"),
        Removed => rule(&["m19.cleanup."], "m19.cleanup.expired"),
    }
}

fn m16_rule(field: Field) -> Rule {
    use Field::*;
    match field {
        New => rule(&["m16.chain.new-flag"], "m16.chain.new-flag"),
        Value => rule(M16_SESSION, "m16.session.anon-refresh"),
        User => rule(M16_SESSION, "m16.logincookie.bound"),
        Results => rule(M16_STORED, "m16.store.write-through"),
        ValueForm => rule(
            &[
                "m16.anon.name-form",
                "m16.logincookie.size",
                "m16.session.anon-name-octets",
            ],
            "m16.anon.name-form",
        ),
        SameSite => rule(&[], "m16.cookie.no-secure-httponly"),
        StoredValue => rule(&["m16.macro.example"], "m16.store.write-through"),
        ExtraDeletion => rule(M16_SESSION, "m16.logincookie.ignored-not-deleted"),
        Duplicate => rule(&["m16.logout.then-anon"], "m16.cookie.name"),
        SidsRepeated => rule(&[], "m16.store.list"),
        Uncacheable => rule(&["m16.cookie.uncacheable"], "m16.cookie.uncacheable"),
        Missing | Extra | Kind => rule(M16_SESSION, "m16.session.anon-refresh"),
        Unparsable | Name => rule(&["m16.cookie.name"], "m16.cookie.name"),
        MaxAge | Expires => rule(
            &["m16.cookie.max-age-expires"],
            "m16.cookie.max-age-expires",
        ),
        Lifetime => rule(M16_LIFETIME, "m16.lifetime.positive"),
        Path => rule(&["m16.cookie.path"], "m16.cookie.path"),
        Domain => rule(&["m16.cookie.domain"], "m16.cookie.domain"),
        Secure | HttpOnly => rule(
            &["m16.cookie.no-secure-httponly"],
            "m16.cookie.no-secure-httponly",
        ),
        DeletionForm => rule(&["m16.cookie.delete-form"], "m16.cookie.delete-form"),
        ExpiresForm => rule(&["m16.cookie.expires-year"], "m16.cookie.expires-year"),
        Sids => rule(M16_STORED, "m16.store.list"),
        Removed => rule(&["m16.cleanup."], "m16.cleanup.expired"),
    }
}

fn matches(candidate: &str, clause: &str) -> bool {
    if candidate.ends_with('.') {
        clause.starts_with(candidate)
    } else {
        clause == candidate
    }
}

/// The first candidate of `rule` that `covers` lists, in the candidates'
/// order (a prefix candidate takes the first covered clause it matches).
fn pick(rule: &Rule, covers: &[String]) -> Option<String> {
    rule.candidates.iter().find_map(|cand| {
        covers
            .iter()
            .find(|c| matches(cand, c))
            .map(|c| c.to_owned())
    })
}

/// The clause governing one field at a step.
pub fn clause_for(
    profile: Profile,
    field: Field,
    step_covers: &[String],
    case_covers: &[String],
) -> String {
    let rule = rule_for(profile, field);
    pick(&rule, step_covers)
        .or_else(|| pick(&rule, case_covers))
        .unwrap_or_else(|| rule.default.to_owned())
}

/// Which stage of a request a field belongs to: load (0), auth (1), or
/// later (2); or none (3): an attribute only the configuration decides,
/// never the effect of a cause. In moin-1.9 `new` is decided at load; in
/// moin-1.6 after the whole chain, so there it is an effect of the user,
/// not a cause.
fn stage(profile: Profile, field: Field) -> u8 {
    match (profile, field) {
        (Profile::Moin19, Field::New) | (_, Field::Value) => 0,
        (_, Field::User) => 1,
        (_, Field::Path | Field::Domain | Field::Secure | Field::HttpOnly | Field::SameSite) => 3,
        _ => 2,
    }
}

/// The clause each difference of one failing step is attributed to, in the
/// order of `differences` (see the module docs for the rule).
pub fn attribute(
    profile: Profile,
    differences: &[Difference],
    step_covers: &[String],
    case_covers: &[String],
) -> Vec<String> {
    let clause = |f: Field| clause_for(profile, f, step_covers, case_covers);
    // A sid that differs outranks `new`: the sid says which load rule ran.
    let cause = differences
        .iter()
        .find(|d| d.field == Field::Value)
        .or_else(|| differences.iter().find(|d| stage(profile, d.field) == 0))
        .or_else(|| differences.iter().find(|d| stage(profile, d.field) == 1));
    match cause {
        Some(c) => {
            let blamed = clause(c.field);
            differences
                .iter()
                .map(|d| {
                    let s = stage(profile, d.field);
                    if s != 3 && s >= stage(profile, c.field) {
                        blamed.clone()
                    } else {
                        clause(d.field)
                    }
                })
                .collect()
        }
        None => differences.iter().map(|d| clause(d.field)).collect(),
    }
}

/// The distinct clauses of [`attribute`], in first-seen order.
pub fn violated(
    profile: Profile,
    differences: &[Difference],
    step_covers: &[String],
    case_covers: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in attribute(profile, differences, step_covers, case_covers) {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Every clause the attribution table can name, for a test that each is a
/// real requirement of the spec.
pub fn table_clauses() -> Vec<(Profile, &'static str)> {
    let mut out = Vec::new();
    for profile in Profile::ALL {
        for f in Field::ALL {
            let r = rule_for(*profile, *f);
            out.push((*profile, r.default));
            out.extend(r.candidates.iter().map(|c| (*profile, *c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use moin_session_spec::requirements::Requirements;

    fn d(field: Field) -> Difference {
        Difference {
            what: format!("{field:?}"),
            field,
            expected: String::new(),
            observed: String::new(),
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn every_clause_in_the_table_exists() {
        let reqs = Requirements::builtin();
        for (profile, c) in table_clauses() {
            assert!(c.starts_with(profile.id_prefix()), "{c} in {profile}");
            if c.ends_with('.') {
                continue;
            }
            assert!(reqs.get(c).is_some(), "{c} is not a requirement");
        }
    }

    #[test]
    fn expires_alone_is_the_minute_floor_whatever_the_case_covers() {
        let covers = s(&["m19.lifetime.remember-me-forever", "m19.auth.login"]);
        assert_eq!(
            violated(Profile::Moin19, &[d(Field::Expires)], &[], &covers),
            ["m19.cookie.expires-granularity"]
        );
        let covers = s(&["m19.finalize.sliding"]);
        assert_eq!(
            violated(Profile::Moin19, &[d(Field::Expires)], &[], &covers),
            ["m19.finalize.sliding"]
        );
    }

    #[test]
    fn a_lifetime_shift_prefers_the_covered_lifetime_clause() {
        let diffs = [d(Field::Lifetime), d(Field::Lifetime)];
        let covers = s(&[
            "m19.cookie.max-age",
            "m19.lifetime.negative-ignores-remember-me",
        ]);
        assert_eq!(
            violated(Profile::Moin19, &diffs, &[], &covers),
            ["m19.lifetime.negative-ignores-remember-me"]
        );
        assert_eq!(
            violated(Profile::Moin19, &diffs, &[], &[]),
            ["m19.lifetime.seconds"]
        );
    }

    #[test]
    fn step_covers_outrank_case_covers() {
        let case = s(&["m19.load.malformed-sid"]);
        let step = s(&["m19.load.unknown-sid-adopted"]);
        assert_eq!(
            violated(Profile::Moin19, &[d(Field::Value)], &step, &case),
            ["m19.load.unknown-sid-adopted"]
        );
    }

    #[test]
    fn effects_carry_their_cause() {
        let diffs = [d(Field::User), d(Field::Kind), d(Field::Results)];
        let covers = s(&["m19.auth.logout", "m19.finalize.kill"]);
        assert_eq!(
            attribute(Profile::Moin19, &diffs, &[], &covers),
            ["m19.auth.logout", "m19.auth.logout", "m19.auth.logout"]
        );
        let diffs = [d(Field::New), d(Field::Value), d(Field::Results)];
        let covers = s(&["m19.load.expired-destroyed", "m19.cookie.path"]);
        assert_eq!(
            violated(Profile::Moin19, &diffs, &[], &covers),
            ["m19.load.expired-destroyed"]
        );
    }

    #[test]
    fn attributes_only_the_configuration_decides_are_never_effects() {
        let diffs = [d(Field::Value), d(Field::Path), d(Field::HttpOnly)];
        let covers = s(&["m19.load.expired-destroyed"]);
        assert_eq!(
            attribute(Profile::Moin19, &diffs, &[], &covers),
            [
                "m19.load.expired-destroyed",
                "m19.cookie.path",
                "m19.cookie.httponly"
            ]
        );
    }

    #[test]
    fn new_alone_is_the_definition() {
        let covers = s(&["m19.load.malformed-sid"]);
        assert_eq!(
            violated(Profile::Moin19, &[d(Field::New)], &[], &covers),
            ["m19.new.definition"]
        );
        assert_eq!(
            violated(Profile::Moin16, &[d(Field::New)], &[], &[]),
            ["m16.chain.new-flag"]
        );
    }

    #[test]
    fn independent_fields_are_attributed_each() {
        let diffs = [d(Field::Path), d(Field::DeletionForm)];
        assert_eq!(
            violated(Profile::Moin16, &diffs, &[], &[]),
            ["m16.cookie.path", "m16.cookie.delete-form"]
        );
    }
}
