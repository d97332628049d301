//! The README's path for a Rust store or backend works as written: its
//! test-file snippets are the examples' test files word for word (and the
//! examples are members of the workspace, so `cargo test --workspace`
//! builds and runs them exactly as printed), and its manifest snippet
//! lists every crate those files and the examples' code use.

use moin_session_testkit::source::workspace;
use std::collections::BTreeSet;

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is readable: {e}", path.display()))
}

/// The README's fenced blocks whose info string is `lang`, each with the
/// text between its fences.
fn blocks(readme: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, l) if l == format!("```{lang}") => current = Some(String::new()),
            (Some(_), "```") => out.extend(current.take()),
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

const EXAMPLES: [&str; 2] = ["examples/store-author", "examples/backend-author"];

#[test]
fn the_readme_snippets_are_the_example_test_files_word_for_word() {
    let readme = read("README.md");
    let snippets = blocks(&readme, "rust");
    for example in EXAMPLES {
        let file = read(&format!("{example}/tests/conformance.rs"));
        assert!(
            snippets.contains(&file),
            "README.md shows no ```rust block equal to {example}/tests/conformance.rs; \
             copy the file into the README (or the README's snippet into the file):\n{file}"
        );
    }
    let members = read("Cargo.toml");
    for example in EXAMPLES {
        assert!(
            members.contains(&format!("\"{example}\"")),
            "{example} is not a workspace member, so cargo test does not build it"
        );
    }
}

/// The keys of each `[table]` (and `[[table]]`) of a manifest, by table.
fn tables(toml: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out: Vec<(String, BTreeSet<String>)> = Vec::new();
    for line in toml.lines() {
        let line = line.split(" #").next().unwrap_or_default().trim();
        if line.starts_with('[') {
            out.push((line.to_owned(), BTreeSet::new()));
        } else if let (Some((key, _)), Some((_, keys))) = (line.split_once('='), out.last_mut()) {
            // `name.workspace = true` is the dependency `name`.
            let key = key.trim();
            keys.insert(key.split('.').next().unwrap_or(key).to_owned());
        }
    }
    out
}

fn keys<'a>(tables: &'a [(String, BTreeSet<String>)], name: &str) -> &'a BTreeSet<String> {
    &tables
        .iter()
        .find(|(t, _)| t == name)
        .unwrap_or_else(|| panic!("no {name} table in {tables:?}"))
        .1
}

/// The crates a Rust file names in its `use` lines.
fn used_crates(rust: &str) -> BTreeSet<String> {
    rust.lines()
        .filter_map(|l| l.trim().strip_prefix("use "))
        .filter_map(|l| l.split("::").next())
        .map(|c| c.trim().to_owned())
        .collect()
}

#[test]
fn the_readme_manifest_lists_every_crate_the_examples_use() {
    let readme = read("README.md");
    let manifests = blocks(&readme, "toml");
    let shown = manifests
        .iter()
        .find(|m| m.contains("[[test]]"))
        .expect("the README shows the test target's manifest");
    let shown = tables(shown);
    let deps = keys(&shown, "[dependencies]");
    let dev = keys(&shown, "[dev-dependencies]");
    assert_eq!(keys(&shown, "[[test]]").len(), 2, "{shown:?}");
    for example in EXAMPLES {
        let manifest = tables(&read(&format!("{example}/Cargo.toml")));
        let name = read(&format!("{example}/Cargo.toml"))
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .map(|n| n.trim_end_matches('"').replace('-', "_"))
            .expect("the example's package has a name");
        assert_eq!(dev, keys(&manifest, "[dev-dependencies]"), "{example}");
        assert!(
            deps.is_subset(keys(&manifest, "[dependencies]")),
            "{example}: the README lists dependencies the example does not have"
        );
        // What the test file uses comes from the README's manifest (or is
        // the author's own crate).
        let test = read(&format!("{example}/tests/conformance.rs"));
        for krate in used_crates(&test) {
            let listed = deps.iter().chain(dev).any(|d| d.replace('-', "_") == krate);
            assert!(
                listed || krate == name || krate == "std",
                "{example}/tests/conformance.rs uses {krate}, which the README's manifest \
                 does not list: a reader following the README gets `unresolved import`"
            );
        }
    }
}

#[test]
fn the_blocks_are_read_as_fenced() {
    let text = "a\n```rust\nfn x() {}\n```\n```toml\n[a]\nb = 1\n```\n";
    assert_eq!(blocks(text, "rust"), ["fn x() {}\n"]);
    assert_eq!(
        tables(&blocks(text, "toml")[0]),
        [("[a]".to_owned(), BTreeSet::from(["b".to_owned()]))]
    );
    assert_eq!(
        used_crates("use a::b;\n    use c::{d, e};\nfn main() {}"),
        BTreeSet::from(["a".to_owned(), "c".to_owned()])
    );
}
