//! A throwaway `redis-server` for the tests and benchmarks of the Redis
//! store: on a free loopback port, without persistence, in a temporary
//! directory, stopped (and the directory removed) when dropped.
//!
//! When `redis-server` is not on `PATH`, [`RedisServer::start`] installs
//! the Debian package `redis-server` (`apt-get update`, then
//! `apt-get install -y redis-server`) if the process runs as root and
//! `apt-get` exists; otherwise it fails with a message saying how to
//! install it. Tests that need a server fail then: they never pass by
//! skipping.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` owned by this process.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// How to get a server when none can be started.
pub const HOW_TO_INSTALL: &str =
    "install Redis (Debian/Ubuntu: `sudo apt-get install redis-server`; \
     other systems: put `redis-server` on PATH), or run the tests as root on Debian, \
     where they install it themselves";

impl RedisServer {
    /// Starts a server (installing `redis-server` first if needed and
    /// possible, see the module documentation).
    pub fn start() -> Result<RedisServer, String> {
        let binary = redis_server_binary()?;
        let dir = std::env::temp_dir().join(format!(
            "moin-redis-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut last = String::new();
        // A free port can be taken by another process between the probe
        // and the server's bind: try a few.
        for _ in 0..5 {
            let port = free_port()?;
            let mut server = RedisServer {
                binary: binary.clone(),
                child: None,
                port,
                dir: dir.clone(),
            };
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(e) => {
                    last = e;
                    // Dropping would remove the directory the next try uses.
                    server.kill();
                    std::mem::forget(server);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(format!("cannot start {}: {last}", binary.display()))
    }

    /// The server's URL (database 0).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL) and waits for it: what a crash does.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (it keeps nothing
    /// on disk).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.launch()
    }

    fn launch(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if ping(self.port) {
                return Ok(());
            }
            let child = self.child.as_mut().expect("launched just above");
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = text.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                return Err(format!("it exited ({status}): {tail}"));
            }
            if Instant::now() > deadline {
                return Err(format!("no answer on port {} within 10 s", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a server answers `PING` on 127.0.0.1:`port`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `redis-server`'s path, installing the Debian package when it is missing
/// and this process may.
fn redis_server_binary() -> Result<PathBuf, String> {
    if let Some(found) = on_path("redis-server") {
        return Ok(found);
    }
    // SAFETY: geteuid has no preconditions and touches no memory.
    let root = unsafe { libc::geteuid() } == 0;
    let Some(apt) = on_path("apt-get").filter(|_| root) else {
        return Err(format!(
            "redis-server is not on PATH, and this process cannot install it (it {}): {HOW_TO_INSTALL}",
            if root { "finds no apt-get" } else { "is not root" }
        ));
    };
    // One installer at a time across test processes: apt's own lock would
    // make the others fail instead of wait.
    let _lock = InstallLock::acquire(Path::new("/tmp/moin-session-redis-install.lock"))?;
    if let Some(found) = on_path("redis-server") {
        return Ok(found);
    }
    for args in [
        &["update", "-q"][..],
        &["install", "-y", "-q", "redis-server"][..],
    ] {
        let out = Command::new(&apt)
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`apt-get {}` failed ({}): {}\n{HOW_TO_INSTALL}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    on_path("redis-server").ok_or_else(|| {
        format!("apt-get installed redis-server, but it is not on PATH: {HOW_TO_INSTALL}")
    })
}

struct InstallLock {
    _file: std::fs::File,
}

impl InstallLock {
    fn acquire(path: &Path) -> Result<InstallLock, String> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // SAFETY: flock takes a descriptor `file` keeps open; no memory.
        while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
        Ok(InstallLock { _file: file })
    }
}
