//! The hardened corpus tells a hardened backend from a plain moin-1.9 one.
//!
//! `moin19_as_hardened` is a test-only wrapper: it declares the `hardened`
//! profile, but serves each hardened configuration with the moin-1.9
//! reference service (`HardenedConfig::to_m19`: the same names, lifetimes
//! and accounts). The fixation traces must fail on it and pass on the
//! hardened reference service over both stores; a backend that declares
//! only moin-1.9 must not be run on hardened cases at all.

use moin_session_conformance::run::runner::{run_case, Verdict};
use moin_session_conformance::Selection;
use moin_session_spec::{
    AuthAction, Backend, BackendError, Config, FileStore, MemoryStore, Model, Profile,
    ReferenceBackend,
};
use moin_session_testkit::backends::Limited;
use moin_session_testkit::corpus::{cases_of, corpus};
use moin_session_testkit::requests::{at, config, login, request};
use moin_session_testkit::Scratch;

const FIXATION_CASES: &[&str] = &[
    "hard.attack.fixation-issued-sid-planted",
    "hard.attack.fixation-made-up-sid",
];

/// The moin-1.9 reference service behind a backend that claims `hardened`.
fn moin19_as_hardened() -> Limited<ReferenceBackend<MemoryStore>> {
    Limited::new(ReferenceBackend::new("m19", MemoryStore::new()))
        .named("moin-1.9-as-hardened")
        .declaring(&[Profile::Hardened])
        .configured_by(as_m19)
        .without_interleave()
}

fn as_m19(config: &Config) -> Result<Config, BackendError> {
    match config {
        Config::Hardened(c) => Ok(Config::Moin19(c.to_m19())),
        other => Err(BackendError::Unsupported {
            what: format!("profile {}", other.profile()),
        }),
    }
}

/// A backend that declares moin-1.9 only (the moin-1.9 service as it is).
fn only_moin19() -> Limited<ReferenceBackend<MemoryStore>> {
    Limited::new(ReferenceBackend::new("m19", MemoryStore::new()))
        .declaring(&[Profile::Moin19])
        .without_corrupt()
        .without_interleave()
}

fn hardened_cases() -> &'static moin_session_spec::fixture::Corpus {
    &corpus().0
}

#[test]
fn fixation_traces_fail_on_moin_1_9_and_pass_on_the_hardened_reference() {
    let corpus = hardened_cases();
    let dir = Scratch::new("hardened-fixation");
    let mut plain = moin19_as_hardened();
    let mut memory = ReferenceBackend::new("reference-memory", MemoryStore::new());
    let mut file = ReferenceBackend::new(
        "reference-file",
        FileStore::open(dir.path()).expect("a temporary directory can be made"),
    );
    for id in FIXATION_CASES {
        let cases = Selection {
            case: Some((*id).to_owned()),
            ..Selection::default()
        }
        .apply(corpus);
        assert_eq!(cases.len(), 1, "{id} is in the corpus");
        let on_plain = run_case(&mut plain, cases[0]);
        assert!(
            matches!(on_plain.verdict, Verdict::Fail { .. }),
            "{id} must fail on moin-1.9 run as hardened, got {:?}",
            on_plain.verdict
        );
        for backend in [&mut memory as &mut dyn Backend, &mut file] {
            let result = run_case(backend, cases[0]);
            assert_eq!(
                result.verdict,
                Verdict::Pass,
                "{id} on {}",
                backend.info().name
            );
        }
    }
}

/// The attack itself, step by step: who the attacker's third request runs
/// as, on `backend` configured with the hardened configuration `config`.
fn attacker_runs_as(backend: &mut dyn Backend, config: &Config) -> Option<String> {
    backend
        .reset(config)
        .expect("the backend takes the configuration");
    let at = |seconds: i64| at(1_235_908_830 + seconds);
    let request = |now, cookie: Option<String>, auth| request(now, cookie, auth, vec![]);
    let name = config.as_hardened().expect("hardened").cookie_full_name();
    let first = backend
        .request(&request(at(0), None, AuthAction::None))
        .expect("the attacker's first request");
    let planted = first.set_cookies[0]
        .split(';')
        .next()
        .expect("a cookie pair")
        .to_owned();
    assert!(planted.starts_with(&format!("{name}=")));
    let victim = backend
        .request(&request(at(30), Some(planted.clone()), login()))
        .expect("the victim logs in");
    assert_eq!(victim.user.as_deref(), Some("alice"));
    backend
        .request(&request(at(60), Some(planted), AuthAction::None))
        .expect("the attacker comes back")
        .user
}

#[test]
fn the_planted_sid_shares_the_login_on_moin_1_9_only() {
    let config = config(Profile::Hardened, &["alice"]);
    let mut plain = moin19_as_hardened();
    assert_eq!(
        attacker_runs_as(&mut plain, &config).as_deref(),
        Some("alice"),
        "moin-1.9 keeps the sid across login: the attacker shares the session"
    );
    let mut hardened = ReferenceBackend::new("reference-memory", MemoryStore::new());
    assert_eq!(attacker_runs_as(&mut hardened, &config), None);
    let mut model = Model::new();
    assert_eq!(attacker_runs_as(&mut model, &config), None);
}

#[test]
fn a_backend_declaring_only_moin_1_9_is_not_run_on_hardened_cases() {
    let cases = cases_of(Profile::Hardened);
    assert!(
        cases.len() >= 60,
        "the hardened corpus has {} cases",
        cases.len()
    );
    let mut only19 = only_moin19();
    for case in cases {
        let result = run_case(&mut only19, case);
        assert!(
            matches!(result.verdict, Verdict::Skipped { .. }),
            "{}: {:?}",
            case.case.id,
            result.verdict
        );
    }
}

#[test]
fn the_whole_hardened_corpus_fails_widely_on_moin_1_9() {
    let cases = cases_of(Profile::Hardened);
    let mut plain = moin19_as_hardened();
    let failed = cases
        .iter()
        .filter(|c| c.case.rejects.is_none())
        .filter(|c| run_case(&mut plain, c).verdict != Verdict::Pass)
        .count();
    // Nearly every case with steps expects a cookie with SameSite, which
    // moin-1.9 never sends; the few that expect no cookie at all may pass.
    let with_steps = cases.iter().filter(|c| c.case.rejects.is_none()).count();
    assert!(failed * 10 >= with_steps * 9, "{failed} of {with_steps}");
}

#[test]
fn every_hardened_clause_cites_asvs_or_rfc_6265bis_or_says_it_is_its_own() {
    let requirements = moin_session_spec::requirements::Requirements::builtin();
    let hardened = requirements.of_profile(Profile::Hardened);
    assert!(hardened.len() >= 25, "{} hardened clauses", hardened.len());
    for r in hardened {
        // spec/hardened.md section 1: a clause cites the standard it
        // implements, or says it is a rule of the profile's own.
        assert!(
            r.text.contains("ASVS 5.0")
                || r.text.contains("RFC 6265bis")
                || r.text.contains("a rule of this profile's own"),
            "{} ({}:{}) cites neither ASVS 5.0 nor RFC 6265bis in its first paragraph, nor says it is a rule of the profile's own",
            r.id,
            r.file,
            r.line
        );
    }
}
