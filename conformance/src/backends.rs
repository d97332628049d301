//! The built-in backends by name, as the command-line tools take them:
//! `model`, `reference-memory`, `reference-file[:DIR]`.

use std::path::PathBuf;

use moin_session_spec::{
    Backend, BackendError, BackendInfo, CleanupOutcome, CleanupRequest, Config, FileStore,
    MemoryStore, Model, ReferenceBackend, Request, Response,
};

/// A built-in backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// The executable model (the oracle itself).
    Model,
    /// The reference service over a `MemoryStore`.
    ReferenceMemory,
    /// The reference service over a `FileStore` in this directory, or in
    /// a fresh temporary one removed afterwards.
    ReferenceFile(Option<PathBuf>),
}

impl BackendChoice {
    /// Parses `model`, `reference-memory`, `reference-file` or
    /// `reference-file:DIR`.
    ///
    /// ```
    /// use moin_session_conformance::backends::BackendChoice;
    /// assert_eq!(BackendChoice::parse("model"), Ok(BackendChoice::Model));
    /// assert_eq!(
    ///     BackendChoice::parse("reference-file:/tmp/s"),
    ///     Ok(BackendChoice::ReferenceFile(Some("/tmp/s".into())))
    /// );
    /// assert!(BackendChoice::parse("reference").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<BackendChoice, String> {
        match s {
            "model" => Ok(BackendChoice::Model),
            "reference-memory" => Ok(BackendChoice::ReferenceMemory),
            "reference-file" => Ok(BackendChoice::ReferenceFile(None)),
            _ => match s.strip_prefix("reference-file:") {
                Some(dir) if !dir.is_empty() => Ok(BackendChoice::ReferenceFile(Some(dir.into()))),
                _ => Err(format!(
                    "{s:?} is not a backend; expected model, reference-memory, reference-file or reference-file:DIR"
                )),
            },
        }
    }

    /// Starts the backend. Each case's reset starts it from an empty store.
    pub fn start(&self) -> Result<Box<dyn Backend>, String> {
        Ok(match self {
            BackendChoice::Model => Box::new(Model::new()),
            BackendChoice::ReferenceMemory => Box::new(ReferenceBackend::new(
                "reference-memory",
                MemoryStore::new(),
            )),
            BackendChoice::ReferenceFile(dir) => file_backend(dir.as_ref())?,
        })
    }
}

/// The reference service over a file store in a temporary directory that
/// it removes when dropped.
struct TempFileBackend {
    inner: ReferenceBackend<FileStore>,
    dir: PathBuf,
}

impl Drop for TempFileBackend {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Backend for TempFileBackend {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn reset(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner.reset(config)
    }
    fn reconfigure(&mut self, config: &Config) -> Result<(), BackendError> {
        self.inner.reconfigure(config)
    }
    fn request(&mut self, request: &Request) -> Result<Response, BackendError> {
        self.inner.request(request)
    }
    fn cleanup(&mut self, request: &CleanupRequest) -> Result<CleanupOutcome, BackendError> {
        self.inner.cleanup(request)
    }
    fn list(&mut self) -> Result<Vec<String>, BackendError> {
        self.inner.list()
    }
    fn corrupt(&mut self, sid: &str) -> Result<(), BackendError> {
        self.inner.corrupt(sid)
    }
    fn interleaves(&self) -> bool {
        self.inner.interleaves()
    }
    fn open(
        &mut self,
        handle: &str,
        request: &Request,
    ) -> Result<moin_session_spec::Opened, BackendError> {
        self.inner.open(handle, request)
    }
    fn ops(
        &mut self,
        handle: &str,
        ops: &[moin_session_spec::Op],
    ) -> Result<Vec<serde_json::Value>, BackendError> {
        self.inner.ops(handle, ops)
    }
    fn finish(
        &mut self,
        handle: &str,
        now: time::OffsetDateTime,
    ) -> Result<moin_session_spec::Finished, BackendError> {
        self.inner.finish(handle, now)
    }
}

fn file_backend(dir: Option<&PathBuf>) -> Result<Box<dyn Backend>, String> {
    let (dir, temporary) = match dir {
        // The runner empties record files in DIR; it never makes a tree
        // the user did not ask for (a typo would otherwise pass silently).
        Some(dir) if !dir.is_dir() => {
            return Err(format!(
                "reference-file:{}: {}; create the directory first",
                dir.display(),
                if dir.exists() {
                    "not a directory"
                } else {
                    "no such directory"
                }
            ))
        }
        Some(dir) => (dir.clone(), false),
        None => {
            // A directory nobody else has: create_dir fails on an existing one.
            let base = std::env::temp_dir();
            let pid = std::process::id();
            let dir = (0u32..1000)
                .map(|n| base.join(format!("moin-session-conformance-{pid}-{n}")))
                .find(|dir| std::fs::create_dir(dir).is_ok())
                .ok_or_else(|| {
                    format!(
                        "reference-file: cannot create a directory under {}",
                        base.display()
                    )
                })?;
            (dir, true)
        }
    };
    let store = FileStore::open(&dir).map_err(|e| format!("reference-file: {e}"))?;
    let inner = ReferenceBackend::new("reference-file", store);
    Ok(if temporary {
        Box::new(TempFileBackend { inner, dir })
    } else {
        Box::new(inner)
    })
}
