//! How long a test run is: the default run keeps every loop short enough
//! for `cargo test --workspace` to take about a minute; `MOIN_LONG_TESTS=1`
//! turns on the long loops (10,000-trace differential runs, the fuzz
//! targets' long budgets, crowds on durable stores), as CI's long step
//! does (`.ci/run`).

/// The variable that turns on the long loops.
pub const LONG: &str = "MOIN_LONG_TESTS";

/// Whether the long loops run: `MOIN_LONG_TESTS` is set to anything but
/// `""` or `0`.
pub fn long() -> bool {
    std::env::var(LONG).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A loop's size: `variable` when it is set (a whole number, or the test
/// fails saying so), otherwise `short`, or `long` in a long run.
pub fn count(variable: &str, short: usize, long: usize) -> usize {
    match std::env::var(variable) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{variable}={v:?}: expected a whole number")),
        Err(_) if self::long() => long,
        Err(_) => short,
    }
}
