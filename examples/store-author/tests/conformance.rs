// tests/conformance.rs
use moin_session_conformance::harness::Harness;
use store_author_example::MapStore; // your store

fn main() -> std::process::ExitCode {
    Harness::for_store("map-store", MapStore::new) // the store contract, then the corpus
        .random_traces(200) // one more test: random traces against the model
        .run()
}
