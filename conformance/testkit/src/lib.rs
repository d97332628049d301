//! Test support shared by every test binary and benchmark of the
//! workspace (not published, not part of any public API):
//!
//! - [`redis_server`]: a throwaway `redis-server` on a loopback port;
//! - [`hostile`]: scratch directories, leftover processes, signals, for
//!   the hostile-backend tests.
#![deny(missing_docs)]

pub mod hostile;
pub mod redis_server;

pub use redis_server::RedisServer;
