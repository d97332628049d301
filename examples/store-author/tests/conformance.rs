//! The store contract, then the whole corpus, as tests, one per case:
//! `cargo test -p store-author-example --test conformance` (filters work as
//! usual: `… --test conformance store.` or `… m19.cookie`).

use moin_session_conformance::harness::Harness;
use store_author_example::MapStore;

fn main() -> std::process::ExitCode {
    Harness::for_store("map-store", MapStore::new)
        .random_traces(200)
        .run()
}
