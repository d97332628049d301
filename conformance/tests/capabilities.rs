//! What a backend offers decides what it is asked: a store without the
//! optional `corrupt` passes the corpus (those cases ignored, never
//! passed) and random traces (which never corrupt); an adapter that lacks
//! a capability gets random traces without it, and the report says what
//! was left out; a backend that supports only some values of a setting
//! declares them (`configurations`) and the cases configured otherwise are
//! skipped in one line, while random traces never draw them.

use std::process::Command;

use moin_session_conformance::harness::Harness;
use moin_session_spec::store::{Change, Loaded, OnConflict, Record, Store, StoreError, Updated};
use moin_session_spec::{MemoryStore, Profile};

const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

fn check(args: &[&str], adapter: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
        .args(args)
        .args(["--adapter", adapter])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A store that keeps the default `corrupt` (declines) and `can_corrupt`;
/// its atomic update is the memory store's.
struct NoCorruptStore(MemoryStore);

impl Store for NoCorruptStore {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        self.0.load(sid)
    }
    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        self.0.save(sid, record)
    }
    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        self.0.delete(sid)
    }
    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        self.0.delete_if(sid, condition)
    }
    fn list(&self) -> Result<Vec<String>, StoreError> {
        self.0.list()
    }
    fn update(
        &self,
        id: &str,
        on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        self.0.update(id, on_conflict, decide)
    }
    fn clear(&self) -> Result<(), StoreError> {
        self.0.clear()
    }
}

#[test]
fn a_store_without_corrupt_passes_the_corpus_and_random_traces() {
    let harness = Harness::for_store("no-corrupt", || NoCorruptStore(MemoryStore::new()))
        .profiles(&[Profile::Moin19])
        .random_traces(300);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-corrupt-store.log");
    let args = libtest_mimic::Arguments {
        test_threads: Some(2),
        logfile: Some(path.display().to_string()),
        ..libtest_mimic::Arguments::default()
    };
    let conclusion = libtest_mimic::run(&args, harness.trials().unwrap());
    let log = std::fs::read_to_string(&path).unwrap();
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
    let (code, stdout, stderr) = check(
        &["check", "--profile", "moin-1.9", "--random", "150"],
        &adapter,
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("not generated: corrupting a stored record: the backend does not offer it (capability `corrupt`)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not generated: requests over https"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 skipped"), "{stdout}");
}

/// r[proto.handshake.configurations]: an adapter that always sends
/// HttpOnly and says it supports `cookie_httponly = true` only: the cases
/// configured otherwise are skipped in one line, the others pass, and
/// random traces agree.
#[test]
fn a_backend_declares_the_configuration_values_it_supports() {
    let adapter = format!("{ADAPTER} --fault httponly-always --limit cookie_httponly=true");
    let (code, stdout, stderr) = check(&["check", "--profile", "moin-1.9"], &adapter);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let skips: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("SKIP") && l.contains("cookie_httponly = false"))
        .collect();
    assert_eq!(skips.len(), 1, "one line for every such skip:\n{stdout}");
    assert!(skips[0].contains("(it supports true only)"), "{}", skips[0]);
    let (code, stdout, stderr) = check(
        &["check", "--profile", "moin-1.9", "--random", "100"],
        &adapter,
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("not generated: cookie_httponly other than true"),
        "{stdout}"
    );
}

/// A hello reply that limits a setting that cannot be limited refuses the
/// adapter before any case.
#[test]
fn a_limit_on_a_setting_that_cannot_be_limited_is_refused() {
    let (code, _, stderr) = check(&["check"], &format!("{ADAPTER} --limit cookie_lifetime=1"));
    assert_eq!(code, Some(2), "{stderr}");
    let hello = r#"{"seq":1,"type":"hello","protocol":2,"implementation":{"name":"x","version":"1","language":"sh"},"profiles":["moin-1.9"],"capabilities":[],"configurations":{"cookie_lifetime":[1]}}"#;
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-hello.json");
    std::fs::write(&file, format!("{hello}\n")).unwrap();
    let adapter = format!("sh -c 'read line; cat {}; read line'", file.display());
    let (code, stdout, stderr) = check(&["check"], &adapter);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("\"cookie_lifetime\" cannot be limited"),
        "{stderr}"
    );
}
