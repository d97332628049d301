//! What the store fault tests share: seeded sids, the writer
//! processes of the torture helper (`store-torture`), and the race of a
//! renewal against an expired-cleanup, run on any store.

use std::process::{Child, Command, Stdio};

use moin_session_spec::sid::{SeededSids, SidSource};
use moin_session_spec::store::{Loaded, Store};
use moin_session_spec::{CleanupMode, CleanupRequest, Op, SessionService};
use serde_json::Value;

use crate::requests::{anonymous, at, m19_config};

/// `n` sids from `SeededSids::new(seed)`.
pub fn sids(n: usize, seed: u64) -> Vec<String> {
    let mut source = SeededSids::new(seed);
    (0..n).map(|_| source.next_sid()).collect()
}

/// A `store-torture write` process (`torture` is its path) saving `count`
/// records (0: until killed) under `sids` into the store `store` names (a
/// directory, `sqlite:PATH` or `redis:URL`), as `writer`; with `fsync` off
/// it saves without flushing. Its stdout (one `sid seq` line per
/// committed save) is piped when `report` is set.
pub fn spawn_writer(
    torture: &str,
    store: &str,
    writer: &str,
    count: u64,
    sids: &[String],
    fsync: bool,
    report: bool,
) -> Child {
    let mut command = Command::new(torture);
    command
        .arg("write")
        .arg(store)
        .arg(writer)
        .arg(count.to_string())
        .args(sids)
        .stdout(if report {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    if !fsync {
        command.env("TORTURE_NO_FSYNC", "1");
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("the helper {torture} starts: {e}"))
}

/// N sessions expiring at E; a renewer at E (for which the session is
/// still valid: expires == now) and an expired-cleanup at E + 60 (for which
/// E is expired) race, each over a handle of its own from `open`. Every
/// renewal records E' = E + 3600 > E + 60, so the cleanup must not remove
/// a renewed session, whatever the interleaving. Sids come from seeds
/// `seed`, `seed + 1` and `seed + 2`.
pub fn cleanup_never_removes_a_renewal<S: Store + Send + 'static>(open: impl Fn() -> S, seed: u64) {
    const N: usize = 300;
    let cookie_name = m19_config().cookie_full_name();
    let mut creator = SessionService::new(open(), m19_config(), SeededSids::new(seed));
    let t0 = 1_700_000_040; // a whole minute
    let expires = t0 + 3600;
    let sessions = create_sessions(&mut creator, &cookie_name, t0, N);
    assert_eq!(creator.list().expect("listing").len(), N);
    let renewer = {
        let sessions = sessions.clone();
        let store = open();
        let cookie_name = cookie_name.clone();
        std::thread::spawn(move || {
            let mut service = SessionService::new(store, m19_config(), SeededSids::new(seed + 1));
            for sid in sessions.iter().rev() {
                let renewed = vec![Op::Set {
                    key: "renewed".into(),
                    value: Value::Bool(true),
                }];
                let cookie = Some(format!("{cookie_name}={sid}"));
                let response = service
                    .handle(&anonymous(expires, cookie, renewed))
                    .expect("a renewal succeeds");
                assert!(!response.new, "the renewal keeps {sid}");
            }
        })
    };
    let mut cleaner = SessionService::new(open(), m19_config(), SeededSids::new(seed + 2));
    let mut removed = 0;
    while !renewer.is_finished() {
        removed += cleaner
            .cleanup(&CleanupRequest {
                now: at(expires + 60),
                mode: CleanupMode::Expired,
                user: None,
            })
            .expect("a cleanup succeeds")
            .removed
            .len();
    }
    renewer.join().expect("the renewer does not panic");
    let store = open();
    for sid in &sessions {
        match store.load(sid).expect("a load succeeds") {
            Some(Loaded::Record(r)) => {
                assert_eq!(r.get("renewed"), Some(&Value::Bool(true)), "{sid}");
                let renewed_expiry = Value::from(expires + 3600);
                assert_eq!(r.get("expires"), Some(&renewed_expiry), "{sid}");
            }
            other => panic!("the renewed session {sid} was lost to cleanup: {other:?}"),
        }
    }
    eprintln!("cleanup removed {removed} not-yet-renewed records during the race");
}

/// `n` anonymous sessions made at `t0`, each holding `v` = its number.
fn create_sessions<S: Store>(
    creator: &mut SessionService<S>,
    cookie_name: &str,
    t0: i64,
    n: usize,
) -> Vec<String> {
    (0..n)
        .map(|i| {
            let first = creator
                .handle(&anonymous(t0, None, vec![]))
                .expect("a request succeeds");
            let sid = first.set_cookies[0]
                .split(';')
                .next()
                .and_then(|p| p.split_once('='))
                .map(|(_, v)| v.to_owned())
                .expect("a cookie is issued");
            let set = vec![Op::Set {
                key: "v".into(),
                value: Value::from(i),
            }];
            creator
                .handle(&anonymous(t0, Some(format!("{cookie_name}={sid}")), set))
                .expect("a request succeeds");
            sid
        })
        .collect()
}
