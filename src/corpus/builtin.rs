//! The corpus built into the library: every fixture file of this source
//! tree's `fixtures/` (the schema aside), embedded at build time by
//! `build.rs`, so that an installed runner needs no checkout.

use std::path::PathBuf;

use super::load::{load_texts, Corpus, FixtureError};
use super::requirements::Requirements;

mod files {
    include!(concat!(env!("OUT_DIR"), "/corpus_files.rs"));
}

/// The built-in fixture files: (path below `fixtures/`, text), in path
/// order.
pub const BUILTIN_FILES: &[(&str, &str)] = files::FILES;

/// The built-in corpus, validated like a corpus read from disk; its files
/// are named `fixtures/<path>` in reports.
///
/// ```
/// use moin_session_spec::corpus::{builtin_corpus, Requirements};
/// let corpus = builtin_corpus(&Requirements::builtin()).expect("the built-in corpus is checked by the tests");
/// assert!(corpus.get("m19.cookie.max-age-is-lifetime").is_some());
/// ```
pub fn builtin_corpus(requirements: &Requirements) -> Result<Corpus, Vec<FixtureError>> {
    let sources = BUILTIN_FILES
        .iter()
        .map(|(path, text)| (PathBuf::from("fixtures").join(path), (*text).to_owned()))
        .collect();
    load_texts(sources, requirements)
}
