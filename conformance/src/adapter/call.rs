//! One exchange with the adapter: a command written as a line of JSON, its
//! reply read within the step timeout and checked against the framing
//! rules (`r[proto.framing.*]`), and the shutdown at the end of a run
//! (`r[proto.command.shutdown]`).

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use moin_session_spec::protocol::{decode_reply, encode_line, Command, Envelope, Reply};
use moin_session_spec::{BackendError, Config, Request};
use serde::Serialize;

use super::lines::{Waited, MAX_REPLY};
use super::process::cut;
use super::{AdapterBackend, STEP_TIMEOUT};

/// How long the runner reads an exited adapter's standard output for a
/// line after its `bye`, waiting for the end of that output.
const STDOUT_END_GRACE: Duration = Duration::from_secs(1);

/// How long an adapter has to exit after its `bye` (`r[proto.command.shutdown]`).
const EXIT_GRACE: Duration = Duration::from_secs(3);

impl AdapterBackend {
    /// Takes a line that arrived when no command was waiting: a reply
    /// nobody asked for (`r[proto.framing.one-reply]`).
    pub(super) fn unrequested(&mut self) -> Option<BackendError> {
        let r = self.running.as_mut()?;
        let line = r.lines.ready()?;
        let what = describe_extra(&line, r.seq);
        Some(self.broken(extra_reply(&what)))
    }

    /// Sends one command and reads its reply; any breach of the framing
    /// rules marks the adapter broken.
    pub(super) fn call(&mut self, command: Command) -> Result<Reply, BackendError> {
        self.exchange(command_name(&command), &command)
    }

    /// Sends `body` (a [`Command`], or its [`Borrowed`] form) as command
    /// `name` and reads its reply, as [`call`](Self::call) does.
    pub(super) fn exchange<T: Serialize>(
        &mut self,
        name: &'static str,
        body: &T,
    ) -> Result<Reply, BackendError> {
        let timeout = self.options.step_timeout;
        if let Some(e) = self.unrequested() {
            return Err(e);
        }
        let r = self.running.as_mut().expect("call needs a running adapter");
        r.seq += 1;
        let seq = r.seq;
        // One write for the whole line: the pipe is not buffered.
        let line = encode_line(seq, body);
        let sent = match r.stdin.as_mut() {
            Some(stdin) => stdin.write_all(&line).and_then(|()| stdin.flush()),
            None => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        };
        if let Err(e) = sent {
            let how = exit_soon(&mut r.child);
            return Err(self.broken(format!(
                "cannot send `{name}` to the adapter: {e} (it has probably exited){how}"
            )));
        }
        let bytes = match r.lines.next(timeout) {
            Waited::Line(bytes) => bytes,
            Waited::Ended => {
                let how = exit_soon(&mut r.child);
                return Err(self.broken(format!(
                    "the adapter closed its standard output before answering `{name}` (seq {seq}){how}"
                )));
            }
            Waited::TimedOut => {
                return Err(self.broken(format!(
                    "the adapter did not answer `{name}` (seq {seq}) within {} ms, the {STEP_TIMEOUT} [r[proto.runner.timeout]]",
                    timeout.as_millis()
                )));
            }
        };
        if bytes.len() > MAX_REPLY {
            return Err(self.broken(format!(
                "the adapter's answer to `{name}` (seq {seq}) passed {} MiB without ending its line; a reply is one line of JSON, and the runner reads at most that much [r[proto.framing.json-lines]]",
                MAX_REPLY >> 20
            )));
        }
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
        let reply: Envelope<Reply> = match decode_reply(&text) {
            Ok(r) => r,
            Err(e) => {
                let shown = cut(&text, 200);
                return Err(self.broken(format!(
                    "the adapter's answer to `{name}` (seq {seq}) is not a protocol reply ({e}): {shown:?}"
                )));
            }
        };
        if reply.seq < seq {
            // Named as the check before sending names it: the same
            // misuse gives the same error whenever its line arrives.
            let what = describe_extra(text.as_bytes(), seq - 1);
            return Err(self.broken(extra_reply(&what)));
        }
        if reply.seq != seq {
            return Err(self.broken(format!(
                "the adapter answered seq {} when `{name}` (seq {seq}) was waiting [r[proto.framing.seq]]",
                reply.seq
            )));
        }
        Ok(reply.body)
    }

    /// `r[proto.command.shutdown]`: checks that nothing is left unread,
    /// asks for `bye`, and waits for a clean exit; the first problem is the
    /// error. The adapter is gone afterwards either way.
    pub(super) fn shut_down(&mut self) -> Result<(), BackendError> {
        if self.running.is_none() {
            return Ok(());
        }
        // A reply written after the last one needs a moment to arrive.
        thread::sleep(Duration::from_millis(20));
        if let Some(e) = self.unrequested() {
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
        // A loaded machine (many jobs, few cores) is slow to exit too.
        let grace = EXIT_GRACE.max(self.options.step_timeout);
        let deadline = Instant::now() + grace;
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
                        "the adapter said bye but had not exited {} s later; it was ended [r[proto.command.shutdown]]",
                        grace.as_secs_f64()
                    )))
                }
                _ => thread::sleep(Duration::from_millis(10)),
            }
        }
        // It has exited: whatever it wrote is in the pipe, before the end
        // of its output. Read to that end (bounded: something it started
        // may hold the pipe open), so a line after the bye is found
        // whatever the timing.
        if let Waited::Line(line) = r.lines.next(STDOUT_END_GRACE) {
            let what = describe_extra(&line, r.seq);
            return Err(self.broken(extra_reply(&what)));
        }
        self.kill();
        Ok(())
    }
}

/// The commands sent most often, with their payload borrowed rather than
/// copied into a [`Command`]: the same line as the [`Command`] of the same
/// name (a test checks it).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Borrowed<'a> {
    Reset { config: &'a Config },
    Reconfigure { config: &'a Config },
    Request { request: &'a Request },
}

impl Borrowed<'_> {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Borrowed::Reset { .. } => "reset",
            Borrowed::Reconfigure { .. } => "reconfigure",
            Borrowed::Request { .. } => "request",
        }
    }
}

/// The error of a line no command asked for, worded the same wherever it
/// is found (before the next command, in its place, after the bye), so
/// that a misuse is named the same whatever the timing.
fn extra_reply(what: &str) -> String {
    format!("the adapter sent {what}, which no command asked for [r[proto.framing.one-reply]]")
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

pub(super) fn command_name(c: &Command) -> &'static str {
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

pub(super) fn kind(r: &Reply) -> &'static str {
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

/// How a dying adapter ended, waiting a moment for it: `; it exited
/// (exit status: N)` or `; it is still running`.
fn exit_soon(child: &mut std::process::Child) -> String {
    let deadline = Instant::now() + Duration::from_millis(200);
    while Instant::now() < deadline {
        if let Ok(Some(s)) = child.try_wait() {
            return format!("; it exited ({s})");
        }
        thread::sleep(Duration::from_millis(5));
    }
    "; it is still running".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moin_session_spec::{AuthAction, ConfigPatch, Op, Profile};

    #[test]
    fn a_borrowed_command_is_the_line_of_its_command() {
        let request = Request {
            now: time::macros::datetime!(2009-03-01 12:00:30 UTC),
            https: true,
            path: "/Front\"Page\u{e9}".into(),
            cookie_header: Some("MOIN_SESSION_8080_ROOT=abc".into()),
            auth: AuthAction::Login {
                user: "alice".into(),
                remember_me: true,
            },
            ops: vec![Op::Set {
                key: "k".into(),
                value: serde_json::json!({"b": [1, "x"], "a": null}),
            }],
        };
        let borrowed = encode_line(7, &Borrowed::Request { request: &request });
        assert_eq!(Borrowed::Request { request: &request }.name(), "request");
        let owned = encode_line(7, &Command::Request { request });
        assert_eq!(String::from_utf8(borrowed), String::from_utf8(owned));
        for profile in Profile::ALL {
            let config = Config::build(*profile, &[ConfigPatch::default()]).expect("a config");
            assert_eq!(Borrowed::Reset { config: &config }.name(), "reset");
            assert_eq!(
                Borrowed::Reconfigure { config: &config }.name(),
                "reconfigure"
            );
            let borrowed = encode_line(8, &Borrowed::Reset { config: &config });
            let owned = encode_line(
                8,
                &Command::Reset {
                    config: config.clone(),
                },
            );
            assert_eq!(borrowed, owned);
            let borrowed = encode_line(9, &Borrowed::Reconfigure { config: &config });
            let owned = encode_line(9, &Command::Reconfigure { config });
            assert_eq!(borrowed, owned);
        }
    }
}
