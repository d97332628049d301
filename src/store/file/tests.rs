//! Unit tests of the file store: its format, listing, ids, the expiry
//! mark and conditional deletes.

use std::time::SystemTime;

use super::*;
use crate::store::test_support::{expire_sparing, sid};

fn temp_store(tag: &str) -> (FileStore, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("moin-filestore-unit-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    (FileStore::open(&dir).expect("a temp dir can be made"), dir)
}

#[test]
fn the_format_is_as_documented() {
    let (s, dir) = temp_store("format");
    let r = Record::from([("test".to_owned(), 4711.into())]);
    s.save(&sid('a'), &r).unwrap();
    let text = fs::read_to_string(dir.join(sid('a'))).unwrap();
    assert_eq!(text, r#"{"format":1,"data":{"test":4711}}"#);
    for garbage in [
        &b""[..],
        b"{\"format\":1,\"data\":{\"test\"",
        b"{\"format\":2,\"data\":{}}",
        b"{\"format\":1,\"data\":[]}",
        b"\xff\xfe",
    ] {
        fs::write(dir.join(sid('b')), garbage).unwrap();
        assert_eq!(s.load(&sid('b')).unwrap(), Some(Loaded::Unreadable));
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn listing_skips_temporary_and_foreign_files() {
    let (s, dir) = temp_store("list");
    s.save(&sid('a'), &Record::new()).unwrap();
    fs::write(dir.join(".tmp-1-2-x"), b"{").unwrap();
    fs::write(dir.join("README"), b"hi").unwrap();
    fs::write(dir.join(sid('A')), b"{}").unwrap();
    assert_eq!(s.list().unwrap(), vec![sid('a')]);
    assert_eq!(s.temp_files().unwrap(), vec![".tmp-1-2-x".to_owned()]);
    s.clear().unwrap();
    assert!(s.list().unwrap().is_empty());
    assert!(s.temp_files().unwrap().is_empty());
    assert!(dir.join("README").exists(), "foreign files are not touched");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ids_are_checked_before_any_path_is_built() {
    let (s, dir) = temp_store("ids");
    for bad in [
        "../x",
        "/etc/passwd",
        "",
        ".tmp-1",
        &"a".repeat(41),
        &"G".repeat(40),
    ] {
        assert!(
            matches!(s.load(bad), Err(StoreError::InvalidId { .. })),
            "{bad}"
        );
        assert!(matches!(
            s.save(bad, &Record::new()),
            Err(StoreError::InvalidId { .. })
        ));
        assert!(matches!(s.delete(bad), Err(StoreError::InvalidId { .. })));
        assert!(matches!(s.corrupt(bad), Err(StoreError::InvalidId { .. })));
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cleanup_opens_only_what_can_have_expired() {
    let (s, dir) = temp_store("mtime");
    let at = |e: i64| Record::from([("expires".to_owned(), e.into())]);
    s.save(&sid('1'), &at(100)).unwrap();
    s.save(&sid('2'), &at(200)).unwrap();
    s.save(&sid('3'), &Record::new()).unwrap();
    s.corrupt(&sid('4')).unwrap();
    s.save(&sid('5'), &at(300)).unwrap();
    // Touched by something else: the mark is gone, the file is opened.
    File::options()
        .write(true)
        .open(dir.join(sid('5')))
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
    let (seen, removed) = expire_sparing(&s, 150, &sid('5')).unwrap();
    assert_eq!(seen, vec![sid('1'), sid('3'), sid('4'), sid('5')]);
    assert_eq!(removed.len(), 3);
    let mut left = s.list().unwrap();
    left.sort();
    assert_eq!(left, vec![sid('2'), sid('5')]);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn delete_if_tests_and_removes() {
    let (s, dir) = temp_store("delete-if");
    s.save(&sid('c'), &Record::new()).unwrap();
    assert!(!s
        .delete_if(&sid('c'), &|l| *l == Loaded::Unreadable)
        .unwrap());
    assert!(s.delete_if(&sid('c'), &|_| true).unwrap());
    assert!(!s.delete_if(&sid('c'), &|_| true).unwrap());
    s.delete(&sid('c')).unwrap();
    fs::remove_dir_all(dir).unwrap();
}
