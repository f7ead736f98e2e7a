//! Message templates: list with cursor paging, create, edit, delete (CLOUD-API-NOTES.md §5).
//!
//! One component type serves both directions: the body of `POST /{waba}/message_templates` and
//! the `components` Meta returns when listing. It is a flat struct mirroring Meta's JSON (with an
//! `extra` map) rather than a closed enum, because Meta keeps adding component and button kinds
//! (carousels, limited-time offers, flows…) and a template sync must never fail on one of them.
//! Constructors (`TemplateComponent::body(..)`, `TemplateButton::url(..)`, …) give the typed
//! building experience for the kinds DataOptix creates.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Declares a string enum with the known values and an `Other` variant that keeps any new value
/// Meta introduces (so deserializing never fails and re-serializing is lossless).
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire $(, alias = $alias)*)] $variant,)+
            /// A value this version does not know yet, kept as sent.
            #[serde(untagged)]
            Other(String),
        }

        impl $name {
            /// The value as Meta spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }
        }
    };
}

open_enum!(
    /// A template's category.
    TemplateCategory {
        Marketing = "MARKETING",
        Utility = "UTILITY",
        Authentication = "AUTHENTICATION",
    }
);

open_enum!(
    /// A template's review status (CLOUD-API-NOTES.md §5.6).
    TemplateStatus {
        Approved = "APPROVED",
        Pending = "PENDING",
        Rejected = "REJECTED",
        Paused = "PAUSED",
        Disabled = "DISABLED",
        InAppeal = "IN_APPEAL",
        PendingDeletion = "PENDING_DELETION",
        Deleted = "DELETED",
        Archived = "ARCHIVED",
        LimitExceeded = "LIMIT_EXCEEDED",
        Flagged = "FLAGGED",
        Reinstated = "REINSTATED",
        Locked = "LOCKED",
    }
);

open_enum!(
    /// How variables are written in the template: `{{1}}` or `{{first_name}}`. Meta takes the
    /// lowercase form on create and returns the uppercase one when listing.
    ParameterFormat {
        Positional = "positional" | "POSITIONAL",
        Named = "named" | "NAMED",
    }
);

open_enum!(
    /// `components[].type`. Meta's own examples sometimes spell it in lowercase.
    ComponentType {
        Header = "HEADER" | "header",
        Body = "BODY" | "body",
        Footer = "FOOTER" | "footer",
        Buttons = "BUTTONS" | "buttons",
    }
);

open_enum!(
    /// The header's `format`.
    HeaderFormat {
        Text = "TEXT",
        Image = "IMAGE",
        Video = "VIDEO",
        Document = "DOCUMENT",
        Location = "LOCATION",
    }
);

open_enum!(
    /// `buttons[].type`.
    ButtonType {
        QuickReply = "QUICK_REPLY",
        Url = "URL",
        PhoneNumber = "PHONE_NUMBER",
        CopyCode = "COPY_CODE",
        Otp = "OTP",
        Flow = "FLOW",
        Mpm = "MPM",
        Catalog = "CATALOG",
    }
);

/// One component of a template (HEADER, BODY, FOOTER or BUTTONS), as Meta writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateComponent {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    /// HEADER only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<HeaderFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<ComponentExample>,
    /// BUTTONS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buttons: Option<Vec<TemplateButton>>,
    /// AUTHENTICATION BODY: add "For your security, do not share this code."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_security_recommendation: Option<bool>,
    /// AUTHENTICATION FOOTER: "This code expires in N minutes."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_expiration_minutes: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Sample values Meta's reviewers see in place of the variables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentExample {
    /// HEADER TEXT with a positional variable: `["Summer Sale"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_text: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_text_named_params: Option<Vec<NamedParamExample>>,
    /// HEADER IMAGE/VIDEO/DOCUMENT: handles from the Resumable Upload API (`"4::…"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_handle: Option<Vec<String>>,
    /// BODY with positional variables: one row of sample values, `[["Pablo", "860198"]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text_named_params: Option<Vec<NamedParamExample>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"param_name": "first_name", "example": "Pablo"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedParamExample {
    pub param_name: String,
    pub example: String,
}

impl NamedParamExample {
    pub fn new(param_name: impl Into<String>, example: impl Into<String>) -> Self {
        Self {
            param_name: param_name.into(),
            example: example.into(),
        }
    }
}

/// A button's `example`: a list for URL buttons (`["summer2023"]`), a string for COPY_CODE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ButtonExample {
    One(String),
    Many(Vec<String>),
}

/// One button of a BUTTONS component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateButton {
    #[serde(rename = "type")]
    pub kind: ButtonType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// URL buttons; may end in one `{{1}}` variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<ButtonExample>,
    /// OTP buttons: `COPY_CODE`, `ONE_TAP`, `ZERO_TAP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TemplateComponent {
    fn new(kind: ComponentType) -> Self {
        Self {
            kind,
            format: None,
            text: None,
            example: None,
            buttons: None,
            add_security_recommendation: None,
            code_expiration_minutes: None,
            extra: Map::new(),
        }
    }

    /// A text header without variables.
    pub fn header_text(text: impl Into<String>) -> Self {
        Self {
            format: Some(HeaderFormat::Text),
            text: Some(text.into()),
            ..Self::new(ComponentType::Header)
        }
    }

    /// A text header with one positional variable (`"Our {{1}} is on!"`) and its sample value.
    pub fn header_text_with_example(text: impl Into<String>, example: impl Into<String>) -> Self {
        Self {
            example: Some(ComponentExample {
                header_text: Some(vec![example.into()]),
                ..ComponentExample::default()
            }),
            ..Self::header_text(text)
        }
    }

    /// A text header with one named variable (`"Hi {{first_name}}"`).
    pub fn header_text_named(text: impl Into<String>, example: NamedParamExample) -> Self {
        Self {
            example: Some(ComponentExample {
                header_text_named_params: Some(vec![example]),
                ..ComponentExample::default()
            }),
            ..Self::header_text(text)
        }
    }

    /// An IMAGE, VIDEO or DOCUMENT header with a sample uploaded through Resumable Upload.
    pub fn header_media(format: HeaderFormat, example_handle: impl Into<String>) -> Self {
        Self {
            format: Some(format),
            example: Some(ComponentExample {
                header_handle: Some(vec![example_handle.into()]),
                ..ComponentExample::default()
            }),
            ..Self::new(ComponentType::Header)
        }
    }

    /// A LOCATION header (the location is given when sending).
    pub fn header_location() -> Self {
        Self {
            format: Some(HeaderFormat::Location),
            ..Self::new(ComponentType::Header)
        }
    }

    /// A body without variables.
    pub fn body(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::new(ComponentType::Body)
        }
    }

    /// A body with positional variables `{{1}}`, `{{2}}` … and one sample value for each.
    pub fn body_positional<I, S>(text: impl Into<String>, examples: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            example: Some(ComponentExample {
                body_text: Some(vec![examples.into_iter().map(Into::into).collect()]),
                ..ComponentExample::default()
            }),
            ..Self::body(text)
        }
    }

    /// A body with named variables `{{first_name}}` and a sample value for each.
    pub fn body_named(text: impl Into<String>, examples: Vec<NamedParamExample>) -> Self {
        Self {
            example: Some(ComponentExample {
                body_text_named_params: Some(examples),
                ..ComponentExample::default()
            }),
            ..Self::body(text)
        }
    }

    /// The fixed body of an AUTHENTICATION template.
    pub fn authentication_body(add_security_recommendation: bool) -> Self {
        Self {
            add_security_recommendation: Some(add_security_recommendation),
            ..Self::new(ComponentType::Body)
        }
    }

    pub fn footer(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::new(ComponentType::Footer)
        }
    }

    /// The footer of an AUTHENTICATION template ("This code expires in N minutes").
    pub fn authentication_footer(code_expiration_minutes: u32) -> Self {
        Self {
            code_expiration_minutes: Some(code_expiration_minutes),
            ..Self::new(ComponentType::Footer)
        }
    }

    pub fn buttons(buttons: Vec<TemplateButton>) -> Self {
        Self {
            buttons: Some(buttons),
            ..Self::new(ComponentType::Buttons)
        }
    }
}

impl TemplateButton {
    fn new(kind: ButtonType, text: impl Into<String>) -> Self {
        Self {
            kind,
            text: Some(text.into()),
            url: None,
            phone_number: None,
            example: None,
            otp_type: None,
            extra: Map::new(),
        }
    }

    pub fn quick_reply(text: impl Into<String>) -> Self {
        Self::new(ButtonType::QuickReply, text)
    }

    /// A static URL button.
    pub fn url(text: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::new(ButtonType::Url, text)
        }
    }

    /// A URL ending in `{{1}}`, with a sample for the variable part.
    pub fn dynamic_url(
        text: impl Into<String>,
        url: impl Into<String>,
        example: impl Into<String>,
    ) -> Self {
        Self {
            example: Some(ButtonExample::Many(vec![example.into()])),
            ..Self::url(text, url)
        }
    }

    pub fn phone_number(text: impl Into<String>, phone_number: impl Into<String>) -> Self {
        Self {
            phone_number: Some(phone_number.into()),
            ..Self::new(ButtonType::PhoneNumber, text)
        }
    }

    /// A marketing "copy code" button (coupon); `example` is a sample code.
    pub fn copy_code(example: impl Into<String>) -> Self {
        Self {
            text: None,
            example: Some(ButtonExample::One(example.into())),
            ..Self::new(ButtonType::CopyCode, "")
        }
    }

    /// The copy-code button of an AUTHENTICATION template.
    pub fn otp_copy_code(text: impl Into<String>) -> Self {
        Self {
            otp_type: Some("COPY_CODE".to_owned()),
            ..Self::new(ButtonType::Otp, text)
        }
    }
}

/// The body of `POST /{waba}/message_templates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTemplate {
    /// Lowercase letters, digits and underscores, at most 512 characters.
    pub name: String,
    /// e.g. `en_US`.
    pub language: String,
    pub category: TemplateCategory,
    /// Omitted means positional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<ParameterFormat>,
    pub components: Vec<TemplateComponent>,
    /// Let Meta re-categorise the template instead of rejecting it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_category_change: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_send_ttl_seconds: Option<u32>,
}

impl NewTemplate {
    pub fn new(
        name: impl Into<String>,
        language: impl Into<String>,
        category: TemplateCategory,
        components: Vec<TemplateComponent>,
    ) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            category,
            parameter_format: None,
            components,
            allow_category_change: None,
            message_send_ttl_seconds: None,
        }
    }

    #[must_use]
    pub fn with_parameter_format(mut self, format: ParameterFormat) -> Self {
        self.parameter_format = Some(format);
        self
    }
}

/// `POST /{waba}/message_templates` → `{"id", "status", "category"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateCreated {
    pub id: String,
    pub status: TemplateStatus,
    pub category: TemplateCategory,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The body of `POST /{template-id}` (edit). Only the category (not of an approved template),
/// the components and the time-to-live can change; components are replaced as a whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateEdit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<TemplateCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<ParameterFormat>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<TemplateComponent>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_send_ttl_seconds: Option<u32>,
}

/// A template as Meta lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TemplateStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<TemplateCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<ParameterFormat>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<TemplateComponent>,
    /// Why a template was rejected (`NONE` when it was not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Query of `GET /{waba}/message_templates`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateQuery {
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor from the previous page's `paging.cursors.after`.
    pub after: Option<String>,
    /// Comma-separated fields, e.g. `name,status,category,language,components`.
    pub fields: Option<String>,
    /// Only templates with this name.
    pub name: Option<String>,
    /// Only templates with this status, e.g. `APPROVED`.
    pub status: Option<String>,
}

impl TemplateQuery {
    /// The query pairs to put on the URL.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        let strings = [
            ("after", &self.after),
            ("fields", &self.fields),
            ("name", &self.name),
            ("status", &self.status),
        ];
        for (key, value) in strings {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        pairs
    }
}

/// The fields DataOptix syncs.
pub const TEMPLATE_FIELDS: &str =
    "id,name,language,status,category,previous_category,sub_category,parameter_format,components,rejected_reason,quality_score";

/// A variable found in a template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{3}}`
    Positional(u32),
    /// `{{first_name}}`
    Named(String),
}

/// The `{{…}}` variables of a template text, in order of appearance (duplicates kept). Text
/// between braces that is neither a number nor a lowercase name is ignored.
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = inner.parse() {
                found.push(Placeholder::Positional(n));
            }
        } else if is_named_param(inner) {
            found.push(Placeholder::Named(inner.to_owned()));
        }
        rest = &after[end + 2..];
    }
    found
}

fn is_named_param(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Meta's name rule: lowercase letters, digits and underscores, 1 to 512 characters.
pub fn is_valid_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_example_round_trips() {
        let body = r#"{"category": "MARKETING", "components": [
              {"format": "TEXT", "text": "Fall Sale", "type": "HEADER"},
              {"example": {"body_text": [["Mark", "FALL25"]]},
               "text": "Hi {{1}}, our Fall Sale is on! Use promo code {{2}}", "type": "BODY"},
              {"text": "Not interested? Tap Stop Promotions", "type": "FOOTER"},
              {"buttons": [{"text": "Stop promotions", "type": "QUICK_REPLY"}], "type": "BUTTONS"},
              {"type": "CAROUSEL", "cards": [{"components": []}]}],
            "id": "920070352646140", "language": "en_US", "name": "2023_april_promo",
            "previous_category": "ACCOUNT_UPDATE", "status": "SOMETHING_NEW",
            "parameter_format": "POSITIONAL"}"#;
        let t: MessageTemplate = serde_json::from_str(body).unwrap();
        assert_eq!(
            t.status,
            Some(TemplateStatus::Other("SOMETHING_NEW".into()))
        );
        assert_eq!(
            t.components[4].kind,
            ComponentType::Other("CAROUSEL".into())
        );
        assert_eq!(t.parameter_format, Some(ParameterFormat::Positional));
        let mut back = serde_json::to_value(&t).unwrap();
        // The only normalisation: parameter_format is written in the form Meta accepts on create.
        back["parameter_format"] = "POSITIONAL".into();
        assert_eq!(back, serde_json::from_str::<Value>(body).unwrap());
    }

    #[test]
    fn lowercase_component_types_are_accepted() {
        let c: TemplateComponent =
            serde_json::from_str(r#"{"type": "body", "text": "x"}"#).unwrap();
        assert_eq!(c.kind, ComponentType::Body);
    }

    #[test]
    fn placeholders_and_names() {
        assert_eq!(
            placeholders("Hi {{1}}, code {{2}} {{ 1 }} {{first_name}} {{Bad}} {{"),
            vec![
                Placeholder::Positional(1),
                Placeholder::Positional(2),
                Placeholder::Positional(1),
                Placeholder::Named("first_name".into()),
            ]
        );
        assert!(is_valid_template_name("order_update_2"));
        assert!(!is_valid_template_name("Order update"));
        assert!(!is_valid_template_name(""));
    }
}
