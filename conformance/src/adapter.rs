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

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use moin_session_spec::protocol::{
    Command, Envelope, ErrorKind, Implementation, Reply, PROTOCOL_VERSION, SUPPORTED_VERSIONS,
};
use moin_session_spec::{
    AuthAction, Backend, BackendError, BackendInfo, CleanupOutcome, CleanupRequest, Config,
    Finished, Op, Opened, Profile, Request, Response,
};
use serde_json::Value;
use time::OffsetDateTime;

/// How many lines of the adapter's standard error a failure message shows.
const STDERR_TAIL: usize = 20;

/// After this many failed starts in a row, the adapter is not started again.
const MAX_START_FAILURES: u32 = 3;

/// The longest stderr line a failure message shows, in characters.
const STDERR_LINE: usize = 300;

/// How long the runner waits for the adapter's standard error to end after
/// the adapter died or was killed, for the last lines.
const STDERR_GRACE: Duration = Duration::from_millis(300);

/// How long an adapter has to exit after its `bye` (`r[proto.command.shutdown]`).
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// What the stderr reader has gathered: the last lines (decoded lossily),
/// and whether the stream has ended.
#[derive(Default)]
struct StderrTail {
    lines: VecDeque<String>,
    ended: bool,
}

type SharedTail = Arc<(Mutex<StderrTail>, Condvar)>;

/// A line of the adapter's standard output, as bytes (`None`: the stream
/// ended).
type Line = Option<Vec<u8>>;

/// How the runner talks to an adapter.
#[derive(Debug, Clone)]
pub struct AdapterOptions {
    /// The command that starts the adapter: words separated by spaces are
    /// run directly (the runner then reads the adapter's own standard
    /// output); a command with shell syntax (quotes, `$`, `|`, `;`,
    /// redirections, `VAR=value` prefixes, …) is run with `sh -c`.
    pub command: String,
    /// How long to wait for each reply.
    pub step_timeout: Duration,
}

/// What the adapter said of itself in its `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// Who it is.
    pub implementation: Implementation,
    /// The profiles it implements.
    pub profiles: Vec<Profile>,
    /// Its optional abilities.
    pub capabilities: Vec<String>,
    /// The protocol version it speaks (one of [`SUPPORTED_VERSIONS`]).
    pub protocol: u32,
}

struct Running {
    child: Child,
    /// `None` once closed after `bye`.
    stdin: Option<ChildStdin>,
    lines: Receiver<Line>,
    stderr: SharedTail,
    seq: u64,
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

    fn spawn(&self) -> Result<Running, BackendError> {
        let mut process = match direct_argv(&self.options.command) {
            Some(argv) => {
                let mut p = Process::new(&argv[0]);
                p.args(&argv[1..]);
                p
            }
            None => {
                let mut p = Process::new("sh");
                p.arg("-c").arg(shell_script(&self.options.command));
                p
            }
        };
        let mut child = process
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                failed(format!(
                    "cannot start adapter `{}`: {e}",
                    self.options.command
                ))
            })?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            // Bytes, not text: an invalid byte is the call's error to name,
            // not a reason to stop reading.
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(None);
        });
        let stderr: SharedTail = Arc::default();
        let tail = Arc::clone(&stderr);
        thread::spawn(move || {
            // Drain to the end whatever the bytes are (an adapter blocked
            // on a full stderr pipe would hang), keeping the last lines.
            let mut reader = BufReader::new(stderr_pipe);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\n', '\r']);
                        let (lock, _) = &*tail;
                        let mut t = lock.lock().expect("stderr tail lock is never poisoned");
                        if t.lines.len() == STDERR_TAIL {
                            t.lines.pop_front();
                        }
                        t.lines.push_back(cut(text, STDERR_LINE));
                    }
                }
            }
            let (lock, ended) = &*tail;
            lock.lock()
                .expect("stderr tail lock is never poisoned")
                .ended = true;
            ended.notify_all();
        });
        Ok(Running {
            child,
            stdin: Some(stdin),
            lines,
            stderr,
            seq: 0,
        })
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
        self.running = Some(self.spawn()?);
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
            } => {
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
                    implementation,
                    profiles,
                    capabilities,
                    protocol,
                });
                Ok(())
            }
            other => Err(self.broken(format!("expected a hello reply, got {}", kind(&other)))),
        }
    }

    /// Kills the adapter's whole process group (the `sh -c` wrapper, if
    /// any, and whatever it started), so no hung adapter outlives its case;
    /// returns what it wrote last to its standard error.
    fn kill(&mut self) -> String {
        let Some(mut r) = self.running.take() else {
            return String::new();
        };
        if let Ok(pid) = i32::try_from(r.child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process
            // group the adapter leads (spawn made it a group leader);
            // it touches no memory of ours.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = r.child.kill();
        let _ = r.child.wait();
        stderr_tail(&r.stderr)
    }

    /// Marks the adapter broken: the message with the stderr tail; the
    /// process is killed and restarted at the next reset.
    fn broken(&mut self, what: String) -> BackendError {
        let tail = self.kill();
        failed(format!("{what}{tail}"))
    }

    /// Takes a line that arrived when no command was waiting: a reply
    /// nobody asked for (`r[proto.framing.one-reply]`).
    fn unrequested(&mut self, before: &str) -> Option<BackendError> {
        let r = self.running.as_mut()?;
        let line = match r.lines.try_recv() {
            Ok(Some(line)) => line,
            Ok(None) | Err(TryRecvError::Empty | TryRecvError::Disconnected) => return None,
        };
        let last = r.seq;
        let what = describe_extra(&line, last);
        Some(self.broken(format!(
            "the adapter sent {what} before {before} [r[proto.framing.one-reply]]"
        )))
    }

    fn call(&mut self, command: Command) -> Result<Reply, BackendError> {
        let name = command_name(&command);
        let timeout = self.options.step_timeout;
        if let Some(e) = self.unrequested(&format!("`{name}` was sent")) {
            return Err(e);
        }
        let r = self.running.as_mut().expect("call needs a running adapter");
        r.seq += 1;
        let seq = r.seq;
        let line = serde_json::to_string(&Envelope { seq, body: command })
            .expect("commands always serialise");
        let sent = match r.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{line}").and_then(|()| stdin.flush()),
            None => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        };
        if let Err(e) = sent {
            return Err(self.broken(format!(
                "cannot send `{name}` to the adapter: {e} (it has probably exited)"
            )));
        }
        let got = r.lines.recv_timeout(timeout);
        let bytes = match got {
            Ok(Some(bytes)) => bytes,
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                // Give a dying adapter a moment, to report how it ended.
                let deadline = Instant::now() + Duration::from_millis(200);
                let mut status = None;
                while Instant::now() < deadline {
                    if let Ok(Some(s)) = r.child.try_wait() {
                        status = Some(s);
                        break;
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                let how = match status {
                    Some(s) => format!("; it exited ({s})"),
                    None => "; it is still running".to_owned(),
                };
                return Err(self.broken(format!(
                    "the adapter closed its standard output before answering `{name}` (seq {seq}){how}"
                )));
            }
            Err(RecvTimeoutError::Timeout) => {
                return Err(self.broken(format!(
                    "the adapter did not answer `{name}` (seq {seq}) within {} ms",
                    timeout.as_millis()
                )));
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let shown = cut(&String::from_utf8_lossy(&bytes), 200);
                return Err(self.broken(format!(
                    "the adapter's answer to `{name}` (seq {seq}) is not UTF-8: byte 0x{:02x} at offset {at} is invalid, and every message is a line of JSON in UTF-8 [r[proto.framing.json-lines]]: {shown:?}",
                    bytes[at]
                )));
            }
        };
        let reply: Envelope<Reply> = match serde_json::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                let shown = cut(&text, 200);
                return Err(self.broken(format!(
                    "the adapter's answer to `{name}` (seq {seq}) is not a protocol reply ({e}): {shown:?}"
                )));
            }
        };
        if reply.seq < seq {
            return Err(self.broken(format!(
                "the adapter sent a second reply to seq {} (a duplicate reply) when `{name}` (seq {seq}) was waiting [r[proto.framing.one-reply]]",
                reply.seq
            )));
        }
        if reply.seq != seq {
            return Err(self.broken(format!(
                "the adapter answered seq {} when `{name}` (seq {seq}) was waiting [r[proto.framing.seq]]",
                reply.seq
            )));
        }
        Ok(reply.body)
    }

    /// Sends a command and turns an `error` reply into a [`BackendError`].
    fn command(&mut self, command: Command) -> Result<Reply, BackendError> {
        self.ensure_running()?;
        match self.call(command)? {
            Reply::Error { kind, message } => Err(match kind {
                ErrorKind::Unsupported => BackendError::Unsupported { what: message },
                ErrorKind::InvalidInput => BackendError::InvalidInput { message },
                ErrorKind::Failed => failed(message),
                // r[proto.errors.unknown-message]: a command the adapter
                // does not know is declined, like an unsupported one.
                ErrorKind::UnknownMessage => BackendError::Unsupported {
                    what: format!("a command the adapter does not know ({message})"),
                },
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

    fn expect_ok(&mut self, command: Command) -> Result<(), BackendError> {
        match self.command(command)? {
            Reply::Ok {} => Ok(()),
            other => Err(self.broken(format!("expected an ok reply, got {}", kind(&other)))),
        }
    }
}

impl AdapterBackend {
    /// `r[proto.command.shutdown]`: checks that nothing is left unread,
    /// asks for `bye`, and waits for a clean exit; the first problem is the
    /// error. The adapter is gone afterwards either way.
    fn shut_down(&mut self) -> Result<(), BackendError> {
        if self.running.is_none() {
            return Ok(());
        }
        // A reply written after the last one needs a moment to arrive.
        thread::sleep(Duration::from_millis(20));
        if let Some(e) = self.unrequested("`shutdown` was sent") {
            return Err(e);
        }
        match self.call(Command::Shutdown {})? {
            Reply::Bye {} => {}
            other => {
                return Err(self.broken(format!(
                    "expected a bye reply to `shutdown`, got {}",
                    kind(&other)
                )))
            }
        }
        let r = self.running.as_mut().expect("call keeps a running adapter");
        // End of input, so that a wrapper (a shell pipeline) ends too.
        r.stdin = None;
        let deadline = Instant::now() + EXIT_GRACE;
        loop {
            match r.child.try_wait() {
                Ok(Some(status)) if status.success() => break,
                Ok(Some(status)) => {
                    return Err(self.broken(format!(
                        "the adapter said bye and then exited with {status}; it must exit with status 0 [r[proto.command.shutdown]]"
                    )))
                }
                _ if Instant::now() >= deadline => {
                    return Err(self.broken(format!(
                        "the adapter said bye but had not exited {} s later; it was killed [r[proto.command.shutdown]]",
                        EXIT_GRACE.as_secs()
                    )))
                }
                _ => thread::sleep(Duration::from_millis(10)),
            }
        }
        let extra = r.lines.try_recv();
        if let Ok(Some(line)) = extra {
            let last = r.seq;
            let what = describe_extra(&line, last);
            return Err(self.broken(format!(
                "the adapter wrote {what} after its bye [r[proto.framing.one-reply]]"
            )));
        }
        self.kill();
        Ok(())
    }
}

impl Drop for AdapterBackend {
    fn drop(&mut self) {
        // r[proto.command.shutdown]: ask politely, then make sure.
        let _ = self.shut_down();
        self.kill();
    }
}

/// The adapter's own argv, when `command` needs no shell: plain words
/// separated by whitespace, none of them shell syntax.
///
/// ```text
/// python3 adapter.py --flag   -> ["python3", "adapter.py", "--flag"]
/// sh -c 'x'; A=1 cmd; a | b   -> None (run with sh -c)
/// ```
fn direct_argv(command: &str) -> Option<Vec<String>> {
    const SHELL: &[char] = &[
        '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '"', '\'', '*', '?', '[', ']', '#', '~',
        '{', '}', '!',
    ];
    if command.contains(SHELL) {
        return None;
    }
    let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    let first = argv.first()?;
    if first.contains('=') {
        return None;
    }
    Some(argv)
}

/// The script `sh -c` runs for `command`: a single simple command (quotes
/// and expansions allowed, no `;`, `&`, `|`, parentheses, backquotes or
/// newlines, not a shell keyword or builtin) is prefixed with `exec`, so
/// that the shell becomes the adapter and the runner reads the adapter's
/// own standard output.
///
/// ```text
/// python3 "my adapter.py"   -> exec python3 "my adapter.py"
/// cd x && python3 a.py      -> cd x && python3 a.py
/// ```
fn shell_script(command: &str) -> String {
    const COMPOUND: &[char] = &[';', '&', '|', '(', ')', '`', '\n', '{', '}', '!'];
    const KEYWORDS: &[&str] = &[
        "if", "for", "while", "until", "case", "cd", "export", "set", "unset", ".", "source",
        "exec", "eval", "ulimit", "umask", "trap", "alias", "read", "wait",
    ];
    let first = command.split_whitespace().next().unwrap_or("");
    if command.contains(COMPOUND) || first.contains('=') || KEYWORDS.contains(&first) {
        command.to_owned()
    } else {
        format!("exec {command}")
    }
}

/// What an unrequested line is: a duplicate reply to the last seq, a reply
/// to some other seq, or text.
fn describe_extra(line: &[u8], last: u64) -> String {
    let text = String::from_utf8_lossy(line);
    let seq = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64));
    match seq {
        Some(s) if s == last => format!("a duplicate reply to seq {s}"),
        Some(s) => format!("an extra reply (seq {s}; the last command was seq {last})"),
        None => format!("an extra line {:?}", cut(&text, 200)),
    }
}

/// The last lines of the adapter's standard error, after waiting a short
/// while for the stream to end (it ends at once when the adapter died).
fn stderr_tail(tail: &SharedTail) -> String {
    let (lock, ended) = &**tail;
    let guard = lock.lock().expect("stderr tail lock is never poisoned");
    let (t, _) = ended
        .wait_timeout_while(guard, STDERR_GRACE, |t| !t.ended)
        .expect("stderr tail lock is never poisoned");
    if t.lines.is_empty() {
        "\n  (the adapter wrote nothing to stderr)".to_owned()
    } else {
        let mut s = String::from("\n  adapter stderr (last lines):");
        for l in &t.lines {
            s.push_str("\n    | ");
            s.push_str(l);
        }
        s
    }
}

/// `text` cut to `max` characters, with its full size when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} bytes in all)", text.len())
}

fn failed(message: String) -> BackendError {
    BackendError::Failed { message }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Hello { .. } => "hello",
        Command::Reset { .. } => "reset",
        Command::Reconfigure { .. } => "reconfigure",
        Command::Request { .. } => "request",
        Command::Cleanup { .. } => "cleanup",
        Command::List {} => "list",
        Command::Corrupt { .. } => "corrupt",
        Command::Open { .. } => "open",
        Command::Ops { .. } => "ops",
        Command::Finish { .. } => "finish",
        Command::Shutdown {} => "shutdown",
    }
}

fn kind(r: &Reply) -> &'static str {
    match r {
        Reply::Hello { .. } => "hello",
        Reply::Ok {} => "ok",
        Reply::Response { .. } => "response",
        Reply::Cleaned { .. } => "cleaned",
        Reply::Listed { .. } => "listed",
        Reply::Opened { .. } => "opened",
        Reply::Results { .. } => "results",
        Reply::Finished { .. } => "finished",
        Reply::Bye {} => "bye",
        Reply::Error { .. } => "error",
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
        self.expect_ok(Command::Reset {
            config: config.clone(),
        })
    }

    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.expect_ok(Command::Reconfigure {
            config: config.clone(),
        })
    }

    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        if request.https {
            self.need("https")?;
        }
        if matches!(request.auth, AuthAction::ChangeUser { .. }) {
            self.need("change-user")?;
        }
        match self.command(Command::Request {
            request: request.clone(),
        })? {
            Reply::Response { response } => Ok(response),
            other => Err(self.broken(format!("expected a response reply, got {}", kind(&other)))),
        }
    }

    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        if request.user.is_some() {
            self.need("cleanup-by-user")?;
        }
        match self.command(Command::Cleanup {
            cleanup: request.clone(),
        })? {
            Reply::Cleaned { outcome } => Ok(outcome),
            other => Err(self.broken(format!("expected a cleaned reply, got {}", kind(&other)))),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        match self.command(Command::List {})? {
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
        if request.https {
            self.need("https")?;
        }
        if matches!(request.auth, AuthAction::ChangeUser { .. }) {
            self.need("change-user")?;
        }
        match self.command(Command::Open {
            handle: handle.to_owned(),
            request: request.clone(),
        })? {
            Reply::Opened { opened } => Ok(opened),
            other => Err(self.broken(format!("expected an opened reply, got {}", kind(&other)))),
        }
    }

    fn ops(&mut self, handle: &str, ops: &[Op]) -> Result<Vec<Value>, BackendError> {
        self.need("interleave")?;
        match self.command(Command::Ops {
            handle: handle.to_owned(),
            ops: ops.to_vec(),
        })? {
            Reply::Results { results } => Ok(results),
            other => Err(self.broken(format!("expected a results reply, got {}", kind(&other)))),
        }
    }

    fn finish(&mut self, handle: &str, now: OffsetDateTime) -> Result<Finished, BackendError> {
        self.need("interleave")?;
        match self.command(Command::Finish {
            handle: handle.to_owned(),
            now,
        })? {
            Reply::Finished { finished } => Ok(finished),
            other => Err(self.broken(format!("expected a finished reply, got {}", kind(&other)))),
        }
    }

    fn end_run(&mut self) -> Result<(), BackendError> {
        self.shut_down()
    }

    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.need("corrupt")?;
        self.expect_ok(Command::Corrupt {
            sid: sid.to_owned(),
        })
    }
}
