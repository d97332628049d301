//! The loader rules of one case (`fixtures/README.md`, "Loader rules"):
//! its id, what it covers, a configuration it rejects, its clock, and each
//! step's symbols, derived values, interleaving and reconfigurations.
//! [`check_case`] reports every problem of a case, each naming the place
//! and the rule, and hands back a case that broke none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::config::{Config, ConfigPatch};
use crate::profile::Profile;

use super::case::Case;
use super::expect::{is_latest_symbol, is_symbol, CookieSource, SidRef};
use super::ids::{derived_in, is_semantic_id, nearest, symbols_in};
use super::inheritance::Inheritance;
use super::loaded::{locate_in, FixtureError, Lines, LoadedCase, EARLIEST_INSTANT, LATEST_INSTANT};
use super::profile_rules::profile_problems;
use super::requirements::Requirements;
use super::step::Action;

/// Where one case's problems are reported, and whether there were any.
pub(super) struct CaseCheck<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) lines: &'a Lines,
    pub(super) case_id: &'a str,
    /// Line and column of the case's id.
    pub(super) at: (usize, usize),
    /// Byte offset after the case's id, where its other fields are looked up.
    pub(super) case_start: usize,
    pub(super) errors: &'a mut Vec<FixtureError>,
    pub(super) ok: bool,
}

impl CaseCheck<'_> {
    fn fail(&mut self, message: String, (line, column): (usize, usize)) {
        self.errors.push(FixtureError {
            file: self.file.to_owned(),
            line,
            column,
            message: format!("case {}: {message}", self.case_id),
        });
        self.ok = false;
    }

    fn locate(&self, needle: &str) -> (usize, usize) {
        locate_in(self.lines, self.text, needle, self.case_start)
    }
}

/// Checks `case` by every loader rule; the loaded case when it broke none.
pub(super) fn check_case(
    c: &mut CaseCheck<'_>,
    case: Case,
    requirements: &Requirements,
    seen: &mut BTreeMap<String, (PathBuf, usize)>,
) -> Option<LoadedCase> {
    check_identity(c, &case, seen);
    check_covers(c, &case, requirements);
    let built = Config::build(case.profile, std::slice::from_ref(&case.config));
    if case.rejects.is_some() {
        check_rejects(c, &case, requirements);
        let config = built.ok();
        return c.ok.then(|| LoadedCase {
            case,
            file: c.file.to_owned(),
            config,
        });
    }
    if case.steps.is_empty() {
        c.fail(
            "a case needs at least one step [rule fixture.step-shape]".to_owned(),
            c.at,
        );
    }
    let config = match built {
        Ok(config) => Some(config),
        Err(e) => {
            c.fail(format!("{e} [rule fixture.config]"), c.at);
            None
        }
    };
    check_steps(c, &case);
    match (c.ok, config) {
        (true, Some(config)) => Some(LoadedCase {
            case,
            file: c.file.to_owned(),
            config: Some(config),
        }),
        _ => None,
    }
}

/// `fixture.id-form`, `fixture.duplicate-id`.
fn check_identity(
    c: &mut CaseCheck<'_>,
    case: &Case,
    seen: &mut BTreeMap<String, (PathBuf, usize)>,
) {
    if !is_semantic_id(&case.id) || !case.id.starts_with(case.profile.id_prefix()) {
        c.fail(
            format!(
                "the id must be semantic (lowercase dot-separated words) and start with {:?} [rule fixture.id-form]",
                case.profile.id_prefix()
            ),
            c.at,
        );
    }
    if let Some((other, other_line)) = seen.get(&case.id) {
        let message = format!(
            "duplicate case id; first defined at {}:{other_line} [rule fixture.duplicate-id]",
            other.display()
        );
        c.fail(message, c.at);
    } else {
        seen.insert(case.id.clone(), (c.file.to_owned(), c.at.0));
    }
}

/// `fixture.unknown-requirement`: the case's profile's clauses, and for a
/// hardened case the moin-1.9 clauses it inherits (spec/hardened.md,
/// section 1).
fn check_covers(c: &mut CaseCheck<'_>, case: &Case, requirements: &Requirements) {
    if case.covers.is_empty() {
        c.fail(
            "`covers` names no requirement [rule fixture.unknown-requirement]".to_owned(),
            c.at,
        );
    }
    let hardened = case.profile == Profile::Hardened;
    let step_covers = case.steps.iter().flat_map(|s| s.covers.iter());
    for req in case.covers.iter().chain(step_covers) {
        let inherited = hardened && Inheritance::builtin().inherits(req);
        let known = requirements.get(req).is_some_and(|r| {
            r.profile == case.profile || (inherited && r.profile == Profile::Moin19)
        });
        if known {
            continue;
        }
        let replaced = Inheritance::builtin()
            .replacement(req)
            .filter(|_| hardened)
            .map(|r| format!(" ({req} is replaced in hardened by {})", r.by.join(", ")))
            .unwrap_or_default();
        let hint = nearest(
            req,
            requirements
                .of_profile(case.profile)
                .iter()
                .map(|r| r.id.as_str()),
        )
        .map(|n| format!("; did you mean {n:?}?"))
        .unwrap_or_default();
        let at = c.locate(&format!("\"{req}\""));
        c.fail(
            format!(
                "covers {req:?}, which is not a requirement ID of profile {}{replaced}{hint} [rule fixture.unknown-requirement]",
                case.profile
            ),
            at,
        );
    }
}

/// `fixture.rejects`. Whether the configuration is really rejected, and
/// for this rule, is the runner's verdict, not a load error.
fn check_rejects(c: &mut CaseCheck<'_>, case: &Case, requirements: &Requirements) {
    let Some(rule) = &case.rejects else {
        return;
    };
    let problem = if !case.steps.is_empty() {
        Some("a case that `rejects` its configuration has no steps".to_owned())
    } else if !case.covers.contains(rule) {
        Some(format!(
            "`rejects` names {rule:?}, which `covers` must list too"
        ))
    } else if requirements.get(rule).is_none() {
        Some(format!(
            "`rejects` names r[{rule}], which is not a requirement ID"
        ))
    } else {
        None
    };
    if let Some(problem) = problem {
        c.fail(format!("{problem} [rule fixture.rejects]"), c.at);
    }
}

/// What the step checks carry from one step to the next.
struct StepState {
    /// The virtual clock, while it stays in range.
    now: Option<OffsetDateTime>,
    /// The symbols bound so far.
    bound: BTreeSet<String>,
    /// Requests opened and not yet finished, by handle.
    open: BTreeSet<String>,
    /// The configuration and every reconfiguration so far.
    patches: Vec<ConfigPatch>,
}

fn in_range(t: OffsetDateTime) -> bool {
    (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&t)
}

fn clock_error(at: &str) -> String {
    format!(
        "{at} the virtual clock outside {} to {} [rule fixture.clock]",
        EARLIEST_INSTANT.date(),
        LATEST_INSTANT.date()
    )
}

/// Every step, in order, then the requests left open.
fn check_steps(c: &mut CaseCheck<'_>, case: &Case) {
    let mut state = StepState {
        now: Some(case.start).filter(|t| in_range(*t)),
        bound: BTreeSet::new(),
        open: BTreeSet::new(),
        patches: vec![case.config.clone()],
    };
    if state.now.is_none() {
        let at = c.locate("\"start\"");
        c.fail(clock_error("`start` puts"), at);
    }
    for (n, step) in case.steps.iter().enumerate() {
        let step_no = n + 1;
        check_clock(c, step_no, &step.action, &mut state);
        for (needle, problem) in profile_problems(case.profile, &step.action) {
            let at = c.locate(&needle);
            c.fail(format!("step {step_no}: {problem}"), at);
        }
        check_symbols(c, step_no, &step.action, &mut state.bound);
        check_interleave(c, step_no, &step.action, &mut state);
        if let Action::Reconfigure(p) = &step.action {
            state.patches.push(p.clone());
            if let Err(e) = Config::build(case.profile, &state.patches) {
                c.fail(
                    format!("step {step_no}: reconfigure: {e} [rule fixture.config]"),
                    c.at,
                );
            }
        }
    }
    if !state.open.is_empty() {
        let ids: Vec<String> = state.open.iter().map(|id| format!("{id:?}")).collect();
        c.fail(
            format!(
                "request(s) {} opened and never finished; every open request must be finished by the end of the case [rule fixture.interleave]",
                ids.join(", ")
            ),
            c.at,
        );
    }
}

/// `fixture.clock`: an advance keeps the clock in range.
fn check_clock(c: &mut CaseCheck<'_>, step_no: usize, action: &Action, state: &mut StepState) {
    if let (Action::Advance(d), Some(t)) = (action, state.now) {
        state.now = t.checked_add(*d).filter(|t| in_range(*t));
        if state.now.is_none() {
            let at = c.locate("\"advance\"");
            c.fail(
                clock_error(&format!("step {step_no}: this advance takes")),
                at,
            );
        }
    }
}

/// `fixture.unbound-symbol`, `fixture.derived-value`: a symbol is bound
/// before it is sent or named, and a derived value is well formed.
fn check_symbols(
    c: &mut CaseCheck<'_>,
    step_no: usize,
    action: &Action,
    bound: &mut BTreeSet<String>,
) {
    let need_bound = |c: &mut CaseCheck<'_>, sym: &str, where_: &str| {
        if is_symbol(sym) && !bound.contains(sym) {
            let at = c.locate(sym);
            c.fail(
                format!("step {step_no}: {where_} uses {sym}, which no earlier step bound [rule fixture.unbound-symbol]"),
                at,
            );
        }
    };
    let header = match action {
        Action::Request(spec, _) => Some(&spec.cookies),
        Action::Open(spec, _) => Some(&spec.cookies),
        _ => None,
    };
    if let Some(CookieSource::Header(h)) = header {
        if let Err(problem) = derived_in(h) {
            let at = c.locate("\"header\"");
            c.fail(
                format!(
                    "step {step_no}: the Cookie header: {problem} [rule fixture.derived-value]"
                ),
                at,
            );
        }
        for sym in symbols_in(h) {
            need_bound(c, &sym, "the Cookie header");
        }
    }
    if let Action::Corrupt(s) = action {
        need_bound(c, s, "`corrupt`");
    }
    let issued = match action {
        Action::Request(_, e) => &e.set_cookies[..],
        Action::Finish(_, e) => &e.set_cookies[..],
        _ => &[][..],
    };
    for v in issued.iter().filter_map(|c| c.value.as_ref()) {
        if is_symbol(v) {
            bound.insert(v.clone());
        }
    }
    let (sids, what) = match action {
        Action::Cleanup(_, e) => (&e.removed[..], "removed"),
        Action::List(sids) => (&sids[..], "sids"),
        _ => return,
    };
    if let Some(problem) = bind_sid_set(sids, bound) {
        let at = c.locate(what);
        c.fail(format!("step {step_no}: `{what}` {problem}"), at);
    }
}

/// `fixture.interleave`: opens, ops and finishes name handles that are
/// (not) open, and no reconfiguration happens while a request is open.
fn check_interleave(c: &mut CaseCheck<'_>, step_no: usize, action: &Action, state: &mut StepState) {
    let problem = match action {
        Action::Open(spec, _) if !state.open.insert(spec.id.clone()) => Some((
            format!("request {:?} is opened while it is still open", spec.id),
            "\"open\"",
        )),
        Action::Ops(spec, _) if !state.open.contains(&spec.id) => Some((
            format!("`ops` names request {:?}, which is not open", spec.id),
            "\"ops\"",
        )),
        Action::Finish(id, _) if !state.open.remove(id) => Some((
            format!("`finish` names request {id:?}, which is not open"),
            "\"finish\"",
        )),
        Action::Reconfigure(_) => state.open.iter().next().map(|id| {
            (
                format!(
                    "reconfigure while request {id:?} is open; a wiki restarts between requests"
                ),
                "\"reconfigure\"",
            )
        }),
        _ => None,
    };
    if let Some((problem, needle)) = problem {
        let at = c.locate(needle);
        c.fail(
            format!("step {step_no}: {problem} [rule fixture.interleave]"),
            at,
        );
    }
}

/// Binds the one new strict symbol a list or cleanup expectation may name
/// (the one listed id not otherwise accounted for); describes the problem
/// when there are more, or a new latest symbol.
fn bind_sid_set(sids: &[SidRef], bound: &mut BTreeSet<String>) -> Option<String> {
    let unbound: Vec<&SidRef> = sids
        .iter()
        .filter(|s| is_symbol(s) && !bound.contains(*s))
        .collect();
    match unbound.as_slice() {
        [] => None,
        [one] if !is_latest_symbol(one) => {
            bound.insert((*one).clone());
            None
        }
        _ => Some(format!(
            "may bind at most one new $s symbol; it has {} [rule fixture.unbound-symbol]",
            unbound
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
