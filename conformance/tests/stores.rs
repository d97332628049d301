//! Every store passes the whole corpus of every profile: the reference
//! service over the memory, file, SQLite and Redis stores, each through the
//! same `--backend` choice the CLI takes.
//!
//! The Redis store runs against a real `redis-server` that
//! `RedisServer::start` runs on a free loopback port (installing the
//! Debian package first when it is missing and the tests run as root). No
//! server, no pass: the test fails saying how to get one.

use moin_session_conformance::backends::BackendChoice;
use moin_session_conformance::run::runner::Verdict;
use moin_session_conformance::{default_fixtures_dir, load, report, run_all, Selection};
use moin_session_testkit::redis_server::RedisServer;

fn passes_the_corpus(choice: BackendChoice) {
    let (corpus, _) = load(&default_fixtures_dir()).expect("the corpus loads");
    let cases = Selection::default().apply(&corpus);
    let mut backend = choice.start().expect("the backend starts");
    let results = run_all(backend.as_mut(), &cases, |_, _| {});
    let problems: Vec<String> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(report::failure)
        .collect();
    assert!(
        problems.is_empty(),
        "{choice:?}: {} of {} case(s) did not pass:\n{}",
        problems.len(),
        results.len(),
        problems.join("\n")
    );
    // Both profiles ran: nothing was skipped for want of a profile.
    assert!(results.len() >= 200, "{} cases ran", results.len());
}

#[test]
fn reference_memory_passes_the_corpus() {
    passes_the_corpus(BackendChoice::ReferenceMemory);
}

#[test]
fn reference_file_passes_the_corpus() {
    passes_the_corpus(BackendChoice::ReferenceFile(None));
}

#[test]
fn reference_sqlite_passes_the_corpus() {
    passes_the_corpus(BackendChoice::ReferenceSqlite(None));
}

#[test]
fn reference_redis_passes_the_corpus() {
    let server =
        RedisServer::start().unwrap_or_else(|e| panic!("no Redis server for the tests: {e}"));
    passes_the_corpus(BackendChoice::ReferenceRedis(Some(server.url())));
}
