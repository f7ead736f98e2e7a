//! What calls the user back to the app: the unread count in the window title ("(3) DataOptix",
//! shown by every taskbar), on the launcher badge where the desktop supports one, and next to
//! the tray icon, whose menu brings the window back or quits.

use std::sync::Arc;
use std::time::Duration;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tokio::sync::Notify;

use crate::state::AppState;

const APP_NAME: &str = "DataOptix";
const TRAY_ID: &str = "dataoptix";
/// Changes arrive in bursts (a sync page, a catch-up): count once per burst.
const SETTLE: Duration = Duration::from_millis(250);

/// The window title for `unread` messages.
pub fn title(unread: i64) -> String {
    if unread > 0 {
        format!("({unread}) {APP_NAME}")
    } else {
        APP_NAME.to_owned()
    }
}

/// Wakes the recount; cheap to call on every inbox change.
#[derive(Clone, Default)]
pub struct Attention(Arc<Notify>);

impl Attention {
    pub fn changed(&self) {
        self.0.notify_one();
    }
}

/// Builds the tray icon and starts the task that keeps title, badge and tray label current.
pub fn start(app: &AppHandle) -> tauri::Result<Attention> {
    let open = MenuItem::with_id(app, "open", "Open DataOptix", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .menu(&menu)
        .tooltip(APP_NAME)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    if let Err(e) = tray.build(app) {
        // A desktop without a tray (no StatusNotifier host) still gets title and badge.
        tracing::warn!(error = %e, "no tray icon");
    }

    let attention = Attention::default();
    let wake = attention.0.clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            wake.notified().await;
            tokio::time::sleep(SETTLE).await;
            show(&app).await;
        }
    });
    Ok(attention)
}

fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

async fn show(app: &AppHandle) {
    let unread = match app.state::<AppState>().device().await {
        Ok(device) => device.unread_total().await.unwrap_or(0),
        // Signed out or locked: nothing to count.
        Err(_) => 0,
    };
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.set_title(&title(unread));
        // Supported where the desktop has a launcher badge (e.g. GNOME with libunity).
        let _ = window.set_badge_count((unread > 0).then_some(unread));
    }
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let label = (unread > 0).then(|| unread.to_string());
        let _ = tray.set_title(label);
        let _ = tray.set_tooltip(Some(title(unread)));
    }
}

#[cfg(test)]
mod tests {
    use super::title;

    #[test]
    fn the_title_counts_unread_messages() {
        assert_eq!(title(0), "DataOptix");
        assert_eq!(title(3), "(3) DataOptix");
    }
}
