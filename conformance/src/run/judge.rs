//! Judging a step's differences: each is attributed to a clause (the table
//! of [`crate::run::attribution`], then the model's account of the step,
//! [`crate::run::blame`]); a step whose every difference falls on a
//! declared deviation deviates and the case goes on; any other difference
//! fails the case.
//!
//! A deviation on a clause that decides *which session* a request gets
//! (the sid, `new`, the user, what is stored or removed) has consequences
//! in the steps after it: the case's later expectations assume the session
//! the spec would have given. So the sessions such a deviating step
//! touched (the sids its request sent, its response issued and the
//! browser holds afterwards, and those its differences name) are
//! remembered. A later difference that names one of them is attributed to
//! the same declared clause (with what carries its clause in that step),
//! and so is every difference but the configured cookie attributes of a
//! request that presents one. Once such a deviation happened at a
//! request, what the browser's jar holds is its consequence too, so the
//! same holds for later requests that send the jar's cookies; and when it
//! happened at the open of an overlapping request, for the request's later
//! `ops` and `finish` steps.
//!
//! The price is stated plainly: after a deviation that decided a session,
//! the case (or random trace) no longer judges that session, only the
//! cookie attributes the configuration decides and every other session.
//! Cases in which the deviation does not arise judge everything. Differences about other sessions, and
//! deviations on clauses that do not decide the session (a cookie
//! attribute), taint nothing.

use moin_session_spec::fixture::{Action, CookieSource, LoadedCase};
use moin_session_spec::BackendError;

use crate::run::attribution::attribute;
use crate::run::blame::blame;
use crate::run::compare::{Bindings, Difference, Field};
use crate::run::verdict::{CaseResult, DeviatedStep, Deviation, Observed, Verdict};

/// What the runner saw of a step besides its differences.
#[derive(Clone, Copy)]
pub(crate) struct Seen<'s> {
    /// The step's observation.
    pub(crate) observed: &'s Observed,
    /// The `Cookie` header the browser would send to the step's path
    /// after it (for a request).
    pub(crate) held: Option<&'s str>,
}

/// What a case's judging remembers between its steps.
pub(crate) struct Judge<'a> {
    deviations: &'a [Deviation],
    /// Sessions a deviating step touched (sids and their symbols), with
    /// the declared clause that decided them.
    tainted: Vec<(String, String)>,
    /// The declared clause that decided what the browser's jar holds, once
    /// a deviation decided a session at a request.
    jar: Option<String>,
    /// Open requests (handles) whose session a deviation decided at the
    /// open, with the declared clause.
    handles: Vec<(String, String)>,
}

/// The fields whose difference says the session itself went another way.
fn decides_session(field: Field) -> bool {
    matches!(
        field,
        Field::Value
            | Field::New
            | Field::User
            | Field::Sids
            | Field::Removed
            | Field::Results
            | Field::StoredValue
    )
}

impl<'a> Judge<'a> {
    pub(crate) fn new(deviations: &'a [Deviation]) -> Self {
        Judge {
            deviations,
            tainted: Vec::new(),
            jar: None,
            handles: Vec::new(),
        }
    }

    fn declared(&self, clause: &str) -> bool {
        self.deviations.iter().any(|d| d.clause == clause)
    }

    /// Judges step `number`'s differences into `result`; returns whether
    /// the case fails here.
    pub(crate) fn step(
        &mut self,
        result: &mut CaseResult,
        number: usize,
        differences: &[Difference],
        seen: Seen<'_>,
        loaded: &LoadedCase,
    ) -> bool {
        let step = &loaded.case.steps[number - 1];
        let by_request = self.request_taint(&step.action, seen, &result.bindings);
        if let (Action::Open(spec, _), Some(c)) = (&step.action, &by_request) {
            // The open request is about a session a deviation decided.
            self.handles.push((spec.id.clone(), c.clone()));
        }
        if differences.is_empty() {
            return false;
        }
        let table = attribute(
            loaded.case.profile,
            differences,
            &step.covers,
            &loaded.case.covers,
        );
        let mut blame = blame(loaded, number, differences, table);
        self.carry_taint(&mut blame.clauses, differences, by_request.as_deref());
        self.carry_handle(&mut blame.clauses, differences, &step.action);
        let lines = self.lines(differences, &blame.clauses, &blame.readers);
        let (violated, deviated) = self.sort(&blame.clauses, &blame.readers);
        if !deviated.is_empty() {
            self.taint(differences, &blame.clauses, seen, &result.bindings);
            if let Action::Open(spec, _) = &step.action {
                if let Some(c) = self.session_deviation(differences, &blame.clauses) {
                    if !self.handles.iter().any(|(h, _)| *h == spec.id) {
                        self.handles.push((spec.id.clone(), c));
                    }
                }
            }
            result.deviations.push(DeviatedStep {
                step: number,
                differences: lines
                    .iter()
                    .filter(|l| l.ends_with(", declared deviation)"))
                    .cloned()
                    .collect(),
                clauses: deviated,
            });
        }
        if violated.is_empty() {
            return false;
        }
        result.verdict = Verdict::Fail {
            step: number,
            differences: lines,
            violated,
        };
        if !step.covers.is_empty() {
            result.blamed = step.covers.clone();
        }
        true
    }

    /// Each difference as a line ending with its clause: `(clause)`,
    /// `(writer; read by reader)`, or `(clause, declared deviation)`.
    fn lines(
        &self,
        differences: &[Difference],
        clauses: &[String],
        readers: &[Option<String>],
    ) -> Vec<String> {
        differences
            .iter()
            .zip(clauses.iter().zip(readers))
            .map(|(d, (c, r))| match (self.declared(c), r) {
                (true, _) => format!("{d} ({c}, declared deviation)"),
                (false, Some(r)) => format!("{d} ({c}; read by {r})"),
                (false, None) => format!("{d} ({c})"),
            })
            .collect()
    }

    /// The distinct violated clauses (a writing rule, then the rule that
    /// read it) and the distinct declared ones, in first-seen order.
    fn sort(&self, clauses: &[String], readers: &[Option<String>]) -> (Vec<String>, Vec<String>) {
        let (mut violated, mut deviated): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for (c, r) in clauses.iter().zip(readers) {
            let (list, more) = if self.declared(c) {
                (&mut deviated, None)
            } else {
                (&mut violated, r.as_ref())
            };
            for c in std::iter::once(c).chain(more) {
                if !list.contains(c) {
                    list.push(c.clone());
                }
            }
        }
        (violated, deviated)
    }

    /// A difference naming a session a deviating step touched, or about
    /// the session of a request that presents one, is that deviation's
    /// consequence: it (and what carries its clause in this step) takes
    /// the declared clause.
    fn carry_taint(
        &self,
        clauses: &mut [String],
        differences: &[Difference],
        by_request: Option<&str>,
    ) {
        for (i, d) in differences.iter().enumerate() {
            let Some(clause) = self
                .tainted
                .iter()
                .find(|(token, _)| mentions(&d.expected, token) || mentions(&d.observed, token))
                .map(|(_, c)| c.as_str())
                .or(by_request.filter(|_| !configured(d.field)))
            else {
                continue;
            };
            let old = clauses[i].clone();
            if self.declared(&old) {
                continue;
            }
            for c in clauses.iter_mut().filter(|c| **c == old) {
                *c = clause.to_owned();
            }
        }
    }

    /// The declared clause that decided the session a request step is
    /// about: it presents a session a deviating step touched, or sends the
    /// jar's cookies after a deviation decided what the jar holds.
    fn request_taint(
        &self,
        action: &Action,
        seen: Seen<'_>,
        bindings: &Bindings,
    ) -> Option<String> {
        let from_jar = match action {
            Action::Request(spec, _) => spec.cookies == CookieSource::Jar,
            Action::Open(spec, _) => spec.request().cookies == CookieSource::Jar,
            _ => return None,
        };
        if self.tainted.is_empty() {
            // Nothing to look for in what was sent (the common case:
            // symbolizing a header is the dearest part of judging a step).
            return self.jar.clone().filter(|_| from_jar);
        }
        let sent = match seen.observed {
            Observed::Exchange { request, .. } => request
                .cookie_header
                .as_deref()
                .map(|h| bindings.symbolize(h))
                .unwrap_or_default(),
            _ => String::new(),
        };
        self.tainted
            .iter()
            .find(|(token, _)| mentions(&sent, token))
            .map(|(_, c)| c.clone())
            .or(self.jar.clone().filter(|_| from_jar))
    }

    /// Whether a step the runner could not carry out is a consequence of a
    /// deviation that decided a session: it names (`corrupt $s3`) a session
    /// the backend never had, because a deviating step gave it another. It
    /// is recorded as deviating, and the case goes on.
    pub(crate) fn absorbs(&self, result: &mut CaseResult, number: usize, e: &BackendError) -> bool {
        let BackendError::InvalidInput { message } = e else {
            return false;
        };
        let Some(clause) = self
            .tainted
            .first()
            .map(|(_, c)| c.clone())
            .or(self.jar.clone())
        else {
            return false;
        };
        if !message.ends_with(" is not bound") {
            return false;
        }
        result.deviations.push(DeviatedStep {
            step: number,
            differences: vec![format!(
                "{message}: the session it names never existed on the backend, after a deviation ({clause}, declared deviation)"
            )],
            clauses: vec![clause],
        });
        true
    }

    /// The declared clause of a difference that says the session itself
    /// went another way, if there is one.
    fn session_deviation(&self, differences: &[Difference], clauses: &[String]) -> Option<String> {
        differences
            .iter()
            .zip(clauses)
            .find(|(d, c)| decides_session(d.field) && self.declared(c))
            .map(|(_, c)| c.clone())
    }

    /// The `ops` and `finish` of a request whose open deviated on a
    /// session: everything but the configured cookie attributes is the
    /// deviation's consequence. A finish frees its handle.
    fn carry_handle(
        &mut self,
        clauses: &mut [String],
        differences: &[Difference],
        action: &Action,
    ) {
        let (handle, finish) = match action {
            Action::Ops(spec, _) => (&spec.id, false),
            Action::Finish(id, _) => (id, true),
            _ => return,
        };
        let Some(i) = self.handles.iter().position(|(h, _)| h == handle) else {
            return;
        };
        let clause = self.handles[i].1.clone();
        for (c, d) in clauses.iter_mut().zip(differences) {
            if !configured(d.field) {
                c.clone_from(&clause);
            }
        }
        if finish {
            self.handles.remove(i);
        }
    }

    /// Remembers the sessions a deviating step touched, when a declared
    /// difference says the session itself went another way.
    fn taint(
        &mut self,
        differences: &[Difference],
        clauses: &[String],
        seen: Seen<'_>,
        bindings: &Bindings,
    ) {
        let Some(clause) = self.session_deviation(differences, clauses) else {
            return;
        };
        let mut tokens: Vec<String> = Vec::new();
        for d in differences {
            tokens.extend(sid_words(&d.expected));
            tokens.extend(sid_words(&d.observed));
        }
        if let Observed::Exchange {
            request, response, ..
        } = seen.observed
        {
            self.jar = Some(clause.clone());
            let sent = request.cookie_header.iter().flat_map(|h| h.split(';'));
            let issued = response
                .set_cookies
                .iter()
                .filter_map(|c| c.split(';').next());
            let held = seen.held.into_iter().flat_map(|h| h.split(';'));
            for pair in sent.chain(issued).chain(held) {
                if let Some((_, v)) = pair.split_once('=') {
                    tokens.push(bindings.symbolize(v.trim()));
                }
            }
        }
        for t in tokens {
            if t.len() >= 3 && !self.tainted.iter().any(|(x, _)| *x == t) {
                self.tainted.push((t, clause.clone()));
            }
        }
    }
}

/// The cookie attributes only the configuration decides: never a
/// consequence of which session a request got.
fn configured(field: Field) -> bool {
    matches!(
        field,
        Field::Path | Field::Domain | Field::Secure | Field::HttpOnly | Field::SameSite
    )
}

/// The words of a difference's text that name a session: a symbol (`$s1`,
/// `$l2`) or a value of at least 20 sid characters.
fn sid_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '$' || c == '_' || c == '-'))
        .filter(|w| {
            (w.starts_with('$') && w.len() > 2)
                || (w.len() >= 20 && w.bytes().all(|b| b.is_ascii_alphanumeric()))
        })
        .map(str::to_owned)
        .collect()
}

/// Whether `text` names `token` as a whole word (`$s1` is not in `$s12`).
fn mentions(text: &str, token: &str) -> bool {
    text.match_indices(token).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + token.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !word(before) && !word(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_found_only_as_a_whole_word() {
        assert!(mentions("[$s1, $s2]", "$s1"));
        assert!(!mentions("[$s12]", "$s1"));
        assert!(mentions(
            "expected 5a5a5a5a5a5a5a5a5a5a, observed x",
            "5a5a5a5a5a5a5a5a5a5a"
        ));
        assert_eq!(
            sid_words("expected [$s1, 5a5a5a5a5a5a5a5a5a5a5a5a], observed []"),
            ["$s1", "5a5a5a5a5a5a5a5a5a5a5a5a"]
        );
    }
}
