//! A helper process for the stores' fault tests
//! (`conformance/tests/store_faults.rs`, `conformance/tests/db_store_faults.rs`);
//! not a user-facing tool.
//!
//! `store-torture write STORE WRITER COUNT SID...` saves self-checking
//! records under the sids in turn, COUNT times (0: until killed), and loads
//! one after each save, exiting with status 3 when a load is not a whole
//! record some writer wrote. After each save returns it prints
//! `<sid> <seq>` on its own line: that save is committed, and a test that
//! kills the process checks that no printed save is lost. STORE is a
//! directory (a file store), `sqlite:PATH` or `redis:URL`. Records are
//! made by [`record`] and checked by [`check`]; the test carries its own
//! copy of both.

use std::process::ExitCode;

use std::io::Write;

use moin_session_spec::store::{Store, StoreError};
use moin_session_spec::{
    Durability, FileStore, FileStoreOptions, RedisStore, RedisStoreOptions, SqliteStore,
    SqliteStoreOptions,
};

#[path = "torture_record.rs"]
mod torture_record;
use torture_record::{record, whole as check};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, dir, writer, count, sids @ ..] = args.as_slice() else {
        eprintln!("usage: store-torture write DIR WRITER COUNT SID...");
        return ExitCode::from(2);
    };
    if mode != "write" || sids.is_empty() {
        eprintln!("usage: store-torture write DIR WRITER COUNT SID...");
        return ExitCode::from(2);
    }
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("COUNT must be a whole number");
        return ExitCode::from(2);
    };
    let durability = if std::env::var_os("TORTURE_NO_FSYNC").is_some() {
        Durability::None
    } else {
        Durability::Fsync
    };
    let store = match open(dir, durability) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let store = &*store;
    let mut stdout = std::io::stdout().lock();
    let mut seq = 0u64;
    while count == 0 || seq < count {
        let sid = &sids[(seq as usize) % sids.len()];
        if let Err(e) = store.save(sid, &record(writer, seq)) {
            eprintln!("save: {e}");
            return ExitCode::from(1);
        }
        // Committed: the test holds the store to it after a kill.
        if writeln!(stdout, "{sid} {seq}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return ExitCode::from(1);
        }
        let other = &sids[(seq as usize * 7 + 3) % sids.len()];
        match store.load(other) {
            Ok(None) => {}
            Ok(Some(loaded)) if check(&loaded) => {}
            Ok(Some(loaded)) => {
                eprintln!("torn or foreign record under {other}: {loaded:?}");
                return ExitCode::from(3);
            }
            Err(e) => {
                eprintln!("load: {e}");
                return ExitCode::from(1);
            }
        }
        seq += 1;
    }
    ExitCode::SUCCESS
}

/// The store STORE names: a directory, `sqlite:PATH` or `redis:URL`.
fn open(spec: &str, durability: Durability) -> Result<Box<dyn Store>, StoreError> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        let options = SqliteStoreOptions {
            durability,
            ..SqliteStoreOptions::default()
        };
        return Ok(Box::new(SqliteStore::open_with(path, options)?));
    }
    if let Some(url) = spec.strip_prefix("redis:") {
        let options = RedisStoreOptions {
            prefix: "torture:".to_owned(),
            ..RedisStoreOptions::default()
        };
        return Ok(Box::new(RedisStore::open(url, options)?));
    }
    Ok(Box::new(FileStore::open_with(
        spec,
        FileStoreOptions { durability },
    )?))
}
