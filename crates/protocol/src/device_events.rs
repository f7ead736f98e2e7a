//! Workspace device events: what a device appends to the log (`POST /v1/events`, kind
//! `device`), sealed to the workspace public key, and what every device (its author included)
//! reads back and applies.
//!
//! The plaintext is one [`DeviceEnvelope`] as JSON:
//!
//! ```json
//! {"v": 1, "id": "<client_event_id>", "event": {"type": "conversation_field", ...}}
//! ```
//!
//! Why this shape:
//! - **Versioned** (`v`): a reader keeps going on versions it does not know; fields are only
//!   ever added (with defaults), never renamed, so old and new desktops share one log.
//! - **Unknown types never fail a page**: [`DeviceEnvelope::parse`] returns
//!   [`ParsedEvent::Unknown`] with the raw JSON for a `type` this build does not know (a newer
//!   desktop wrote it), and [`ParsedEvent::Invalid`] for a known type that does not fit; the
//!   caller keeps both raw.
//! - **Conversations are named, not numbered**: local row ids differ per device, so an event
//!   names a conversation by `(phone_number_id, contact)`.
//! - **Concurrent edits converge**: every mutable value carries its clock `(at, device)` —
//!   milliseconds and the author's session id — and the highest clock wins whatever order the
//!   events are applied in (last writer wins).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The version this crate writes.
pub const DEVICE_EVENT_VERSION: u32 = 1;

/// Who did it: the workspace user (relay user id) and their display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub user_id: String,
    #[serde(default)]
    pub name: String,
}

/// A customer, as Meta names them: `wa_id` and/or the business-scoped `user_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

impl ContactRef {
    /// True when neither id is set (such a reference names nobody).
    pub fn is_empty(&self) -> bool {
        self.wa_id.as_deref().is_none_or(str::is_empty)
            && self.user_id.as_deref().is_none_or(str::is_empty)
    }
}

/// A message this workspace sent through the Cloud API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSent {
    pub phone_number_id: String,
    /// The `to` of the request, as sent.
    pub to: String,
    /// The customer the conversation is with.
    #[serde(default)]
    pub contact: ContactRef,
    /// Meta's id of the accepted message.
    pub wamid: String,
    /// The exact request body sent to `POST /{phone}/messages`.
    pub message: Value,
    /// Unix seconds.
    pub sent_at: i64,
    pub author: Author,
    /// The outbox idempotency key.
    pub client_id: String,
}

/// The per-conversation values the team edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationFieldName {
    /// A JSON array of label strings (the whole set: set semantics would need a CRDT).
    Labels,
    /// A user id, or `null` for nobody.
    AssignedTo,
    /// `true` / `false`.
    Archived,
    /// `{"wamid": "...", "ts": <unix seconds>}`: read up to and including that message.
    ReadUpTo,
}

impl ConversationFieldName {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Labels => "labels",
            Self::AssignedTo => "assigned_to",
            Self::Archived => "archived",
            Self::ReadUpTo => "read_up_to",
        }
    }
}

/// A conversation value set by a device; last writer wins per (conversation, field) by
/// `(at, device)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationField {
    pub phone_number_id: String,
    pub contact: ContactRef,
    pub field: ConversationFieldName,
    pub value: Value,
    /// Unix milliseconds on the author's device.
    pub at: i64,
    /// The author's session id: breaks ties between equal `at`.
    pub device: String,
    pub author: Author,
}

/// An internal note on a conversation; idempotent by `note_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAdded {
    pub note_id: Uuid,
    pub phone_number_id: String,
    pub contact: ContactRef,
    pub text: String,
    /// Unix milliseconds.
    pub at: i64,
    pub author: Author,
}

/// A quick reply created, changed or deleted; last writer wins per `id` by `(at, device)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReplySet {
    pub id: String,
    pub shortcut: String,
    pub text: String,
    #[serde(default)]
    pub deleted: bool,
    /// Unix milliseconds.
    pub at: i64,
    pub device: String,
    pub author: Author,
}

/// The per-contact values the team corrects (data-protection rectification and restriction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactFieldName {
    /// The business's name for the contact: a string, or `null` for the profile name again.
    DisplayName,
    /// `true` / `false`: no sends, no broadcasts while restricted.
    Restricted,
}

impl ContactFieldName {
    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DisplayName => "display_name",
            Self::Restricted => "restricted",
        }
    }
}

/// A contact value set by a device; last writer wins per (contact, field) by `(at, device)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactField {
    pub contact: ContactRef,
    pub field: ContactFieldName,
    pub value: Value,
    /// Unix milliseconds on the author's device.
    pub at: i64,
    /// The author's session id: breaks ties between equal `at`.
    pub device: String,
    pub author: Author,
}

/// A contact erased (data-protection erasure) on one device: every device erases what it holds
/// about them up to `at`. Messages the customer sent after `at` are a new conversation and stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactErased {
    pub contact: ContactRef,
    /// Unix milliseconds on the author's device.
    pub at: i64,
    pub author: Author,
}

/// The workspace's retention policy, set by an owner or an admin: every device keeps its
/// history by it (applied from `device_manager` events only). `None`: kept without limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicySet {
    #[serde(default)]
    pub messages_days: Option<u32>,
    #[serde(default)]
    pub media_days: Option<u32>,
    #[serde(default)]
    pub raw_events_days: Option<u32>,
    /// Unix milliseconds on the author's device: the newest policy wins.
    pub at: i64,
    /// The author's session id: breaks ties between equal `at`.
    pub device: String,
    pub author: Author,
}

/// A WhatsApp number connected to the workspace, with its business token. The token travels
/// only inside the sealed envelope, so only the workspace's devices can read it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberConnected {
    pub waba_id: String,
    pub phone_number_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,
    pub token: String,
    /// Unix milliseconds: a later connection (a fresh token) wins.
    pub at: i64,
    pub author: Author,
}

// The token must never reach a log through `{:?}`.
impl std::fmt::Debug for NumberConnected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumberConnected")
            .field("waba_id", &self.waba_id)
            .field("phone_number_id", &self.phone_number_id)
            .field("display_phone_number", &self.display_phone_number)
            .field("verified_name", &self.verified_name)
            .field("token", &"<redacted>")
            .field("at", &self.at)
            .field("author", &self.author)
            .finish()
    }
}

/// Every device event type this build knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeviceEvent {
    MessageSent(MessageSent),
    ConversationField(ConversationField),
    NoteAdded(NoteAdded),
    QuickReplySet(QuickReplySet),
    NumberConnected(NumberConnected),
    ContactField(ContactField),
    ContactErased(ContactErased),
    RetentionPolicySet(RetentionPolicySet),
}

impl DeviceEvent {
    /// Whether only an owner's or admin's device may make this change (a customer erased
    /// everywhere, the team's retention, the team's business token): it is appended marked
    /// (`manager: true`, which the relay refuses to agents), and devices apply it only from
    /// an event the relay marked.
    pub fn needs_manager(&self) -> bool {
        matches!(
            self,
            Self::ContactErased(_) | Self::RetentionPolicySet(_) | Self::NumberConnected(_)
        )
    }

    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::MessageSent(_) => "message_sent",
            Self::ConversationField(_) => "conversation_field",
            Self::NoteAdded(_) => "note_added",
            Self::QuickReplySet(_) => "quick_reply_set",
            Self::NumberConnected(_) => "number_connected",
            Self::ContactField(_) => "contact_field",
            Self::ContactErased(_) => "contact_erased",
            Self::RetentionPolicySet(_) => "retention_policy_set",
        }
    }
}

const KNOWN_TYPES: &[&str] = &[
    "message_sent",
    "conversation_field",
    "note_added",
    "quick_reply_set",
    "number_connected",
    "contact_field",
    "contact_erased",
    "retention_policy_set",
];

/// The plaintext of a `device` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEnvelope {
    /// Schema version ([`DEVICE_EVENT_VERSION`] when written by this build).
    pub v: u32,
    /// The `client_event_id` the event was appended with (idempotency at the relay).
    pub id: String,
    pub event: DeviceEvent,
}

/// What a device event's plaintext turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedEvent {
    /// A type this build knows, well-formed.
    Known(Box<DeviceEnvelope>),
    /// A `type` this build does not know (written by a newer desktop): keep it raw.
    Unknown { type_name: String, raw: Value },
    /// Not a device envelope, or a known type that does not fit its schema: keep it raw.
    Invalid { error: String, raw: Value },
}

impl DeviceEnvelope {
    /// Wraps `event` in a version-1 envelope with the client event id `id`.
    pub fn new(id: impl Into<String>, event: DeviceEvent) -> Self {
        Self {
            v: DEVICE_EVENT_VERSION,
            id: id.into(),
            event,
        }
    }

    /// Sorts a decoded plaintext into known, unknown and invalid; never fails.
    pub fn parse(raw: Value) -> ParsedEvent {
        let type_name = raw
            .get("event")
            .and_then(|e| e.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string);
        match type_name {
            Some(t) if !KNOWN_TYPES.contains(&t.as_str()) => {
                ParsedEvent::Unknown { type_name: t, raw }
            }
            _ => match serde_json::from_value::<DeviceEnvelope>(raw.clone()) {
                Ok(envelope) => ParsedEvent::Known(Box::new(envelope)),
                Err(e) => ParsedEvent::Invalid {
                    error: e.to_string(),
                    raw,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn author() -> Author {
        Author {
            user_id: "u1".into(),
            name: "Ana".into(),
        }
    }

    #[test]
    fn field_event_json_shape_and_round_trip() {
        let envelope = DeviceEnvelope::new(
            "c1",
            DeviceEvent::ConversationField(ConversationField {
                phone_number_id: "106".into(),
                contact: ContactRef {
                    wa_id: Some("1650".into()),
                    user_id: None,
                },
                field: ConversationFieldName::Labels,
                value: json!(["vip"]),
                at: 5,
                device: "d1".into(),
                author: author(),
            }),
        );
        let v = serde_json::to_value(&envelope).unwrap();
        assert_eq!(
            v,
            json!({"v": 1, "id": "c1", "event": {"type": "conversation_field",
                "phone_number_id": "106", "contact": {"wa_id": "1650"}, "field": "labels",
                "value": ["vip"], "at": 5, "device": "d1",
                "author": {"user_id": "u1", "name": "Ana"}}})
        );
        assert_eq!(
            DeviceEnvelope::parse(v),
            ParsedEvent::Known(Box::new(envelope))
        );
    }

    #[test]
    fn contact_events_json_shape_and_round_trip() {
        let contact = ContactRef {
            wa_id: Some("1650".into()),
            user_id: Some("US.1".into()),
        };
        let field = DeviceEnvelope::new(
            "c2",
            DeviceEvent::ContactField(ContactField {
                contact: contact.clone(),
                field: ContactFieldName::DisplayName,
                value: json!("Mrs Ana"),
                at: 7,
                device: "d1".into(),
                author: author(),
            }),
        );
        let v = serde_json::to_value(&field).unwrap();
        assert_eq!(v["event"]["type"], "contact_field");
        assert_eq!(v["event"]["field"], "display_name");
        assert_eq!(
            DeviceEnvelope::parse(v),
            ParsedEvent::Known(Box::new(field))
        );
        let erased = DeviceEnvelope::new(
            "c3",
            DeviceEvent::ContactErased(ContactErased {
                contact,
                at: 9,
                author: author(),
            }),
        );
        let v = serde_json::to_value(&erased).unwrap();
        assert_eq!(
            v["event"],
            json!({"type": "contact_erased", "contact": {"wa_id": "1650", "user_id": "US.1"},
                "at": 9, "author": {"user_id": "u1", "name": "Ana"}})
        );
        assert_eq!(
            DeviceEnvelope::parse(v),
            ParsedEvent::Known(Box::new(erased))
        );
    }

    #[test]
    fn unknown_types_and_bad_shapes_are_kept_not_failed() {
        let future = json!({"v": 2, "id": "x", "event": {"type": "poll_created", "q": "?"}});
        assert!(matches!(
            DeviceEnvelope::parse(future.clone()),
            ParsedEvent::Unknown { ref type_name, ref raw } if type_name == "poll_created" && *raw == future
        ));
        let broken = json!({"v": 1, "id": "x", "event": {"type": "note_added", "text": 3}});
        assert!(matches!(
            DeviceEnvelope::parse(broken),
            ParsedEvent::Invalid { .. }
        ));
        assert!(matches!(
            DeviceEnvelope::parse(json!([1, 2])),
            ParsedEvent::Invalid { .. }
        ));
    }

    #[test]
    fn number_connected_debug_hides_the_token() {
        let event = NumberConnected {
            waba_id: "w".into(),
            phone_number_id: "p".into(),
            display_phone_number: None,
            verified_name: None,
            token: "EAAsecret".into(),
            at: 1,
            author: author(),
        };
        let shown = format!("{:?}", DeviceEvent::NumberConnected(event));
        assert!(!shown.contains("EAAsecret"), "{shown}");
    }
}
