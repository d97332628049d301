//! Differential traces: one sequence of steps run through the model and a
//! backend side by side, every observation of the model turned into an
//! expectation and the backend judged by the runner's one comparison
//! ([`compare_request`], [`compare_sid_set`]).
//!
//! A [`Trace`] is written without real sids: explicit `Cookie` headers
//! name earlier sids by their order of appearance ([`HeaderPick`]), so the
//! same trace means the same thing to two backends that draw different
//! sids. The model's sids become symbols `$s1`, `$s2`, … in order of
//! appearance in its `Set-Cookie` values; sids the client made up stay
//! literal. The backend's run binds the same symbols through a fresh
//! [`Bindings`], exactly as a fixture run does.
//!
//! ```
//! use moin_session_conformance::random::differential::{run_differential, Trace, TraceStep, RequestStep};
//! use moin_session_spec::{ConfigPatch, LifetimeSetting, MemoryStore, Model, ReferenceBackend};
//! let trace = Trace {
//!     config: ConfigPatch {
//!         cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
//!         ..ConfigPatch::default()
//!     },
//!     start: time::macros::datetime!(2009-03-01 12:00:30 UTC),
//!     steps: vec![
//!         TraceStep::Request(RequestStep::default()),
//!         TraceStep::AdvanceMillis(30_000),
//!         TraceStep::Request(RequestStep::default()),
//!         TraceStep::List,
//!     ],
//! };
//! let mut reference = ReferenceBackend::new("reference-memory", MemoryStore::new());
//! assert_eq!(run_differential(&trace, &mut Model::new(), &mut reference), Ok(()));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use moin_session_spec::fixture::{CookieExpect, RequestExpect, SidRef};
use moin_session_spec::{
    AuthAction, Backend, BackendError, CleanupMode, CleanupRequest, Config, ConfigPatch, Op,
    Profile, Request, Response,
};
use time::{Duration, OffsetDateTime};

use crate::run::compare::{compare_request, compare_sid_set, Bindings};
use crate::run::jar::{is_deletion, Jar};

/// A differential trace of the moin-1.9 profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The configuration, over the profile's defaults.
    pub config: ConfigPatch,
    /// The virtual instant the trace starts at.
    pub start: OffsetDateTime,
    /// The steps.
    pub steps: Vec<TraceStep>,
}

/// One step of a [`Trace`].
#[derive(Debug, Clone, PartialEq)]
pub enum TraceStep {
    /// The clock moves forward this many milliseconds.
    AdvanceMillis(i64),
    /// A request.
    Request(RequestStep),
    /// A cleanup.
    Cleanup {
        /// Expired or all.
        mode: CleanupMode,
        /// By user.
        user: Option<String>,
    },
    /// Lists the store.
    List,
    /// The operator edits the configuration (a patch over the current one).
    /// Skipped when the result does not validate.
    Reconfigure(Box<ConfigPatch>),
    /// Makes the record of the n-th sid (modulo how many there are)
    /// unreadable, when the model lists it; skipped otherwise.
    Corrupt(usize),
}

/// A request step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestStep {
    /// Over https.
    pub https: bool,
    /// The path.
    pub path: String,
    /// Which cookies it sends.
    pub cookies: CookiePick,
    /// The authentication action.
    pub auth: AuthAction,
    /// The application's ops.
    pub ops: Vec<Op>,
}

/// Which `Cookie` header a request sends.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CookiePick {
    /// What the simulated browser's jar holds.
    #[default]
    Jar,
    /// No header.
    None,
    /// An explicit header: these session cookie values, in order, each
    /// under the session cookie name, then an unrelated cookie.
    Header(Vec<HeaderPick>),
}

/// One session cookie value of an explicit header.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderPick {
    /// The n-th sid seen so far (modulo how many), as issued.
    Known(usize),
    /// The n-th sid seen so far with one more character: malformed.
    Tampered(usize),
    /// A well-formed sid the client made up.
    MadeUp(String),
    /// Any other value (malformed unless it happens to be a sid).
    Raw(String),
}

/// Where a differential run found the backend disagreeing with the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The 1-based step number.
    pub step: usize,
    /// What the step was.
    pub what: String,
    /// Every difference, as the runner writes them.
    pub differences: Vec<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "step {} ({}):", self.step, self.what)?;
        for d in &self.differences {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

/// The model's sids as symbols, in order of appearance.
#[derive(Default)]
struct Symbols {
    /// Model sid to symbol (or to itself for sids the client made up).
    of: BTreeMap<String, String>,
    /// Symbols issued by the model, in order.
    issued: Vec<String>,
    /// Symbol to model sid.
    sid: BTreeMap<String, String>,
}

impl Symbols {
    /// The reference of a model sid in an expectation, naming it when new.
    fn name(&mut self, sid: &str) -> SidRef {
        if let Some(s) = self.of.get(sid) {
            return s.clone();
        }
        let symbol = format!("$s{}", self.issued.len() + 1);
        self.of.insert(sid.to_owned(), symbol.clone());
        self.sid.insert(symbol.clone(), sid.to_owned());
        self.issued.push(symbol.clone());
        symbol
    }

    /// A literal sid the client made up: it names itself.
    fn literal(&mut self, sid: &str) {
        self.of
            .entry(sid.to_owned())
            .or_insert_with(|| sid.to_owned());
    }

    fn pick(&self, n: usize) -> Option<&str> {
        if self.issued.is_empty() {
            None
        } else {
            Some(&self.issued[n % self.issued.len()])
        }
    }
}

fn failed(what: &str, e: impl fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Turns the model's response into the expectation a fixture would state.
fn expectation(response: &Response, now: OffsetDateTime, symbols: &mut Symbols) -> RequestExpect {
    let mut set_cookies = Vec::new();
    for header in &response.set_cookies {
        let Ok(c) = crate::run::cookie_date::parse_set_cookie(header) else {
            continue;
        };
        let deleted = is_deletion(&c, now);
        set_cookies.push(CookieExpect {
            name: c.name().to_owned(),
            deleted,
            value: (!deleted).then(|| symbols.name(c.value())),
            max_age: if deleted {
                None
            } else {
                c.max_age().map(|d| d.whole_seconds())
            },
            expires: if deleted { None } else { c.expires_datetime() },
            path: c.path().unwrap_or_default().to_owned(),
            domain: c.domain().map(str::to_owned),
            secure: (!deleted).then(|| c.secure().unwrap_or(false)),
            httponly: (!deleted).then(|| c.http_only().unwrap_or(false)),
            samesite: if deleted {
                None
            } else {
                c.same_site().map(|s| s.to_string())
            },
        });
    }
    RequestExpect {
        new: response.new,
        user: response.user.clone(),
        set_cookies,
        results: response.results.clone(),
        uncacheable: None,
    }
}

/// Runs `trace` through `model` (the oracle) and `backend`, step by step,
/// and returns the first step where the backend's observation does not
/// match the model's. Steps the model itself cannot carry out (a
/// configuration that does not validate, corrupting an absent record) are
/// skipped for both.
pub fn run_differential(
    trace: &Trace,
    model: &mut dyn Backend,
    backend: &mut dyn Backend,
) -> Result<(), Divergence> {
    let patches = vec![trace.config.clone()];
    let Ok(config) = Config::build(Profile::Moin19, &patches) else {
        return Ok(());
    };
    on(0, "reset", "model", model.reset(&config))?;
    on(0, "reset", "backend", backend.reset(&config))?;
    let mut run = Differential {
        model,
        backend,
        cookie_name: m19_cookie_name(&config),
        patches,
        now: trace.start,
        symbols: Symbols::default(),
        bindings: Bindings::for_profile(Profile::Moin19),
        model_jar: Jar::new(),
        backend_jar: Jar::new(),
    };
    for (i, step) in trace.steps.iter().enumerate() {
        let number = i + 1;
        match step {
            TraceStep::AdvanceMillis(ms) => run.now += Duration::milliseconds(*ms),
            TraceStep::Reconfigure(patch) => run.reconfigure(number, patch)?,
            TraceStep::Corrupt(n) => run.corrupt(number, *n)?,
            TraceStep::List => run.list(number)?,
            TraceStep::Cleanup { mode, user } => run.cleanup(number, *mode, user.as_deref())?,
            TraceStep::Request(spec) => run.request(number, spec)?,
        }
    }
    Ok(())
}

/// `result` of one side (`model` or `backend`) at step `step`, or the
/// divergence its error is.
fn on<T>(
    step: usize,
    what: &str,
    side: &str,
    result: Result<T, BackendError>,
) -> Result<T, Divergence> {
    result.map_err(|e| diverge(step, what, vec![failed(side, e)]))
}

fn diverge(step: usize, what: &str, differences: Vec<String>) -> Divergence {
    Divergence {
        step,
        what: what.to_owned(),
        differences,
    }
}

fn m19_cookie_name(config: &Config) -> String {
    config
        .as_m19()
        .expect("a moin-1.9 configuration")
        .cookie_full_name()
}

/// The two runs of a differential trace, side by side: the model's with
/// its own symbols and jar, the backend's with the bindings and jar a
/// fixture run would have.
struct Differential<'a> {
    model: &'a mut dyn Backend,
    backend: &'a mut dyn Backend,
    patches: Vec<ConfigPatch>,
    cookie_name: String,
    now: OffsetDateTime,
    symbols: Symbols,
    bindings: Bindings,
    model_jar: Jar,
    backend_jar: Jar,
}

impl Differential<'_> {
    /// A reconfiguration the library refuses is left out.
    fn reconfigure(&mut self, number: usize, patch: &ConfigPatch) -> Result<(), Divergence> {
        self.patches.push(patch.clone());
        let Ok(config) = Config::build(Profile::Moin19, &self.patches) else {
            self.patches.pop();
            return Ok(());
        };
        self.cookie_name = m19_cookie_name(&config);
        on(
            number,
            "reconfigure",
            "model",
            self.model.reconfigure(&config),
        )?;
        on(
            number,
            "reconfigure",
            "backend",
            self.backend.reconfigure(&config),
        )
    }

    /// Corrupts the `n`th sid seen, where the model still stores it.
    fn corrupt(&mut self, number: usize, n: usize) -> Result<(), Divergence> {
        let Some(symbol) = self.symbols.pick(n).map(str::to_owned) else {
            return Ok(());
        };
        let model_sid = self.symbols.sid[&symbol].clone();
        let listed = on(number, "corrupt", "model", self.model.list())?;
        if !listed.contains(&model_sid) {
            return Ok(());
        }
        let Some(backend_sid) = self.bindings.resolve(&symbol) else {
            return Err(diverge(
                number,
                "corrupt",
                vec![format!("{symbol} was never bound by the backend")],
            ));
        };
        on(number, "corrupt", "model", self.model.corrupt(&model_sid))?;
        on(
            number,
            "corrupt",
            "backend",
            self.backend.corrupt(&backend_sid),
        )
    }

    fn list(&mut self, number: usize) -> Result<(), Divergence> {
        let m = on(number, "list", "model", self.model.list())?;
        let b = on(number, "list", "backend", self.backend.list())?;
        let expected: Vec<SidRef> = m.iter().map(|s| self.symbols.name(s)).collect();
        let d = compare_sid_set("sids", &expected, &b, &mut self.bindings);
        if d.is_empty() {
            Ok(())
        } else {
            Err(diverge(number, "list", strings(d)))
        }
    }

    fn cleanup(
        &mut self,
        number: usize,
        mode: CleanupMode,
        user: Option<&str>,
    ) -> Result<(), Divergence> {
        let request = CleanupRequest {
            now: self.now,
            mode,
            user: user.map(str::to_owned),
        };
        let m = on(number, "cleanup", "model", self.model.cleanup(&request))?;
        let b = on(number, "cleanup", "backend", self.backend.cleanup(&request))?;
        let expected: Vec<SidRef> = m.removed.iter().map(|s| self.symbols.name(s)).collect();
        let d = compare_sid_set("removed", &expected, &b.removed, &mut self.bindings);
        if d.is_empty() {
            Ok(())
        } else {
            Err(diverge(number, "cleanup", strings(d)))
        }
    }

    /// The `Cookie` headers the two browsers send for a request step.
    fn headers(&mut self, spec: &RequestStep) -> (Option<String>, Option<String>) {
        let (model_header, backend_header) = match &spec.cookies {
            CookiePick::Jar => (
                self.model_jar.header_for(&spec.path, spec.https, self.now),
                self.backend_jar
                    .header_for(&spec.path, spec.https, self.now),
            ),
            CookiePick::None => (None, None),
            CookiePick::Header(picks) => {
                let template = header_template(picks, &self.cookie_name, &mut self.symbols);
                let model_header = substitute(&template, &self.symbols.sid);
                (
                    Some(model_header),
                    Some(self.bindings.substitute(&template)),
                )
            }
        };
        if let Some(h) = &backend_header {
            for pair in h.split(';') {
                if let Some((_, v)) = pair.split_once('=') {
                    if !v.trim().is_empty() {
                        self.bindings.see(v.trim());
                    }
                }
            }
        }
        (model_header, backend_header)
    }

    fn request(&mut self, number: usize, spec: &RequestStep) -> Result<(), Divergence> {
        let (model_header, backend_header) = self.headers(spec);
        let now = self.now;
        let request = |cookie_header| Request {
            now,
            https: spec.https,
            path: spec.path.clone(),
            cookie_header,
            auth: spec.auth.clone(),
            ops: spec.ops.clone(),
        };
        let side = |side, response| on(number, "request", side, response);
        let m = side("model", self.model.request(&request(model_header)))?;
        let b = side("backend", self.backend.request(&request(backend_header)))?;
        let expect = expectation(&m, now, &mut self.symbols);
        let d = compare_request(&expect, &b, now, &mut self.bindings);
        if !d.is_empty() {
            return Err(diverge(number, "request", strings(d)));
        }
        for h in &m.set_cookies {
            let _ = self.model_jar.receive(h, &spec.path, spec.https, now);
        }
        for h in &b.set_cookies {
            let _ = self.backend_jar.receive(h, &spec.path, spec.https, now);
        }
        Ok(())
    }
}

fn strings(d: Vec<crate::run::compare::Difference>) -> Vec<String> {
    d.iter().map(ToString::to_string).collect()
}

/// The header with symbols for the sids both sides know.
fn header_template(picks: &[HeaderPick], cookie_name: &str, symbols: &mut Symbols) -> String {
    let mut pairs = Vec::new();
    for pick in picks {
        let value = match pick {
            HeaderPick::Known(n) => symbols.pick(*n).map(str::to_owned),
            // A letter, not a digit: `$s1x` cannot be read as another symbol.
            HeaderPick::Tampered(n) => symbols.pick(*n).map(|s| format!("{s}x")),
            HeaderPick::MadeUp(sid) => {
                symbols.literal(sid);
                Some(sid.clone())
            }
            HeaderPick::Raw(raw) => Some(raw.clone()),
        };
        if let Some(value) = value {
            pairs.push(format!("{cookie_name}={value}"));
        }
    }
    pairs.push("other=1".to_owned());
    pairs.join("; ")
}

/// Replaces bound symbols by the model's sids, longest symbols first.
fn substitute(template: &str, sids: &BTreeMap<String, String>) -> String {
    let mut by_length: Vec<(&String, &String)> = sids.iter().collect();
    by_length.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    let mut out = template.to_owned();
    for (symbol, sid) in by_length {
        out = out.replace(symbol.as_str(), sid);
    }
    out
}
