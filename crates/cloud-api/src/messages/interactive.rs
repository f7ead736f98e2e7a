//! Interactive messages (`type: "interactive"`): reply buttons, lists, CTA URL buttons, location
//! requests, and (in [`commerce`](super::commerce) and [`flow`](super::flow)) product, catalog,
//! order and Flow messages.
//!
//! Every interactive message shares the optional `header`, `body` and `footer`; what differs is
//! the `interactive.type` and the shape of its `action`. [`InteractiveKind`] pairs each type with
//! its own action struct, so a list can never be sent with reply buttons as its action.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::attachment::{Document, Image, Video};
use super::commerce::{
    CatalogMessageAction, OrderDetailsAction, OrderStatusAction, ProductAction, ProductListAction,
};
use super::flow::FlowAction;
use super::tags;

/// The `interactive` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interactive {
    /// `interactive.type` together with the matching `action`.
    #[serde(flatten)]
    pub kind: InteractiveKind,
    /// Optional header (required for `product_list`, not allowed for `product`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Header>,
    /// Body text (optional only for `product`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// Optional footer text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
}

/// The interactive message type and its action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InteractiveKind {
    /// Up to three reply buttons.
    Button {
        /// The buttons.
        action: ReplyButtonsAction,
    },
    /// A menu of up to ten rows in sections.
    List {
        /// The menu.
        action: ListAction,
    },
    /// One button that opens a URL.
    CtaUrl {
        /// The button.
        action: CtaUrlAction,
    },
    /// A button asking the user to share their location.
    LocationRequestMessage {
        /// The fixed `send_location` action.
        action: LocationRequestAction,
    },
    /// One product of a catalog.
    Product {
        /// The product.
        action: ProductAction,
    },
    /// Up to 30 products of a catalog in sections.
    ProductList {
        /// The products.
        action: ProductListAction,
    },
    /// A button that opens the business's catalog.
    CatalogMessage {
        /// The catalog action.
        action: CatalogMessageAction,
    },
    /// A WhatsApp Flow.
    Flow {
        /// The Flow to open.
        action: FlowAction,
    },
    /// An order to review and pay (payments in India and Brazil).
    OrderDetails {
        /// The order (boxed: it is much larger than the other actions).
        action: Box<OrderDetailsAction>,
    },
    /// A status update for an order sent with `order_details`.
    OrderStatus {
        /// The new status.
        action: OrderStatusAction,
    },
}

impl Interactive {
    /// An interactive message of `kind` with no header, body or footer yet.
    pub fn new(kind: InteractiveKind) -> Self {
        Self {
            kind,
            header: None,
            body: None,
            footer: None,
        }
    }

    /// Reply buttons (at most three) under `body`.
    pub fn reply_buttons(
        body: impl Into<String>,
        buttons: impl IntoIterator<Item = ReplyButton>,
    ) -> Self {
        Self::new(InteractiveKind::Button {
            action: ReplyButtonsAction {
                buttons: buttons.into_iter().collect(),
            },
        })
        .body(body)
    }

    /// A list menu: `button` is the label of the button that opens it.
    pub fn list(
        body: impl Into<String>,
        button: impl Into<String>,
        sections: impl IntoIterator<Item = ListSection>,
    ) -> Self {
        Self::new(InteractiveKind::List {
            action: ListAction {
                button: button.into(),
                sections: sections.into_iter().collect(),
            },
        })
        .body(body)
    }

    /// A call-to-action button labelled `display_text` that opens `url`.
    pub fn cta_url(
        body: impl Into<String>,
        display_text: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Self::new(InteractiveKind::CtaUrl {
            action: CtaUrlAction {
                name: tags::CtaUrl,
                parameters: CtaUrlParameters {
                    display_text: display_text.into(),
                    url: url.into(),
                },
            },
        })
        .body(body)
    }

    /// Asks the user to share their location, explaining why in `body`.
    pub fn location_request(body: impl Into<String>) -> Self {
        Self::new(InteractiveKind::LocationRequestMessage {
            action: LocationRequestAction::default(),
        })
        .body(body)
    }

    /// Sets the header.
    pub fn header(mut self, header: Header) -> Self {
        self.header = Some(header);
        self
    }

    /// Sets the body text.
    pub fn body(mut self, text: impl Into<String>) -> Self {
        self.body = Some(Body { text: text.into() });
        self
    }

    /// Sets the footer text.
    pub fn footer(mut self, text: impl Into<String>) -> Self {
        self.footer = Some(Footer { text: text.into() });
        self
    }
}

/// The header of an interactive message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Header {
    /// Text of up to 60 characters.
    Text {
        /// The header text.
        text: String,
    },
    /// An image.
    Image {
        /// The image.
        image: Image,
    },
    /// A video.
    Video {
        /// The video.
        video: Video,
    },
    /// A document.
    Document {
        /// The document.
        document: Document,
    },
    /// Any other header, kept verbatim: a header type this crate does not model yet, or a
    /// body that does not fit the variants above (Meta's "Send Multi-Product Message" example
    /// has the placeholder `"type": "<HEADER_TYPE>"`). Deserialization falls back to it.
    #[serde(untagged)]
    Other(Value),
}

impl Header {
    /// A text header.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// An image header.
    pub fn image(image: Image) -> Self {
        Self::Image { image }
    }

    /// A video header.
    pub fn video(video: Video) -> Self {
        Self::Video { video }
    }

    /// A document header.
    pub fn document(document: Document) -> Self {
        Self::Document { document }
    }
}

/// The body of an interactive message (up to 1024 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The body text.
    pub text: String,
}

/// The footer of an interactive message (up to 60 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    /// The footer text.
    pub text: String,
}

/// The action of a reply-buttons message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButtonsAction {
    /// One to three buttons.
    pub buttons: Vec<ReplyButton>,
}

/// A reply button: `{"type": "reply", "reply": {"id", "title"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    /// Always `"reply"`.
    #[serde(rename = "type")]
    pub kind: tags::Reply,
    /// Id and title of the button.
    pub reply: ReplyButtonContent,
}

impl ReplyButton {
    /// A button titled `title` (≤ 20 characters) whose tap comes back as `id` (≤ 256).
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            kind: tags::Reply,
            reply: ReplyButtonContent {
                id: id.into(),
                title: title.into(),
            },
        }
    }
}

/// The `reply` member of a reply button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButtonContent {
    /// Returned in the `button_reply` webhook when tapped.
    pub id: String,
    /// The label.
    pub title: String,
}

/// The action of a list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAction {
    /// Label of the button that opens the menu (≤ 20 characters).
    pub button: String,
    /// One to ten sections.
    pub sections: Vec<ListSection>,
}

/// A section of a list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSection {
    /// Section title (≤ 24 characters), required when there is more than one section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The rows (ten at most across all sections).
    pub rows: Vec<ListRow>,
}

impl ListSection {
    /// A titled section.
    pub fn new(title: impl Into<String>, rows: impl IntoIterator<Item = ListRow>) -> Self {
        Self {
            title: Some(title.into()),
            rows: rows.into_iter().collect(),
        }
    }

    /// A section without a title (allowed when it is the only one).
    pub fn untitled(rows: impl IntoIterator<Item = ListRow>) -> Self {
        Self {
            title: None,
            rows: rows.into_iter().collect(),
        }
    }
}

/// A row of a list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    /// Returned in the `list_reply` webhook when chosen (≤ 200 characters).
    pub id: String,
    /// Row title (≤ 24 characters).
    pub title: String,
    /// Optional description (≤ 72 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ListRow {
    /// A row without description.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            description: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The action of a CTA URL message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtaUrlAction {
    /// Always `"cta_url"`.
    pub name: tags::CtaUrl,
    /// Label and target.
    pub parameters: CtaUrlParameters,
}

/// Label and target of a CTA URL button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtaUrlParameters {
    /// Button label (≤ 20 characters).
    pub display_text: String,
    /// The URL opened when tapped.
    pub url: String,
}

/// The action of a location request: always `{"name": "send_location"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationRequestAction {
    /// Always `"send_location"`.
    pub name: tags::SendLocation,
}
