//! Where privacy exports go: the user's download folder, without a save dialog (one click,
//! and an end-to-end test can drive it), and which files "Show in folder" may reveal.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager};

use crate::ipc::{IpcError, IpcErrorKind};

/// Environment variable overriding the export folder (tests, kiosk set-ups).
pub const EXPORT_DIR_ENV: &str = "DATAOPTIX_EXPORT_DIR";

/// Every export's file name starts with this (see the core's `device::privacy`).
const EXPORT_PREFIX: &str = "DataOptix export";

/// The export folder: `DATAOPTIX_EXPORT_DIR`, else the OS download folder, else
/// `~/Downloads`. The core creates it if missing.
pub fn export_dir(app: &AppHandle) -> Result<PathBuf, IpcError> {
    if let Some(dir) = std::env::var_os(EXPORT_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let paths = app.path();
    paths
        .download_dir()
        .or_else(|_| paths.home_dir().map(|h| h.join("Downloads")))
        .map_err(|e| {
            IpcError::new(
                IpcErrorKind::Internal,
                format!("there is no download folder to save the export in: {e}"),
            )
        })
}

/// `path` if it is an export in the export folder; the webview names the file, so nothing
/// else on disk may be revealed through this.
pub fn exported_file(app: &AppHandle, path: &str) -> Result<PathBuf, IpcError> {
    let dir = export_dir(app)?;
    check_exported(&dir, Path::new(path))
}

fn check_exported(dir: &Path, path: &Path) -> Result<PathBuf, IpcError> {
    let refused = || IpcError::new(IpcErrorKind::InvalidInput, "not an export of DataOptix");
    // Canonical forms, so `..` or a symlink cannot lead out of the folder.
    let file = path.canonicalize().map_err(|_| refused())?;
    let dir = dir.canonicalize().map_err(|_| refused())?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(refused)?;
    let is_export = file.parent() == Some(dir.as_path())
        && file.is_file()
        && name.starts_with(EXPORT_PREFIX)
        && name.ends_with(".zip");
    if is_export {
        Ok(file)
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exports_in_the_folder_are_revealed() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("Downloads");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let export = dir.join("DataOptix export – Ana – 2026-11-25.zip");
        std::fs::write(&export, b"zip").expect("write");
        let other = dir.join("notes.zip");
        std::fs::write(&other, b"zip").expect("write");
        let outside = root.path().join("DataOptix export – x – 2026-11-25.zip");
        std::fs::write(&outside, b"zip").expect("write");

        assert!(check_exported(&dir, &export).is_ok());
        let sneaky = dir.join("..").join(outside.file_name().expect("name"));
        for refused in [other.as_path(), outside.as_path(), sneaky.as_path(), &dir] {
            assert!(check_exported(&dir, refused).is_err(), "{refused:?}");
        }
        assert!(check_exported(&dir, &dir.join("DataOptix export – missing.zip")).is_err());
    }
}
