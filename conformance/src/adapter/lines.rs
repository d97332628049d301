//! The adapter's standard output as lines, read in the runner's own thread:
//! `poll(2)` waits for the pipe with the step timeout, `read(2)` takes
//! whatever is there, and complete lines are cut from a buffer. No reader
//! thread, no channel: a reply costs the two system calls the pipe needs
//! and no thread wake-up.
//!
//! A line is the bytes before a `\n` (a `\r` before it is dropped too); a
//! last line that the adapter ended without `\n` is a line when the stream
//! ends. Bytes, not text: an invalid byte is the caller's error to name.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::process::ChildStdout;
use std::time::{Duration, Instant};

/// The longest reply line read from an adapter, in bytes (the largest a
/// corpus reply needs is well under a megabyte): a longer one is passed on
/// cut to one byte more, for the call to name, and nothing more is read,
/// so memory stays bounded whatever the adapter writes.
pub(super) const MAX_REPLY: usize = 16 << 20;

/// The largest read from the pipe at a time.
const CHUNK: usize = 64 * 1024;

/// What waiting for a line gave.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Waited {
    /// A whole line, without its line ending.
    Line(Vec<u8>),
    /// The stream ended (the adapter closed its standard output or exited).
    Ended,
    /// Nothing whole arrived in time.
    TimedOut,
}

/// The adapter's standard output and what has been read of it.
pub(super) struct Lines {
    pipe: ChildStdout,
    /// Where a read lands before its bytes join `buffer`.
    chunk: Box<[u8]>,
    /// Bytes read and not yet returned, from `start`.
    buffer: Vec<u8>,
    start: usize,
    /// How far `buffer[start..]` is known to hold no `\n`.
    scanned: usize,
    ended: bool,
}

impl Lines {
    pub(super) fn new(pipe: ChildStdout) -> Lines {
        Lines {
            pipe,
            chunk: vec![0; CHUNK].into_boxed_slice(),
            buffer: Vec::new(),
            start: 0,
            scanned: 0,
            ended: false,
        }
    }

    /// The next line, waiting at most `timeout` for it.
    pub(super) fn next(&mut self, timeout: Duration) -> Waited {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if let Some(line) = self.take_line() {
                return Waited::Line(line);
            }
            if self.ended {
                return Waited::Ended;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() || !self.wait(left) {
                // One last look: the deadline may have passed while the
                // line was arriving.
                if self.wait(Duration::ZERO) {
                    self.fill();
                    if let Some(line) = self.take_line() {
                        return Waited::Line(line);
                    }
                    if self.ended {
                        return Waited::Ended;
                    }
                }
                return Waited::TimedOut;
            }
            self.fill();
        }
    }

    /// A line that has already arrived, without waiting; `None` when none
    /// is whole yet (or the stream ended with nothing left).
    pub(super) fn ready(&mut self) -> Option<Vec<u8>> {
        if let Some(line) = self.take_line() {
            return Some(line);
        }
        while !self.ended && self.wait(Duration::ZERO) {
            self.fill();
            if let Some(line) = self.take_line() {
                return Some(line);
            }
        }
        None
    }

    /// Cuts the next whole line from the buffer; at the end of the stream,
    /// what is left is the last line.
    fn take_line(&mut self) -> Option<Vec<u8>> {
        let pending = &self.buffer[self.start..];
        let found = pending[self.scanned..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| self.scanned + i);
        let line = match found {
            Some(i) => {
                let mut line = pending[..i].to_vec();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.start += i + 1;
                line
            }
            None if pending.len() > MAX_REPLY => {
                let line = pending[..=MAX_REPLY].to_vec();
                self.start = self.buffer.len();
                self.ended = true;
                line
            }
            None if self.ended && !pending.is_empty() => {
                let line = pending.to_vec();
                self.start = self.buffer.len();
                line
            }
            None => {
                self.scanned = pending.len();
                return None;
            }
        };
        self.scanned = 0;
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        Some(line)
    }

    /// Whether the pipe is readable (data or its end) within `timeout`.
    fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            // Whole milliseconds, rounded up, so a short wait is not a spin.
            let ms = left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
            let mut fd = libc::pollfd {
                fd: self.pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd that lives across the call; poll(2) writes
            // only its `revents`.
            let n = unsafe { libc::poll(&mut fd, 1, ms) };
            if n > 0 {
                return true;
            }
            if n == 0 {
                return false;
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                // A descriptor poll cannot watch: let the read say what it is.
                return true;
            }
        }
    }

    /// Reads what the pipe holds (it is readable: the read does not block).
    fn fill(&mut self) {
        if self.start > 0 && self.start * 2 >= self.buffer.len() {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        loop {
            match self.pipe.read(&mut self.chunk) {
                Ok(0) => {
                    self.ended = true;
                    return;
                }
                Ok(n) => {
                    self.buffer.extend_from_slice(&self.chunk[..n]);
                    return;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.ended = true;
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};

    fn sh(script: &str) -> (Child, Lines) {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sh starts");
        let lines = Lines::new(child.stdout.take().expect("piped"));
        (child, lines)
    }

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn lines_lose_their_endings_and_a_last_unended_line_counts() {
        let (mut child, mut lines) = sh(r"printf 'one\ntwo\r\n\nlast'");
        assert_eq!(lines.next(LONG), Waited::Line(b"one".to_vec()));
        assert_eq!(lines.next(LONG), Waited::Line(b"two".to_vec()));
        assert_eq!(lines.next(LONG), Waited::Line(Vec::new()));
        assert_eq!(lines.next(LONG), Waited::Line(b"last".to_vec()));
        assert_eq!(lines.next(LONG), Waited::Ended);
        assert_eq!(lines.next(LONG), Waited::Ended);
        child.wait().expect("sh ends");
    }

    #[test]
    fn a_line_split_across_writes_is_one_line() {
        let (mut child, mut lines) = sh(r"printf 'hal'; sleep 0.1; printf 'f\nnext\n'");
        assert_eq!(lines.next(LONG), Waited::Line(b"half".to_vec()));
        assert_eq!(lines.ready(), Some(b"next".to_vec()));
        child.wait().expect("sh ends");
    }

    #[test]
    fn nothing_in_time_is_a_timeout_and_the_line_still_comes() {
        let (mut child, mut lines) = sh(r"sleep 0.5; printf 'late\n'");
        assert_eq!(lines.ready(), None);
        assert_eq!(lines.next(Duration::from_millis(50)), Waited::TimedOut);
        assert_eq!(lines.next(LONG), Waited::Line(b"late".to_vec()));
        child.wait().expect("sh ends");
    }

    #[test]
    fn a_partial_line_is_not_ready_until_the_stream_ends() {
        let (mut child, mut lines) = sh(r"printf 'part'; sleep 0.3");
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(lines.ready(), None);
        child.wait().expect("sh ends");
        assert_eq!(lines.ready(), Some(b"part".to_vec()));
        assert_eq!(lines.ready(), None);
    }
}
