//! Throughput of the adapter protocol: request cycles per second through a
//! real adapter process over stdin/stdout, against the same backend called
//! in-process, with the limit of the pipe measured in the same run (a line
//! of a request's size sent to `cat` and read back, one at a time).
//! Run with `cargo bench -p moin-session-conformance --bench adapter_pipe`.
//!
//! Three rounds, the contenders interleaved in each; the median round is
//! what to read. `MOIN_ADAPTER="<command>"` benchmarks another adapter;
//! `MOIN_BENCH_STEPS=N` changes the request cycles per measurement (50,000),
//! e.g. for a run under a profiler.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_spec::protocol::{Command as ProtocolCommand, Envelope};
use moin_session_spec::{Backend, MemoryStore, Model, Op, Profile, ReferenceBackend, Request};
use moin_session_testkit::requests::{config, login_every, request};
use time::macros::datetime;
use time::OffsetDateTime;

const ROUNDS: usize = 3;

/// Request cycles per measurement.
fn steps() -> usize {
    std::env::var("MOIN_BENCH_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000)
}

/// The `i`-th request cycle: a page view recording the trail, alice
/// logging in on every thousandth.
fn cycle(i: usize, now: OffsetDateTime, header: Option<String>) -> Request {
    let ops = vec![
        Op::Set {
            key: "trail".into(),
            value: serde_json::json!(["FrontPage", i]),
        },
        Op::Get {
            key: "trail".into(),
        },
    ];
    request(now, header, login_every(1000, i), ops)
}

fn drive(backend: &mut dyn Backend) -> Duration {
    let config = config(Profile::Moin19, &["alice"]);
    backend.reset(&config).expect("reset");
    let mut now = datetime!(2009-03-01 12:00:30 UTC);
    let mut header = None;
    let start = Instant::now();
    for i in 0..steps() {
        let response = backend
            .request(&cycle(i, now, header.clone()))
            .expect("a request cycle");
        if let Some(c) = response.set_cookies.first() {
            header = c.split(';').next().map(str::to_owned);
        }
        now += time::Duration::seconds(7);
    }
    start.elapsed()
}

/// The pipe's limit: `STEPS` round trips of one line as long as a request
/// command (with its cookie) through `cat`, written and read back one at a
/// time, as the runner and an adapter that did no work would.
fn pipe_limit() -> Duration {
    let header = Some(format!(
        "MOIN_SESSION_8080_ROOT={}",
        "0123456789abcdef".repeat(2)
    ));
    let command = ProtocolCommand::Request {
        request: cycle(1, datetime!(2009-03-01 12:00:30 UTC), header),
    };
    let mut line = serde_json::to_string(&Envelope {
        seq: 123_456,
        body: command,
    })
    .expect("a command serialises");
    line.push('\n');
    let mut cat = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cat starts");
    let mut to = cat.stdin.take().expect("piped");
    let mut from = BufReader::new(cat.stdout.take().expect("piped"));
    let mut back = String::with_capacity(line.len());
    let start = Instant::now();
    for _ in 0..steps() {
        to.write_all(line.as_bytes()).expect("cat reads");
        back.clear();
        from.read_line(&mut back).expect("cat writes");
        assert_eq!(back.len(), line.len(), "cat echoes the line");
    }
    let elapsed = start.elapsed();
    drop(to);
    cat.wait().expect("cat ends");
    elapsed
}

fn rate(d: Duration) -> f64 {
    steps() as f64 / d.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let adapter = std::env::var("MOIN_ADAPTER").unwrap_or_else(|_| {
        let exe = std::env::current_exe().expect("the bench's own path");
        let dir = exe
            .parent()
            .and_then(|p| p.parent())
            .expect("target/<profile>");
        dir.join("moin-session-adapter").display().to_string()
    });
    let mut piped = AdapterBackend::start(AdapterOptions {
        command: adapter.clone(),
        step_timeout: Duration::from_secs(10),
    })
    .unwrap_or_else(|e| {
        panic!("cannot start `{adapter}` (build it with `cargo build --release --bins`): {e}")
    });
    let names = [
        "model, in-process",
        "reference-memory, in-process",
        "behind the adapter, over the pipe",
        "the pipe's limit (a line to cat and back)",
    ];
    let mut rounds: Vec<[f64; 4]> = Vec::new();
    println!(
        "request cycles per measurement: {}; adapter: {adapter}",
        steps()
    );
    println!("round | {} | adapter / pipe limit", names.join(" | "));
    for round in 0..ROUNDS {
        let row = [
            rate(drive(&mut Model::new())),
            rate(drive(&mut ReferenceBackend::new(
                "reference-memory",
                MemoryStore::new(),
            ))),
            rate(drive(&mut piped)),
            rate(pipe_limit()),
        ];
        println!(
            "{round} | {:.0} | {:.0} | {:.0} | {:.0} steps/s | {:.0}%",
            row[0],
            row[1],
            row[2],
            row[3],
            100.0 * row[2] / row[3]
        );
        rounds.push(row);
    }
    println!("medians:");
    for (i, name) in names.iter().enumerate() {
        let m = median(rounds.iter().map(|r| r[i]).collect());
        println!("  {name:<42} {m:>9.0} steps/s");
    }
    let ratios = median(rounds.iter().map(|r| r[2] / r[3]).collect());
    println!(
        "  adapter / pipe limit (median of the rounds' ratios): {:.0}%",
        100.0 * ratios
    );
}
