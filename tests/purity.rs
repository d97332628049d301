//! The model is pure: its source reads no wall clock, draws from no ambient
//! random source, and touches no file, network or process state.

use std::path::Path;

use moin_session_testkit::source::rust_files;

/// The files that make up the model and everything it calls.
const MODEL_FILES: &[&str] = &[
    "src/model/mod.rs",
    "src/model/m19.rs",
    "src/model/m19_auth.rs",
    "src/model/m19_cleanup.rs",
    "src/model/m19_state.rs",
    "src/model/account.rs",
    "src/model/m16.rs",
    "src/model/hardened.rs",
    "src/model/hardened_finalize.rs",
    "src/model/hardened_session.rs",
    "src/model/macros.rs",
    "src/lifetime.rs",
    "src/sid/mod.rs",
    "src/config/mod.rs",
    "src/config/patch.rs",
    "src/config/site.rs",
    "src/config/m19.rs",
    "src/config/m16.rs",
    "src/config/hardened.rs",
    "src/config/checks.rs",
    "src/config/error.rs",
    "src/exchange.rs",
    "src/backend.rs",
    "src/capabilities.rs",
    "src/profile.rs",
];

const FORBIDDEN: &[(&str, &str)] = &[
    ("SystemTime", "a wall-clock read"),
    ("Instant::now", "a wall-clock read"),
    ("now_utc", "a wall-clock read"),
    ("now_local", "a wall-clock read"),
    ("UNIX_EPOCH.elapsed", "a wall-clock read"),
    ("rand::", "an ambient random source"),
    ("thread_rng", "an ambient random source"),
    ("getrandom", "an ambient random source"),
    ("RandomState", "an ambient random source (hash seed)"),
    ("HashMap", "iteration order from a random hash seed"),
    ("std::fs", "filesystem access"),
    ("File::", "filesystem access"),
    ("std::net", "network access"),
    ("std::env", "ambient environment"),
    ("std::process", "process state"),
    ("std::thread", "threads"),
    ("static mut", "global state"),
    ("thread_local!", "global state"),
];

#[test]
fn the_model_source_has_no_hidden_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in MODEL_FILES {
        let text =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (needle, what) in FORBIDDEN {
                if code.contains(needle) {
                    found.push(format!("{file}:{}: {what}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the model must be pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_covers_every_model_module() {
    // A new module the model uses must be added to MODEL_FILES (or shown to
    // be outside the model, like the corpus loader and the spec registry).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let outside_files = ["src/lib.rs", "src/clock.rs", "src/sid/os.rs"];
    // Whole folders outside the model: the corpus (fixture format and
    // registry), the adapter protocol, and the reference implementation with
    // its real stores, the OS CSPRNG and the real clock.
    let outside_dirs = [
        "src/corpus/",
        "src/protocol/",
        "src/reference/",
        "src/store/",
    ];
    let files: Vec<String> = rust_files(&root.join("src"))
        .iter()
        .map(|path| {
            path.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    for name in files {
        assert!(
            MODEL_FILES.contains(&name.as_str())
                || outside_files.contains(&name.as_str())
                || outside_dirs.iter().any(|d| name.starts_with(d)),
            "{name} is neither scanned for purity nor listed as outside the model"
        );
    }
}
