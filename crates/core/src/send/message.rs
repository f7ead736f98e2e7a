//! What the user sends: [`OutgoingMessage`], its checks, and the typed columns of its local row.

use cloud_api::messages::{MediaSource, MessageContent, SendMessage};
use serde_json::Value;

use crate::store::NewMessage;

/// A message to send, or a read receipt. Content is built with `cloud_api::messages`'
/// builders (`Text`, `Image::id(..)`, `Audio::id(..).voice(true)`, `Location`, contacts,
/// `Interactive::reply_buttons(..)` / `list(..)` / `cta_url(..)`, `Template::new(..)`,
/// `Reaction::new(..)` / `Reaction::remove(..)`), so the request body is the one Meta documents.
#[derive(Debug, Clone, PartialEq)]
pub enum OutgoingMessage {
    /// A message of any type, optionally quoting an earlier one.
    Send {
        /// What is sent.
        content: MessageContent,
        /// The quoted message's wamid.
        reply_to: Option<String>,
    },
    /// A read receipt for an inbound message (and every earlier one), optionally showing
    /// "typing…".
    MarkRead {
        /// The inbound message's wamid.
        message_id: String,
        /// Also show the typing indicator.
        typing_indicator: bool,
    },
}

impl OutgoingMessage {
    /// Any content (`Text`, `Image`, `Template`, `Reaction`, ...).
    pub fn new(content: impl Into<MessageContent>) -> Self {
        Self::Send {
            content: content.into(),
            reply_to: None,
        }
    }

    /// A text message; `preview_url` renders a preview of its first link.
    pub fn text(body: impl Into<String>, preview_url: bool) -> Self {
        let text = cloud_api::messages::Text::new(body);
        Self::new(if preview_url {
            text.preview_url(true)
        } else {
            text
        })
    }

    /// The same message as a quoted reply to `wamid`.
    pub fn reply_to(self, wamid: impl Into<String>) -> Self {
        match self {
            Self::Send { content, .. } => Self::Send {
                content,
                reply_to: Some(wamid.into()),
            },
            read => read,
        }
    }

    /// A read receipt for `wamid`.
    pub fn mark_read(wamid: impl Into<String>, typing_indicator: bool) -> Self {
        Self::MarkRead {
            message_id: wamid.into(),
            typing_indicator,
        }
    }

    /// `message`, `reaction` or `mark_read`: how the outbox handles it.
    pub(crate) fn item_kind(&self) -> &'static str {
        match self {
            Self::Send {
                content: MessageContent::Reaction(_),
                ..
            } => "reaction",
            Self::Send { .. } => "message",
            Self::MarkRead { .. } => "mark_read",
        }
    }

    /// Templates may be sent outside the 24-hour window; read receipts need none.
    pub(crate) fn needs_window(&self) -> bool {
        !matches!(
            self,
            Self::MarkRead { .. }
                | Self::Send {
                    content: MessageContent::Template(_),
                    ..
                }
        )
    }
}

/// Checks what Meta would refuse anyway, so the user hears it at once and nothing is queued.
pub(crate) fn validate(message: &OutgoingMessage) -> Result<(), String> {
    let content = match message {
        OutgoingMessage::MarkRead { message_id, .. } => {
            return nonempty(message_id, "the message to mark read");
        }
        OutgoingMessage::Send { content, reply_to } => {
            if let Some(r) = reply_to {
                nonempty(r, "the quoted message")?;
            }
            content
        }
    };
    let caption = |c: &Option<String>| -> Result<(), String> {
        match c {
            Some(c) if c.chars().count() > 1024 => {
                Err("a caption is at most 1,024 characters".to_string())
            }
            _ => Ok(()),
        }
    };
    match content {
        MessageContent::Text(t) => {
            if t.body.trim().is_empty() {
                return Err("the message is empty".into());
            }
            if t.body.chars().count() > 4096 {
                return Err("a text message is at most 4,096 characters".into());
            }
        }
        MessageContent::Image(m) => {
            source(&m.source)?;
            caption(&m.caption)?;
        }
        MessageContent::Video(m) => {
            source(&m.source)?;
            caption(&m.caption)?;
        }
        MessageContent::Document(m) => {
            source(&m.source)?;
            caption(&m.caption)?;
        }
        MessageContent::Audio(m) => source(&m.source)?,
        MessageContent::Sticker(m) => source(&m.source)?,
        MessageContent::Location(l) => {
            let ok = l.latitude.is_finite()
                && l.longitude.is_finite()
                && (-90.0..=90.0).contains(&l.latitude)
                && (-180.0..=180.0).contains(&l.longitude);
            if !ok {
                return Err("the location's coordinates are out of range".into());
            }
        }
        MessageContent::Contacts(cards) => {
            if cards.is_empty() {
                return Err("share at least one contact".into());
            }
        }
        MessageContent::Interactive(_) => interactive(content)?,
        MessageContent::Template(t) => {
            nonempty(&t.name, "the template name")?;
            nonempty(&t.language.code, "the template language")?;
        }
        MessageContent::Reaction(r) => nonempty(&r.message_id, "the message reacted to")?,
    }
    Ok(())
}

fn nonempty(s: &str, what: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err(format!("{what} is missing"))
    } else {
        Ok(())
    }
}

fn source(source: &MediaSource) -> Result<(), String> {
    match source {
        MediaSource::Id(id) => nonempty(id, "the media id"),
        MediaSource::Link(url) if url.starts_with("https://") || url.starts_with("http://") => {
            Ok(())
        }
        MediaSource::Link(_) => Err("a media link must be an http(s) URL".into()),
    }
}

/// Meta's limits on interactive messages: ≤ 3 reply buttons with titles ≤ 20 characters,
/// ≤ 10 list rows, a body of ≤ 1,024 characters.
fn interactive(content: &MessageContent) -> Result<(), String> {
    let v = serde_json::to_value(content).map_err(|e| e.to_string())?;
    let i = &v["interactive"];
    let body = i["body"]["text"].as_str().unwrap_or_default();
    if body.chars().count() > 1024 {
        return Err("an interactive message's body is at most 1,024 characters".into());
    }
    if let Some(buttons) = i["action"]["buttons"].as_array() {
        if buttons.is_empty() || buttons.len() > 3 {
            return Err("a message has 1 to 3 reply buttons".into());
        }
        let long = buttons.iter().any(|b| {
            b["reply"]["title"]
                .as_str()
                .is_some_and(|t| t.chars().count() > 20)
        });
        if long {
            return Err("a button title is at most 20 characters".into());
        }
    }
    if let Some(sections) = i["action"]["sections"].as_array() {
        let rows: usize = sections
            .iter()
            .map(|s| s["rows"].as_array().map_or(0, Vec::len))
            .sum();
        if rows == 0 || rows > 10 {
            return Err("a list has 1 to 10 rows".into());
        }
    }
    Ok(())
}

/// The typed columns of a sent message's row (the JSON sent is kept whole in `raw_json`).
pub(crate) fn fill_typed_fields(m: &mut NewMessage, msg: &SendMessage) {
    m.kind = msg.message_type().as_str().to_string();
    m.context_wamid = msg.context.as_ref().map(|c| c.message_id.clone());
    let media_id = |s: &MediaSource| match s {
        MediaSource::Id(id) => Some(id.clone()),
        MediaSource::Link(_) => None,
    };
    match &msg.content {
        MessageContent::Text(t) => m.text_body = Some(t.body.clone()),
        MessageContent::Image(x) => {
            m.caption = x.caption.clone();
            m.media_meta_id = media_id(&x.source);
        }
        MessageContent::Video(x) => {
            m.caption = x.caption.clone();
            m.media_meta_id = media_id(&x.source);
        }
        MessageContent::Audio(x) => m.media_meta_id = media_id(&x.source),
        MessageContent::Sticker(x) => m.media_meta_id = media_id(&x.source),
        MessageContent::Document(x) => {
            m.caption = x.caption.clone();
            m.document_filename = x.filename.clone();
            m.media_meta_id = media_id(&x.source);
        }
        MessageContent::Location(l) => {
            m.latitude = Some(l.latitude);
            m.longitude = Some(l.longitude);
            m.location_name = l.name.clone();
            m.location_address = l.address.clone();
        }
        MessageContent::Interactive(_) => {
            // The body is what the customer reads: make it searchable.
            let v = serde_json::to_value(&msg.content).unwrap_or(Value::Null);
            m.text_body = v["interactive"]["body"]["text"]
                .as_str()
                .map(str::to_string);
        }
        MessageContent::Template(t) => m.reply_title = Some(t.name.clone()),
        MessageContent::Contacts(_) | MessageContent::Reaction(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_api::messages::{Interactive, Location, ReplyButton, Template};

    #[test]
    fn validation_catches_what_meta_refuses() {
        assert!(validate(&OutgoingMessage::text("hi", false)).is_ok());
        assert!(validate(&OutgoingMessage::text("  ", false)).is_err());
        assert!(validate(&OutgoingMessage::text("x".repeat(4097), false)).is_err());
        assert!(validate(&OutgoingMessage::new(Location::new(91.0, 0.0))).is_err());
        let buttons = Interactive::reply_buttons(
            "Pick",
            (0..4).map(|i| ReplyButton::new(format!("b{i}"), "ok")),
        );
        assert!(validate(&OutgoingMessage::new(buttons)).is_err());
        assert!(validate(&OutgoingMessage::new(Template::new("", "en_US"))).is_err());
        assert!(validate(&OutgoingMessage::mark_read("", false)).is_err());
    }

    #[test]
    fn only_templates_and_read_receipts_skip_the_window() {
        assert!(OutgoingMessage::text("hi", false).needs_window());
        assert!(!OutgoingMessage::new(Template::new("hello_world", "en_US")).needs_window());
        assert!(!OutgoingMessage::mark_read("wamid.X", true).needs_window());
    }
}
