//! How a random trace's model run is written as a case: sids as symbols
//! (`$s1`, `$l1`), the `Cookie` header a step sends, a response's
//! `Set-Cookie` fields as expectations, and the model's finish of an open
//! request as a `finish` step. Shared by the plain request steps and the
//! interleaved ones (`open`, `finish`) of [`crate::random::generate`].

use std::collections::{BTreeMap, BTreeSet};

use moin_session_spec::fixture::{Action, CookieExpect, CookieSource, FinishExpect};
use moin_session_spec::{Backend, Model, Profile};
use time::OffsetDateTime;

use crate::random::interleave::handle;
use crate::random::skeleton::{CookiePick, Unrepresentable};
use crate::run::compare::is_uncacheable;
use crate::run::jar::{is_deletion, Jar};

/// Sid symbols as the model's run assigns them.
#[derive(Default)]
pub(crate) struct Symbols {
    strict: BTreeMap<String, String>,
    made_up: BTreeSet<String>,
    next: usize,
}

impl Symbols {
    fn existing(&self, sid: &str) -> Option<String> {
        if self.made_up.contains(sid) {
            return Some(sid.to_owned());
        }
        self.strict.get(sid).cloned()
    }

    fn fresh(&mut self, sid: &str) -> String {
        self.next += 1;
        let s = format!("$s{}", self.next);
        self.strict.insert(sid.to_owned(), s.clone());
        s
    }

    /// For `sids`/`removed`: known ids by symbol, at most one new one.
    pub(crate) fn set(&mut self, ids: &[String]) -> Result<Vec<String>, Unrepresentable> {
        let unknown: Vec<&String> = ids.iter().filter(|s| self.existing(s).is_none()).collect();
        if unknown.len() > 1 {
            return Err(Unrepresentable(
                "more than one never-seen id in one list".to_owned(),
            ));
        }
        let mut out = Vec::new();
        for id in ids {
            match self.existing(id) {
                Some(s) => out.push(s),
                None => out.push(self.fresh(id)),
            }
        }
        Ok(out)
    }
}

/// The simulated browser of a model run: its jar, the symbols, and the
/// last session cookie value the server issued (real value, fixture form).
pub(crate) struct Browser {
    pub(crate) profile: Profile,
    pub(crate) jar: Jar,
    pub(crate) symbols: Symbols,
    pub(crate) last: Option<(String, String)>,
    /// The hardened `max_cookie_header` in force, for padded headers.
    pub(crate) header_limit: Option<u64>,
}

impl Browser {
    /// A browser with an empty jar, for a trace of `profile`.
    pub(crate) fn new(profile: Profile) -> Self {
        Browser {
            profile,
            jar: Jar::new(),
            symbols: Symbols::default(),
            last: None,
            header_limit: None,
        }
    }

    /// The cookie source a step writes and the `Cookie` header it sends.
    pub(crate) fn cookies(
        &mut self,
        pick: &CookiePick,
        name: &str,
        path: &str,
        https: bool,
        now: OffsetDateTime,
    ) -> (CookieSource, Option<String>) {
        match (pick, &self.last) {
            (CookiePick::None, _) => (CookieSource::None, None),
            (CookiePick::ReplayLast, Some((real, form))) => (
                CookieSource::Header(format!("{name}={form}")),
                Some(format!("{name}={real}")),
            ),
            // A tampered moin-1.6 anonymous name would be adopted as
            // a new name whose value no symbol can express for
            // another backend; tamper only where the result is fixed.
            (CookiePick::TamperLast, Some((real, form)))
                if !(self.profile == Profile::Moin16 && form.starts_with("$s")) =>
            {
                if !form.starts_with('$') {
                    // A made-up sid, tampered: still a literal.
                    self.symbols.made_up.insert(format!("{real}x"));
                }
                (
                    CookieSource::Header(format!("{name}={form}x")),
                    Some(format!("{name}={real}x")),
                )
            }
            (CookiePick::Padded { delta, multibyte }, Some((real, form))) => {
                let sent = format!("{name}={real}; pad=");
                let target = self.header_limit.map(|l| l as i64 + i64::from(*delta));
                match target.map(|t| t - sent.len() as i64).filter(|n| *n >= 1) {
                    Some(n) => {
                        let n = n as usize;
                        let pad = if *multibyte {
                            format!("{}{}", "é".repeat(n / 2), "x".repeat(n % 2))
                        } else {
                            "x".repeat(n)
                        };
                        (
                            CookieSource::Header(format!("{name}={form}; pad={pad}")),
                            Some(format!("{sent}{pad}")),
                        )
                    }
                    None => (
                        CookieSource::Header(format!("{name}={form}")),
                        Some(format!("{name}={real}")),
                    ),
                }
            }
            (CookiePick::MadeUp(sid), _) => {
                self.symbols.made_up.insert(sid.clone());
                (
                    CookieSource::Header(format!("{name}={sid}")),
                    Some(format!("{name}={sid}")),
                )
            }
            _ => (CookieSource::Jar, self.jar.header_for(path, https, now)),
        }
    }

    /// A response's `Set-Cookie` fields as expectations; the jar takes them
    /// as a browser would, for a request to `path` over `https`, at `now`.
    pub(crate) fn receive(
        &mut self,
        set_cookies: &[String],
        path: &str,
        https: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<CookieExpect>, Unrepresentable> {
        let bad = |e: &dyn std::fmt::Display| Unrepresentable(e.to_string());
        let mut out = Vec::new();
        for h in set_cookies {
            let c = crate::run::cookie_date::parse_set_cookie(h).map_err(|e| bad(&e))?;
            let domain = c.domain().map(str::to_owned);
            let cookie_path = c.path().unwrap_or("").to_owned();
            if is_deletion(&c, now) {
                out.push(CookieExpect {
                    name: c.name().to_owned(),
                    deleted: true,
                    value: None,
                    max_age: None,
                    expires: None,
                    path: cookie_path,
                    domain,
                    secure: None,
                    httponly: None,
                    samesite: None,
                });
            } else {
                let v = c.value().to_owned();
                let form = if self.profile == Profile::Moin16 && v.contains(':') {
                    "$l1".to_owned()
                } else {
                    match self.symbols.existing(&v) {
                        Some(s) => s,
                        None => self.symbols.fresh(&v),
                    }
                };
                self.last = Some((v, form.clone()));
                out.push(CookieExpect {
                    name: c.name().to_owned(),
                    deleted: false,
                    value: Some(form),
                    max_age: c.max_age().map(|d| d.whole_seconds()),
                    expires: c.expires_datetime(),
                    path: cookie_path,
                    domain,
                    secure: Some(c.secure().unwrap_or(false)),
                    httponly: Some(c.http_only().unwrap_or(false)),
                    samesite: c.same_site().map(|s| s.to_string()),
                });
            }
            let _ = self.jar.receive(h, path, https, now);
        }
        Ok(out)
    }
}

/// Finishes the slot's open request in the model, as a `finish` step.
pub(crate) fn finish(
    model: &mut Model,
    browser: &mut Browser,
    open: &mut BTreeMap<u8, (String, bool)>,
    slot: u8,
    now: OffsetDateTime,
) -> Result<Option<Action>, Unrepresentable> {
    let Some((path, https)) = open.remove(&slot) else {
        return Ok(None);
    };
    let finished = model
        .finish(&handle(slot), now)
        .map_err(|e| Unrepresentable(e.to_string()))?;
    let set_cookies = browser.receive(&finished.set_cookies, &path, https, now)?;
    Ok(Some(Action::Finish(
        handle(slot),
        FinishExpect {
            set_cookies,
            uncacheable: finished
                .cache_control
                .as_deref()
                .is_some_and(is_uncacheable)
                .then_some(true),
        },
    )))
}
