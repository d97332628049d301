//! Fuzz targets (issue 16): the fixture loader, the expectations loader,
//! the protocol decoders (runner and adapter side) and cookie parsing
//! (the browser's `Set-Cookie`, the backends' `Cookie` header) never
//! panic, whatever the input. Inputs are arbitrary text and mutations of
//! valid texts (characters inserted, removed, replaced and repeated, with
//! JSON's structural characters and digits favoured, so numbers grow past
//! what the types hold).
//!
//! Each target runs `MOIN_FUZZ_CASES` inputs: 256 by default, 10,000 in
//! the long run (`MOIN_LONG_TESTS=1`, a step of CI's own). A longer run:
//! `MOIN_FUZZ_CASES=10000000 cargo test --release -p
//! moin-session-conformance --test fuzz` (figures in BENCHMARKS.md).

use std::path::{Path, PathBuf};

use moin_session_conformance::run::compare::{compare_request, Bindings};
use moin_session_conformance::run::expectations::Expectations;
use moin_session_conformance::run::jar::Jar;
use moin_session_spec::fixture::{load_texts, RequestExpect};
use moin_session_spec::protocol::{
    decode_reply, serve, Command, Envelope, Implementation, Reply, CAPABILITIES,
};
use moin_session_spec::requirements::Requirements;
use moin_session_spec::{
    AuthAction, Backend, Config, ConfigPatch, LifetimeSetting, MemoryStore, Model, Profile,
    ReferenceBackend, Request, Response,
};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use time::macros::datetime;

fn cases() -> u32 {
    let n = moin_session_testkit::long::count("MOIN_FUZZ_CASES", 256, 10_000);
    u32::try_from(n).expect("MOIN_FUZZ_CASES fits 32 bits")
}

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

/// A character for mutations: any, or one that JSON and cookies care about.
fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        select(vec![
            '"', '{', '}', '[', ']', ':', ',', ';', '=', '\\', ' ', '-', '.', 'e', '0', '9', '$',
            's', 'l', '\n', '\u{0}', '\u{e9}'
        ]),
    ]
}

/// `seed` with up to 8 edits.
fn mutated(seed: String) -> impl Strategy<Value = String> {
    prop::collection::vec((any::<Index>(), 0u8..4, a_char()), 1..8).prop_map(move |edits| {
        let mut chars: Vec<char> = seed.chars().collect();
        for (at, op, c) in edits {
            let i = at.index(chars.len() + 1);
            match op {
                0 => chars.insert(i, c),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                2 if i < chars.len() => chars[i] = c,
                _ => {
                    let j = (i + 12).min(chars.len());
                    let piece: Vec<char> = chars[i..j].to_vec();
                    chars.splice(i..i, piece);
                }
            }
        }
        chars.into_iter().collect()
    })
}

/// Arbitrary text or a mutation of one of `seeds`.
fn text_like(seeds: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ".{0,200}",
        4 => select(seeds).prop_flat_map(mutated),
    ]
}

fn corpus_file(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    std::fs::read_to_string(dir.join(name)).expect("a corpus file")
}

const SMALL_FIXTURE: &str = r#"{"cases": [{"id": "m19.load.f", "title": "t", "covers": ["m19.load.no-cookie"],
 "profile": "moin-1.9", "config": {"cookie_lifetime": [1, 12], "users": ["alice"]}, "start": "2009-03-01T12:00:30Z",
 "steps": [{"advance": "1h30m"}, {"request": {"auth": {"login": {"user": "alice", "remember_me": true}},
 "ops": [{"set": {"key": "k", "value": 1}}, {"get": {"key": "k"}}]}, "expect": {"new": true, "user": "alice",
 "results": [1], "set_cookies": [{"name": "MOIN_SESSION_8080_ROOT", "value": "$s1", "max_age": 315360000,
 "expires": "2019-02-27T13:30:00Z", "path": "/", "domain": null, "secure": false, "httponly": false}]}},
 {"cleanup": {"mode": "expired"}, "expect": {"removed": []}}, {"list": {}, "expect": {"sids": ["$s1"]}},
 {"reconfigure": {"cookie_lifetime": 8.9}}, {"corrupt": "$s1"}]}]}"#;

#[test]
fn the_fixture_loader_never_panics() {
    let requirements = Requirements::builtin();
    let seeds = vec![
        SMALL_FIXTURE.to_owned(),
        corpus_file("moin-1.6/store.json"),
        corpus_file("moin-1.9/config.json"),
    ];
    runner()
        .run(&text_like(seeds), |text| {
            let files = vec![(PathBuf::from("fuzz.json"), text)];
            let _ = load_texts(files, &requirements);
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_expectations_loader_never_panics() {
    let seeds = vec![
        r#"{"known_failures": [{"case": "m19.load.no-cookie-fresh-every-time", "reason": "r", "issue": "https://x/1"}]}"#
            .to_owned(),
    ];
    runner()
        .run(&text_like(seeds), |text| {
            let _ = Expectations::parse(Path::new("known.json"), &text);
            Ok(())
        })
        .unwrap();
}

fn reply_seeds() -> Vec<String> {
    let response = Response {
        new: true,
        user: Some("alice".into()),
        set_cookies: vec!["S=abc; Max-Age=60; Path=/".into()],
        results: vec![serde_json::json!([1, "x", null])],
        cache_control: Some("private".into()),
    };
    let replies = [
        Reply::Response { response },
        Reply::Ok {},
        Reply::Listed {
            sids: vec!["a".into(), "b".into()],
        },
        Reply::Bye {},
    ];
    replies
        .into_iter()
        .map(|body| serde_json::to_string(&Envelope { seq: 7, body }).unwrap())
        .collect()
}

fn command_seeds() -> Vec<String> {
    let config = Config::build(
        Profile::Moin19,
        &[ConfigPatch {
            cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
            ..ConfigPatch::default()
        }],
    )
    .unwrap();
    let request = Request {
        now: datetime!(2009-03-01 12:00:30.5 UTC),
        https: false,
        path: "/".into(),
        cookie_header: Some("MOIN_SESSION_8080_ROOT=abc".into()),
        auth: AuthAction::Login {
            user: "alice".into(),
            remember_me: true,
        },
        ops: vec![],
    };
    [
        Command::Hello { protocol: 1 },
        Command::Reset { config },
        Command::Request { request },
        Command::List {},
    ]
    .into_iter()
    .map(|body| serde_json::to_string(&Envelope { seq: 3, body }).unwrap())
    .collect()
}

#[test]
fn the_protocol_decoders_never_panic() {
    // The runner's side: a reply line, decoded the short way when it can
    // be, which gives what the general way gives.
    runner()
        .run(&text_like(reply_seeds()), |line| {
            let general = serde_json::from_str::<Envelope<Reply>>(&line);
            prop_assert_eq!(decode_reply(&line).ok(), general.ok(), "{:?}", line);
            Ok(())
        })
        .unwrap();
    // The adapter's side: a session of command lines served by the model.
    let seeds = command_seeds();
    let session = prop::collection::vec(text_like(seeds.clone()), 1..4);
    runner()
        .run(&session, |lines| {
            let mut input = seeds[0].clone() + "\n" + &seeds[1] + "\n";
            for l in &lines {
                input.push_str(&l.replace('\n', " "));
                input.push('\n');
            }
            let implementation = Implementation {
                name: "fuzz".into(),
                version: "0".into(),
                language: "rust".into(),
                homepage: None,
            };
            let mut out = Vec::new();
            let _ = serve(
                &mut Model::new(),
                implementation,
                CAPABILITIES,
                input.as_bytes(),
                &mut out,
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn cookie_parsing_never_panics() {
    let set_cookies = vec![
        "MOIN_SESSION_8080_ROOT=0123456789abcdef0123456789abcdef01234567; Max-Age=3600; Expires=Sun, 01 Mar 2009 13:00:00 GMT; Path=/".to_owned(),
        "MOIN_SESSION=login:ab:99; Max-Age=9223372036854775807; Expires=Monday, 02-Mar-09 00:00:30 GMT; Path=/wiki; Domain=.example.org; Secure; HttpOnly".to_owned(),
        "S=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/".to_owned(),
    ];
    let now = datetime!(2009-03-01 12:00:30 UTC);
    // The browser's side: Set-Cookie into the jar and through the comparison.
    runner()
        .run(&text_like(set_cookies), |header| {
            let mut jar = Jar::new();
            let _ = jar.receive(&header, "/wiki/Page", true, now);
            let _ = jar.header_for("/wiki/Page", true, now);
            let expect = RequestExpect {
                new: true,
                user: None,
                set_cookies: vec![],
                results: vec![],
                uncacheable: Some(true),
            };
            let response = Response {
                new: true,
                user: None,
                set_cookies: vec![header],
                results: vec![],
                cache_control: None,
            };
            let mut bindings = Bindings::for_profile(Profile::Moin19);
            let _ = compare_request(&expect, &response, now, &mut bindings);
            Ok(())
        })
        .unwrap();
    // The backends' side: a Cookie header into the model and the
    // reference service of every profile.
    let headers = vec![
        "MOIN_SESSION_8080_ROOT=0123456789abcdef0123456789abcdef01234567; other=1".to_owned(),
        "MOIN_SESSION=\"login:abc:123:def\"; MOIN_SESSION=anon-name".to_owned(),
    ];
    let configs: Vec<Config> = Profile::ALL
        .iter()
        .map(|p| {
            let patch = match p {
                Profile::Moin19 | Profile::Hardened => ConfigPatch {
                    cookie_lifetime: Some(LifetimeSetting::Pair(vec![1.0, 12.0])),
                    ..ConfigPatch::default()
                },
                Profile::Moin16 => ConfigPatch {
                    anonymous_cookie_lifetime: Some(Some(1.0)),
                    auth: Some(vec![
                        "moin_login".into(),
                        "moin_session".into(),
                        "moin_anon_session".into(),
                    ]),
                    ..ConfigPatch::default()
                },
            };
            Config::build(*p, &[patch]).unwrap()
        })
        .collect();
    runner()
        .run(&text_like(headers), |header| {
            for config in &configs {
                let request = Request {
                    now,
                    https: false,
                    path: "/".into(),
                    cookie_header: Some(header.clone()),
                    auth: AuthAction::None,
                    ops: vec![],
                };
                let mut model = Model::new();
                model.reset(config).unwrap();
                let _ = model.request(&request);
                let mut reference = ReferenceBackend::new("fuzz", MemoryStore::new());
                reference.reset(config).unwrap();
                let _ = reference.request(&request);
            }
            Ok(())
        })
        .unwrap();
}
