//! `moin-session-adapter`: a Rust backend behind the adapter protocol
//! (`spec/protocol.md`), reading commands on stdin and answering on stdout.
//!
//! It serves the harness's own tests and measurements, and shows what an
//! adapter does. `--fault` adds a deliberate semantic fault; the hidden
//! `--misbehave` makes it break the protocol on purpose.

use std::io::{self, BufReader};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use moin_session_conformance::backends::BackendChoice;
use moin_session_conformance::faulty::{Fault, Faulty};
use moin_session_spec::protocol::{serve, Implementation, CAPABILITIES};
use moin_session_spec::{
    Backend, BackendError, BackendInfo, CleanupOutcome, CleanupRequest, Config, Request, Response,
};

/// Serves a backend over the moin-session adapter protocol on stdin/stdout.
#[derive(Parser)]
#[command(name = "moin-session-adapter", version, about)]
struct Cli {
    /// The backend to serve: `reference-memory` (the reference service over
    /// an in-memory store), `reference-file[:DIR]`, or `model`.
    #[arg(long, value_name = "BACKEND", value_parser = BackendChoice::parse, default_value = "reference-memory")]
    backend: BackendChoice,
    /// A deliberate fault to add to the backend.
    #[arg(long, value_name = "FAULT")]
    fault: Option<Fault>,
    /// Break the protocol on purpose, for the harness's tests:
    /// crash-at-request=N, hang-at-request=N, garbage-at-request=N.
    #[arg(long, hide = true, value_name = "HOW")]
    misbehave: Option<String>,
    /// Leave a capability out of the handshake, for the harness's tests
    /// (e.g. `--without interleave`); may be given more than once.
    #[arg(long, hide = true, value_name = "CAPABILITY")]
    without: Vec<String>,
}

enum Misbehave {
    Crash(u64),
    Hang(u64),
    Garbage(u64),
}

fn parse_misbehave(s: &str) -> Result<Misbehave, String> {
    let (what, n) = s
        .split_once('=')
        .ok_or_else(|| format!("--misbehave {s:?}: expected HOW=N"))?;
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--misbehave {s:?}: N must be a number"))?;
    match what {
        "crash-at-request" => Ok(Misbehave::Crash(n)),
        "hang-at-request" => Ok(Misbehave::Hang(n)),
        "garbage-at-request" => Ok(Misbehave::Garbage(n)),
        _ => Err(format!("--misbehave {s:?}: unknown kind {what:?}")),
    }
}

/// Breaks the protocol at the Nth request.
struct Broken<B> {
    inner: B,
    how: Misbehave,
    requests: u64,
}

impl<B: Backend> Backend for Broken<B> {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner.reset(config)
    }
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner.reconfigure(config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        self.requests += 1;
        match self.how {
            Misbehave::Crash(n) if n == self.requests => {
                eprintln!("adapter: crashing on purpose at request {n}");
                std::process::exit(3);
            }
            Misbehave::Hang(n) if n == self.requests => {
                eprintln!("adapter: hanging on purpose at request {n}");
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            Misbehave::Garbage(n) if n == self.requests => {
                println!("this is not a protocol reply");
            }
            _ => {}
        }
        self.inner.request(request)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        self.inner.cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.inner.list()
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.inner.corrupt(sid)
    }
    fn interleaves(&self) -> bool {
        self.inner.interleaves()
    }
    fn open(
        &mut self,
        handle: &str,
        request: &Request,
    ) -> Result<moin_session_spec::Opened, BackendError> {
        self.inner.open(handle, request)
    }
    fn ops(
        &mut self,
        handle: &str,
        ops: &[moin_session_spec::Op],
    ) -> Result<Vec<serde_json::Value>, BackendError> {
        self.inner.ops(handle, ops)
    }
    fn finish(
        &mut self,
        handle: &str,
        now: time::OffsetDateTime,
    ) -> Result<moin_session_spec::Finished, BackendError> {
        self.inner.finish(handle, now)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let misbehave = match cli.misbehave.as_deref().map(parse_misbehave).transpose() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let inner = match cli.backend.start() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: --backend: {e}");
            return ExitCode::from(2);
        }
    };
    let mut backend: Box<dyn Backend> = match cli.fault {
        Some(f) => Box::new(Faulty::new(inner, f)),
        None => inner,
    };
    if let Some(how) = misbehave {
        backend = Box::new(Broken {
            inner: backend,
            how,
            requests: 0,
        });
    }
    let info = backend.info();
    let implementation = Implementation {
        name: info.name,
        version: info.version,
        language: "rust".to_owned(),
        homepage: None,
    };
    let stdin = io::stdin();
    let stdout = io::stdout();
    let capabilities: Vec<&str> = CAPABILITIES
        .iter()
        .copied()
        .filter(|c| !cli.without.iter().any(|w| w == c))
        .collect();
    match serve(
        backend.as_mut(),
        implementation,
        &capabilities,
        BufReader::new(stdin.lock()),
        stdout.lock(),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adapter: i/o error: {e}");
            ExitCode::from(1)
        }
    }
}
