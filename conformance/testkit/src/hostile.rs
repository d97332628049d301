//! Support for the hostile-backend tests: the processes a run left
//! behind, signals, waiting for a run to reach the moment a test is about
//! ([`wait_ready`], never a fixed sleep), and a raw look at a Redis server
//! (and, for their convenience, [`Scratch`] directories).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

pub use crate::scratch::Scratch;

/// The command lines of the live processes whose environment holds
/// `marker` (a `NAME=value` the test gave the runner, which every adapter
/// it starts inherits), zombies left out.
pub fn processes_with_env(marker: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // The state follows the command name in parentheses.
            let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        })
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
                .unwrap_or(false)
        })
        .map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmd).replace('\0', " ")
        })
        .collect()
}

/// A `NAME=value` marker unique to this test process and `name`.
pub fn marker(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("MOIN_HOSTILE_MARK={name}-{}-{nanos}", std::process::id())
}

/// Sends `signal` to `child`.
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("a pid fits an i32");
    // SAFETY: kill(2) on a child of ours; it touches no memory of ours.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// How long [`wait_ready`] waits: generous, for a loaded two-core machine
/// starting debug builds; reached only when something is broken.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// Polls `ready` until it holds, while `child` (a run) goes on. An error
/// names `what` was awaited when the run ended first, or when
/// [`READY_WITHIN`] passed; the caller ends the run and shows its output.
pub fn wait_ready(
    child: &mut Child,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        match child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => return Err(format!("the run ended ({status}) before {what}")),
            Err(e) => return Err(format!("cannot watch the run for {what}: {e}")),
        }
        if started.elapsed() > READY_WITHIN {
            return Err(format!("no {what} within {READY_WITHIN:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many lines of the file at `path` hold `needle` (0 while there is no
/// such file): an adapter started with `2>>path` says there what it does.
pub fn lines_holding(path: &Path, needle: &str) -> usize {
    std::fs::read(path)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .filter(|l| l.contains(needle))
                .count()
        })
        .unwrap_or(0)
}

/// The number of keys in database 0 of the Redis server on `port` (a
/// raw `DBSIZE`, so the test needs no client of its own).
pub fn redis_dbsize(port: u16) -> Result<u64, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"*1\r\n$6\r\nDBSIZE\r\n")
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).map_err(|e| e.to_string())?;
    let reply = String::from_utf8_lossy(&buf[..n]);
    reply
        .trim()
        .strip_prefix(':')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unexpected DBSIZE reply {reply:?}"))
}
