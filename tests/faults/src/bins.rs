//! Locating the workspace's binaries under test.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

/// The binary `name` (e.g. `dataoptix-relay`): in `DATAOPTIX_BIN_DIR` if set, else beside this
/// test's own target directory (test executables live in `<target>/<profile>/deps/`).
pub fn binary(name: &str) -> Result<PathBuf> {
    let dir = match std::env::var_os("DATAOPTIX_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().context("locating the test executable")?;
            exe.parent()
                .and_then(Path::parent)
                .ok_or_else(|| anyhow!("unexpected test executable path {}", exe.display()))?
                .to_owned()
        }
    };
    let bin = dir.join(name);
    if !bin.is_file() {
        return Err(anyhow!(
            "{} does not exist: build it first with `cargo build -p dataoptix-relay -p \
             dataoptix-core --bins` (scripts/test.sh does), or point DATAOPTIX_BIN_DIR at a \
             directory holding it",
            bin.display()
        ));
    }
    Ok(bin)
}
