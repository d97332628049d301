//! The soak: sessions held open across real time (`check --soak DURATION`),
//! `r[m19.store.clock]`, `r[m16.store.clock]`, `r[m19.store.capacity]`.
//!
//! Per profile, the soak opens a crowd of anonymous sessions
//! ([`crate::run::crowd`]) at a fixed virtual instant, then lets `duration` of
//! real time pass without touching them, then moves the virtual clock on by
//! one minute and checks that every session is still there with its data.
//! Virtual time says nothing has expired, so a conforming backend keeps
//! them all; a backend that expires or evicts on wall-clock time loses
//! some, and the difference is attributed to the profile's clock clause.

use std::time::{Duration, Instant};

use moin_session_spec::{Backend, Config, ConfigPatch, Profile};
use serde_json::json;
use time::macros::datetime;

use crate::run::attribution::violated;
use crate::run::compare::{Bindings, Difference};
use crate::run::crowd::Crowd;

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// Real time to hold the sessions open, per profile.
    pub duration: Duration,
    /// How many sessions to hold.
    pub sessions: u32,
}

/// What a soak of one profile found.
#[derive(Debug, Clone)]
pub struct SoakOutcome {
    /// The profile.
    pub profile: Profile,
    /// How many sessions were held.
    pub sessions: usize,
    /// How long they were held, in real time.
    pub held: Duration,
    /// The differences of the first session that did not survive (empty:
    /// all survived).
    pub differences: Vec<Difference>,
    /// The clauses those differences are attributed to.
    pub violated: Vec<String>,
}

/// A soak duration: a sum of `<n>d`, `<n>h`, `<n>m`, `<n>s`, `<n>ms`,
/// more than zero.
///
/// ```
/// use moin_session_conformance::proof::soak::parse_duration;
/// assert_eq!(parse_duration("1m30s"), Ok(std::time::Duration::from_secs(90)));
/// assert!(parse_duration("0s").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    match parse_duration_or_zero(s)? {
        d if d.is_zero() => Err("a soak lasts more than zero".to_owned()),
        d => Ok(d),
    }
}

/// [`parse_duration`], zero allowed (for "no soak").
pub fn parse_duration_or_zero(s: &str) -> Result<Duration, String> {
    // "0", "0s", "0ms": none (the help says `0s: none`).
    let digits = s.trim().trim_start_matches('+');
    let unit = digits.trim_start_matches(|c: char| c.is_ascii_digit());
    let number = &digits[..digits.len() - unit.len()];
    if !number.is_empty()
        && number.bytes().all(|b| b == b'0')
        && ["", "ms", "s", "m", "h", "d"].contains(&unit)
    {
        return Ok(Duration::ZERO);
    }
    let d = moin_session_spec::fixture::parse_advance(s)?;
    Duration::try_from(d).map_err(|e| format!("{s:?}: {e}"))
}

/// The clause a soak checks, per profile.
fn clause(profile: Profile) -> &'static str {
    match profile {
        Profile::Moin19 => "m19.store.clock",
        Profile::Moin16 => "m16.store.clock",
        Profile::Hardened => "hard.timeout.idle",
    }
}

/// The configuration a soak runs under: anonymous sessions of one hour.
fn config(profile: Profile) -> Result<Config, String> {
    let patch = match profile {
        Profile::Moin19 => json!({ "cookie_lifetime": [1, 12] }),
        Profile::Hardened => return Err("the soak has no hardened configuration".to_owned()),
        Profile::Moin16 => json!({
            "auth": ["moin_login", "moin_session", "moin_anon_session"],
            "anonymous_cookie_lifetime": 1
        }),
    };
    let patch: ConfigPatch = serde_json::from_value(patch).map_err(|e| e.to_string())?;
    Config::build(profile, &[patch]).map_err(|e| e.to_string())
}

/// Soaks `backend` in each of `profiles` but `hardened` (which has no
/// anonymous sessions); `progress(profile, elapsed)` is called about once a
/// second while it waits.
pub fn run_soak(
    backend: &mut dyn Backend,
    profiles: &[Profile],
    options: &SoakOptions,
    mut progress: impl FnMut(Profile, Duration),
) -> Result<Vec<SoakOutcome>, String> {
    let mut out = Vec::new();
    // The hardened profile has no anonymous sessions to hold open.
    for profile in profiles.iter().filter(|p| **p != Profile::Hardened) {
        let config = config(*profile)?;
        let step = |n: u8, what: &str| format!("case soak:{profile}, step {n} ({what})");
        backend
            .reset(&config)
            .map_err(|e| format!("{}: {e}", step(1, "reset to an empty store")))?;
        let start = datetime!(2009-03-01 12:00:30 UTC);
        let mut bindings = Bindings::new();
        let mut crowd = Crowd::new();
        let covers = vec![clause(*profile).to_owned()];
        let opened = crowd
            .open(backend, options.sessions, start, &mut bindings)
            .map_err(|e| {
                let what = format!("open {} sessions", options.sessions);
                format!("{}: {e}", step(2, &what))
            })?;
        let began = Instant::now();
        let differences = if opened.is_empty() {
            while began.elapsed() < options.duration {
                if crate::lifecycle::interrupted().is_some() {
                    return Ok(out);
                }
                let left = options.duration - began.elapsed();
                std::thread::sleep(left.min(Duration::from_secs(1)));
                progress(*profile, began.elapsed());
            }
            crowd
                .check(backend, start + time::Duration::minutes(1))
                .map_err(|e| {
                    let what = format!(
                        "read the sessions back after {:.1}s of real time",
                        began.elapsed().as_secs_f64()
                    );
                    format!("{}: {e}", step(3, &what))
                })?
        } else {
            opened
        };
        out.push(SoakOutcome {
            profile: *profile,
            sessions: crowd.len(),
            held: began.elapsed(),
            violated: violated(*profile, &differences, &covers, &covers),
            differences,
        });
    }
    Ok(out)
}

/// Runs a soak of 200 sessions per profile and renders it, showing
/// progress on standard error when `tty`; the text and whether every
/// session survived.
pub fn run_report(
    backend: &mut dyn Backend,
    profiles: &[Profile],
    duration: Duration,
    backend_name: &str,
    tty: bool,
) -> Result<(String, bool), String> {
    let options = SoakOptions {
        duration,
        sessions: 200,
    };
    let secs = duration.as_secs();
    let outcomes = run_soak(backend, profiles, &options, |p, t| {
        if tty {
            eprint!("\r\x1b[K[soak {p}] {}s of {secs}s", t.as_secs());
        }
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    let outcomes = outcomes?;
    let ok = outcomes.iter().all(|o| o.differences.is_empty());
    let mut report = text(&outcomes, backend_name);
    if let Some(signal) = crate::lifecycle::interrupted() {
        report.push_str(&format!(
            "stopped early: interrupted by {}: this is a partial report; {} of {} profile(s) soaked\n",
            crate::lifecycle::signal_name(signal),
            outcomes.len(),
            profiles.iter().filter(|p| **p != Profile::Hardened).count()
        ));
    }
    Ok((report, ok))
}

/// The soak's report: one line per profile (and the differences of a
/// failure), then `N passed, N failed`.
pub fn text(outcomes: &[SoakOutcome], backend: &str) -> String {
    let mut out = format!("backend: {backend}\n");
    let mut failed = 0;
    for o in outcomes {
        let held = format!(
            "{} session(s) held for {:.1}s of real time",
            o.sessions,
            o.held.as_secs_f64()
        );
        if o.differences.is_empty() {
            out.push_str(&format!("  PASS  soak {}: {held}, none lost\n", o.profile));
        } else {
            failed += 1;
            out.push_str(&format!(
                "  FAIL  soak {}: {held}; violates: {}\n",
                o.profile,
                o.violated.join(", ")
            ));
            for d in &o.differences {
                out.push_str(&format!("       {d}\n"));
            }
        }
    }
    out.push_str(&format!(
        "\n{} passed, {failed} failed\n",
        outcomes.len() - failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use moin_session_spec::Model;

    #[test]
    fn the_model_keeps_every_session_of_a_short_soak() {
        let options = SoakOptions {
            duration: Duration::from_millis(10),
            sessions: 20,
        };
        let out = run_soak(&mut Model::new(), Profile::ALL, &options, |_, _| {}).unwrap();
        assert_eq!(out.len(), 2);
        for o in out {
            assert!(o.differences.is_empty(), "{:?}", o.differences);
            assert_eq!(o.sessions, 20);
        }
    }
}
