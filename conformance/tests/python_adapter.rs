//! The Python side of the adapter protocol: the installable kit in
//! `conformance/adapters/python/` (package `moin-session-adapter`) and its
//! example adapter over secure-cookie's `FilesystemSessionStore`.
//!
//! The first run creates a virtual environment under the cargo target
//! directory (`target/tmp/python-venv`) and installs the kit into it the way
//! a user would, `pip install "conformance/adapters/python[secure-cookie]"`
//! (the extra pulls the example's pinned packages from PyPI); later runs
//! reuse it while the kit's files are unchanged. Set `MOIN_SESSION_PYTHON`
//! to choose the interpreter (default: `python3`, then `python`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use moin_session_testkit::cli::{sh_quote, summary, Ran};

use moin_session_testkit::source::workspace;

fn kit_dir() -> PathBuf {
    workspace().join("conformance/adapters/python")
}

/// A Python 3.8+ interpreter, or a panic saying how to get one; looked
/// for once per test binary.
fn python3() -> String {
    static FOUND: OnceLock<String> = OnceLock::new();
    FOUND.get_or_init(find_python3).clone()
}

fn find_python3() -> String {
    let candidates: Vec<String> = match std::env::var("MOIN_SESSION_PYTHON") {
        Ok(p) if !p.is_empty() => vec![p],
        _ => vec!["python3".into(), "python".into()],
    };
    for candidate in &candidates {
        let out = Command::new(candidate)
            .args(["-c", "import sys; print(sys.version_info >= (3, 8))"])
            .output();
        if let Ok(out) = out {
            if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "True" {
                return candidate.clone();
            }
        }
    }
    panic!(
        "no Python 3.8+ interpreter found (tried {}): the Python adapter tests need \
         `python3` on PATH, with the venv module (Debian/Ubuntu: apt-get install python3-venv), \
         or MOIN_SESSION_PYTHON set to an interpreter",
        candidates.join(", ")
    );
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn show(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

static VENV: Mutex<()> = Mutex::new(());

/// The kit's files as installed: the stamp of the virtual environment.
fn kit_files() -> String {
    let mut text = String::new();
    for file in [
        "pyproject.toml",
        "requirements.txt",
        "moin_session_adapter/__init__.py",
        "secure_cookie_adapter.py",
        "hardened_adapter.py",
    ] {
        let body = std::fs::read_to_string(kit_dir().join(file))
            .unwrap_or_else(|e| panic!("{file} of the Python kit is readable: {e}"));
        text.push_str(&format!("== {file}\n{body}\n"));
    }
    text
}

/// A fresh virtual environment with the kit installed from its folder as
/// a user installs it (with the `secure-cookie` extra): reused when it was
/// made from the same kit files and its modules import, made afresh
/// otherwise; checked once per test binary.
fn venv() -> PathBuf {
    let _guard = VENV.lock().unwrap_or_else(|e| e.into_inner());
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(ready_venv).clone()
}

fn ready_venv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let base = python3();
    let version = Command::new(&base)
        .args([
            "-c",
            "import sys; print(sys.executable, sys.version.split()[0])",
        ])
        .output()
        .expect("python runs");
    // The stamp: the requirements and the interpreter they were installed for.
    let wanted = format!(
        "{}# installed for: {}",
        kit_files(),
        String::from_utf8_lossy(&version.stdout)
    );
    let stamp = venv.join("moin-session-kit.stamp");
    let python = venv_python(&venv);
    let imports = || {
        Command::new(&python)
            .args([
                "-c",
                "import secure_cookie.session, moin_session_adapter, secure_cookie_adapter",
            ])
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && imports() {
        return venv;
    }
    moin_session_testkit::progress::note(&format!(
        "python_adapter: making {} and installing the kit from PyPI (once; reused while the kit is unchanged)",
        venv.display()
    ));
    let out = Command::new(&base)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "`{base} -m venv {}` failed (on Debian/Ubuntu: apt-get install python3-venv)\n{}",
        venv.display(),
        show(&out)
    );
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .arg(format!("{}[secure-cookie]", kit_dir().display()))
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "pip could not install the kit {} into {} (network access to PyPI is needed once)\n{}",
        kit_dir().display(),
        venv.display(),
        show(&out)
    );
    assert!(
        imports(),
        "the installed kit does not import in {}",
        venv.display()
    );
    std::fs::write(&stamp, &wanted).expect("the stamp is writable");
    venv
}

fn check(adapter: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"))
        .current_dir(workspace())
        .args(["check", "--profile", "moin-1.9", "--adapter", adapter])
        .args(extra)
        .output()
        .expect("the CLI runs");
    let Ran {
        code,
        stdout,
        stderr,
    } = Ran::lossy(out);
    (code, stdout, stderr)
}

/// The CLI, run from outside the clone without `PYTHONPATH`: nothing but
/// the installed kit is on Python's path.
fn outside_the_clone() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_moin-session-conformance"));
    command
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("PYTHONPATH");
    command
}

/// `check --profile hardened` of `adapter`, from outside the clone.
fn hardened_check(adapter: &str) -> Ran {
    let out = outside_the_clone()
        .args(["check", "--profile", "hardened", "--adapter", adapter])
        .output()
        .expect("the CLI runs");
    Ran::lossy(out)
}

/// The installed example (the `moin-secure-cookie-adapter` script of the
/// kit's package, run from outside the clone, so nothing but the installed
/// package is on Python's path) passes the moin-1.9 corpus, but for the
/// known failures it lists, and declares every capability (nothing is
/// skipped).
#[test]
fn installed_secure_cookie_example_passes_the_moin_19_corpus() {
    let venv = venv();
    let script = if cfg!(windows) {
        venv.join("Scripts").join("moin-secure-cookie-adapter.exe")
    } else {
        venv.join("bin").join("moin-secure-cookie-adapter")
    };
    assert!(script.exists(), "pip installed no {}", script.display());
    let expectations = kit_dir().join("secure_cookie_expectations.json");
    // The example keeps its sessions in a temporary directory (TMPDIR):
    // in memory in the default run, where a busy shared disk would make
    // the crowd case's thousands of session files its whole cost.
    let out = outside_the_clone()
        .env("TMPDIR", moin_session_testkit::scratch::store_base())
        .args(["check", "--profile", "moin-1.9", "--adapter"])
        .arg(sh_quote(&script.display().to_string()))
        .arg("--expectations")
        .arg(&expectations)
        .output()
        .expect("the CLI runs");
    let stdout = Ran::lossy(out).exits(0).stdout;
    assert!(
        stdout.starts_with("backend: secure-cookie FilesystemSessionStore 0.2.0"),
        "{stdout}"
    );
    let [passed, failed, errored, skipped] = summary(&stdout);
    // Only the cases about rejected configurations are skipped: they never
    // reach an adapter, which receives validated configurations.
    let rejects = std::fs::read_dir(workspace().join("fixtures/moin-1.9"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|t| t.matches("\"rejects\":").count())
        .sum::<usize>();
    assert!(rejects > 0);
    assert!(
        passed > 100 && failed == 0 && errored == 0 && skipped == rejects,
        "{stdout}"
    );
}

/// The kit's hardened example (`hardened_adapter.py`, a third derivation of
/// `spec/hardened.md`), run with the installed kit, passes every hardened
/// case an adapter can run, overlapping requests included (it declares
/// `interleave`); only the rejected configurations are skipped.
#[test]
fn hardened_example_passes_the_hardened_corpus() {
    let venv = venv();
    let adapter = format!(
        "{} {}",
        sh_quote(&venv_python(&venv).display().to_string()),
        sh_quote(&kit_dir().join("hardened_adapter.py").display().to_string())
    );
    let stdout = hardened_check(&adapter).exits(0).stdout;
    let [passed, failed, errored, skipped] = summary(&stdout);
    let texts: Vec<String> = std::fs::read_dir(workspace().join("fixtures/hardened"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let count = |needle: &str| {
        texts
            .iter()
            .map(|t| t.matches(needle).count())
            .sum::<usize>()
    };
    let (cases, rejects) = (count("\"id\": \"hard."), count("\"rejects\":"));
    assert!(
        count("\"open\": {") >= 20,
        "the corpus has overlapping requests"
    );
    assert!(
        passed == cases - rejects && failed == 0 && errored == 0 && skipped == rejects,
        "{stdout}"
    );
    assert!(
        !stdout.contains("interleave"),
        "no case is skipped for interleave:\n{stdout}"
    );
}

/// The secure-cookie example declares moin-1.9 only: asked for the
/// hardened profile, the runner refuses the selection (exit status 2) and
/// sends it no case; never a pass.
#[test]
fn a_moin_19_adapter_is_not_run_on_hardened_cases() {
    let python = venv_python(&venv());
    let adapter = format!(
        "{} {}",
        sh_quote(&python.display().to_string()),
        sh_quote(
            &kit_dir()
                .join("secure_cookie_adapter.py")
                .display()
                .to_string()
        )
    );
    hardened_check(&adapter)
        .exits(2)
        .warns(&["implements moin-1.9", "hardened"])
        .never_says(&[" passed, "]);
}

/// A deliberately wrong backend on the kit: a `KeyError` raised in the
/// backend errors the case with the traceback's last line in the report
/// (and the traceback on stderr), the run goes on, and a stray `print` does
/// not break the protocol.
const WRONG_ADAPTER: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
from moin_session_adapter import Backend, serve

class Wrong(Backend):
    """Knows no accounts and never issues a cookie."""
    def reset(self, config):
        self.accounts = {}
    def reconfigure(self, config):
        pass
    def request(self, request):
        print("a stray print, which the kit sends to stderr")
        auth = request["auth"]
        if isinstance(auth, dict) and "login" in auth:
            self.accounts[auth["login"]["user"]]  # KeyError: the bug under test
        yields = [op for op in request["ops"] if "get" in op or "macro" in op]
        return {"new": True, "user": None, "set_cookies": [], "results": [None] * len(yields)}
    def cleanup(self, cleanup):
        return []
    def list(self):
        print("another stray print")
        return []

raise SystemExit(serve(Wrong(), {"name": "wrong-on-purpose", "version": "0"}, ["moin-1.9"]))
"#;

/// The wrong adapter's file, written once (tests run in parallel).
fn wrong_adapter() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(dir).expect("the target dir is writable");
        let path = dir.join("wrong_on_purpose_adapter.py");
        std::fs::write(&path, WRONG_ADAPTER).expect("the target dir is writable");
        path
    })
    .clone()
}

fn wrong_adapter_command() -> String {
    format!(
        "{} {} {}",
        sh_quote(&python3()),
        sh_quote(&wrong_adapter().display().to_string()),
        sh_quote(&kit_dir().display().to_string())
    )
}

#[test]
fn kit_reports_a_backend_exception_as_an_errored_case() {
    let (code, stdout, stderr) = check(&wrong_adapter_command(), &["--case", "m19.auth"]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("backend: wrong-on-purpose 0"),
        "{stdout}"
    );
    assert!(stdout.contains("ERROR case"), "{stdout}");
    assert!(
        stdout.contains("KeyError: 'alice' (at wrong_on_purpose_adapter.py:"),
        "the traceback's last line and where it was raised: {stdout}"
    );
    let [passed, failed, errored, _] = summary(&stdout);
    assert!(errored >= 1 && failed >= 1, "the run goes on: {stdout}");
    assert_eq!(
        passed + failed + errored,
        14,
        "every auth case ran, none broke the protocol: {stdout}"
    );
}

/// Speaks the protocol to the kit directly: an unknown message and a
/// malformed one are declined and serving goes on; only replies reach
/// stdout; `shutdown` gives `bye` and exit status 0.
#[test]
fn kit_declines_unknown_messages_and_goes_on() {
    use std::io::Write;
    let mut child = Command::new(python3())
        .arg(wrong_adapter())
        .arg(kit_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let input = [
        r#"{"seq":1,"type":"hello","protocol":1}"#,
        r#"{"seq":2,"type":"frobnicate","what":1}"#,
        r#"{"seq":3,"type":"list"}"#,
        r#"{"seq":4,"type":"corrupt","sid":"0123456789abcdef0123456789abcdef01234567"}"#,
        r#"{"seq":5,"type":"list","extra":true}"#,
        r#"{"seq":6,"type":"shutdown"}"#,
    ];
    let mut stdin = child.stdin.take().unwrap();
    for line in input {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let replies: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a reply ({e}): {l:?}")))
        .collect();
    assert_eq!(replies.len(), 6, "one reply per command: {}", show(&out));
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r["seq"], i + 1, "{stdout}");
    }
    assert_eq!(replies[0]["type"], "hello");
    assert_eq!(replies[0]["protocol"], 2);
    assert_eq!(replies[0]["implementation"]["language"], "python");
    assert_eq!(replies[0]["profiles"], serde_json::json!(["moin-1.9"]));
    assert_eq!(replies[1]["type"], "error");
    assert_eq!(replies[1]["kind"], "unknown-message");
    assert_eq!(
        replies[2],
        serde_json::json!({"seq": 3, "type": "listed", "sids": []})
    );
    assert_eq!(replies[3]["kind"], "unsupported", "corrupt is not offered");
    assert_eq!(
        replies[4]["kind"], "invalid-input",
        "unknown field: {stdout}"
    );
    assert_eq!(replies[5], serde_json::json!({"seq": 6, "type": "bye"}));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another stray print"), "{stderr}");
}

/// The example adapter, made to hang in every request (the shipped class
/// and `main`, its `request` replaced by a long sleep), logging each store
/// directory it makes to the file named by its first argument.
const HANGING_EXAMPLE: &str = r#"
import sys, time
import secure_cookie_adapter as example

log = open(sys.argv[1], "a")
reset = example.SecureCookieBackend.reset

def logged_reset(self, config):
    reset(self, config)
    log.write(self.directory + "\n")
    log.flush()

def hangs(self, request):
    time.sleep(600)

example.SecureCookieBackend.reset = logged_reset
example.SecureCookieBackend.request = hangs
raise SystemExit(example.main())
"#;

/// Issue 24: the runner ends an adapter that timed out with SIGTERM and,
/// 0.5 s later, SIGKILL; the kit turns SIGTERM into `SystemExit`, so the
/// example removes its temporary store directory (the issue found 30 left
/// behind). Two cases time out (`--stop-after-timeouts 2`), each in an
/// adapter of its own: the first and a restarted one.
#[test]
fn the_example_removes_its_store_when_a_step_times_out() {
    let python = venv_python(&venv());
    let tmp = moin_session_testkit::Scratch::new("python-timeout");
    let script = tmp.join("hanging_example.py");
    std::fs::write(&script, HANGING_EXAMPLE).expect("the scratch dir is writable");
    // In the test's own scratch directory: two runs of the suite at once
    // (two checkouts' CI, or a developer's) must not share the log.
    let made = tmp.join("dirs.log");
    let stores = tmp.join("tmp");
    std::fs::create_dir(&stores).expect("the scratch dir is writable");
    let adapter = format!(
        "{} {} {}",
        sh_quote(&python.display().to_string()),
        sh_quote(&script.display().to_string()),
        sh_quote(&made.display().to_string())
    );
    let out = outside_the_clone()
        .env("TMPDIR", &stores)
        .args(["check", "--profile", "moin-1.9", "--case", "m19.load"])
        .args(["--adapter", &adapter, "--step-timeout", "1"])
        .args(["--stop-after-timeouts", "2"])
        .output()
        .expect("the CLI runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        stdout.contains("2 step timeouts in a row"),
        "two adapters timed out: {stdout}"
    );
    let made = std::fs::read_to_string(&made).expect("the example logged its directories");
    let made: Vec<&str> = made.lines().collect();
    assert_eq!(made.len(), 2, "one store per timed-out adapter: {made:?}");
    for dir in &made {
        assert!(dir.starts_with(&stores.display().to_string()), "{dir}");
        assert!(!Path::new(dir).exists(), "{dir} left behind");
    }
    let left: Vec<String> = std::fs::read_dir(&stores)
        .expect("readable")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}
