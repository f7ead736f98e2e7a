//! Small objects shared by several webhook fields: the business number's `metadata` and Meta's
//! asynchronous error object.

use serde::{Deserialize, Serialize};

use super::lossless::Extra;

/// `value.metadata`: which business phone number the change is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The business number as displayed, e.g. `"15550783881"`.
    pub display_phone_number: String,
    /// The business phone number id used in Graph paths (`/{phone_number_id}/messages`).
    pub phone_number_id: String,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An error delivered in a webhook (`value.errors`, `messages[].errors`, `statuses[].errors`).
///
/// The code is what to act on ([`crate::error`] classifies it); Meta says titles "will
/// eventually be deprecated" and recommends `code` and `error_data.details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookError {
    /// Meta's error code, e.g. `131051` (unsupported message type) or `131049`.
    pub code: i64,
    /// Short title, e.g. `"Message type unknown"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message, usually equal to the title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `error_data.details`: the most specific explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_data: Option<ErrorData>,
    /// Link to the error-code documentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl WebhookError {
    /// `error_data.details`, if present.
    pub fn details(&self) -> Option<&str> {
        self.error_data.as_ref()?.details.as_deref()
    }
}

/// `error_data` of a [`WebhookError`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorData {
    /// What went wrong, in most detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
