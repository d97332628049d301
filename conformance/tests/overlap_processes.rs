//! Overlapping requests across real OS processes on one shared store (the
//! file store, SQLite and a real Redis server)
//! (`m19.overlap.*`, `m16.overlap.*`): two `overlap-worker` processes, each
//! the reference services over the same directory, take turns at the
//! requests of one browser, so a request opened in one process finishes
//! while the other process logs out, cleans up or writes. Every trace's
//! expectations come from the model; the workers together must match it:
//! nothing lost that the rules keep, nothing resurrected that they forbid.
//! A worker whose store has a deliberate resurrection bug (a per-process
//! read cache) fails.
//!
//! Logins in these traces use lifetimes that ignore `remember_me` (the
//! preference lives in each process's memory, as a user profile would live
//! in a real wiki's files), so that which process served a login does not
//! matter.

use std::collections::BTreeMap;
use std::time::Duration;

use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_conformance::random::interleave::interleave;
use moin_session_conformance::random::{
    materialize, random_skeleton, AbstractStep, CookiePick, Rng, Skeleton,
};
use moin_session_conformance::run::runner::{run_case, Verdict};
use moin_session_spec::{
    AuthAction, Backend, BackendError, BackendInfo, CleanupMode, CleanupOutcome, CleanupRequest,
    Config, ConfigPatch, Finished, LifetimeSetting, Op, Opened, Profile, Request, Response,
};
use moin_session_testkit::{store_tests, StoreKind, TestStore};
use serde_json::Value;
use time::OffsetDateTime;

const WORKER: &str = env!("CARGO_BIN_EXE_overlap-worker");

/// Several worker processes on one store, as one backend: each request,
/// open and cleanup goes to the next worker in turn; `ops` and `finish` go
/// to the worker that opened the request.
struct Pool {
    workers: Vec<AdapterBackend>,
    next: usize,
    owner: BTreeMap<String, usize>,
}

impl Pool {
    /// `n` workers on the store `store` names (a directory, `sqlite:PATH`
    /// or `redis:URL`).
    fn start(store: &str, n: usize, buggy: bool) -> Pool {
        let bug = if buggy { " --resurrecting-cache" } else { "" };
        let workers = (0..n)
            .map(|_| {
                AdapterBackend::start(AdapterOptions {
                    command: format!("{WORKER} {store}{bug}"),
                    step_timeout: Duration::from_secs(20),
                })
                .expect("the worker starts")
            })
            .collect();
        Pool {
            workers,
            next: 0,
            owner: BTreeMap::new(),
        }
    }

    fn turn(&mut self) -> usize {
        let k = self.next % self.workers.len();
        self.next += 1;
        k
    }

    fn owner(&self, handle: &str) -> Result<usize, BackendError> {
        self.owner
            .get(handle)
            .copied()
            .ok_or_else(|| BackendError::InvalidInput {
                message: format!("no request {handle:?} is open"),
            })
    }
}

impl Backend for Pool {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: format!("{} workers on one file store", self.workers.len()),
            ..self.workers[0].info()
        }
    }
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.next = 0;
        self.owner.clear();
        self.workers.iter_mut().try_for_each(|w| w.reset(config))
    }
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.workers
            .iter_mut()
            .try_for_each(|w| w.reconfigure(config))
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let k = self.turn();
        self.workers[k].request(request)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        let k = self.turn();
        self.workers[k].cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.workers[0].list()
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.workers[0].corrupt(sid)
    }
    fn interleaves(&self) -> bool {
        self.workers.iter().all(Backend::interleaves)
    }
    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        let k = self.turn();
        let opened = self.workers[k].open(handle, request)?;
        self.owner.insert(handle.to_owned(), k);
        Ok(opened)
    }
    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        let k = self.owner(handle)?;
        self.workers[k].ops(handle, ops)
    }
    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        let k = self.owner(handle)?;
        self.owner.remove(handle);
        self.workers[k].finish(handle, now)
    }
}

/// Lifetimes that ignore `remember_me` (in hardened: an absolute timeout
/// equal to the logged-in idle timeout, so that remember-me changes
/// nothing), and no reconfiguration.
fn process_independent(mut s: Skeleton) -> Skeleton {
    if s.profile == Profile::Hardened {
        let (anon, logged_in) = match &s.config.cookie_lifetime {
            Some(LifetimeSetting::Pair(p)) => (p[0], p[1].max(0.25)),
            _ => (1.0, 12.0),
        };
        s.config.cookie_lifetime = Some(LifetimeSetting::Pair(vec![anon, logged_in]));
        s.config.absolute_timeout = Some(logged_in);
        s.steps
            .retain(|step| !matches!(step, AbstractStep::Reconfigure(_)));
        return s;
    }
    s.config.cookie_lifetime = Some(match (s.profile, &s.config.cookie_lifetime) {
        (Profile::Moin19, Some(LifetimeSetting::Pair(p))) => {
            LifetimeSetting::Pair(vec![p[0], -p[1].abs().max(0.25)])
        }
        (Profile::Moin19, _) => LifetimeSetting::Pair(vec![1.0, -12.0]),
        _ => LifetimeSetting::Scalar(-12.0),
    });
    s.steps
        .retain(|step| !matches!(step, AbstractStep::Reconfigure(_)));
    s
}

/// Runs interleaved random traces through the pool; the ids of the traces
/// that diverged from the model, with the first difference.
fn divergences(pool: &mut Pool, seed: u64, per_profile: usize) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for profile in Profile::ALL {
        for n in 0..per_profile {
            let s = process_independent(interleave(random_skeleton(*profile, &mut rng), &mut rng));
            let Ok(case) = materialize(&s, &format!("{}random.processes-{n}", profile.id_prefix()))
            else {
                continue;
            };
            let r = run_case(pool, &case);
            match &r.verdict {
                Verdict::Pass => {}
                other => out.push(format!("{} {n}: {other:?}", profile)),
            }
        }
    }
    out
}

/// Login in one worker, a request in the other (which reads the record),
/// then a cleanup in the first and the sid sent back to the second.
fn cleanup_then_return(profile: Profile) -> Skeleton {
    let login = AuthAction::Login {
        user: "alice".into(),
        remember_me: false,
    };
    let request = |cookies, auth, op| AbstractStep::Request {
        https: false,
        cookies,
        auth,
        ops: vec![op],
    };
    let set = || Op::Set {
        key: "k".into(),
        value: 1.into(),
    };
    let config = ConfigPatch {
        users: Some(vec!["alice".into()]),
        // hardened: remember-me (a preference each process keeps) lasts as
        // long as the idle timeout.
        absolute_timeout: (profile == Profile::Hardened).then_some(12.0),
        cookie_lifetime: Some(match profile {
            Profile::Moin19 => LifetimeSetting::Pair(vec![1.0, -12.0]),
            Profile::Hardened => LifetimeSetting::Pair(vec![1.0, 12.0]),
            Profile::Moin16 => LifetimeSetting::Scalar(-12.0),
        }),
        ..ConfigPatch::default()
    };
    Skeleton {
        profile,
        config,
        start: time::macros::datetime!(2009-03-01 12:00:30 UTC),
        steps: vec![
            request(CookiePick::None, login, set()),
            AbstractStep::Advance(time::Duration::minutes(1)),
            request(CookiePick::Jar, AuthAction::None, set()),
            AbstractStep::Cleanup(CleanupMode::All, None),
            request(
                CookiePick::ReplayLast,
                AuthAction::None,
                Op::Get { key: "k".into() },
            ),
        ],
    }
}

/// The verdict of [`cleanup_then_return`] of `profile` on `pool`.
fn the_scenario(pool: &mut Pool, profile: Profile) -> Verdict {
    let case = materialize(&cleanup_then_return(profile), "m19.processes.cleanup")
        .expect("the scenario is representable");
    run_case(pool, &case).verdict
}

/// Two workers on a store of `kind` keep the rules; the scenario and
/// random interleaved traces all match the model.
fn two_processes_keep_the_overlap_rules(kind: StoreKind) {
    let place = TestStore::on_disk(kind);
    let store = place.spec();
    let mut pool = Pool::start(&store, 2, false);
    for profile in Profile::ALL {
        let verdict = the_scenario(&mut pool, *profile);
        assert_eq!(verdict, Verdict::Pass, "{store}, {profile}: {verdict:?}");
    }
    let found = divergences(&mut pool, 0x6f76, 60);
    assert!(
        found.is_empty(),
        "the workers on {store} diverged from the model:\n{}",
        found.join("\n")
    );
}

store_tests!(two_processes_keep_the_overlap_rules:
    File => two_processes_on_one_file_store_keep_the_overlap_rules,
    Sqlite => two_processes_on_one_sqlite_store_keep_the_overlap_rules,
    Redis => two_processes_on_one_redis_store_keep_the_overlap_rules,
);

#[test]
fn a_store_that_resurrects_fails() {
    let place = TestStore::on_disk(StoreKind::File);
    let store = place.spec();
    let mut pool = Pool::start(&store, 2, true);
    for profile in Profile::ALL {
        let verdict = the_scenario(&mut pool, *profile);
        assert!(
            matches!(verdict, Verdict::Fail { .. }),
            "{profile}: a record removed by a cleanup in one process must not live on in the other: {verdict:?}"
        );
    }
    let found = divergences(&mut pool, 0x6f76, 60);
    assert!(
        !found.is_empty(),
        "random interleaved traces catch the stale cache too"
    );
    eprintln!(
        "{} of {} random traces diverged, e.g. {}",
        found.len(),
        60 * Profile::ALL.len(),
        found[0]
    );
    drop(pool);
    // One such process alone is coherent (it evicts what it destroys), so
    // the scenario passes there: only several processes show the bug.
    let mut alone = Pool::start(&store, 1, true);
    for profile in Profile::ALL {
        let verdict = the_scenario(&mut alone, *profile);
        assert_eq!(verdict, Verdict::Pass, "{profile}: {verdict:?}");
    }
    drop(alone);
}
