//! Differential property test: random moin-1.9 traces run through the model
//! and through the reference service over each store, compared step by step
//! with the runner's one comparison (`moin_session_conformance::random::differential`).
//!
//! The number of traces per store is `MOIN_DIFF_CASES` (default 2000).
//! Failing traces are persisted under `proptest-regressions/` and replayed
//! first on every run.
//!
//! moin-1.6 is compared through the random traces of `check --random`
//! (`moin_session_conformance::random`): each trace is materialised by the
//! model into a case and run against the reference service over each store;
//! a divergence is shrunk and reported as a minimal case. The number of
//! traces per store is `MOIN_DIFF16_CASES` (default 2000). The hardened
//! profile is compared the same way, `MOIN_DIFFHARD_CASES` traces per store
//! (default 2000).
//!
//! The Redis store runs against a real `redis-server` started for the test
//! (`moin_session_testkit::redis_server`); each of its requests is a
//! network round trip, so it runs `MOIN_DIFF_REDIS_CASES` traces per
//! profile (default 1000).

use std::cell::RefCell;
use std::path::PathBuf;

use moin_session_conformance::random::differential::{
    run_differential, CookiePick, HeaderPick, RequestStep, Trace, TraceStep,
};
use moin_session_conformance::random::interleave::interleave;
use moin_session_conformance::random::{materialize, random_skeleton, shrink, Rng};
use moin_session_conformance::run::runner::{run_case, Verdict};
use moin_session_spec::{
    AuthAction, Backend, CleanupMode, ConfigPatch, Durability, FileStore, FileStoreOptions,
    LifetimeSetting, MacroEdition, MemoryStore, Model, Op, Profile, RedisStore, RedisStoreOptions,
    ReferenceBackend, SidChoice, SitePatch, SqliteStore, SqliteStoreOptions,
};
use moin_session_testkit::redis_server::RedisServer;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use serde_json::{json, Value};
use time::macros::datetime;

const NAMES: &[&str] = &["alice", "bob", "carol", "dave", "eve"];

fn cases() -> u32 {
    std::env::var("MOIN_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn hours() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![
        0.0, 0.0001, -0.0001, 0.01, 0.5, 1.0, -1.0, 1.13, 4.35, 12.0, -2.0, 100_000.0, -0.5,
    ])
}

fn names_subset() -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(NAMES[..4].to_vec(), 0..=4)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn lifetime() -> impl Strategy<Value = Option<LifetimeSetting>> {
    prop_oneof![
        1 => Just(None),
        4 => (hours(), hours()).prop_map(|(a, b)| Some(LifetimeSetting::Pair(vec![a, b]))),
        1 => hours().prop_map(|h| Some(LifetimeSetting::Scalar(h + 0.9))),
    ]
}

fn patch(full: bool) -> impl Strategy<Value = ConfigPatch> {
    let cookie = (
        prop::option::of(prop::option::of(any::<bool>())),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::option::of(prop::sample::select(vec![
            "/".to_owned(),
            "".to_owned(),
            "/wiki".to_owned(),
        ]))),
        prop::option::of(prop::option::of(prop::sample::select(vec![
            "example.org".to_owned(),
            ".example.org".to_owned(),
        ]))),
        prop::option::of(prop::option::of(prop::sample::select(vec![
            "shared".to_owned(),
            "siteidmagic".to_owned(),
        ]))),
    );
    let accounts = (
        prop::option::of(prop::sample::select(vec![
            vec!["moin".to_owned()],
            vec![],
            vec!["http".to_owned(), "moin".to_owned()],
        ])),
        names_subset(),
        names_subset(),
        names_subset(),
        any::<bool>(),
    );
    let anon_legacy = prop::option::of(hours());
    (lifetime(), anon_legacy, cookie, accounts, any::<bool>()).prop_map(
        move |(lifetime, anon, cookie, accounts, mounted)| {
            let (secure, httponly, path, domain, name) = cookie;
            let (auth, users, disabled, superusers, keep_users) = accounts;
            // Accounts are enabled or disabled, not both.
            let disabled: Vec<String> = disabled
                .into_iter()
                .filter(|d| !users.contains(d))
                .collect();
            ConfigPatch {
                cookie_lifetime: lifetime,
                anonymous_session_lifetime: anon,
                cookie_name: name,
                cookie_path: path,
                cookie_domain: domain,
                cookie_secure: secure,
                cookie_httponly: httponly,
                site: (full && mounted).then(|| SitePatch {
                    server_port: Some(80),
                    script_root: Some("/wiki".to_owned()),
                    siteid: Some("farm1".to_owned()),
                }),
                auth,
                users: (full || !keep_users).then_some(users),
                disabled_users: (full || !keep_users).then_some(disabled),
                superusers: (full || !keep_users).then_some(superusers),
                ..ConfigPatch::default()
            }
        },
    )
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!([1, "two", {"three": 3.5}])),
        Just(json!({})),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(vec!["a", "b", "test"]).prop_map(str::to_owned);
    prop_oneof![
        3 => (key.clone(), value()).prop_map(|(key, value)| Op::Set { key, value }),
        3 => key.clone().prop_map(|key| Op::Get { key }),
        1 => key.prop_map(|key| Op::Delete { key }),
        2 => (prop::sample::select(vec![MacroEdition::V19, MacroEdition::V16]), 1u32..=100_000)
            .prop_map(|(edition, random)| Op::Macro { edition, random }),
    ]
}

fn auth() -> impl Strategy<Value = AuthAction> {
    prop_oneof![
        6 => Just(AuthAction::None),
        3 => (name(), any::<bool>()).prop_map(|(user, remember_me)| AuthAction::Login { user, remember_me }),
        1 => name().prop_map(|user| AuthAction::FailedLogin { user }),
        2 => Just(AuthAction::Logout),
        2 => name().prop_map(|to| AuthAction::ChangeUser { to }),
    ]
}

fn made_up_sid() -> impl Strategy<Value = String> {
    "[0-9a-f]{40}"
}

fn header_pick() -> impl Strategy<Value = HeaderPick> {
    prop_oneof![
        4 => any::<usize>().prop_map(HeaderPick::Known),
        1 => any::<usize>().prop_map(HeaderPick::Tampered),
        2 => made_up_sid().prop_map(HeaderPick::MadeUp),
        1 => prop::sample::select(vec![
            String::new(),
            "ABCDEF0123456789ABCDEF0123456789ABCDEF01".to_owned(),
            "abc".to_owned(),
            "../../etc/passwd".to_owned(),
        ])
        .prop_map(HeaderPick::Raw),
    ]
}

fn cookies() -> impl Strategy<Value = CookiePick> {
    prop_oneof![
        8 => Just(CookiePick::Jar),
        1 => Just(CookiePick::None),
        2 => prop::collection::vec(header_pick(), 1..=2).prop_map(CookiePick::Header),
    ]
}

fn request() -> impl Strategy<Value = RequestStep> {
    (
        any::<bool>(),
        prop::sample::select(vec!["/".to_owned(), "/wiki/FrontPage".to_owned()]),
        cookies(),
        auth(),
        prop::collection::vec(op(), 0..=3),
    )
        .prop_map(|(https, path, cookies, auth, ops)| RequestStep {
            https,
            path,
            cookies,
            auth,
            ops,
        })
}

fn advance() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![
            0i64,
            500,
            1_000,
            30_000,
            59_000,
            60_000,
            61_000,
            3_599_000,
            3_600_000,
            3_601_000,
            43_200_000,
            86_400_000,
            400 * 86_400_000,
        ]),
        0i64..7_200_000,
    ]
}

fn step() -> impl Strategy<Value = TraceStep> {
    prop_oneof![
        3 => advance().prop_map(TraceStep::AdvanceMillis),
        8 => request().prop_map(TraceStep::Request),
        1 => (
            prop::sample::select(vec![CleanupMode::Expired, CleanupMode::All]),
            prop::option::of(name()),
        )
            .prop_map(|(mode, user)| TraceStep::Cleanup { mode, user }),
        1 => Just(TraceStep::List),
        1 => patch(false).prop_map(|p| TraceStep::Reconfigure(Box::new(p))),
        1 => any::<usize>().prop_map(TraceStep::Corrupt),
    ]
}

fn trace() -> impl Strategy<Value = Trace> {
    (
        patch(true),
        prop::sample::select(vec![0i64, 30_500, 59_999]),
        prop::collection::vec(step(), 1..24),
    )
        .prop_map(|(config, offset_ms, steps)| Trace {
            config,
            start: datetime!(2009-03-01 12:00:00 UTC) + time::Duration::milliseconds(offset_ms),
            steps,
        })
}

fn redis_cases() -> u32 {
    std::env::var("MOIN_DIFF_REDIS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn check_against(backend: &mut dyn Backend, regressions: &'static str) {
    check_n_against(backend, regressions, cases());
}

fn check_n_against(backend: &mut dyn Backend, regressions: &'static str, cases: u32) {
    let config = ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let name = backend.info().name;
    // The runner's closure is `Fn`; each trace resets both backends.
    let sides = RefCell::new((Model::new(), backend));
    let result = runner.run(&trace(), |trace| {
        let mut sides = sides.borrow_mut();
        let (model, backend) = &mut *sides;
        if let Err(divergence) = run_differential(&trace, model, *backend) {
            return Err(TestCaseError::fail(format!(
                "{name} disagrees with the model at {divergence}"
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn reference_memory_agrees_with_the_model() {
    let mut backend = ReferenceBackend::with_sids(
        "reference-memory",
        MemoryStore::new(),
        SidChoice::Seeded(0x5eed),
    );
    check_against(&mut backend, "proptest-regressions/differential-memory.txt");
}

#[test]
fn reference_file_agrees_with_the_model() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("moin-differential-file-{}", std::process::id()));
    // Saves stay atomic without fsync; durability against power loss is
    // not what this test judges, and fsync would dominate its run time.
    let store = FileStore::open_with(
        &dir,
        FileStoreOptions {
            durability: Durability::None,
        },
    )
    .expect("a temporary directory can be made");
    let mut backend =
        ReferenceBackend::with_sids("reference-file", store, SidChoice::Seeded(0x5eed));
    check_against(&mut backend, "proptest-regressions/differential-file.txt");
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}

fn cases_of(variable: &str) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Runs random moin-1.6 traces against `backend`.
fn check16_against(backend: &mut dyn Backend, seed: u64) {
    check_random_against(
        backend,
        Profile::Moin16,
        seed,
        cases_of("MOIN_DIFF16_CASES"),
    );
}

/// Runs `count` random traces of `profile` against `backend`, every other
/// one with overlapping requests (`random_interleave`): each skeleton is
/// materialised by the model into a case (expectations from the model) and
/// must pass; the first failure is shrunk and shown as a minimal case.
fn check_random_against(backend: &mut dyn Backend, profile: Profile, seed: u64, count: usize) {
    let mut rng = Rng::new(seed);
    let mut ran = 0;
    let id = format!("{}random.differential", profile.id_prefix());
    for n in 0..count {
        let skeleton = random_skeleton(profile, &mut rng);
        let skeleton = if n % 2 == 1 {
            interleave(skeleton, &mut rng)
        } else {
            skeleton
        };
        let Ok(case) = materialize(&skeleton, &id) else {
            continue;
        };
        ran += 1;
        let result = run_case(backend, &case);
        if result.verdict != Verdict::Pass {
            let (small, result) = shrink(backend, skeleton, result, &[]);
            let case = materialize(&small, &id)
                .expect("a shrunk trace of a representable one is representable");
            panic!(
                "{profile} trace {n} of seed {seed:#x} diverges from the model; minimised:\n{}\nverdict: {:?}",
                serde_json::to_string_pretty(&case.case).expect("a case serialises"),
                result.verdict
            );
        }
    }
    // Nearly every skeleton can be written as a case; a generator change
    // that made most of them unrepresentable would test nothing.
    assert!(
        ran * 10 >= count * 9,
        "only {ran} of {count} traces were representable"
    );
}

/// Interleaved moin-1.9 traces (the proptest traces above are sequential):
/// `MOIN_DIFF19I_CASES` per store, 600 by default.
fn cases19_interleaved() -> usize {
    std::env::var("MOIN_DIFF19I_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600)
}

#[test]
fn moin19_interleaved_reference_memory_agrees_with_the_model() {
    let mut backend = ReferenceBackend::with_sids(
        "reference-memory",
        MemoryStore::new(),
        SidChoice::Seeded(0x5eed),
    );
    check_random_against(&mut backend, Profile::Moin19, 0x19, cases19_interleaved());
}

#[test]
fn moin19_interleaved_reference_file_agrees_with_the_model() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("moin-differential19i-file-{}", std::process::id()));
    let store = FileStore::open_with(
        &dir,
        FileStoreOptions {
            durability: Durability::None,
        },
    )
    .expect("a temporary directory can be made");
    let mut backend =
        ReferenceBackend::with_sids("reference-file", store, SidChoice::Seeded(0x5eed));
    check_random_against(&mut backend, Profile::Moin19, 0x1919, cases19_interleaved());
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}

#[test]
fn moin16_reference_memory_agrees_with_the_model() {
    let mut backend = ReferenceBackend::with_sids(
        "reference-memory",
        MemoryStore::new(),
        SidChoice::Seeded(0x5eed),
    );
    check16_against(&mut backend, 0x16);
}

#[test]
fn moin16_reference_file_agrees_with_the_model() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("moin-differential16-file-{}", std::process::id()));
    let store = FileStore::open_with(
        &dir,
        FileStoreOptions {
            durability: Durability::None,
        },
    )
    .expect("a temporary directory can be made");
    let mut backend =
        ReferenceBackend::with_sids("reference-file", store, SidChoice::Seeded(0x5eed));
    check16_against(&mut backend, 0x1616);
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}

#[test]
fn hardened_reference_memory_agrees_with_the_model() {
    let mut backend = ReferenceBackend::with_sids(
        "reference-memory",
        MemoryStore::new(),
        SidChoice::Seeded(0x5eed),
    );
    let cases = cases_of("MOIN_DIFFHARD_CASES");
    check_random_against(&mut backend, Profile::Hardened, 0x4a7d, cases);
}

#[test]
fn hardened_reference_file_agrees_with_the_model() {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "moin-differential-hard-file-{}",
        std::process::id()
    ));
    let store = FileStore::open_with(
        &dir,
        FileStoreOptions {
            durability: Durability::None,
        },
    )
    .expect("a temporary directory can be made");
    let mut backend =
        ReferenceBackend::with_sids("reference-file", store, SidChoice::Seeded(0x5eed));
    let cases = cases_of("MOIN_DIFFHARD_CASES");
    check_random_against(&mut backend, Profile::Hardened, 0x4a7d4a7d, cases);
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}
fn sqlite_backend(tag: &str) -> (ReferenceBackend<SqliteStore>, PathBuf) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("moin-differential-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory can be made");
    // synchronous=NORMAL: commits stay atomic; fsync would dominate.
    let store = SqliteStore::open_with(
        dir.join("sessions.db"),
        SqliteStoreOptions {
            durability: Durability::None,
            ..SqliteStoreOptions::default()
        },
    )
    .expect("a temporary database can be made");
    let backend = ReferenceBackend::with_sids("reference-sqlite", store, SidChoice::Seeded(0x5eed));
    (backend, dir)
}

fn redis_backend(server: &RedisServer) -> ReferenceBackend<RedisStore> {
    let store = RedisStore::open(&server.url(), RedisStoreOptions::default())
        .expect("the test server answers");
    ReferenceBackend::with_sids("reference-redis", store, SidChoice::Seeded(0x5eed))
}

fn redis_server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("no Redis server for the tests: {e}"))
}

#[test]
fn reference_sqlite_agrees_with_the_model() {
    let (mut backend, dir) = sqlite_backend("sqlite");
    check_against(&mut backend, "proptest-regressions/differential-sqlite.txt");
    drop(backend);
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}

#[test]
fn moin16_reference_sqlite_agrees_with_the_model() {
    let (mut backend, dir) = sqlite_backend("sqlite16");
    check16_against(&mut backend, 0x1617);
    drop(backend);
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}

#[test]
fn reference_redis_agrees_with_the_model() {
    let server = redis_server();
    let mut backend = redis_backend(&server);
    check_n_against(
        &mut backend,
        "proptest-regressions/differential-redis.txt",
        redis_cases(),
    );
}

#[test]
fn moin16_reference_redis_agrees_with_the_model() {
    let server = redis_server();
    let mut backend = redis_backend(&server);
    check_random_against(
        &mut backend,
        Profile::Moin16,
        0x1618,
        redis_cases() as usize,
    );
}

#[test]
fn hardened_reference_sqlite_agrees_with_the_model() {
    let (mut backend, dir) = sqlite_backend("sqlite-hard");
    let cases = cases_of("MOIN_DIFFHARD_CASES");
    check_random_against(&mut backend, Profile::Hardened, 0x4a7e, cases);
    drop(backend);
    std::fs::remove_dir_all(&dir).expect("the temporary directory can be removed");
}

#[test]
fn hardened_reference_redis_agrees_with_the_model() {
    let server = redis_server();
    let mut backend = redis_backend(&server);
    check_random_against(
        &mut backend,
        Profile::Hardened,
        0x4a7f,
        redis_cases() as usize,
    );
}
