//! Test support shared by every test binary and benchmark of the
//! workspace (not published, not part of any public API):
//!
//! - [`long`]: how long a run is (`MOIN_LONG_TESTS`), and loop sizes;
//! - [`progress`]: progress lines for long loops;
//! - [`scratch`]: scratch directories removed when dropped;
//! - [`source`]: the repository's own source files, for the tests that
//!   read them;
//! - [`stores`]: a place for each kind of store, handles on it, and the
//!   reference services over it;
//! - [`redis_server`]: a throwaway `redis-server` on a loopback port;
//! - [`differential`]: the random-trace loops of the model against a
//!   backend, with [`strategies`] for the moin-1.9 property traces;
//! - [`requests`]: configurations, requests at whole seconds, a login;
//! - [`faults`]: what the store fault tests share (seeded sids, writer
//!   processes, the renewal-against-cleanup race);
//! - [`backends`]: a backend made to lack something ([`backends::Limited`]);
//! - [`cli`]: running the workspace's programs and reading their reports;
//! - [`corpus`]: the corpus, loaded once per test binary;
//! - [`trials`]: a harness's trials run inside a test, with their log;
//! - [`hostile`]: leftover processes, signals and a raw look at a Redis
//!   server, for the hostile-backend tests.
#![deny(missing_docs)]

pub mod backends;
pub mod cli;
pub mod corpus;
pub mod differential;
pub mod faults;
pub mod hostile;
pub mod long;
pub mod progress;
pub mod redis_server;
pub mod requests;
pub mod scratch;
pub mod source;
pub mod stores;
pub mod strategies;
pub mod trials;

pub use redis_server::RedisServer;
pub use scratch::Scratch;
pub use stores::{StoreKind, TestStore};
