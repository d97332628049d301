//! The adapter's side of the protocol, through the library's `serve` loop
//! and the real adapter binary; and coverage: every `proto.*` clause of
//! spec/protocol.md is cited by a test.

use std::io::Write;
use std::process::{Command, Stdio};

use moin_session_spec::protocol::{serve, Envelope, ErrorKind, Implementation, Reply};
use moin_session_spec::Model;

fn run(input: &str) -> Vec<Envelope<Reply>> {
    let mut out = Vec::new();
    let info = Implementation {
        name: "model".into(),
        version: "1".into(),
        language: "rust".into(),
        homepage: None,
    };
    serve(
        &mut Model::new(),
        info,
        &["corrupt"],
        input.as_bytes(),
        &mut out,
    )
    .unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

const RESET: &str = r#"{"seq":2,"type":"reset","config":{"profile":"moin-1.9","settings":{"cookie_lifetime":{"anonymous":1.0,"logged_in":12.0},"legacy_lifetime":false,"cookie_name":null,"cookie_path":null,"cookie_domain":null,"cookie_secure":null,"cookie_httponly":false,"site":{"server_port":8080,"script_root":"","siteid":"default"},"auth":["moin"],"users":["alice"],"disabled_users":[],"superusers":[]}}}"#;

/// r[proto.framing.one-reply], r[proto.framing.type], r[proto.framing.seq]
#[test]
fn one_reply_per_command_in_order_with_its_seq_and_type() {
    let input = format!(
        "{}\n{RESET}\n{}\n{}\n",
        r#"{"seq":1,"type":"hello","protocol":1}"#,
        r#"{"seq":3,"type":"request","request":{"now":"2009-03-01T12:00:30Z","https":false,"path":"/","cookie_header":null,"auth":"none","ops":[]}}"#,
        r#"{"seq":4,"type":"list"}"#
    );
    let replies = run(&input);
    let seqs: Vec<u64> = replies.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert!(matches!(replies[0].body, Reply::Hello { protocol: 2, .. }));
    assert!(matches!(replies[1].body, Reply::Ok {}));
    assert!(
        matches!(&replies[2].body, Reply::Response { response } if response.set_cookies.len() == 1)
    );
    assert!(matches!(&replies[3].body, Reply::Listed { sids } if sids.is_empty()));
}

/// r[proto.errors.unknown-message], r[proto.errors.reply]
#[test]
fn an_unknown_message_is_declined_and_serving_goes_on() {
    let input = format!(
        "{}\n{}\n{RESET}\n",
        r#"{"seq":1,"type":"hello","protocol":1}"#, r#"{"seq":2,"type":"frobnicate","x":1}"#
    )
    .replace(
        "\"seq\":2,\"type\":\"reset\"",
        "\"seq\":3,\"type\":\"reset\"",
    );
    let replies = run(&input);
    assert_eq!(replies[1].seq, 2);
    match &replies[1].body {
        Reply::Error { kind, message } => {
            assert_eq!(*kind, ErrorKind::UnknownMessage);
            assert!(message.contains("frobnicate"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(replies[2].body, Reply::Ok {}), "still serving");
}

/// r[proto.errors.kinds]: a backend error travels as its kind.
#[test]
fn backend_errors_travel_as_error_replies() {
    let input = format!(
        "{}\n{}\n",
        r#"{"seq":1,"type":"hello","protocol":1}"#, r#"{"seq":2,"type":"list"}"#
    );
    let replies = run(&input);
    // The model was never reset: invalid input.
    assert!(matches!(
        replies[1].body,
        Reply::Error {
            kind: ErrorKind::InvalidInput,
            ..
        }
    ));
}

/// r[proto.command.shutdown]
#[test]
fn shutdown_answers_bye_and_the_adapter_exits_0() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_moin-session-adapter"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(
            b"{\"seq\":1,\"type\":\"hello\",\"protocol\":1}\n{\"seq\":2,\"type\":\"shutdown\"}\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().last(), Some(r#"{"seq":2,"type":"bye"}"#));
}

#[test]
fn every_protocol_clause_is_cited_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = std::fs::read_to_string(root.join("../spec/protocol.md")).unwrap();
    let ids: Vec<&str> = spec
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("r[")
                .and_then(|l| l.strip_suffix(']'))
        })
        .collect();
    assert!(ids.len() >= 20, "{ids:?}");
    let mut tests = String::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        tests.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let uncited: Vec<&&str> = ids
        .iter()
        .filter(|id| !tests.contains(&format!("r[{id}]")))
        .collect();
    assert!(
        uncited.is_empty(),
        "protocol clauses no test cites: {uncited:?}"
    );
}

/// r[proto.interleave.open], r[proto.interleave.ops],
/// r[proto.interleave.finish], r[proto.interleave.unknown-handle]: a
/// request opened under a handle answers without headers, takes more ops,
/// and gives its headers at the finish; an unknown or reused handle is
/// invalid input, and serving goes on.
#[test]
fn an_open_request_takes_ops_and_finishes_later() {
    let open = |seq: u32, handle: &str| {
        format!(
            r#"{{"seq":{seq},"type":"open","handle":"{handle}","request":{{"now":"2009-03-01T12:00:30Z","https":false,"path":"/","cookie_header":null,"auth":"none","ops":[{{"get":{{"key":"k"}}}}]}}}}"#
        )
    };
    let input = [
        r#"{"seq":1,"type":"hello","protocol":2}"#.to_owned(),
        RESET.to_owned(),
        open(3, "A"),
        open(4, "A"),
        r#"{"seq":5,"type":"ops","handle":"A","ops":[{"set":{"key":"k","value":1}},{"get":{"key":"k"}}]}"#
            .to_owned(),
        r#"{"seq":6,"type":"finish","handle":"A","now":"2009-03-01T12:01:30Z"}"#.to_owned(),
        r#"{"seq":7,"type":"finish","handle":"A","now":"2009-03-01T12:01:30Z"}"#.to_owned(),
        r#"{"seq":8,"type":"ops","handle":"B","ops":[]}"#.to_owned(),
    ]
    .join("\n")
        + "\n";
    let replies = run(&input);
    let seqs: Vec<u64> = replies.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(
        matches!(&replies[2].body, Reply::Opened { opened } if opened.new && opened.results == [serde_json::Value::Null]),
        "{:?}",
        replies[2]
    );
    for i in [3, 6, 7] {
        assert!(
            matches!(
                &replies[i].body,
                Reply::Error {
                    kind: ErrorKind::InvalidInput,
                    ..
                }
            ),
            "{:?}",
            replies[i]
        );
    }
    assert!(
        matches!(&replies[4].body, Reply::Results { results } if *results == [serde_json::json!(1)]),
        "{:?}",
        replies[4]
    );
    // Finalized at the finish's instant: 12:01 plus the anonymous hour.
    assert!(
        matches!(&replies[5].body, Reply::Finished { finished }
            if finished.set_cookies.len() == 1
                && finished.set_cookies[0].contains("Expires=Sun, 01 Mar 2009 13:01:00 GMT")),
        "{:?}",
        replies[5]
    );
}
