//! Unit tests of the SQLite store: the contract, the expiry index, the
//! cleanup's checkpoint, errors.

use super::*;
use crate::store::test_support::{expire_sparing, sid};

fn temp_db(tag: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("moin-sqlite-unit-{tag}-{}.db", std::process::id()));
    remove_db(&path);
    path
}

fn remove_db(path: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

fn with_expires(e: serde_json::Value) -> Record {
    Record::from([("expires".to_owned(), e), ("k".to_owned(), 1.into())])
}

#[test]
fn the_contract_holds() {
    let path = temp_db("contract");
    let s = SqliteStore::open(&path).expect("opens");
    assert_eq!(s.load(&sid('a')).unwrap(), None);
    s.delete(&sid('a')).unwrap();
    let r = Record::from([("x".to_owned(), serde_json::json!([1, "two", {"é": null}]))]);
    s.save(&sid('a'), &r).unwrap();
    s.save("anon-2e2e", &Record::new()).unwrap();
    assert_eq!(s.load(&sid('a')).unwrap(), Some(Loaded::Record(r)));
    let mut listed = s.list().unwrap();
    listed.sort();
    assert_eq!(listed, vec![sid('a'), "anon-2e2e".to_owned()]);
    s.corrupt("anon-2e2e").unwrap();
    assert_eq!(s.load("anon-2e2e").unwrap(), Some(Loaded::Unreadable));
    assert!(!s.delete_if(&sid('c'), &|_| true).unwrap());
    assert!(!s
        .delete_if(&sid('a'), &|l| *l == Loaded::Unreadable)
        .unwrap());
    assert!(s
        .delete_if("anon-2e2e", &|l| *l == Loaded::Unreadable)
        .unwrap());
    s.clear().unwrap();
    assert!(s.is_empty().unwrap());
    for bad in ["../x", "", &"G".repeat(40)] {
        assert!(matches!(s.load(bad), Err(StoreError::InvalidId { .. })));
        assert!(matches!(
            s.save(bad, &Record::new()),
            Err(StoreError::InvalidId { .. })
        ));
        assert!(matches!(s.corrupt(bad), Err(StoreError::InvalidId { .. })));
    }
    drop(s);
    remove_db(&path);
}

#[test]
fn cleanup_looks_only_at_what_can_have_expired() {
    let path = temp_db("index");
    let s = SqliteStore::open_with(
        &path,
        SqliteStoreOptions {
            durability: Durability::None,
            ..SqliteStoreOptions::default()
        },
    )
    .expect("opens");
    s.save(&sid('1'), &with_expires(100.into())).unwrap();
    s.save(&sid('2'), &with_expires(200.into())).unwrap();
    s.save(&sid('3'), &with_expires(150.5.into())).unwrap();
    s.save(&sid('4'), &Record::new()).unwrap();
    s.save(&sid('5'), &with_expires(serde_json::Value::from(u64::MAX)))
        .unwrap();
    s.corrupt(&sid('6')).unwrap();
    let (seen, removed) = expire_sparing(&s, 150, &sid('3')).unwrap();
    assert_eq!(seen, vec![sid('1'), sid('3'), sid('4'), sid('5'), sid('6')]);
    assert_eq!(removed.len(), 4);
    let mut left = s.list().unwrap();
    left.sort();
    assert_eq!(left, vec![sid('2'), sid('3')]);
    drop(s);
    remove_db(&path);
}

#[test]
fn a_cleanup_leaves_the_automatic_checkpoint_as_it_was() {
    let path = temp_db("checkpoint");
    let s = SqliteStore::open(&path).expect("opens");
    let threshold = |s: &SqliteStore| -> i64 {
        s.conn()
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(threshold(&s), i64::from(AUTOCHECKPOINT));
    for n in 0..1200u32 {
        s.save(&format!("{n:040x}"), &with_expires((n % 2).into()))
            .unwrap();
    }
    let removed = s.delete_expired_if(1, &|_, _| true).unwrap();
    assert_eq!(removed.len(), 600);
    assert_eq!(threshold(&s), i64::from(AUTOCHECKPOINT));
    assert!(s.delete_expired_if(1, &|_, _| true).unwrap().is_empty());
    assert_eq!(threshold(&s), i64::from(AUTOCHECKPOINT));
    drop(s);
    remove_db(&path);
}

#[test]
fn errors_name_the_database() {
    let e = SqliteStore::open("/nonexistent-dir-for-moin/s.db").unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir-for-moin"), "{e}");
    let dir = std::env::temp_dir().join(format!("moin-sqlite-notadb-{}", std::process::id()));
    std::fs::write(
        &dir,
        b"this is not a database, just some text of enough length to look at",
    )
    .unwrap();
    let e = SqliteStore::open(&dir).unwrap_err();
    assert!(e.to_string().contains(&dir.display().to_string()), "{e}");
    std::fs::remove_file(&dir).unwrap();
}

/// A store error names the kind of store, its file and the call.
#[test]
fn a_failed_call_names_the_sqlite_database_and_the_call() {
    let path = temp_db("failed-call");
    let store = SqliteStore::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("DROP TABLE records").unwrap();
    let e = store.save(&sid('a'), &with_expires(1.into())).unwrap_err();
    let text = e.to_string();
    let want = format!(
        "cannot save a record at the SQLite database {}",
        path.display()
    );
    assert!(text.contains(&want), "{text}");
    assert!(text.contains("no such table"), "{text}");
    drop(other);
    drop(store);
    remove_db(&path);
}
