//! Random traces: find bugs no fixture anticipated.
//!
//! - [`skeleton`]: the deterministic generator and what a trace is before
//!   the model runs over it;
//! - [`generate`]: random configurations and steps;
//! - [`materialize`]: the model run over a skeleton, written as an
//!   ordinary case;
//! - [`symbols`]: how that model run is written (sids as symbols, cookies,
//!   finishes of open requests);
//! - [`interleave`]: overlapping requests woven into a trace;
//! - [`offers`]: a trace fitted to what the backend offers (no optional
//!   operation it lacks, no configuration value it does not support);
//! - [`run`]: many traces against a backend, grouped and shrunk, and the
//!   run's report; `shrink`: a trace's signature (its cause) and its
//!   shrinking;
//! - [`differential`]: a trace run through the model and a backend side by
//!   side (for property tests).

pub mod differential;
pub mod generate;
pub mod interleave;
pub mod materialize;
pub mod offers;
pub mod run;
mod shrink;
mod skeleton;
mod symbols;

pub use generate::{random_skeleton, requirements_touched};
pub use materialize::materialize;
pub use run::{run_random, shrink, Divergence, RandomOptions, RandomRun, Tally};
pub use skeleton::{AbstractStep, CookiePick, Rng, Skeleton, Unrepresentable};
