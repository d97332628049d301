//! Scratch directories for tests: fresh, named after the test that made
//! them, and removed when dropped (also when the test fails).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty directory, removed with everything in it when dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new directory named `moin-test-<tag>-<pid>-<n>` in the system's
    /// temporary directory (on disk, as users' stores are).
    pub fn new(tag: &str) -> Scratch {
        let base = std::env::temp_dir();
        Scratch::try_under(&base, tag).unwrap_or_else(|e| {
            panic!(
                "cannot create a scratch directory under {}: {e}",
                base.display()
            )
        })
    }

    /// A new directory for a store whose semantics a test judges, not its
    /// disk: under [`store_base`] (in memory in the default run, where a
    /// busy shared disk would make thousands of renames the test's whole
    /// cost), or as [`Scratch::new`] when none can be made there.
    pub fn for_store(tag: &str) -> Scratch {
        Scratch::try_under(&store_base(), tag).unwrap_or_else(|_| Scratch::new(tag))
    }

    fn try_under(base: &Path, tag: &str) -> std::io::Result<Scratch> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = base.join(format!("moin-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of what is in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// A path in the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

/// Where stores whose semantics a test judges are made
/// ([`Scratch::for_store`]): `/dev/shm` in the default run when the system
/// has it, the system's temporary directory in the long run
/// (`MOIN_LONG_TESTS`) and elsewhere. A test hands it to an adapter as
/// `TMPDIR`.
pub fn store_base() -> PathBuf {
    let memory = Path::new("/dev/shm");
    if !crate::long::long() && memory.is_dir() {
        memory.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
