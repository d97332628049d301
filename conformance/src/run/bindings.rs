//! Symbolic sids (`$s1`, `$l1`) bound to the real sids of a trace, and
//! every sid seen in it, so that "a fresh sid" can be judged.

use std::collections::{BTreeMap, BTreeSet};

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

    /// Replaces every bound `$sN` in `text` by its sid.
    pub fn substitute(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest symbols first, so `$s12` is not read as `$s1` + `2`.
        let mut symbols: Vec<(&String, &String)> = self.by_symbol.iter().collect();
        symbols.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        for (symbol, sid) in symbols {
            out = out.replace(symbol.as_str(), sid);
        }
        out
    }

    /// Replaces every bound sid in `text` by its symbol (for transcripts).
    pub fn symbolize(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (symbol, sid) in &self.by_symbol {
            if !sid.is_empty() {
                out = out.replace(sid.as_str(), symbol);
            }
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
}
