//! The connection [`RedisStore`](super::RedisStore) talks through: the
//! `redis` crate's parser and command encoding over a socket of our own,
//! so that every reply is **bounded**, in bytes and in time. A server that
//! is not Redis (or a broken one) answering with an endless reply, or one
//! that trickles it, gives a clear error within the store's timeout and
//! at most [`MAX_REPLY`] bytes of memory, where the crate's own connection
//! would read on until memory ran out.
//!
//! Only `redis://` (TCP) and `unix://` addresses are served: the crate is
//! built without TLS, so `rediss://` is refused when the URL is parsed.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, ConnectionInfo, ConnectionLike, Parser, RedisResult, Value};

/// The most bytes one reply may take. The largest the store asks for is a
/// `SCAN` batch or a `MGET` of records, well under a megabyte.
pub const MAX_REPLY: u64 = 64 << 20;

/// A socket to a Redis server.
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_read_timeout(t),
            Socket::Unix(s) => s.set_read_timeout(t),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.write_all(bytes),
            Socket::Unix(s) => s.write_all(bytes),
        }
    }
}

/// Reads one reply: at most `left` bytes, before `deadline`.
struct Bounded<'a> {
    socket: &'a mut Socket,
    left: u64,
    deadline: Instant,
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other(format!(
                "the server's reply passed {} MiB; a reply of the session store is far smaller (is this a Redis server?)",
                MAX_REPLY >> 20
            )));
        }
        let wait = self.deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the server did not finish its reply within the timeout",
            ));
        }
        self.socket.set_read_timeout(Some(wait))?;
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = match self.socket {
            Socket::Tcp(s) => s.read(&mut buf[..max]),
            Socket::Unix(s) => s.read(&mut buf[..max]),
        }
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                "the server did not finish its reply within the timeout",
            ),
            _ => e,
        })?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// A connection whose every reply is bounded (see the module docs).
pub struct BoundedConnection {
    socket: Socket,
    parser: Parser,
    db: i64,
    timeout: Duration,
    open: bool,
}

impl BoundedConnection {
    /// Connects to the server `info` names within `timeout`, logs in and
    /// selects the database it names.
    pub fn connect(info: &ConnectionInfo, timeout: Duration) -> RedisResult<BoundedConnection> {
        let socket = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), *port))?;
                let mut last = io::Error::other(format!("{host}:{port} has no address"));
                let mut found = None;
                for addr in addrs {
                    match TcpStream::connect_timeout(&addr, timeout) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let s = found.ok_or(last)?;
                s.set_write_timeout(Some(timeout))?;
                let _ = s.set_nodelay(true);
                Socket::Tcp(s)
            }
            ConnectionAddr::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_write_timeout(Some(timeout))?;
                Socket::Unix(s)
            }
            _ => {
                return Err(io::Error::other(
                    "TLS (rediss://) is not built into this store; use redis:// or unix://",
                )
                .into())
            }
        };
        let settings = info.redis_settings();
        let mut conn = BoundedConnection {
            socket,
            parser: Parser::new(),
            db: settings.db(),
            timeout,
            open: true,
        };
        if let Some(password) = settings.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = settings.username() {
                auth.arg(user);
            }
            auth.arg(password);
            auth.exec(&mut conn)?;
        }
        if conn.db != 0 {
            redis::cmd("SELECT").arg(conn.db).exec(&mut conn)?;
        }
        Ok(conn)
    }

    fn send(&mut self, bytes: &[u8]) -> RedisResult<()> {
        self.socket
            .write_all(bytes)
            .inspect_err(|_| self.open = false)?;
        Ok(())
    }

    fn read(&mut self) -> RedisResult<Value> {
        let reader = Bounded {
            socket: &mut self.socket,
            left: MAX_REPLY,
            deadline: Instant::now() + self.timeout,
        };
        self.parser
            .parse_value(reader)
            .inspect_err(|_| self.open = false)
    }
}

impl ConnectionLike for BoundedConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.send(cmd)?;
        self.read()?.extract_error()
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.send(cmd)?;
        let mut out = Vec::with_capacity(count);
        let mut first_err = None;
        for i in 0..offset + count {
            match self.read() {
                // A queued command's error (inside MULTI) aborts the
                // transaction: report the first.
                Ok(v) if i < offset => {
                    if let Err(e) = v.extract_error() {
                        first_err.get_or_insert(e);
                    }
                }
                Ok(v) => out.push(v),
                Err(e) => {
                    // The stream is out of step: nothing more can be read.
                    return Err(e);
                }
            }
        }
        first_err.map_or(Ok(out), Err)
    }

    fn get_db(&self) -> i64 {
        self.db
    }

    fn check_connection(&mut self) -> bool {
        redis::cmd("PING").exec(self).is_ok()
    }

    fn is_open(&self) -> bool {
        self.open
    }
}
