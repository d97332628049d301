//! A case and its steps: the top of the fixture format
//! (`fixtures/README.md` is the guide, `fixtures/schema.json` the JSON
//! Schema). A step is read in its written form ([`RawStep`]: every action
//! and expectation optional) and converted, with checks, into a [`Step`]
//! (exactly one action, the expectations that action allows, complete
//! cookie expectations).
//!
//! The step and its written form are in `step.rs`; what a profile does
//! not have, in `profile_rules.rs`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::ConfigPatch;
use crate::profile::Profile;

use super::step::Step;

/// One fixture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureFile {
    /// The schema reference editors use; ignored by the reader.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The cases, in reading order.
    pub cases: Vec<Case>,
}

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable semantic id, e.g. `m19.lifetime.remember-me-forever`.
    pub id: String,
    /// One line saying what the case shows.
    pub title: String,
    /// The requirement IDs the case covers.
    pub covers: Vec<String>,
    /// The profile.
    pub profile: Profile,
    /// The configuration, over the profile's defaults.
    #[serde(default)]
    pub config: ConfigPatch,
    /// The virtual clock's start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// The steps (none when the case `rejects` its configuration).
    #[serde(default)]
    pub steps: Vec<Step>,
    /// When given, the case shows that `config` is rejected: building it
    /// must fail with an error citing this requirement ID, and the case
    /// has no steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejects: Option<String>,
}
