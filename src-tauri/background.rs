//! Background work of a signed-in device: the sync with the relay, and forwarding the core's
//! events to the UI as typed events.

use dataoptix_core::device::{Device, DeviceEvent};
use tauri::AppHandle;
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::events::{InboxChanged, SyncStateChanged};

/// Starts syncing (if signed in) and forwards events; safe to call again (once per device).
pub async fn start(app: &AppHandle, device: &Device) {
    static FORWARDING: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if FORWARDING.set(()).is_ok() {
        let mut events = device.subscribe();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => forward(&app, event),
                    // Missed events only mean "refresh": say so once.
                    Err(RecvError::Lagged(_)) => forward(
                        &app,
                        DeviceEvent::InboxChanged {
                            conversation_ids: Vec::new(),
                        },
                    ),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
    if device.account().await.ok().flatten().is_some() {
        if let Err(e) = device.start_background().await {
            tracing::warn!(error = %e, "sync not started");
        }
    }
}

fn forward(app: &AppHandle, event: DeviceEvent) {
    let sent = match event {
        DeviceEvent::InboxChanged { conversation_ids } => {
            InboxChanged { conversation_ids }.emit(app)
        }
        DeviceEvent::SyncState(state) => SyncStateChanged(state).emit(app),
        DeviceEvent::NumbersChanged => InboxChanged {
            conversation_ids: Vec::new(),
        }
        .emit(app),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "event not delivered to the window");
    }
}
