//! The moin-1.6 reference service through its public API: anonymous names
//! stay inside the store, logins are listed only as session records, and
//! logged-in values can be neither assembled nor kept after logout.

use moin_session_spec::sid::SeededSids;
use moin_session_spec::store::Store;
use moin_session_spec::{
    AuthAction, CleanupMode, CleanupRequest, Config, ConfigPatch, FileStore, M16SessionService,
    MemoryStore, Op, Profile, Request, Response, M16_COOKIE_NAME,
};
use time::macros::datetime;

fn service<S: Store>(store: S) -> M16SessionService<S> {
    let config = Config::build(
        Profile::Moin16,
        &[ConfigPatch {
            anonymous_cookie_lifetime: Some(Some(1.0)),
            auth: Some(vec![
                "moin_login".into(),
                "moin_session".into(),
                "moin_anon_session".into(),
            ]),
            users: Some(vec!["alice".into(), "bob".into()]),
            ..ConfigPatch::default()
        }],
    )
    .unwrap();
    M16SessionService::new(store, config.as_m16().unwrap().clone(), SeededSids::new(9))
}

fn request(cookie: Option<&str>, auth: AuthAction, ops: Vec<Op>) -> Request {
    Request {
        now: datetime!(2009-03-01 12:00:30 UTC),
        https: false,
        path: "/".into(),
        cookie_header: cookie.map(|v| format!("{M16_COOKIE_NAME}={v}")),
        auth,
        ops,
    }
}

fn value(r: &Response) -> String {
    let first = r.set_cookies.last().unwrap().split(';').next().unwrap();
    first.split_once('=').unwrap().1.to_owned()
}

fn set(k: &str) -> Vec<Op> {
    vec![Op::Set {
        key: k.into(),
        value: 1.into(),
    }]
}

fn login(user: &str) -> AuthAction {
    AuthAction::Login {
        user: user.into(),
        remember_me: false,
    }
}

#[test]
fn a_made_up_name_is_a_key_inside_the_store_directory() {
    let dir = std::env::temp_dir().join(format!("moin-service16-paths-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut s = service(FileStore::open(dir.join("store")).unwrap());
    for name in ["../escape", "../../etc/passwd", "/tmp/x", "a/b"] {
        let r = s
            .handle(&request(Some(name), AuthAction::None, set("k")))
            .unwrap();
        assert!(!r.new);
        assert_eq!(value(&r), name);
    }
    let mut listed = s.list().unwrap();
    listed.sort();
    assert_eq!(listed, ["../../etc/passwd", "../escape", "/tmp/x", "a/b"]);
    // Nothing but the store directory was created, and in it only
    // namespaced record files (and the lock).
    let outside: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(outside.len(), 1);
    for entry in std::fs::read_dir(dir.join("store")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name.starts_with("anon-") || name == ".lock", "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn logins_are_listed_only_as_session_records() {
    let mut s = service(MemoryStore::new());
    let r = s.handle(&request(None, login("alice"), vec![])).unwrap();
    assert_eq!(r.user.as_deref(), Some("alice"));
    // The login exists (key and lease), but no session record yet.
    assert_eq!(s.store().len(), 2);
    assert!(s.list().unwrap().is_empty());
    let l1 = value(&r);
    let r = s
        .handle(&request(Some(&l1), AuthAction::None, set("k")))
        .unwrap();
    assert_eq!(r.user.as_deref(), Some("alice"));
    let listed = s.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].starts_with("login:"), "{listed:?}");
    // A cleanup of everything removes the session, not the login.
    let all = CleanupRequest {
        now: datetime!(2009-03-01 12:00:30 UTC),
        mode: CleanupMode::All,
        user: None,
    };
    assert_eq!(s.cleanup(&all).unwrap().removed, listed);
    let r = s
        .handle(&request(Some(&l1), AuthAction::None, vec![]))
        .unwrap();
    assert_eq!(r.user.as_deref(), Some("alice"));
    assert!(!r.new);
}

#[test]
fn values_of_two_logins_cannot_be_assembled_and_logout_revokes_every_value() {
    let mut s = service(MemoryStore::new());
    let a = value(&s.handle(&request(None, login("alice"), vec![])).unwrap());
    let b = value(&s.handle(&request(None, login("bob"), vec![])).unwrap());
    let (a_signed, _) = a.rsplit_once(':').unwrap();
    let (_, b_tag) = b.rsplit_once(':').unwrap();
    for forged in [
        format!("{a_signed}:{b_tag}"),
        a.replacen(':', ":9", 1),
        format!("{a}0"),
        a.to_uppercase(),
        "a:b".to_owned(),
        ":".to_owned(),
    ] {
        let r = s
            .handle(&request(Some(&forged), AuthAction::None, vec![]))
            .unwrap();
        assert_eq!(r.user, None, "{forged}");
        assert!(r.new, "{forged}");
    }
    // A refresh a minute later gives a new value; logout with it
    // revokes the old one too.
    let later = Request {
        now: datetime!(2009-03-01 12:01:30 UTC),
        ..request(Some(&a), AuthAction::None, vec![])
    };
    let a2 = value(&s.handle(&later).unwrap());
    assert_ne!(a, a2);
    let out = s
        .handle(&request(Some(&a2), AuthAction::Logout, vec![]))
        .unwrap();
    assert_eq!(out.user, None);
    for old in [&a, &a2] {
        let r = s
            .handle(&request(Some(old), AuthAction::None, vec![]))
            .unwrap();
        assert_eq!(r.user, None);
    }
    // bob's login is untouched.
    let r = s
        .handle(&request(Some(&b), AuthAction::None, vec![]))
        .unwrap();
    assert_eq!(r.user.as_deref(), Some("bob"));
}
