//! The workload: the moin-1.9 service's request cycles of returning
//! clients, and stored sessions to clean up.

use std::path::PathBuf;

use moin_session_spec::sid::{SeededSids, SidSource};
use moin_session_spec::store::{Record, Store};
use moin_session_spec::{Op, SessionService};
use moin_session_testkit::requests::anonymous;
pub use moin_session_testkit::requests::{at, m19_config as config};
use serde_json::Value;

use crate::stores::Shared;

pub const T0: i64 = 1_700_000_040;

/// The instant of every cleanup.
pub const CLEANUP_NOW: i64 = T0 + 7200;

/// Sessions each client returns to.
const SESSIONS: usize = 1000;

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("moin-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// A returning anonymous client of one of its 1,000 stored sessions: each
/// cycle sends the cookie, writes one key and reads another; finalize
/// re-issues the cookie and saves the record.
pub struct Client<'s> {
    service: SessionService<&'s Shared>,
    cookie_name: String,
    sessions: Vec<String>,
}

impl<'s> Client<'s> {
    /// A client over `store` whose sessions (seeded by `seed`) no other
    /// client shares; its sessions are stored once.
    pub fn new(store: &'s Shared, seed: u64) -> Client<'s> {
        let mut sids = SeededSids::new(1000 + seed);
        let mut client = Client {
            service: SessionService::new(store, config(), SeededSids::new(seed)),
            cookie_name: config().cookie_full_name(),
            sessions: (0..SESSIONS).map(|_| sids.next_sid()).collect(),
        };
        for i in 0..SESSIONS {
            let sid = client.sessions[i].clone();
            client.request(&sid, i as u64);
        }
        client
    }

    fn request(&mut self, sid: &str, i: u64) {
        let ops = vec![
            Op::Set {
                key: "n".into(),
                value: Value::from(i),
            },
            Op::Get { key: "m".into() },
        ];
        let cookie = Some(format!("{}={sid}", self.cookie_name));
        let request = anonymous(T0 + (i / 1000) as i64, cookie, ops);
        self.service.handle(&request).expect("a request succeeds");
    }

    /// Cycle `n`: a session picked by a fixed stride.
    pub fn cycle(&mut self, n: u64) {
        let sid = self.sessions[(n as usize * 7919) % SESSIONS].clone();
        self.request(&sid, n);
    }
}

pub fn session_record(i: usize, expired: bool) -> Record {
    let expires = if expired {
        CLEANUP_NOW - 60
    } else {
        CLEANUP_NOW + 3600
    };
    Record::from([
        ("expires".to_owned(), Value::from(expires)),
        ("test".to_owned(), Value::from(i)),
    ])
}

/// Stores `sids`, none expired.
pub fn fill(store: &dyn Store, sids: &[String]) {
    for (i, sid) in sids.iter().enumerate() {
        store
            .save(sid, &session_record(i, false))
            .expect("a save succeeds");
    }
}
