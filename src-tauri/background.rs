//! Background work of a signed-in device: the sync with the relay, and forwarding the core's
//! events to the UI as typed events.

use dataoptix_core::device::{Device, DeviceEvent, NewMessage};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::attention::Attention;
use crate::events::{
    BroadcastProgress, ExportProgress, InboxChanged, SyncStateChanged, TemplatesChanged,
};
use crate::state::AppState;

/// Starts syncing (if signed in) and forwards events; safe to call again (once per device).
pub async fn start(app: &AppHandle, device: &Device) {
    // Once per device: a device opened anew (after the account was deleted) is followed too.
    let first = !app
        .state::<AppState>()
        .forwarding
        .swap(true, std::sync::atomic::Ordering::SeqCst);
    if first {
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
    if matches!(
        event,
        DeviceEvent::InboxChanged { .. }
            | DeviceEvent::NumbersChanged
            | DeviceEvent::NewMessages { .. }
    ) {
        app.state::<Attention>().changed();
    }
    let sent = match event {
        DeviceEvent::InboxChanged { conversation_ids } => {
            InboxChanged { conversation_ids }.emit(app)
        }
        DeviceEvent::SyncState(state) => SyncStateChanged(state).emit(app),
        DeviceEvent::NumbersChanged => InboxChanged {
            conversation_ids: Vec::new(),
        }
        .emit(app),
        DeviceEvent::TemplatesChanged => TemplatesChanged {}.emit(app),
        DeviceEvent::ExportProgress(p) => ExportProgress {
            stage: serde_json::to_value(p.stage)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            done: p.done,
            total: p.total,
        }
        .emit(app),
        DeviceEvent::BroadcastProgress {
            broadcast_id,
            counts,
        } => BroadcastProgress {
            broadcast_id,
            counts,
        }
        .emit(app),
        DeviceEvent::NewMessages { messages, more } => {
            notify(app, &messages, more);
            Ok(())
        }
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "event not delivered to the window");
    }
}

/// Desktop notifications for new customer messages — not for the conversation on screen while
/// the window has focus. Many at once (a catch-up) become one summary.
fn notify(app: &AppHandle, messages: &[NewMessage], more: usize) {
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    let open = app
        .state::<AppState>()
        .open_conversation
        .load(std::sync::atomic::Ordering::Relaxed);
    let shown: Vec<&NewMessage> = messages
        .iter()
        .filter(|m| !(focused && m.conversation_id == open))
        .collect();
    let (title, body) = match (shown.as_slice(), more) {
        ([], 0) => return,
        ([one], 0) => (one.contact_name.clone(), one.preview.clone()),
        (list, more) => (
            format!("{} new messages", list.len() + more),
            list.iter()
                .map(|m| m.contact_name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    if let Err(e) = app
        .notification()
        .builder()
        .title(title)
        .body(plain_text_body(&body))
        .show()
    {
        tracing::debug!(error = %e, "notification not shown");
    }
}

/// Customer text must show as text. Freedesktop notification servers that advertise
/// `body-markup` (GNOME, KDE, dunst) read `<b>`, `<a href>`, `<img>` in the body; escaping the
/// three markup characters makes them show literally there, as the spec asks clients to do.
fn plain_text_body(text: &str) -> String {
    if cfg!(target_os = "linux") {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn notification_bodies_carry_no_markup() {
        let body = super::plain_text_body("<img src=x onerror=alert(1)> & <a href='javascript:x'>");
        if cfg!(target_os = "linux") {
            assert_eq!(
                body,
                "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;a href='javascript:x'&gt;"
            );
        }
        assert!(!body.contains("<img"), "{body}");
    }
}
