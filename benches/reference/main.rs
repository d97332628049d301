//! Throughput of the reference session service over every store, side by
//! side in one run, with the machine's limits measured in the same run and,
//! when given a MoinMoin 1.9.11 source tree, MoinMoin's own
//! `FileSessionService` on the same workload. Not a test: it prints figures
//! (see BENCHMARKS.md).
//!
//! ```sh
//! cargo bench -p moin-session-spec --bench reference
//! MOIN_19_SRC=/path/to/moin-1.9.11 MOIN_PYTHON2=python2.7 cargo bench -p moin-session-spec --bench reference
//! MOIN_BENCH_1M=1 cargo bench ...   # also 1,000,000-session cleanups (memory, SQLite, Redis)
//! MOIN_BENCH_1M=all cargo bench ... # ... and the file stores and MoinMoin (4 GiB, many minutes)
//! ```
//!
//! The Redis store runs against a `redis-server` the bench starts on a free
//! loopback port (installed from Debian when missing and root, as for the
//! tests).
//!
//! | file | what |
//! | --- | --- |
//! | `stores.rs` | the contenders, and a handle per concurrent client |
//! | `workload.rs` | the request cycle and the stored sessions |
//! | `limits.rs` | the machine's limits, measured in the same run |
//! | `cycles.rs` | request cycles per second, 1 to 16 clients at once |
//! | `cleanup.rs` | cleanups of expired sessions, bytes per session |
//! | `moin.rs` | MoinMoin 1.9.11 on the same workload, 1 to 16 processes |

mod cleanup;
mod cycles;
mod limits;
mod moin;
mod stores;
mod workload;

use std::time::{Duration, Instant};

use moin_session_spec::sid::{SeededSids, SidSource};
use moin_session_testkit::redis_server::RedisServer;

use limits::median;
use moin::Moin;
use stores::{Env, Kind};

/// What one run measures.
struct Plan {
    budget: Duration,
    rounds: usize,
    threads: Vec<usize>,
    sizes: Vec<usize>,
    limit_rounds: usize,
}

impl Plan {
    fn from_args() -> Plan {
        // `cargo bench` passes `--bench`; `cargo test --benches` passes
        // nothing and only wants to know that it runs.
        let quick = !std::env::args().any(|a| a == "--bench");
        let mut sizes = if quick {
            vec![1_000]
        } else {
            vec![10_000, 100_000]
        };
        if std::env::var_os("MOIN_BENCH_1M").is_some() {
            sizes.push(1_000_000);
        }
        Plan {
            budget: Duration::from_millis(if quick { 50 } else { 1000 }),
            rounds: if quick { 1 } else { 3 },
            threads: if quick { vec![1, 4] } else { vec![1, 4, 16] },
            sizes,
            limit_rounds: if quick { 10 } else { 300 },
        }
    }
}

fn main() {
    let plan = Plan::from_args();
    let server = RedisServer::start().unwrap_or_else(|e| panic!("no Redis server: {e}"));
    let env = Env::new(server.url());
    let moin = Moin::from_env();
    println!("load average at the start: {}", load_average());
    let wal_bytes = limits::wal_bytes_per_commit();
    let limits = limits::limits(&env.redis_url, plan.limit_rounds, wal_bytes);
    println!("\nlimits (medians):");
    for l in &limits {
        println!("| {} | {:.1} µs |", l.what, l.secs * 1e6);
    }
    let per_thread = concurrency(&env, moin.as_ref(), &plan);
    fractions_of_the_limit(&per_thread, &limits);
    for &total in &plan.sizes {
        cleanups(&env, moin.as_ref(), total);
    }
    println!("\nload average at the end: {}", load_average());
    drop(server);
}

/// Request cycles per second for every contender and number of clients,
/// the contenders interleaved in each round; the medians, by contender,
/// in the order of `plan.threads`.
fn concurrency(env: &Env, moin: Option<&Moin>, plan: &Plan) -> Vec<(String, Vec<f64>)> {
    let mut labels: Vec<String> = Kind::ALL.iter().map(|k| k.label().to_owned()).collect();
    if moin.is_some() {
        labels.push("MoinMoin 1.9.11 FileSessionService (processes)".to_owned());
    }
    let mut figures = vec![vec![Vec::new(); plan.threads.len()]; labels.len()];
    for round in 0..plan.rounds {
        for (t, &threads) in plan.threads.iter().enumerate() {
            for (k, kind) in Kind::ALL.iter().enumerate() {
                let r = cycles::cycles(env, *kind, threads, plan.budget);
                println!(
                    "round {round} {threads:>2} clients {:<44} {r:>10.0} /s",
                    kind.label()
                );
                figures[k][t].push(r);
            }
            if let Some(moin) = moin {
                let r = moin.cycles(threads, plan.budget);
                println!(
                    "round {round} {threads:>2} clients {:<44} {r:>10.0} /s",
                    "MoinMoin 1.9.11"
                );
                figures[labels.len() - 1][t].push(r);
            }
        }
    }
    println!(
        "\nrequest cycles per second (median of {} rounds):",
        plan.rounds
    );
    let header: Vec<String> = plan
        .threads
        .iter()
        .map(|t| format!("{t} clients"))
        .collect();
    println!("| contender | {} |", header.join(" | "));
    let mut medians = Vec::new();
    for (label, per) in labels.into_iter().zip(figures) {
        let m: Vec<f64> = per.into_iter().map(|mut v| median(&mut v)).collect();
        let cells: Vec<String> = m.iter().map(|v| format!("{v:.0}")).collect();
        println!("| {label} | {} |", cells.join(" | "));
        medians.push((label, m));
    }
    medians
}

/// One client's durable saves against one commit's flush.
fn fractions_of_the_limit(per_thread: &[(String, Vec<f64>)], limits: &[limits::Limit]) {
    let find = |prefix: &str| {
        limits
            .iter()
            .find(|l| l.what.starts_with(prefix))
            .map(|l| l.secs)
    };
    let wal_fsync = find("write of one commit's WAL frames").unwrap_or(f64::NAN);
    let wal_fdatasync = limits
        .iter()
        .find(|l| l.what.ends_with("fdatasync"))
        .map_or(f64::NAN, |l| l.secs);
    let file_save = find("write + fsync + rename").unwrap_or(f64::NAN);
    println!("\none client's durable request cycles against the limit of one flush per save:");
    for (label, m) in per_thread {
        let limit = match label.as_str() {
            "sqlite (FULL)" => wal_fsync,
            "sqlite (FULL, group commit)" => wal_fdatasync,
            "file (fsync)" => file_save,
            _ => continue,
        };
        let per_save = 1.0 / m[0];
        println!(
            "| {label} | {:.0} µs per cycle | limit {:.0} µs | {:.0}% of the limit |",
            per_save * 1e6,
            limit * 1e6,
            100.0 * limit / per_save
        );
    }
}

/// Cleanups of `total` sessions at three fractions expired, for every
/// contender; the growth from 0.1% to 1% expired.
fn cleanups(env: &Env, moin: Option<&Moin>, total: usize) {
    let fractions = [0.001, 0.01, 0.1];
    let mut sids = SeededSids::new(3);
    let ids: Vec<String> = (0..total).map(|_| sids.next_sid()).collect();
    // A million one-file-per-session records take minutes to write and 4
    // GiB of blocks: the file stores (and MoinMoin's) join the 1M runs
    // only with MOIN_BENCH_1M=all.
    let files_too = total < 1_000_000 || std::env::var("MOIN_BENCH_1M").as_deref() == Ok("all");
    println!("\ncleanup of {total} sessions (seconds; growth = the 1% cleanup over the 0.1% one):");
    println!("| contender | 0.1% | 1% | 10% | growth | bytes/session | fill (s) |");
    for kind in Kind::ALL {
        if (kind.is_file() && !files_too) || kind == Kind::SqliteGroup {
            continue;
        }
        let opened = env.open(kind, "cleanup");
        let before = if kind == Kind::Redis {
            cleanup::redis_used_memory(&env.redis_url)
        } else {
            0
        };
        let start = Instant::now();
        workload::fill(opened.filler(), &ids);
        let filled = start.elapsed().as_secs_f64();
        let bytes = cleanup::bytes_per_session(&opened, total, before, env);
        let secs: Vec<f64> = fractions
            .iter()
            .map(|&f| cleanup::cleanup(opened.filler(), &*opened.store, &ids, f))
            .collect();
        let bytes = bytes.map_or("—".to_owned(), |b| format!("{b:.0}"));
        println!(
            "| {} | {:.4} | {:.4} | {:.4} | {:.1}× | {bytes} | {filled:.1} |",
            kind.label(),
            secs[0],
            secs[1],
            secs[2],
            secs[1] / secs[0]
        );
    }
    if let Some(moin) = moin.filter(|_| files_too) {
        let mut secs = Vec::new();
        let mut bytes = 0.0;
        for f in fractions {
            let (s, b) = moin.cleanup(total, f);
            secs.push(s);
            bytes = b;
        }
        println!(
            "| MoinMoin 1.9.11 | {:.4} | {:.4} | {:.4} | {:.1}× | {bytes:.0} | — |",
            secs[0],
            secs[1],
            secs[2],
            secs[1] / secs[0]
        );
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
