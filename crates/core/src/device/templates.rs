//! The templates studio: a flat editor form turned into Meta's template object, linted (with
//! a preview filled from the examples), created, edited and deleted in Graph.
//!
//! The form is what the editor holds (header, body, footer, buttons, one example per
//! variable), not Meta's nested `components`, so the UI never builds Graph JSON. Lint issues
//! are reported against the form's own fields (`body.text`, `buttons[1].url`, …) so the
//! editor can show each one next to its input.

use cloud_api::templates::{
    placeholders, ButtonExample, ButtonType, ComponentExample, ComponentType, HeaderFormat,
    NamedParamExample, NewTemplate, ParameterFormat, Placeholder, TemplateButton, TemplateCategory,
    TemplateComponent, TemplateEdit,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Device, DeviceError, DeviceEvent, RenderedPreview, TemplateView};
use crate::templates::{self, LintIssue, Params, Severity, Template, TemplateError};

/// The editor's template: what the user types.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TemplateForm {
    /// Lowercase letters, digits and underscores.
    pub name: String,
    /// e.g. `en_US`.
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    pub header: Option<HeaderForm>,
    /// The body, with `{{1}}` or `{{name}}` variables.
    pub body: String,
    /// One sample value per distinct body variable, in order of first appearance.
    pub body_examples: Vec<String>,
    pub footer: Option<String>,
    pub buttons: Vec<ButtonForm>,
}

/// The header: text (with at most one variable) or media.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct HeaderForm {
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`.
    pub format: String,
    /// The text of a `TEXT` header.
    pub text: Option<String>,
    /// The header variable's sample value (TEXT), or the media sample's upload handle.
    pub example: Option<String>,
}

/// A button.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ButtonForm {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER` or `COPY_CODE`.
    pub kind: String,
    /// The label.
    pub text: String,
    /// URL buttons: the URL, optionally ending in `{{1}}`.
    pub url: Option<String>,
    /// Phone buttons: the number, with country code.
    pub phone_number: Option<String>,
    /// URL with a variable: a full sample URL; copy-code: the sample code.
    pub example: Option<String>,
}

/// One lint issue, located on the form (`name`, `header.text`, `body.example`,
/// `buttons[0].url`, `components` for the template as a whole…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct LintIssueView {
    /// A stable rule id (`body_too_long`, …).
    pub rule: String,
    /// The form field.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// `error` blocks submitting; `warning` does not.
    pub severity: String,
}

/// The editor's live check: lint issues and the message filled with the examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TemplateLintView {
    pub issues: Vec<LintIssueView>,
    /// Whether an issue blocks submitting.
    pub has_errors: bool,
    pub preview: RenderedPreview,
}

/// One change in a template's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TemplateHistoryView {
    /// `status`, `quality`, `category` or `category_announced`.
    pub event: String,
    pub value: String,
    pub reason: Option<String>,
    /// Unix seconds.
    pub ts: i64,
}

/// A template opened in the studio: its list row, its form, whether Meta allows editing it
/// now, and its history (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TemplateDetailView {
    pub template: TemplateView,
    pub form: TemplateForm,
    /// Meta allows editing APPROVED, REJECTED and PAUSED templates.
    pub editable: bool,
    /// Approved templates keep their category when edited.
    pub category_locked: bool,
    pub history: Vec<TemplateHistoryView>,
}

/// Statuses Meta allows editing from (WhatsApp "Edit message templates": approved, rejected
/// or paused).
const EDITABLE: [&str; 3] = ["APPROVED", "REJECTED", "PAUSED"];

fn open_enum<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(Value::String(value.trim().to_string())).ok()
}

fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// Distinct variables of a text in order of first appearance, and whether any is named.
fn variables(text: &str) -> (Vec<String>, bool) {
    let mut names: Vec<String> = Vec::new();
    let mut named = false;
    for p in placeholders(text) {
        let name = match p {
            Placeholder::Positional(n) => n.to_string(),
            Placeholder::Named(n) => {
                named = true;
                n
            }
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    (names, named)
}

/// Which form section each built component came from, to relocate lint fields.
#[derive(Clone, Copy)]
enum Section {
    Header,
    Body,
    Footer,
    Buttons,
}

/// The form as Meta's create body, plus the section of each component.
fn build(form: &TemplateForm) -> (NewTemplate, Vec<Section>) {
    let category = open_enum(&form.category.to_uppercase())
        .unwrap_or_else(|| TemplateCategory::Other(form.category.clone()));
    let header_text = form
        .header
        .as_ref()
        .filter(|h| h.format.eq_ignore_ascii_case("TEXT"))
        .and_then(|h| h.text.clone())
        .unwrap_or_default();
    let (header_vars, header_named) = variables(&header_text);
    let (body_vars, body_named) = variables(&form.body);
    let named = header_named || body_named;
    let mut components = Vec::new();
    let mut sections = Vec::new();
    if let Some(h) = &form.header {
        let format = open_enum(&h.format.to_uppercase())
            .unwrap_or_else(|| HeaderFormat::Other(h.format.clone()));
        let mut c = TemplateComponent::header_text("");
        c.format = Some(format.clone());
        c.text = None;
        let example = non_empty(&h.example);
        if format == HeaderFormat::Text {
            c.text = Some(header_text.clone());
            if let (Some(var), Some(example)) = (header_vars.first(), example) {
                c.example = Some(if named {
                    ComponentExample {
                        header_text_named_params: Some(vec![NamedParamExample::new(
                            var.clone(),
                            example,
                        )]),
                        ..ComponentExample::default()
                    }
                } else {
                    ComponentExample {
                        header_text: Some(vec![example]),
                        ..ComponentExample::default()
                    }
                });
            }
        } else if let Some(handle) = example {
            c.example = Some(ComponentExample {
                header_handle: Some(vec![handle]),
                ..ComponentExample::default()
            });
        }
        components.push(c);
        sections.push(Section::Header);
    }
    let mut body = TemplateComponent::body(form.body.clone());
    let examples: Vec<String> = body_vars
        .iter()
        .enumerate()
        .map(|(i, _)| form.body_examples.get(i).cloned().unwrap_or_default())
        .collect();
    if !body_vars.is_empty() && examples.iter().all(|e| !e.trim().is_empty()) {
        body.example = Some(if named {
            ComponentExample {
                body_text_named_params: Some(
                    body_vars
                        .iter()
                        .zip(&examples)
                        .map(|(v, e)| NamedParamExample::new(v.clone(), e.clone()))
                        .collect(),
                ),
                ..ComponentExample::default()
            }
        } else {
            ComponentExample {
                body_text: Some(vec![examples]),
                ..ComponentExample::default()
            }
        });
    }
    components.push(body);
    sections.push(Section::Body);
    if let Some(footer) = form.footer.as_ref().filter(|f| !f.is_empty()) {
        let mut c = TemplateComponent::body(footer.clone());
        c.kind = ComponentType::Footer;
        components.push(c);
        sections.push(Section::Footer);
    }
    if !form.buttons.is_empty() {
        let buttons = form.buttons.iter().map(button).collect();
        let mut c = TemplateComponent::body("");
        c.kind = ComponentType::Buttons;
        c.text = None;
        c.buttons = Some(buttons);
        components.push(c);
        sections.push(Section::Buttons);
    }
    let mut draft = NewTemplate::new(&form.name, &form.language, category, components);
    draft.parameter_format = Some(if named {
        ParameterFormat::Named
    } else {
        ParameterFormat::Positional
    });
    (draft, sections)
}

fn button(b: &ButtonForm) -> TemplateButton {
    let kind =
        open_enum(&b.kind.to_uppercase()).unwrap_or_else(|| ButtonType::Other(b.kind.clone()));
    let example = non_empty(&b.example).map(|e| match kind {
        ButtonType::Url => ButtonExample::Many(vec![e]),
        _ => ButtonExample::One(e),
    });
    TemplateButton {
        text: Some(b.text.clone()),
        url: if kind == ButtonType::Url {
            non_empty(&b.url)
        } else {
            None
        },
        phone_number: if kind == ButtonType::PhoneNumber {
            non_empty(&b.phone_number)
        } else {
            None
        },
        example: match kind {
            ButtonType::Url | ButtonType::CopyCode => example,
            _ => None,
        },
        kind,
        otp_type: None,
        extra: serde_json::Map::new(),
    }
}

/// A stored template as the editor's form (the reverse of [`build`]).
fn form_of(t: &Template) -> TemplateForm {
    let mut form = TemplateForm {
        name: t.name.clone(),
        language: t.language.clone(),
        category: t.category.clone().unwrap_or_default(),
        ..TemplateForm::default()
    };
    for c in &t.components {
        match c.kind {
            ComponentType::Header => {
                let format = c.format.clone().unwrap_or(HeaderFormat::Text);
                let ex = c.example.as_ref();
                let example = if format == HeaderFormat::Text {
                    ex.and_then(|e| e.header_text.as_ref())
                        .and_then(|v| v.first().cloned())
                        .or_else(|| {
                            ex.and_then(|e| e.header_text_named_params.as_ref())
                                .and_then(|v| v.first())
                                .map(|p| p.example.clone())
                        })
                } else {
                    ex.and_then(|e| e.header_handle.as_ref())
                        .and_then(|v| v.first().cloned())
                };
                form.header = Some(HeaderForm {
                    format: format.as_str().to_string(),
                    text: c.text.clone(),
                    example,
                });
            }
            ComponentType::Body => {
                form.body = c.text.clone().unwrap_or_default();
                let (vars, _) = variables(&form.body);
                let ex = c.example.as_ref();
                if let Some(values) = ex
                    .and_then(|e| e.body_text.as_ref())
                    .and_then(|v| v.first())
                {
                    form.body_examples = values.clone();
                } else if let Some(named) = ex.and_then(|e| e.body_text_named_params.as_ref()) {
                    form.body_examples = vars
                        .iter()
                        .map(|v| {
                            named
                                .iter()
                                .find(|p| &p.param_name == v)
                                .map(|p| p.example.clone())
                                .unwrap_or_default()
                        })
                        .collect();
                }
                form.body_examples.resize(vars.len(), String::new());
            }
            ComponentType::Footer => form.footer = c.text.clone(),
            ComponentType::Buttons => {
                form.buttons = c
                    .buttons
                    .iter()
                    .flatten()
                    .map(|b| ButtonForm {
                        kind: wire(&b.kind),
                        text: b.text.clone().unwrap_or_default(),
                        url: b.url.clone(),
                        phone_number: b.phone_number.clone(),
                        example: match &b.example {
                            Some(ButtonExample::One(s)) => Some(s.clone()),
                            Some(ButtonExample::Many(v)) => v.first().cloned(),
                            None => None,
                        },
                    })
                    .collect();
            }
            ComponentType::Other(_) => {}
        }
    }
    form
}

/// Moves an issue from Meta's `components[i]…` path onto the form's field.
fn issue_view(issue: &LintIssue, sections: &[Section]) -> LintIssueView {
    let mut field = issue.field.clone();
    if let Some(rest) = field.strip_prefix("components[") {
        if let Some((index, tail)) = rest.split_once(']') {
            if let Some(section) = index.parse::<usize>().ok().and_then(|i| sections.get(i)) {
                field = match section {
                    Section::Header => format!("header{tail}"),
                    Section::Body => format!("body{tail}"),
                    Section::Footer => format!("footer{tail}"),
                    Section::Buttons => {
                        let tail = tail.strip_prefix(".buttons").unwrap_or(tail);
                        format!("buttons{tail}")
                    }
                };
            }
        }
    }
    LintIssueView {
        rule: issue.rule.to_string(),
        field,
        message: issue.message.clone(),
        severity: match issue.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
        .to_string(),
    }
}

/// The form's lint, relocated onto its fields.
fn lint_form(form: &TemplateForm) -> (NewTemplate, Vec<LintIssueView>) {
    let (draft, sections) = build(form);
    let issues = templates::lint(&draft)
        .iter()
        .map(|i| issue_view(i, &sections))
        .collect();
    (draft, issues)
}

/// The draft filled with its examples, as the customer would read it.
fn preview(form: &TemplateForm, draft: &NewTemplate) -> RenderedPreview {
    let template = Template {
        id: 0,
        waba_id: String::new(),
        meta_id: None,
        name: draft.name.clone(),
        language: draft.language.clone(),
        category: None,
        status: None,
        quality: None,
        rejected_reason: None,
        components: draft.components.clone(),
        updated_at: 0,
    };
    let (body_vars, _) = variables(&form.body);
    let header_text = form
        .header
        .as_ref()
        .and_then(|h| h.text.as_deref())
        .unwrap_or_default();
    let (header_vars, _) = variables(header_text);
    let filled = |vars: Vec<String>, values: Vec<String>| {
        vars.into_iter()
            .zip(values)
            .filter(|(_, v)| !v.trim().is_empty())
            .collect()
    };
    let params = Params {
        body: filled(body_vars, form.body_examples.clone()),
        header: filled(
            header_vars,
            form.header
                .as_ref()
                .and_then(|h| non_empty(&h.example))
                .into_iter()
                .collect(),
        ),
        ..Params::default()
    };
    super::inbox::preview_of(templates::render(&template, &params))
}

impl DeviceError {
    fn from_template(e: TemplateError, sections: &[Section]) -> Self {
        match e {
            TemplateError::Lint(issues) => {
                Self::Lint(issues.iter().map(|i| issue_view(i, sections)).collect())
            }
            TemplateError::Graph {
                class: "rate_limited",
                ..
            } => Self::Meta(e.to_string()),
            e @ TemplateError::Graph {
                class: "fixable_by_user",
                ..
            } => Self::InvalidInput(e.to_string()),
            e @ TemplateError::Graph { .. } => Self::Meta(e.to_string()),
            e @ TemplateError::NotFound(_) => Self::NotFound(e.to_string()),
            e @ TemplateError::NotSynced => Self::Conflict(e.to_string()),
            TemplateError::Store(e) => Self::Store(e),
        }
    }
}

impl Device {
    /// Lints the editor's form (no I/O): issues on the form's fields, and the preview filled
    /// with the examples.
    pub fn lint_template(&self, form: &TemplateForm) -> TemplateLintView {
        let (draft, issues) = lint_form(form);
        TemplateLintView {
            has_errors: issues.iter().any(|i| i.severity == "error"),
            preview: preview(form, &draft),
            issues,
        }
    }

    /// A template with its form, editability and history.
    pub async fn template_detail(&self, id: i64) -> Result<TemplateDetailView, DeviceError> {
        let session = self.session().await?;
        let detail = templates::get_template(&self.inner.store, id)
            .await?
            .ok_or_else(|| DeviceError::NotFound("no such template".into()))?;
        self.check_template(&session.account.workspace_id, id)
            .await?;
        let t = &detail.template;
        let status = t.status.as_deref().unwrap_or_default();
        Ok(TemplateDetailView {
            template: super::inbox::template_view(t),
            form: form_of(t),
            editable: t.meta_id.is_some() && EDITABLE.contains(&status),
            category_locked: status == "APPROVED",
            history: detail
                .history
                .into_iter()
                .map(|h| TemplateHistoryView {
                    event: h.event,
                    value: h.value,
                    reason: h.reason,
                    ts: h.ts,
                })
                .collect(),
        })
    }

    /// Checks that template `id` is the signed-in workspace's (a history kept from another
    /// workspace on this device is not reachable).
    async fn check_template(&self, workspace_id: &str, id: i64) -> Result<(), DeviceError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM templates WHERE id = ? AND workspace_id = ?")
                .bind(id)
                .bind(workspace_id)
                .fetch_optional(self.inner.store.pool())
                .await
                .map_err(crate::store::StoreError::from)?;
        found
            .map(|_| ())
            .ok_or_else(|| DeviceError::NotFound("no such template".into()))
    }

    /// The WABA the studio works on (the first connected number's) and a Graph client with
    /// that number's token.
    /// Uploads a sample for a media template header (`IMAGE`: JPEG or PNG up to 5 MB, `VIDEO`:
    /// MP4 up to 16 MB, `DOCUMENT`: PDF up to 100 MB, checked from the file's bytes) through
    /// Meta's Resumable Upload API, and returns the handle to put in the header's example.
    pub async fn upload_header_sample(
        &self,
        format: &str,
        path: &std::path::Path,
    ) -> Result<super::HeaderSample, DeviceError> {
        self.acting_manager().await?;
        let (types, max) = super::uploads::header_sample_types(format).ok_or_else(|| {
            DeviceError::InvalidInput(format!(
                "a {format} header takes no file (IMAGE, VIDEO or DOCUMENT do)"
            ))
        })?;
        let (name, mime, bytes) =
            super::uploads::read_checked(path, types, max, "this header's sample").await?;
        let workspace_id = self.session().await?.account.workspace_id.clone();
        let (_, graph) = self.template_graph(&workspace_id, None).await?;
        let handle = self.upload_asset(&graph, &name, &mime, bytes).await?;
        Ok(super::HeaderSample {
            handle,
            file_name: name,
        })
    }

    async fn template_graph(
        &self,
        workspace_id: &str,
        waba_id: Option<&str>,
    ) -> Result<(String, cloud_api::client::CloudApiClient), DeviceError> {
        let numbers = self.numbers(workspace_id).await?;
        let number = numbers
            .iter()
            .find(|n| waba_id.is_none_or(|w| n.waba_id == w))
            .ok_or_else(|| {
                DeviceError::NotFound(
                    "connect a WhatsApp number first: templates belong to its business account"
                        .into(),
                )
            })?;
        let token = self.number_token(&number.id)?.ok_or_else(|| {
            DeviceError::Conflict(
                "this device does not hold the number's access token; reconnect the number".into(),
            )
        })?;
        let graph = self.graph().await?.with_token(token.as_str());
        Ok((number.waba_id.clone(), graph))
    }

    /// Lints the form and, when it has no error, submits it to Meta for review; the template
    /// is stored as Meta answered (usually PENDING). Errors: [`DeviceError::Lint`] with the
    /// issues, [`DeviceError::Forbidden`] for agents, Meta's refusal explained.
    pub async fn create_template(&self, form: &TemplateForm) -> Result<TemplateView, DeviceError> {
        let session = self.acting_manager().await?;
        let (draft, issues) = lint_form(form);
        if issues.iter().any(|i| i.severity == "error") {
            return Err(DeviceError::Lint(issues));
        }
        let workspace_id = session.account.workspace_id.clone();
        let (waba_id, graph) = self.template_graph(&workspace_id, None).await?;
        let (_, sections) = build(form);
        let created =
            templates::create_template(&self.inner.store, &graph, &workspace_id, &waba_id, &draft)
                .await
                .map_err(|e| DeviceError::from_template(e, &sections))?;
        self.log_activity(
            "templates.create",
            &format!("template:{}", created.id),
            serde_json::json!({"name": created.name, "language": created.language}),
        )
        .await;
        self.emit(DeviceEvent::TemplatesChanged);
        Ok(super::inbox::template_view(&created))
    }

    /// Replaces an approved, rejected or paused template's content (name and language stay;
    /// an approved template keeps its category). It goes back to review.
    pub async fn edit_template(
        &self,
        id: i64,
        form: &TemplateForm,
    ) -> Result<TemplateView, DeviceError> {
        self.acting_manager().await?;
        let current = self.template_detail(id).await?;
        let status = current.template.status.clone().unwrap_or_default();
        if !current.editable {
            return Err(DeviceError::Conflict(format!(
                "WhatsApp allows editing approved, rejected or paused templates only; this one \
                 is {}",
                if status.is_empty() {
                    "unknown"
                } else {
                    &status
                }
                .to_lowercase()
            )));
        }
        // Name and language identify the template: they cannot change.
        let mut form = form.clone();
        form.name = current.form.name.clone();
        form.language = current.form.language.clone();
        if current.category_locked && !form.category.eq_ignore_ascii_case(&current.form.category) {
            return Err(DeviceError::InvalidInput(
                "an approved template keeps its category; create a new template instead".into(),
            ));
        }
        let (draft, issues) = lint_form(&form);
        if issues.iter().any(|i| i.severity == "error") {
            return Err(DeviceError::Lint(issues));
        }
        let session = self.session().await?;
        let waba = templates::get_template(&self.inner.store, id)
            .await?
            .map(|d| d.template.waba_id)
            .unwrap_or_default();
        let (_, graph) = self
            .template_graph(&session.account.workspace_id, Some(&waba))
            .await?;
        let edit = TemplateEdit {
            category: (!current.category_locked).then(|| draft.category.clone()),
            parameter_format: draft.parameter_format.clone(),
            components: Some(draft.components.clone()),
            message_send_ttl_seconds: None,
        };
        let (_, sections) = build(&form);
        let edited = templates::edit_template(&self.inner.store, &graph, id, &edit)
            .await
            .map_err(|e| DeviceError::from_template(e, &sections))?;
        self.log_activity(
            "templates.edit",
            &format!("template:{id}"),
            serde_json::json!({"name": edited.name, "language": edited.language}),
        )
        .await;
        self.emit(DeviceEvent::TemplatesChanged);
        Ok(super::inbox::template_view(&edited))
    }

    /// Deletes a template (this language) in Meta, then here.
    pub async fn delete_template(&self, id: i64) -> Result<(), DeviceError> {
        let session = self.acting_manager().await?;
        self.check_template(&session.account.workspace_id, id)
            .await?;
        let current = templates::get_template(&self.inner.store, id)
            .await?
            .ok_or_else(|| DeviceError::NotFound("no such template".into()))?
            .template;
        let (_, graph) = self
            .template_graph(&session.account.workspace_id, Some(&current.waba_id))
            .await?;
        templates::delete_template(&self.inner.store, &graph, id)
            .await
            .map_err(|e| DeviceError::from_template(e, &[]))?;
        self.log_activity(
            "templates.delete",
            &format!("template:{id}"),
            serde_json::json!({"name": current.name, "language": current.language}),
        )
        .await;
        self.emit(DeviceEvent::TemplatesChanged);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn order_form() -> TemplateForm {
        TemplateForm {
            name: "order_ready".into(),
            language: "en_US".into(),
            category: "UTILITY".into(),
            header: Some(HeaderForm {
                format: "TEXT".into(),
                text: Some("Order {{1}}".into()),
                example: Some("#1042".into()),
            }),
            body: "Hi {{1}}, your order {{2}} is ready for pickup.".into(),
            body_examples: vec!["Ana".into(), "#1042".into()],
            footer: Some("Panadería Ana".into()),
            buttons: vec![
                ButtonForm {
                    kind: "QUICK_REPLY".into(),
                    text: "Thanks".into(),
                    ..ButtonForm::default()
                },
                ButtonForm {
                    kind: "URL".into(),
                    text: "Track".into(),
                    url: Some("https://example.com/track/{{1}}".into()),
                    example: Some("https://example.com/track/1042".into()),
                    ..ButtonForm::default()
                },
            ],
        }
    }

    #[test]
    fn a_complete_form_builds_meta_components_and_lints_clean() {
        let (draft, issues) = lint_form(&order_form());
        assert!(issues.is_empty(), "{issues:?}");
        let json = serde_json::to_value(&draft).unwrap();
        assert_eq!(json["components"][0]["type"], "HEADER");
        assert_eq!(json["components"][0]["example"]["header_text"][0], "#1042");
        assert_eq!(
            json["components"][1]["example"]["body_text"][0],
            serde_json::json!(["Ana", "#1042"])
        );
        assert_eq!(json["components"][2]["type"], "FOOTER");
        assert_eq!(json["components"][3]["buttons"][1]["type"], "URL");
        assert_eq!(json["parameter_format"], "positional");
    }

    #[test]
    fn issues_point_at_the_form_fields() {
        let mut form = order_form();
        form.name = "Order Ready".into();
        form.body_examples = vec![];
        form.buttons[1].text = "A label far longer than twenty-five characters".into();
        let (_, issues) = lint_form(&form);
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert!(fields.contains(&"name"), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with("body")), "{fields:?}");
        assert!(fields.contains(&"buttons[1].text"), "{fields:?}");
        assert!(issues.iter().all(|i| !i.field.starts_with("components[")));
    }

    #[test]
    fn named_variables_use_named_examples() {
        let form = TemplateForm {
            name: "welcome".into(),
            language: "en".into(),
            category: "MARKETING".into(),
            body: "Welcome {{first_name}}!".into(),
            body_examples: vec!["Ana".into()],
            ..TemplateForm::default()
        };
        let (draft, issues) = lint_form(&form);
        assert!(issues.is_empty(), "{issues:?}");
        let json = serde_json::to_value(&draft).unwrap();
        assert_eq!(json["parameter_format"], "named");
        assert_eq!(
            json["components"][0]["example"]["body_text_named_params"][0]["param_name"],
            "first_name"
        );
    }

    #[test]
    fn a_stored_template_opens_as_the_same_form() {
        let form = order_form();
        let (draft, _) = build(&form);
        let stored = Template {
            id: 1,
            waba_id: "w".into(),
            meta_id: Some("m".into()),
            name: draft.name.clone(),
            language: draft.language.clone(),
            category: Some("UTILITY".into()),
            status: Some("APPROVED".into()),
            quality: None,
            rejected_reason: None,
            components: draft.components.clone(),
            updated_at: 0,
        };
        assert_eq!(form_of(&stored), form);
    }

    #[test]
    fn the_preview_is_filled_with_the_examples() {
        let form = order_form();
        let (draft, _) = build(&form);
        let p = preview(&form, &draft);
        assert_eq!(p.header.as_deref(), Some("Order #1042"));
        assert_eq!(p.body, "Hi Ana, your order #1042 is ready for pickup.");
        assert_eq!(p.footer.as_deref(), Some("Panadería Ana"));
        assert_eq!(p.buttons, ["Thanks", "Track"]);
        assert!(p.missing.is_empty() || p.missing.iter().all(|m| m.starts_with("buttons")));
    }
}
