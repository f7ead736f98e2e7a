//! The `messages` field (inbound messages, statuses, errors) and `smb_message_echoes` (messages
//! the business sent from the WhatsApp Business app), which share the [`Message`] shape.
//!
//! Users are identified by phone (`wa_id`, `from`) and, since 2026, by a business-scoped user
//! id (`user_id`, `from_user_id`); users with a username may come with the user id only. Both
//! are kept, and contacts are matched to messages on either.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::common::{Metadata, WebhookError};
use super::content::MessageContent;
use super::lossless::{Extra, Lenient, NumberOrString};
use super::payloads::Media;
use super::statuses::Status;

/// The value of a `messages` change: inbound messages, or statuses of sent ones, or errors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MessagesValue {
    /// Always `"whatsapp"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number the change is about.
    pub metadata: Metadata,
    /// Profiles of the users the messages come from (absent for system messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
    /// Inbound messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Lenient<Message>>>,
    /// Statuses of messages the business sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<Lenient<Status>>>,
    /// Errors not tied to one message (e.g. 131000 for a payload Meta could not build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<WebhookError>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessagesValue {
    /// The sender profiles.
    pub fn contacts(&self) -> &[Contact] {
        self.contacts.as_deref().unwrap_or_default()
    }

    /// The inbound messages that parsed (malformed ones stay raw in [`Self::messages`]).
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().flatten().filter_map(Lenient::typed)
    }

    /// The statuses that parsed (malformed ones stay raw in [`Self::statuses`]).
    pub fn statuses(&self) -> impl Iterator<Item = &Status> {
        self.statuses.iter().flatten().filter_map(Lenient::typed)
    }

    /// The value-level errors.
    pub fn errors(&self) -> &[WebhookError] {
        self.errors.as_deref().unwrap_or_default()
    }

    /// The profile of the user who sent `message`, see [`find_contact`].
    pub fn contact_for(&self, message: &Message) -> Option<&Contact> {
        find_contact(
            self.contacts(),
            message.from.as_deref(),
            message.from_user_id.as_deref(),
        )
    }

    /// Each parsed message with its sender's profile.
    pub fn messages_with_contacts(&self) -> impl Iterator<Item = (&Message, Option<&Contact>)> {
        self.messages()
            .map(move |message| (message, self.contact_for(message)))
    }
}

/// The value of an `smb_message_echoes` change: messages the business sent from the WhatsApp
/// Business app or a companion device (coexistence), which the Cloud API does not otherwise
/// report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MessageEchoesValue {
    /// Always `"whatsapp"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number the messages were sent from.
    pub metadata: Metadata,
    /// Profiles of the recipients, when Meta includes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
    /// The sent messages: `from` is the business, `to` / `to_user_id` the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_echoes: Option<Vec<Lenient<Message>>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MessageEchoesValue {
    /// The recipient profiles.
    pub fn contacts(&self) -> &[Contact] {
        self.contacts.as_deref().unwrap_or_default()
    }

    /// The echoed messages that parsed.
    pub fn echoes(&self) -> impl Iterator<Item = &Message> {
        self.message_echoes
            .iter()
            .flatten()
            .filter_map(Lenient::typed)
    }

    /// The profile of the user an echoed message was sent to, see [`find_contact`].
    pub fn contact_for(&self, echo: &Message) -> Option<&Contact> {
        find_contact(
            self.contacts(),
            echo.to.as_deref(),
            echo.to_user_id.as_deref(),
        )
    }
}

/// Finds the contact for a user known by phone and/or business-scoped user id: the one whose
/// `wa_id` equals `phone` or whose `user_id` equals `user_id`; failing that, the only contact
/// if there is exactly one (Meta documents that `wa_id` and the phone number "may not always
/// match", e.g. for numbers whose format changed).
pub fn find_contact<'c>(
    contacts: &'c [Contact],
    phone: Option<&str>,
    user_id: Option<&str>,
) -> Option<&'c Contact> {
    let by_id = contacts.iter().find(|contact| {
        (phone.is_some() && contact.wa_id.as_deref() == phone)
            || (user_id.is_some() && contact.user_id.as_deref() == user_id)
    });
    match (by_id, contacts) {
        (Some(contact), _) => Some(contact),
        (None, [only]) => Some(only),
        (None, _) => None,
    }
}

/// `value.contacts[]`: a WhatsApp user's profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// The user's profile (name, username).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// The user's WhatsApp id (their phone number in most cases); absent for users known only
    /// by their business-scoped user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// Business-scoped user id (BSUID), e.g. `US.13491208655302741918`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Parent business-scoped user id, e.g. `US.ENT.11815799212886844830`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_user_id: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Contact {
    /// The profile name, if any.
    pub fn name(&self) -> Option<&str> {
        self.profile.as_ref()?.name.as_deref()
    }

    /// A stable key for the user: the WhatsApp id, else the business-scoped user id.
    pub fn key(&self) -> Option<&str> {
        self.wa_id.as_deref().or(self.user_id.as_deref())
    }
}

/// [`Contact::profile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// The name the user set in WhatsApp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user's WhatsApp username, if they have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A WhatsApp message in a webhook: an inbound message (`messages[]`) or an echo of one the
/// business sent from the WhatsApp Business app (`message_echoes[]`).
///
/// The envelope (id, sender, time, reply context, ad referral, errors) is typed; the content is
/// keyed by `type` in [`MessageContent`].
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The sender's phone number; absent when the user is known only by user id, and on some
    /// system messages.
    pub from: Option<String>,
    /// The sender's business-scoped user id.
    pub from_user_id: Option<String>,
    /// The sender's parent business-scoped user id.
    pub from_parent_user_id: Option<String>,
    /// Echoes only: the user's phone number.
    pub to: Option<String>,
    /// Echoes only: the user's business-scoped user id.
    pub to_user_id: Option<String>,
    /// Echoes only: the user's parent business-scoped user id.
    pub to_parent_user_id: Option<String>,
    /// The message id (wamid): the key to deduplicate on.
    pub id: String,
    /// Unix seconds, sent as a string.
    pub timestamp: NumberOrString,
    /// Set when the message was sent in a group.
    pub group_id: Option<String>,
    /// Reply, forward or product-inquiry context.
    pub context: Option<Context>,
    /// The Click-to-WhatsApp ad or post the user came from.
    pub referral: Option<Referral>,
    /// Errors, e.g. 131051 on `unsupported` messages.
    pub errors: Option<Vec<WebhookError>>,
    /// The content, by `type`.
    pub content: MessageContent,
    /// Keys not modelled here, kept verbatim.
    pub extra: Extra,
}

impl Message {
    /// A message with the given id, time and content, everything else empty (for simulators
    /// and tests; set the other fields directly).
    pub fn new(
        id: impl Into<String>,
        timestamp: impl Into<NumberOrString>,
        content: MessageContent,
    ) -> Self {
        Self {
            from: None,
            from_user_id: None,
            from_parent_user_id: None,
            to: None,
            to_user_id: None,
            to_parent_user_id: None,
            id: id.into(),
            timestamp: timestamp.into(),
            group_id: None,
            context: None,
            referral: None,
            errors: None,
            content,
            extra: Extra::new(),
        }
    }

    /// The message `type`.
    pub fn kind(&self) -> &str {
        self.content.kind()
    }

    /// The sender: phone number, else business-scoped user id.
    pub fn sender(&self) -> Option<&str> {
        self.from.as_deref().or(self.from_user_id.as_deref())
    }

    /// The time as unix seconds.
    pub fn unix_time(&self) -> Option<i64> {
        self.timestamp.as_i64()
    }

    /// The media object, if this is a media message (or an edit of one).
    pub fn media(&self) -> Option<&Media> {
        self.content.media()
    }

    /// The message errors (empty if none).
    pub fn errors(&self) -> &[WebhookError] {
        self.errors.as_deref().unwrap_or_default()
    }

    /// The wamid this message quotes, when it is a reply (or a button tap on a message).
    pub fn reply_to(&self) -> Option<&str> {
        self.context.as_ref()?.id.as_deref()
    }

    /// Whether the user forwarded this message (once or many times).
    pub fn is_forwarded(&self) -> bool {
        self.context.as_ref().is_some_and(|context| {
            context.forwarded == Some(true) || context.frequently_forwarded == Some(true)
        })
    }
}

/// The envelope keys of a [`Message`]; whatever is left holds the content under the key named
/// by `type`, and unknown keys.
#[derive(serde::Deserialize)]
struct MessageWire {
    from: Option<String>,
    from_user_id: Option<String>,
    from_parent_user_id: Option<String>,
    to: Option<String>,
    to_user_id: Option<String>,
    to_parent_user_id: Option<String>,
    id: String,
    timestamp: NumberOrString,
    #[serde(rename = "type")]
    kind: String,
    group_id: Option<String>,
    context: Option<Context>,
    referral: Option<Referral>,
    errors: Option<Vec<WebhookError>>,
    #[serde(flatten)]
    rest: Extra,
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = MessageWire::deserialize(deserializer)?;
        let mut rest = wire.rest;
        let payload = rest.remove(&wire.kind);
        Ok(Self {
            from: wire.from,
            from_user_id: wire.from_user_id,
            from_parent_user_id: wire.from_parent_user_id,
            to: wire.to,
            to_user_id: wire.to_user_id,
            to_parent_user_id: wire.to_parent_user_id,
            id: wire.id,
            timestamp: wire.timestamp,
            group_id: wire.group_id,
            context: wire.context,
            referral: wire.referral,
            errors: wire.errors,
            content: MessageContent::from_parts(wire.kind, payload),
            extra: rest,
        })
    }
}

fn entry_if_some<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(key, value),
        None => Ok(()),
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        entry_if_some(&mut map, "from", &self.from)?;
        entry_if_some(&mut map, "from_user_id", &self.from_user_id)?;
        entry_if_some(&mut map, "from_parent_user_id", &self.from_parent_user_id)?;
        entry_if_some(&mut map, "to", &self.to)?;
        entry_if_some(&mut map, "to_user_id", &self.to_user_id)?;
        entry_if_some(&mut map, "to_parent_user_id", &self.to_parent_user_id)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("type", self.content.kind())?;
        entry_if_some(&mut map, "group_id", &self.group_id)?;
        entry_if_some(&mut map, "context", &self.context)?;
        entry_if_some(&mut map, "referral", &self.referral)?;
        entry_if_some(&mut map, "errors", &self.errors)?;
        self.content.serialize_payload(&mut map)?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `message.context`: what the message replies to, or that it was forwarded, or the product
/// it asks about.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Context {
    /// The sender of the quoted message (the business number for replies to the business).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The wamid of the quoted message (or of the message whose button was tapped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The message was forwarded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<bool>,
    /// The message was forwarded more than five times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequently_forwarded: Option<bool>,
    /// The product the user asks about ("Message business" on a product).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referred_product: Option<ReferredProduct>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`Context::referred_product`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReferredProduct {
    /// The catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// The product's retailer id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_retailer_id: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `message.referral`: the Click-to-WhatsApp ad or post the user tapped to write.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Referral {
    /// The ad or post URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The ad or post id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// `ad` or `post`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// The ad's primary text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The ad's headline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    /// `image` or `video`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The ad image (image ads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The ad video (video ads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// The video thumbnail (video ads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
    /// The click id, for conversion reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctwa_clid: Option<String>,
    /// The greeting shown to the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub welcome_message: Option<WelcomeMessage>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`Referral::welcome_message`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WelcomeMessage {
    /// The greeting text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
