//! The hidden `--misbehave` modes of `moin-session-adapter`: adapters
//! that break the protocol or try to look good, for the harness's own
//! tests (the hostile-adapter set, issue 24).

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use moin_session_conformance::forward_backend_calls;
use moin_session_spec::{
    AuthAction, Backend, BackendError, CleanupOutcome, CleanupRequest, Config, Request, Response,
};

pub(crate) enum Misbehave {
    Crash(u64),
    Hang(u64),
    Garbage(u64),
    Latin1Stdout(u64),
    CloseStdout(u64),
    Duplicate(u64),
    Latin1Stderr,
    BadSids,
    Decline(String),
    ByeExit(u8),
    NoBye,
    LingerAfterBye,
    ExtraAfterBye,
    HostileText,
    VaryingCookie,
    UniqueErrors,
    EarlyFinished,
}

/// What `hostile-text` puts where a report shows adapter text: a
/// terminal title, a screen clear, a forged report line, HTML.
pub(crate) const HOSTILE: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n  PASS  forged line <img src=x onerror=alert(1)> <!--";

/// What `decline=WHAT` can name.
const DECLINABLE: [&str; 5] = ["reconfigure", "remember-me", "cleanup", "list", "open"];

pub(crate) fn parse_misbehave(s: &str) -> Result<Misbehave, String> {
    match s {
        "latin1-stderr" => return Ok(Misbehave::Latin1Stderr),
        "bad-sids" => return Ok(Misbehave::BadSids),
        "no-bye" => return Ok(Misbehave::NoBye),
        "linger-after-bye" => return Ok(Misbehave::LingerAfterBye),
        "extra-after-bye" => return Ok(Misbehave::ExtraAfterBye),
        "hostile-text" => return Ok(Misbehave::HostileText),
        "varying-cookie" => return Ok(Misbehave::VaryingCookie),
        "unique-errors" => return Ok(Misbehave::UniqueErrors),
        "early-finished" => return Ok(Misbehave::EarlyFinished),
        _ => {}
    }
    let (what, n) = s
        .split_once('=')
        .ok_or_else(|| format!("--misbehave {s:?}: expected HOW=N"))?;
    if what == "decline" {
        // A name it never declines would make a test pass for nothing.
        return if DECLINABLE.contains(&n) {
            Ok(Misbehave::Decline(n.to_owned()))
        } else {
            Err(format!(
                "--misbehave {s:?}: {n:?} is not a command or feature it can decline (one of {})",
                DECLINABLE.join(", ")
            ))
        };
    }
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--misbehave {s:?}: N must be a number"))?;
    match what {
        "crash-at-request" => Ok(Misbehave::Crash(n)),
        "hang-at-request" => Ok(Misbehave::Hang(n)),
        "garbage-at-request" => Ok(Misbehave::Garbage(n)),
        "latin1-stdout-at-request" => Ok(Misbehave::Latin1Stdout(n)),
        "close-stdout-at-request" => Ok(Misbehave::CloseStdout(n)),
        "duplicate-reply" => Ok(Misbehave::Duplicate(n)),
        "bye-exit" => u8::try_from(n)
            .map(Misbehave::ByeExit)
            .map_err(|_| format!("--misbehave {s:?}: N is an exit status")),
        _ => Err(format!("--misbehave {s:?}: unknown kind {what:?}")),
    }
}

/// Writes the Nth line twice (`duplicate-reply=N`).
struct Duplicating<W> {
    inner: W,
    at: u64,
    lines: u64,
    line: Vec<u8>,
}

impl<W: Write> Write for Duplicating<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            self.line.push(b);
            if b == b'\n' {
                self.lines += 1;
                self.inner.write_all(&self.line)?;
                if self.lines == self.at {
                    self.inner.write_all(&self.line)?;
                }
                self.line.clear();
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Issues `SESS.<n>` for every session cookie value and maps it back in
/// `Cookie` headers, lists and cleanups (`bad-sids`): a backend whose only
/// fault is the form of what it issues.
struct Renamed<B> {
    inner: B,
    /// (real, shown), in order of first issue.
    names: Vec<(String, String)>,
}

impl<B> Renamed<B> {
    fn shown(&mut self, real: &str) -> String {
        if let Some((_, s)) = self.names.iter().find(|(r, _)| r == real) {
            return s.clone();
        }
        let s = format!("SESS.{}", self.names.len() + 1);
        self.names.push((real.to_owned(), s.clone()));
        s
    }
    fn real(&self, shown: &str) -> String {
        self.names
            .iter()
            .find(|(_, s)| s == shown)
            .map_or_else(|| shown.to_owned(), |(r, _)| r.clone())
    }
}

impl<B: Backend> Backend for Renamed<B> {
    forward_backend_calls!(inner: info, reconfigure, capabilities);
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.names.clear();
        self.inner.reset(config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        let mut request = request.clone();
        request.cookie_header = request.cookie_header.map(|h| {
            h.split("; ")
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => format!("{k}={}", self.real(v)),
                    None => pair.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
        let mut response = self.inner.request(&request)?;
        for header in &mut response.set_cookies {
            let Some((pair, rest)) = header.split_once(';') else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if !value.is_empty() && !value.contains(':') {
                *header = format!("{name}={};{rest}", self.shown(value));
            }
        }
        Ok(response)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        let mut out = self.inner.cleanup(request)?;
        out.removed = out.removed.iter().map(|s| self.shown(s)).collect();
        Ok(out)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        let sids = self.inner.list()?;
        Ok(sids.iter().map(|s| self.shown(s)).collect())
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        let real = self.real(sid);
        self.inner.corrupt(&real)
    }
}

/// Breaks the protocol at the Nth request.
struct Broken<B> {
    inner: B,
    how: Misbehave,
    requests: u64,
}

impl<B> Broken<B> {
    /// `decline=WHAT`: answers `unsupported` to WHAT.
    fn declines(&self, what: &str) -> Result<(), BackendError> {
        match &self.how {
            Misbehave::Decline(w) if w == what => Err(BackendError::Unsupported {
                what: format!("{what} (declined on purpose)"),
            }),
            _ => Ok(()),
        }
    }
}

/// `n` written in letters (`b`, `c`, …, `ba`): a name with no digits, so
/// that a grouping that blanks numbers cannot join two of them.
fn letters(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

/// Writes a `finished` reply of the same seq after each `opened` reply
/// (`early-finished`): a protocol-2 misuse.
struct EarlyFinished<W>(W);

impl<W: Write> Write for EarlyFinished<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        let line = String::from_utf8_lossy(buf);
        if line.contains("\"type\":\"opened\"") {
            let seq = serde_json::from_str::<serde_json::Value>(line.trim())
                .ok()
                .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
                .unwrap_or(0);
            let early = format!(
                "{{\"seq\":{seq},\"type\":\"finished\",\"finished\":{{\"set_cookies\":[],\"cache_control\":null}}}}\n"
            );
            self.0.write_all(early.as_bytes())?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Drops the `bye` reply (`no-bye`).
struct DropBye<W>(W);

impl<W: Write> Write for DropBye<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !String::from_utf8_lossy(buf).contains("\"type\":\"bye\"") {
            self.0.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// What a misbehaving adapter does once it has said bye (or would have).
pub(crate) fn after_bye(how: AfterBye) -> ExitCode {
    match how {
        AfterBye::Exit(n) => ExitCode::from(n),
        AfterBye::Linger => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        AfterBye::Extra => {
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"{\"seq\":999,\"type\":\"ok\"}\n");
            let _ = out.flush();
            ExitCode::SUCCESS
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) enum AfterBye {
    Exit(u8),
    Linger,
    Extra,
}

impl<B: Backend> Backend for Broken<B> {
    forward_backend_calls!(inner: info, reset, corrupt, capabilities, interleaves, ops, finish);
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.declines("reconfigure")?;
        self.inner.reconfigure(config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        self.requests += 1;
        if matches!(
            request.auth,
            AuthAction::Login {
                remember_me: true,
                ..
            }
        ) {
            self.declines("remember-me")?;
        }
        match self.how {
            Misbehave::VaryingCookie => {
                let mut response = self.inner.request(request)?;
                response
                    .set_cookies
                    .push(format!("x{}=1; Path=/", letters(self.requests)));
                return Ok(response);
            }
            Misbehave::UniqueErrors => {
                return Err(BackendError::Failed {
                    message: format!(
                        "cannot save /var/lib/sessions/{:040x}.tmp: No space left on device (os error 28)",
                        u128::from(self.requests).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c)
                    ),
                })
            }
            _ => {}
        }
        if let Misbehave::HostileText = self.how {
            if self.requests == 1 {
                return Err(BackendError::Failed {
                    message: HOSTILE.to_owned(),
                });
            }
            let mut response = self.inner.request(request)?;
            response.user = response.user.map(|u| format!("{u}{HOSTILE}"));
            return Ok(response);
        }
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
            Misbehave::Latin1Stdout(n) if n == self.requests => {
                let mut out = io::stdout().lock();
                let _ = out.write_all(b"{\"caf\xe9\": 1}\n");
                let _ = out.flush();
            }
            Misbehave::CloseStdout(n) if n == self.requests => {
                eprintln!("adapter: closing stdout on purpose at request {n}");
                // SAFETY: closing our own standard output; nothing of ours
                // writes to it afterwards (we sleep until killed).
                unsafe {
                    libc::close(1);
                }
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            Misbehave::Latin1Stderr => {
                let _ =
                    io::stderr().write_all(b"adapter: caf\xe9 cr\xe8me br\xfbl\xe9e (Latin-1)\n");
            }
            _ => {}
        }
        self.inner.request(request)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        self.declines("cleanup")?;
        self.inner.cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.declines("list")?;
        self.inner.list()
    }
    fn open(
        &mut self,
        handle: &str,
        request: &Request,
    ) -> Result<moin_session_spec::Opened, BackendError> {
        self.declines("open")?;
        self.inner.open(handle, request)
    }
}

/// How a misbehaving adapter is put together from `--misbehave`.
#[derive(Default)]
pub(crate) struct Setup {
    pub(crate) duplicate_at: Option<u64>,
    pub(crate) after: Option<AfterBye>,
    pub(crate) no_bye: bool,
    pub(crate) early_finished: bool,
    pub(crate) hostile: bool,
    pub(crate) renamed: bool,
}

/// Wraps `backend` for `misbehave`; what else it changes is in the setup.
pub(crate) fn misbehaving(
    mut backend: Box<dyn Backend>,
    misbehave: Option<Misbehave>,
) -> (Box<dyn Backend>, Setup) {
    let mut setup = Setup {
        after: match &misbehave {
            Some(Misbehave::ByeExit(n)) => Some(AfterBye::Exit(*n)),
            Some(Misbehave::LingerAfterBye) => Some(AfterBye::Linger),
            Some(Misbehave::ExtraAfterBye) => Some(AfterBye::Extra),
            _ => None,
        },
        no_bye: matches!(misbehave, Some(Misbehave::NoBye)),
        early_finished: matches!(misbehave, Some(Misbehave::EarlyFinished)),
        hostile: matches!(misbehave, Some(Misbehave::HostileText)),
        renamed: matches!(misbehave, Some(Misbehave::BadSids)),
        duplicate_at: None,
    };
    match misbehave {
        Some(Misbehave::BadSids) => {
            backend = Box::new(Renamed {
                inner: backend,
                names: Vec::new(),
            })
        }
        Some(Misbehave::Duplicate(n)) => setup.duplicate_at = Some(n),
        Some(how) => {
            backend = Box::new(Broken {
                inner: backend,
                how,
                requests: 0,
            })
        }
        None => {}
    }
    (backend, setup)
}

/// Where replies go: standard output, through a misbehaving writer.
pub(crate) fn output(setup: &Setup) -> Box<dyn Write> {
    let stdout = io::stdout();
    match setup.duplicate_at {
        Some(at) => Box::new(Duplicating {
            inner: stdout.lock(),
            at,
            lines: 0,
            line: Vec::new(),
        }),
        None if setup.no_bye => Box::new(DropBye(stdout.lock())),
        None if setup.early_finished => Box::new(EarlyFinished(stdout.lock())),
        None => Box::new(stdout.lock()),
    }
}
