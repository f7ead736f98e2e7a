//! Mark as read, optionally with a typing indicator.
//!
//! Same endpoint as sending (`POST /{phone}/messages`) but a different body: no recipient and
//! no `type`, just `status: "read"` and the wamid. Marking a message read also marks every
//! earlier message of the conversation read. Adding `typing_indicator` shows "typing…" to the
//! user until the business replies or 25 seconds pass.

use serde::{Deserialize, Serialize};

use super::tags;

/// The body of a mark-as-read request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// Always `"whatsapp"`.
    pub messaging_product: tags::WhatsApp,
    /// Always `"read"`.
    pub status: tags::Read,
    /// The wamid of the inbound message to mark read.
    pub message_id: String,
    /// Also show a typing indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typing_indicator: Option<TypingIndicator>,
}

impl MarkRead {
    /// Marks `message_id` (and everything before it) read.
    pub fn new(message_id: impl Into<String>) -> Self {
        Self {
            messaging_product: tags::WhatsApp,
            status: tags::Read,
            message_id: message_id.into(),
            typing_indicator: None,
        }
    }

    /// Also shows "typing…" to the user.
    pub fn with_typing_indicator(mut self) -> Self {
        self.typing_indicator = Some(TypingIndicator::text());
        self
    }
}

/// The `typing_indicator` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypingIndicator {
    /// The kind of indicator.
    #[serde(rename = "type")]
    pub kind: TypingIndicatorKind,
}

impl TypingIndicator {
    /// The text typing indicator ("typing…").
    pub fn text() -> Self {
        Self {
            kind: TypingIndicatorKind::Text,
        }
    }
}

/// The kind of typing indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypingIndicatorKind {
    /// "typing…".
    Text,
}
