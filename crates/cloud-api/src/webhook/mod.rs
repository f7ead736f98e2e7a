//! Meta's webhook notifications as Rust types, parsed without loss.
//!
//! Why lossless: Meta has no API to fetch past webhooks, retries a failed delivery for up to
//! 7 days and then drops it, and changes its payloads without notice (new fields, new message
//! types, new keys). So the relay must accept every notification whose signature is valid, and
//! the app must be able to store and re-read it long after this code was written. Parsing here
//! therefore:
//!
//! - never fails on a JSON object ([`WebhookPayload::from_slice`] only rejects invalid JSON);
//! - types everything we know, and keeps anything else as raw JSON right where it was: unknown
//!   keys in each struct's `extra`, unknown or malformed array items as [`Lenient::Raw`],
//!   unknown fields as [`ChangeValue::Unknown`], unknown message types as
//!   [`MessageContent::Other`];
//! - serializes back to a JSON value equal to the one received (a typed value is only accepted
//!   if it round-trips exactly; see `lossless.rs`). Bytes are not preserved — whitespace and
//!   escapes differ — which is why signatures are checked on the raw body, never on a
//!   re-serialization ([`crate::signature`]).
//!
//! Layout: [`envelope`](WebhookPayload) (`object` / `entry` / `changes` / `value`, iteration
//! helpers), the `messages` field ([`MessagesValue`], [`Message`], [`MessageContent`],
//! [`Status`]), templates ([`TemplateStatusUpdate`], ...), account and number events
//! ([`AccountUpdate`], ...), [`UserPreferencesValue`] and groups ([`GroupsValue`]).
//!
//! ```
//! use cloud_api::webhook::{ChangeValue, MessageContent, WebhookPayload};
//!
//! let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",
//!   "changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
//!   "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
//!   "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
//!   "messages":[{"from":"16505551234","id":"wamid.A","timestamp":"1749416383",
//!   "type":"image","image":{"mime_type":"image/jpeg","sha256":"x","id":"1003383421387256"}}]}}]}]}"#;
//! let payload = WebhookPayload::from_slice(body)?;
//!
//! assert_eq!(payload.waba_ids(), ["102290129340398"]);
//! assert_eq!(payload.media_ids(), ["1003383421387256"]);
//! for found in payload.messages() {
//!     assert_eq!(found.contact.and_then(|c| c.name()), Some("Sheena Nelson"));
//!     assert!(matches!(found.message.content, MessageContent::Image(_)));
//! }
//! let (waba_id, change) = payload.changes().next().expect("one change");
//! assert!(matches!(change.value, ChangeValue::Messages(_)));
//! assert_eq!(waba_id, "102290129340398");
//!
//! // Lossless: the value written back equals the value received.
//! let received: serde_json::Value = serde_json::from_slice(body)?;
//! assert_eq!(serde_json::to_value(&payload)?, received);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod account;
mod common;
mod content;
mod envelope;
mod groups;
mod lossless;
mod messages;
mod payloads;
mod round_trip;
mod shared_contact;
mod statuses;
mod templates;
mod user_preferences;

pub use account::{
    AccountAlert, AccountReviewUpdate, AccountUpdate, AlertInfo, BanInfo, BusinessCapabilityUpdate,
    DisconnectionInfo, PhoneNumberNameUpdate, PhoneNumberQualityUpdate, RestrictionInfo,
    SecurityUpdate, ViolationInfo, WabaInfo,
};
pub use common::{ErrorData, Metadata, WebhookError};
pub use content::{Edit, EmbeddedMessage, Interactive, InteractiveReply, MessageContent};
pub use envelope::{
    field, Change, ChangeValue, Entry, MediaRef, MessageRef, StatusRef, WebhookPayload,
};
pub use groups::{GroupEvent, GroupParticipant, GroupsValue};
pub use lossless::{Extra, Lenient, NumberOrString};
pub use messages::{
    find_contact, Contact, Context, Message, MessageEchoesValue, MessagesValue, Profile, Referral,
    ReferredProduct, WelcomeMessage,
};
pub use payloads::{
    Location, Media, NfmReply, Order, ProductItem, QuickReplyButton, Reaction, ReplyChoice, Revoke,
    System, Text, UnsupportedDetail,
};
pub use shared_contact::{
    ContactAddress, ContactEmail, ContactName, ContactOrg, ContactPhone, ContactUrl, SharedContact,
};
pub use statuses::{Conversation, ConversationOrigin, Pricing, Status, StatusKind};
pub use templates::{
    DisableInfo, OtherInfo, RejectionInfo, TemplateCategoryUpdate, TemplateEvent,
    TemplateQualityUpdate, TemplateStatusUpdate,
};
pub use user_preferences::{UserPreference, UserPreferencesValue};
