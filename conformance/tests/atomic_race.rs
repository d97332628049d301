//! A logout races a slow overlapping request across two real processes on
//! one store (the file store, SQLite, a real Redis server):
//! `r[hard.store.atomic-update]` and `r[m16.store.atomic-update]`.
//!
//! Process P (an `overlap-worker` with `--commit-pause-ms`) sleeps inside
//! every atomic update, between the read its decision is made on and the
//! commit: in a hardened finish, between the liveness check and the write;
//! in the moin-1.6 chain, between reading a login's record and writing its
//! new `expires`. While P sleeps, process Q logs the session out. With the
//! stores' atomic updates, the logout either waits for P's commit or makes
//! P read again, and no destroyed session ever comes back. With the atomic
//! path switched off (`--no-atomic-update`: the trait's default, atomic
//! only within one process), the same race brings it back, which shows
//! that the test detects the gap.

use std::ops::Range;
use std::time::Duration;

use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_spec::{AuthAction, Backend, Config, ConfigPatch, LifetimeSetting, Op, Profile};
use moin_session_testkit::requests::{login, request};
use moin_session_testkit::{store_tests, StoreKind, TestStore};
use time::OffsetDateTime;

const WORKER: &str = env!("CARGO_BIN_EXE_overlap-worker");

/// How long P sleeps inside each update.
const PAUSE_MS: u64 = 120;

/// Rounds with the atomic path on (no resurrection allowed), and the most
/// rounds with it off (they stop at the first resurrection, which is
/// required).
const ROUNDS_ATOMIC: u64 = 10;
const ROUNDS_SWITCHED_OFF: u64 = 12;

/// The atomic rounds of each profile run in this many lanes side by side,
/// each on a store of its own (the rounds are independent: each starts
/// from what its own earlier rounds left, at its own minute).
const LANES_ATOMIC: u64 = 2;

fn worker(store: &str, flags: &str) -> AdapterBackend {
    AdapterBackend::start(AdapterOptions {
        command: format!("{WORKER} {store} {flags}"),
        step_timeout: Duration::from_secs(60),
    })
    .unwrap_or_else(|e| panic!("the worker on {store} starts: {e}"))
}

/// `name=value` of the one session cookie a response issued.
fn issued(set_cookies: &[String]) -> String {
    match set_cookies {
        [one] => one
            .split(';')
            .next()
            .expect("a cookie has a pair")
            .to_owned(),
        other => panic!("one session cookie expected, got {other:?}"),
    }
}

/// A delay into P's pause, different each round (a fixed sequence, so a
/// failure can be repeated), between `lo` and `hi` thousandths of it.
fn delay(round: u64, lo: u64, hi: u64) -> Duration {
    let spread = (round.wrapping_mul(0x9e37_79b9) >> 7) % (hi - lo + 1);
    Duration::from_millis(PAUSE_MS * (lo + spread) / 1000)
}

/// Two workers on `store`, reset to the same configuration: P pauses
/// inside its updates, Q does not; both take `flags` (with a test-only
/// switch, the rounds stop at the first resurrection).
struct Race {
    p: AdapterBackend,
    q: AdapterBackend,
    until_first: bool,
}

impl Race {
    /// The workers, reset to `profile` with `patch`.
    fn new(store: &str, flags: &str, profile: Profile, patch: ConfigPatch) -> Race {
        let config = Config::build(profile, &[patch]).expect("the configuration is valid");
        let mut p = worker(store, &format!("--commit-pause-ms {PAUSE_MS} {flags}"));
        let mut q = worker(store, flags);
        p.reset(&config).expect("P resets");
        q.reset(&config).expect("Q resets");
        Race {
            p,
            q,
            until_first: !flags.is_empty(),
        }
    }

    /// Runs `round(P, Q, n, t)` for each round `n` of `rounds`, a minute
    /// apart from 2009-03-01 12:00:30 UTC; returns the rounds in which it
    /// says the destroyed session came back.
    fn rounds(
        mut self,
        rounds: Range<u64>,
        mut round: impl FnMut(&mut AdapterBackend, &mut AdapterBackend, u64, OffsetDateTime) -> bool,
    ) -> Vec<u64> {
        let start = time::macros::datetime!(2009-03-01 12:00:30 UTC);
        let mut back = Vec::new();
        for n in rounds {
            let t = start + time::Duration::minutes(n as i64);
            if round(&mut self.p, &mut self.q, n, t) {
                back.push(n);
                if self.until_first {
                    break;
                }
            }
        }
        back
    }
}

/// Hardened: Q logs alice in; P opens a request on her session and sets a
/// key; P finishes (pausing between its liveness check and its write)
/// while Q logs her out. Returns the rounds in which the session's record
/// was still stored after both had answered (with `flags`, the test-only
/// switch, it stops at the first).
fn hardened_resurrections(
    store: &str,
    flags: &str,
    rounds: Range<u64>,
    window: (u64, u64),
) -> Vec<u64> {
    let patch = ConfigPatch {
        users: Some(vec!["alice".into()]),
        cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
        absolute_timeout: Some(12.0),
        ..ConfigPatch::default()
    };
    let race = Race::new(store, flags, Profile::Hardened, patch);
    race.rounds(rounds, |p, q, round, t| {
        let first = q
            .request(&request(t, None, login(), vec![]))
            .expect("Q logs in");
        let cookie = issued(&first.set_cookies);
        let sid = cookie.split_once('=').expect("name=value").1.to_owned();
        let handle = format!("A{round}");
        let set = vec![Op::Set {
            key: "k".into(),
            value: round.into(),
        }];
        let later = t + time::Duration::seconds(1);
        let opened = p
            .open(
                &handle,
                &request(later, Some(cookie.clone()), AuthAction::None, set),
            )
            .expect("P opens");
        assert_eq!(
            opened.user.as_deref(),
            Some("alice"),
            "{store}: P runs as alice"
        );
        let logout = request(later, Some(cookie.clone()), AuthAction::Logout, vec![]);
        let (finished, out) = std::thread::scope(|scope| {
            let slow = scope.spawn(|| p.finish(&handle, later));
            std::thread::sleep(delay(round, window.0, window.1));
            let out = q.request(&logout);
            (slow.join().expect("P's finish does not panic"), out)
        });
        finished.expect("P finishes");
        out.expect("Q logs out");
        q.list().expect("Q lists").contains(&sid)
    })
}

/// moin-1.6: Q logs alice in and writes (her login's record is stored);
/// P opens a request with her cookie (its chain pauses between reading
/// the login's lease and record and writing them) while Q logs her out.
/// Returns the rounds in which the login's record was listed afterwards.
fn m16_resurrections(store: &str, flags: &str, rounds: Range<u64>, window: (u64, u64)) -> Vec<u64> {
    let patch = ConfigPatch {
        users: Some(vec!["alice".into()]),
        cookie_lifetime: Some(LifetimeSetting::Scalar(-12.0)),
        ..ConfigPatch::default()
    };
    let race = Race::new(store, flags, Profile::Moin16, patch);
    race.rounds(rounds, |p, q, round, t| {
        let set = vec![Op::Set {
            key: "k".into(),
            value: round.into(),
        }];
        let first = q
            .request(&request(t, None, login(), set))
            .expect("Q logs in");
        let cookie = issued(&first.set_cookies);
        let before = q.list().expect("Q lists");
        let record = before
            .iter()
            .find(|name| name.starts_with("login:"))
            .unwrap_or_else(|| panic!("{store}: the login's record is listed: {before:?}"))
            .clone();
        let handle = format!("A{round}");
        let later = t + time::Duration::seconds(1);
        let logout = request(later, Some(cookie.clone()), AuthAction::Logout, vec![]);
        let (opened, out) = std::thread::scope(|scope| {
            let slow = scope.spawn(|| {
                p.open(
                    &handle,
                    &request(later, Some(cookie.clone()), AuthAction::None, vec![]),
                )
            });
            std::thread::sleep(delay(round, window.0, window.1));
            let out = q.request(&logout);
            (slow.join().expect("P's open does not panic"), out)
        });
        opened.expect("P opens");
        out.expect("Q logs out");
        p.finish(&handle, later).expect("P finishes");
        let back = q.list().expect("Q lists").contains(&record);
        // The next round starts from an empty store.
        q.cleanup(&moin_session_spec::CleanupRequest {
            now: later,
            mode: moin_session_spec::CleanupMode::All,
            user: None,
        })
        .expect("Q cleans up");
        back
    })
}

/// A race of one profile: [`hardened_resurrections`] or [`m16_resurrections`].
type Resurrections = fn(&str, &str, Range<u64>, (u64, u64)) -> Vec<u64>;

/// One lane of the race: a profile's rounds (some or all of them), with
/// the workers' `flags` and the window of P's pause the logout lands in.
struct Lane {
    profile: &'static str,
    race: Resurrections,
    flags: &'static str,
    rounds: Range<u64>,
    window: (u64, u64),
}

/// The lanes of the race: the atomic rounds of each profile in
/// [`LANES_ATOMIC`] parts, then each profile switched off. The logout
/// lands anywhere in P's pause (in moin-1.6, P pauses twice: for the
/// lease, then for the record); switched off, while P sleeps before its
/// write.
fn lanes() -> Vec<Lane> {
    let off = "--no-atomic-update";
    let races: [(&str, Resurrections, _, _); 2] = [
        ("hardened", hardened_resurrections, (100, 900), (300, 700)),
        ("moin-1.6", m16_resurrections, (100, 1900), (1300, 1700)),
    ];
    let mut lanes = Vec::new();
    for (profile, race, window, window_off) in races {
        let lane = |flags, rounds, window| Lane {
            profile,
            race,
            flags,
            rounds,
            window,
        };
        for part in 0..LANES_ATOMIC {
            let first = part * ROUNDS_ATOMIC / LANES_ATOMIC;
            let end = (part + 1) * ROUNDS_ATOMIC / LANES_ATOMIC;
            lanes.push(lane("", first..end, window));
        }
        lanes.push(lane(off, 0..ROUNDS_SWITCHED_OFF, window_off));
    }
    lanes
}

/// Lane `n`'s own store in `place`: a directory, a database file, or a
/// Redis database of the one server.
fn lane_store(place: &TestStore, n: usize) -> String {
    match place.kind() {
        StoreKind::Redis => format!("redis:{}{n}", place.url()),
        StoreKind::Sqlite => format!(
            "sqlite:{}",
            place.dir().join(format!("lane{n}.db")).display()
        ),
        _ => {
            let dir = place.dir().join(format!("lane{n}"));
            std::fs::create_dir_all(&dir).expect("the lane's directory is made");
            dir.display().to_string()
        }
    }
}

/// The race on a store of `kind`: never a resurrection with the atomic
/// path, and at least one with it switched off. The lanes run side by
/// side (they wait on P's pauses, not on the processor), each on a store
/// of its own, so a cleanup in one cannot hide a resurrection in another.
fn the_race_on(kind: StoreKind) {
    let place = TestStore::on_disk(kind);
    let lanes = lanes();
    let stores: Vec<String> = (0..lanes.len()).map(|n| lane_store(&place, n)).collect();
    let backs: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let running: Vec<_> = lanes
            .iter()
            .zip(&stores)
            .map(|(lane, store)| {
                scope
                    .spawn(move || (lane.race)(store, lane.flags, lane.rounds.clone(), lane.window))
            })
            .collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for ((lane, back), store) in lanes.iter().zip(&backs).zip(&stores) {
        let profile = lane.profile;
        if lane.flags.is_empty() {
            assert!(
                back.is_empty(),
                "{store}, {profile}: a logged-out session came back in rounds {back:?}"
            );
        } else {
            eprintln!("{store}, {profile}, switched off: resurrected in round {back:?}");
            assert!(
                !back.is_empty(),
                "{store}, {profile}: without the atomic update the race must bring the session \
                 back (else this test could not detect the gap)"
            );
        }
    }
}

store_tests!(the_race_on:
    File => no_resurrection_across_processes_on_the_file_store,
    Sqlite => no_resurrection_across_processes_on_sqlite,
    Redis => no_resurrection_across_processes_on_redis,
);
