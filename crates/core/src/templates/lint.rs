//! Checks a template draft against Meta's rules before it is submitted, so the user fixes it in
//! the editor instead of waiting for a review (or a synchronous 2388xxx error) to reject it.
//!
//! Limits come from Meta's template docs as summarised in CLOUD-API-NOTES.md §5.2/§5.6 and the
//! creation errors listed there (2388040 character limit, 2388047 header format, 2388072 body
//! format, 2388073 footer format, 2388293 too many variables for the length, 2388299 leading or
//! trailing variable). Lint is pure: no I/O, no clock.

use std::collections::BTreeSet;

use cloud_api::templates::{
    is_valid_template_name, ButtonExample, ButtonType, ComponentType, HeaderFormat, NewTemplate,
    ParameterFormat, TemplateButton, TemplateCategory, TemplateComponent,
};

/// What the editor submits: the body of `POST /{waba}/message_templates`.
pub type TemplateDraft = NewTemplate;

/// Template names: at most 512 characters (CLOUD-API-NOTES §5.2 "Name").
pub const MAX_NAME: usize = 512;
/// A text header: at most 60 characters (Meta's template components doc; error 2388047).
pub const MAX_HEADER_TEXT: usize = 60;
/// The body: at most 1024 characters (Meta's template components doc; error 2388040).
pub const MAX_BODY: usize = 1024;
/// The footer: at most 60 characters (Meta's template components doc; error 2388073).
pub const MAX_FOOTER: usize = 60;
/// A button's label: at most 25 characters (Meta's template buttons doc).
pub const MAX_BUTTON_TEXT: usize = 25;
/// At most 10 buttons of all kinds in one template (Meta's template buttons doc).
pub const MAX_BUTTONS: usize = 10;
/// At most 2 URL buttons (Meta's template buttons doc).
pub const MAX_URL_BUTTONS: usize = 2;
/// At most 1 phone-number button (Meta's template buttons doc).
pub const MAX_PHONE_BUTTONS: usize = 1;
/// At most 1 copy-code button (Meta's coupon-code template doc).
pub const MAX_COPY_CODE_BUTTONS: usize = 1;
/// An authentication code may be valid 1 to 90 minutes (`code_expiration_minutes`, Meta's
/// authentication templates doc).
pub const MAX_CODE_EXPIRATION_MINUTES: u32 = 90;

/// Words that make a UTILITY template look promotional; Meta then re-categorises it as
/// MARKETING (or rejects it with `INCORRECT_CATEGORY` when a category change is not allowed).
const PROMOTIONAL_WORDS: &[&str] = &[
    "sale",
    "discount",
    "% off",
    "promo",
    "coupon",
    "limited time",
    "offer",
];

/// How bad an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Meta refuses or rejects the template: creating it is refused locally.
    Error,
    /// Meta may re-categorise or reject it: the user should look, but may submit.
    Warning,
}

/// One problem found in a draft.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LintIssue {
    /// A stable rule id (`body_too_long`, `button_url_variable`, …) for the UI and tests.
    pub rule: &'static str,
    /// Where: `name`, `language`, `components[1].text`, `components[3].buttons[0].url`, …
    pub field: String,
    /// What is wrong and how to fix it, for the user.
    pub message: String,
    /// Whether it blocks submission.
    pub severity: Severity,
}

/// True when `issues` holds at least one [`Severity::Error`].
pub fn has_errors(issues: &[LintIssue]) -> bool {
    issues.iter().any(|i| i.severity == Severity::Error)
}

/// Every problem of `draft`, in the order of its fields. Empty means Meta's documented rules
/// are met (review can still reject on content).
pub fn lint(draft: &TemplateDraft) -> Vec<LintIssue> {
    let mut out = Issues::default();
    lint_name(&draft.name, &mut out);
    lint_language(&draft.language, &mut out);
    let named = lint_format(draft, &mut out);
    lint_structure(draft, &mut out);
    for (i, c) in draft.components.iter().enumerate() {
        let field = format!("components[{i}]");
        match &c.kind {
            ComponentType::Header => lint_header(draft, c, &field, named, &mut out),
            ComponentType::Body => lint_body(draft, c, &field, named, &mut out),
            ComponentType::Footer => lint_footer(draft, c, &field, &mut out),
            ComponentType::Buttons => lint_buttons(draft, c, &field, &mut out),
            ComponentType::Other(kind) => out.warn(
                "component_unknown",
                &field,
                format!("DataOptix cannot check a {kind} component; Meta will review it."),
            ),
        }
    }
    lint_category(draft, &mut out);
    out.0
}

#[derive(Default)]
struct Issues(Vec<LintIssue>);

impl Issues {
    fn error(&mut self, rule: &'static str, field: &str, message: impl Into<String>) {
        self.push(rule, field, message, Severity::Error);
    }

    fn warn(&mut self, rule: &'static str, field: &str, message: impl Into<String>) {
        self.push(rule, field, message, Severity::Warning);
    }

    fn push(&mut self, rule: &'static str, field: &str, message: impl Into<String>, s: Severity) {
        self.0.push(LintIssue {
            rule,
            field: field.to_string(),
            message: message.into(),
            severity: s,
        });
    }
}

fn lint_name(name: &str, out: &mut Issues) {
    if name.chars().count() > MAX_NAME {
        out.error(
            "name_too_long",
            "name",
            format!("The name is longer than {MAX_NAME} characters."),
        );
    } else if !is_valid_template_name(name) {
        out.error(
            "name_format",
            "name",
            "Use only lowercase letters a-z, digits and underscores (for example \
             order_update_2), and at least one character.",
        );
    }
}

/// Meta's language codes: a 2-3 letter language, optionally `_` and a 2-letter region
/// (`en`, `en_US`, `pt_BR`, `fil`) — the list in Meta's "Supported languages" doc has no other
/// shape.
fn lint_language(code: &str, out: &mut Issues) {
    let (lang, region) = match code.split_once('_') {
        Some((l, r)) => (l, Some(r)),
        None => (code, None),
    };
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
    if !(lang_ok && region_ok) {
        out.error(
            "language_code",
            "language",
            format!(
                "\"{code}\" is not a WhatsApp language code. Use a code such as en, en_US, \
                 pt_BR or es_MX."
            ),
        );
    }
}

/// Checks `parameter_format` against the variables actually used; returns whether variables
/// are named.
fn lint_format(draft: &TemplateDraft, out: &mut Issues) -> bool {
    let mut positional = false;
    let mut named = false;
    for c in &draft.components {
        if matches!(c.kind, ComponentType::Header | ComponentType::Body) {
            for v in variables(c.text.as_deref().unwrap_or_default()) {
                match v {
                    Var::Positional(_) => positional = true,
                    Var::Named(_) => named = true,
                    Var::Invalid(_) => {}
                }
            }
        }
    }
    if positional && named {
        out.error(
            "variables_mixed",
            "components",
            "Use either numbered variables ({{1}}, {{2}}) or named ones ({{first_name}}) in a \
             template, not both.",
        );
    }
    let declared_named = matches!(draft.parameter_format, Some(ParameterFormat::Named));
    if named && !positional && !declared_named {
        out.error(
            "parameter_format",
            "parameter_format",
            "The template uses named variables, so its parameter format must be \"named\".",
        );
    }
    if positional && !named && declared_named {
        out.error(
            "parameter_format",
            "parameter_format",
            "The template uses numbered variables, so its parameter format must be \
             \"positional\".",
        );
    }
    named || (declared_named && !positional)
}

fn lint_structure(draft: &TemplateDraft, out: &mut Issues) {
    let count = |kind: ComponentType| draft.components.iter().filter(|c| c.kind == kind).count();
    match count(ComponentType::Body) {
        0 => out.error(
            "body_missing",
            "components",
            "A template needs a body (the main text).",
        ),
        1 => {}
        _ => out.error(
            "component_repeated",
            "components",
            "A template has exactly one body.",
        ),
    }
    for kind in [
        ComponentType::Header,
        ComponentType::Footer,
        ComponentType::Buttons,
    ] {
        if count(kind.clone()) > 1 {
            out.error(
                "component_repeated",
                "components",
                format!(
                    "A template has at most one {} component.",
                    kind.as_str().to_lowercase()
                ),
            );
        }
    }
}

fn lint_header(
    draft: &TemplateDraft,
    c: &TemplateComponent,
    field: &str,
    named: bool,
    out: &mut Issues,
) {
    let auth = draft.category == TemplateCategory::Authentication;
    match &c.format {
        Some(HeaderFormat::Text) | None => {
            let text = c.text.as_deref().unwrap_or_default();
            let text_field = format!("{field}.text");
            if text.trim().is_empty() {
                out.error(
                    "header_text_empty",
                    &text_field,
                    "The text header is empty.",
                );
            }
            if text.chars().count() > MAX_HEADER_TEXT {
                out.error(
                    "header_too_long",
                    &text_field,
                    format!("A text header has at most {MAX_HEADER_TEXT} characters."),
                );
            }
            let vars = variables(text);
            lint_var_names(&vars, &text_field, out);
            if vars.len() > 1 {
                out.error(
                    "header_variables",
                    &text_field,
                    "A text header can have at most one variable.",
                );
            }
            if vars.len() == 1 && !header_example_given(c, named) {
                out.error(
                    "header_example",
                    &format!("{field}.example"),
                    "Give a sample value for the header's variable; Meta rejects templates \
                     without one.",
                );
            }
        }
        Some(HeaderFormat::Image | HeaderFormat::Video | HeaderFormat::Document) => {
            if auth {
                out.error(
                    "auth_header",
                    field,
                    "Authentication templates cannot have a media header.",
                );
            }
            let handles = c
                .example
                .as_ref()
                .and_then(|e| e.header_handle.as_ref())
                .is_some_and(|h| h.iter().any(|s| !s.trim().is_empty()));
            if !handles {
                out.error(
                    "header_media_example",
                    &format!("{field}.example.header_handle"),
                    "Upload a sample image, video or document for the header.",
                );
            }
        }
        Some(HeaderFormat::Location) => {
            if auth {
                out.error(
                    "auth_header",
                    field,
                    "Authentication templates cannot have a location header.",
                );
            }
        }
        Some(HeaderFormat::Other(f)) => out.error(
            "header_format",
            &format!("{field}.format"),
            format!(
                "\"{f}\" is not a header format: use TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION."
            ),
        ),
    }
}

fn header_example_given(c: &TemplateComponent, named: bool) -> bool {
    let Some(e) = &c.example else { return false };
    if named {
        e.header_text_named_params
            .as_ref()
            .is_some_and(|p| p.iter().any(|x| !x.example.trim().is_empty()))
    } else {
        e.header_text
            .as_ref()
            .is_some_and(|p| p.iter().any(|x| !x.trim().is_empty()))
    }
}

fn lint_body(
    draft: &TemplateDraft,
    c: &TemplateComponent,
    field: &str,
    named: bool,
    out: &mut Issues,
) {
    if draft.category == TemplateCategory::Authentication {
        // Meta writes the body of an authentication template itself ("<code> is your
        // verification code."): only `add_security_recommendation` may be set.
        if c.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            out.error(
                "auth_body",
                &format!("{field}.text"),
                "An authentication template's text is fixed by WhatsApp; leave the body text \
                 empty (you may add the security recommendation).",
            );
        }
        return;
    }
    let text = c.text.as_deref().unwrap_or_default();
    let text_field = format!("{field}.text");
    if text.trim().is_empty() {
        out.error("body_empty", &text_field, "The body text is empty.");
        return;
    }
    if text.chars().count() > MAX_BODY {
        out.error(
            "body_too_long",
            &text_field,
            format!("The body has at most {MAX_BODY} characters."),
        );
    }
    let vars = variables(text);
    lint_var_names(&vars, &text_field, out);
    if vars.is_empty() {
        return;
    }
    let trimmed = text.trim();
    if trimmed.starts_with("{{") || trimmed.ends_with("}}") {
        out.error(
            "body_variable_edge",
            &text_field,
            "The body cannot start or end with a variable; add text before and after it.",
        );
    }
    if has_adjacent_variables(text) {
        out.error(
            "body_variables_adjacent",
            &text_field,
            "Two variables are next to each other (like {{1}}{{2}}); put text or punctuation \
             between them.",
        );
    }
    let numbers: BTreeSet<u32> = vars
        .iter()
        .filter_map(|v| match v {
            Var::Positional(n) => Some(*n),
            _ => None,
        })
        .collect();
    if !numbers.is_empty() && !numbers.iter().copied().eq(1..=numbers.len() as u32) {
        out.error(
            "body_variables_sequence",
            &text_field,
            "Number the variables {{1}}, {{2}}, {{3}}… in order, without gaps.",
        );
    }
    let names: BTreeSet<&str> = vars
        .iter()
        .filter_map(|v| match v {
            Var::Named(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    let distinct = numbers.len() + names.len();
    let words = text_without_variables(text)
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    // Meta refuses bodies with too many variables for their length (2388293) without
    // publishing the ratio; at least as many words of text as variables is the documented
    // examples' floor.
    if words < distinct {
        out.error(
            "body_variable_ratio",
            &text_field,
            "The body has too many variables for its length; add more text around them.",
        );
    }
    let example_field = format!("{field}.example");
    let example = c.example.as_ref();
    if named {
        let given: BTreeSet<&str> = example
            .and_then(|e| e.body_text_named_params.as_ref())
            .map(|p| {
                p.iter()
                    .filter(|x| !x.example.trim().is_empty())
                    .map(|x| x.param_name.as_str())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(missing) = names.iter().find(|n| !given.contains(*n)) {
            out.error(
                "body_example",
                &example_field,
                format!("Give a sample value for {{{{{missing}}}}}."),
            );
        }
    } else {
        let row = example
            .and_then(|e| e.body_text.as_ref())
            .and_then(|rows| rows.first());
        let complete =
            row.is_some_and(|r| r.len() == numbers.len() && r.iter().all(|x| !x.trim().is_empty()));
        if !complete {
            out.error(
                "body_example",
                &example_field,
                format!(
                    "Give exactly one sample value for each of the {} variables.",
                    numbers.len()
                ),
            );
        }
    }
}

fn lint_footer(draft: &TemplateDraft, c: &TemplateComponent, field: &str, out: &mut Issues) {
    let text = c.text.as_deref().unwrap_or_default();
    let text_field = format!("{field}.text");
    if draft.category == TemplateCategory::Authentication {
        if !text.is_empty() {
            out.error(
                "auth_footer",
                &text_field,
                "An authentication template's footer is written by WhatsApp; set only the \
                 code's expiry.",
            );
        }
        if let Some(minutes) = c.code_expiration_minutes {
            if !(1..=MAX_CODE_EXPIRATION_MINUTES).contains(&minutes) {
                out.error(
                    "auth_code_expiration",
                    &format!("{field}.code_expiration_minutes"),
                    format!("A code can expire after 1 to {MAX_CODE_EXPIRATION_MINUTES} minutes."),
                );
            }
        }
        return;
    }
    if text.chars().count() > MAX_FOOTER {
        out.error(
            "footer_too_long",
            &text_field,
            format!("The footer has at most {MAX_FOOTER} characters."),
        );
    }
    if text.contains("{{") {
        out.error(
            "footer_variables",
            &text_field,
            "The footer cannot contain variables.",
        );
    }
}

fn lint_buttons(draft: &TemplateDraft, c: &TemplateComponent, field: &str, out: &mut Issues) {
    let buttons = c.buttons.as_deref().unwrap_or_default();
    let buttons_field = format!("{field}.buttons");
    if buttons.is_empty() {
        out.error(
            "buttons_empty",
            &buttons_field,
            "Add a button or remove the buttons section.",
        );
    }
    if buttons.len() > MAX_BUTTONS {
        out.error(
            "buttons_too_many",
            &buttons_field,
            format!("A template has at most {MAX_BUTTONS} buttons."),
        );
    }
    let count = |kind: ButtonType| buttons.iter().filter(|b| b.kind == kind).count();
    let limits = [
        (
            ButtonType::Url,
            MAX_URL_BUTTONS,
            "buttons_url_count",
            "website",
        ),
        (
            ButtonType::PhoneNumber,
            MAX_PHONE_BUTTONS,
            "buttons_phone_count",
            "call",
        ),
        (
            ButtonType::CopyCode,
            MAX_COPY_CODE_BUTTONS,
            "buttons_copy_code_count",
            "copy-code",
        ),
    ];
    for (kind, max, rule, what) in limits {
        if count(kind) > max {
            out.error(
                rule,
                &buttons_field,
                format!("A template has at most {max} {what} button(s)."),
            );
        }
    }
    // Quick replies must be one group (all before or all after the other buttons): WhatsApp
    // shows them together and Meta refuses interleaved ones.
    let quick: Vec<bool> = buttons
        .iter()
        .map(|b| b.kind == ButtonType::QuickReply)
        .collect();
    let runs = quick.windows(2).filter(|w| w[0] != w[1]).count();
    if runs > 1 {
        out.error(
            "buttons_quick_reply_grouped",
            &buttons_field,
            "Put all quick-reply buttons together, before or after the other buttons.",
        );
    }
    let auth = draft.category == TemplateCategory::Authentication;
    for (i, b) in buttons.iter().enumerate() {
        let bf = format!("{buttons_field}[{i}]");
        lint_button(
            b,
            &bf,
            auth,
            draft.category == TemplateCategory::Marketing,
            out,
        );
    }
}

fn lint_button(b: &TemplateButton, field: &str, auth: bool, marketing: bool, out: &mut Issues) {
    let text = b.text.as_deref().unwrap_or_default();
    let needs_text = !matches!(b.kind, ButtonType::CopyCode);
    if needs_text && text.trim().is_empty() && !matches!(b.kind, ButtonType::Otp) {
        out.error(
            "button_text_empty",
            &format!("{field}.text"),
            "The button needs a label.",
        );
    }
    if text.chars().count() > MAX_BUTTON_TEXT {
        out.error(
            "button_text_too_long",
            &format!("{field}.text"),
            format!("A button label has at most {MAX_BUTTON_TEXT} characters."),
        );
    }
    if auth && b.kind != ButtonType::Otp {
        out.error(
            "auth_buttons",
            field,
            "An authentication template has only its one-time-password button.",
        );
    }
    match &b.kind {
        ButtonType::Url => lint_url_button(b, field, out),
        ButtonType::PhoneNumber => {
            let digits = b
                .phone_number
                .as_deref()
                .map(|p| p.chars().filter(char::is_ascii_digit).count())
                .unwrap_or(0);
            if !(7..=20).contains(&digits) {
                out.error(
                    "button_phone_number",
                    &format!("{field}.phone_number"),
                    "Enter the phone number to call, with its country code.",
                );
            }
        }
        ButtonType::CopyCode => {
            let example = match &b.example {
                Some(ButtonExample::One(s)) => !s.trim().is_empty(),
                Some(ButtonExample::Many(v)) => v.iter().any(|s| !s.trim().is_empty()),
                None => false,
            };
            if !example {
                out.error(
                    "button_copy_code_example",
                    &format!("{field}.example"),
                    "Give a sample coupon code for the copy-code button.",
                );
            }
            if !marketing {
                out.error(
                    "button_copy_code_category",
                    field,
                    "Copy-code (coupon) buttons are for marketing templates.",
                );
            }
        }
        ButtonType::Otp if !auth => out.error(
            "button_otp_category",
            field,
            "One-time-password buttons are only for authentication templates.",
        ),
        _ => {}
    }
}

fn lint_url_button(b: &TemplateButton, field: &str, out: &mut Issues) {
    let url_field = format!("{field}.url");
    let Some(url) = b.url.as_deref().filter(|u| !u.trim().is_empty()) else {
        out.error(
            "button_url_missing",
            &url_field,
            "Enter the website address.",
        );
        return;
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        out.error(
            "button_url_scheme",
            &url_field,
            "The address must start with https:// (or http://).",
        );
    }
    let vars = variables(url);
    // Meta allows one variable, and only as the URL's end ("https://shop.example/o/{{1}}").
    if vars.len() > 1 || (vars.len() == 1 && !url.trim_end().ends_with("}}")) {
        out.error(
            "button_url_variable",
            &url_field,
            "A website button can have one variable, {{1}}, at the very end of the address.",
        );
    }
    if !vars.is_empty() {
        let given = match &b.example {
            Some(ButtonExample::Many(v)) => v.iter().any(|s| !s.trim().is_empty()),
            Some(ButtonExample::One(s)) => !s.trim().is_empty(),
            None => false,
        };
        if !given {
            out.error(
                "button_url_example",
                &format!("{field}.example"),
                "Give a sample full address for the website button's variable.",
            );
        }
    }
}

fn lint_category(draft: &TemplateDraft, out: &mut Issues) {
    match &draft.category {
        TemplateCategory::Other(c) => out.error(
            "category_unknown",
            "category",
            format!("\"{c}\" is not a category: use MARKETING, UTILITY or AUTHENTICATION."),
        ),
        TemplateCategory::Authentication => {
            let otp = draft
                .components
                .iter()
                .filter(|c| c.kind == ComponentType::Buttons)
                .flat_map(|c| c.buttons.iter().flatten())
                .filter(|b| b.kind == ButtonType::Otp)
                .count();
            if otp != 1 {
                out.error(
                    "auth_otp_button",
                    "components",
                    "An authentication template needs exactly one one-time-password button.",
                );
            }
        }
        TemplateCategory::Utility => {
            let text = draft
                .components
                .iter()
                .filter_map(|c| c.text.as_deref())
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase();
            if let Some(word) = PROMOTIONAL_WORDS.iter().find(|w| contains_word(&text, w)) {
                out.warn(
                    "utility_promotional",
                    "category",
                    format!(
                        "\"{word}\" sounds promotional: Meta will likely make this a MARKETING \
                         template."
                    ),
                );
            }
        }
        TemplateCategory::Marketing => {}
    }
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn lint_var_names(vars: &[Var], field: &str, out: &mut Issues) {
    if let Some(Var::Invalid(raw)) = vars.iter().find(|v| matches!(v, Var::Invalid(_))) {
        out.error(
            "variable_format",
            field,
            format!(
                "{{{{{raw}}}}} is not a variable: use a number ({{{{1}}}}) or a lowercase name \
                 with underscores ({{{{first_name}}}})."
            ),
        );
    }
}

/// A `{{…}}` in a template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    Positional(u32),
    Named(String),
    /// Braces around something that is neither: `{{First Name}}`, `{{}}`.
    Invalid(String),
}

/// Every `{{…}}` of `text`, in order.
pub(crate) fn variables(text: &str) -> Vec<Var> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = &after[..end];
        out.push(classify(inner));
        rest = &after[end + 2..];
    }
    out
}

fn classify(inner: &str) -> Var {
    if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = inner.parse() {
            return Var::Positional(n);
        }
    }
    let named = inner.starts_with(|c: char| c.is_ascii_lowercase())
        && inner
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if named {
        Var::Named(inner.to_string())
    } else {
        Var::Invalid(inner.to_string())
    }
}

fn has_adjacent_variables(text: &str) -> bool {
    let mut rest = text;
    while let Some(end) = rest.find("}}") {
        let after = &rest[end + 2..];
        if after.trim_start().starts_with("{{") {
            return true;
        }
        rest = after;
    }
    false
}

fn text_without_variables(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        out.push(' ');
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_api::templates::NamedParamExample;

    fn draft(category: TemplateCategory, components: Vec<TemplateComponent>) -> TemplateDraft {
        NewTemplate::new("order_update", "en_US", category, components)
    }

    fn ok_utility() -> TemplateDraft {
        draft(
            TemplateCategory::Utility,
            vec![
                TemplateComponent::header_text("Your order"),
                TemplateComponent::body_positional(
                    "Hi {{1}}, your order {{2}} is ready for pickup.",
                    ["Ana", "A-17"],
                ),
                TemplateComponent::footer("Sweet Crumbs Bakery"),
                TemplateComponent::buttons(vec![
                    TemplateButton::quick_reply("On my way"),
                    TemplateButton::quick_reply("Reschedule"),
                    TemplateButton::url("Track", "https://bakery.example/track"),
                ]),
            ],
        )
    }

    fn rules(d: &TemplateDraft) -> Vec<&'static str> {
        lint(d).into_iter().map(|i| i.rule).collect()
    }

    fn with_body(text: &str, examples: &[&str]) -> TemplateDraft {
        let mut d = ok_utility();
        d.components[1] = TemplateComponent::body_positional(text, examples.iter().copied());
        d
    }

    fn with_buttons(buttons: Vec<TemplateButton>) -> TemplateDraft {
        let mut d = ok_utility();
        d.category = TemplateCategory::Marketing;
        d.components[3] = TemplateComponent::buttons(buttons);
        d
    }

    fn auth(components: Vec<TemplateComponent>) -> TemplateDraft {
        draft(TemplateCategory::Authentication, components)
    }

    fn ok_auth() -> TemplateDraft {
        auth(vec![
            TemplateComponent::authentication_body(true),
            TemplateComponent::authentication_footer(10),
            TemplateComponent::buttons(vec![TemplateButton::otp_copy_code("Copy code")]),
        ])
    }

    #[test]
    fn a_good_draft_has_no_issues() {
        assert_eq!(lint(&ok_utility()), vec![]);
        assert_eq!(lint(&ok_auth()), vec![]);
        assert!(!has_errors(&lint(&ok_utility())));
    }

    #[test]
    fn name_format() {
        let mut d = ok_utility();
        d.name = "Order Update".into();
        assert_eq!(rules(&d), ["name_format"]);
        d.name = String::new();
        assert_eq!(rules(&d), ["name_format"]);
        d.name = "order_update_2".into();
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn name_too_long() {
        let mut d = ok_utility();
        d.name = "a".repeat(MAX_NAME + 1);
        assert_eq!(rules(&d), ["name_too_long"]);
        d.name = "a".repeat(MAX_NAME);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn language_code() {
        let mut d = ok_utility();
        for bad in ["english", "EN", "en-US", "en_us", ""] {
            d.language = bad.into();
            assert_eq!(rules(&d), ["language_code"], "{bad}");
        }
        for good in ["en", "en_US", "pt_BR", "fil"] {
            d.language = good.into();
            assert!(rules(&d).is_empty(), "{good}");
        }
    }

    #[test]
    fn category_unknown() {
        let mut d = ok_utility();
        d.category = TemplateCategory::Other("PROMOTION".into());
        assert_eq!(rules(&d), ["category_unknown"]);
    }

    #[test]
    fn body_missing_and_repeated_components() {
        let mut d = ok_utility();
        d.components.remove(1);
        assert_eq!(rules(&d), ["body_missing"]);
        let mut d = ok_utility();
        d.components.push(TemplateComponent::footer("again"));
        assert_eq!(rules(&d), ["component_repeated"]);
    }

    #[test]
    fn header_text_limits() {
        let mut d = ok_utility();
        d.components[0] = TemplateComponent::header_text("x".repeat(MAX_HEADER_TEXT + 1));
        assert_eq!(rules(&d), ["header_too_long"]);
        d.components[0] = TemplateComponent::header_text("x".repeat(MAX_HEADER_TEXT));
        assert!(rules(&d).is_empty());
        d.components[0] = TemplateComponent::header_text("  ");
        assert_eq!(rules(&d), ["header_text_empty"]);
    }

    #[test]
    fn header_variables_and_example() {
        let mut d = ok_utility();
        d.components[0] = TemplateComponent::header_text_with_example("Order {{1}} {{2}}", "A");
        assert_eq!(rules(&d), ["header_variables"]);
        d.components[0] = TemplateComponent::header_text("Order {{1}}");
        assert_eq!(rules(&d), ["header_example"]);
        d.components[0] = TemplateComponent::header_text_with_example("Order {{1}}", "A-17");
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn header_media_needs_a_handle() {
        let mut d = ok_utility();
        d.components[0] = TemplateComponent::header_media(HeaderFormat::Image, "");
        assert_eq!(rules(&d), ["header_media_example"]);
        d.components[0] = TemplateComponent::header_media(HeaderFormat::Document, "4::aGVsbG8=");
        assert!(rules(&d).is_empty());
        d.components[0] = TemplateComponent::header_location();
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn header_format_unknown() {
        let mut d = ok_utility();
        d.components[0].format = Some(HeaderFormat::Other("GIF".into()));
        assert_eq!(rules(&d), ["header_format"]);
    }

    #[test]
    fn body_too_long_and_empty() {
        let d = with_body(&"a".repeat(MAX_BODY + 1), &[]);
        assert_eq!(rules(&d), ["body_too_long"]);
        let d = with_body(&"a".repeat(MAX_BODY), &[]);
        assert!(rules(&d).is_empty());
        let d = with_body(" ", &[]);
        assert_eq!(rules(&d), ["body_empty"]);
    }

    #[test]
    fn body_variables_sequence() {
        let d = with_body("Hi {{1}}, your order {{3}} is ready.", &["Ana", "A-17"]);
        assert_eq!(rules(&d), ["body_variables_sequence"]);
        let d = with_body("Hi {{2}}, your order {{1}} is ready.", &["A-17", "Ana"]);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn body_variable_edge() {
        let d = with_body("{{1}}, your order is ready.", &["Ana"]);
        assert_eq!(rules(&d), ["body_variable_edge"]);
        let d = with_body("Your order is ready, {{1}}", &["Ana"]);
        assert_eq!(rules(&d), ["body_variable_edge"]);
        let d = with_body("Your order is ready, {{1}}!", &["Ana"]);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn body_variables_adjacent() {
        let d = with_body("Hi {{1}} {{2}}, your order is ready.", &["Ana", "Lopez"]);
        assert_eq!(rules(&d), ["body_variables_adjacent"]);
        let d = with_body("Hi {{1}}, {{2}} is ready.", &["Ana", "A-17"]);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn body_example() {
        let d = with_body("Hi {{1}}, your order {{2}} is ready.", &["Ana"]);
        assert_eq!(rules(&d), ["body_example"]);
        let mut d = ok_utility();
        d.components[1] = TemplateComponent::body("Hi {{1}}, your order is ready.");
        assert_eq!(rules(&d), ["body_example"]);
    }

    #[test]
    fn body_variable_ratio() {
        let d = with_body("Hi {{1}}, {{2}}; {{3}}.", &["a", "b", "c"]);
        assert_eq!(rules(&d), ["body_variable_ratio"]);
        let d = with_body("Hi {{1}}, order {{2}} at {{3}}.", &["a", "b", "c"]);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn named_variables() {
        let mut d = ok_utility();
        d.components[1] = TemplateComponent::body_named(
            "Hi {{first_name}}, your order is ready.",
            vec![NamedParamExample::new("first_name", "Ana")],
        );
        assert_eq!(rules(&d), ["parameter_format"]);
        d = d.with_parameter_format(ParameterFormat::Named);
        assert!(rules(&d).is_empty());
        d.components[1] = TemplateComponent::body_named(
            "Hi {{first_name}}, your order is ready.",
            vec![NamedParamExample::new("last_name", "Lopez")],
        );
        assert_eq!(rules(&d), ["body_example"]);
    }

    #[test]
    fn positional_with_named_format() {
        let d = ok_utility().with_parameter_format(ParameterFormat::Named);
        assert_eq!(rules(&d), ["parameter_format"]);
    }

    #[test]
    fn variables_mixed() {
        let mut d = ok_utility().with_parameter_format(ParameterFormat::Named);
        d.components[1] = TemplateComponent::body_named(
            "Hi {{first_name}}, your order {{1}} is ready.",
            vec![NamedParamExample::new("first_name", "Ana")],
        );
        assert!(rules(&d).contains(&"variables_mixed"));
        assert!(!rules(&ok_utility()).contains(&"variables_mixed"));
    }

    #[test]
    fn variable_format() {
        let d = with_body("Hi {{First Name}}, your order is ready.", &[]);
        assert_eq!(rules(&d), ["variable_format"]);
        let d = with_body("Hi {{1}}, your order is ready.", &["Ana"]);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn footer_rules() {
        let mut d = ok_utility();
        d.components[2] = TemplateComponent::footer("x".repeat(MAX_FOOTER + 1));
        assert_eq!(rules(&d), ["footer_too_long"]);
        d.components[2] = TemplateComponent::footer("Reply {{1}} to stop");
        assert_eq!(rules(&d), ["footer_variables"]);
        d.components[2] = TemplateComponent::footer("x".repeat(MAX_FOOTER));
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn buttons_too_many_and_empty() {
        let many = (0..11)
            .map(|i| TemplateButton::quick_reply(format!("Option {i}")))
            .collect();
        assert_eq!(rules(&with_buttons(many)), ["buttons_too_many"]);
        let ten = (0..10)
            .map(|i| TemplateButton::quick_reply(format!("Option {i}")))
            .collect();
        assert!(rules(&with_buttons(ten)).is_empty());
        assert_eq!(rules(&with_buttons(vec![])), ["buttons_empty"]);
    }

    #[test]
    fn buttons_per_kind_limits() {
        let url = |i: usize| TemplateButton::url(format!("Site {i}"), "https://bakery.example");
        assert_eq!(
            rules(&with_buttons(vec![url(1), url(2), url(3)])),
            ["buttons_url_count"]
        );
        assert!(rules(&with_buttons(vec![url(1), url(2)])).is_empty());
        let call = || TemplateButton::phone_number("Call us", "+1 650 555 1234");
        assert_eq!(
            rules(&with_buttons(vec![call(), call()])),
            ["buttons_phone_count"]
        );
        assert!(rules(&with_buttons(vec![call()])).is_empty());
        let code = || TemplateButton::copy_code("SPRING25");
        assert_eq!(
            rules(&with_buttons(vec![code(), code()])),
            ["buttons_copy_code_count"]
        );
        assert!(rules(&with_buttons(vec![code()])).is_empty());
    }

    #[test]
    fn quick_replies_grouped() {
        let qr = |t: &str| TemplateButton::quick_reply(t);
        let url = TemplateButton::url("Site", "https://bakery.example");
        let split = vec![qr("Yes"), url.clone(), qr("No")];
        assert_eq!(rules(&with_buttons(split)), ["buttons_quick_reply_grouped"]);
        assert!(rules(&with_buttons(vec![qr("Yes"), qr("No"), url])).is_empty());
    }

    #[test]
    fn button_text() {
        let long = TemplateButton::quick_reply("x".repeat(MAX_BUTTON_TEXT + 1));
        assert_eq!(rules(&with_buttons(vec![long])), ["button_text_too_long"]);
        let empty = TemplateButton::quick_reply("");
        assert_eq!(rules(&with_buttons(vec![empty])), ["button_text_empty"]);
        let ok = TemplateButton::quick_reply("x".repeat(MAX_BUTTON_TEXT));
        assert!(rules(&with_buttons(vec![ok])).is_empty());
    }

    #[test]
    fn url_button_rules() {
        let b = |url: &str| TemplateButton::dynamic_url("Track", url, "https://x.example/o/1");
        assert_eq!(
            rules(&with_buttons(vec![b("https://x.example/{{1}}/o")])),
            ["button_url_variable"]
        );
        assert_eq!(
            rules(&with_buttons(vec![b("https://x.example/{{1}}/{{2}}")])),
            ["button_url_variable"]
        );
        assert!(rules(&with_buttons(vec![b("https://x.example/o/{{1}}")])).is_empty());
        let no_example = TemplateButton::url("Track", "https://x.example/o/{{1}}");
        assert_eq!(
            rules(&with_buttons(vec![no_example])),
            ["button_url_example"]
        );
        let no_url = TemplateButton::url("Track", "");
        assert_eq!(rules(&with_buttons(vec![no_url])), ["button_url_missing"]);
        let ftp = TemplateButton::url("Track", "ftp://x.example");
        assert_eq!(rules(&with_buttons(vec![ftp])), ["button_url_scheme"]);
    }

    #[test]
    fn phone_button_needs_a_number() {
        let b = TemplateButton::phone_number("Call us", "12");
        assert_eq!(rules(&with_buttons(vec![b])), ["button_phone_number"]);
    }

    #[test]
    fn copy_code_rules() {
        let mut b = TemplateButton::copy_code("");
        assert_eq!(
            rules(&with_buttons(vec![b.clone()])),
            ["button_copy_code_example"]
        );
        b = TemplateButton::copy_code("SPRING25");
        let mut d = with_buttons(vec![b]);
        d.category = TemplateCategory::Utility;
        assert_eq!(rules(&d), ["button_copy_code_category"]);
    }

    #[test]
    fn otp_buttons_only_in_authentication() {
        let d = with_buttons(vec![TemplateButton::otp_copy_code("Copy")]);
        assert_eq!(rules(&d), ["button_otp_category"]);
    }

    #[test]
    fn authentication_rules() {
        let mut d = ok_auth();
        d.components.insert(
            0,
            TemplateComponent::header_media(HeaderFormat::Image, "4::x"),
        );
        assert_eq!(rules(&d), ["auth_header"]);

        let mut d = ok_auth();
        d.components[0] = TemplateComponent::body("Your code is {{1}}.");
        assert_eq!(rules(&d), ["auth_body"]);

        let mut d = ok_auth();
        d.components[1] = TemplateComponent::footer("Expires soon");
        assert_eq!(rules(&d), ["auth_footer"]);

        let mut d = ok_auth();
        d.components[1] = TemplateComponent::authentication_footer(91);
        assert_eq!(rules(&d), ["auth_code_expiration"]);

        let mut d = ok_auth();
        d.components[2] = TemplateComponent::buttons(vec![
            TemplateButton::otp_copy_code("Copy"),
            TemplateButton::quick_reply("Help"),
        ]);
        assert_eq!(rules(&d), ["auth_buttons"]);

        let mut d = ok_auth();
        d.components.remove(2);
        assert_eq!(rules(&d), ["auth_otp_button"]);
    }

    #[test]
    fn utility_promotional_is_a_warning() {
        let d = with_body("Hi {{1}}, our sale starts today.", &["Ana"]);
        let issues = lint(&d);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].rule, "utility_promotional");
        assert_eq!(issues[0].severity, Severity::Warning);
        assert!(!has_errors(&issues));
        // "wholesale" is not "sale".
        let d = with_body("Hi {{1}}, your wholesale order is ready.", &["Ana"]);
        assert!(rules(&d).is_empty());
    }

    #[test]
    fn unknown_components_are_warned_about() {
        let mut d = ok_utility();
        let mut c = TemplateComponent::footer("x");
        c.kind = ComponentType::Other("CAROUSEL".into());
        c.text = None;
        d.components.push(c);
        assert_eq!(rules(&d), ["component_unknown"]);
    }
}
