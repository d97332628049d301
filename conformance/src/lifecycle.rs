//! Clean exits: nothing the runner started outlives it.
//!
//! The runner keeps two registers, both below every part that starts
//! something:
//!
//! - the **process groups** of the adapters it started
//!   ([`spawn_tracked`], [`untrack_group`]): each adapter leads a group
//!   of its own, so that a timed-out adapter is ended with whatever it
//!   started ([`end_group`]: `SIGTERM`, a short wait, then `SIGKILL`);
//! - the **temporary stores** it made (directories, database files, a
//!   Redis key prefix), each as a closure that removes it ([`on_exit`]);
//!   the owner runs it when done, and it runs on an interrupted exit too.
//!
//! [`install`] makes `SIGINT`, `SIGTERM` and `SIGHUP` end the run cleanly:
//! the handler records the signal ([`interrupted`]), refuses new adapters,
//! ends every adapter group, and leaves the main thread a moment to stop
//! its loop, write the partial report (marked interrupted) and return;
//! when it does not (it is stuck, or a second signal comes), the handler
//! removes the temporary stores itself and exits with `128 + signal`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long an adapter has to end after `SIGTERM` before `SIGKILL`.
pub const TERM_GRACE: Duration = Duration::from_millis(500);

/// How long the main thread has, after a signal, to write its partial
/// report and return before the handler exits on its own.
pub const REPORT_GRACE: Duration = Duration::from_secs(5);

/// The signal that interrupted the run (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);

type Remover = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Registers {
    groups: BTreeSet<i32>,
    removers: BTreeMap<u64, Remover>,
    next: u64,
    /// Set by a signal: no adapter is started any more.
    closed: bool,
}

static REGISTERS: Mutex<Option<Registers>> = Mutex::new(None);

fn registers() -> MutexGuard<'static, Option<Registers>> {
    // A panic while holding the lock leaves plain data behind; keep going.
    REGISTERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The signal that interrupted the run, if one did (`SIGINT`, `SIGTERM`,
/// `SIGHUP`): the run loops stop taking cases when this is `Some`.
pub fn interrupted() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The name of a signal number, for reports (`SIGINT`).
pub fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGTERM => "SIGTERM".to_owned(),
        libc::SIGHUP => "SIGHUP".to_owned(),
        other => format!("signal {other}"),
    }
}

/// Starts a process with `spawn` (which must make it lead a process group
/// of its own) and registers its group, under one lock, so that a signal
/// arriving meanwhile cannot miss it. After a signal nothing is started.
pub fn spawn_tracked(spawn: impl FnOnce() -> std::io::Result<Child>) -> std::io::Result<Child> {
    let mut guard = registers();
    let regs = guard.get_or_insert_with(Registers::default);
    if regs.closed {
        return Err(std::io::Error::other(
            "the run was interrupted; no adapter is started any more",
        ));
    }
    let child = spawn()?;
    if let Ok(pid) = i32::try_from(child.id()) {
        regs.groups.insert(pid);
    }
    Ok(child)
}

/// Forgets a process group that has been ended.
pub fn untrack_group(pgid: i32) {
    if let Some(regs) = registers().as_mut() {
        regs.groups.remove(&pgid);
    }
}

/// Ends the process group `child` leads: `SIGTERM` to the group, up to
/// [`TERM_GRACE`] for the leader to exit (so an adapter can remove what it
/// made), then `SIGKILL` to the group (for the leader and anything it left
/// running); the leader is reaped, and the group forgotten.
pub fn end_group(child: &mut Child) {
    let Ok(pgid) = i32::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    signal_group(pgid, libc::SIGTERM);
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    // The group id stays reserved while any member lives, so this reaches
    // only what the adapter left, never a stranger.
    signal_group(pgid, libc::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
    untrack_group(pgid);
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it
    // touches no memory of ours.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// A registered remover of a temporary store: run it with [`Cleanup::run`]
/// when done; dropping it without running forgets it.
#[must_use = "dropping the handle forgets the cleanup without running it"]
pub struct Cleanup(u64);

impl Cleanup {
    /// Removes the store now (once: an interrupted exit does not run it
    /// again).
    pub fn run(self) {
        let remover = registers()
            .as_mut()
            .and_then(|regs| regs.removers.remove(&self.0));
        if let Some(remove) = remover {
            remove();
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(regs) = registers().as_mut() {
            regs.removers.remove(&self.0);
        }
    }
}

/// Registers `remove` (which removes a temporary store) to run when the
/// owner is done with the store, or on an interrupted exit, whichever
/// comes first.
pub fn on_exit(remove: impl FnOnce() + Send + 'static) -> Cleanup {
    let mut guard = registers();
    let regs = guard.get_or_insert_with(Registers::default);
    regs.next += 1;
    regs.removers.insert(regs.next, Box::new(remove));
    Cleanup(regs.next)
}

/// Runs every registered remover (for an exit that skips the owners).
pub fn remove_all() {
    let removers: Vec<Remover> = registers()
        .as_mut()
        .map(|regs| std::mem::take(&mut regs.removers).into_values().collect())
        .unwrap_or_default();
    for remove in removers {
        remove();
    }
}

/// Ends every adapter group (after a signal): `SIGTERM` to all, one
/// [`TERM_GRACE`], then `SIGKILL` to all. New adapters are refused.
pub fn end_all_groups() {
    let groups: Vec<i32> = {
        let mut guard = registers();
        let regs = guard.get_or_insert_with(Registers::default);
        regs.closed = true;
        regs.groups.iter().copied().collect()
    };
    for g in &groups {
        signal_group(*g, libc::SIGTERM);
    }
    if !groups.is_empty() {
        thread::sleep(TERM_GRACE);
    }
    for g in &groups {
        signal_group(*g, libc::SIGKILL);
    }
}

/// What a process does on `SIGINT`, `SIGTERM` or `SIGHUP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSignal {
    /// The runner: record it, end the adapters, and give the main thread
    /// [`REPORT_GRACE`] to write the partial report and return.
    Report,
    /// An adapter: remove the temporary stores and exit at once.
    Exit,
}

/// Installs the handling of `SIGINT`, `SIGTERM` and `SIGHUP` (see the
/// module docs). Call it once, early in `main`.
pub fn install(mode: OnSignal) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                if SIGNAL.swap(signal, Ordering::SeqCst) != 0 || mode == OnSignal::Exit {
                    // A second signal, or an adapter: exit now.
                    end_all_groups();
                    remove_all();
                    std::process::exit(128 + signal);
                }
                thread::spawn(move || {
                    end_all_groups();
                    // The main thread returns within the grace, normally.
                    thread::sleep(REPORT_GRACE);
                    eprintln!(
                        "error: {} received and the run did not end within {} s; temporary stores removed, exiting",
                        signal_name(signal),
                        REPORT_GRACE.as_secs()
                    );
                    remove_all();
                    std::process::exit(128 + signal);
                });
            }
        })?;
    Ok(())
}

/// The exit status of a run interrupted by `signal`: `128 + signal`.
pub fn interrupted_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}
