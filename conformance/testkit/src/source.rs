//! The repository's own source files, for the tests that read them (the
//! layout, purity and citation checks).

use std::path::{Path, PathBuf};

/// The workspace's top folder (where `README.md` and `Cargo.toml` are).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the test kit lives in conformance/testkit of the workspace")
        .to_path_buf()
}

/// Every file below `dir` whose name ends in `.{ext}`, in its folders too,
/// sorted. Panics, naming the folder, when a folder cannot be read.
pub fn files_below(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(dir) = todo.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("source folder {} is not readable: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("an entry of {} is not readable: {e}", dir.display()))
                .path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every Rust file below `dir`.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir, "rs")
}
