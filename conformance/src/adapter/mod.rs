//! A [`Backend`] in another process, reached through the adapter protocol
//! (`spec/protocol.md`).
//!
//! The runner side of `r[proto.*]`: it starts the adapter, greets it, sends
//! one command at a time and waits for the reply at most the step timeout
//! (`r[proto.runner.timeout]`). When the adapter crashes, hangs, prints
//! garbage or answers out of turn, the call fails with a message that names
//! what happened and carries the tail of the adapter's standard error
//! (`r[proto.runner.crash]`); the process is killed, and the next
//! [`Backend::reset`] starts a fresh one, so the run goes on with the next
//! case.

mod call;
mod lines;
mod process;

use moin_session_spec::protocol::{
    Command, ErrorKind, Implementation, Reply, PROTOCOL_VERSION, SUPPORTED_VERSIONS,
};
use moin_session_spec::{
    AuthAction, Backend, BackendError, BackendInfo, CleanupOutcome, CleanupRequest, Config,
    Finished, Op, Opened, Profile, Request, Response,
};
use serde_json::Value;
use time::OffsetDateTime;

use self::call::{kind, Borrowed};
pub use self::process::AdapterOptions;
use self::process::{failed, Running};
use crate::report::inert::visible;

/// The words every step-timeout error carries (see
/// [`crate::run::stop::is_step_timeout`]).
pub const STEP_TIMEOUT: &str = "step timeout (--step-timeout)";

/// After this many failed starts in a row, the adapter is not started again.
const MAX_START_FAILURES: u32 = 3;

/// What the adapter said of itself in its `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// Who it is.
    pub implementation: Implementation,
    /// The profiles it implements.
    pub profiles: Vec<Profile>,
    /// Its optional abilities.
    pub capabilities: Vec<String>,
    /// The configuration values it supports, where it limits any.
    pub configurations: moin_session_spec::ConfigSupport,
    /// The protocol version it speaks (one of [`SUPPORTED_VERSIONS`]).
    pub protocol: u32,
}

/// A backend in another process.
pub struct AdapterBackend {
    options: AdapterOptions,
    running: Option<Running>,
    greeting: Option<Greeting>,
    /// A handshake failure that makes every case error (e.g. a version
    /// mismatch): it is not retried.
    fatal: Option<String>,
    /// Failed starts in a row.
    start_failures: u32,
}

impl AdapterBackend {
    /// Starts the adapter and shakes hands. A failure to start or greet is
    /// returned as the message that every case will carry.
    pub fn start(options: AdapterOptions) -> Result<AdapterBackend, String> {
        let mut backend = AdapterBackend::new(options);
        backend.ensure_running().map_err(|e| e.to_string())?;
        Ok(backend)
    }

    /// An adapter backend that starts (and greets) its process on first
    /// use. When starting fails, every case errors with the reason, and the
    /// run goes on, so the report names the problem for each case.
    pub fn new(options: AdapterOptions) -> AdapterBackend {
        let mut backend = AdapterBackend {
            options,
            running: None,
            greeting: None,
            fatal: None,
            start_failures: 0,
        };
        // Greet now, to learn the profiles; a failure shows at each case.
        let _ = backend.ensure_running();
        backend
    }

    /// What the adapter said of itself.
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    fn ensure_running(&mut self) -> Result<(), BackendError> {
        if let Some(fatal) = &self.fatal {
            return Err(failed(fatal.clone()));
        }
        if self.running.is_some() {
            return Ok(());
        }
        match self.start_and_greet() {
            Ok(()) => {
                self.start_failures = 0;
                Ok(())
            }
            Err(e) => {
                self.start_failures += 1;
                if self.start_failures >= MAX_START_FAILURES && self.fatal.is_none() {
                    // Do not wait a step timeout per case for an adapter
                    // that will not start: the remaining cases error at once.
                    let last = match &e {
                        BackendError::Failed { message } => message.clone(),
                        other => other.to_string(),
                    };
                    self.fatal = Some(format!(
                        "the adapter failed to start {MAX_START_FAILURES} times in a row; it is not started again. The last failure: {last}"
                    ));
                }
                Err(e)
            }
        }
    }

    fn start_and_greet(&mut self) -> Result<(), BackendError> {
        self.running = Some(process::spawn(&self.options)?);
        // r[proto.handshake.first]
        let reply = self.call(Command::Hello {
            protocol: PROTOCOL_VERSION,
        })?;
        match reply {
            Reply::Hello {
                protocol,
                implementation,
                profiles,
                capabilities,
                configurations,
            } => {
                if let Err(e) = configurations.check() {
                    // r[proto.handshake.configurations]
                    let message = format!("the hello reply's {e}");
                    self.kill();
                    self.fatal = Some(message.clone());
                    return Err(failed(message));
                }
                if !SUPPORTED_VERSIONS.contains(&protocol) {
                    // r[proto.handshake.version]
                    let message = format!(
                        "the adapter speaks protocol version {protocol}; this runner speaks version {PROTOCOL_VERSION} and accepts {SUPPORTED_VERSIONS:?}"
                    );
                    self.kill();
                    self.fatal = Some(message.clone());
                    return Err(failed(message));
                }
                self.greeting = Some(Greeting {
                    implementation: inert_identity(implementation),
                    profiles,
                    capabilities,
                    configurations,
                    protocol,
                });
                Ok(())
            }
            other => Err(self.broken(format!("expected a hello reply, got {}", kind(&other)))),
        }
    }

    /// Kills the adapter (see [`process::kill`]); returns what it wrote
    /// last to its standard error.
    fn kill(&mut self) -> String {
        self.running.take().map(process::kill).unwrap_or_default()
    }

    /// Marks the adapter broken: the message with the stderr tail; the
    /// process is killed and restarted at the next reset.
    fn broken(&mut self, what: String) -> BackendError {
        let tail = self.kill();
        failed(format!("{what}{tail}"))
    }

    /// Sends a command and turns an `error` reply into a [`BackendError`].
    /// `gate` is the capability the command needs, if any (checked by
    /// [`need`](Self::need) before it is sent).
    fn command(&mut self, command: Command, gate: Option<&str>) -> Result<Reply, BackendError> {
        self.send(call::command_name(&command), &command, gate)
    }

    /// [`command`](Self::command) for a command whose payload is borrowed.
    fn borrowed(
        &mut self,
        command: Borrowed<'_>,
        gate: Option<&str>,
    ) -> Result<Reply, BackendError> {
        self.send(command.name(), &command, gate)
    }

    fn send<T: serde::Serialize>(
        &mut self,
        name: &'static str,
        command: &T,
        gate: Option<&str>,
    ) -> Result<Reply, BackendError> {
        self.ensure_running()?;
        match self.exchange(name, command)? {
            Reply::Error { kind, message } => Err(match kind {
                // r[proto.command.mandatory]: the runner asks only for what
                // every adapter must do and what this one declared, so a
                // decline (r[proto.errors.unknown-message] included) is
                // an error of the case, never a skip.
                ErrorKind::Unsupported | ErrorKind::UnknownMessage => {
                    failed(declined(name, gate, kind, &message))
                }
                // An adapter's words are shown, never obeyed.
                ErrorKind::InvalidInput => BackendError::InvalidInput {
                    message: visible(&message),
                },
                ErrorKind::Failed => failed(visible(&message)),
            }),
            other => Ok(other),
        }
    }

    fn has(&self, capability: &str) -> bool {
        self.greeting
            .as_ref()
            .is_some_and(|g| g.capabilities.iter().any(|c| c == capability))
    }

    fn need(&self, capability: &str) -> Result<(), BackendError> {
        if self.has(capability) {
            Ok(())
        } else {
            Err(BackendError::Unsupported {
                what: format!("capability `{capability}`, which the adapter does not declare"),
            })
        }
    }

    /// The capability a request needs (`https`, `change-user`), after
    /// checking the adapter declared it.
    fn request_gate(&self, request: &Request) -> Result<Option<&'static str>, BackendError> {
        let mut gate = None;
        if request.https {
            self.need("https")?;
            gate = Some("https");
        }
        if matches!(request.auth, AuthAction::ChangeUser { .. }) {
            self.need("change-user")?;
            gate = Some("change-user");
        }
        Ok(gate)
    }

    fn expect_ok(&mut self, command: Command, gate: Option<&str>) -> Result<(), BackendError> {
        let reply = self.command(command, gate)?;
        self.ok(reply)
    }

    fn ok(&mut self, reply: Reply) -> Result<(), BackendError> {
        match reply {
            Reply::Ok {} => Ok(()),
            other => Err(self.broken(format!("expected an ok reply, got {}", kind(&other)))),
        }
    }
}

/// The adapter's identity with its strings made inert (reports print
/// them: a name must not clear a terminal or start a line).
fn inert_identity(mut i: Implementation) -> Implementation {
    i.name = process::cut(&visible(&i.name), 200);
    i.version = process::cut(&visible(&i.version), 100);
    i.language = process::cut(&visible(&i.language), 100);
    i.homepage = i.homepage.map(|h| process::cut(&visible(&h), 300));
    i
}

/// The error of an adapter that declined a command it was asked for:
/// one every adapter must carry out, or one of a capability it declared.
fn declined(name: &str, gate: Option<&str>, kind: ErrorKind, message: &str) -> String {
    let said = match kind {
        ErrorKind::UnknownMessage => "unknown-message",
        _ => "unsupported",
    };
    let shown = process::cut(&visible(message), 200);
    match gate {
        Some(capability) => format!(
            "the adapter declined `{name}` ({said}: {shown:?}), though it declares the capability `{capability}`; a declared capability must be carried out [r[proto.handshake.capabilities]]"
        ),
        None => format!(
            "the adapter declined `{name}` ({said}: {shown:?}), which every adapter of the profile must carry out; only a capability it does not declare skips cases [r[proto.command.mandatory]]"
        ),
    }
}

impl Drop for AdapterBackend {
    fn drop(&mut self) {
        // r[proto.command.shutdown]: ask politely, then make sure.
        let _ = self.shut_down();
        self.kill();
    }
}

impl Backend for AdapterBackend {
    fn info(&self) -> BackendInfo {
        match &self.greeting {
            Some(g) => BackendInfo {
                name: g.implementation.name.clone(),
                version: g.implementation.version.clone(),
                profiles: g.profiles.clone(),
            },
            None => BackendInfo {
                name: format!("adapter `{}`", self.options.command),
                version: String::new(),
                // Unknown until greeted: let every case try, and error.
                profiles: Profile::ALL.to_vec(),
            },
        }
    }

    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        let reply = self.borrowed(Borrowed::Reset { config }, None)?;
        self.ok(reply)
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        let reply = self.borrowed(Borrowed::Reconfigure { config }, None)?;
        self.ok(reply)
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let gate = self.request_gate(request)?;
        match self.borrowed(Borrowed::Request { request }, gate)? {
            Reply::Response { response } => Ok(response),
            other => Err(self.broken(format!("expected a response reply, got {}", kind(&other)))),
        }
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        let gate = request.user.as_ref().map(|_| "cleanup-by-user");
        if let Some(capability) = gate {
            self.need(capability)?;
        }
        match self.command(
            Command::Cleanup {
                cleanup: request.clone(),
            },
            gate,
        )? {
            Reply::Cleaned { outcome } => Ok(outcome),
            other => Err(self.broken(format!("expected a cleaned reply, got {}", kind(&other)))),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        match self.command(Command::List {}, None)? {
            Reply::Listed { sids } => Ok(sids),
            other => Err(self.broken(format!("expected a listed reply, got {}", kind(&other)))),
        }
    }

    fn loads_configuration(&self) -> bool {
        false
    }

    /// r[proto.interleave.capability]: only a protocol 2 adapter that
    /// declares `interleave` is sent overlapping requests. Before the
    /// first handshake this is not known; the runner asks after `reset`.
    fn interleaves(&self) -> bool {
        self.greeting
            .as_ref()
            .is_some_and(|g| g.protocol >= 2 && g.capabilities.iter().any(|c| c == "interleave"))
    }

    fn open(&mut self, handle: &str, request: &Request) -> Result<Opened, BackendError> {
        self.need("interleave")?;
        self.request_gate(request)?;
        match self.command(
            Command::Open {
                handle: handle.to_owned(),
                request: request.clone(),
            },
            Some("interleave"),
        )? {
            Reply::Opened { opened } => Ok(opened),
            other => Err(self.broken(format!("expected an opened reply, got {}", kind(&other)))),
        }
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        self.need("interleave")?;
        match self.command(
            Command::Ops {
                handle: handle.to_owned(),
                ops: ops.to_vec(),
            },
            Some("interleave"),
        )? {
            Reply::Results { results } => Ok(results),
            other => Err(self.broken(format!("expected a results reply, got {}", kind(&other)))),
        }
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        self.need("interleave")?;
        match self.command(
            Command::Finish {
                handle: handle.to_owned(),
                now,
            },
            Some("interleave"),
        )? {
            Reply::Finished { finished } => Ok(finished),
            other => Err(self.broken(format!("expected a finished reply, got {}", kind(&other)))),
        }
    }

    fn end_run(&mut self) -> Result<(), BackendError> {
        self.shut_down()
    }

    /// r[proto.handshake.capabilities], r[proto.handshake.configurations]:
    /// what the hello reply declared; before the first handshake, nothing
    /// optional (the runner asks after a reset).
    fn capabilities(&self) -> moin_session_spec::Capabilities {
        match &self.greeting {
            Some(g) => {
                let mut c = moin_session_spec::Capabilities::from_names(
                    &g.capabilities,
                    g.configurations.clone(),
                );
                c.interleave = self.interleaves();
                c
            }
            None => moin_session_spec::Capabilities::from_names(&[], Default::default()),
        }
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.need("corrupt")?;
        self.expect_ok(
            Command::Corrupt {
                sid: sid.to_owned(),
            },
            Some("corrupt"),
        )
    }
}
