//! [`RedisStore`]: a [`Store`] on a Redis server, shared by several wiki
//! servers, with a sorted-set index on each record's expiry.
//!
//! Implements the store contract of [`Store`] (`r[m19.store.list]`,
//! `r[m19.load.unreadable-record]` through [`Store::corrupt`], the spec's
//! implementer notes on atomic saves and idempotent deletes) over the
//! `redis` crate's synchronous connection, to the server named by a
//! connection URL (`redis://host:port/db`).
//!
//! # Keys
//!
//! With the key prefix `P` ([`RedisStoreOptions::prefix`], by default
//! `moin-session:`):
//!
//! | key | type | what |
//! | --- | --- | --- |
//! | `P` `r:` id | string | the record of that id, as a JSON object; anything else is unreadable |
//! | `P` `expiry` | sorted set | each record id, scored by its integer `expires` ([`index_expiry`]), or `-inf` when it has none or is unreadable |
//!
//! A save sets the record and its score in one `MULTI`/`EXEC` transaction,
//! so the two never disagree for longer than a transaction. A cleanup of
//! expired sessions ([`Store::delete_expired_if`]) asks the index for the
//! ids scored below its instant (`ZRANGEBYSCORE`), so it costs what can
//! have expired, not what is stored; [`Store::list`] walks the record keys
//! (`SCAN`).
//!
//! # Atomicity
//!
//! [`Store::delete_if`] and [`Store::delete_expired_if`] `WATCH` the record
//! keys, read them, and remove those whose condition holds in a
//! `MULTI`/`EXEC` transaction; a save that lands after the read aborts the
//! transaction, and the removal is tested again on what is there now. So a
//! renewal made by another wiki server is never lost to a cleanup that did
//! not see it. [`Store::update`] works the same way on one record: `WATCH`,
//! `GET`, the caller's decision, then `MULTI`, the write and its index
//! entry, `EXEC`; a write by any other client in between aborts the `EXEC`,
//! and the store reads again ([`OnConflict::Retry`]) or reports
//! [`StoreError::Conflict`] ([`OnConflict::Fail`])
//! (`r[hard.store.atomic-update]`).
//!
//! # The safety TTL
//!
//! Each record with an integer `expires` also gets a Redis TTL of its time
//! left (by this machine's clock) plus [`RedisStoreOptions::ttl_grace`], so
//! a farm whose cleanup never runs cannot fill the server's memory. The
//! TTL fires only past the record's `expires`, when a cleanup of expired
//! sessions run at that moment would remove the record too: the server
//! drops nothing that the spec's cleanup would keep, so no observable
//! outcome changes that an operator's cleanup could not cause. Records
//! without an integer `expires` get no TTL (the moin-1.6 service keeps a
//! login's secret that way until its lease expires). An index entry whose
//! record the TTL dropped is removed by the next cleanup that reaches it.
//!
//! # Failures
//!
//! A call that cannot reach the server, or whose connection breaks, fails
//! with [`StoreError::Database`] naming the server and the operation; the
//! next call connects again. The server's own durability (RDB/AOF) decides
//! what survives its restart: a record is there whole or not at all.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{Client, RedisResult};

// Every reply bounded in bytes and time (a server that is not Redis
// cannot exhaust memory): see redis_conn.
use super::redis_conn::BoundedConnection as Connection;

use super::{
    check_id, index_expiry, is_valid_id, Change, Loaded, OnConflict, Record, Store, StoreError,
    Updated,
};

/// The bytes [`Store::corrupt`] stores: not a JSON object.
const GARBAGE: &[u8] = b"\x00\xffnot a record {\"expires\": 1";

/// Records a cleanup reads and removes per `WATCH`/`MULTI`/`EXEC` round.
const BATCH: usize = 256;

/// Integers up to this magnitude are exact as a sorted-set score (an IEEE
/// double).
const EXACT_SCORE: i64 = 1 << 53;

/// Options of a [`RedisStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStoreOptions {
    /// The prefix of every key the store uses: several stores (sites,
    /// test runs) can share one server and database. Letters, digits and
    /// `:`, `_`, `-` only.
    pub prefix: String,
    /// How long past its `expires` a record may stay before the server's
    /// TTL drops it (`None`: no TTL).
    pub ttl_grace: Option<Duration>,
    /// How long to wait for a connection, and for each reply.
    pub timeout: Duration,
}

impl Default for RedisStoreOptions {
    fn default() -> Self {
        RedisStoreOptions {
            prefix: "moin-session:".to_owned(),
            ttl_grace: Some(Duration::from_secs(7 * 24 * 3600)),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A store keeping each record under its own key on a Redis server (see
/// the module documentation for the keys, atomicity and the TTL).
///
/// ```no_run
/// use moin_session_spec::{RedisStore, RedisStoreOptions, store::{Record, Store}};
/// let store = RedisStore::open("redis://127.0.0.1:6379/0", RedisStoreOptions::default())?;
/// store.save(&"ab".repeat(20), &Record::from([("expires".to_owned(), 1_700_000_000.into())]))?;
/// # Ok::<(), moin_session_spec::store::StoreError>(())
/// ```
pub struct RedisStore {
    client: Client,
    place: String,
    options: RedisStoreOptions,
    index: String,
    conn: Mutex<Option<Connection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("place", &self.place)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`, for messages.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl RedisStore {
    /// The store on the server at `url` (`redis://[user:password@]host[:port][/db]`
    /// or `unix:///path`), after checking that the URL parses and that the
    /// server answers a `PING`.
    pub fn open(url: &str, options: RedisStoreOptions) -> Result<RedisStore, StoreError> {
        let place = redacted_url(url);
        let fail = |op: &'static str, message: String| StoreError::Database {
            op,
            place: format!("the Redis server {place}"),
            message,
        };
        if options.prefix.is_empty()
            || !options
                .prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_:".contains(&b))
        {
            return Err(fail(
                "use the key prefix",
                format!(
                    "{:?}: a prefix is letters, digits, ':', '_' and '-'",
                    options.prefix
                ),
            ));
        }
        let client = Client::open(url).map_err(|e| {
            fail(
                "parse the connection URL",
                format!("{e} (expected redis://host:port/db)"),
            )
        })?;
        let store = RedisStore {
            client,
            index: format!("{}expiry", options.prefix),
            place,
            options,
            conn: Mutex::new(None),
        };
        store.with_conn("reach the server", |c| {
            redis::cmd("PING").query::<String>(c).map(|_| ())
        })?;
        Ok(store)
    }

    /// The server's URL, password redacted.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The options.
    pub fn options(&self) -> &RedisStoreOptions {
        &self.options
    }

    fn key(&self, id: &str) -> String {
        format!("{}r:{id}", self.options.prefix)
    }

    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        // A panic mid-call drops nothing but this connection's state, and
        // an error already makes the next call reconnect.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the connection, connecting first when there is none;
    /// any error drops the connection (the next call connects anew: a
    /// restarted server, a half-done `WATCH`) and is reported with `op`.
    fn with_conn<T>(
        &self,
        op: &'static str,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut guard = self.lock();
        let fail = |e: redis::RedisError| StoreError::Database {
            op,
            place: format!("the Redis server {}", self.place),
            message: e.to_string(),
        };
        if guard.is_none() {
            let conn = Connection::connect(self.client.get_connection_info(), self.options.timeout)
                .map_err(|e| StoreError::Database {
                    op,
                    place: format!("the Redis server {}", self.place),
                    message: format!("cannot connect: {e}"),
                })?;
            *guard = Some(conn);
        }
        let conn = guard.as_mut().expect("connected just above");
        match f(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                *guard = None;
                Err(fail(e))
            }
        }
    }

    /// The TTL in milliseconds of a record with index expiry `expires`.
    fn ttl_ms(&self, expires: i64) -> Option<u64> {
        let grace = self.options.ttl_grace?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i128);
        let left = (i128::from(expires) * 1000 - now_ms).max(0);
        let ms = left + grace.as_millis() as i128;
        Some(u64::try_from(ms.min(i128::from(i64::MAX as u64 / 2))).expect("clamped"))
    }

    /// Every key of this store (records and index), for `clear` and `list`.
    fn scan(&self, conn: &mut Connection, pattern: &str) -> RedisResult<Vec<String>> {
        let mut cursor = 0u64;
        let mut keys = Vec::new();
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .query(conn)?;
            keys.extend(batch);
            if next == 0 {
                return Ok(keys);
            }
            cursor = next;
        }
    }

    /// Sets `id`'s record bytes and index score in one transaction.
    fn put(&self, id: &str, body: &[u8], expires: Option<i64>) -> Result<(), StoreError> {
        self.with_conn("save a record", |c| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            self.push_put(&mut pipe, id, body, expires);
            pipe.query::<Vec<redis::Value>>(c).map(|_| ())
        })
    }

    /// The commands that set `id`'s record bytes and its index score.
    fn push_put(&self, pipe: &mut redis::Pipeline, id: &str, body: &[u8], expires: Option<i64>) {
        let key = self.key(id);
        match expires.and_then(|e| self.ttl_ms(e)) {
            Some(ms) => pipe.cmd("SET").arg(&key).arg(body).arg("PX").arg(ms),
            None => pipe.cmd("SET").arg(&key).arg(body),
        };
        pipe.cmd("ZADD")
            .arg(&self.index)
            .arg(score_of(expires))
            .arg(id);
    }

    /// One `WATCH`/read/decide/`MULTI`/`EXEC` round of an update: the
    /// change committed, or `None` when a write by someone else since the
    /// `WATCH` aborted the `EXEC`.
    fn update_round(
        &self,
        c: &mut Connection,
        id: &str,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> RedisResult<Result<Option<Change>, StoreError>> {
        let key = self.key(id);
        redis::cmd("WATCH").arg(&key).query::<()>(c)?;
        let body: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query(c)?;
        let change = decide(body.map(|b| decode(&b)).as_ref());
        let mut pipe = redis::pipe();
        pipe.atomic();
        match &change {
            Change::Keep => {
                redis::cmd("UNWATCH").query::<()>(c)?;
                return Ok(Ok(Some(change)));
            }
            Change::Save(record) => match serde_json::to_vec(record) {
                Ok(body) => self.push_put(&mut pipe, id, &body, index_expiry(record)),
                Err(e) => {
                    redis::cmd("UNWATCH").query::<()>(c)?;
                    return Ok(Err(StoreError::Encode {
                        sid: id.to_owned(),
                        message: e.to_string(),
                    }));
                }
            },
            Change::Destroy => {
                pipe.cmd("DEL").arg(&key);
                pipe.cmd("ZREM").arg(&self.index).arg(id);
            }
        }
        let done: Option<Vec<redis::Value>> = pipe.query(c)?;
        Ok(Ok(done.map(|_| change)))
    }

    /// One `WATCH`/read/`MULTI`/`EXEC` round over `ids`: removes those for
    /// which `condition` holds (and index entries whose record is gone).
    /// `None` when a watched key changed and the round must run again.
    fn remove_round(
        &self,
        c: &mut Connection,
        ids: &[String],
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> RedisResult<Option<Vec<String>>> {
        let keys: Vec<String> = ids.iter().map(|id| self.key(id)).collect();
        redis::cmd("WATCH").arg(&keys).query::<()>(c)?;
        let values: Vec<Option<Vec<u8>>> = if keys.len() == 1 {
            vec![redis::cmd("GET").arg(&keys[0]).query(c)?]
        } else {
            redis::cmd("MGET").arg(&keys).query(c)?
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut removed = Vec::new();
        let mut commands = 0;
        for ((id, key), value) in ids.iter().zip(&keys).zip(values) {
            match value {
                // The TTL dropped the record: its index entry goes too.
                None => {
                    pipe.cmd("ZREM").arg(&self.index).arg(id);
                    commands += 1;
                }
                Some(body) => {
                    if condition(id, &decode(&body)) {
                        pipe.cmd("DEL").arg(key);
                        pipe.cmd("ZREM").arg(&self.index).arg(id);
                        commands += 2;
                        removed.push(id.clone());
                    }
                }
            }
        }
        if commands == 0 {
            redis::cmd("UNWATCH").query::<()>(c)?;
            return Ok(Some(removed));
        }
        let done: Option<Vec<redis::Value>> = pipe.query(c)?;
        Ok(done.map(|_| removed))
    }
}

/// The sorted-set score of an index expiry: exact, or `-inf` (always looked
/// at) when there is none or it is too large to be exact.
fn score_of(expires: Option<i64>) -> String {
    match expires {
        Some(e) if (-EXACT_SCORE..=EXACT_SCORE).contains(&e) => e.to_string(),
        _ => "-inf".to_owned(),
    }
}

fn decode(body: &[u8]) -> Loaded {
    match serde_json::from_slice::<Record>(body) {
        Ok(record) => Loaded::Record(record),
        Err(_) => Loaded::Unreadable,
    }
}

impl Store for RedisStore {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        check_id(sid)?;
        let key = self.key(sid);
        let body: Option<Vec<u8>> =
            self.with_conn("load a record", |c| redis::cmd("GET").arg(&key).query(c))?;
        Ok(body.map(|b| decode(&b)))
    }

    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        check_id(sid)?;
        let body = serde_json::to_vec(record).map_err(|e| StoreError::Encode {
            sid: sid.to_owned(),
            message: e.to_string(),
        })?;
        self.put(sid, &body, index_expiry(record))
    }

    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        let key = self.key(sid);
        self.with_conn("delete a record", |c| {
            redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(&key)
                .cmd("ZREM")
                .arg(&self.index)
                .arg(sid)
                .query::<Vec<redis::Value>>(c)
                .map(|_| ())
        })
    }

    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        check_id(sid)?;
        let ids = [sid.to_owned()];
        self.with_conn("delete a record conditionally", |c| loop {
            if let Some(removed) = self.remove_round(c, &ids, &|_, l| condition(l))? {
                return Ok(!removed.is_empty());
            }
        })
    }

    fn delete_expired_if(
        &self,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let max = if (-EXACT_SCORE..=EXACT_SCORE).contains(&before) {
            format!("({before}")
        } else {
            "+inf".to_owned()
        };
        self.with_conn("remove expired records", |c| {
            let candidates: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(&self.index)
                .arg("-inf")
                .arg(&max)
                .query(c)?;
            let mut removed = Vec::new();
            for chunk in candidates.chunks(BATCH) {
                loop {
                    if let Some(done) = self.remove_round(c, chunk, condition)? {
                        removed.extend(done);
                        break;
                    }
                }
            }
            Ok(removed)
        })
    }

    fn update(
        &self,
        id: &str,
        on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        check_id(id)?;
        let mut attempts = 0;
        let committed = self.with_conn("update a record", |c| loop {
            attempts += 1;
            match self.update_round(c, id, decide)? {
                Ok(None) if on_conflict == OnConflict::Retry => continue,
                other => return Ok(other),
            }
        })?;
        match committed? {
            Some(change) => Ok(Updated { change, attempts }),
            None => Err(StoreError::Conflict { id: id.to_owned() }),
        }
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}r:*", self.options.prefix);
        let strip = format!("{}r:", self.options.prefix);
        let keys = self.with_conn("list the records", |c| self.scan(c, &pattern))?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&strip).map(str::to_owned))
            .filter(|id| is_valid_id(id))
            .collect())
    }

    fn clear(&self) -> Result<(), StoreError> {
        let pattern = format!("{}*", self.options.prefix);
        self.with_conn("clear the records", |c| {
            let keys = self.scan(c, &pattern)?;
            for chunk in keys.chunks(1000) {
                redis::cmd("DEL").arg(chunk).query::<()>(c)?;
            }
            Ok(())
        })
    }

    fn can_corrupt(&self) -> bool {
        true
    }

    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        self.put(sid, GARBAGE, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted_url("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redacted_url("redis://host:6379/0"), "redis://host:6379/0");
    }

    #[test]
    fn scores_are_exact_or_always_looked_at() {
        assert_eq!(score_of(Some(1_700_000_000)), "1700000000");
        assert_eq!(score_of(Some(i64::MAX)), "-inf");
        assert_eq!(score_of(None), "-inf");
    }

    #[test]
    fn a_bad_url_or_prefix_is_refused_before_connecting() {
        let e = RedisStore::open("http://x", RedisStoreOptions::default()).unwrap_err();
        assert!(e.to_string().contains("parse the connection URL"), "{e}");
        let options = RedisStoreOptions {
            prefix: "a*b".into(),
            ..RedisStoreOptions::default()
        };
        let e = RedisStore::open("redis://127.0.0.1:1/", options).unwrap_err();
        assert!(e.to_string().contains("prefix"), "{e}");
        // Port 1 on loopback: nothing listens; the error names the server.
        let e = RedisStore::open("redis://127.0.0.1:1/", RedisStoreOptions::default()).unwrap_err();
        assert!(e.to_string().contains("redis://127.0.0.1:1/"), "{e}");
    }
}
