//! The `user_preferences` field: a user stopped or resumed marketing messages.
//!
//! A `stop` must be honoured (PRODUCT.md journey 11: restriction, broadcasts exclude opted-out
//! contacts); sending marketing templates anyway fails with 131050.

use serde::{Deserialize, Serialize};

use super::common::Metadata;
use super::lossless::{Extra, NumberOrString};
use super::messages::Contact;

/// The value of a `user_preferences` change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPreferencesValue {
    /// Always `"whatsapp"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number the preference applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The users concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
    /// The preference changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_preferences: Option<Vec<UserPreference>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl UserPreferencesValue {
    /// The preference changes (empty if none).
    pub fn preferences(&self) -> &[UserPreference] {
        self.user_preferences.as_deref().unwrap_or_default()
    }
}

/// One preference change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPreference {
    /// The user's WhatsApp id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// The user's business-scoped user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Human-readable description, e.g. "User requested to stop marketing messages".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `marketing_messages`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `stop` or `resume`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// When the user changed it (unix seconds, a JSON number here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl UserPreference {
    /// Whether the user asked to stop marketing messages.
    pub fn is_marketing_stop(&self) -> bool {
        self.category.as_deref() == Some("marketing_messages")
            && self.value.as_deref() == Some("stop")
    }

    /// Whether the user asked to receive marketing messages again.
    pub fn is_marketing_resume(&self) -> bool {
        self.category.as_deref() == Some("marketing_messages")
            && self.value.as_deref() == Some("resume")
    }
}
