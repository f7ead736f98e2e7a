//! IPC commands. Each one parses its input, calls the core, and maps errors to [`IpcError`].

use serde::Serialize;
use specta::Type;

#[cfg(doc)]
use crate::ipc::IpcError;

/// What the welcome screen shows about this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The product name, "DataOptix".
    pub name: String,
    /// The app's version (the workspace version in Cargo.toml).
    pub version: String,
    /// The Graph API version the app calls by default.
    pub graph_version: String,
}

/// The product name and version, read by the UI through typed IPC.
#[tauri::command]
#[specta::specta]
pub fn app_info() -> AppInfo {
    AppInfo {
        name: "DataOptix".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        graph_version: cloud_api::DEFAULT_GRAPH_VERSION.to_owned(),
    }
}
