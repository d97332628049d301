//! Symbolic sids (`$s1`, `$l1`) bound to the real sids of a trace, and
//! every sid seen in it, so that "a fresh sid" can be judged.

use std::collections::{BTreeMap, BTreeSet};

use moin_session_spec::corpus::{derived_in, Derivation};
use moin_session_spec::fixture::{is_latest_symbol, is_symbol};
use moin_session_spec::Profile;

/// Symbolic sids bound so far in a trace, and every sid seen.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    by_symbol: BTreeMap<String, String>,
    seen: BTreeSet<String>,
    /// The profile whose value forms issued cookies are judged by.
    form: Option<Profile>,
}

impl Bindings {
    /// No bindings.
    pub fn new() -> Self {
        Bindings::default()
    }

    /// No bindings; every session cookie value the backend issues (each
    /// first binding of a `$s` symbol, every `$l` value) is also judged by
    /// `profile`'s value form (`r[m19.cookie.sid-form]`,
    /// `r[m16.anon.name-form]`, `r[m16.logincookie.form]`,
    /// `r[m16.logincookie.size]`).
    pub fn for_profile(profile: Profile) -> Self {
        Bindings {
            form: Some(profile),
            ..Bindings::default()
        }
    }

    /// Why an observed value that `expected` would bind has the wrong
    /// form for the profile, if it does.
    pub(crate) fn form_problem(&self, expected: &str, observed: &str) -> Option<&'static str> {
        let profile = self.form?;
        let binds = is_latest_symbol(expected)
            || (is_symbol(expected) && !self.by_symbol.contains_key(expected));
        binds
            .then(|| moin_session_spec::sid::issued_value_problem(profile, observed))
            .flatten()
    }

    /// The profile whose value forms are judged, if one was given.
    pub fn profile(&self) -> Option<Profile> {
        self.form
    }

    /// The sid a symbol is bound to.
    pub fn get(&self, symbol: &str) -> Option<&str> {
        self.by_symbol.get(symbol).map(String::as_str)
    }

    /// Whether a sid has been seen in the trace.
    pub fn is_seen(&self, sid: &str) -> bool {
        self.seen.contains(sid)
    }

    /// Records a sid as seen (so it is no longer fresh).
    pub fn see(&mut self, sid: &str) {
        self.seen.insert(sid.to_owned());
    }

    /// Resolves a fixture sid: a bound symbol to its sid, a literal to itself.
    pub fn resolve(&self, sid: &str) -> Option<String> {
        if is_symbol(sid) {
            self.get(sid).map(str::to_owned)
        } else {
            Some(sid.to_owned())
        }
    }

    /// Replaces every bound `$sN` in `text` by its sid, and every `${…}`
    /// reference by the value derived from its sid ([`Derivation`]).
    pub fn substitute(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for d in derived_in(text).unwrap_or_default().iter().rev() {
            if let Some(sid) = self.get(&d.symbol) {
                out.replace_range(d.range.clone(), &d.derivation.apply(sid));
            }
        }
        // Longest symbols first, so `$s12` is not read as `$s1` + `2`.
        let mut symbols: Vec<(&String, &String)> = self.by_symbol.iter().collect();
        symbols.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        for (symbol, sid) in symbols {
            out = out.replace(symbol.as_str(), sid);
        }
        out
    }

    /// A `${…}` reference of `text` whose derived value is its sid itself
    /// (an upper-case derivation of a sid without letters): such a step
    /// would judge nothing, so the runner does not send it.
    pub fn degenerate_derivation(&self, text: &str) -> Option<String> {
        derived_in(text).ok()?.into_iter().find_map(|d| {
            let sid = self.get(&d.symbol)?;
            (d.derivation != Derivation::Same && d.derivation.apply(sid) == sid).then(|| {
                format!(
                    "the case derives from {} a value equal to {} itself ({}), so the step would judge nothing",
                    d.symbol,
                    d.symbol,
                    &text[d.range.clone()]
                )
            })
        })
    }

    /// Replaces every bound sid in `text` by its symbol (for transcripts),
    /// and the values derived from one by their `${…}` form: the sid in
    /// upper case, a cookie value that is a prefix of a sid (8 characters
    /// or more), and a sid followed by a digit (`${s1}0`, not `$s10`).
    pub fn symbolize(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (symbol, sid) in self.by_symbol.iter().filter(|(_, s)| !s.is_empty()) {
            let name = &symbol[1..];
            let upper = sid.to_ascii_uppercase();
            if upper != *sid {
                out = out.replace(&upper, &format!("${{{name}|upper}}"));
            }
            let mut from = 0;
            while let Some(at) = out[from..].find(sid.as_str()) {
                let (start, end) = (from + at, from + at + sid.len());
                // `$s1` then `0` would read as `$s10`.
                let glued = symbol.starts_with("$s")
                    && out[end..].starts_with(|c: char| c.is_ascii_digit());
                let replacement = if glued {
                    format!("${{{name}}}")
                } else {
                    symbol.clone()
                };
                out.replace_range(start..end, &replacement);
                from = start + replacement.len();
            }
            out = symbolize_prefixes(&out, name, sid);
        }
        out
    }

    /// Matches an expected sid against an observed one, binding an unbound
    /// symbol to a fresh sid. Returns a description of the mismatch.
    pub(crate) fn check(&mut self, expected: &str, observed: &str) -> Result<(), String> {
        if is_latest_symbol(expected) {
            // A value the spec leaves opaque: remember it, judge nothing.
            self.by_symbol
                .insert(expected.to_owned(), observed.to_owned());
            self.seen.insert(observed.to_owned());
            return Ok(());
        }
        if is_symbol(expected) {
            match self.by_symbol.get(expected) {
                Some(sid) if sid == observed => Ok(()),
                Some(sid) => Err(format!("{expected} (= {sid})")),
                None => {
                    if self.seen.contains(observed) {
                        if let Some((sym, _)) = self.by_symbol.iter().find(|(_, s)| *s == observed)
                        {
                            return Err(format!("a fresh sid for {expected}, but it is {sym}'s"));
                        }
                        return Err(format!(
                            "a fresh sid for {expected}, but it was seen before"
                        ));
                    }
                    self.by_symbol
                        .insert(expected.to_owned(), observed.to_owned());
                    self.seen.insert(observed.to_owned());
                    Ok(())
                }
            }
        } else if expected == observed {
            self.seen.insert(observed.to_owned());
            Ok(())
        } else {
            Err(expected.to_owned())
        }
    }
}

/// Replaces each cookie value of `text` (after `=`, up to `;` or the end)
/// that is a proper prefix of `sid`, 8 characters or longer, by
/// `${name|first:N}`.
fn symbolize_prefixes(text: &str, name: &str, sid: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.split(';').enumerate() {
        if i > 0 {
            out.push(';');
        }
        match part.split_once('=') {
            Some((k, v)) if v.len() >= 8 && v.len() < sid.len() && sid.starts_with(v) => {
                out.push_str(&format!("{k}=${{{name}|first:{}}}", v.len()));
            }
            _ => out.push_str(part),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitute_prefers_longer_symbols() {
        let mut b = Bindings::new();
        b.by_symbol.insert("$s1".into(), "one".into());
        b.by_symbol.insert("$s12".into(), "twelve".into());
        assert_eq!(b.substitute("A=$s12; B=$s1"), "A=twelve; B=one");
    }

    #[test]
    fn symbolize_names_derived_values() {
        let mut b = Bindings::new();
        let sid = "0123456789abcdef0123456789abcdef01234567";
        b.by_symbol.insert("$s1".into(), sid.into());
        let text = b.substitute("A=${s1|upper}; B=${s1|first:39}; C=${s1}0; D=$s1");
        assert_eq!(
            b.symbolize(&text),
            "A=${s1|upper}; B=${s1|first:39}; C=${s1}0; D=$s1"
        );
    }

    #[test]
    fn derived_values() {
        let mut b = Bindings::new();
        b.by_symbol.insert("$s1".into(), "0a1b".into());
        assert_eq!(
            b.substitute("S=${s1|upper}; T=${s1|first:3}; U=${s1}0; V=$s1"),
            "S=0A1B; T=0a1; U=0a1b0; V=0a1b"
        );
        assert_eq!(b.degenerate_derivation("S=${s1|upper}"), None);
        b.by_symbol.insert("$s2".into(), "0123".into());
        assert!(b.degenerate_derivation("S=${s2|upper}").is_some());
        assert_eq!(b.degenerate_derivation("S=${s2}"), None);
    }
}
