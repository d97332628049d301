//! What running a case yields: the [`Verdict`], the trace of every step,
//! and the [`CaseResult`] that reports, transcripts and expectations files
//! read. The runner ([`crate::run::runner`]) produces these; nothing here runs
//! anything.

use moin_session_spec::fixture::Step;
use moin_session_spec::{Profile, Request, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::run::compare::{Bindings, Difference};
use crate::run::jar::Received;

/// The verdict on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Every step matched.
    Pass,
    /// A step's observation differed from its expectation.
    Fail {
        /// 1-based step number.
        step: usize,
        /// Every difference found in that step, each ending with the
        /// clause it is attributed to in parentheses.
        differences: Vec<String>,
        /// The distinct clauses the differences are attributed to
        /// ([`crate::run::attribution`]): what this case shows violated.
        violated: Vec<String>,
    },
    /// The backend could not carry out a step (an error, a crash).
    Errored {
        /// 1-based step number (0: before the first step).
        step: usize,
        /// What went wrong.
        message: String,
    },
    /// The backend does not offer something the case needs. Never a pass.
    Skipped {
        /// Why.
        reason: String,
    },
}

impl Verdict {
    /// The clauses a failing verdict shows violated (empty otherwise).
    pub fn violated(&self) -> &[String] {
        match self {
            Verdict::Fail { violated, .. } => violated,
            _ => &[],
        }
    }

    /// The verdict's one-word name.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Errored { .. } => "errored",
            Verdict::Skipped { .. } => "skipped",
        }
    }
}

/// What happened in one step, for transcripts and reports.
#[derive(Debug, Clone)]
pub struct StepTrace {
    /// 1-based step number.
    pub number: usize,
    /// The virtual instant the step ran at.
    pub now: OffsetDateTime,
    /// The step as written.
    pub step: Step,
    /// What was observed.
    pub observed: Observed,
    /// The differences (empty when the step passed).
    pub differences: Vec<Difference>,
}

/// What a step observed.
#[derive(Debug, Clone)]
pub enum Observed {
    /// Nothing to observe (advance, reconfigure, corrupt).
    Nothing,
    /// A request and its response (for an `open` step: the request as
    /// sent and what the open answered, with no headers yet).
    Exchange {
        /// The request sent (with real sids).
        request: Box<Request>,
        /// The response.
        response: Box<Response>,
        /// What the jar did with each Set-Cookie.
        jar: Vec<Received>,
    },
    /// The sids a cleanup removed or a list returned.
    Sids(Vec<String>),
    /// The results of an `ops` step.
    Results(Vec<serde_json::Value>),
    /// The headers of a finished request.
    Finished {
        /// The request's handle.
        id: String,
        /// Every `Set-Cookie` of the response.
        set_cookies: Vec<String>,
        /// Its `Cache-Control`.
        cache_control: Option<String>,
        /// What the jar did with each Set-Cookie.
        jar: Vec<Received>,
    },
}

/// The result of running one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// Its profile.
    pub profile: Profile,
    /// The requirements it covers.
    pub covers: Vec<String>,
    /// The requirements to name when it fails: the failing step's own
    /// `covers` when it has some, else the case's.
    pub blamed: Vec<String>,
    /// Its file.
    pub file: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Every step run.
    pub steps: Vec<StepTrace>,
    /// The sid bindings at the end (for transcripts).
    pub bindings: Bindings,
    /// Set when an expectations file lists the case as a known failure.
    pub known_failure: Option<KnownFailure>,
    /// The steps whose differences fell on declared deviations
    /// ([`Deviation`]): in a case that passes otherwise, every step that
    /// deviated; in a failing case, also the declared part of the failing
    /// step. Empty when nothing deviated.
    pub deviations: Vec<DeviatedStep>,
}

impl CaseResult {
    /// The distinct declared clauses this case deviated on, in first-seen
    /// order.
    pub fn deviated_clauses(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for step in &self.deviations {
            for c in &step.clauses {
                if !out.contains(&c.as_str()) {
                    out.push(c);
                }
            }
        }
        out
    }
}

/// One step whose differences were all attributed to declared deviations
/// (or, in the failing step, the part of them that was).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviatedStep {
    /// 1-based step number.
    pub step: usize,
    /// The differences, each ending with its clause in parentheses.
    pub differences: Vec<String>,
    /// The distinct declared clauses they were attributed to.
    pub clauses: Vec<String>,
}

/// A clause a backend departs from on purpose: every difference attributed
/// to it deviates instead of failing, and any other difference still fails.
///
/// ```json
/// {"clause": "m19.cookie.httponly", "reason": "we always send HttpOnly", "issue": "https://example.org/7"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// The requirement ID departed from.
    pub clause: String,
    /// Why.
    pub reason: String,
    /// Where it is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// Where it was declared (not part of the file format).
    #[serde(skip)]
    pub origin: Origin,
}

/// Where a known failure or a deviation was declared, so that a message
/// names the place to change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    /// An expectations file (`check --expectations FILE`,
    /// `Harness::expectations`).
    File(String),
    /// The Rust harness's builder (`Harness::known_failure`,
    /// `Harness::deviation`).
    #[default]
    Code,
}

impl Origin {
    /// Where it was declared, for a report line: "expectations file
    /// my.json" or "declared in the harness".
    pub fn label(&self) -> String {
        match self {
            Origin::File(f) => format!("expectations file {f}"),
            Origin::Code => "declared in the harness".to_owned(),
        }
    }

    /// Where to remove an entry that is no longer true, e.g. "the
    /// expectations file my.json".
    pub fn place(&self, what: &str) -> String {
        match self {
            Origin::File(f) => format!("the expectations file {f}"),
            Origin::Code if what == "deviation" => "the harness's .deviation(…) calls".to_owned(),
            Origin::Code => "the harness's .known_failure(…) calls".to_owned(),
        }
    }
}

/// One case a backend is known to fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// The case id.
    pub case: String,
    /// Why it fails.
    pub reason: String,
    /// Where it is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// Where it was declared (not part of the file format).
    #[serde(skip)]
    pub origin: Origin,
}
