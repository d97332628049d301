//! Throughput of the adapter protocol: request cycles per second through a
//! real adapter process over stdin/stdout, against the same backend called
//! in-process. Run with `cargo bench -p moin-session-conformance --bench adapter_pipe`.

use std::time::{Duration, Instant};

use moin_session_conformance::adapter::{AdapterBackend, AdapterOptions};
use moin_session_spec::{
    AuthAction, Backend, Config, ConfigPatch, LifetimeSetting, MemoryStore, Model, Op, Profile,
    ReferenceBackend, Request,
};
use time::macros::datetime;

const STEPS: usize = 50_000;

fn drive(backend: &mut dyn Backend) -> Duration {
    let config = Config::build(
        Profile::Moin19,
        &[ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
            users: Some(vec!["alice".into()]),
            ..ConfigPatch::default()
        }],
    )
    .expect("a valid config");
    backend.reset(&config).expect("reset");
    let mut now = datetime!(2009-03-01 12:00:30 UTC);
    let mut header = None;
    let start = Instant::now();
    for i in 0..STEPS {
        let response = backend
            .request(&Request {
                now,
                https: false,
                path: "/".into(),
                cookie_header: header.clone(),
                auth: if i % 1000 == 0 {
                    AuthAction::Login {
                        user: "alice".into(),
                        remember_me: false,
                    }
                } else {
                    AuthAction::None
                },
                ops: vec![
                    Op::Set {
                        key: "trail".into(),
                        value: serde_json::json!(["FrontPage", i]),
                    },
                    Op::Get {
                        key: "trail".into(),
                    },
                ],
            })
            .expect("a request cycle");
        if let Some(c) = response.set_cookies.first() {
            header = c.split(';').next().map(str::to_owned);
        }
        now += time::Duration::seconds(7);
    }
    start.elapsed()
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
    let model = drive(&mut Model::new());
    let reference = drive(&mut ReferenceBackend::new(
        "reference-memory",
        MemoryStore::new(),
    ));
    let mut piped = AdapterBackend::start(AdapterOptions {
        command: adapter.clone(),
        step_timeout: Duration::from_secs(10),
    })
    .unwrap_or_else(|e| {
        panic!("cannot start `{adapter}` (build it with `cargo build --release --bins`): {e}")
    });
    let through_pipe = drive(&mut piped);
    let rate = |d: Duration| STEPS as f64 / d.as_secs_f64();
    println!("request cycles: {STEPS}");
    println!(
        "model, in-process:                 {:>8.0} steps/s",
        rate(model)
    );
    println!(
        "reference-memory, in-process:      {:>8.0} steps/s",
        rate(reference)
    );
    println!(
        "behind the adapter, over the pipe: {:>8.0} steps/s ({adapter})",
        rate(through_pipe)
    );
}
