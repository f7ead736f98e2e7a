//! A template filled with parameters: a plain-text preview for the composer, and the
//! `template` object of `POST /{phone}/messages` for the outbox.
//!
//! The preview is text only: it is never HTML, and the UI must display it as text (values a
//! user typed, or a contact's name, end up in it).

use std::collections::BTreeMap;

use cloud_api::messages::{Parameter, Template as SendTemplate};
use cloud_api::templates::{
    placeholders, ButtonType, ComponentType, HeaderFormat, ParameterFormat, Placeholder,
    TemplateButton, TemplateComponent,
};

use super::Template;

/// Values for a template's variables. Keys are the variable as written between the braces:
/// `"1"`, `"2"` for positional templates, `"first_name"` for named ones. Header and body
/// number their variables separately, as Meta does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// The text header's variable.
    pub header: BTreeMap<String, String>,
    /// The media (image, video, document) or location of a non-text header.
    pub header_media: Option<Parameter>,
    /// The body's variables.
    pub body: BTreeMap<String, String>,
    /// Per button index: the URL suffix of a dynamic URL button, the coupon of a copy-code
    /// button, or the one-time password of an authentication button.
    pub buttons: BTreeMap<usize, String>,
}

impl Params {
    /// Positional body values `{{1}}`, `{{2}}`, … in order.
    pub fn body_positional<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            body: values
                .into_iter()
                .enumerate()
                .map(|(i, v)| ((i + 1).to_string(), v.into()))
                .collect(),
            ..Self::default()
        }
    }
}

/// A button as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RenderedButton {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE`, `OTP`, …
    pub kind: String,
    /// The label.
    pub text: String,
    /// URL buttons: the address with its variable filled in.
    pub url: Option<String>,
    /// Call buttons: the number.
    pub phone_number: Option<String>,
}

/// The preview of a template with its parameters: plain text, never HTML.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RenderedTemplate {
    /// The header text, or `[IMAGE]`, `[VIDEO]`, `[DOCUMENT]`, `[LOCATION]` for other headers.
    pub header: Option<String>,
    /// The body.
    pub body: String,
    /// The footer.
    pub footer: Option<String>,
    /// The buttons.
    pub buttons: Vec<RenderedButton>,
    /// Variables without a value (`body.{{1}}`, `header.{{name}}`, `buttons[0]`): shown as
    /// written in the preview, and refused by [`send_template`].
    pub missing: Vec<String>,
}

/// Why a template's send object cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A variable has no value (named as in [`RenderedTemplate::missing`]).
    #[error("{}", describe_missing(.0))]
    Missing(String),
    /// A value WhatsApp would refuse (code 132018).
    #[error("the value for {field} {reason}")]
    InvalidValue {
        /// Which variable.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What a missing field means to the person filling the form.
fn describe_missing(field: &str) -> String {
    if field == "header.media" {
        return "choose what the template's header shows (header.media)".into();
    }
    if let Some(n) = field
        .strip_prefix("buttons[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse::<usize>().ok())
    {
        return format!("give the value of button {} ({field})", n + 1);
    }
    format!("fill in {field}")
}

/// Meta's longest coupon code (copy-code buttons).
const MAX_COUPON_CHARS: usize = 15;

// Meta's fixed texts of authentication templates (authentication templates doc).
const AUTH_BODY: &str = "{{1}} is your verification code.";
const AUTH_SECURITY: &str = "For your security, do not share this code.";

/// The preview of `template` filled with `params`. Variables without a value stay as written
/// and are listed in `missing`.
pub fn render(template: &Template, params: &Params) -> RenderedTemplate {
    let mut out = RenderedTemplate::default();
    for c in &template.components {
        match &c.kind {
            ComponentType::Header => {
                out.header = Some(match &c.format {
                    Some(HeaderFormat::Text) | None => fill(
                        c.text.as_deref().unwrap_or_default(),
                        &params.header,
                        "header",
                        &mut out.missing,
                    ),
                    Some(other) => {
                        // A location header's place is given at send time too.
                        if params.header_media.is_none() {
                            out.missing.push("header.media".into());
                        }
                        format!("[{}]", other.as_str())
                    }
                })
            }
            ComponentType::Body => {
                out.body = match c.text.as_deref() {
                    Some(text) => fill(text, &params.body, "body", &mut out.missing),
                    None => auth_body(c, params, &mut out.missing),
                }
            }
            ComponentType::Footer => {
                out.footer = match (c.text.as_deref(), c.code_expiration_minutes) {
                    (Some(text), _) => Some(text.to_string()),
                    (None, Some(minutes)) => {
                        Some(format!("This code expires in {minutes} minutes."))
                    }
                    (None, None) => None,
                }
            }
            ComponentType::Buttons => {
                for (i, b) in c.buttons.iter().flatten().enumerate() {
                    let value = params.buttons.get(&i);
                    let takes_url_value = b
                        .url
                        .as_deref()
                        .is_some_and(|u| !placeholders(u).is_empty());
                    // A coupon or code button without its value (a URL's is said below).
                    if value.is_none() && button_takes_value(b) && !takes_url_value {
                        out.missing.push(format!("buttons[{i}]"));
                    }
                    let url = b.url.as_deref().map(|u| {
                        if placeholders(u).is_empty() {
                            u.to_string()
                        } else {
                            match value {
                                Some(v) => replace_vars(u, |_| Some(v.clone())),
                                None => {
                                    out.missing.push(format!("buttons[{i}]"));
                                    u.to_string()
                                }
                            }
                        }
                    });
                    let text = match (&b.kind, b.text.as_deref()) {
                        (ButtonType::CopyCode, _) => "Copy offer code".to_string(),
                        (_, Some(t)) => t.to_string(),
                        (_, None) => String::new(),
                    };
                    out.buttons.push(RenderedButton {
                        kind: b.kind.as_str().to_string(),
                        text,
                        url,
                        phone_number: b.phone_number.clone(),
                    });
                }
            }
            ComponentType::Other(_) => {}
        }
    }
    out
}

fn auth_body(c: &TemplateComponent, params: &Params, missing: &mut Vec<String>) -> String {
    let mut text = fill(AUTH_BODY, &params.body, "body", missing);
    if c.add_security_recommendation == Some(true) {
        text.push(' ');
        text.push_str(AUTH_SECURITY);
    }
    text
}

fn fill(
    text: &str,
    values: &BTreeMap<String, String>,
    part: &str,
    missing: &mut Vec<String>,
) -> String {
    replace_vars(text, |key| {
        let found = values.get(key).cloned();
        if found.is_none() {
            let label = format!("{part}.{{{{{key}}}}}");
            if !missing.contains(&label) {
                missing.push(label);
            }
        }
        found
    })
}

/// `text` with every `{{key}}` replaced by `value(key)`, or left as written when it is `None`.
fn replace_vars(text: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        let key = after[..end].trim();
        match value(key) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The distinct variables of `text` in send order: positional ones by number, named ones by
/// first appearance.
fn keys(text: &str) -> Vec<String> {
    let mut numbers: Vec<u32> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for p in placeholders(text) {
        match p {
            Placeholder::Positional(n) if !numbers.contains(&n) => numbers.push(n),
            Placeholder::Named(n) if !names.contains(&n) => names.push(n),
            _ => {}
        }
    }
    numbers.sort_unstable();
    numbers
        .into_iter()
        .map(|n| n.to_string())
        .chain(names)
        .collect()
}

/// Meta refuses text parameters with a newline, a tab or more than four consecutive spaces
/// (132018).
fn check_value(field: &str, value: &str) -> Result<(), RenderError> {
    let reason = if value.trim().is_empty() {
        Some("is empty")
    } else if value.contains(['\n', '\r', '\t']) {
        Some("cannot contain line breaks or tabs")
    } else if value.contains("     ") {
        Some("cannot contain more than four spaces in a row")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(RenderError::InvalidValue {
            field: field.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

fn text_parameters(
    text: &str,
    values: &BTreeMap<String, String>,
    part: &str,
    named: bool,
) -> Result<Vec<Parameter>, RenderError> {
    keys(text)
        .into_iter()
        .map(|key| {
            let field = format!("{part}.{{{{{key}}}}}");
            let value = values
                .get(&key)
                .ok_or_else(|| RenderError::Missing(field.clone()))?;
            check_value(&field, value)?;
            Ok(if named {
                Parameter::named_text(key, value.clone())
            } else {
                Parameter::text(value.clone())
            })
        })
        .collect()
}

/// The `template` object to send `template` with `params` (`SendMessage::template(to, ..)` in
/// `cloud_api`): one component per part that has variables, every variable filled.
pub fn send_template(template: &Template, params: &Params) -> Result<SendTemplate, RenderError> {
    let named = template.parameter_format() == ParameterFormat::Named;
    let mut send = SendTemplate::new(&template.name, &template.language);
    for c in &template.components {
        match &c.kind {
            ComponentType::Header => match &c.format {
                Some(HeaderFormat::Text) | None => {
                    let text = c.text.as_deref().unwrap_or_default();
                    let ps = text_parameters(text, &params.header, "header", named)?;
                    if !ps.is_empty() {
                        send = send.header(ps);
                    }
                }
                Some(_) => {
                    let media = params
                        .header_media
                        .clone()
                        .ok_or_else(|| RenderError::Missing("header.media".into()))?;
                    send = send.header([media]);
                }
            },
            ComponentType::Body => {
                let text = c.text.as_deref().unwrap_or(AUTH_BODY);
                let ps = text_parameters(text, &params.body, "body", named)?;
                if !ps.is_empty() {
                    send = send.body(ps);
                }
            }
            ComponentType::Buttons => {
                for (i, b) in c.buttons.iter().flatten().enumerate() {
                    // Meta allows at most 10 buttons, so an index always fits Meta's u8.
                    let Ok(index) = u8::try_from(i) else { break };
                    let field = format!("buttons[{i}]");
                    let value = || {
                        params
                            .buttons
                            .get(&i)
                            .ok_or_else(|| RenderError::Missing(field.clone()))
                    };
                    match &b.kind {
                        ButtonType::Url
                            if b.url
                                .as_deref()
                                .is_some_and(|u| !placeholders(u).is_empty()) =>
                        {
                            let v = value()?;
                            check_value(&field, v)?;
                            send = send.url_button(index, v.clone());
                        }
                        // An authentication template's code goes in its button as a URL
                        // parameter (Meta's authentication templates doc).
                        ButtonType::Otp => {
                            let v = value()?;
                            check_value(&field, v)?;
                            send = send.url_button(index, v.clone());
                        }
                        ButtonType::CopyCode => {
                            let v = value()?;
                            check_value(&field, v)?;
                            if v.chars().count() > MAX_COUPON_CHARS {
                                return Err(RenderError::InvalidValue {
                                    field,
                                    reason:
                                        "is longer than WhatsApp's 15 characters for a coupon code",
                                });
                            }
                            send = send.copy_code(index, v.clone());
                        }
                        _ => {}
                    }
                }
            }
            ComponentType::Footer | ComponentType::Other(_) => {}
        }
    }
    Ok(send)
}

/// The distinct variables of a text, in order of first appearance.
pub fn variables(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in placeholders(text) {
        let name = match p {
            Placeholder::Positional(n) => n.to_string(),
            Placeholder::Named(n) => n,
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The text of the template's component `kind` (a header only when it is a text header).
pub fn component_text(template: &Template, kind: ComponentType) -> Option<String> {
    template
        .components
        .iter()
        .find(|c| c.kind == kind)
        .filter(|c| {
            kind != ComponentType::Header || matches!(c.format, Some(HeaderFormat::Text) | None)
        })
        .and_then(|c| c.text.clone())
}

/// The body's text, with its variables: an authentication template's is Meta's fixed text
/// (its component carries none), so its code is the one variable every form asks for.
pub fn body_text(template: &Template) -> Option<String> {
    component_text(template, ComponentType::Body).or_else(|| auth_body_text(template))
}

/// What a form (the composer, a broadcast, the CLI) gives for a template: values in the order
/// the form shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormValues {
    /// The body's variables, in order of appearance.
    pub body: Vec<String>,
    /// The text header's variables, in order of appearance.
    pub header: Vec<String>,
    /// One per button that takes a value ([`button_takes_value`]), in the template's order;
    /// a blank or missing one stays "missing".
    pub buttons: Vec<String>,
    /// The media or place of an image, video, document or location header.
    pub header_media: Option<Parameter>,
}

/// Whether a button needs a value when the template is sent: a URL button whose address ends
/// in a variable, a copy-code (coupon) button, and an authentication template's code button.
pub fn button_takes_value(button: &TemplateButton) -> bool {
    match &button.kind {
        ButtonType::Url => button
            .url
            .as_deref()
            .is_some_and(|u| !placeholders(u).is_empty()),
        ButtonType::CopyCode | ButtonType::Otp => true,
        _ => false,
    }
}

/// The form's values keyed by the template's own variable names; empty values are left out
/// (they stay "missing"). An authentication template's code button takes the body's code when
/// the form leaves it empty: Meta wants the same code in both, and nobody should type it twice.
pub fn params_for(template: &Template, form: &FormValues) -> Params {
    let zip = |text: Option<String>, values: &[String]| {
        variables(text.as_deref().unwrap_or_default())
            .into_iter()
            .zip(values.iter().cloned())
            .filter(|(_, v)| !v.trim().is_empty())
            .collect()
    };
    let body: BTreeMap<String, String> = zip(body_text(template), &form.body);
    let authentication = template.category.as_deref() == Some("AUTHENTICATION");
    let buttons = template_buttons(template)
        .enumerate()
        .filter(|(_, b)| button_takes_value(b))
        .zip(form.buttons.iter().map(Some).chain(std::iter::repeat(None)))
        .filter_map(|((i, b), given)| {
            let given = given.filter(|v| !v.trim().is_empty()).cloned();
            // Meta lists an authentication template's code button as `URL` once created
            // (copy-code authentication doc): the category says it is a code button too.
            let code_button = b.kind == ButtonType::Otp || authentication;
            let value = match given {
                Some(v) => Some(v),
                None if code_button => body.get("1").cloned(),
                None => None,
            };
            value.map(|v| (i, v))
        })
        .collect();
    Params {
        header: zip(
            component_text(template, ComponentType::Header),
            &form.header,
        ),
        header_media: form.header_media.clone(),
        body,
        buttons,
    }
}

/// The buttons of a template, in order.
pub fn template_buttons(template: &Template) -> impl Iterator<Item = &TemplateButton> {
    template
        .components
        .iter()
        .filter(|c| c.kind == ComponentType::Buttons)
        .flat_map(|c| c.buttons.iter().flatten())
}

/// The format of the template's header: `None` without a header.
pub fn header_format(template: &Template) -> Option<HeaderFormat> {
    template
        .components
        .iter()
        .find(|c| c.kind == ComponentType::Header)
        .map(|c| c.format.clone().unwrap_or(HeaderFormat::Text))
}

/// An authentication template's body is Meta's fixed text, not stored in the component.
fn auth_body_text(template: &Template) -> Option<String> {
    template
        .components
        .iter()
        .any(|c| c.kind == ComponentType::Body && c.text.is_none())
        .then(|| AUTH_BODY.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_api::templates::{NamedParamExample, TemplateButton};
    use serde_json::json;

    fn template(components: Vec<TemplateComponent>) -> Template {
        Template {
            id: 1,
            waba_id: "w".into(),
            meta_id: Some("9".into()),
            name: "order_ready".into(),
            language: "en_US".into(),
            category: Some("UTILITY".into()),
            status: Some("APPROVED".into()),
            quality: None,
            rejected_reason: None,
            components,
            updated_at: 0,
        }
    }

    fn order_ready() -> Template {
        template(vec![
            TemplateComponent::header_text_with_example("Order {{1}}", "A-17"),
            TemplateComponent::body_positional(
                "Hi {{1}}, your order {{2}} is ready. See you, {{1}}!",
                ["Ana", "A-17"],
            ),
            TemplateComponent::footer("Sweet Crumbs"),
            TemplateComponent::buttons(vec![
                TemplateButton::quick_reply("On my way"),
                TemplateButton::dynamic_url("Track", "https://b.example/o/{{1}}", "A-17"),
            ]),
        ])
    }

    fn params() -> Params {
        let mut p = Params::body_positional(["<script>alert(1)</script>", "A-17"]);
        p.header.insert("1".into(), "A-17".into());
        p.buttons.insert(1, "A-17".into());
        p
    }

    #[test]
    fn preview_fills_every_part_as_plain_text() {
        let r = render(&order_ready(), &params());
        assert_eq!(r.header.as_deref(), Some("Order A-17"));
        // Text stays text: nothing is escaped or interpreted here; the UI shows it as text.
        assert_eq!(
            r.body,
            "Hi <script>alert(1)</script>, your order A-17 is ready. See you, \
             <script>alert(1)</script>!"
        );
        assert_eq!(r.footer.as_deref(), Some("Sweet Crumbs"));
        assert_eq!(
            r.buttons[1].url.as_deref(),
            Some("https://b.example/o/A-17")
        );
        assert!(r.missing.is_empty());
    }

    #[test]
    fn preview_lists_what_is_missing() {
        let r = render(&order_ready(), &Params::default());
        assert_eq!(
            r.body,
            "Hi {{1}}, your order {{2}} is ready. See you, {{1}}!"
        );
        assert_eq!(
            r.missing,
            ["header.{{1}}", "body.{{1}}", "body.{{2}}", "buttons[1]"]
        );
    }

    #[test]
    fn send_object_has_one_parameter_per_variable() {
        let send = send_template(&order_ready(), &params()).unwrap();
        let v = serde_json::to_value(&send).unwrap();
        assert_eq!(
            v,
            json!({"name": "order_ready", "language": {"code": "en_US"}, "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "A-17"}]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "<script>alert(1)</script>"},
                    {"type": "text", "text": "A-17"}]},
                {"type": "button", "sub_type": "url", "index": "1",
                 "parameters": [{"type": "text", "text": "A-17"}]}]})
        );
    }

    #[test]
    fn send_refuses_missing_and_bad_values() {
        let mut p = params();
        p.body.remove("2");
        assert_eq!(
            send_template(&order_ready(), &p),
            Err(RenderError::Missing("body.{{2}}".into()))
        );
        let mut p = params();
        p.body.insert("2".into(), "line\nbreak".into());
        assert!(matches!(
            send_template(&order_ready(), &p),
            Err(RenderError::InvalidValue { .. })
        ));
    }

    #[test]
    fn named_templates_send_parameter_names() {
        let t = template(vec![TemplateComponent::body_named(
            "Hi {{first_name}}, take {{discount}} off today.",
            vec![
                NamedParamExample::new("first_name", "Ana"),
                NamedParamExample::new("discount", "10%"),
            ],
        )]);
        let mut p = Params::default();
        p.body.insert("first_name".into(), "Ana".into());
        p.body.insert("discount".into(), "15%".into());
        assert_eq!(render(&t, &p).body, "Hi Ana, take 15% off today.");
        let v = serde_json::to_value(send_template(&t, &p).unwrap()).unwrap();
        assert_eq!(
            v["components"][0]["parameters"],
            json!([{"type": "text", "text": "Ana", "parameter_name": "first_name"},
                   {"type": "text", "text": "15%", "parameter_name": "discount"}])
        );
    }

    #[test]
    fn authentication_preview_and_send() {
        let t = template(vec![
            TemplateComponent::authentication_body(true),
            TemplateComponent::authentication_footer(10),
            TemplateComponent::buttons(vec![TemplateButton::otp_copy_code("Copy code")]),
        ]);
        let mut p = Params::body_positional(["483920"]);
        p.buttons.insert(0, "483920".into());
        let r = render(&t, &p);
        assert_eq!(
            r.body,
            "483920 is your verification code. For your security, do not share this code."
        );
        assert_eq!(
            r.footer.as_deref(),
            Some("This code expires in 10 minutes.")
        );
        let v = serde_json::to_value(send_template(&t, &p).unwrap()).unwrap();
        assert_eq!(v["components"][0]["parameters"][0]["text"], "483920");
        assert_eq!(v["components"][1]["sub_type"], "url");
    }

    #[test]
    fn media_headers_need_media() {
        let t = template(vec![
            TemplateComponent::header_media(HeaderFormat::Image, "4::x"),
            TemplateComponent::body("Fresh bread today."),
        ]);
        assert_eq!(
            render(&t, &Params::default()).header.as_deref(),
            Some("[IMAGE]")
        );
        assert_eq!(
            send_template(&t, &Params::default()),
            Err(RenderError::Missing("header.media".into()))
        );
        let p = Params {
            header_media: Some(Parameter::image(cloud_api::messages::Image::link(
                "https://b.example/bread.jpg",
            ))),
            ..Params::default()
        };
        let v = serde_json::to_value(send_template(&t, &p).unwrap()).unwrap();
        assert_eq!(v["components"][0]["parameters"][0]["type"], "image");
    }

    #[test]
    fn form_values_fill_buttons_and_header_media_by_position() {
        let t = template(vec![
            TemplateComponent::header_media(HeaderFormat::Image, "4::x"),
            TemplateComponent::body_positional("Hi {{1}}, here is {{2}}.", ["Ana", "10%"]),
            TemplateComponent::buttons(vec![
                TemplateButton::quick_reply("Thanks"),
                TemplateButton::dynamic_url("Track", "https://b.example/o/{{1}}", "A-17"),
                TemplateButton::copy_code("SAVE10"),
            ]),
        ]);
        let image = Parameter::image(cloud_api::messages::Image::link("https://b.example/a.jpg"));
        let form = FormValues {
            body: vec!["Ana".into(), " ".into()],
            header: vec![],
            // The quick reply takes nothing: the values are the URL's and the coupon's.
            buttons: vec!["A-17".into(), "SAVE10".into()],
            header_media: Some(image.clone()),
        };
        let p = params_for(&t, &form);
        assert_eq!(p.header_media, Some(image));
        assert_eq!(p.body.get("1").map(String::as_str), Some("Ana"));
        // A blank value stays missing.
        assert_eq!(p.body.get("2"), None);
        assert_eq!(
            p.buttons.into_iter().collect::<Vec<_>>(),
            [(1, "A-17".to_string()), (2, "SAVE10".to_string())]
        );
        assert!(!button_takes_value(&TemplateButton::quick_reply("Thanks")));
        assert!(!button_takes_value(&TemplateButton::url(
            "Menu",
            "https://b.example/menu"
        )));
    }

    #[test]
    fn an_authentication_code_is_typed_once_for_body_and_button() {
        let t = template(vec![
            TemplateComponent::authentication_body(false),
            TemplateComponent::buttons(vec![TemplateButton::otp_copy_code("Copy code")]),
        ]);
        let form = FormValues {
            body: vec!["483920".into()],
            ..FormValues::default()
        };
        let v = serde_json::to_value(send_template(&t, &params_for(&t, &form)).unwrap()).unwrap();
        assert_eq!(v["components"][0]["parameters"][0]["text"], "483920");
        assert_eq!(v["components"][1]["parameters"][0]["text"], "483920");
    }

    #[test]
    fn a_location_header_needs_its_place() {
        let t = template(vec![
            TemplateComponent::header_location(),
            TemplateComponent::body("We moved."),
        ]);
        assert_eq!(render(&t, &Params::default()).missing, ["header.media"]);
        assert_eq!(
            send_template(&t, &Params::default()),
            Err(RenderError::Missing("header.media".into()))
        );
        let place = Parameter::location(
            cloud_api::messages::Location::new(38.72, -9.14).name("Sweet Crumbs"),
        );
        let p = params_for(
            &t,
            &FormValues {
                header_media: Some(place),
                ..FormValues::default()
            },
        );
        let v = serde_json::to_value(send_template(&t, &p).unwrap()).unwrap();
        assert_eq!(v["components"][0]["parameters"][0]["type"], "location");
    }

    #[test]
    fn an_authentication_code_button_listed_as_a_url_takes_the_body_code_too() {
        // How Meta lists a created copy-code authentication template's button.
        let mut t = template(vec![
            TemplateComponent::authentication_body(true),
            TemplateComponent::buttons(vec![TemplateButton::url(
                "Copy code",
                "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}",
            )]),
        ]);
        t.category = Some("AUTHENTICATION".into());
        let form = FormValues {
            body: vec!["551204".into()],
            ..FormValues::default()
        };
        let p = params_for(&t, &form);
        assert_eq!(p.buttons.get(&0).map(String::as_str), Some("551204"));
        let v = serde_json::to_value(send_template(&t, &p).unwrap()).unwrap();
        assert_eq!(v["components"][1]["parameters"][0]["text"], "551204");
    }

    #[test]
    fn a_coupon_is_missing_until_given_and_at_most_15_characters() {
        let t = template(vec![
            TemplateComponent::body("Spring sale."),
            TemplateComponent::buttons(vec![TemplateButton::copy_code("SPRING15")]),
        ]);
        assert_eq!(render(&t, &Params::default()).missing, ["buttons[0]"]);
        let err = send_template(&t, &Params::default()).unwrap_err();
        assert_eq!(err.to_string(), "give the value of button 1 (buttons[0])");
        let mut p = Params::default();
        p.buttons.insert(0, "SPRING15SPRING15".into());
        assert!(matches!(
            send_template(&t, &p),
            Err(RenderError::InvalidValue { .. })
        ));
        p.buttons.insert(0, "SPRING15".into());
        assert!(render(&t, &p).missing.is_empty());
        let v = serde_json::to_value(send_template(&t, &p).unwrap()).unwrap();
        assert_eq!(
            v["components"][0]["parameters"][0]["coupon_code"],
            "SPRING15"
        );
    }
}
