//! Embeds the corpus (`fixtures/**/*.json` but the schema) into the
//! library, so that a runner installed with `cargo install` checks a
//! backend from any directory, with no checkout
//! (`moin_session_spec::corpus::builtin_corpus`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            json_files(&path, out);
        } else if kind.is_file()
            && path.extension().is_some_and(|e| e == "json")
            && path.file_name().is_some_and(|n| n != "schema.json")
        {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let fixtures = root.join("fixtures");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    let mut files = Vec::new();
    json_files(&fixtures, &mut files);
    files.sort();
    let mut code = String::from("/// The built-in corpus: (path below `fixtures/`, text).\n");
    code.push_str("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file
            .strip_prefix(&fixtures)
            .expect("found below fixtures/")
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("corpus_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
