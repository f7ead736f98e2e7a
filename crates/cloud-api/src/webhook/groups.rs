//! Group fields (`group_lifecycle_update`, `group_participants_update`,
//! `group_settings_update`, `group_status_update`), typed lightly: DataOptix does not manage
//! groups yet, but the official spec has examples of them and they must survive the relay.
//!
//! Participant ids are JSON numbers in Meta's examples and strings in its schema, hence
//! [`NumberOrString`].

use serde::{Deserialize, Serialize};

use super::common::Metadata;
use super::lossless::{Extra, Lenient, NumberOrString};

/// The value of a group change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupsValue {
    /// Always `"whatsapp"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number that owns the groups.
    pub metadata: Metadata,
    /// The group events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Lenient<GroupEvent>>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One group event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupEvent {
    /// When it happened (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<NumberOrString>,
    /// The group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `group_create`, `group_delete`, `group_settings_update`, `group_add_participants`,
    /// `group_remove_participants`, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The id of the API request that caused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Group subject (name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Group description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Participants added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_participants: Option<Vec<GroupParticipant>>,
    /// Participants removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_participants: Option<Vec<GroupParticipant>>,
    /// Keys not modelled here (profile picture, errors, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A participant of a [`GroupEvent`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupParticipant {
    /// The number as given in the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<NumberOrString>,
    /// The participant's WhatsApp id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
