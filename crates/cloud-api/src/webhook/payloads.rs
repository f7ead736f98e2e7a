//! The per-type objects of inbound messages (`message.text`, `message.image`, ...).
//!
//! Shapes follow the official spec (`IncomingMessage` and its variants) and the field shapes in
//! CLOUD-API-NOTES §6.5. Numbers Meta sends without a fixed representation (coordinates,
//! prices, quantities) are kept as [`serde_json::Number`] so that `30` stays `30`; accessors
//! give them as Rust numbers.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::lossless::Extra;

/// `message.text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// The text the user wrote.
    pub body: String,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The media object of `image`, `video`, `audio`, `document` and `sticker` messages.
///
/// One struct for all five: they share `id`, `mime_type` and `sha256`, and differ by one or two
/// optional keys (`caption` for image/video/document, `filename` for documents, `voice` for
/// audio, `animated` for stickers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The media id to fetch with `GET /{media-id}` (then download the returned URL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// MIME type, e.g. `image/jpeg`, `audio/ogg; codecs=opus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Base64 SHA-256 of the file, to check the download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Caption (image, video, document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Original file name (document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// `true` for a recorded voice note, `false` for a forwarded audio file (audio).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<bool>,
    /// Whether the sticker is animated (sticker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
    /// A download URL, present in some webhook versions (still needs the Bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Media {
    /// Whether this audio is a recorded voice note (`voice: true`).
    pub fn is_voice(&self) -> bool {
        self.voice == Some(true)
    }
}

/// `message.location`: a shared pin or the user's current location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Latitude in degrees, as sent.
    pub latitude: Number,
    /// Longitude in degrees, as sent.
    pub longitude: Number,
    /// Place name (chosen places only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Place address (chosen places only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Place URL (chosen places only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Location {
    /// `(latitude, longitude)` as floating-point degrees.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        Some((self.latitude.as_f64()?, self.longitude.as_f64()?))
    }
}

/// `message.button`: the user tapped a quick-reply button of a template message.
///
/// The message's `context` names the template message the button belonged to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReplyButton {
    /// The payload the business set on the button when sending the template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The button label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `message.reaction`: an emoji reaction to a message, or its removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The wamid of the message reacted to.
    pub message_id: String,
    /// The emoji; absent or empty when the user removed their reaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Reaction {
    /// Whether this removes the user's earlier reaction (no emoji, or an empty one).
    pub fn is_removal(&self) -> bool {
        self.emoji.as_deref().is_none_or(str::is_empty)
    }
}

/// `message.order`: a cart sent from a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The catalog the products come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// Text sent with the order (often empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The products ordered.
    pub product_items: Vec<ProductItem>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One line of an [`Order`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductItem {
    /// The product's retailer id (SKU) in the catalog.
    pub product_retailer_id: String,
    /// How many, as sent.
    pub quantity: Number,
    /// Unit price, as sent (`30` or `30.5`).
    pub item_price: Number,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProductItem {
    /// The quantity as an integer.
    pub fn quantity(&self) -> Option<u64> {
        self.quantity.as_u64()
    }

    /// The unit price as a float.
    pub fn item_price(&self) -> Option<f64> {
        self.item_price.as_f64()
    }
}

/// `message.system`: a change on the user's side, e.g. `user_changed_number`.
///
/// System messages come without `contacts`; `wa_id` is the user's new id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    /// Human-readable description, e.g. "User A changed from 1650... to 1219...".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `user_changed_number`, `user_changed_user_id`, `customer_identity_changed`, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The user's new WhatsApp id (number changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// The user's new business-scoped user id (user id changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl System {
    /// Whether the user moved to a new phone number (`wa_id` is the new one).
    pub fn is_number_change(&self) -> bool {
        self.kind.as_deref() == Some("user_changed_number")
    }
}

/// `message.revoke`: the user deleted a message they had sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoke {
    /// The wamid of the deleted message.
    pub original_message_id: String,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The optional `unsupported` object of an `unsupported` message (the type WhatsApp could not
/// deliver to the Cloud API, e.g. `{"type": "poll"}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedDetail {
    /// The message type the user sent.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `interactive.button_reply` or `interactive.list_reply`: the reply button or list row the user
/// picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyChoice {
    /// The id the business gave the button or row.
    pub id: String,
    /// Its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The row description (list replies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `interactive.nfm_reply`: the response of a WhatsApp Flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NfmReply {
    /// `"flow"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The text shown in the chat, e.g. `"Sent"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The Flow's answers: a JSON *string* (kept as received), including `flow_token`.
    pub response_json: String,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl NfmReply {
    /// `response_json` parsed.
    pub fn response(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.response_json)
    }

    /// The `flow_token` inside `response_json`, if any.
    pub fn flow_token(&self) -> Option<String> {
        match self.response().ok()?.get("flow_token")? {
            Value::String(token) => Some(token.clone()),
            _ => None,
        }
    }
}
