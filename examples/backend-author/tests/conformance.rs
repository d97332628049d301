// tests/conformance.rs
use backend_author_example::HttpOnlyWiki; // your backend
use moin_session_conformance::harness::Harness;
use moin_session_spec::Profile;

fn main() -> std::process::ExitCode {
    Harness::new("httponly-wiki", HttpOnlyWiki::new)
        .profiles(&[Profile::Moin19]) // default: every profile it implements
        .deviation("m19.cookie.httponly", "we always send HttpOnly (hardening)")
        .random_traces(1000) // one more test: random traces against the model
        .run()
}
