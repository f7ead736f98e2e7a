//! Reading broadcasts: the list with progress, and each recipient's state.
//!
//! A recipient's state is derived, in this order: excluded (`skipped`, with the reason),
//! `cancelled`, not yet sent (`queued`), refused by Meta when sending (`failed`, the outbox's
//! explanation), else the message's status as sync keeps it (`sent`, `delivered`, `read`, or
//! `failed` with Meta's error from the status webhook).

use serde::Serialize;
use sqlx::FromRow;

use super::csv::ImportIssue;
use super::{BroadcastError, Message};
use crate::store::Store;

/// The SQL deriving a recipient's state (`r`: recipient, `o`: outbox item, `m`: message).
const STATE: &str = "CASE
        WHEN r.skip_reason IS NOT NULL THEN 'skipped'
        WHEN r.cancelled = 1 THEN 'cancelled'
        WHEN o.id IS NULL OR o.state IN ('queued', 'sending') THEN 'queued'
        WHEN o.state = 'failed' THEN 'failed'
        WHEN o.state = 'cancelled' THEN 'cancelled'
        WHEN m.status = 'failed' THEN 'failed'
        WHEN m.status IN ('read', 'played') THEN 'read'
        WHEN m.status = 'delivered' THEN 'delivered'
        ELSE 'sent' END";

const JOINS: &str = "broadcast_recipients r
    LEFT JOIN outbox o ON o.id = r.outbox_id
    LEFT JOIN messages m ON m.id = o.message_id";

/// How many recipients are in each state (each recipient counts once, in its latest state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastCounts {
    pub total: u32,
    pub queued: u32,
    pub sent: u32,
    pub delivered: u32,
    pub read: u32,
    pub failed: u32,
    pub skipped: u32,
    pub cancelled: u32,
}

impl BroadcastCounts {
    fn add(&mut self, state: &str, n: u32) {
        self.total += n;
        match state {
            "queued" => self.queued += n,
            "sent" => self.sent += n,
            "delivered" => self.delivered += n,
            "read" => self.read += n,
            "failed" => self.failed += n,
            "skipped" => self.skipped += n,
            _ => self.cancelled += n,
        }
    }
}

/// A broadcast as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastSummary {
    pub id: i64,
    pub name: String,
    pub phone_number_id: String,
    pub template_name: String,
    pub language: String,
    /// `sending`, `paused`, `cancelled` or `completed` (sending with nothing left queued).
    pub status: String,
    pub author_name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub counts: BroadcastCounts,
    /// CSV rows refused or collapsed at import.
    pub import_issues: Vec<ImportIssue>,
    /// The parameters as chosen (JSON of the template, language and value sources).
    pub params_json: String,
}

/// One recipient and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RecipientView {
    pub id: i64,
    pub contact_id: Option<i64>,
    pub phone: String,
    pub name: Option<String>,
    /// `queued`, `sent`, `delivered`, `read`, `failed`, `skipped` or `cancelled`.
    pub state: String,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Meta's message id once sent.
    pub wamid: Option<String>,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    name: String,
    phone_number_id: String,
    template_name: String,
    language: String,
    state: String,
    author_name: Option<String>,
    created_at: i64,
    import_issues_json: String,
    params_json: String,
}

const SELECT: &str = "SELECT id, name, phone_number_id, template_name, language, state,
    author_name, created_at, import_issues_json, params_json FROM broadcasts";

/// Per-state counts of one broadcast.
pub async fn counts(store: &Store, broadcast_id: i64) -> Result<BroadcastCounts, BroadcastError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT {STATE} AS s, count(*) FROM {JOINS} WHERE r.broadcast_id = ? GROUP BY s"
    ))
    .bind(broadcast_id)
    .fetch_all(store.pool())
    .await?;
    let mut counts = BroadcastCounts::default();
    for (state, n) in rows {
        counts.add(&state, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(counts)
}

async fn summary(store: &Store, row: Row) -> Result<BroadcastSummary, BroadcastError> {
    let counts = counts(store, row.id).await?;
    let status = match row.state.as_str() {
        "running" if counts.queued == 0 => "completed",
        "running" => "sending",
        other => other,
    };
    Ok(BroadcastSummary {
        id: row.id,
        name: row.name,
        phone_number_id: row.phone_number_id,
        template_name: row.template_name,
        language: row.language,
        status: status.to_string(),
        author_name: row.author_name,
        created_at: row.created_at,
        counts,
        import_issues: serde_json::from_str(&row.import_issues_json).unwrap_or_default(),
        params_json: row.params_json,
    })
}

/// The workspace's broadcasts, newest first.
pub async fn list(
    store: &Store,
    workspace_id: &str,
) -> Result<Vec<BroadcastSummary>, BroadcastError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE workspace_id = ? ORDER BY created_at DESC, id DESC"
    ))
    .bind(workspace_id)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(summary(store, row).await?);
    }
    Ok(out)
}

/// One broadcast of the workspace.
pub async fn get(
    store: &Store,
    workspace_id: &str,
    broadcast_id: i64,
) -> Result<BroadcastSummary, BroadcastError> {
    let row: Row = sqlx::query_as(&format!("{SELECT} WHERE id = ? AND workspace_id = ?"))
        .bind(broadcast_id)
        .bind(workspace_id)
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| BroadcastError::NotFound(format!("no broadcast {broadcast_id}")))?;
    summary(store, row).await
}

/// The broadcast's recipients after recipient id `after`, in order (keyset pages).
pub async fn recipients(
    store: &Store,
    broadcast_id: i64,
    after: i64,
    limit: u32,
) -> Result<Vec<RecipientView>, BroadcastError> {
    Ok(sqlx::query_as(&format!(
        "SELECT r.id, r.contact_id, r.phone, r.name, {STATE} AS state,
             COALESCE(r.skip_reason,
                 CASE WHEN o.state = 'failed' THEN o.error_message
                      WHEN m.status = 'failed' AND r.cancelled = 0 THEN
                          COALESCE(m.error_code || ': ', '') || COALESCE(m.error_title, 'failed')
                 END) AS reason,
             CASE WHEN m.wamid LIKE 'local:%' THEN NULL ELSE m.wamid END AS wamid
         FROM {JOINS} WHERE r.broadcast_id = ? AND r.id > ? ORDER BY r.id LIMIT ?"
    ))
    .bind(broadcast_id)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?)
}

/// The template and value sources a broadcast was made with.
pub fn message_of(summary: &BroadcastSummary) -> Option<Message> {
    serde_json::from_str(&summary.params_json).ok()
}
