//! The app's state, built once: where the data lives and the [`Device`] once it is unlocked.
//!
//! The device may not open at start-up: without an OS keyring a passphrase is needed first
//! (`unlock_with_passphrase`). Everything else reaches the device through [`AppState::device`].

use std::path::PathBuf;
use std::time::Instant;

use dataoptix_core::device::{Device, DeviceError};
use dataoptix_core::vault::{KeyringStore, PassphraseSource};
use tokio::sync::RwLock;

use crate::ipc::{IpcError, IpcErrorKind};
use crate::startup::Timeline;

/// Environment variable overriding the data directory (tests, several profiles side by side).
pub const DATA_DIR_ENV: &str = "DATAOPTIX_DATA_DIR";
/// Environment variable with the relay URL the sign-up form suggests (the demo sets it).
pub const DEFAULT_RELAY_ENV: &str = "DATAOPTIX_DEFAULT_RELAY";

/// Shared by every command.
pub struct AppState {
    pub data_dir: PathBuf,
    pub default_relay: Option<String>,
    device: RwLock<Option<Device>>,
    /// Set while the device waits for a passphrase: `Some(first_run)`.
    pub needs_passphrase: RwLock<Option<bool>>,
    /// The conversation on screen (0: none): no notification for it while focused.
    pub open_conversation: std::sync::atomic::AtomicI64,
    /// The current device's events are forwarded to the window (`background::start`).
    pub forwarding: std::sync::atomic::AtomicBool,
    /// Files the person chose to attach (file picker) or dropped on the window: the only paths
    /// the webview may have read and sent, so a compromised page cannot send any file on disk.
    chosen_files: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    /// When `run()` started and each start-up step finished, logged at the first paint.
    pub startup: Timeline,
    /// `true` once the start-up attempt to open the device (keyring, store) has finished: it
    /// runs while the window loads, and whatever needs the device waits for it.
    started: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(data_dir: PathBuf, launched: Instant) -> Self {
        Self {
            data_dir,
            default_relay: std::env::var(DEFAULT_RELAY_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty()),
            device: RwLock::new(None),
            needs_passphrase: RwLock::new(None),
            open_conversation: std::sync::atomic::AtomicI64::new(0),
            forwarding: std::sync::atomic::AtomicBool::new(false),
            chosen_files: std::sync::Mutex::new(std::collections::HashSet::new()),
            startup: Timeline::new(launched),
            started: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The start-up attempt to open the device finished (opened, or it needs a passphrase, or
    /// it failed): commands waiting in [`AppState::device`] go on.
    pub fn start_up_finished(&self) {
        self.started.send_replace(true);
    }

    /// Waits for the start-up attempt to open the device (immediate once it finished).
    pub async fn started_up(&self) {
        let mut finished = self.started.subscribe();
        // The sender lives as long as the state, so this only ends with `true`.
        let _ = finished.wait_for(|done| *done).await;
    }

    /// Lets the webview attach these files (the person picked or dropped them).
    pub fn allow_files(&self, paths: impl IntoIterator<Item = PathBuf>) {
        self.chosen_files
            .lock()
            // A set of paths stays consistent whatever panicked while it was held.
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(paths);
    }

    /// Whether the person picked or dropped `path`.
    pub fn file_allowed(&self, path: &std::path::Path) -> bool {
        self.chosen_files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(path)
    }

    /// Opens the device with the OS keyring, or with `passphrase`.
    pub async fn open(&self, passphrase: Option<String>) -> Result<Device, DeviceError> {
        let unlocked = {
            let source = match passphrase {
                Some(p) => PassphraseSource::value(p),
                // The environment variable works for the app too (documented in the README).
                None => PassphraseSource::from_env_value(
                    std::env::var(dataoptix_core::vault::PASSPHRASE_ENV).ok(),
                ),
            };
            Device::unlock(&self.data_dir, &KeyringStore::default(), &source)
        };
        let result = match unlocked {
            Ok(vault) => Device::open_with(vault, device_name()).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(device) => {
                *self.device.write().await = Some(device.clone());
                *self.needs_passphrase.write().await = None;
            }
            Err(DeviceError::NeedsPassphrase { first_run }) => {
                *self.needs_passphrase.write().await = Some(*first_run);
            }
            Err(_) => {}
        }
        result
    }

    /// Drops the device (its data was erased): the next [`AppState::open`] starts afresh, and
    /// its events are forwarded anew.
    pub async fn forget_device(&self) {
        *self.device.write().await = None;
        self.forwarding
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// The unlocked device, or the error the UI shows the passphrase prompt for. Waits for the
    /// start-up attempt to open it first.
    pub async fn device(&self) -> Result<Device, IpcError> {
        self.started_up().await;
        if let Some(device) = self.device.read().await.clone() {
            return Ok(device);
        }
        Err(IpcError::new(
            IpcErrorKind::NeedsPassphrase,
            "DataOptix is locked: enter the passphrase first",
        ))
    }
}

/// How this device appears in the workspace's session list.
fn device_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    match host {
        Some(h) => format!("DataOptix desktop on {h}"),
        None => "DataOptix desktop".into(),
    }
}
