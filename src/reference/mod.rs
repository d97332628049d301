//! The reference implementation: real session services over real stores.
//!
//! Each profile's service was written from its spec independently of the
//! model, so the model, the service and the hand-written corpus are three
//! derivations of one text.
//!
//! | file | what |
//! | --- | --- |
//! | `pipeline.rs` | what the services share: [`ServiceError`], reading the session cookie, the application phase |
//! | `m19/` | [`SessionService`], the moin-1.9 session service (load, authentication, finalize, cleanup) |
//! | `m16/` | [`M16SessionService`], the moin-1.6 service: `mod.rs` the service, `chain.rs` the authentication chain, `cookie.rs` its `Set-Cookie` values, `keys.rs` its record ids and signed logged-in values |
//! | `hardened/` | [`HardenedSessionService`], the hardened profile: `mod.rs` the service, `commit.rs` the finish (one atomic update), `cookie.rs` its `Set-Cookie` values |
//! | `backend.rs` | [`ReferenceBackend`]: the three services behind one [`Backend`](crate::Backend) |
//!
//! The services read no clock of their own (`now` comes with every request;
//! [`SystemClock`](crate::clock::SystemClock) is the production wrapper)
//! and keep nothing between requests but the configuration and the users'
//! `remember_me` preferences, so several services may share one store.

mod backend;
mod hardened;
mod m16;
mod m19;

mod pipeline;

pub use backend::{ReferenceBackend, SidChoice};
pub use hardened::{HardenedOpen, HardenedSessionService};
pub use m16::cookie::M16_COOKIE_NAME;
pub use m16::keys::MAX_ANON_NAME;
pub use m16::{M16OpenSession, M16SessionService};
pub use m19::{OpenSession, SessionService};

pub use pipeline::ServiceError;
