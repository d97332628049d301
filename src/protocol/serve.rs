//! Serving a backend over the protocol: the adapter side of each line.

use super::{
    compact, compact_body, encode_line, Command, Envelope, ErrorKind, Implementation, Reply,
    PROTOCOL_VERSION,
};

/// Serves `backend` over the protocol: reads commands from `input`, one per
/// line, and writes one reply per command to `output`, until `shutdown` or
/// the end of the input. This is all a Rust backend needs to become an
/// adapter.
///
/// A line that is not a command of this protocol is answered with an
/// `error` (`unknown-message` when its `type` is unknown,
/// `r[proto.errors.unknown-message]`), and serving goes on.
///
/// ```
/// use moin_session_spec::protocol::serve;
/// use moin_session_spec::Model;
/// let input = b"{\"seq\":1,\"type\":\"hello\",\"protocol\":1}\n{\"seq\":2,\"type\":\"frobnicate\"}\n{\"seq\":3,\"type\":\"shutdown\"}\n";
/// let mut output = Vec::new();
/// let info = moin_session_spec::protocol::Implementation {
///     name: "model".into(), version: "1".into(), language: "rust".into(), homepage: None,
/// };
/// serve(&mut Model::new(), info, &[], &input[..], &mut output).unwrap();
/// let lines: Vec<&str> = std::str::from_utf8(&output).unwrap().lines().collect();
/// assert!(lines[0].starts_with(r#"{"seq":1,"type":"hello","protocol":2"#));
/// assert!(lines[1].contains(r#""kind":"unknown-message""#));
/// assert_eq!(lines[2], r#"{"seq":3,"type":"bye"}"#);
/// ```
pub fn serve(
    backend: &mut dyn crate::Backend,
    implementation: Implementation,
    capabilities: &[&str],
    input: impl std::io::BufRead,
    mut output: impl std::io::Write,
) -> std::io::Result<()> {
    let hello = Reply::Hello {
        protocol: PROTOCOL_VERSION,
        implementation,
        profiles: backend.info().profiles,
        capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
        configurations: backend.capabilities().configurations,
    };
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (seq, body) = match decode(&line) {
            Ok((seq, Command::Shutdown {})) => {
                write_reply(&mut output, seq, Reply::Bye {})?;
                return Ok(());
            }
            Ok((seq, command)) => (seq, answer(backend, &hello, command)),
            Err((seq, kind, message)) => (seq, Reply::Error { kind, message }),
        };
        write_reply(&mut output, seq, body)?;
    }
    Ok(())
}

/// One reply line, flushed at once.
fn write_reply(output: &mut impl std::io::Write, seq: u64, body: Reply) -> std::io::Result<()> {
    output.write_all(&encode_line(seq, &body))?;
    output.flush()
}

/// A command line as a command and its `seq`, or the error to reply
/// (`invalid-input` for what is not a command of this protocol,
/// `unknown-message` for an unknown `type`).
pub(super) fn decode(line: &str) -> Result<(u64, Command), (u64, ErrorKind, String)> {
    // Commands written compactly (as the runner writes them) go the short
    // way; a request's the shortest.
    if let Some((seq, value)) = compact(line, "request", "request") {
        if let Ok(request) = serde_json::from_str(value) {
            return Ok((seq, Command::Request { request }));
        }
    }
    // A configuration read as the body of its tagged command is buffered
    // first (serde's internally tagged enums): read it directly.
    if let Some((seq, value)) = compact(line, "reset", "config") {
        if let Ok(config) = serde_json::from_str(value) {
            return Ok((seq, Command::Reset { config }));
        }
    }
    if let Some((seq, value)) = compact(line, "reconfigure", "config") {
        if let Ok(config) = serde_json::from_str(value) {
            return Ok((seq, Command::Reconfigure { config }));
        }
    }
    if let Some((seq, Ok(command))) = compact_body(line) {
        return Ok((seq, command));
    }
    let error = |seq: u64, kind: ErrorKind, message: String| (seq, kind, message);
    let value: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| error(0, ErrorKind::InvalidInput, format!("not a JSON line: {e}")))?;
    let seq = value
        .get("seq")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let known = [
        "hello",
        "reset",
        "reconfigure",
        "request",
        "cleanup",
        "list",
        "corrupt",
        "open",
        "ops",
        "finish",
        "shutdown",
    ];
    let ty = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !known.contains(&ty.as_str()) {
        return Err(error(
            seq,
            ErrorKind::UnknownMessage,
            format!("unknown message type {ty:?}"),
        ));
    }
    serde_json::from_value::<Envelope<Command>>(value)
        .map(|envelope| (seq, envelope.body))
        .map_err(|e| {
            error(
                seq,
                ErrorKind::InvalidInput,
                format!("malformed {ty} command: {e}"),
            )
        })
}

/// The backend's answer to one command (not `shutdown`, which ends
/// serving).
fn answer(backend: &mut dyn crate::Backend, hello: &Reply, command: Command) -> Reply {
    use crate::BackendError;
    let to_reply = |r: Result<Reply, BackendError>| match r {
        Ok(reply) => reply,
        Err(BackendError::Unsupported { what }) => Reply::Error {
            kind: ErrorKind::Unsupported,
            message: what,
        },
        Err(BackendError::InvalidInput { message }) => Reply::Error {
            kind: ErrorKind::InvalidInput,
            message,
        },
        Err(other) => Reply::Error {
            kind: ErrorKind::Failed,
            message: other.to_string(),
        },
    };
    match command {
        Command::Hello { .. } => hello.clone(),
        Command::Reset { config } => to_reply(backend.reset(&config).map(|()| Reply::Ok {})),
        Command::Reconfigure { config } => {
            to_reply(backend.reconfigure(&config).map(|()| Reply::Ok {}))
        }
        Command::Request { request } => to_reply(
            backend
                .request(&request)
                .map(|response| Reply::Response { response }),
        ),
        Command::Cleanup { cleanup } => to_reply(
            backend
                .cleanup(&cleanup)
                .map(|outcome| Reply::Cleaned { outcome }),
        ),
        Command::List {} => to_reply(backend.list().map(|sids| Reply::Listed { sids })),
        Command::Corrupt { sid } => to_reply(backend.corrupt(&sid).map(|()| Reply::Ok {})),
        Command::Open { handle, request } => to_reply(
            backend
                .open(&handle, &request)
                .map(|opened| Reply::Opened { opened }),
        ),
        Command::Ops { handle, ops } => to_reply(
            backend
                .ops(&handle, &ops)
                .map(|results| Reply::Results { results }),
        ),
        Command::Finish { handle, now } => to_reply(
            backend
                .finish(&handle, now)
                .map(|finished| Reply::Finished { finished }),
        ),
        Command::Shutdown {} => Reply::Bye {},
    }
}
