//! `dataoptix://` links from the OS: a cold start's URL, a running instance's (forwarded by
//! single-instance), parsed into the core's closed [`DeepLink`] set. Onboarding links are
//! accepted only for a session this app started; everything else is refused with a notice.

use dataoptix_core::device::DeepLink;
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

use crate::events::{DeepLinkRejected, JoinLink, OnboardingLink};
use crate::state::AppState;

/// Handles the URLs of one open request.
pub fn handle(app: &AppHandle, urls: Vec<String>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        for url in urls {
            handle_one(&app, &url).await;
        }
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.set_focus();
        }
    });
}

async fn handle_one(app: &AppHandle, url: &str) {
    let reject = |reason: String| {
        // The link itself is not logged: it may carry an invitation secret.
        tracing::warn!(%reason, "deep link refused");
        let _ = DeepLinkRejected { reason }.emit(app);
    };
    let link = match DeepLink::parse(url) {
        Ok(link) => link,
        Err(e) => return reject(e.to_string()),
    };
    match link {
        DeepLink::OnboardingComplete { session_id } => {
            let state = app.state::<AppState>();
            let ours = match state.device().await {
                Ok(device) => device.started_onboarding(&session_id).await,
                Err(_) => false,
            };
            if ours {
                let _ = OnboardingLink { session_id }.emit(app);
            } else {
                reject("this onboarding link was not started from this app".into());
            }
        }
        DeepLink::Join { .. } => {
            let _ = JoinLink {
                invite_link: url.trim().to_owned(),
            }
            .emit(app);
        }
    }
}
