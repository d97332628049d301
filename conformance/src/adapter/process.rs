//! The adapter's process: how it is started (directly, or through `sh -c`
//! when the command needs a shell), its standard output read line by line
//! in the runner's thread ([`super::lines`]), the last lines of its
//! standard error kept for failure messages, and how it is killed (its
//! whole process group).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use moin_session_spec::BackendError;

use super::lines::Lines;
use crate::lifecycle;
use crate::report::inert::visible;

/// How many lines of the adapter's standard error a failure message shows.
const STDERR_TAIL: usize = 20;

/// The longest stderr line a failure message shows, in characters.
const STDERR_LINE: usize = 300;

/// The most bytes of one standard-error line read at once.
const STDERR_PIECE: u64 = 64 << 10;

/// How long the runner waits for the adapter's standard error to end after
/// the adapter died or was killed, for the last lines.
const STDERR_GRACE: Duration = Duration::from_millis(300);

/// What the stderr reader has gathered: the last lines (decoded lossily),
/// and whether the stream has ended.
#[derive(Default)]
pub(super) struct StderrTail {
    lines: VecDeque<String>,
    ended: bool,
}

pub(super) type SharedTail = Arc<(Mutex<StderrTail>, Condvar)>;

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

/// A started adapter process and its output readers.
pub(super) struct Running {
    pub(super) child: Child,
    /// `None` once closed after `bye`.
    pub(super) stdin: Option<ChildStdin>,
    /// Its standard output, read when a reply is awaited.
    pub(super) lines: Lines,
    pub(super) stderr: SharedTail,
    pub(super) seq: u64,
}

/// Starts the adapter's process in a process group of its own, with its
/// standard output ready to be read line by line and a thread keeping the
/// last lines of its standard error.
pub(super) fn spawn(options: &AdapterOptions) -> Result<Running, BackendError> {
    let mut process = match direct_argv(&options.command) {
        Some(argv) => {
            let mut p = Process::new(&argv[0]);
            p.args(&argv[1..]);
            p
        }
        None => {
            let mut p = Process::new("sh");
            p.arg("-c").arg(shell_script(&options.command));
            p
        }
    };
    process
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Registered as it starts: an interrupted runner ends it too.
    let mut child = lifecycle::spawn_tracked(|| process.spawn())
        .map_err(|e| failed(format!("cannot start adapter `{}`: {e}", options.command)))?;
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stderr: SharedTail = Arc::default();
    let tail = Arc::clone(&stderr);
    thread::spawn(move || {
        // Drain to the end whatever the bytes are (an adapter blocked
        // on a full stderr pipe would hang), keeping the last lines.
        let mut reader = BufReader::new(stderr_pipe);
        loop {
            let mut line = Vec::new();
            // A line without end is taken in pieces: memory stays bounded.
            let mut bounded = (&mut reader).take(STDERR_PIECE);
            match bounded.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\n', '\r']);
                    let (lock, _) = &*tail;
                    let mut t = lock.lock().expect("stderr tail lock is never poisoned");
                    if t.lines.len() == STDERR_TAIL {
                        t.lines.pop_front();
                    }
                    // Shown, never obeyed: escapes and all.
                    t.lines.push_back(cut(&visible(text), STDERR_LINE));
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
        lines: Lines::new(stdout),
        stderr,
        seq: 0,
    })
}

/// Ends the adapter's whole process group (the `sh -c` wrapper, if any,
/// and whatever it started), so no hung adapter outlives its case:
/// `SIGTERM` first, so that it can remove what it made, then `SIGKILL`
/// ([`lifecycle::end_group`]); returns what it wrote last to its standard
/// error.
pub(super) fn kill(mut r: Running) -> String {
    // End of input first: an adapter that reads it ends on its own.
    r.stdin = None;
    lifecycle::end_group(&mut r.child);
    stderr_tail(&r.stderr)
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

/// The last lines of the adapter's standard error, after waiting a short
/// while for the stream to end (it ends at once when the adapter died).
pub(super) fn stderr_tail(tail: &SharedTail) -> String {
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
pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    format!("{head}… ({} bytes in all)", text.len())
}

pub(super) fn failed(message: String) -> BackendError {
    BackendError::Failed { message }
}
