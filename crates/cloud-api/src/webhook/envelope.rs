//! The notification envelope: `object`, `entry[]` (one per WABA), `changes[]` (one per
//! `field`), and the typed `value` of each change.
//!
//! The envelope itself never fails to parse (any JSON object is accepted); an entry or change
//! that does not fit stays raw in place, and a change whose `field` is unknown, or whose value
//! does not fit its type, is [`ChangeValue::Unknown`].

use serde::de::{Deserialize, Deserializer, Unexpected};
use serde::ser::{Serialize, Serializer};
use serde_json::Value;

use super::account::{
    AccountAlert, AccountReviewUpdate, AccountUpdate, BusinessCapabilityUpdate,
    PhoneNumberNameUpdate, PhoneNumberQualityUpdate, SecurityUpdate,
};
use super::common::Metadata;
use super::content::MessageContent;
use super::groups::GroupsValue;
use super::lossless::{typed, Extra, Lenient, NumberOrString};
use super::messages::{Contact, Message, MessageEchoesValue, MessagesValue};
use super::payloads::Media;
use super::round_trip::Checked;
use super::statuses::Status;
use super::templates::{TemplateCategoryUpdate, TemplateQualityUpdate, TemplateStatusUpdate};
use super::user_preferences::UserPreferencesValue;

/// The names of the webhook fields (`changes[].field`) this module types.
pub mod field {
    /// Inbound messages, statuses of sent messages, errors.
    pub const MESSAGES: &str = "messages";
    /// Messages sent from the WhatsApp Business app (coexistence).
    pub const SMB_MESSAGE_ECHOES: &str = "smb_message_echoes";
    /// Template approved, rejected, paused, disabled, ...
    pub const MESSAGE_TEMPLATE_STATUS_UPDATE: &str = "message_template_status_update";
    /// Template quality score changed.
    pub const MESSAGE_TEMPLATE_QUALITY_UPDATE: &str = "message_template_quality_update";
    /// Template category changed or about to change.
    pub const TEMPLATE_CATEGORY_UPDATE: &str = "template_category_update";
    /// Business number throughput / limit changed.
    pub const PHONE_NUMBER_QUALITY_UPDATE: &str = "phone_number_quality_update";
    /// Display name review outcome.
    pub const PHONE_NUMBER_NAME_UPDATE: &str = "phone_number_name_update";
    /// WABA events (partner app installed, restrictions, bans, ...).
    pub const ACCOUNT_UPDATE: &str = "account_update";
    /// WABA policy review outcome.
    pub const ACCOUNT_REVIEW_UPDATE: &str = "account_review_update";
    /// Alerts (messaging limits, OBA, profile).
    pub const ACCOUNT_ALERTS: &str = "account_alerts";
    /// Messaging limit and phone-number caps.
    pub const BUSINESS_CAPABILITY_UPDATE: &str = "business_capability_update";
    /// Marketing opt-out / opt-in.
    pub const USER_PREFERENCES: &str = "user_preferences";
    /// Two-step verification PIN events.
    pub const SECURITY: &str = "security";
    /// Group created or deleted.
    pub const GROUP_LIFECYCLE_UPDATE: &str = "group_lifecycle_update";
    /// Group participants joined or left (Meta's example spelling).
    pub const GROUP_PARTICIPANTS_UPDATE: &str = "group_participants_update";
    /// Group participants joined or left (the spec's enum spelling).
    pub const GROUP_PARTICIPANT_UPDATE: &str = "group_participant_update";
    /// Group settings changed.
    pub const GROUP_SETTINGS_UPDATE: &str = "group_settings_update";
    /// Group status changed.
    pub const GROUP_STATUS_UPDATE: &str = "group_status_update";
}

/// A webhook notification body as Meta POSTs it.
///
/// Parse it from the raw request bytes *after* checking their signature
/// ([`crate::signature::verify`]); serializing it gives back a JSON value equal to the one
/// received, whatever it contained.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebhookPayload {
    /// `"whatsapp_business_account"` for every WhatsApp webhook (a non-string value would be
    /// kept in [`Self::extra`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// One entry per WABA (a non-array value would be kept in [`Self::extra`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<Vec<Lenient<Entry>>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl WebhookPayload {
    /// The `object` of WhatsApp Business Account webhooks.
    pub const OBJECT: &'static str = "whatsapp_business_account";

    /// Parses a notification body. Fails only if `body` is not JSON or not a JSON object.
    pub fn from_slice(body: &[u8]) -> Result<Self, serde_json::Error> {
        Self::from_value(serde_json::from_slice(body)?)
    }

    /// Parses an already decoded notification. Fails only if `value` is not a JSON object.
    pub fn from_value(value: Value) -> Result<Self, serde_json::Error> {
        match value {
            Value::Object(map) => Ok(Self::from_map(map)),
            other => Err(serde::de::Error::invalid_type(
                unexpected(&other),
                &"a JSON object",
            )),
        }
    }

    /// Builds the payload from the top-level object; never fails.
    fn from_map(mut extra: Extra) -> Self {
        let object = match extra.remove("object") {
            Some(Value::String(object)) => Some(object),
            Some(other) => {
                extra.insert("object".to_owned(), other);
                None
            }
            None => None,
        };
        let entry = match extra.remove("entry") {
            Some(Value::Array(items)) => Some(items.into_iter().map(Lenient::from_value).collect()),
            Some(other) => {
                extra.insert("entry".to_owned(), other);
                None
            }
            None => None,
        };
        Self {
            object,
            entry,
            extra,
        }
    }

    /// A `whatsapp_business_account` notification with these entries (for the simulator and
    /// tests).
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Self {
        Self {
            object: Some(Self::OBJECT.to_owned()),
            entry: Some(entries.into_iter().map(Lenient::Typed).collect()),
            extra: Extra::new(),
        }
    }

    /// Whether `object` is `whatsapp_business_account`.
    pub fn is_whatsapp_business_account(&self) -> bool {
        self.object.as_deref() == Some(Self::OBJECT)
    }

    /// The entries that parsed.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entry.iter().flatten().filter_map(Lenient::typed)
    }

    /// Every parsed change with the WABA id of its entry, in payload order.
    pub fn changes(&self) -> impl Iterator<Item = (&str, &Change)> {
        self.entries().flat_map(|entry| {
            entry
                .changes()
                .map(move |change| (entry.id.as_str(), change))
        })
    }

    /// The WABA ids of the entries, without duplicates, in payload order.
    pub fn waba_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for entry in self.entries() {
            if !ids.contains(&entry.id.as_str()) {
                ids.push(&entry.id);
            }
        }
        ids
    }

    /// Every parsed inbound message (field `messages`) with where it arrived and its sender's
    /// profile.
    pub fn messages(&self) -> impl Iterator<Item = MessageRef<'_>> {
        self.changes()
            .filter_map(|(waba_id, change)| Some((waba_id, change.value.as_messages()?)))
            .flat_map(|(waba_id, value)| {
                value.messages().map(move |message| MessageRef {
                    waba_id,
                    metadata: &value.metadata,
                    message,
                    contact: value.contact_for(message),
                    echo: false,
                })
            })
    }

    /// Every parsed echo (field `smb_message_echoes`) with its recipient's profile.
    pub fn echoes(&self) -> impl Iterator<Item = MessageRef<'_>> {
        self.changes()
            .filter_map(|(waba_id, change)| Some((waba_id, change.value.as_message_echoes()?)))
            .flat_map(|(waba_id, value)| {
                value.echoes().map(move |message| MessageRef {
                    waba_id,
                    metadata: &value.metadata,
                    message,
                    contact: value.contact_for(message),
                    echo: true,
                })
            })
    }

    /// Every parsed status (field `messages`) with where it arrived.
    pub fn statuses(&self) -> impl Iterator<Item = StatusRef<'_>> {
        self.changes()
            .filter_map(|(waba_id, change)| Some((waba_id, change.value.as_messages()?)))
            .flat_map(|(waba_id, value)| {
                value.statuses().map(move |status| StatusRef {
                    waba_id,
                    metadata: &value.metadata,
                    status,
                })
            })
    }

    /// The media of every inbound message and echo that carries a media id, so they can be
    /// fetched on arrival (media URLs expire). Edits of media messages are included.
    pub fn media(&self) -> Vec<MediaRef<'_>> {
        self.messages()
            .chain(self.echoes())
            .filter_map(|found| {
                let (kind, media) = found.message.content.media_part()?;
                Some(MediaRef {
                    waba_id: found.waba_id,
                    phone_number_id: &found.metadata.phone_number_id,
                    message_id: &found.message.id,
                    kind,
                    media_id: media.id.as_deref()?,
                    media,
                    echo: found.echo,
                })
            })
            .collect()
    }

    /// The media ids of [`Self::media`], without duplicates, in payload order.
    pub fn media_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for found in self.media() {
            if !ids.contains(&found.media_id) {
                ids.push(found.media_id);
            }
        }
        ids
    }

    /// How many parts were kept as raw JSON because they were unknown or did not fit their
    /// type: raw entries, changes, messages, statuses, echoes and group events, unknown change
    /// values, and message contents of unknown type. Worth logging when not zero.
    pub fn untyped_parts(&self) -> usize {
        fn raw<T>(items: Option<&Vec<Lenient<T>>>) -> usize {
            items
                .into_iter()
                .flatten()
                .filter(|item| item.raw().is_some())
                .count()
        }
        fn other_content<'m>(messages: impl Iterator<Item = &'m Message>) -> usize {
            messages
                .filter(|message| matches!(message.content, MessageContent::Other { .. }))
                .count()
        }
        let mut count = raw(self.entry.as_ref());
        for entry in self.entries() {
            count += raw(Some(&entry.changes));
        }
        for (_, change) in self.changes() {
            count += match &change.value {
                ChangeValue::Unknown(_) => 1,
                ChangeValue::Messages(value) => {
                    raw(value.messages.as_ref())
                        + raw(value.statuses.as_ref())
                        + other_content(value.messages())
                }
                ChangeValue::MessageEchoes(value) => {
                    raw(value.message_echoes.as_ref()) + other_content(value.echoes())
                }
                ChangeValue::Groups(value) => raw(value.groups.as_ref()),
                _ => 0,
            };
        }
        count
    }
}

impl<'de> Deserialize<'de> for WebhookPayload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Extra::deserialize(deserializer).map(Self::from_map)
    }
}

/// How serde describes a JSON value of the wrong type, for error messages.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(boolean) => Unexpected::Bool(*boolean),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(text) => Unexpected::Str(text),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// `entry[]`: the changes of one WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The WABA id.
    pub id: String,
    /// When the change happened (unix seconds); sent on most non-`messages` fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<NumberOrString>,
    /// The changes.
    pub changes: Vec<Lenient<Change>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Entry {
    /// An entry for WABA `id` with these changes.
    pub fn new(id: impl Into<String>, changes: impl IntoIterator<Item = Change>) -> Self {
        Self {
            id: id.into(),
            time: None,
            changes: changes.into_iter().map(Lenient::Typed).collect(),
            extra: Extra::new(),
        }
    }

    /// The changes that parsed.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter_map(Lenient::typed)
    }
}

/// `changes[]`: one `field` and its `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The webhook field, e.g. `messages` (see [`field`]).
    pub field: String,
    /// The value, typed by `field`.
    pub value: ChangeValue,
    /// Keys not modelled here, kept verbatim.
    pub extra: Extra,
}

impl Change {
    /// A change of `field` with `value`.
    pub fn new(field: impl Into<String>, value: ChangeValue) -> Self {
        Self {
            field: field.into(),
            value,
            extra: Extra::new(),
        }
    }
}

#[derive(serde::Deserialize)]
struct ChangeWire {
    field: String,
    value: Value,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(serde::Serialize)]
struct ChangeRef<'a> {
    field: &'a str,
    value: &'a ChangeValue,
    #[serde(flatten)]
    extra: &'a Extra,
}

impl<'de> Deserialize<'de> for Change {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ChangeWire {
            field,
            value,
            extra,
        } = ChangeWire::deserialize(deserializer)?;
        let value = ChangeValue::parse(&field, value);
        Ok(Self {
            field,
            value,
            extra,
        })
    }
}

impl Serialize for Change {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ChangeRef {
            field: &self.field,
            value: &self.value,
            extra: &self.extra,
        }
        .serialize(serializer)
    }
}

/// The `value` of a change, by `field`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValue {
    /// `messages`: inbound messages, statuses, errors.
    Messages(Box<MessagesValue>),
    /// `smb_message_echoes`.
    MessageEchoes(Box<MessageEchoesValue>),
    /// `message_template_status_update`.
    TemplateStatus(Box<TemplateStatusUpdate>),
    /// `message_template_quality_update`.
    TemplateQuality(Box<TemplateQualityUpdate>),
    /// `template_category_update`.
    TemplateCategory(Box<TemplateCategoryUpdate>),
    /// `phone_number_quality_update`.
    PhoneNumberQuality(Box<PhoneNumberQualityUpdate>),
    /// `phone_number_name_update`.
    PhoneNumberName(Box<PhoneNumberNameUpdate>),
    /// `account_update`.
    AccountUpdate(Box<AccountUpdate>),
    /// `account_review_update`.
    AccountReview(Box<AccountReviewUpdate>),
    /// `account_alerts`.
    AccountAlert(Box<AccountAlert>),
    /// `business_capability_update`.
    BusinessCapability(Box<BusinessCapabilityUpdate>),
    /// `user_preferences`.
    UserPreferences(Box<UserPreferencesValue>),
    /// `security`.
    Security(Box<SecurityUpdate>),
    /// `group_lifecycle_update`, `group_participants_update`, `group_settings_update`,
    /// `group_status_update`.
    Groups(Box<GroupsValue>),
    /// Any other field, or a value that did not fit the type of its field, as received.
    Unknown(Value),
}

impl ChangeValue {
    /// Types `raw` by `field`; never fails, see [`Self::Unknown`].
    pub fn parse(field_name: &str, raw: Value) -> Self {
        let parsed = match field_name {
            field::MESSAGES => typed(&raw).map(Self::Messages),
            field::SMB_MESSAGE_ECHOES => typed(&raw).map(Self::MessageEchoes),
            field::MESSAGE_TEMPLATE_STATUS_UPDATE => typed(&raw).map(Self::TemplateStatus),
            field::MESSAGE_TEMPLATE_QUALITY_UPDATE => typed(&raw).map(Self::TemplateQuality),
            field::TEMPLATE_CATEGORY_UPDATE => typed(&raw).map(Self::TemplateCategory),
            field::PHONE_NUMBER_QUALITY_UPDATE => typed(&raw).map(Self::PhoneNumberQuality),
            field::PHONE_NUMBER_NAME_UPDATE => typed(&raw).map(Self::PhoneNumberName),
            field::ACCOUNT_UPDATE => typed(&raw).map(Self::AccountUpdate),
            field::ACCOUNT_REVIEW_UPDATE => typed(&raw).map(Self::AccountReview),
            field::ACCOUNT_ALERTS => typed(&raw).map(Self::AccountAlert),
            field::BUSINESS_CAPABILITY_UPDATE => typed(&raw).map(Self::BusinessCapability),
            field::USER_PREFERENCES => typed(&raw).map(Self::UserPreferences),
            field::SECURITY => typed(&raw).map(Self::Security),
            field::GROUP_LIFECYCLE_UPDATE
            | field::GROUP_PARTICIPANTS_UPDATE
            | field::GROUP_PARTICIPANT_UPDATE
            | field::GROUP_SETTINGS_UPDATE
            | field::GROUP_STATUS_UPDATE => typed(&raw).map(Self::Groups),
            _ => None,
        };
        parsed.unwrap_or(Self::Unknown(raw))
    }

    /// The `messages` value, if this is one.
    pub fn as_messages(&self) -> Option<&MessagesValue> {
        match self {
            Self::Messages(value) => Some(value),
            _ => None,
        }
    }

    /// The `smb_message_echoes` value, if this is one.
    pub fn as_message_echoes(&self) -> Option<&MessageEchoesValue> {
        match self {
            Self::MessageEchoes(value) => Some(value),
            _ => None,
        }
    }

    /// Whether the value was kept raw.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Unknown(_))
    }
}

/// Marked [`Checked`]: a value is only ever parsed by [`ChangeValue::parse`], which checks it
/// against its JSON (or keeps it raw), so the round-trip check of the change and entry around
/// it need not walk it again.
impl Serialize for ChangeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Messages(value) => Checked(value).serialize(serializer),
            Self::MessageEchoes(value) => Checked(value).serialize(serializer),
            Self::TemplateStatus(value) => Checked(value).serialize(serializer),
            Self::TemplateQuality(value) => Checked(value).serialize(serializer),
            Self::TemplateCategory(value) => Checked(value).serialize(serializer),
            Self::PhoneNumberQuality(value) => Checked(value).serialize(serializer),
            Self::PhoneNumberName(value) => Checked(value).serialize(serializer),
            Self::AccountUpdate(value) => Checked(value).serialize(serializer),
            Self::AccountReview(value) => Checked(value).serialize(serializer),
            Self::AccountAlert(value) => Checked(value).serialize(serializer),
            Self::BusinessCapability(value) => Checked(value).serialize(serializer),
            Self::UserPreferences(value) => Checked(value).serialize(serializer),
            Self::Security(value) => Checked(value).serialize(serializer),
            Self::Groups(value) => Checked(value).serialize(serializer),
            Self::Unknown(raw) => Checked(raw).serialize(serializer),
        }
    }
}

/// A message found in a payload, with where it arrived ([`WebhookPayload::messages`],
/// [`WebhookPayload::echoes`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageRef<'a> {
    /// The WABA of the entry.
    pub waba_id: &'a str,
    /// The business number.
    pub metadata: &'a Metadata,
    /// The message.
    pub message: &'a Message,
    /// The user's profile: the sender of an inbound message, the recipient of an echo.
    pub contact: Option<&'a Contact>,
    /// Whether this is an echo of a message the business sent from the WhatsApp Business app.
    pub echo: bool,
}

/// A status found in a payload, with where it arrived ([`WebhookPayload::statuses`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusRef<'a> {
    /// The WABA of the entry.
    pub waba_id: &'a str,
    /// The business number.
    pub metadata: &'a Metadata,
    /// The status.
    pub status: &'a Status,
}

/// A media attachment to fetch ([`WebhookPayload::media`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaRef<'a> {
    /// The WABA of the entry.
    pub waba_id: &'a str,
    /// The business number whose token can fetch it.
    pub phone_number_id: &'a str,
    /// The wamid of the message carrying it.
    pub message_id: &'a str,
    /// `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: &'a str,
    /// The media id for `GET /{media-id}`.
    pub media_id: &'a str,
    /// The whole media object (MIME type, SHA-256, caption, voice flag, ...).
    pub media: &'a Media,
    /// Whether the message is an echo of one sent from the WhatsApp Business app.
    pub echo: bool,
}
