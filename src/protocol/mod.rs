//! The adapter protocol: the [`Backend`](crate::Backend) trait, serialised
//! as JSON lines, so that a backend in any language can be checked.
//!
//! Implements the message shapes of `spec/protocol.md` (`r[proto.*]`). The
//! runner writes one [`Command`] per line to the adapter's standard input;
//! the adapter answers each with exactly one [`Reply`] line on its standard
//! output, carrying the same `seq`. The payloads are the very types the
//! trait uses: [`Config`], [`Request`], [`Response`], [`CleanupRequest`],
//! [`CleanupOutcome`].
//!
//! ```
//! use moin_session_spec::protocol::{Command, Envelope, PROTOCOL_VERSION};
//! let line = serde_json::to_string(&Envelope { seq: 1, body: Command::Hello { protocol: PROTOCOL_VERSION } }).unwrap();
//! assert_eq!(line, r#"{"seq":1,"type":"hello","protocol":2}"#);
//! let back: Envelope<Command> = serde_json::from_str(&line).unwrap();
//! assert_eq!(back.seq, 1);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::Config;
use crate::exchange::{CleanupOutcome, CleanupRequest, Finished, Op, Opened, Request, Response};
use crate::profile::Profile;

mod serve;

pub use serve::serve;

/// The protocol version this crate speaks (`r[proto.handshake.version]`).
/// Version 2 added overlapping requests (`open`, `ops`, `finish`, capability
/// `interleave`).
pub const PROTOCOL_VERSION: u32 = 2;

/// Every protocol version the runner accepts from an adapter: version 1
/// adapters run everything but overlapping requests.
pub const SUPPORTED_VERSIONS: &[u32] = &[1, 2];

/// A message with its sequence number (`r[proto.framing.seq]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The runner numbers commands 1, 2, 3, …; a reply repeats its
    /// command's number.
    pub seq: u64,
    /// The message.
    #[serde(flatten)]
    pub body: T,
}

/// What the runner sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The first message: the runner's protocol version.
    Hello {
        /// The version the runner speaks.
        protocol: u32,
    },
    /// Forget everything and take this configuration.
    Reset {
        /// The configuration.
        config: Config,
    },
    /// Take this configuration, keep the store and user preferences.
    Reconfigure {
        /// The configuration.
        config: Config,
    },
    /// One request cycle.
    Request {
        /// The request, with its injected `now`.
        request: Request,
    },
    /// A cleanup run.
    Cleanup {
        /// The cleanup, with its injected `now`.
        cleanup: CleanupRequest,
    },
    /// List the stored session ids.
    List {},
    /// Make a stored record unreadable (capability `corrupt`).
    Corrupt {
        /// The record's id.
        sid: String,
    },
    /// Open a request that finishes later (protocol 2, capability
    /// `interleave`): load, authentication and its ops at `request.now`.
    Open {
        /// The handle the runner will name the request by.
        handle: String,
        /// The request.
        request: Request,
    },
    /// More application code in an open request (capability `interleave`).
    Ops {
        /// The open request's handle.
        handle: String,
        /// The ops.
        ops: Vec<Op>,
    },
    /// Finish an open request at `now` (capability `interleave`).
    Finish {
        /// The open request's handle.
        handle: String,
        /// The instant of the finish.
        #[serde(with = "time::serde::rfc3339")]
        now: OffsetDateTime,
    },
    /// The last message: answer `bye` and exit.
    Shutdown {},
}

/// Who the adapter is, sent in its `hello` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    /// The implementation's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The language it is written in.
    pub language: String,
    /// Where to read about it.
    #[serde(default)]
    pub homepage: Option<String>,
}

/// What the adapter answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// The answer to `hello`.
    Hello {
        /// The protocol version the adapter speaks.
        protocol: u32,
        /// Who it is.
        implementation: Implementation,
        /// The profiles it implements.
        profiles: Vec<Profile>,
        /// Optional abilities, e.g. `corrupt`, `cleanup-by-user`,
        /// `change-user`, `https`.
        #[serde(default)]
        capabilities: Vec<String>,
        /// The configuration settings it limits, each to the values it
        /// supports (`r[proto.handshake.configurations]`); absent: none.
        #[serde(default, skip_serializing_if = "crate::ConfigSupport::is_empty")]
        configurations: crate::ConfigSupport,
    },
    /// Done (reset, reconfigure, corrupt).
    Ok {},
    /// The answer to `request`.
    Response {
        /// The response.
        response: Response,
    },
    /// The answer to `cleanup`.
    Cleaned {
        /// What was removed.
        outcome: CleanupOutcome,
    },
    /// The answer to `list`.
    Listed {
        /// Every stored session id.
        sids: Vec<String>,
    },
    /// The answer to `open`.
    Opened {
        /// What load, authentication and the open's ops gave.
        opened: Opened,
    },
    /// The answer to `ops`.
    Results {
        /// One result per op that yields.
        results: Vec<Value>,
    },
    /// The answer to `finish`.
    Finished {
        /// The response's headers.
        finished: Finished,
    },
    /// The answer to `shutdown`.
    Bye {},
    /// The command could not be carried out.
    Error {
        /// `unsupported`, `invalid-input`, `failed` or `unknown-message`.
        kind: ErrorKind,
        /// What happened, for people.
        message: String,
    },
}

/// Why an adapter could not carry out a command (`r[proto.errors.kinds]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The backend does not offer this; the case is skipped.
    Unsupported,
    /// The command was malformed for this backend.
    InvalidInput,
    /// The backend failed.
    Failed,
    /// The adapter does not know this message type.
    UnknownMessage,
}

/// The capability names the runner knows (`r[proto.handshake.capabilities]`).
pub const CAPABILITIES: &[&str] = &[
    "corrupt",
    "cleanup-by-user",
    "change-user",
    "https",
    "interleave",
];

/// One message as the line that carries it, `\n` included: the bytes of
/// `serde_json::to_string(&Envelope { seq, body })` and a newline, written
/// without serde's buffering of the flattened body.
pub fn encode_line<T: Serialize>(seq: u64, body: &T) -> Vec<u8> {
    // The body is written after the seq, in one buffer; its opening `{`
    // then becomes the `,` after the seq (or goes, for an empty body).
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(b"{\"seq\":");
    line.extend_from_slice(seq.to_string().as_bytes());
    let at = line.len();
    serde_json::to_writer(&mut line, body).expect("protocol messages serialise");
    match &line[at..] {
        b"{}" => {
            line.truncate(at);
            line.push(b'}');
        }
        [b'{', ..] => line[at] = b',',
        _ => panic!("a protocol message serialises as a JSON object"),
    }
    line.push(b'\n');
    line
}

/// A reply line: what `serde_json::from_str::<Envelope<Reply>>` gives,
/// taken the short way ([`compact_body`]) when the line is compact.
pub fn decode_reply(line: &str) -> Result<Envelope<Reply>, serde_json::Error> {
    if let Some((seq, value)) = compact(line, "response", "response") {
        if let Ok(response) = serde_json::from_str(value) {
            let body = Reply::Response { response };
            return Ok(Envelope { seq, body });
        }
    }
    if let Some((seq, Ok(body))) = compact_body(line) {
        return Ok(Envelope { seq, body });
    }
    serde_json::from_str(line)
}

/// The short way to a message written compactly, `seq` first: `{"seq":N,`
/// and the rest, read as the body alone (`{` and the rest), which is what
/// the flattened envelope reads too, without buffering it twice. `None`
/// when the line does not start so; the caller takes the general way when
/// the body does not read either, so that its error is the general one.
fn compact_body<T: serde::de::DeserializeOwned>(
    line: &str,
) -> Option<(u64, Result<T, serde_json::Error>)> {
    let (seq, rest) = compact_seq(line)?;
    let body = rest.strip_prefix(',')?;
    Some((seq, serde_json::from_str(&format!("{{{body}"))))
}

/// `{"seq":N,"type":"<kind>","<field>":<value>}` with nothing else, no
/// space around the first keys: `N` and the text of `<value>`.
fn compact<'a>(line: &'a str, kind: &str, field: &str) -> Option<(u64, &'a str)> {
    let (seq, rest) = compact_seq(line)?;
    let rest = rest
        .strip_prefix(r#","type":""#)?
        .strip_prefix(kind)?
        .strip_prefix(r#"",""#)?
        .strip_prefix(field)?
        .strip_prefix(r#"":"#)?;
    Some((seq, rest.strip_suffix('}')?))
}

/// `{"seq":N` at the start of `line`, `N` a JSON integer that fits a
/// `u64`: `N` and what follows it.
fn compact_seq(line: &str) -> Option<(u64, &str)> {
    let rest = line.strip_prefix(r#"{"seq":"#)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (number, rest) = rest.split_at(digits);
    if number.is_empty() || (number.len() > 1 && number.starts_with('0')) {
        return None;
    }
    Some((number.parse().ok()?, rest))
}

#[cfg(test)]
mod tests {
    use super::serve::decode;
    use super::*;
    use crate::{AuthAction, ConfigPatch};

    #[test]
    fn commands_and_replies_round_trip() {
        let config = Config::build(Profile::Moin19, &[ConfigPatch::default()]).unwrap();
        let commands = vec![
            Command::Hello { protocol: 1 },
            Command::Reset {
                config: config.clone(),
            },
            Command::Reconfigure { config },
            Command::Reset {
                config: Config::build(Profile::Moin16, &[ConfigPatch::default()]).unwrap(),
            },
            Command::Reconfigure {
                config: Config::build(Profile::Hardened, &[ConfigPatch::default()]).unwrap(),
            },
            Command::Cleanup {
                cleanup: crate::CleanupRequest {
                    now: time::macros::datetime!(2009-03-01 12:00:30 UTC),
                    mode: crate::CleanupMode::Expired,
                    user: Some("alice".into()),
                },
            },
            Command::Corrupt { sid: "x".into() },
            Command::Request {
                request: Request {
                    now: time::macros::datetime!(2009-03-01 12:00:30 UTC),
                    https: false,
                    path: "/".into(),
                    cookie_header: None,
                    auth: AuthAction::Login {
                        user: "alice".into(),
                        remember_me: true,
                    },
                    ops: vec![],
                },
            },
            Command::List {},
            Command::Open {
                handle: "A".into(),
                request: Request {
                    now: time::macros::datetime!(2009-03-01 12:00:30 UTC),
                    https: false,
                    path: "/".into(),
                    cookie_header: Some("MOIN_SESSION_8080_ROOT=x".into()),
                    auth: AuthAction::Logout,
                    ops: vec![],
                },
            },
            Command::Ops {
                handle: "A".into(),
                ops: vec![crate::Op::Get { key: "k".into() }],
            },
            Command::Finish {
                handle: "A".into(),
                now: time::macros::datetime!(2009-03-01 12:01:30 UTC),
            },
            Command::Shutdown {},
        ];
        for (i, c) in commands.into_iter().enumerate() {
            let e = Envelope {
                seq: i as u64 + 1,
                body: c,
            };
            let line = serde_json::to_string(&e).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(
                encode_line(e.seq, &e.body),
                format!("{line}\n").into_bytes()
            );
            let back: Envelope<Command> = serde_json::from_str(&line).unwrap();
            assert_eq!(back, e, "{line}");
        }
        for (seq, body) in [(1, Reply::Ok {}), (u64::MAX, Reply::Bye {})] {
            let line = serde_json::to_string(&Envelope { seq, body: &body }).unwrap();
            assert_eq!(encode_line(seq, &body), format!("{line}\n").into_bytes());
        }
        // An empty body (no message is one) still makes a whole object.
        assert_eq!(
            encode_line(4, &serde_json::json!({})),
            b"{\"seq\":4}\n".to_vec()
        );
        let reply: Envelope<Reply> = serde_json::from_str(
            r#"{"seq":3,"type":"error","kind":"unknown-message","message":"what is frobnicate?"}"#,
        )
        .unwrap();
        assert_eq!(reply.seq, 3);
        assert!(matches!(
            reply.body,
            Reply::Error {
                kind: ErrorKind::UnknownMessage,
                ..
            }
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let bad = serde_json::from_str::<Envelope<Reply>>(r#"{"seq":1,"type":"ok","extra":1}"#);
        assert!(bad.is_err());
    }

    /// The short ways (a compact `request` command, a compact `response` or
    /// `ok` reply) give what the general way gives, and anything off the
    /// compact form (spaces, other keys, keys in another order, a seq with
    /// a leading zero or too large) takes the general way.
    #[test]
    fn the_short_ways_agree_with_the_general_way() {
        let request = Request {
            now: time::macros::datetime!(2009-03-01 12:00:30.5 UTC),
            https: true,
            path: "/wiki/\"Front\\Page\" \u{e9}\u{1f600}".into(),
            cookie_header: Some("A=\"b\"; MOIN_SESSION=x\u{1}".into()),
            auth: AuthAction::ChangeUser {
                to: "b\u{f6}b".into(),
            },
            ops: vec![
                crate::Op::Set {
                    key: "k".into(),
                    value: serde_json::json!({"a": [1, -2, 3.25, 1e300, null, "\u{0}"]}),
                },
                crate::Op::Get { key: "k".into() },
            ],
        };
        let line = serde_json::to_string(&Envelope {
            seq: 7,
            body: Command::Request { request },
        })
        .unwrap();
        let general = |line: &str| {
            let value: Value = serde_json::from_str(line).ok()?;
            let envelope = serde_json::from_value::<Envelope<Command>>(value).ok()?;
            Some((envelope.seq, envelope.body))
        };
        assert!(compact(&line, "request", "request").is_some(), "{line}");
        assert_eq!(decode(&line).ok(), general(&line));
        for other in [
            line.replacen(r#"{"seq":7,"#, r#"{ "seq":7,"#, 1),
            line.replacen(r#"{"seq":7,"#, r#"{"seq":07,"#, 1),
            line.replacen(r#"{"seq":7,"#, r#"{"seq":18446744073709551616,"#, 1),
            format!("{}, \"extra\": 1}}", &line[..line.len() - 1]),
            format!("{line} "),
            line.replacen(r#""type":"request","#, "", 1)
                .replacen('{', r#"{"type":"request","#, 1),
        ] {
            assert_eq!(decode(&other).ok(), general(&other), "{other}");
        }
        for profile in Profile::ALL {
            let config = Config::build(*profile, &[ConfigPatch::default()]).unwrap();
            for body in [
                Command::Reset {
                    config: config.clone(),
                },
                Command::Reconfigure { config },
            ] {
                let line = serde_json::to_string(&Envelope { seq: 8, body }).unwrap();
                let kind = if line.contains(r#""type":"reset""#) {
                    "reset"
                } else {
                    "reconfigure"
                };
                assert!(compact(&line, kind, "config").is_some(), "{line}");
                assert_eq!(decode(&line).ok(), general(&line));
                let extra = format!("{}, \"extra\": 1}}", &line[..line.len() - 1]);
                assert_eq!(decode(&extra).ok(), general(&extra), "{extra}");
                assert!(decode(&extra).is_err(), "{extra}");
            }
        }
        let response = Response {
            new: true,
            user: Some("\u{e9}ve".into()),
            set_cookies: vec!["MOIN_SESSION=\"x\"; Path=/".into()],
            results: vec![serde_json::json!([1.5, {"a": null}]), Value::Null],
            cache_control: Some("no-cache".into()),
        };
        for body in [
            Reply::Response { response },
            Reply::Ok {},
            Reply::Listed { sids: vec![] },
        ] {
            let line = serde_json::to_string(&Envelope { seq: 9, body }).unwrap();
            let fast = decode_reply(&line).unwrap();
            assert_eq!(
                fast,
                serde_json::from_str::<Envelope<Reply>>(&line).unwrap()
            );
            assert_eq!(encode_line(9, &fast.body), format!("{line}\n").into_bytes());
        }
        for odd in [
            r#"{"seq":9,"type":"ok","extra":1}"#,
            r#"{"seq":09,"type":"ok"}"#,
            r#"{"seq":9,"type":"response","response":{"new":true},"x":1}"#,
        ] {
            assert!(decode_reply(odd).is_err(), "{odd}");
        }
    }
}
