//! Every store passes the whole corpus of every profile: the reference
//! service over the memory, file, SQLite and Redis stores.
//!
//! The memory and Redis stores run through the `--backend` choices the CLI
//! takes. The default run opens the file and SQLite stores without `fsync`
//! and in memory (`/dev/shm`; saves stay atomic; durability against power
//! loss is not what the corpus judges), so the crowd cases' 2,000 sessions
//! cost no 2,000 disk flushes; the long run (`MOIN_LONG_TESTS=1 cargo test --
//! --include-ignored`) also runs them through the CLI's choices, with the
//! stores' durable defaults.
//!
//! The Redis store runs against a real `redis-server` that the test starts
//! on a free loopback port (installing the Debian package first when it is
//! missing and the tests run as root). No server, no pass: the test fails
//! saying how to get one.

use moin_session_conformance::backends::BackendChoice;
use moin_session_conformance::{run_all, Selection};
use moin_session_spec::{Backend, Profile};
use moin_session_testkit::corpus::{corpus, every_case_passed};
use moin_session_testkit::progress::Progress;
use moin_session_testkit::{StoreKind, TestStore};

fn passes_the_corpus(backend: &mut dyn Backend, what: &str) {
    let cases = Selection::default().apply(&corpus().0);
    let mut progress = Progress::new(format!("corpus on {what}"), cases.len());
    let results = run_all(backend, &cases, |done, _| progress.tick(done));
    every_case_passed(&results, what);
    // Every profile ran: nothing was skipped for want of a profile.
    assert!(results.len() >= 200, "{} cases ran", results.len());
}

fn store_passes_the_corpus(kind: StoreKind) {
    let store = TestStore::new(kind);
    let mut backend = store.reference(0x5eed);
    passes_the_corpus(backend.as_mut(), kind.name());
}

fn choice_passes_the_corpus(choice: BackendChoice) {
    let mut backend = choice.start().expect("the backend starts");
    passes_the_corpus(backend.as_mut(), &format!("{choice:?}"));
}

#[test]
fn reference_file_passes_the_corpus() {
    store_passes_the_corpus(StoreKind::File);
}

#[test]
fn reference_sqlite_passes_the_corpus() {
    store_passes_the_corpus(StoreKind::Sqlite);
}

#[test]
fn reference_memory_passes_the_corpus() {
    choice_passes_the_corpus(BackendChoice::ReferenceMemory);
}

/// Each profile's cases on a Redis database of its own, side by side: the
/// run waits on the server's round trips more than on the processor. Every
/// case runs, as in one run (the results of the three are joined).
#[test]
fn reference_redis_passes_the_corpus() {
    let store = TestStore::new(StoreKind::Redis);
    let (corpus, _) = corpus();
    let cases = Selection::default().apply(corpus);
    let results: Vec<_> = std::thread::scope(|scope| {
        let lanes: Vec<_> = Profile::ALL
            .iter()
            .enumerate()
            .map(|(db, profile)| {
                let cases: Vec<_> = cases
                    .iter()
                    .copied()
                    .filter(|c| c.case.profile == *profile)
                    .collect();
                let choice = BackendChoice::ReferenceRedis(Some(format!("{}{db}", store.url())));
                scope.spawn(move || {
                    let mut backend = choice.start().expect("the backend starts");
                    let mut progress =
                        Progress::new(format!("corpus on redis, {profile}"), cases.len());
                    run_all(backend.as_mut(), &cases, |done, _| progress.tick(done))
                })
            })
            .collect();
        lanes
            .into_iter()
            .flat_map(|lane| lane.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    assert_eq!(results.len(), cases.len(), "every case ran once");
    every_case_passed(&results, "reference-redis");
    assert!(results.len() >= 200, "{} cases ran", results.len());
}

#[test]
#[ignore = "long run (durable stores): MOIN_LONG_TESTS=1 cargo test -- --include-ignored"]
fn the_cli_file_choice_passes_the_corpus_durably() {
    choice_passes_the_corpus(BackendChoice::ReferenceFile(None));
}

#[test]
#[ignore = "long run (durable stores): MOIN_LONG_TESTS=1 cargo test -- --include-ignored"]
fn the_cli_sqlite_choice_passes_the_corpus_durably() {
    choice_passes_the_corpus(BackendChoice::ReferenceSqlite(None));
}
