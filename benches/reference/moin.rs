//! MoinMoin 1.9.11's `FileSessionService` on the same workload, through
//! `benches/moin19_file_sessions.py`, as one process or several at once
//! on one session directory (as a wiki served by several processes).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::workload::temp_dir;

pub struct Moin {
    python: String,
    src: PathBuf,
    script: PathBuf,
}

impl Moin {
    pub fn from_env() -> Option<Moin> {
        let src = std::env::var_os("MOIN_19_SRC")?;
        Some(Moin {
            python: std::env::var("MOIN_PYTHON2").unwrap_or_else(|_| "python2.7".into()),
            src: src.into(),
            script: Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/moin19_file_sessions.py"),
        })
    }

    fn command(&self, what: &str, dir: &Path) -> Command {
        let mut c = Command::new(&self.python);
        c.arg(&self.script).arg(&self.src).arg(what).arg(dir);
        c
    }

    /// Request cycles per second of `processes` MoinMoin processes on one
    /// session directory, each with its own 1,000 sessions, all starting
    /// together once each has stored them.
    pub fn cycles(&self, processes: usize, budget: Duration) -> f64 {
        let dir = temp_dir("moin");
        let mut children: Vec<_> = (0..processes)
            .map(|_| {
                self.command("cycles", &dir)
                    .arg(budget.as_secs_f64().to_string())
                    .arg("wait")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("python2 runs")
            })
            .collect();
        let mut outputs: Vec<_> = children
            .iter_mut()
            .map(|c| BufReader::new(c.stdout.take().expect("piped")))
            .collect();
        for out in &mut outputs {
            let mut line = String::new();
            out.read_line(&mut line).expect("the process reports");
            assert_eq!(line.trim(), "ready", "MoinMoin bench: {line:?}");
        }
        for c in &mut children {
            let mut stdin = c.stdin.take().expect("piped");
            stdin.write_all(b"go\n").expect("the process waits");
        }
        let mut total = 0.0;
        for (c, out) in children.iter_mut().zip(outputs) {
            let line = out.lines().next().expect("a result").expect("text");
            let w: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(w.first(), Some(&"cycles"), "MoinMoin bench: {line:?}");
            total += w[1].parse::<f64>().expect("count") / w[2].parse::<f64>().expect("secs");
            assert!(c.wait().expect("the process ends").success());
        }
        let _ = std::fs::remove_dir_all(&dir);
        total
    }

    /// One cleanup of `total` sessions, `fraction` expired: (seconds,
    /// bytes per session).
    pub fn cleanup(&self, total: usize, fraction: f64) -> (f64, f64) {
        let dir = temp_dir("moin");
        let out = self
            .command("cleanup", &dir)
            .arg(total.to_string())
            .arg(fraction.to_string())
            .output()
            .expect("python2 runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "MoinMoin bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let w: Vec<&str> = text.split_whitespace().collect();
        (w[3].parse().expect("secs"), w[4].parse().expect("bytes"))
    }
}
