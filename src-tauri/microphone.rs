//! The microphone, for recording voice notes in the composer.
//!
//! WebKitGTK ships `getUserMedia` switched off and, having no prompt of its own, refuses every
//! permission request the embedding app does not answer. This turns media streams on and
//! answers requests: the microphone alone (never the camera or the screen), and only for the
//! app's own pages. Pressing the record button is the person's consent; the recording goes
//! nowhere but into the encoded voice note (`send_voice_note`).
//!
//! `DATAOPTIX_FAKE_MICROPHONE=1` replaces the real devices by WebKit's mock capture devices (a
//! generated tone): the end-to-end tests record through the real pipeline on a machine without
//! a sound card.

/// Set (to anything) to record from WebKit's mock microphone instead of a real one.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub const FAKE_MICROPHONE_ENV: &str = "DATAOPTIX_FAKE_MICROPHONE";

/// Lets the app's own pages record from the microphone.
#[cfg(target_os = "linux")]
pub fn allow_voice_notes(window: &tauri::WebviewWindow) {
    use webkit2gtk::glib::object::Cast;
    use webkit2gtk::{
        PermissionRequestExt, SettingsExt, UserMediaPermissionRequest,
        UserMediaPermissionRequestExt, WebViewExt,
    };

    let fake = std::env::var_os(FAKE_MICROPHONE_ENV).is_some();
    let outcome = window.with_webview(move |platform| {
        let view = platform.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_media_stream(true);
            if fake {
                settings.set_enable_mock_capture_devices(true);
            }
        }
        view.connect_permission_request(|view, request| {
            let Some(media) = request.downcast_ref::<UserMediaPermissionRequest>() else {
                // Not ours to decide: WebKit's default (deny) applies.
                return false;
            };
            let own_page = view.uri().is_some_and(|uri| is_app_page(uri.as_str()));
            if own_page && media.is_for_audio_device() && !media.is_for_video_device() {
                request.allow();
            } else {
                tracing::warn!("a capture request other than the app's microphone was denied");
                request.deny();
            }
            true
        });
    });
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "the microphone could not be enabled; voice notes are off");
    }
}

/// Other platforms' webviews ask the operating system, which prompts the person.
#[cfg(not(target_os = "linux"))]
pub fn allow_voice_notes(_window: &tauri::WebviewWindow) {}

/// The app's own pages: the bundled UI (`tauri://localhost`), or the dev server in a debug
/// build.
fn is_app_page(uri: &str) -> bool {
    let bundled = uri == "tauri://localhost" || uri.starts_with("tauri://localhost/");
    let dev = cfg!(debug_assertions)
        && (uri == "http://localhost:5173" || uri.starts_with("http://localhost:5173/"));
    bundled || dev
}

#[cfg(test)]
mod tests {
    use super::is_app_page;

    #[test]
    fn only_the_apps_own_pages_may_record() {
        assert!(is_app_page("tauri://localhost"));
        assert!(is_app_page("tauri://localhost/index.html#/inbox"));
        assert!(!is_app_page("tauri://localhost.evil.example/"));
        assert!(!is_app_page("https://example.com/"));
        assert!(!is_app_page("http://localhost:51730/"));
        assert!(!is_app_page("about:blank"));
    }
}
