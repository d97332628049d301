//! The house stays readable: no source file of the library or the runner
//! runs past 600 lines, no function body past 100 lines, and no module
//! imports another that imports it back (what two modules share lives
//! below both).
//!
//! An import is a `use` (not a `pub use` re-export) or an inline
//! `crate::…`/`super::…` path outside the file's tests; it points at the
//! longest prefix of its path that is a module file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use moin_session_testkit::source::rust_files;

const ROOTS: &[&str] = &["src", "conformance/src"];
const MAX_LINES: usize = 600;
/// The longest function body, in lines from its `{` to its `}`, outside
/// test modules (a long `match` becomes one function per arm's concern).
const MAX_FN_LINES: usize = 100;

type ModPath = Vec<String>;

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
fn no_source_file_runs_past_600_lines_and_no_module_imports_in_a_circle() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    let mut circles = Vec::new();
    for root in ROOTS {
        let root = top.join(root);
        let files = rust_files(&root);
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
            let code = without_test_modules(&text);
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

/// `text` without its test modules (`#[cfg(test)]` followed by a `mod`
/// with a body), which may use made-up names and long tables; a
/// `#[cfg(test)]` function or item in the code stays.
fn without_test_modules(text: &str) -> String {
    let code = code_only(text);
    let (text_lines, code_lines): (Vec<&str>, Vec<&str>) =
        (text.lines().collect(), code.lines().collect());
    let mut out = Vec::new();
    let mut i = 0;
    while i < text_lines.len() {
        let next_is_mod = text_lines[i].trim() == "#[cfg(test)]"
            && text_lines
                .get(i + 1)
                .is_some_and(|l| l.trim_start().starts_with("mod ") && l.contains('{'));
        if !next_is_mod {
            out.push(text_lines[i]);
            i += 1;
            continue;
        }
        // Skip to the line that closes the module's brace.
        let mut depth = 0i64;
        let mut j = i + 1;
        while j < code_lines.len() {
            depth += code_lines[j].matches('{').count() as i64;
            depth -= code_lines[j].matches('}').count() as i64;
            if depth <= 0 {
                break;
            }
            j += 1;
        }
        i = j + 1;
    }
    out.join("\n")
}

/// Removes comments, string and character literals from Rust source,
/// keeping the line breaks, so that braces can be counted.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let skip_to = if c == '/' && next == Some('/') {
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
        } else if c == '/' && next == Some('*') {
            (i + 2..chars.len())
                .find(|&j| chars[j - 1] == '*' && chars[j] == '/')
                .map_or(chars.len(), |j| j + 1)
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            raw_string_end(&chars, i).unwrap_or(i + 1)
        } else if c == '"' {
            string_end(&chars, i)
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            string_end_with(&chars, i, '\'')
        } else {
            i + 1
        };
        if skip_to == i + 1 {
            out.push(c);
        } else {
            out.extend(chars[i..skip_to].iter().filter(|&&c| c == '\n'));
        }
        i = skip_to;
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The index after the string literal starting at `i`.
fn string_end(chars: &[char], i: usize) -> usize {
    string_end_with(chars, i, '"')
}

fn string_end_with(chars: &[char], i: usize, quote: char) -> usize {
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

/// The index after the raw string `r#"…"#` starting at `i`, if it is one.
fn raw_string_end(chars: &[char], i: usize) -> Option<usize> {
    let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
    if chars.get(i + 1 + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (i + 2 + hashes..chars.len())
        .find(|&j| chars[j..].starts_with(&close))
        .map(|j| j + close.len())
}

/// The name after `fn ` on a line that declares a function.
fn fn_name(line: &str) -> Option<&str> {
    let at = line.find("fn ")?;
    if at > 0 && !line[..at].ends_with(' ') {
        return None;
    }
    let prefix = line[..at].trim();
    let allowed = ["", "pub", "const", "async", "unsafe", "extern", "default"];
    let ok = prefix
        .split_whitespace()
        .all(|w| allowed.contains(&w) || w.starts_with("pub(") || w.starts_with('"'));
    if !ok {
        return None;
    }
    let rest = &line[at + 3..];
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    (end > 0).then(|| &rest[..end])
}

/// Functions whose body (from the line of its `{` to the line of its `}`)
/// runs past `max` lines, as `name (N lines, from line L)`.
fn long_functions(text: &str, max: usize) -> Vec<String> {
    let code = code_only(text);
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = fn_name(lines[i].trim_start()) else {
            i += 1;
            continue;
        };
        // The body starts at the first `{` after the signature, unless a
        // `;` comes first (a declaration without a body).
        let mut depth = 0usize;
        let mut nest = 0usize; // ( and [ of the signature
        let mut open_line = None;
        let mut j = i;
        'scan: while j < lines.len() {
            for c in lines[j].chars() {
                match c {
                    '(' | '[' if open_line.is_none() => nest += 1,
                    ')' | ']' if open_line.is_none() => nest = nest.saturating_sub(1),
                    ';' if open_line.is_none() && nest == 0 => break 'scan,
                    '{' => {
                        open_line.get_or_insert(j);
                        depth += 1;
                    }
                    '}' if open_line.is_some() => {
                        depth -= 1;
                        if depth == 0 {
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
            j += 1;
        }
        if let Some(open) = open_line {
            let body = j.min(lines.len() - 1) - open + 1;
            if body > max {
                out.push(format!("{name} ({body} lines, from line {})", i + 1));
            }
            i = open + 1; // nested functions are measured too
        } else {
            i = j + 1;
        }
    }
    out
}

#[test]
fn no_function_body_runs_past_100_lines() {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for root in ROOTS {
        for file in rust_files(&top.join(root)) {
            let text = std::fs::read_to_string(&file).expect("a source file is readable");
            let code = without_test_modules(&text);
            for f in long_functions(&code, MAX_FN_LINES) {
                long.push(format!("{}: {f}", file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these by concern (one function per arm or per group):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_scanner_measures_bodies_not_declarations() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let text = format!(
        "pub(crate) fn long(\n    a: [u8; 2],\n) -> u8 {{\n{}}}\nfn short() {{\n    let s = \"}}}}\";\n    let c = '{{';\n    // }}\n}}\ntrait T {{\n    fn declared(&self);\n}}\n",
        body(5)
    );
    // `long`'s body is its `{` line, five lines and its `}`: 7 lines.
    assert_eq!(
        long_functions(&text, 6),
        vec!["long (7 lines, from line 1)"]
    );
    assert!(long_functions(&text, 7).is_empty());
    // Braces in strings, characters and comments do not count: counted,
    // they would end `short` early or late.
    assert_eq!(
        long_functions(&text, 4),
        vec![
            "long (7 lines, from line 1)",
            "short (5 lines, from line 10)"
        ]
    );
    assert!(!long_functions(&text, 5)
        .iter()
        .any(|f| f.starts_with("short")));
    assert_eq!(fn_name("pub(super) fn load("), Some("load"));
    // A test module is left out; a function after it is measured.
    let after = format!(
        "#[cfg(test)]\nmod tests {{\n    fn t() {{\n{}    }}\n}}\n#[cfg(test)]\nfn helper() {{}}\nfn late() {{\n{}}}\n",
        body(3),
        body(3)
    );
    let kept = without_test_modules(&after);
    assert!(
        !kept.contains("fn t()") && kept.contains("fn helper()"),
        "{kept}"
    );
    assert_eq!(
        long_functions(&kept, 2),
        vec!["late (5 lines, from line 3)"]
    );
    assert_eq!(fn_name("let f = |x| x; // fn not"), None);
    assert_eq!(fn_name("impl Fn(u8) for X"), None);
}
