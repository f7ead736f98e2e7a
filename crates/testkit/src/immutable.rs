//! A file nobody may remove, for tests of work stopped halfway (an erasure that cannot remove
//! a file). `chattr +i` (e2fsprogs): on a filesystem with the flag (ext4), not even root may
//! remove or change the file. Setting it needs root (CAP_LINUX_IMMUTABLE); Linux only.

use std::path::{Path, PathBuf};

/// `path` made immutable until this is dropped: a failing test leaves no folder that nobody
/// can remove.
#[derive(Debug)]
pub struct Immutable(PathBuf);

impl Immutable {
    /// Sets the flag; panics saying why when it cannot be set (not root, no `chattr`, a
    /// filesystem without the flag).
    pub fn set(path: &Path) -> Self {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .expect("chattr (e2fsprogs, installed by scripts/install-deps.sh) runs");
        assert!(
            status.success(),
            "chattr +i {} needs root and a filesystem with the flag (ext4): {status}",
            path.display()
        );
        Self(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        // No assert: this also runs while a failed test unwinds.
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}
