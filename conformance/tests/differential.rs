//! Differential tests: random traces run through the model and through the
//! reference service over each store, compared step by step with the
//! runner's one comparison (`moin_session_testkit::differential`).
//!
//! - moin-1.9: proptest traces (`moin_session_testkit::strategies`),
//!   `MOIN_DIFF_CASES` per store; failing traces are persisted under
//!   `proptest-regressions/` and replayed first on every run. Interleaved
//!   moin-1.9 traces (overlapping requests): `MOIN_DIFF19I_CASES` per store.
//! - moin-1.6 and hardened: the random traces of `check --random`, each
//!   materialised by the model into a case and run against the reference
//!   service; a divergence is shrunk and reported as a minimal case.
//!   `MOIN_DIFF16_CASES` and `MOIN_DIFFHARD_CASES` per store.
//! - The Redis store runs against a real `redis-server` started for the
//!   test; each of its requests is a network round trip, so it runs
//!   `MOIN_DIFF_REDIS_CASES` traces per profile.
//!
//! Each test is one store and one profile, so libtest runs them side by
//! side. The default sizes keep the run short; `MOIN_LONG_TESTS=1` runs
//! the long loops (2,000 traces per store and profile, 1,000 on Redis, 600
//! interleaved moin-1.9 traces), and each variable above sets its loop.

use moin_session_spec::Profile;
use moin_session_testkit::differential::{proptest_traces, random_traces};
use moin_session_testkit::long::count;
use moin_session_testkit::{StoreKind, TestStore};

/// The reference services over a fresh store of `kind`, sids seeded.
fn on(kind: StoreKind) -> (TestStore, Box<dyn moin_session_spec::Backend>) {
    let store = TestStore::new(kind);
    let backend = store.reference(0x5eed);
    (store, backend)
}

/// Traces per store (per profile on Redis), short and long.
fn cases(variable: &str, kind: StoreKind) -> usize {
    match (variable, kind) {
        (_, StoreKind::Redis) => count("MOIN_DIFF_REDIS_CASES", 60, 1000),
        ("MOIN_DIFF19I_CASES", _) => count(variable, 60, 600),
        _ => count(variable, 150, 2000),
    }
}

macro_rules! proptest_traces {
    ($($name:ident: $kind:ident, $regressions:literal;)*) => {$(
        #[test]
        fn $name() {
            let (_store, mut backend) = on(StoreKind::$kind);
            let n = cases("MOIN_DIFF_CASES", StoreKind::$kind);
            proptest_traces(backend.as_mut(), $regressions, n);
        }
    )*};
}

macro_rules! random_traces {
    ($($name:ident: $profile:ident, $kind:ident, $variable:literal, $seed:literal;)*) => {$(
        #[test]
        fn $name() {
            let (_store, mut backend) = on(StoreKind::$kind);
            let n = cases($variable, StoreKind::$kind);
            random_traces(backend.as_mut(), Profile::$profile, $seed, n);
        }
    )*};
}

proptest_traces! {
    reference_memory_agrees_with_the_model: Memory, "proptest-regressions/differential-memory.txt";
    reference_file_agrees_with_the_model: File, "proptest-regressions/differential-file.txt";
    reference_sqlite_agrees_with_the_model: Sqlite, "proptest-regressions/differential-sqlite.txt";
    reference_redis_agrees_with_the_model: Redis, "proptest-regressions/differential-redis.txt";
}

random_traces! {
    moin19_interleaved_reference_memory_agrees_with_the_model: Moin19, Memory, "MOIN_DIFF19I_CASES", 0x19;
    moin19_interleaved_reference_file_agrees_with_the_model: Moin19, File, "MOIN_DIFF19I_CASES", 0x1919;
    moin16_reference_memory_agrees_with_the_model: Moin16, Memory, "MOIN_DIFF16_CASES", 0x16;
    moin16_reference_file_agrees_with_the_model: Moin16, File, "MOIN_DIFF16_CASES", 0x1616;
    moin16_reference_sqlite_agrees_with_the_model: Moin16, Sqlite, "MOIN_DIFF16_CASES", 0x1617;
    moin16_reference_redis_agrees_with_the_model: Moin16, Redis, "MOIN_DIFF16_CASES", 0x1618;
    hardened_reference_memory_agrees_with_the_model: Hardened, Memory, "MOIN_DIFFHARD_CASES", 0x4a7d;
    hardened_reference_file_agrees_with_the_model: Hardened, File, "MOIN_DIFFHARD_CASES", 0x4a7d4a7d;
    hardened_reference_sqlite_agrees_with_the_model: Hardened, Sqlite, "MOIN_DIFFHARD_CASES", 0x4a7e;
    hardened_reference_redis_agrees_with_the_model: Hardened, Redis, "MOIN_DIFFHARD_CASES", 0x4a7f;
}
