//! Message templates: lint a draft, render a preview, build the send object, keep the local
//! copy in step with Graph, and read it back.
//!
//! - [`lint`]: Meta's rules checked before submitting ([`lint::lint`]).
//! - [`render`]: a text-only preview with parameters, and the `components` of a send.
//! - [`sync`](mod@sync): every page of `GET /{waba}/message_templates` upserted, rows Meta no
//!   longer has deleted, status changes recorded; create (lint first), edit, delete.
//! - Status, quality and category webhooks are applied by `sync::apply_account` inside the
//!   sync page transaction, and land in the same history.

pub mod lint;
pub mod render;
pub mod sync;

use cloud_api::templates::{placeholders, ParameterFormat, Placeholder, TemplateComponent};
use sqlx::FromRow;

use crate::store::{Store, StoreError};

pub use lint::{has_errors, lint, LintIssue, Severity, TemplateDraft};
pub use render::{
    body_text, button_takes_value, component_text, header_format, params_for, render,
    send_template, template_buttons, variables, FormValues, Params, RenderError, RenderedButton,
    RenderedTemplate,
};
pub use sync::{
    create_template, delete_template, edit_template, sync_templates, sync_templates_with,
    TemplateError, TemplateSyncReport,
};

/// A template as stored locally.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Template {
    /// Local row id.
    pub id: i64,
    /// The WhatsApp Business Account.
    pub waba_id: String,
    /// Meta's template id (absent for a row only known from a webhook without one).
    pub meta_id: Option<String>,
    /// The template name (shared by its translations).
    pub name: String,
    /// Language code, e.g. `en_US`.
    pub language: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub category: Option<String>,
    /// Review status, e.g. `APPROVED`.
    pub status: Option<String>,
    /// Quality score, e.g. `GREEN`.
    pub quality: Option<String>,
    /// Why it was rejected.
    pub rejected_reason: Option<String>,
    /// The components as Meta lists them.
    pub components: Vec<TemplateComponent>,
    /// When the row last changed (Unix seconds).
    pub updated_at: i64,
}

impl Template {
    /// Whether variables are `{{name}}`s: inferred from the texts, since the local row keeps
    /// only the components.
    pub fn parameter_format(&self) -> ParameterFormat {
        let named = self
            .components
            .iter()
            .filter_map(|c| c.text.as_deref())
            .flat_map(placeholders)
            .any(|p| matches!(p, Placeholder::Named(_)));
        if named {
            ParameterFormat::Named
        } else {
            ParameterFormat::Positional
        }
    }
}

#[derive(FromRow)]
struct TemplateDbRow {
    id: i64,
    waba_id: String,
    meta_id: Option<String>,
    name: String,
    language: String,
    category: Option<String>,
    status: Option<String>,
    quality: Option<String>,
    rejected_reason: Option<String>,
    components_json: String,
    updated_at: i64,
}

impl TemplateDbRow {
    fn into_template(self) -> Template {
        // A row written by this crate always holds valid JSON; a row that does not parse (hand
        // edited) is shown without components rather than failing the whole list.
        let components = serde_json::from_str(&self.components_json).unwrap_or_default();
        Template {
            id: self.id,
            waba_id: self.waba_id,
            meta_id: self.meta_id,
            name: self.name,
            language: self.language,
            category: self.category,
            status: self.status,
            quality: self.quality,
            rejected_reason: self.rejected_reason,
            components,
            updated_at: self.updated_at,
        }
    }
}

const SELECT_TEMPLATE: &str = "SELECT id, waba_id, meta_id, name, language, category, status, \
     quality, rejected_reason, components_json, updated_at FROM templates";

/// One entry of a template's history: a status, quality or category change.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize)]
pub struct TemplateHistoryEntry {
    /// `status`, `quality`, `category` or `category_announced`.
    pub event: String,
    /// The new value (`APPROVED`, `GREEN`, `MARKETING`…).
    pub value: String,
    /// The rejection reason, previous quality or previous category.
    pub reason: Option<String>,
    /// When it happened (Unix seconds).
    pub ts: i64,
}

/// A template and its history, newest change first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TemplateDetail {
    /// The template.
    pub template: Template,
    /// Its changes, newest first.
    pub history: Vec<TemplateHistoryEntry>,
}

/// The workspace's templates, by name then language; only those with `status` if given
/// (e.g. `APPROVED` for the send picker).
pub async fn list_templates(
    store: &Store,
    workspace_id: &str,
    status: Option<&str>,
) -> Result<Vec<Template>, StoreError> {
    let sql = format!(
        "{SELECT_TEMPLATE} WHERE workspace_id = ? AND (? IS NULL OR status = ?)
         ORDER BY name, language"
    );
    let rows: Vec<TemplateDbRow> = sqlx::query_as(&sql)
        .bind(workspace_id)
        .bind(status)
        .bind(status)
        .fetch_all(store.pool())
        .await?;
    Ok(rows.into_iter().map(TemplateDbRow::into_template).collect())
}

/// One template by local id, with its history; `None` if there is no such template.
pub async fn get_template(store: &Store, id: i64) -> Result<Option<TemplateDetail>, StoreError> {
    let sql = format!("{SELECT_TEMPLATE} WHERE id = ?");
    let Some(row): Option<TemplateDbRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let history = sqlx::query_as(
        "SELECT event, value, reason, ts FROM template_status_history
         WHERE template_id = ? ORDER BY ts DESC, id DESC",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    Ok(Some(TemplateDetail {
        template: row.into_template(),
        history,
    }))
}

/// One template by (WABA, name, language).
pub async fn find_template(
    store: &Store,
    waba_id: &str,
    name: &str,
    language: &str,
) -> Result<Option<Template>, StoreError> {
    let sql = format!("{SELECT_TEMPLATE} WHERE waba_id = ? AND name = ? AND language = ?");
    let row: Option<TemplateDbRow> = sqlx::query_as(&sql)
        .bind(waba_id)
        .bind(name)
        .bind(language)
        .fetch_optional(store.pool())
        .await?;
    Ok(row.map(TemplateDbRow::into_template))
}
