//! What a backend offers decides what it is asked: a store without the
//! optional `corrupt` passes the corpus (those cases ignored, never
//! passed) and random traces (which never corrupt); an adapter that lacks
//! a capability gets random traces without it, and the report says what
//! was left out; a backend that supports only some values of a setting
//! declares them (`configurations`) and the cases configured otherwise are
//! skipped in one line, while random traces never draw them.

use moin_session_conformance::forward_store_calls;
use moin_session_conformance::harness::Harness;
use moin_session_spec::store::Store;
use moin_session_spec::{MemoryStore, Profile};
use moin_session_testkit::cli::{Cli, Ran};
use moin_session_testkit::trials::run_trials;

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

/// `check` with the words of `words`, against `adapter`.
fn check(words: &str, adapter: &str) -> Ran {
    Cli::new(env!("CARGO_BIN_EXE_moin-session-conformance")).check(words, adapter)
}

/// A store that keeps the default `corrupt` (declines) and `can_corrupt`;
/// its atomic update is the memory store's.
struct NoCorruptStore(MemoryStore);

impl Store for NoCorruptStore {
    forward_store_calls!(0: load, save, delete, delete_if, list, update, clear);
}

#[test]
fn a_store_without_corrupt_passes_the_corpus_and_random_traces() {
    let harness = Harness::for_store("no-corrupt", || NoCorruptStore(MemoryStore::new()))
        .profiles(&[Profile::Moin19])
        .random_traces(300);
    let (conclusion, log) = run_trials(harness.trials().unwrap(), None);
    assert_eq!(conclusion.num_failed, 0, "{log}");
    assert!(
        conclusion.num_ignored > 0,
        "the corrupt cases are ignored: {conclusion:?}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("random-traces.seed-1") && l.ends_with("ok")),
        "{log}"
    );
}

/// r[proto.handshake.capabilities]: random traces of an adapter without
/// `corrupt` or `https` never need them, and the report says so.
#[test]
fn random_traces_draw_only_what_an_adapter_offers() {
    let adapter = format!("{ADAPTER} --without corrupt --without https --without change-user");
    check("--profile moin-1.9 --random 150", &adapter)
        .exits(0)
        .says(&[
            "not generated: corrupting a stored record: the backend does not offer it (capability `corrupt`)",
            "not generated: requests over https",
            " 0 skipped",
        ]);
}

/// r[proto.handshake.configurations]: an adapter that always sends
/// HttpOnly and says it supports `cookie_httponly = true` only: the cases
/// configured otherwise are skipped in one line, the others pass, and
/// random traces agree.
#[test]
fn a_backend_declares_the_configuration_values_it_supports() {
    let adapter = format!("{ADAPTER} --fault httponly-always --limit cookie_httponly=true");
    let stdout = check("--profile moin-1.9", &adapter).exits(0).stdout;
    let skips: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("SKIP") && l.contains("cookie_httponly = false"))
        .collect();
    assert_eq!(skips.len(), 1, "one line for every such skip:\n{stdout}");
    assert!(skips[0].contains("(it supports true only)"), "{}", skips[0]);
    check("--profile moin-1.9 --random 100", &adapter)
        .exits(0)
        .says(&["not generated: cookie_httponly other than true"]);
}

/// A hello reply that limits a setting that cannot be limited refuses the
/// adapter before any case.
#[test]
fn a_limit_on_a_setting_that_cannot_be_limited_is_refused() {
    check("", &format!("{ADAPTER} --limit cookie_lifetime=1")).exits(2);
    let hello = r#"{"seq":1,"type":"hello","protocol":2,"implementation":{"name":"x","version":"1","language":"sh"},"profiles":["moin-1.9"],"capabilities":[],"configurations":{"cookie_lifetime":[1]}}"#;
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-hello.json");
    std::fs::write(&file, format!("{hello}\n")).unwrap();
    let adapter = format!("sh -c 'read line; cat {}; read line'", file.display());
    check("", &adapter)
        .exits(2)
        .warns(&["\"cookie_lifetime\" cannot be limited"]);
}
