//! [`SqliteStore`]: a [`Store`] in one SQLite database file, with an index
//! on each record's expiry.
//!
//! Implements the store contract of [`Store`] (`r[m19.store.list]`,
//! `r[m19.load.unreadable-record]` through [`Store::corrupt`], the spec's
//! implementer notes on atomic saves and idempotent deletes) with the
//! embedded SQLite that `rusqlite` bundles: no server, one file.
//!
//! # Schema
//!
//! ```sql
//! CREATE TABLE records (
//!     id      TEXT PRIMARY KEY,  -- a record id (store::check_id)
//!     expires INTEGER NOT NULL,  -- store::index_expiry, or NO_EXPIRY
//!     body    BLOB NOT NULL      -- the record as a JSON object
//! ) WITHOUT ROWID;
//! CREATE INDEX records_expires ON records (expires);
//! ```
//!
//! One row per record. `expires` is the record's integer `expires`
//! ([`index_expiry`]) or [`NO_EXPIRY`] (the smallest `i64`) for a record
//! without one and for an unreadable entry, so the one range
//! `expires < ?` of the index finds every entry that a cleanup of expired
//! sessions must look at ([`Store::delete_expired_if`]), and none that it
//! need not: the cost of a cleanup follows what expired. Its commit also
//! leaves SQLite's automatic checkpoint (copying the WAL's pages into the
//! database once the WAL holds 1,000 of them) to the writers whose pages
//! they are, so that a small cleanup never pays for the saves before it; a
//! cleanup that removes 1,000 records or more checkpoints after itself. A `body` that is
//! not a JSON object loads as [`Loaded::Unreadable`].
//!
//! # Atomicity, concurrency and durability
//!
//! A save is one `INSERT OR REPLACE`: atomic, and readers (this process or
//! another sharing the file) see the old row or the new one.
//! [`Store::delete_if`], [`Store::delete_expired_if`] and [`Store::update`]
//! each run in one `BEGIN IMMEDIATE` transaction, which holds the
//! database's write lock from the read to the commit: no write by this
//! process or another lands in between (`r[hard.store.atomic-update]`).
//! The journal is WAL (readers never wait for the writer), and a writer
//! waits up to [`SqliteStoreOptions::busy_timeout`] for another process's
//! transaction.
//!
//! | [`Durability`] | SQLite setting | process killed (`kill -9`) | power loss / OS crash |
//! | --- | --- | --- | --- |
//! | [`Durability::Fsync`] (default) | `synchronous=FULL` | every committed save kept | every save that returned kept (the WAL is flushed inside each commit) |
//! | [`Durability::Fsync`] with [`group_commit`](SqliteStoreOptions::group_commit) | `synchronous=NORMAL`, then one flush of the WAL for every commit waiting | every committed save kept | every save that returned kept; another connection may see a commit up to one flush before it is on disk |
//! | [`Durability::None`] | `synchronous=NORMAL` | every committed save kept | the database stays whole, but the latest commits since the last checkpoint may be lost |
//!
//! In every setting a commit is atomic: a crash at any point leaves each
//! record whole (the old or the new) or absent, never torn.
//!
//! **Group commit.** Under `synchronous=FULL` SQLite flushes the WAL inside
//! the commit, holding the database's write lock, so concurrent writers take
//! turns and each pays one flush. With
//! [`group_commit`](SqliteStoreOptions::group_commit) the commit only writes
//! its frames, the lock is released, and the save waits for a flush of the
//! WAL that covers it; while one flush runs the next commits pile up, and
//! the next flush covers them all (`group.rs`). A save still returns only
//! once it is on disk; what changes is that a reader may see it a moment
//! before that, so after a power loss a commit that someone read can be
//! gone (with everything after it: the WAL is replayed in order).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

mod group;

use group::GroupFlush;

use super::{
    check_id, index_expiry, Change, Durability, Loaded, OnConflict, Record, Store, StoreError,
    Updated,
};

/// The `expires` column of an entry without an integer `expires` (and of
/// an unreadable one): below every instant, so every cleanup of expired
/// sessions looks at it.
pub const NO_EXPIRY: i64 = i64::MIN;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    id      TEXT PRIMARY KEY,
    expires INTEGER NOT NULL,
    body    BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_expires ON records (expires);
";

/// SQLite's automatic checkpoint threshold, in WAL frames (its default).
const AUTOCHECKPOINT: u32 = 1000;

/// A cleanup that removes at least this many records checkpoints the WAL
/// after its commit.
const CHECKPOINT_AFTER: usize = 1000;

/// The bytes [`Store::corrupt`] stores: not a JSON object.
const GARBAGE: &[u8] = b"\x00\xffnot a record {\"expires\": 1";

/// Options of a [`SqliteStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteStoreOptions {
    /// `synchronous=FULL` ([`Durability::Fsync`], the default) or
    /// `synchronous=NORMAL` ([`Durability::None`]); see the module
    /// documentation for what each survives.
    pub durability: Durability,
    /// How long a write waits for another connection's transaction
    /// before it fails.
    pub busy_timeout: Duration,
    /// With [`Durability::Fsync`]: commit with `synchronous=NORMAL` and
    /// flush the WAL after the commit, outside the database's write lock,
    /// one flush for every commit waiting for one (group commit; see the
    /// module documentation). Off by default.
    pub group_commit: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        SqliteStoreOptions {
            durability: Durability::Fsync,
            busy_timeout: Duration::from_secs(30),
            group_commit: false,
        }
    }
}

/// A store keeping one row per record in an SQLite database (see the
/// module documentation for the schema, durability and concurrency).
///
/// ```
/// use moin_session_spec::{SqliteStore, store::{Loaded, Record, Store}};
/// let path = std::env::temp_dir().join(format!("moin-doc-sqlite-{}.db", std::process::id()));
/// let store = SqliteStore::open(&path).unwrap();
/// let sid = "0123456789abcdef0123456789abcdef01234567";
/// let record = Record::from([("expires".to_owned(), 1_700_000_000.into())]);
/// store.save(sid, &record).unwrap();
/// assert_eq!(store.load(sid).unwrap(), Some(Loaded::Record(record)));
/// // A cleanup looks only at what can have expired before the instant.
/// assert!(store.delete_expired_if(1_700_000_000, &|_, _| true).unwrap().is_empty());
/// assert_eq!(store.delete_expired_if(1_700_000_001, &|_, _| true).unwrap(), vec![sid.to_owned()]);
/// # drop(store);
/// # for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Under group commit: the commits and the flushes that cover them.
    group: Option<GroupFlush>,
    /// How deep in batches this value is ([`Store::begin_batch`]); changed
    /// only while holding the connection. Above 0, the connection holds a
    /// `BEGIN IMMEDIATE` transaction that the outermost end commits.
    batch: AtomicUsize,
}

impl SqliteStore {
    /// The store in the database file `path`, created (with the schema)
    /// when missing, with default options (full durability).
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, SqliteStoreOptions::default())
    }

    /// The store in the database file `path` with `options`. The file's
    /// directory must exist.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: SqliteStoreOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_owned();
        let err = |op: &'static str| {
            let place = place(&path);
            move |e: rusqlite::Error| StoreError::Database {
                op,
                place: place.clone(),
                message: e.to_string(),
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(StoreError::Io {
                    op: "open the database's directory",
                    path: dir.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                });
            }
        }
        let conn = Connection::open(&path).map_err(err("open the database"))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(err("set the busy timeout"))?;
        // journal_mode answers with the mode in force: a row, not a
        // plain execute.
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(err("switch the journal to WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database {
                op: "switch the journal to WAL",
                place: place(&path),
                message: format!("the database stays in journal mode {mode:?}"),
            });
        }
        let group = (options.durability == Durability::Fsync && options.group_commit)
            .then(|| GroupFlush::new(&path));
        let synchronous = match options.durability {
            Durability::Fsync if group.is_none() => "FULL",
            _ => "NORMAL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous={synchronous};"))
            .map_err(err("set the durability"))?;
        conn.execute_batch(SCHEMA)
            .map_err(err("create the schema"))?;
        Ok(SqliteStore {
            path,
            conn: Mutex::new(conn),
            group,
            batch: AtomicUsize::new(0),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many entries it holds.
    pub fn len(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM records", [], |row| row.get(0))
            .map_err(self.err("count the records"))?;
        Ok(usize::try_from(n).expect("a count is never negative"))
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Writes the WAL back into the database file and truncates it (what
    /// SQLite does on its own every 1000 pages), e.g. before measuring the
    /// file's size.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(self.err("checkpoint the WAL"))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // Every use of the connection is a whole statement or a whole
        // transaction (rolled back on drop): a panic leaves it usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::Database {
            op,
            place: place(&self.path),
            message: e.to_string(),
        }
    }

    fn put(&self, id: &str, expires: i64, body: &[u8]) -> Result<(), StoreError> {
        self.write(|conn| {
            put_in(conn, id, expires, body).map_err(self.err("save a record"))?;
            Ok(((), true))
        })
    }

    /// The records below `before` for which `condition` holds, removed
    /// in one transaction.
    fn remove_expired(
        &self,
        conn: &mut Connection,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        let tx = Step::begin(conn).map_err(self.err("begin a cleanup"))?;
        let removed = expired_in(&tx, before, condition)
            .map_err(self.err("find the records that can have expired"))?;
        if !removed.is_empty() {
            delete_in(&tx, &removed).map_err(self.err("delete an expired record"))?;
            tx.commit().map_err(self.err("commit a cleanup"))?;
        }
        Ok(removed)
    }

    /// Runs `f`, which writes and commits on the connection and says
    /// whether it committed a change, then, under group commit, waits
    /// until that change is on disk (after releasing the connection).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let (value, seq) = {
            let mut conn = self.conn();
            let (value, changed) = f(&mut conn)?;
            // Inside a batch nothing is committed yet: its end waits.
            let committed = changed && conn.is_autocommit();
            let seq = self
                .group
                .as_ref()
                .filter(|_| committed)
                .map(GroupFlush::committed);
            (value, seq)
        };
        if let (Some(group), Some(seq)) = (&self.group, seq) {
            group.wait(seq)?;
        }
        Ok(value)
    }
}

fn put_in(conn: &Connection, id: &str, expires: i64, body: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO records (id, expires, body) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![id, expires, body]))
        .map(|_| ())
}

fn encode(id: &str, record: &Record) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| StoreError::Encode {
        sid: id.to_owned(),
        message: e.to_string(),
    })
}

fn decode(body: &[u8]) -> Loaded {
    match serde_json::from_slice::<Record>(body) {
        Ok(record) => Loaded::Record(record),
        Err(_) => Loaded::Unreadable,
    }
}

/// One step of its own on the connection: a `BEGIN IMMEDIATE` transaction,
/// or, inside a batch (whose transaction holds the write lock already), a
/// savepoint in it. Dropped without [`commit`](Step::commit), it undoes
/// what it did.
enum Step<'c> {
    Transaction(rusqlite::Transaction<'c>),
    Savepoint(rusqlite::Savepoint<'c>),
}

impl<'c> Step<'c> {
    fn begin(conn: &'c mut Connection) -> rusqlite::Result<Step<'c>> {
        if conn.is_autocommit() {
            conn.transaction_with_behavior(TransactionBehavior::Immediate)
                .map(Step::Transaction)
        } else {
            conn.savepoint().map(Step::Savepoint)
        }
    }

    fn commit(self) -> rusqlite::Result<()> {
        match self {
            Step::Transaction(t) => t.commit(),
            Step::Savepoint(s) => s.commit(),
        }
    }
}

impl std::ops::Deref for Step<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            Step::Transaction(t) => t,
            Step::Savepoint(s) => s,
        }
    }
}

/// The ids of the records the index finds below `before` (see
/// [`Store::delete_expired_if`]) for which `condition` holds.
fn expired_in(
    conn: &Connection,
    before: i64,
    condition: &dyn Fn(&str, &Loaded) -> bool,
) -> rusqlite::Result<Vec<String>> {
    let mut select = conn.prepare_cached("SELECT id, body FROM records WHERE expires < ?1")?;
    let mut rows = select.query([before])?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let body = row
            .get_ref(1)?
            .as_bytes_or_null()
            .ok()
            .flatten()
            .unwrap_or_default();
        if condition(&id, &decode(body)) {
            found.push(id);
        }
    }
    Ok(found)
}

fn delete_in(conn: &Connection, ids: &[impl AsRef<str>]) -> rusqlite::Result<()> {
    let mut delete = conn.prepare_cached("DELETE FROM records WHERE id = ?1")?;
    for id in ids {
        delete.execute([id.as_ref()])?;
    }
    Ok(())
}

fn load_in(conn: &Connection, id: &str) -> rusqlite::Result<Option<Loaded>> {
    conn.prepare_cached("SELECT body FROM records WHERE id = ?1")?
        .query_row([id], |row| {
            row.get_ref(0)
                .map(|v| decode(v.as_bytes_or_null().ok().flatten().unwrap_or_default()))
        })
        .optional()
}

impl Store for SqliteStore {
    fn load(&self, sid: &str) -> Result<Option<Loaded>, StoreError> {
        check_id(sid)?;
        load_in(&self.conn(), sid).map_err(self.err("load a record"))
    }

    fn save(&self, sid: &str, record: &Record) -> Result<(), StoreError> {
        check_id(sid)?;
        let body = encode(sid, record)?;
        self.put(sid, index_expiry(record).unwrap_or(NO_EXPIRY), &body)
    }

    fn update(
        &self,
        id: &str,
        _on_conflict: OnConflict,
        decide: &mut dyn FnMut(Option<&Loaded>) -> Change,
    ) -> Result<Updated, StoreError> {
        check_id(id)?;
        let change = self.write(|conn| {
            // The write lock from the read to the commit: no other writer,
            // in this process or another, can get in between.
            let tx = Step::begin(conn).map_err(self.err("begin an update"))?;
            let loaded = load_in(&tx, id).map_err(self.err("load a record for an update"))?;
            let change = decide(loaded.as_ref());
            match &change {
                Change::Keep => return Ok((change, false)),
                Change::Save(record) => {
                    let body = encode(id, record)?;
                    let expires = index_expiry(record).unwrap_or(NO_EXPIRY);
                    put_in(&tx, id, expires, &body)
                        .map_err(self.err("save a record in an update"))?;
                }
                Change::Destroy => {
                    tx.prepare_cached("DELETE FROM records WHERE id = ?1")
                        .and_then(|mut s| s.execute([id]))
                        .map_err(self.err("delete a record in an update"))?;
                }
            }
            tx.commit().map_err(self.err("commit an update"))?;
            Ok((change, true))
        })?;
        Ok(Updated {
            change,
            attempts: 1,
        })
    }

    fn delete(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        self.write(|conn| {
            let n = conn
                .prepare_cached("DELETE FROM records WHERE id = ?1")
                .and_then(|mut s| s.execute([sid]))
                .map_err(self.err("delete a record"))?;
            Ok(((), n > 0))
        })
    }

    fn delete_if(
        &self,
        sid: &str,
        condition: &dyn Fn(&Loaded) -> bool,
    ) -> Result<bool, StoreError> {
        check_id(sid)?;
        self.write(|conn| {
            let tx = Step::begin(conn).map_err(self.err("begin a conditional delete"))?;
            let holds = load_in(&tx, sid)
                .map_err(self.err("load a record for a conditional delete"))?
                .is_some_and(|loaded| condition(&loaded));
            if holds {
                delete_in(&tx, &[sid]).map_err(self.err("delete a record"))?;
                tx.commit()
                    .map_err(self.err("commit a conditional delete"))?;
            }
            Ok((holds, holds))
        })
    }

    fn delete_expired_if(
        &self,
        before: i64,
        condition: &dyn Fn(&str, &Loaded) -> bool,
    ) -> Result<Vec<String>, StoreError> {
        self.write(|conn| {
            // The cleanup's commit does not copy into the database what
            // other writers left in the WAL (SQLite's automatic checkpoint
            // runs in whichever commit passes its threshold): that work is
            // theirs, and would make a cleanup's cost follow what was
            // written before it, not what expired.
            conn.execute_batch("PRAGMA wal_autocheckpoint=0")
                .map_err(self.err("hold back the checkpoint of a cleanup"))?;
            let removed = self.remove_expired(conn, before, condition);
            conn.execute_batch(&format!("PRAGMA wal_autocheckpoint={AUTOCHECKPOINT}"))
                .map_err(self.err("restore the automatic checkpoint"))?;
            let removed = removed?;
            if removed.len() >= CHECKPOINT_AFTER && conn.is_autocommit() {
                // A big cleanup checkpoints what it wrote itself, rather
                // than leave it to the next request's save.
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    .map_err(self.err("checkpoint after a cleanup"))?;
            }
            let changed = !removed.is_empty();
            Ok((removed, changed))
        })
    }

    fn list(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached("SELECT id FROM records")
            .map_err(self.err("list the records"))?;
        let ids = select
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(self.err("list the records"))?;
        Ok(ids)
    }

    fn clear(&self) -> Result<(), StoreError> {
        self.write(|conn| {
            let n = conn
                .execute("DELETE FROM records", [])
                .map_err(self.err("clear the records"))?;
            Ok(((), n > 0))
        })
    }

    fn can_corrupt(&self) -> bool {
        true
    }

    fn begin_batch(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        if self.batch.load(Ordering::SeqCst) == 0 {
            conn.execute_batch("BEGIN IMMEDIATE")
                .map_err(self.err("begin a batch"))?;
        }
        self.batch.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn end_batch(&self) -> Result<(), StoreError> {
        let seq = {
            let conn = self.conn();
            match self.batch.load(Ordering::SeqCst) {
                0 => {
                    return Err(StoreError::Unsupported {
                        what: "ending a batch that was not begun",
                    })
                }
                1 => {}
                _ => {
                    self.batch.fetch_sub(1, Ordering::SeqCst);
                    return Ok(());
                }
            }
            self.batch.store(0, Ordering::SeqCst);
            if let Err(e) = conn.execute_batch("COMMIT") {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(self.err("commit a batch")(e));
            }
            self.group.as_ref().map(GroupFlush::committed)
        };
        if let (Some(group), Some(seq)) = (&self.group, seq) {
            group.wait(seq)?;
        }
        Ok(())
    }

    fn corrupt(&self, sid: &str) -> Result<(), StoreError> {
        check_id(sid)?;
        self.put(sid, NO_EXPIRY, GARBAGE)
    }
}

/// Where a database error happened, as [`StoreError::Database`] names it.
fn place(path: &Path) -> String {
    format!("the SQLite database {}", path.display())
}

#[cfg(test)]
mod tests;
