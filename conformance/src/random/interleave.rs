//! Random traces with overlapping requests (`m19.overlap.*`,
//! `m16.overlap.*`): [`interleave`] turns some request steps of a random
//! trace into an `open`, perhaps an `ops` step, and a `finish` some steps
//! later, so that two requests of one browser overlap with each other and
//! with cleanups, listings and clock advances. Shrinking then removes
//! steps as for any trace; [`crate::random::materialize::materialize`] skips an `ops`
//! or `finish` whose `open` was removed and finishes what is still open at
//! the end.

use moin_session_spec::Profile;

use crate::random::skeleton::{AbstractStep, Rng, Skeleton};

/// How many requests may be open at once.
pub const SLOTS: u8 = 2;

/// The handle of a slot: `A`, `B`, …
pub fn handle(slot: u8) -> String {
    char::from(b'A' + slot).to_string()
}

/// Turns some request steps of `skeleton` into overlapping requests, with
/// randomness from `rng`; the other steps stay as they are.
///
/// ```
/// use moin_session_conformance::random::{random_skeleton, AbstractStep, Rng};
/// use moin_session_conformance::random::interleave::interleave;
/// use moin_session_spec::Profile;
/// let mut rng = Rng::new(3);
/// let opened = (0..20)
///     .map(|_| interleave(random_skeleton(Profile::Moin19, &mut rng), &mut rng))
///     .flat_map(|s| s.steps)
///     .filter(|s| matches!(s, AbstractStep::Open { .. }))
///     .count();
/// assert!(opened > 0);
/// ```
pub fn interleave(skeleton: Skeleton, rng: &mut Rng) -> Skeleton {
    // The hardened profile states no rules for overlapping requests yet
    // (spec/hardened.md): its traces stay sequential.
    if skeleton.profile == Profile::Hardened {
        return skeleton;
    }
    let mut steps = Vec::new();
    // Steps to insert later: (steps still to wait, the step).
    let mut pending: Vec<(usize, AbstractStep)> = Vec::new();
    let mut busy = [false; SLOTS as usize];
    for step in skeleton.steps {
        let free = busy.iter().position(|b| !b);
        match (step, free) {
            (
                AbstractStep::Request {
                    https,
                    cookies,
                    auth,
                    mut ops,
                },
                Some(slot),
            ) if rng.chance(40) => {
                let slot = slot as u8;
                busy[slot as usize] = true;
                let later = if ops.is_empty() || rng.chance(50) {
                    Vec::new()
                } else {
                    ops.split_off(rng.below(ops.len() + 1))
                };
                steps.push(AbstractStep::Open {
                    slot,
                    https,
                    cookies,
                    auth,
                    ops,
                });
                let wait = 1 + rng.below(4);
                if !later.is_empty() {
                    pending.push((rng.below(wait), AbstractStep::Ops { slot, ops: later }));
                }
                pending.push((wait, AbstractStep::Finish { slot }));
            }
            (step, _) => steps.push(step),
        }
        // Count down; what is due is inserted now, in the order planned.
        let mut due = Vec::new();
        pending.retain_mut(|(wait, step)| {
            if *wait == 0 {
                due.push(step.clone());
                false
            } else {
                *wait -= 1;
                true
            }
        });
        for step in due {
            if let AbstractStep::Finish { slot } = step {
                busy[slot as usize] = false;
            }
            steps.push(step);
        }
    }
    steps.extend(pending.into_iter().map(|(_, s)| s));
    Skeleton { steps, ..skeleton }
}
