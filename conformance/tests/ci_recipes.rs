//! The README's CI recipes, run as printed: each step of the GitHub
//! Actions job and of the GitLab CI job, in order, in a fresh directory
//! with a fresh virtual environment, under each system's rules (GitHub
//! skips a step after a failure unless it says `if: always()`; GitLab
//! stops its script at the first failing line and runs `after_script`
//! whatever happened). Three lines stand for what a test cannot do: the
//! `git clone` of this repository becomes a copy of the Python kit and the
//! test's own build of the runner at the paths the recipe uses, the `cargo
//! build` line is checked to build that runner, and the `apt-get` line is
//! checked to install the `venv` module (which the machine running the
//! test has, as the Python adapter tests need it); every other line runs
//! in `bash` as written.
//!
//! Both recipes run in the long run (`.ci/run`'s second step,
//! `MOIN_LONG_TESTS=1 cargo test --workspace --locked -- --include-ignored`):
//! two fresh environments and their installs take about half a minute.
//!
//! The user's `my_adapter.py` imports the kit (so it starts only when the
//! recipe installed the kit into the environment it runs the adapter
//! with) and then serves the Rust adapter's backend that always sends
//! HttpOnly. With `{}` as the expectations file the check fails, and the
//! job must fail and still leave a JUnit file with the failures and an
//! HTML report; with that deviation declared, the job's checks run again
//! (the set-up steps done already, to keep the test short) and it passes.

use std::path::{Path, PathBuf};
use std::process::Command;

const RUNNER: &str = env!("CARGO_BIN_EXE_moin-session-conformance");
const ADAPTER: &str = env!("CARGO_BIN_EXE_moin-session-adapter");

use moin_session_testkit::source::workspace;

/// The README's ```yaml block that contains `marker`.
fn recipe(marker: &str) -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let mut blocks = readme.split("```yaml\n").skip(1);
    blocks
        .find_map(|b| {
            let block = b.split("```").next().unwrap_or_default();
            block.contains(marker).then(|| block.to_owned())
        })
        .unwrap_or_else(|| panic!("README.md has no yaml recipe with {marker:?}"))
}

/// A YAML plain scalar without its trailing comment (` #` outside quotes).
fn uncommented(line: &str) -> &str {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'#') if i > 0 && bytes[i - 1] == b' ' => return line[..i].trim_end(),
            _ => {}
        }
    }
    line.trim_end()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// One step of a GitHub Actions job.
#[derive(Debug, Default)]
struct GhStep {
    uses: Option<String>,
    run: Option<String>,
    with: Option<String>,
    always: bool,
}

/// The steps of the GitHub recipe: `- key: value` items under `steps:`,
/// with `run: |` literal blocks.
fn github_steps(yaml: &str) -> Vec<GhStep> {
    let lines: Vec<&str> = yaml.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "steps:")
        .expect("the GitHub recipe has steps");
    let mut steps: Vec<GhStep> = Vec::new();
    let mut i = start + 1;
    while i < lines.len() {
        let line = lines[i];
        let body = line.trim_start();
        let item = body.strip_prefix("- ");
        if item.is_some() {
            steps.push(GhStep::default());
        }
        let entry = item.unwrap_or(body);
        let step = steps.last_mut().expect("a key belongs to a step");
        let (key, value) = entry.split_once(':').expect("a step's line is key: value");
        let value = uncommented(value.trim()).to_owned();
        i += 1;
        let value = if value == "|" {
            // A literal block: the lines indented deeper than its key, less
            // the first one's indentation.
            let key_column = indent(line) + if item.is_some() { 2 } else { 0 };
            let depth = lines.get(i).map_or(0, |l| indent(l));
            let mut block = String::new();
            while i < lines.len() && indent(lines[i]) > key_column {
                block.push_str(&lines[i][depth..]);
                block.push('\n');
                i += 1;
            }
            block
        } else {
            value
        };
        match key {
            "uses" => step.uses = Some(value),
            "run" => step.run = Some(value),
            "with" => step.with = Some(value),
            "if" => step.always = value == "always()",
            other => panic!("the test does not know the step key {other:?}"),
        }
    }
    steps
}

/// The lists of a GitLab job (`before_script`, `script`, `after_script`):
/// each item's continuation lines folded into it with one space.
fn gitlab_list(yaml: &str, name: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == format!("{name}:")) else {
        return Vec::new();
    };
    let level = indent(lines[start]);
    let mut items: Vec<String> = Vec::new();
    for line in &lines[start + 1..] {
        if indent(line) <= level {
            break;
        }
        let text = uncommented(line.trim());
        match text.strip_prefix("- ") {
            Some(item) => items.push(item.to_owned()),
            None => {
                let last = items.last_mut().expect("a continuation follows an item");
                last.push(' ');
                last.push_str(text);
            }
        }
    }
    items
}

/// How the test carries out one command of a recipe.
enum Action {
    /// The clone: a copy of the kit and the test's runner where the recipe
    /// expects them.
    Clone,
    /// Checked: it builds the runner, in release, from the clone.
    Build,
    /// Checked: it installs the `venv` module.
    AptVenv,
    Shell(String),
}

fn action(command: &str) -> Action {
    if command.starts_with("git clone") {
        assert_eq!(
            command, "git clone --depth 1 <this repository> moin-session-spec",
            "the test stands in for this clone only"
        );
        Action::Clone
    } else if command.starts_with("cargo build") {
        for part in [
            "--locked",
            "--release",
            "-p moin-session-conformance",
            "--manifest-path moin-session-spec/Cargo.toml",
        ] {
            assert!(command.contains(part), "{command:?} lacks {part}");
        }
        Action::Build
    } else if command.starts_with("apt-get") {
        assert!(
            command.contains("apt-get update") && command.contains("install -y -qq python3-venv"),
            "{command:?}"
        );
        Action::AptVenv
    } else {
        Action::Shell(command.to_owned())
    }
}

/// A fresh directory as the user's checkout: the adapter and its
/// expectations file.
fn checkout(name: &str, expectations: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ci-recipes")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the test's directory");
    let adapter = format!(
        "import os\nimport sys\n\nimport moin_session_adapter  # noqa: F401 (the kit the recipe installs)\n\n\
         if sys.prefix == sys.base_prefix:\n    sys.exit(\"my_adapter.py: not in the recipe's virtual environment\")\n\
         os.execv({ADAPTER:?}, [{ADAPTER:?}, \"--fault\", \"httponly-always\"])\n"
    );
    std::fs::write(dir.join("my_adapter.py"), adapter).expect("my_adapter.py");
    std::fs::write(dir.join("my_expectations.json"), expectations).expect("expectations");
    dir
}

fn copy_kit(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the kit's copy");
    for entry in std::fs::read_dir(from).expect("the kit is readable") {
        let entry = entry.expect("a kit entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "build" || name == "__pycache__" || name.ends_with(".egg-info") {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_kit(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("a kit file copies");
        }
    }
}

/// Which commands of a job run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every command, in a fresh directory.
    Fresh,
    /// The checks only, in a directory a fresh pass set up (the clone,
    /// the build and the virtual environment are there already).
    ChecksAgain,
}

/// Carries out one command in `dir`; whether it succeeded, and its log.
fn carry_out(command: &str, dir: &Path, pass: Pass) -> (bool, String) {
    if pass == Pass::ChecksAgain && !command.contains("moin-session-conformance check") {
        return (true, format!("(set up already: {command})\n"));
    }
    match action(command) {
        Action::Clone => {
            let clone = dir.join("moin-session-spec");
            copy_kit(
                &workspace().join("conformance/adapters/python"),
                &clone.join("conformance/adapters/python"),
            );
            (true, "(clone: the kit copied)\n".to_owned())
        }
        Action::Build => {
            let release = dir.join("moin-session-spec/target/release");
            std::fs::create_dir_all(&release).expect("target/release");
            std::os::unix::fs::symlink(RUNNER, release.join("moin-session-conformance"))
                .expect("the runner links");
            (true, "(build: the test's runner)\n".to_owned())
        }
        Action::AptVenv => {
            let ok = Command::new("python3")
                .args(["-c", "import venv, ensurepip"])
                .status()
                .is_ok_and(|s| s.success());
            (ok, "(apt-get: python3's venv module is there)\n".to_owned())
        }
        Action::Shell(script) => {
            let out = Command::new("bash")
                .args(["-e", "-o", "pipefail", "-c", &script])
                .current_dir(dir)
                .env("GITHUB_STEP_SUMMARY", dir.join("step-summary.md"))
                .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
                .output()
                .expect("bash runs");
            let log = format!(
                "$ {script}\n{}{}exit: {}\n",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                out.status
            );
            (out.status.success(), log)
        }
    }
}

/// How a job ended: whether it failed, and what it printed.
struct Job {
    failed: bool,
    log: String,
}

fn run_github(dir: &Path, pass: Pass) -> Job {
    let steps = github_steps(&recipe("runs-on:"));
    assert_eq!(
        steps.first().and_then(|s| s.uses.as_deref()),
        Some("actions/checkout@v4"),
        "the job starts from the user's checkout"
    );
    let mut job = Job {
        failed: false,
        log: String::new(),
    };
    for step in &steps[1..] {
        if job.failed && !step.always {
            job.log.push_str("(skipped after a failure)\n");
            continue;
        }
        let ok = match (&step.uses, &step.run) {
            (Some(uses), None) => {
                assert_eq!(uses, "actions/upload-artifact@v4", "{step:?}");
                let with = step.with.as_deref().unwrap_or_default();
                assert!(with.contains("path: \"conformance.*\""), "{with}");
                true
            }
            (None, Some(run)) => {
                let (ok, log) = carry_out(run.trim_end(), dir, pass);
                job.log.push_str(&log);
                ok
            }
            _ => panic!("a step either uses an action or runs a command: {step:?}"),
        };
        job.failed |= !ok;
    }
    job
}

fn run_gitlab(dir: &Path, pass: Pass) -> Job {
    let yaml = recipe("image:");
    let mut job = Job {
        failed: false,
        log: String::new(),
    };
    let script = [
        gitlab_list(&yaml, "before_script"),
        gitlab_list(&yaml, "script"),
    ]
    .concat();
    assert!(!script.is_empty(), "{yaml}");
    for command in &script {
        let (ok, log) = carry_out(command, dir, pass);
        job.log.push_str(&log);
        if !ok {
            job.failed = true;
            break;
        }
    }
    for command in gitlab_list(&yaml, "after_script") {
        let (_, log) = carry_out(&command, dir, pass);
        job.log.push_str(&log);
    }
    assert!(
        yaml.contains("    when: always\n"),
        "artifacts kept on failure"
    );
    assert!(
        yaml.contains("paths: [conformance.xml, conformance.html]")
            && yaml.contains("reports: { junit: conformance.xml }"),
        "{yaml}"
    );
    job
}

/// The JUnit file's (tests, failures).
fn junit(dir: &Path, log: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(dir.join("conformance.xml")).unwrap_or_default();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("conformance.xml is not JUnit XML ({e}):\n{text}\n{log}"));
    let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count();
    (count("testcase"), count("failure"))
}

fn html(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("conformance.html")).unwrap_or_default()
}

/// A recipe's job after one pass: it fails exactly when the check
/// `fails`, its JUnit file holds the corpus (over a hundred failures with
/// the failing check, none with the green one), and its HTML report is
/// there either way.
fn check_job(name: &str, dir: &Path, job: &Job, fails: bool) {
    assert_eq!(
        job.failed,
        fails,
        "{name}: the job {} check:\n{}",
        if fails {
            "passes a failing"
        } else {
            "fails for a green"
        },
        job.log
    );
    let (tests, failures) = junit(dir, &job.log);
    assert!(
        tests > 100 && if fails { failures > 100 } else { failures == 0 },
        "{name}: {tests} tests, {failures} failures\n{}",
        job.log
    );
    assert!(
        html(dir).contains("m19.cookie.httponly"),
        "{name}: no HTML report (the check {})\n{}",
        if fails { "fails" } else { "passes" },
        job.log
    );
}

const DECLARED: &str =
    r#"{"deviations": [{"clause": "m19.cookie.httponly", "reason": "we always send HttpOnly"}]}"#;

/// The recipes make virtual environments and install the kit from PyPI:
/// without `python3` and its `venv` and `ensurepip` modules the failure
/// would only show as a missing JUnit file, so say it first.
fn python3_can_make_environments() {
    let ok = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "the CI recipe tests need `python3` with its venv and ensurepip modules \
         (Debian/Ubuntu: apt-get install python3-venv) and access to PyPI"
    );
}

/// Each recipe in a fresh directory, with an expectations file of `{}`:
/// the check fails, and the job fails and keeps both reports. Then its
/// checks again in the same directory with the deviation declared: the
/// job passes.
fn check_recipe(name: &str, run: fn(&Path, Pass) -> Job) -> PathBuf {
    python3_can_make_environments();
    let dir = checkout(name, "{}");
    check_job(name, &dir, &run(&dir, Pass::Fresh), true);
    let summary = std::fs::read_to_string(dir.join("step-summary.md")).unwrap_or_default();

    for report in ["conformance.xml", "conformance.html", "step-summary.md"] {
        let _ = std::fs::remove_file(dir.join(report));
    }
    std::fs::write(dir.join("my_expectations.json"), DECLARED).expect("expectations");
    check_job(name, &dir, &run(&dir, Pass::ChecksAgain), false);
    std::fs::write(dir.join("failing-summary.md"), summary).expect("the summary");
    dir
}

#[test]
#[ignore = "long run (fresh virtual environments and PyPI installs, about half a minute): MOIN_LONG_TESTS=1 cargo test -- --include-ignored"]
fn the_github_actions_recipe_installs_what_it_uses_and_keeps_its_reports() {
    let dir = check_recipe("github", run_github);
    let summary = std::fs::read_to_string(dir.join("failing-summary.md")).unwrap_or_default();
    assert!(
        summary.contains("m19.cookie.httponly"),
        "the step summary of the failing check:\n{summary}"
    );
}

#[test]
#[ignore = "long run (fresh virtual environments and PyPI installs, about half a minute): MOIN_LONG_TESTS=1 cargo test -- --include-ignored"]
fn the_gitlab_ci_recipe_installs_what_it_uses_and_keeps_its_reports() {
    check_recipe("gitlab", run_gitlab);
}

#[test]
fn the_recipes_are_read_as_yaml_reads_them() {
    let steps = github_steps(
        "steps:\n  - uses: a@v1\n  - run: echo 1   # note\n  - if: always()\n    run: |\n      one \\\n        two\n",
    );
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[1].run.as_deref(), Some("echo 1"));
    assert!(steps[2].always);
    assert_eq!(steps[2].run.as_deref(), Some("one \\\n  two\n"));
    let script = gitlab_list(
        "job:\n  script:\n    - a \"b # c\"\n        d\n    - e\n  artifacts:\n",
        "script",
    );
    assert_eq!(script, ["a \"b # c\" d", "e"]);
}
