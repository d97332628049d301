//! The house stays readable: no source file of the library or the runner
//! runs past 800 lines, and no module imports another that imports it back
//! (what two modules share lives below both).
//!
//! An import is a `use` (not a `pub use` re-export) or an inline
//! `crate::…`/`super::…` path outside the file's tests; it points at the
//! longest prefix of its path that is a module file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOTS: &[&str] = &["src", "conformance/src"];
const MAX_LINES: usize = 800;

type ModPath = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder is readable") {
        let path = entry.expect("a directory entry is readable").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `root` (`reference/m16.rs` is
/// `reference::m16`; `mod.rs`, `lib.rs` and `main.rs` name their folder).
fn module_of(root: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(root).ok()?.with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None; // each binary is a crate of its own
    }
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    Some(parts)
}

/// Every `crate::a::b` or `super::a` path in a line, as module path parts.
fn paths_in(line: &str, module: &ModPath) -> Vec<ModPath> {
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        let mut rest = line;
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            let tail = &rest[i + start.len()..];
            rest = tail;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let mut parts: ModPath = if start == "crate::" {
                Vec::new()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            for seg in tail.split("::") {
                let word: String = seg
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if word.is_empty() {
                    break;
                }
                let whole = word.len() == seg.len();
                parts.push(word);
                if !whole {
                    break;
                }
            }
            out.push(parts);
        }
    }
    out
}

#[test]
fn no_source_file_runs_past_800_lines_and_no_module_imports_in_a_circle() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    let mut circles = Vec::new();
    for root in ROOTS {
        let root = top.join(root);
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let modules: BTreeMap<ModPath, PathBuf> = files
            .iter()
            .filter_map(|f| module_of(&root, f).map(|m| (m, f.clone())))
            .collect();
        let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("a source file is readable");
            let lines = text.lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
            let Some(module) = module_of(&root, file) else {
                continue;
            };
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let edges = graph.entry(module.clone()).or_default();
            for line in code.lines() {
                let line = line.trim();
                if line.starts_with("//") || line.starts_with("pub use") {
                    continue;
                }
                for parts in paths_in(line, &module) {
                    let target = (0..=parts.len())
                        .rev()
                        .map(|k| parts[..k].to_vec())
                        .find(|p| modules.contains_key(p))
                        .unwrap_or_default();
                    if target != module && !target.is_empty() {
                        edges.insert(target);
                    }
                }
            }
        }
        for (a, targets) in &graph {
            for b in targets {
                if graph.get(b).is_some_and(|back| reaches(&graph, back, a)) {
                    circles.push(format!(
                        "{}: {} and {} import each other (directly or through others)",
                        root.display(),
                        a.join("::"),
                        b.join("::")
                    ));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these along concepts:\n{}",
        long.join("\n")
    );
    assert!(
        circles.is_empty(),
        "move what both need below both:\n{}",
        circles.join("\n")
    );
}

fn reaches(
    graph: &BTreeMap<ModPath, BTreeSet<ModPath>>,
    from: &BTreeSet<ModPath>,
    goal: &ModPath,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&ModPath> = from.iter().collect();
    while let Some(m) = todo.pop() {
        if m == goal {
            return true;
        }
        if seen.insert(m.clone()) {
            todo.extend(graph.get(m).into_iter().flatten());
        }
    }
    false
}

#[test]
fn the_import_scanner_sees_paths() {
    let m: ModPath = vec!["reference".into(), "m16".into()];
    assert_eq!(
        paths_in("use super::pipeline::{first_cookie, run_ops};", &m),
        vec![vec!["reference".to_owned(), "pipeline".to_owned()]]
    );
    assert_eq!(
        paths_in("let x = crate::store::is_valid_id(&id);", &m),
        vec![vec!["store".to_owned(), "is_valid_id".to_owned()]]
    );
    assert!(paths_in("let s = supercrate::x;", &m).is_empty());
}
