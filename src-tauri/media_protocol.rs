//! The `media` URI scheme: `media://localhost/<message id>` (WebKitGTK and WKWebView; on
//! Windows the same handler answers `http://media.localhost/<message id>`) → the message's
//! decrypted media file, for `<img>`, `<video>` and `<audio>` in the thread.
//!
//! The URL names a message, never a file: the path must be a decimal message id, and the core
//! looks the file up by that id in the signed-in workspace (`Device::media`). Anything else —
//! an unknown id, media not downloaded yet, a locked device — is a 404. The plaintext exists
//! only in memory for the response; nothing is cached (`Cache-Control: no-store`).

use std::borrow::Cow;

use tauri::http::{header, Request, Response, StatusCode};
use tauri::{Manager, Runtime, UriSchemeContext, UriSchemeResponder};

use crate::state::AppState;

/// The scheme's name (`media://`).
pub const SCHEME: &str = "media";

/// The asynchronous handler: decrypting a file must not block the webview's thread.
pub fn handle<R: Runtime>(
    ctx: UriSchemeContext<'_, R>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let Some(id) = message_id(request.uri().path()) else {
        responder.respond(not_found());
        return;
    };
    let app = ctx.app_handle().clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let response = match state.device().await {
            Ok(device) => match device.media(id).await {
                Ok((mime, bytes)) => ok(&mime, bytes),
                Err(_) => not_found(),
            },
            Err(_) => not_found(),
        };
        responder.respond(response);
    });
}

/// `/123` → 123; anything else (other characters, `..`, nested paths, zero) → `None`.
pub fn message_id(path: &str) -> Option<i64> {
    let id = path.strip_prefix('/')?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok().filter(|&n: &i64| n > 0)
}

/// The Content-Type to serve: media types the thread plays or shows as such; anything else
/// (including a type that could run script, like `text/html` or `image/svg+xml`) as opaque
/// bytes. The MIME type comes from Meta, which the app does not control.
pub fn content_type(mime: &str) -> &str {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let lower = essence.to_ascii_lowercase();
    let playable = (lower.starts_with("image/") && lower != "image/svg+xml")
        || lower.starts_with("audio/")
        || lower.starts_with("video/")
        || lower == "application/pdf"
        || lower == "text/plain";
    let printable = mime.bytes().all(|b| (0x20..0x7f).contains(&b));
    if playable && printable {
        mime
    } else {
        "application/octet-stream"
    }
}

fn ok(mime: &str, bytes: Vec<u8>) -> Response<Cow<'static, [u8]>> {
    let built = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type(mime))
        .header(header::CACHE_CONTROL, "no-store")
        .header("X-Content-Type-Options", "nosniff")
        // Even if a file were navigated to, it could run nothing.
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        )
        .body(Cow::Owned(bytes));
    built.unwrap_or_else(|_| not_found())
}

fn not_found() -> Response<Cow<'static, [u8]>> {
    let mut response = Response::new(Cow::Borrowed(&b""[..]));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_message_id_is_accepted() {
        assert_eq!(message_id("/42"), Some(42));
        for bad in [
            "",
            "/",
            "/0",
            "/-1",
            "/4a",
            "/../etc/passwd",
            "/1/2",
            "42",
            "/%2e%2e",
            "/1.0",
            "/99999999999999999999",
        ] {
            assert_eq!(message_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn scriptable_types_are_served_as_bytes() {
        assert_eq!(content_type("image/png"), "image/png");
        assert_eq!(
            content_type("audio/ogg; codecs=opus"),
            "audio/ogg; codecs=opus"
        );
        assert_eq!(content_type("application/pdf"), "application/pdf");
        assert_eq!(content_type("text/html"), "application/octet-stream");
        assert_eq!(content_type("image/svg+xml"), "application/octet-stream");
        assert_eq!(
            content_type("image/png\r\nX: y"),
            "application/octet-stream"
        );
    }
}
