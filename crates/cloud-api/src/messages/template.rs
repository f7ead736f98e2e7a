//! Template messages (`type: "template"`): send an approved template with its parameters.
//!
//! This is the only message type allowed outside the 24-hour customer service window, and the
//! one broadcasts use. A [`Template`] names the template and its language and carries one
//! [`Component`] per part that has variables: `header` and `body` take [`Parameter`]s (text,
//! currency, date/time, media, location; positional or named with `parameter_name`), each
//! dynamic button takes a `button` component with its `sub_type`, `index` and
//! [`ButtonParameter`]s.
//!
//! Meta's own bodies are inconsistent in two places, and both forms are accepted by Graph, so
//! both are representable and survive a parse/serialize round trip unchanged:
//! - `index` is a string (`"0"`) in the spec and most examples, a number (`0`) in others and in
//!   the coupon-code guide: see [`ButtonIndex`].
//! - `sub_type` is lower case in the spec (`quick_reply`, `catalog`), upper case in some
//!   examples and guides (`CATALOG`, `COPY_CODE`): see [`ButtonSubType`].
//!
//! Parameter shapes this crate does not model are kept verbatim in the `Other` variants, so a
//! body is never rejected or altered just because Meta added a parameter type.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::attachment::{Document, Image, Video};
use super::commerce::ProductSection;
use super::location::Location;

/// The `template` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Template name as approved.
    pub name: String,
    /// Language (and locale) of the approved translation.
    pub language: Language,
    /// Parameters per component; omitted when the template has no variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
}

impl Template {
    /// The approved template `name` in language `code` (e.g. `en_US`), without parameters.
    pub fn new(name: impl Into<String>, code: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            language: Language::new(code),
            components: Vec::new(),
        }
    }

    /// Sets `language.policy` to `deterministic` (the only policy; Meta applies it anyway).
    pub fn deterministic(mut self) -> Self {
        self.language.policy = Some(LanguagePolicy::Deterministic);
        self
    }

    /// Adds any component.
    pub fn component(mut self, component: Component) -> Self {
        self.components.push(component);
        self
    }

    /// Adds the header parameters (one text variable, or the media/location of the header).
    pub fn header(self, parameters: impl IntoIterator<Item = Parameter>) -> Self {
        self.component(Component::Header {
            parameters: parameters.into_iter().collect(),
        })
    }

    /// Adds the body parameters, in order (or by name).
    pub fn body(self, parameters: impl IntoIterator<Item = Parameter>) -> Self {
        self.component(Component::Body {
            parameters: parameters.into_iter().collect(),
        })
    }

    /// Adds the parameters of the button at `index`.
    pub fn button(
        self,
        sub_type: ButtonSubType,
        index: impl Into<ButtonIndex>,
        parameters: impl IntoIterator<Item = ButtonParameter>,
    ) -> Self {
        self.component(Component::Button {
            sub_type,
            index: index.into(),
            parameters: parameters.into_iter().collect(),
        })
    }

    /// A quick-reply button at `index` whose tap comes back with `payload`.
    pub fn quick_reply(self, index: impl Into<ButtonIndex>, payload: impl Into<String>) -> Self {
        self.button(
            ButtonSubType::QuickReply,
            index,
            [ButtonParameter::payload(payload)],
        )
    }

    /// A URL button at `index` whose URL ends with the dynamic `suffix`. Also how the one-time
    /// password of an authentication template is sent (its copy-code button is a URL button).
    pub fn url_button(self, index: impl Into<ButtonIndex>, suffix: impl Into<String>) -> Self {
        self.button(ButtonSubType::Url, index, [ButtonParameter::text(suffix)])
    }

    /// The copy-code button of a coupon template at `index`, copying `coupon_code`.
    pub fn copy_code(self, index: impl Into<ButtonIndex>, coupon_code: impl Into<String>) -> Self {
        self.button(
            ButtonSubType::CopyCode,
            index,
            [ButtonParameter::coupon_code(coupon_code)],
        )
    }

    /// The Flow button at `index`.
    pub fn flow_button(self, index: impl Into<ButtonIndex>, action: ButtonAction) -> Self {
        self.button(
            ButtonSubType::Flow,
            index,
            [ButtonParameter::action(action)],
        )
    }
}

/// The `language` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Language {
    /// Language or locale code, e.g. `en` or `en_US`.
    pub code: String,
    /// Always `deterministic` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<LanguagePolicy>,
}

impl Language {
    /// A language without explicit policy.
    pub fn new(code: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            policy: None,
        }
    }
}

/// The language policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguagePolicy {
    /// Use exactly the requested language.
    Deterministic,
}

/// A component of the template that takes parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Component {
    /// Header variable or header media.
    Header {
        /// The parameters.
        #[serde(default)]
        parameters: Vec<Parameter>,
    },
    /// Body variables.
    Body {
        /// The parameters.
        #[serde(default)]
        parameters: Vec<Parameter>,
    },
    /// A button with dynamic content.
    Button {
        /// What kind of button it is.
        sub_type: ButtonSubType,
        /// Position of the button in the template, from 0.
        index: ButtonIndex,
        /// The button's parameters.
        #[serde(default)]
        parameters: Vec<ButtonParameter>,
    },
    /// Any other component (e.g. `carousel`, `limited_time_offer`), kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

/// A header or body parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Parameter {
    /// Text replacing a `{{n}}` or `{{name}}` variable.
    Text {
        /// The text.
        text: String,
        /// The variable name, for templates created with `parameter_format: named`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameter_name: Option<String>,
    },
    /// A localisable amount of money.
    Currency {
        /// The amount.
        currency: Currency,
        /// The variable name, for named templates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameter_name: Option<String>,
    },
    /// A localisable date and time.
    DateTime {
        /// The date/time.
        date_time: DateTime,
        /// The variable name, for named templates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parameter_name: Option<String>,
    },
    /// The image of an image header.
    Image {
        /// The image.
        image: Image,
    },
    /// The video of a video header.
    Video {
        /// The video.
        video: Video,
    },
    /// The document of a document header (PDF).
    Document {
        /// The document.
        document: Document,
    },
    /// The place of a location header.
    Location {
        /// The place.
        location: Location,
    },
    /// Any other parameter, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

impl Parameter {
    /// A positional text parameter.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            parameter_name: None,
        }
    }

    /// A named text parameter (`{{name}}` in a template with `parameter_format: named`).
    pub fn named_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self::Text {
            text: text.into(),
            parameter_name: Some(name.into()),
        }
    }

    /// A currency parameter.
    pub fn currency(currency: Currency) -> Self {
        Self::Currency {
            currency,
            parameter_name: None,
        }
    }

    /// A date/time parameter.
    pub fn date_time(date_time: DateTime) -> Self {
        Self::DateTime {
            date_time,
            parameter_name: None,
        }
    }

    /// An image header parameter.
    pub fn image(image: Image) -> Self {
        Self::Image { image }
    }

    /// A video header parameter.
    pub fn video(video: Video) -> Self {
        Self::Video { video }
    }

    /// A document header parameter.
    pub fn document(document: Document) -> Self {
        Self::Document { document }
    }

    /// A location header parameter.
    pub fn location(location: Location) -> Self {
        Self::Location { location }
    }

    /// Names a text, currency or date/time parameter (named templates). Media and location
    /// parameters fill the header, which has no variable name, so they are returned unchanged.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        match &mut self {
            Self::Text { parameter_name, .. }
            | Self::Currency { parameter_name, .. }
            | Self::DateTime { parameter_name, .. } => *parameter_name = Some(name.into()),
            Self::Image { .. }
            | Self::Video { .. }
            | Self::Document { .. }
            | Self::Location { .. }
            | Self::Other(_) => {}
        }
        self
    }
}

/// An amount of money WhatsApp may format for the recipient's locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Currency {
    /// Text shown if localisation is not possible (Cloud API currently always shows it).
    pub fallback_value: String,
    /// ISO 4217 currency code.
    pub code: String,
    /// The amount multiplied by 1000 (100.99 is 100990).
    pub amount_1000: i64,
}

impl Currency {
    /// `amount_1000 / 1000` in currency `code`, shown as `fallback_value`.
    pub fn new(
        fallback_value: impl Into<String>,
        code: impl Into<String>,
        amount_1000: i64,
    ) -> Self {
        Self {
            fallback_value: fallback_value.into(),
            code: code.into(),
            amount_1000,
        }
    }
}

/// A date and time WhatsApp may format for the recipient's locale.
///
/// Cloud API always shows `fallback_value`; the components are kept for completeness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateTime {
    /// Text shown (always, on Cloud API).
    pub fallback_value: String,
    /// Day of week, 1 (Monday) to 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_week: Option<u8>,
    /// Year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// Month, 1 to 12.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<u8>,
    /// Day of month, 1 to 31.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_of_month: Option<u8>,
    /// Hour, 0 to 23.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hour: Option<u8>,
    /// Minute, 0 to 59.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute: Option<u8>,
    /// Calendar of the components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
}

impl DateTime {
    /// A date/time given only by its displayed text.
    pub fn new(fallback_value: impl Into<String>) -> Self {
        Self {
            fallback_value: fallback_value.into(),
            day_of_week: None,
            year: None,
            month: None,
            day_of_month: None,
            hour: None,
            minute: None,
            calendar: None,
        }
    }

    /// Sets year, month and day of month.
    pub fn date(mut self, year: i32, month: u8, day_of_month: u8) -> Self {
        self.year = Some(year);
        self.month = Some(month);
        self.day_of_month = Some(day_of_month);
        self
    }

    /// Sets hour and minute.
    pub fn time(mut self, hour: u8, minute: u8) -> Self {
        self.hour = Some(hour);
        self.minute = Some(minute);
        self
    }

    /// Sets the day of week (1 = Monday … 7 = Sunday).
    pub fn day_of_week(mut self, day_of_week: u8) -> Self {
        self.day_of_week = Some(day_of_week);
        self
    }

    /// Sets the calendar.
    pub fn calendar(mut self, calendar: Calendar) -> Self {
        self.calendar = Some(calendar);
        self
    }
}

/// Calendar of a [`DateTime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Calendar {
    /// Gregorian.
    Gregorian,
    /// Solar Hijri.
    SolarHijri,
}

/// The `sub_type` of a button component.
///
/// Known values serialize in lower case, as the spec lists them. Any other spelling (Meta's
/// examples and guides also write `CATALOG` and `COPY_CODE`) is kept verbatim in
/// [`Other`](Self::Other); [`canonical`](Self::canonical) maps it back to a known value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonSubType {
    /// Quick-reply button (parameter: `payload`).
    QuickReply,
    /// URL button with a dynamic suffix (parameter: `text`); also OTP copy-code buttons.
    Url,
    /// Catalog button (parameter: `action` with a thumbnail).
    Catalog,
    /// Coupon copy-code button (parameter: `coupon_code`).
    CopyCode,
    /// Flow button (parameter: `action` with `flow_token` / `flow_action_data`).
    Flow,
    /// Multi-product button (parameter: `action` with `sections`).
    Mpm,
    /// Any other value, verbatim.
    #[serde(untagged)]
    Other(String),
}

impl ButtonSubType {
    /// The known sub-type this value denotes, ignoring ASCII case (`CATALOG` is `Catalog`);
    /// unknown values are returned unchanged.
    pub fn canonical(&self) -> Self {
        let Self::Other(raw) = self else {
            return self.clone();
        };
        let known = [
            Self::QuickReply,
            Self::Url,
            Self::Catalog,
            Self::CopyCode,
            Self::Flow,
            Self::Mpm,
        ];
        known
            .into_iter()
            .find(|candidate| candidate.as_str().eq_ignore_ascii_case(raw))
            .unwrap_or_else(|| self.clone())
    }

    /// The value as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::QuickReply => "quick_reply",
            Self::Url => "url",
            Self::Catalog => "catalog",
            Self::CopyCode => "copy_code",
            Self::Flow => "flow",
            Self::Mpm => "mpm",
            Self::Other(raw) => raw,
        }
    }
}

/// Position of a button in the template, from 0.
///
/// The spec and most of Meta's examples write it as a string (`"index": "0"`), some examples and
/// the coupon-code guide as a number (`"index": 0`); Graph accepts both. The builder writes the
/// documented string form; [`ButtonIndex::numeric`] writes a number, and parsing keeps whichever
/// form was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ButtonIndex {
    position: u8,
    numeric: bool,
}

impl ButtonIndex {
    /// Index `position`, written as a string.
    pub fn new(position: u8) -> Self {
        Self {
            position,
            numeric: false,
        }
    }

    /// Index `position`, written as a JSON number.
    pub fn numeric(position: u8) -> Self {
        Self {
            position,
            numeric: true,
        }
    }

    /// The position.
    pub fn position(self) -> u8 {
        self.position
    }

    /// Whether it is written as a JSON number.
    pub fn is_numeric(self) -> bool {
        self.numeric
    }
}

impl From<u8> for ButtonIndex {
    fn from(position: u8) -> Self {
        Self::new(position)
    }
}

impl fmt::Display for ButtonIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.position.fmt(f)
    }
}

impl Serialize for ButtonIndex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.numeric {
            serializer.serialize_u8(self.position)
        } else {
            serializer.collect_str(&self.position)
        }
    }
}

impl<'de> Deserialize<'de> for ButtonIndex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(u8),
            Text(String),
        }
        match Wire::deserialize(deserializer)? {
            Wire::Number(position) => Ok(Self::numeric(position)),
            Wire::Text(text) => text.parse().map(Self::new).map_err(|_| {
                serde::de::Error::invalid_value(
                    serde::de::Unexpected::Str(&text),
                    &"a button index such as \"0\"",
                )
            }),
        }
    }
}

/// A parameter of a button component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ButtonParameter {
    /// Quick-reply payload, returned in the button webhook.
    Payload {
        /// The payload.
        payload: String,
    },
    /// URL suffix of a URL button (or the one-time password of an authentication template).
    Text {
        /// The text.
        text: String,
    },
    /// The code copied by a coupon copy-code button.
    CouponCode {
        /// The code.
        coupon_code: String,
    },
    /// Flow, catalog or multi-product button data.
    Action {
        /// The action data.
        action: ButtonAction,
    },
    /// Any other parameter, kept verbatim. Meta's "Send Sample Issue Resolution Template"
    /// example, for one, sends JSON booleans as quick-reply `text`.
    #[serde(untagged)]
    Other(Value),
}

impl ButtonParameter {
    /// A quick-reply payload.
    pub fn payload(payload: impl Into<String>) -> Self {
        Self::Payload {
            payload: payload.into(),
        }
    }

    /// A URL suffix or one-time password.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// A coupon code.
    pub fn coupon_code(code: impl Into<String>) -> Self {
        Self::CouponCode {
            coupon_code: code.into(),
        }
    }

    /// Flow, catalog or multi-product data.
    pub fn action(action: ButtonAction) -> Self {
        Self::Action { action }
    }
}

/// Data of an `action` button parameter; which members apply depends on the button.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonAction {
    /// Flow buttons: token echoed back in the Flow's response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_token: Option<String>,
    /// Flow buttons: input data for the first screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_action_data: Option<Map<String, Value>>,
    /// Catalog and multi-product buttons: the product shown as thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_product_retailer_id: Option<String>,
    /// Multi-product buttons: the products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sections: Option<Vec<ProductSection>>,
}

impl ButtonAction {
    /// Flow button data.
    pub fn flow(token: impl Into<String>, data: Option<Map<String, Value>>) -> Self {
        Self {
            flow_token: Some(token.into()),
            flow_action_data: data,
            ..Self::default()
        }
    }

    /// Catalog button data.
    pub fn catalog(thumbnail_product_retailer_id: impl Into<String>) -> Self {
        Self {
            thumbnail_product_retailer_id: Some(thumbnail_product_retailer_id.into()),
            ..Self::default()
        }
    }
}
