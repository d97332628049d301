//! Request cycles per second: one client, and 1, 4 or 16 clients at once,
//! each a thread with its own handle on the store (as a wiki's worker
//! threads or processes hold one) and its own sessions.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::stores::{Env, Kind};
use crate::workload::Client;

/// Request cycles per second of `threads` clients over a fresh `kind`
/// store, all starting together (once each has stored its sessions) and
/// running for `budget`.
pub fn cycles(env: &Env, kind: Kind, threads: usize, budget: Duration) -> f64 {
    let opened = env.open(kind, "cycles");
    let handles: Vec<_> = (0..threads).map(|_| env.handle(&opened)).collect();
    let barrier = Barrier::new(threads);
    let counts: Vec<(u64, Duration)> = std::thread::scope(|scope| {
        let workers: Vec<_> = handles
            .iter()
            .enumerate()
            .map(|(t, store)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut client = Client::new(&**store, t as u64 + 1);
                    barrier.wait();
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < budget {
                        for _ in 0..10 {
                            client.cycle(n);
                            n += 1;
                        }
                    }
                    (n, start.elapsed())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a client thread"))
            .collect()
    });
    counts
        .iter()
        .map(|(n, elapsed)| *n as f64 / elapsed.as_secs_f64())
        .sum()
}
