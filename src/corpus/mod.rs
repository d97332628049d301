//! The corpus: the fixture format of the conformance cases, the
//! requirement registry of the normative text, and the strict loader that
//! checks the one against the other.
//!
//! | file | what |
//! | --- | --- |
//! | `case.rs` | [`FixtureFile`], [`Case`], [`Step`] and [`Action`]: a case and its steps, as written and as checked |
//! | `expect.rs` | what a step sends and expects ([`RequestSpec`], [`RequestExpect`], [`CookieExpect`], …) and the symbols that stand for sids |
//! | `ids.rs` | semantic ids, clock advances, symbols in text, did-you-mean |
//! | `requirements.rs` | [`Requirements`]: every `r[...]` clause of `spec/`, compiled in |
//! | `inheritance.rs` | [`Inheritance`]: the moin-1.9 clauses `hardened` replaces, and those it inherits |
//! | `builtin.rs` | [`builtin_corpus`]: the corpus of this source tree, built into the library |
//! | `load.rs` | [`load_corpus`]: every file of a tree, validated; [`FixtureError`] names file, line, column and rule |
//! | `loaded.rs` | [`LoadedCase`], [`FixtureError`], the clock's bounds: what the loader produces, below `load.rs` and `check.rs` |
//! | `check.rs` | the loader rules of one case: id, covers, rejects, clock, and each step's symbols, derived values and interleaving |
//!
//! `fixtures/README.md` is the guide to the format and
//! `fixtures/schema.json` its JSON Schema. This module was called
//! `fixture` (and `requirements`) before; both old paths still work.

mod builtin;
mod case;
mod check;
mod expect;
mod ids;
mod inheritance;
mod load;
mod loaded;
mod profile_rules;
mod requirements;
mod step;

pub use builtin::{builtin_corpus, BUILTIN_FILES};
pub use case::{Case, FixtureFile};
pub use expect::{
    is_latest_symbol, is_symbol, CleanupExpect, CleanupSpec, CookieExpect, CookieSource,
    FinishExpect, OpenExpect, OpenSpec, OpsSpec, RequestExpect, RequestSpec, SidRef,
};
pub use ids::{
    derived_in, format_duration, is_semantic_id, nearest, parse_advance, symbols_in, Derivation,
    Derived, MAX_ADVANCE,
};
pub use inheritance::{Inheritance, Replacement};
pub use load::{
    load_corpus, load_texts, parse_file, without_element_count, Corpus, FixtureError, LoadedCase,
    EARLIEST_INSTANT, LATEST_INSTANT,
};
pub use requirements::{Requirement, Requirements, SpecError, SPEC_FILES};
pub use step::{Action, Crowd, Step, MAX_CROWD};
