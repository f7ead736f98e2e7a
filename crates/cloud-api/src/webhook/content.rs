//! What a message carries, keyed by its `type`.
//!
//! WhatsApp puts the content of a message under a key named after its type
//! (`{"type": "image", "image": {...}}`), and interactive replies do the same one level down
//! (`{"type": "list_reply", "list_reply": {...}}`). [`MessageContent`] and
//! [`InteractiveReply`] model the types we know and keep any other type, or a known type whose
//! object does not fit, as `Other { kind, payload }`: the message around it (id, sender, time)
//! stays typed and usable, and nothing is lost.
//!
//! `edit` and `revoke` are not in Meta's spec or the project notes' type table; their shapes
//! (`original_message_id`, and for edits the new `message`) follow the fixtures of a
//! third-party client (pywa, MIT) listed in CLOUD-API-NOTES §9.2. If Meta's real shape differs,
//! they simply land in [`MessageContent::Other`].

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::lossless::{typed, Extra};
use super::payloads::{
    Location, Media, NfmReply, Order, QuickReplyButton, Reaction, ReplyChoice, Revoke, System,
    Text, UnsupportedDetail,
};
use super::round_trip::Checked;
use super::shared_contact::SharedContact;

/// The content of a message, by `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// `text`.
    Text(Text),
    /// `image`.
    Image(Media),
    /// `video`.
    Video(Media),
    /// `audio`; a voice note when [`Media::is_voice`].
    Audio(Media),
    /// `document`.
    Document(Media),
    /// `sticker`.
    Sticker(Media),
    /// `location`.
    Location(Location),
    /// `contacts`: shared contact cards.
    Contacts(Vec<SharedContact>),
    /// `interactive`: a reply button, list row or Flow response.
    Interactive(Interactive),
    /// `button`: a template quick-reply button.
    Button(QuickReplyButton),
    /// `reaction`, including its removal.
    Reaction(Reaction),
    /// `order`.
    Order(Order),
    /// `system`, e.g. the user changed number.
    System(System),
    /// `edit`: the user edited an earlier message; carries its new content.
    Edit(Edit),
    /// `revoke`: the user deleted an earlier message.
    Revoke(Revoke),
    /// `unsupported`: a type WhatsApp does not deliver to the Cloud API (the message carries
    /// error 131051); the optional `unsupported` object names it.
    Unsupported(Option<UnsupportedDetail>),
    /// Any other type (including the legacy `unknown`), or a known type whose object did not
    /// fit: the type and its object as received.
    Other {
        /// The `type` as received.
        kind: String,
        /// The object under the key named `kind`, if there was one.
        payload: Option<Value>,
    },
}

impl MessageContent {
    /// Types the `payload` found under the key `kind`; never fails, see [`Self::Other`].
    pub fn from_parts(kind: String, payload: Option<Value>) -> Self {
        let parsed = match &payload {
            Some(raw) => Self::parse_payload(&kind, raw),
            None if kind == "unsupported" => Some(Self::Unsupported(None)),
            None => None,
        };
        parsed.unwrap_or(Self::Other { kind, payload })
    }

    fn parse_payload(kind: &str, raw: &Value) -> Option<Self> {
        match kind {
            "text" => typed(raw).map(Self::Text),
            "image" => typed(raw).map(Self::Image),
            "video" => typed(raw).map(Self::Video),
            "audio" => typed(raw).map(Self::Audio),
            "document" => typed(raw).map(Self::Document),
            "sticker" => typed(raw).map(Self::Sticker),
            "location" => typed(raw).map(Self::Location),
            "contacts" => typed(raw).map(Self::Contacts),
            "interactive" => typed(raw).map(Self::Interactive),
            "button" => typed(raw).map(Self::Button),
            "reaction" => typed(raw).map(Self::Reaction),
            "order" => typed(raw).map(Self::Order),
            "system" => typed(raw).map(Self::System),
            "edit" => typed(raw).map(Self::Edit),
            "revoke" => typed(raw).map(Self::Revoke),
            "unsupported" => typed(raw).map(|detail| Self::Unsupported(Some(detail))),
            _ => None,
        }
    }

    /// The message `type` this content is written with.
    pub fn kind(&self) -> &str {
        match self {
            Self::Text(_) => "text",
            Self::Image(_) => "image",
            Self::Video(_) => "video",
            Self::Audio(_) => "audio",
            Self::Document(_) => "document",
            Self::Sticker(_) => "sticker",
            Self::Location(_) => "location",
            Self::Contacts(_) => "contacts",
            Self::Interactive(_) => "interactive",
            Self::Button(_) => "button",
            Self::Reaction(_) => "reaction",
            Self::Order(_) => "order",
            Self::System(_) => "system",
            Self::Edit(_) => "edit",
            Self::Revoke(_) => "revoke",
            Self::Unsupported(_) => "unsupported",
            Self::Other { kind, .. } => kind,
        }
    }

    /// Writes the `"<kind>": {...}` entry (nothing for a type without object).
    ///
    /// Marked [`Checked`]: a content is only ever parsed by [`Self::from_parts`], which checks
    /// its object against the JSON under that key (or keeps it raw), so the round-trip check
    /// of the message around it need not walk it again.
    pub(crate) fn serialize_payload<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        let kind = self.kind();
        match self {
            Self::Text(text) => map.serialize_entry(kind, &Checked(text)),
            Self::Image(media)
            | Self::Video(media)
            | Self::Audio(media)
            | Self::Document(media)
            | Self::Sticker(media) => map.serialize_entry(kind, &Checked(media)),
            Self::Location(location) => map.serialize_entry(kind, &Checked(location)),
            Self::Contacts(contacts) => map.serialize_entry(kind, &Checked(contacts)),
            Self::Interactive(interactive) => map.serialize_entry(kind, &Checked(interactive)),
            Self::Button(button) => map.serialize_entry(kind, &Checked(button)),
            Self::Reaction(reaction) => map.serialize_entry(kind, &Checked(reaction)),
            Self::Order(order) => map.serialize_entry(kind, &Checked(order)),
            Self::System(system) => map.serialize_entry(kind, &Checked(system)),
            Self::Edit(edit) => map.serialize_entry(kind, &Checked(edit)),
            Self::Revoke(revoke) => map.serialize_entry(kind, &Checked(revoke)),
            Self::Unsupported(Some(detail)) => map.serialize_entry(kind, &Checked(detail)),
            Self::Other {
                payload: Some(payload),
                ..
            } => map.serialize_entry(kind, &Checked(payload)),
            Self::Unsupported(None) | Self::Other { payload: None, .. } => Ok(()),
        }
    }

    /// The media object of an image, video, audio, document or sticker (also inside an edit).
    pub fn media(&self) -> Option<&Media> {
        self.media_part().map(|(_, media)| media)
    }

    /// Like [`Self::media`], with the type of the media message (`image`, `audio`, ...; for an
    /// edit, the type of the new content).
    pub fn media_part(&self) -> Option<(&str, &Media)> {
        match self {
            Self::Image(media)
            | Self::Video(media)
            | Self::Audio(media)
            | Self::Document(media)
            | Self::Sticker(media) => Some((self.kind(), media)),
            Self::Edit(edit) => edit.message.content.media_part(),
            _ => None,
        }
    }

    /// Whether the content is one the app cannot show as such: `unsupported`, the legacy
    /// `unknown`, any type this crate does not know, or a known type that did not parse.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Self::Unsupported(_) | Self::Other { .. })
    }
}

/// Splits a `{"type": K, K: {...}, ...}` object. Wire form shared by [`Interactive`] and
/// [`EmbeddedMessage`].
#[derive(serde::Deserialize)]
struct TaggedWire {
    #[serde(rename = "type")]
    kind: String,
    #[serde(flatten)]
    rest: Extra,
}

/// `edit`: the new content of a message the user edited.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Edit {
    /// The wamid of the message that was edited.
    pub original_message_id: String,
    /// Its new content.
    pub message: Box<EmbeddedMessage>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A message body without envelope (`{"type": ..., <type>: {...}}`), as inside an [`Edit`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedMessage {
    /// The content, by type.
    pub content: MessageContent,
    /// Keys not modelled here, kept verbatim.
    pub extra: Extra,
}

impl<'de> Deserialize<'de> for EmbeddedMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let TaggedWire { kind, mut rest } = TaggedWire::deserialize(deserializer)?;
        let payload = rest.remove(&kind);
        Ok(Self {
            content: MessageContent::from_parts(kind, payload),
            extra: rest,
        })
    }
}

impl Serialize for EmbeddedMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.content.kind())?;
        self.content.serialize_payload(&mut map)?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `message.interactive`: the user's answer to an interactive message.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactive {
    /// The reply, by `interactive.type`.
    pub reply: InteractiveReply,
    /// Keys not modelled here, kept verbatim.
    pub extra: Extra,
}

/// The reply inside [`Interactive`], by `interactive.type`.
#[derive(Debug, Clone, PartialEq)]
pub enum InteractiveReply {
    /// `button_reply`: a reply button was tapped.
    ButtonReply(ReplyChoice),
    /// `list_reply`: a list row was picked.
    ListReply(ReplyChoice),
    /// `nfm_reply`: a Flow was completed.
    NfmReply(NfmReply),
    /// Any other reply type, or a known one whose object did not fit, as received.
    Other {
        /// `interactive.type` as received.
        kind: String,
        /// The object under the key named `kind`, if any.
        payload: Option<Value>,
    },
}

impl InteractiveReply {
    /// Types the `payload` found under the key `kind`; never fails, see [`Self::Other`].
    pub fn from_parts(kind: String, payload: Option<Value>) -> Self {
        let parsed = payload.as_ref().and_then(|raw| match kind.as_str() {
            "button_reply" => typed(raw).map(Self::ButtonReply),
            "list_reply" => typed(raw).map(Self::ListReply),
            "nfm_reply" => typed(raw).map(Self::NfmReply),
            _ => None,
        });
        parsed.unwrap_or(Self::Other { kind, payload })
    }

    /// `interactive.type` as written.
    pub fn kind(&self) -> &str {
        match self {
            Self::ButtonReply(_) => "button_reply",
            Self::ListReply(_) => "list_reply",
            Self::NfmReply(_) => "nfm_reply",
            Self::Other { kind, .. } => kind,
        }
    }

    /// The chosen button or row (button and list replies).
    pub fn choice(&self) -> Option<&ReplyChoice> {
        match self {
            Self::ButtonReply(choice) | Self::ListReply(choice) => Some(choice),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Interactive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let TaggedWire { kind, mut rest } = TaggedWire::deserialize(deserializer)?;
        let payload = rest.remove(&kind);
        Ok(Self {
            reply: InteractiveReply::from_parts(kind, payload),
            extra: rest,
        })
    }
}

impl Serialize for Interactive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let kind = self.reply.kind();
        map.serialize_entry("type", kind)?;
        match &self.reply {
            InteractiveReply::ButtonReply(choice) | InteractiveReply::ListReply(choice) => {
                map.serialize_entry(kind, choice)?;
            }
            InteractiveReply::NfmReply(reply) => map.serialize_entry(kind, reply)?,
            InteractiveReply::Other {
                payload: Some(payload),
                ..
            } => map.serialize_entry(kind, payload)?,
            InteractiveReply::Other { payload: None, .. } => {}
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
