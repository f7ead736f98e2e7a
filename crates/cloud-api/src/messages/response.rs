//! Responses of `POST /{phone}/messages`.
//!
//! A successful send only means Meta *accepted* the message; delivery is reported later by
//! status webhooks keyed by the returned wamid. The response is parsed leniently (optional
//! members, unknown pacing statuses kept) because failing to parse a response to a request Meta
//! did accept would make the app retry and send the message twice.

use serde::{Deserialize, Serialize};

use super::tags;

/// The response to a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResponse {
    /// Always `"whatsapp"`.
    #[serde(default)]
    pub messaging_product: tags::WhatsApp,
    /// The recipient as given (`input`) and as resolved (`wa_id`).
    #[serde(default)]
    pub contacts: Vec<SentContact>,
    /// The accepted message (one per request).
    #[serde(default)]
    pub messages: Vec<SentMessage>,
}

impl SendResponse {
    /// The wamid of the accepted message, if Meta returned one.
    pub fn message_id(&self) -> Option<&str> {
        self.messages.first().map(|message| message.id.as_str())
    }
}

/// The recipient of a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentContact {
    /// The `to` of the request, verbatim.
    pub input: String,
    /// The recipient's WhatsApp id (may differ from `input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
}

/// The accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// The wamid, also used by status webhooks.
    pub id: String,
    /// Pacing status, only for template messages subject to pacing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_status: Option<PacingStatus>,
    /// The group, when the message was sent to a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// `messages[].message_status` of a send response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PacingStatus {
    /// Accepted and being processed.
    Accepted,
    /// Held while Meta assesses the template's quality (template pacing).
    HeldForQualityAssessment,
    /// Delivery paused.
    Paused,
    /// A value this crate does not know yet, kept verbatim.
    #[serde(untagged)]
    Other(String),
}

/// The response to a mark-as-read request: `{"success": true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkReadResponse {
    /// Whether the message was marked read.
    pub success: bool,
}
