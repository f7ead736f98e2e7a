//! Keeps the local templates in step with Graph, and creates, edits and deletes them there.

use std::collections::{HashMap, HashSet};

use cloud_api::client::{CloudApiClient, CloudApiError};
use cloud_api::templates::{
    MessageTemplate, NewTemplate, TemplateEdit, TemplateQuery, TEMPLATE_FIELDS,
};
use serde_json::Value;
use sqlx::SqliteConnection;

use super::lint::{has_errors, lint, LintIssue, TemplateDraft};
use super::{get_template, Template};
use crate::store::{now, Store, StoreError};
use crate::sync::apply_account::record_history;

/// Templates per Graph page (Meta's maximum page size for this edge is not published; 100 is
/// what WhatsApp Manager asks for).
pub const PAGE_SIZE: u32 = 100;

/// What went wrong managing templates.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The draft breaks Meta's rules; nothing was sent.
    #[error("the template has {} problem(s) to fix first: {}", .0.len(), summary(.0))]
    Lint(Vec<LintIssue>),
    /// Graph refused or failed. `explanation` is for the user; `class` tells whether retrying
    /// helps (`retryable`, `rate_limited`, `fixable_by_user`, …).
    #[error("{explanation}{}", details.as_deref().map(|d| format!(" (WhatsApp said: {d})")).unwrap_or_default())]
    Graph {
        /// Meta's error code, when Meta sent one.
        code: Option<i64>,
        /// [`cloud_api::error::ErrorClass::name`].
        class: &'static str,
        /// A plain-language explanation.
        explanation: String,
        /// Meta's `error_data.details` or `error_user_msg`, when sent.
        details: Option<String>,
    },
    /// No such local template.
    #[error("there is no template {0} on this device")]
    NotFound(i64),
    /// The template is known only from a webhook, without Meta's id: sync first.
    #[error("this template has not been synced from WhatsApp yet; sync templates and try again")]
    NotSynced,
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn summary(issues: &[LintIssue]) -> String {
    issues
        .iter()
        .filter(|i| i.severity == super::Severity::Error)
        .map(|i| format!("{}: {}", i.field, i.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx::Error> for TemplateError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl From<CloudApiError> for TemplateError {
    fn from(e: CloudApiError) -> Self {
        let class = e.class().name();
        match e.meta() {
            Some(meta) => Self::Graph {
                code: Some(meta.code),
                class,
                explanation: meta.explanation().to_string(),
                details: meta
                    .error_user_msg
                    .clone()
                    .or_else(|| meta.details().map(str::to_string)),
            },
            None => Self::Graph {
                code: None,
                class,
                explanation: format!("WhatsApp could not be reached or answered oddly: {e}"),
                details: None,
            },
        }
    }
}

/// What a template sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TemplateSyncReport {
    /// Templates Graph listed (all pages).
    pub fetched: usize,
    /// Rows created.
    pub inserted: usize,
    /// Rows that existed (updated in place).
    pub updated: usize,
    /// Local rows Meta no longer has, deleted.
    pub deleted: usize,
    /// Status changes recorded in the history.
    pub status_changes: usize,
}

/// [`sync_templates_with`] with [`PAGE_SIZE`].
pub async fn sync_templates(
    store: &Store,
    api: &CloudApiClient,
    workspace_id: &str,
    waba_id: &str,
) -> Result<TemplateSyncReport, TemplateError> {
    sync_templates_with(store, api, workspace_id, waba_id, PAGE_SIZE).await
}

/// Reads every page of the WABA's templates from Graph and makes the local rows match, in one
/// transaction: rows upserted, status and quality changes recorded in the history, rows Meta
/// no longer lists deleted. Nothing is written when a page fails.
pub async fn sync_templates_with(
    store: &Store,
    api: &CloudApiClient,
    workspace_id: &str,
    waba_id: &str,
    page_size: u32,
) -> Result<TemplateSyncReport, TemplateError> {
    let query = TemplateQuery {
        limit: Some(page_size),
        fields: Some(TEMPLATE_FIELDS.to_string()),
        ..TemplateQuery::default()
    };
    let remote = api.list_all_templates(waba_id, query).await?;
    let mut report = TemplateSyncReport {
        fetched: remote.len(),
        ..TemplateSyncReport::default()
    };
    let mut tx = store.begin_write().await?;
    ensure_workspace(&mut tx, workspace_id).await?;
    let local: Vec<LocalRow> = sqlx::query_as(
        "SELECT id, name, language, status, quality FROM templates WHERE waba_id = ?",
    )
    .bind(waba_id)
    .fetch_all(&mut *tx)
    .await?;
    let local: HashMap<(String, String), &LocalRow> = local
        .iter()
        .map(|r| ((r.name.clone(), r.language.clone()), r))
        .collect();
    let ts = now();
    let mut seen = HashSet::new();
    for t in &remote {
        let language = t.language.clone().unwrap_or_default();
        let key = (t.name.clone(), language);
        let before = local.get(&key);
        let id = upsert(&mut tx, workspace_id, waba_id, t, ts).await?;
        seen.insert(id);
        let raw = serde_json::to_string(t).unwrap_or_default();
        let status = t.status.as_ref().map(|s| s.as_str());
        match before {
            Some(old) => {
                report.updated += 1;
                if status.is_some() && old.status.as_deref() != status {
                    let reason = rejected_reason(t);
                    let value = status.unwrap_or_default();
                    record_history(&mut tx, id, "status", value, reason, ts, &raw).await?;
                    report.status_changes += 1;
                }
                let quality = quality(t);
                if quality.is_some() && old.quality.as_deref() != quality {
                    let value = quality.unwrap_or_default();
                    let previous = old.quality.as_deref();
                    record_history(&mut tx, id, "quality", value, previous, ts, &raw).await?;
                }
            }
            None => {
                report.inserted += 1;
                if let Some(status) = status {
                    let reason = rejected_reason(t);
                    record_history(&mut tx, id, "status", status, reason, ts, &raw).await?;
                    report.status_changes += 1;
                }
            }
        }
    }
    for old in local.values() {
        if !seen.contains(&old.id) {
            sqlx::query("DELETE FROM templates WHERE id = ?")
                .bind(old.id)
                .execute(&mut *tx)
                .await?;
            report.deleted += 1;
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// A local template as the sync diff needs it.
#[derive(sqlx::FromRow)]
struct LocalRow {
    id: i64,
    name: String,
    language: String,
    status: Option<String>,
    quality: Option<String>,
}

fn rejected_reason(t: &MessageTemplate) -> Option<&str> {
    t.rejected_reason.as_deref().filter(|r| *r != "NONE")
}

/// Graph's `quality_score` is `{"score": "GREEN", "date": …}` (older answers: a bare string).
fn quality(t: &MessageTemplate) -> Option<&str> {
    match t.quality_score.as_ref()? {
        Value::String(s) => Some(s),
        v => v.get("score").and_then(Value::as_str),
    }
}

async fn ensure_workspace(conn: &mut SqliteConnection, id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING",
    )
    .bind(id)
    .bind(id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn upsert(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    waba_id: &str,
    t: &MessageTemplate,
    ts: i64,
) -> Result<i64, StoreError> {
    let components = serde_json::to_string(&t.components).unwrap_or_else(|_| "[]".into());
    let id = sqlx::query_scalar(
        "INSERT INTO templates (workspace_id, waba_id, meta_id, name, language, category, status,
                                quality, rejected_reason, components_json, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(waba_id, name, language) DO UPDATE SET
             meta_id = excluded.meta_id, category = excluded.category, status = excluded.status,
             quality = COALESCE(excluded.quality, quality),
             rejected_reason = excluded.rejected_reason,
             components_json = excluded.components_json, updated_at = excluded.updated_at,
             status_at = NULL
         RETURNING id",
    )
    .bind(workspace_id)
    .bind(waba_id)
    .bind(&t.id)
    .bind(&t.name)
    .bind(t.language.as_deref().unwrap_or_default())
    .bind(t.category.as_ref().map(|c| c.as_str()))
    .bind(t.status.as_ref().map(|s| s.as_str()))
    .bind(quality(t))
    .bind(rejected_reason(t))
    .bind(components)
    .bind(ts)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Lints `draft` (refusing it with the issues when any is an error), creates it in Graph, and
/// stores it locally as Meta answered (usually PENDING, with Meta's id). Review outcomes arrive
/// later as `message_template_status_update` webhooks.
pub async fn create_template(
    store: &Store,
    api: &CloudApiClient,
    workspace_id: &str,
    waba_id: &str,
    draft: &TemplateDraft,
) -> Result<Template, TemplateError> {
    let issues = lint(draft);
    if has_errors(&issues) {
        return Err(TemplateError::Lint(issues));
    }
    let created = api.create_template(waba_id, draft).await?;
    let listed = MessageTemplate {
        id: created.id.clone(),
        name: draft.name.clone(),
        language: Some(draft.language.clone()),
        status: Some(created.status.clone()),
        category: Some(created.category.clone()),
        previous_category: None,
        sub_category: None,
        parameter_format: draft.parameter_format.clone(),
        components: draft.components.clone(),
        rejected_reason: None,
        quality_score: None,
        extra: serde_json::Map::new(),
    };
    let mut tx = store.begin_write().await?;
    ensure_workspace(&mut tx, workspace_id).await?;
    let ts = now();
    let id = upsert(&mut tx, workspace_id, waba_id, &listed, ts).await?;
    let raw = serde_json::to_string(&created).unwrap_or_default();
    record_history(
        &mut tx,
        id,
        "status",
        created.status.as_str(),
        None,
        ts,
        &raw,
    )
    .await?;
    tx.commit().await?;
    loaded(store, id).await
}

/// Replaces the components (and, for a template not yet approved, the category) of template
/// `id` in Graph after linting the result; the template goes back to review (PENDING).
pub async fn edit_template(
    store: &Store,
    api: &CloudApiClient,
    id: i64,
    edit: &TemplateEdit,
) -> Result<Template, TemplateError> {
    let current = loaded(store, id).await?;
    let meta_id = current.meta_id.clone().ok_or(TemplateError::NotSynced)?;
    let category = match (&edit.category, current.category.as_deref()) {
        (Some(c), _) => c.clone(),
        (None, Some(c)) => serde_json::from_value(Value::String(c.to_string()))
            .unwrap_or(cloud_api::templates::TemplateCategory::Other(c.to_string())),
        (None, None) => cloud_api::templates::TemplateCategory::Other(String::new()),
    };
    let components = edit
        .components
        .clone()
        .unwrap_or_else(|| current.components.clone());
    let mut as_draft = NewTemplate::new(&current.name, &current.language, category, components);
    as_draft.parameter_format = edit
        .parameter_format
        .clone()
        .or(Some(current.parameter_format()));
    let issues = lint(&as_draft);
    if has_errors(&issues) {
        return Err(TemplateError::Lint(issues));
    }
    api.edit_template(&meta_id, edit).await?;
    let ts = now();
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "UPDATE templates SET components_json = ?, category = ?, status = 'PENDING',
             rejected_reason = NULL, updated_at = ?, status_at = NULL WHERE id = ?",
    )
    .bind(serde_json::to_string(&as_draft.components).unwrap_or_else(|_| "[]".into()))
    .bind(as_draft.category.as_str())
    .bind(ts)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let raw = serde_json::to_string(edit).unwrap_or_default();
    record_history(&mut tx, id, "status", "PENDING", Some("edited"), ts, &raw).await?;
    tx.commit().await?;
    loaded(store, id).await
}

/// Deletes template `id` (this language only, by Meta's id) in Graph, then locally.
pub async fn delete_template(
    store: &Store,
    api: &CloudApiClient,
    id: i64,
) -> Result<(), TemplateError> {
    let current = loaded(store, id).await?;
    let meta_id = current.meta_id.as_deref().ok_or(TemplateError::NotSynced)?;
    api.delete_template(&current.waba_id, &current.name, Some(meta_id))
        .await?;
    sqlx::query("DELETE FROM templates WHERE id = ?")
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

async fn loaded(store: &Store, id: i64) -> Result<Template, TemplateError> {
    get_template(store, id)
        .await?
        .map(|d| d.template)
        .ok_or(TemplateError::NotFound(id))
}
