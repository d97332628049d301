//! `moin-session-adapter`: a Rust backend behind the adapter protocol
//! (`spec/protocol.md`), reading commands on stdin and answering on stdout.
//!
//! It serves the harness's own tests and measurements, and shows what an
//! adapter does. `--fault` adds a deliberate semantic fault; the hidden
//! `--misbehave` makes it break the protocol on purpose.

#[path = "moin-session-adapter/misbehave.rs"]
mod misbehave;

use std::io::{self, BufReader};
use std::process::ExitCode;

use clap::Parser;
use moin_session_conformance::backends::BackendChoice;
use moin_session_conformance::forward_backend_calls;
use moin_session_conformance::proof::faulty::{Fault, Faulty};
use moin_session_spec::protocol::{serve, Implementation, CAPABILITIES};

use misbehave::{after_bye, misbehaving, output, parse_misbehave, Setup, HOSTILE};
use moin_session_spec::Backend;

/// Serves a backend over the moin-session adapter protocol on stdin/stdout.
#[derive(Parser)]
#[command(name = "moin-session-adapter", version)]
struct Cli {
    /// The backend to serve: `reference-memory` (the reference service over
    /// an in-memory store), `reference-file[:DIR]`,
    /// `reference-sqlite[:PATH]`, `reference-redis[:URL]`, or `model`.
    #[arg(long, value_name = "BACKEND", value_parser = BackendChoice::parse, default_value = "reference-memory")]
    backend: BackendChoice,
    /// A deliberate fault to add to the backend.
    #[arg(long, value_name = "FAULT")]
    fault: Option<Fault>,
    /// Break the protocol on purpose, for the harness's tests:
    /// crash-at-request=N, hang-at-request=N, garbage-at-request=N,
    /// latin1-stdout-at-request=N, close-stdout-at-request=N,
    /// duplicate-reply=N (the Nth reply line, counting hello's, twice),
    /// latin1-stderr (Latin-1 text on stderr at every request),
    /// bad-sids (issues `SESS.N` in place of each session value, and maps
    /// it back, so only the form is wrong), decline=list|cleanup|
    /// remember-me|reconfigure|open (answers `unsupported`), bye-exit=N
    /// (exits N after its bye), no-bye, linger-after-bye, extra-after-bye,
    /// hostile-text (escape sequences and newlines in its name, its first
    /// error message and the users it reports), varying-cookie (an extra
    /// cookie of a new name in every response: one cause, a new value each
    /// time), unique-errors (every request fails naming a new file, as a
    /// full disk would), early-finished (a `finished` reply written right
    /// after each `opened`, before any finish was asked for).
    #[arg(long, hide = true, value_name = "HOW")]
    misbehave: Option<String>,
    /// Leave a capability out of the handshake, for the harness's tests
    /// (e.g. `--without interleave`); may be given more than once.
    #[arg(long, hide = true, value_name = "CAPABILITY")]
    without: Vec<String>,
    /// Declare in the handshake that a configuration setting is supported
    /// with these values only (`configurations`, spec/protocol.md), e.g.
    /// `--limit cookie_httponly=true` for a backend that always sends
    /// HttpOnly; each value is JSON (`true`, `null`, `"Strict"`) or a bare
    /// word; may be given more than once.
    #[arg(long, value_name = "SETTING=VALUE,...", value_parser = parse_limit)]
    limit: Vec<(String, Vec<serde_json::Value>)>,
}

/// `--limit SETTING=V1,V2`.
fn parse_limit(s: &str) -> Result<(String, Vec<serde_json::Value>), String> {
    let (setting, values) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected SETTING=VALUE[,VALUE...]"))?;
    let values: Vec<serde_json::Value> = values
        .split(',')
        .map(|v| {
            serde_json::from_str(v.trim())
                .unwrap_or_else(|_| serde_json::Value::String(v.trim().to_owned()))
        })
        .collect();
    let mut check = moin_session_spec::ConfigSupport::default();
    check.limit(setting, values.clone())?;
    Ok((setting.to_owned(), values))
}

/// A backend that declares the configuration values it supports
/// (`--limit`); everything else is its inner backend's.
struct Limited {
    inner: Box<dyn Backend>,
    configurations: moin_session_spec::ConfigSupport,
}

impl Backend for Limited {
    forward_backend_calls!(inner: info, reset, reconfigure, request, cleanup, list, corrupt);
    forward_backend_calls!(inner: interleaves, open, ops, finish);
    fn capabilities(&self) -> moin_session_spec::Capabilities {
        moin_session_spec::Capabilities {
            configurations: self.configurations.clone(),
            ..self.inner.capabilities()
        }
    }
}

/// The backend the options describe, and how it misbehaves; an error is a
/// usage error.
fn backend_of(cli: &Cli) -> Result<(Box<dyn Backend>, Setup), String> {
    let misbehave = cli.misbehave.as_deref().map(parse_misbehave).transpose()?;
    let mut backend: Box<dyn Backend> = match cli.fault {
        Some(f) if f.at_store() => {
            if cli.backend != BackendChoice::ReferenceMemory {
                return Err(format!(
                    "--fault {f} is a fault of the store: it needs --backend reference-memory"
                ));
            }
            moin_session_conformance::proof::selftest::reference(f)
        }
        Some(f) => {
            let inner = cli.backend.start().map_err(|e| format!("--backend: {e}"))?;
            Box::new(Faulty::new(inner, f))
        }
        None => cli.backend.start().map_err(|e| format!("--backend: {e}"))?,
    };
    if !cli.limit.is_empty() {
        backend = Box::new(Limited {
            inner: backend,
            configurations: moin_session_spec::ConfigSupport(cli.limit.iter().cloned().collect()),
        });
    }
    Ok(misbehaving(backend, misbehave))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ended by the runner (a step timeout, an interrupted run): remove the
    // temporary store, then exit.
    let _ = moin_session_conformance::lifecycle::install(
        moin_session_conformance::lifecycle::OnSignal::Exit,
    );
    let (mut backend, setup) = match backend_of(&cli) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let info = backend.info();
    let implementation = Implementation {
        name: if setup.hostile {
            format!("{}{HOSTILE}", info.name)
        } else {
            info.name
        },
        version: info.version,
        language: "rust".to_owned(),
        homepage: None,
    };
    // bad-sids renames only in whole requests: it does not claim to run
    // overlapping ones (a claim it would then decline).
    let capabilities: Vec<&str> = CAPABILITIES
        .iter()
        .copied()
        .filter(|c| !cli.without.iter().any(|w| w == c))
        .filter(|c| !(setup.renamed && *c == "interleave"))
        .collect();
    let stdin = io::stdin();
    let served = serve(
        backend.as_mut(),
        implementation,
        &capabilities,
        BufReader::new(stdin.lock()),
        output(&setup),
    );
    match served {
        Ok(()) => setup.after.map_or(ExitCode::SUCCESS, after_bye),
        Err(e) => {
            eprintln!("adapter: i/o error: {e}");
            ExitCode::from(1)
        }
    }
}
