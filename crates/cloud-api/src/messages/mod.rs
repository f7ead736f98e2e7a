//! Outbound messages: the request bodies of `POST /{Phone-Number-ID}/messages`.
//!
//! Every message the desktop app sends, the outbox stores and the simulator receives is one of
//! these types, so there is exactly one definition of what a valid body looks like. They are
//! plain serde data (both `Serialize` and `Deserialize`: the app sends them, the simulator and
//! the tests parse them) with small builders on top.
//!
//! # Shape
//!
//! - [`SendMessage`] is the envelope: `messaging_product: "whatsapp"` (always written),
//!   `recipient_type`, `to`, an optional quoted-reply [`Context`], and exactly one
//!   [`MessageContent`] (text, media, location, contacts, interactive, template, reaction),
//!   written as `"type": "<kind>", "<kind>": {…}`.
//! - [`MarkRead`] is the other body the endpoint accepts (read receipt, typing indicator).
//! - [`MessagesRequest`] parses either one: what a server receiving this endpoint needs.
//! - [`SendResponse`] / [`MarkReadResponse`] are the answers.
//!
//! # Fidelity
//!
//! Bodies serialize to exactly the JSON Meta documents: optional members are omitted, never
//! `null`. All 50 request bodies of Meta's official OpenAPI spec can be built with these types
//! and compare equal as JSON values (`tests/send_examples.rs`), and they validate against the
//! spec's request schema (`tests/spec_requests_messages.rs`, which also documents where the spec
//! and Meta's own examples disagree). Where Meta's examples rely on defaults (no
//! `recipient_type`, no `type`), [`SendMessage::without_recipient_type`] and
//! [`SendMessage::without_type`] reproduce them; the builders otherwise always write both.
//!
//! # Example
//!
//! ```
//! use cloud_api::messages::{Audio, SendMessage, Template, Parameter, MarkRead};
//!
//! // A voice note quoting an earlier message.
//! let voice = SendMessage::new("+16505551234", Audio::id("1234").voice(true)).reply_to("wamid.X");
//! assert_eq!(
//!     serde_json::to_value(&voice).unwrap(),
//!     serde_json::json!({
//!         "messaging_product": "whatsapp",
//!         "recipient_type": "individual",
//!         "to": "+16505551234",
//!         "context": {"message_id": "wamid.X"},
//!         "type": "audio",
//!         "audio": {"id": "1234", "voice": true}
//!     })
//! );
//!
//! // A template with a named body variable.
//! let template = SendMessage::new(
//!     "+16505551234",
//!     Template::new("order_confirmation", "en_US")
//!         .body([Parameter::named_text("first_name", "Jessica")]),
//! );
//! assert_eq!(template.message_type().as_str(), "template");
//!
//! // Read receipt plus "typing…".
//! let read = MarkRead::new("wamid.Y").with_typing_indicator();
//! assert_eq!(serde_json::to_value(&read).unwrap()["typing_indicator"]["type"], "text");
//! ```

mod attachment;
mod commerce;
mod contacts;
mod flow;
mod interactive;
mod location;
mod reaction;
mod read;
mod response;
pub mod tags;
mod template;
mod text;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use attachment::{Audio, Document, Image, MediaSource, Sticker, Video};
pub use commerce::{
    Amount, CatalogMessageAction, CatalogMessageParameters, GoodsType, Order, OrderDetails,
    OrderDetailsAction, OrderItem, OrderStatus, OrderStatusAction, OrderStatusParameters,
    OrderStatusUpdate, ProductAction, ProductItem, ProductListAction, ProductSection,
};
pub use contacts::{Address, Contact, ContactLabel, ContactName, Email, Organization, Phone, Url};
pub use flow::{FlowAction, FlowActionPayload, FlowActionType, FlowMode, FlowParameters, FlowRef};
pub use interactive::{
    Body, CtaUrlAction, CtaUrlParameters, Footer, Header, Interactive, InteractiveKind, ListAction,
    ListRow, ListSection, LocationRequestAction, ReplyButton, ReplyButtonContent,
    ReplyButtonsAction,
};
pub use location::Location;
pub use reaction::Reaction;
pub use read::{MarkRead, TypingIndicator, TypingIndicatorKind};
pub use response::{MarkReadResponse, PacingStatus, SendResponse, SentContact, SentMessage};
pub use template::{
    ButtonAction, ButtonIndex, ButtonParameter, ButtonSubType, Calendar, Component, Currency,
    DateTime, Language, LanguagePolicy, Parameter, Template,
};
pub use text::Text;

/// Who the message goes to: a user (`to` is a phone number or WhatsApp id) or a group
/// (`to` is a group id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientType {
    /// One WhatsApp user (Meta's default).
    #[default]
    Individual,
    /// A WhatsApp group the business created.
    Group,
}

/// Makes a message a quoted reply to an earlier message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// The wamid of the message replied to.
    pub message_id: String,
}

/// The content of a message: its `type` and the object of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageContent {
    /// `text`.
    Text(Text),
    /// `image`.
    Image(Image),
    /// `video`.
    Video(Video),
    /// `audio` (a voice note with `voice: true`).
    Audio(Audio),
    /// `document`.
    Document(Document),
    /// `sticker`.
    Sticker(Sticker),
    /// `location`.
    Location(Location),
    /// `contacts` (one to five cards).
    Contacts(Vec<Contact>),
    /// `interactive` (boxed: far larger than the other contents).
    Interactive(Box<Interactive>),
    /// `template`.
    Template(Template),
    /// `reaction` (or its removal).
    Reaction(Reaction),
}

impl MessageContent {
    /// The `type` this content is sent as.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Text(_) => MessageType::Text,
            Self::Image(_) => MessageType::Image,
            Self::Video(_) => MessageType::Video,
            Self::Audio(_) => MessageType::Audio,
            Self::Document(_) => MessageType::Document,
            Self::Sticker(_) => MessageType::Sticker,
            Self::Location(_) => MessageType::Location,
            Self::Contacts(_) => MessageType::Contacts,
            Self::Interactive(_) => MessageType::Interactive,
            Self::Template(_) => MessageType::Template,
            Self::Reaction(_) => MessageType::Reaction,
        }
    }
}

macro_rules! content_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(
            impl From<$ty> for MessageContent {
                fn from(content: $ty) -> Self {
                    Self::$variant(content)
                }
            }
        )*
    };
}

content_from!(
    Text => Text,
    Image => Image,
    Video => Video,
    Audio => Audio,
    Document => Document,
    Sticker => Sticker,
    Location => Location,
    Vec<Contact> => Contacts,
    Box<Interactive> => Interactive,
    Template => Template,
    Reaction => Reaction,
);

impl From<Interactive> for MessageContent {
    fn from(interactive: Interactive) -> Self {
        Self::Interactive(Box::new(interactive))
    }
}

impl From<Contact> for MessageContent {
    fn from(contact: Contact) -> Self {
        Self::Contacts(vec![contact])
    }
}

/// The value of a message's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// `text`.
    Text,
    /// `image`.
    Image,
    /// `video`.
    Video,
    /// `audio`.
    Audio,
    /// `document`.
    Document,
    /// `sticker`.
    Sticker,
    /// `location`.
    Location,
    /// `contacts`.
    Contacts,
    /// `interactive`.
    Interactive,
    /// `template`.
    Template,
    /// `reaction`.
    Reaction,
}

impl MessageType {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
            Self::Location => "location",
            Self::Contacts => "contacts",
            Self::Interactive => "interactive",
            Self::Template => "template",
            Self::Reaction => "reaction",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to send: envelope plus content.
///
/// Built with [`SendMessage::new`] (or a shortcut such as [`SendMessage::text`]) and refined
/// with [`reply_to`](Self::reply_to), [`recipient_type`](Self::recipient_type) and friends.
/// Serializes to Meta's body; deserializing checks that `messaging_product` is `"whatsapp"` and
/// that `type`, when present, names the content object that is present.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "wire::Incoming")]
pub struct SendMessage {
    /// `individual` or `group`; `None` omits it (Meta then assumes `individual`).
    pub recipient_type: Option<RecipientType>,
    /// Phone number (with `+` and country code), WhatsApp id, or group id.
    pub to: String,
    /// Quoted reply.
    pub context: Option<Context>,
    /// Opaque string (≤ 512 characters) echoed back in this message's status webhooks.
    pub biz_opaque_callback_data: Option<String>,
    /// What is sent.
    pub content: MessageContent,
    /// Whether `type` is written. Always true from the builders and from parsed bodies that
    /// carry `type`; false reproduces bodies relying on Meta's default (see
    /// [`without_type`](Self::without_type)).
    pub explicit_type: bool,
}

impl SendMessage {
    /// A message to one user (`recipient_type: individual`, `type` written).
    pub fn new(to: impl Into<String>, content: impl Into<MessageContent>) -> Self {
        Self {
            recipient_type: Some(RecipientType::Individual),
            to: to.into(),
            context: None,
            biz_opaque_callback_data: None,
            content: content.into(),
            explicit_type: true,
        }
    }

    /// A text message without explicit `preview_url`.
    pub fn text(to: impl Into<String>, body: impl Into<String>) -> Self {
        Self::new(to, Text::new(body))
    }

    /// Reacts to `message_id` with `emoji`.
    pub fn reaction(
        to: impl Into<String>,
        message_id: impl Into<String>,
        emoji: impl Into<String>,
    ) -> Self {
        Self::new(to, Reaction::new(message_id, emoji))
    }

    /// Removes the business's reaction from `message_id`.
    pub fn remove_reaction(to: impl Into<String>, message_id: impl Into<String>) -> Self {
        Self::new(to, Reaction::remove(message_id))
    }

    /// Makes this a quoted reply to `message_id`.
    pub fn reply_to(mut self, message_id: impl Into<String>) -> Self {
        self.context = Some(Context {
            message_id: message_id.into(),
        });
        self
    }

    /// Sets the recipient type (`Group` when `to` is a group id).
    pub fn recipient_type(mut self, recipient_type: RecipientType) -> Self {
        self.recipient_type = Some(recipient_type);
        self
    }

    /// Omits `recipient_type`, relying on Meta's default (`individual`). The spec marks the
    /// member required, so prefer writing it; some of Meta's examples omit it.
    pub fn without_recipient_type(mut self) -> Self {
        self.recipient_type = None;
        self
    }

    /// Omits `type`, relying on Meta's default (`text`). Only sensible for text messages;
    /// exists to reproduce Meta's examples that omit it.
    pub fn without_type(mut self) -> Self {
        self.explicit_type = false;
        self
    }

    /// Sets `biz_opaque_callback_data`, echoed back in status webhooks.
    pub fn callback_data(mut self, data: impl Into<String>) -> Self {
        self.biz_opaque_callback_data = Some(data.into());
        self
    }

    /// The `type` of the content (whether or not it is written).
    pub fn message_type(&self) -> MessageType {
        self.content.message_type()
    }
}

impl Serialize for SendMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        wire::Outgoing {
            messaging_product: tags::WhatsApp,
            recipient_type: self.recipient_type,
            to: &self.to,
            context: self.context.as_ref(),
            biz_opaque_callback_data: self.biz_opaque_callback_data.as_deref(),
            message_type: self.explicit_type.then(|| self.message_type()),
            content: &self.content,
        }
        .serialize(serializer)
    }
}

/// Either body `POST /{phone}/messages` accepts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MessagesRequest {
    /// Send a message.
    Send(Box<SendMessage>),
    /// Mark a message read (optionally with a typing indicator).
    MarkRead(MarkRead),
}

impl<'de> Deserialize<'de> for MessagesRequest {
    /// A body with a `status` member is a mark-as-read request, anything else a send; the
    /// dispatch is explicit so that errors name the real problem instead of "no variant matched".
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let body = serde_json::Value::deserialize(deserializer)?;
        let result = if body.get("status").is_some() {
            serde_json::from_value(body).map(Self::MarkRead)
        } else {
            serde_json::from_value(body).map(|send| Self::Send(Box::new(send)))
        };
        result.map_err(serde::de::Error::custom)
    }
}

impl From<SendMessage> for MessagesRequest {
    fn from(message: SendMessage) -> Self {
        Self::Send(Box::new(message))
    }
}

impl From<MarkRead> for MessagesRequest {
    fn from(read: MarkRead) -> Self {
        Self::MarkRead(read)
    }
}

/// The wire form of [`SendMessage`]: `type` next to the content object it names.
mod wire {
    use serde::{Deserialize, Serialize};

    use super::{tags, Context, MessageContent, MessageType, RecipientType, SendMessage};

    #[derive(Serialize)]
    pub(super) struct Outgoing<'a> {
        pub messaging_product: tags::WhatsApp,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub recipient_type: Option<RecipientType>,
        pub to: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub context: Option<&'a Context>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub biz_opaque_callback_data: Option<&'a str>,
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        pub message_type: Option<MessageType>,
        #[serde(flatten)]
        pub content: &'a MessageContent,
    }

    #[derive(Deserialize)]
    pub(super) struct Incoming {
        #[allow(dead_code)] // Checked by its type: deserializing fails unless it is "whatsapp".
        messaging_product: tags::WhatsApp,
        #[serde(default)]
        recipient_type: Option<RecipientType>,
        to: String,
        #[serde(default)]
        context: Option<Context>,
        #[serde(default)]
        biz_opaque_callback_data: Option<String>,
        #[serde(rename = "type", default)]
        message_type: Option<MessageType>,
        #[serde(flatten)]
        content: MessageContent,
    }

    impl TryFrom<Incoming> for SendMessage {
        type Error = String;

        fn try_from(wire: Incoming) -> Result<Self, Self::Error> {
            let content_type = wire.content.message_type();
            if let Some(declared) = wire.message_type {
                if declared != content_type {
                    return Err(format!(
                        "`type` is \"{declared}\" but the body carries a `{content_type}` object"
                    ));
                }
            }
            Ok(SendMessage {
                recipient_type: wire.recipient_type,
                to: wire.to,
                context: wire.context,
                biz_opaque_callback_data: wire.biz_opaque_callback_data,
                content: wire.content,
                explicit_type: wire.message_type.is_some(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn mismatched_type_is_rejected() {
        let body = json!({
            "messaging_product": "whatsapp",
            "to": "1",
            "type": "image",
            "text": {"body": "hi"}
        });
        let err = serde_json::from_value::<SendMessage>(body).unwrap_err();
        assert!(err.to_string().contains("\"image\""), "{err}");
    }

    #[test]
    fn other_messaging_product_is_rejected() {
        let body = json!({"messaging_product": "sms", "to": "1", "text": {"body": "hi"}});
        assert!(serde_json::from_value::<SendMessage>(body).is_err());
    }

    #[test]
    fn missing_type_is_inferred_and_remembered() {
        let body = json!({"messaging_product": "whatsapp", "to": "1", "text": {"body": "hi"}});
        let message: SendMessage = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(message.message_type(), MessageType::Text);
        assert!(!message.explicit_type);
        assert_eq!(serde_json::to_value(&message).unwrap(), body);
    }

    #[test]
    fn requests_dispatch_on_status() {
        let read: MessagesRequest = serde_json::from_value(json!({
            "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.1"
        }))
        .unwrap();
        assert_eq!(read, MessagesRequest::MarkRead(MarkRead::new("wamid.1")));
        let send: MessagesRequest =
            serde_json::from_value(serde_json::to_value(SendMessage::text("1", "hi")).unwrap())
                .unwrap();
        assert_eq!(send, SendMessage::text("1", "hi").into());
    }

    #[test]
    fn reaction_removal_is_an_empty_emoji() {
        let body = serde_json::to_value(SendMessage::remove_reaction("1", "wamid.1")).unwrap();
        assert_eq!(
            body["reaction"],
            json!({"message_id": "wamid.1", "emoji": ""})
        );
    }

    #[test]
    fn button_index_keeps_its_wire_form() {
        for raw in [json!("0"), json!(3)] {
            let index: ButtonIndex = serde_json::from_value(raw.clone()).unwrap();
            assert_eq!(serde_json::to_value(index).unwrap(), raw);
        }
        assert!(serde_json::from_value::<ButtonIndex>(json!("first")).is_err());
    }

    #[test]
    fn upper_case_sub_types_are_kept_and_recognised() {
        let sub_type: ButtonSubType = serde_json::from_value(json!("CATALOG")).unwrap();
        assert_eq!(sub_type, ButtonSubType::Other("CATALOG".into()));
        assert_eq!(sub_type.canonical(), ButtonSubType::Catalog);
        assert_eq!(serde_json::to_value(&sub_type).unwrap(), "CATALOG");
    }
}
