//! The corpus of this source tree (`fixtures/`), loaded once per test
//! binary and shared by its tests (it is read-only).

use std::sync::OnceLock;

use moin_session_conformance::{default_fixtures_dir, load};
use moin_session_spec::corpus::{Corpus, Requirements};

/// The corpus and the requirements, or a failure listing every malformed
/// fixture.
pub fn corpus() -> &'static (Corpus, Requirements) {
    static CORPUS: OnceLock<(Corpus, Requirements)> = OnceLock::new();
    CORPUS.get_or_init(|| match load(&default_fixtures_dir()) {
        Ok(loaded) => loaded,
        Err(errors) => panic!(
            "malformed fixtures:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    })
}
