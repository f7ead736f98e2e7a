//! `value.statuses[]` of the `messages` field: what happened to a message the business sent.
//!
//! Statuses arrive at least once and in no guaranteed order (a `read` may come before its
//! `delivered`, or `delivered` may never come because it is implied); the store decides
//! precedence. `conversation` is omitted from v24.0 on except for free entry-point windows, and
//! `pricing.billable` is being deprecated, so everything here except the identity of the status
//! is optional.

use serde::{Deserialize, Serialize};

use super::common::WebhookError;
use super::lossless::{open_enum, Extra, NumberOrString};

open_enum! {
    /// `statuses[].status`.
    pub enum StatusKind {
        /// Accepted by WhatsApp and sent to the recipient.
        Sent = "sent",
        /// Delivered to the recipient's device.
        Delivered = "delivered",
        /// Read by the recipient (only when read receipts are on).
        Read = "read",
        /// First play of a voice message.
        Played = "played",
        /// Could not be sent or delivered; see `errors`.
        Failed = "failed",
        /// Deleted by the recipient (older API versions).
        Deleted = "deleted",
    }
}

/// One status of a message the business sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The wamid of the message this status is about.
    pub id: String,
    /// What happened.
    pub status: StatusKind,
    /// Unix seconds, sent as a string.
    pub timestamp: NumberOrString,
    /// The user's phone number / WhatsApp id, or the group id for group messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    /// `"group"` for messages sent to a group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_type: Option<String>,
    /// The group, for messages sent to a group (in the spec's `Statuses` schema).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// For group messages: the participant the status is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_participant_id: Option<String>,
    /// The hash the message was sent with (`recipient_identity_key_hash`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_identity_key_hash: Option<String>,
    /// The `biz_opaque_callback_data` the message was sent with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
    /// The conversation (pricing window) the message opened or belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    /// How the message is billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    /// Why the message failed (with `status: failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<WebhookError>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Status {
    /// The errors of a failed status (empty otherwise).
    pub fn errors(&self) -> &[WebhookError] {
        self.errors.as_deref().unwrap_or_default()
    }

    /// Whether this status reports a failure.
    pub fn is_failed(&self) -> bool {
        self.status == StatusKind::Failed
    }
}

/// `statuses[].conversation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Conversation id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the conversation window closes (unix seconds); only on the first `sent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_timestamp: Option<NumberOrString>,
    /// What opened the conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<ConversationOrigin>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `conversation.origin`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationOrigin {
    /// `authentication`, `marketing`, `utility`, `service`, `referral_conversion`, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `statuses[].pricing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// Whether the message is billed (being deprecated by Meta).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable: Option<bool>,
    /// `CBP` (conversation-based, before 2025-07-01) or `PMP` (per-message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing_model: Option<String>,
    /// `authentication`, `authentication-international`, `marketing`, `marketing_lite`,
    /// `referral_conversion`, `service`, `utility`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `regular`, `free_customer_service` or `free_entry_point`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
