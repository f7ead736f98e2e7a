//! A small tmpfs the relay keeps its data on, so that a test can fill it to the last byte and
//! free it again: a full disk without filling the machine's.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, Context, Result};

pub struct TinyDisk {
    mount_point: PathBuf,
    _dir: tempfile::TempDir,
}

impl TinyDisk {
    /// Mounts a tmpfs of `megabytes`. Needs root (or CAP_SYS_ADMIN); without it the test must
    /// fail, not skip, so the error says what to do.
    pub fn mount(megabytes: u32) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mount_point = dir.path().join("disk");
        std::fs::create_dir(&mount_point)?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={megabytes}m,mode=0700"),
                "tmpfs",
            ])
            .arg(&mount_point)
            .output()
            .context("running mount(8)")?;
        if !out.status.success() {
            return Err(anyhow!(
                "cannot mount a {megabytes} MB tmpfs at {} ({}): the disk-full test needs root \
                 or CAP_SYS_ADMIN (it runs as root locally and in CI; in a container, grant \
                 --cap-add SYS_ADMIN)",
                mount_point.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            mount_point,
            _dir: dir,
        })
    }

    pub fn path(&self) -> &Path {
        &self.mount_point
    }

    /// Writes a file until the disk refuses another byte (ENOSPC); returns the bytes written.
    pub fn fill(&self) -> Result<u64> {
        let path = self.filler();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let mut written = 0u64;
        // Big chunks first, then single pages, to leave nothing free.
        for chunk in [1 << 20, 4096, 1] {
            let block = vec![0u8; chunk];
            loop {
                match file.write(&block) {
                    Ok(0) => break,
                    Ok(n) => written += n as u64,
                    Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let _ = file.flush();
        Ok(written)
    }

    /// Frees what [`Self::fill`] took.
    pub fn free(&self) -> Result<()> {
        Ok(std::fs::remove_file(self.filler())?)
    }

    fn filler(&self) -> PathBuf {
        self.mount_point.join("filler.bin")
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        // Lazy: a process still holding a file there must not leave the mount behind.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}
