//! Reports: what people and tools read after a run.
//!
//! - [`summary`]: what every format counts (outcomes, per-requirement
//!   summaries, violated clauses);
//! - [`claim_lines`]: the conformance claim a run supports (version,
//!   skipped capabilities, clauses left out);
//! - text for people at a terminal, JSON for scripts, JUnit XML for CI
//!   systems, Markdown for a CI step summary, and [`html`], one
//!   self-contained page;
//! - [`random`]: the reports of a random run;
//! - [`transcript`]: a case as a person reads it, step by step;
//! - [`inert`]: text from adapters, stores and fixtures shown, never obeyed
//!   (escapes for terminals, HTML entities for Markdown).

mod claim;
pub mod html;
pub mod inert;
mod json;
mod junit;
mod markdown;
pub mod random;
pub mod summary;
mod text;
pub mod transcript;

pub use claim::claim_lines;
pub use json::{json, unchecked_profiles, Versions};
pub use junit::{junit, junit_of_run, xml_escape};
pub use markdown::markdown;
pub use summary::{by_requirement, row_status, violations, Outcome, Summary};
pub use text::{failure, text};

pub(crate) use text::deviation_block;
