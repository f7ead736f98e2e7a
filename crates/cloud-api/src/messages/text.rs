//! Text messages (`type: "text"`).

use serde::{Deserialize, Serialize};

/// The `text` object: a body of up to 4096 characters.
///
/// `preview_url: true` asks WhatsApp to render a preview of the first URL in the body. It is
/// optional; Meta's examples write `false` explicitly, so the builder keeps "unset" and "false"
/// apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// The message text (URLs, emoji and WhatsApp markdown allowed).
    pub body: String,
    /// Whether to render a link preview for the first URL in `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<bool>,
}

impl Text {
    /// A text body without an explicit `preview_url`.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            preview_url: None,
        }
    }

    /// Sets `preview_url` explicitly (`true` renders a link preview).
    pub fn preview_url(mut self, preview: bool) -> Self {
        self.preview_url = Some(preview);
        self
    }
}
