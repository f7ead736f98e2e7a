//! Retention: messages, media and raw webhook events older than the policy's limits are
//! deleted, in batches so the database is never locked for long.
//!
//! The policy is a setting (`privacy.retention`). Deleting a message deletes what hangs off it
//! by wamid (statuses, reactions, edits), its media rows (foreign key) and files, and its
//! search-index entry (the FTS triggers of migration 0001). The activity log is never subject
//! to retention.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::SqliteConnection;

use super::{inside, PrivacyError};
use crate::store::{Store, StoreError};

/// The settings key of the policy.
pub const RETENTION_SETTING: &str = "privacy.retention";

/// The activity log's actor of the runs the device's timer starts (a run someone starts is
/// logged under their name instead, so the two can be told apart).
pub const SCHEDULED_ACTOR: &str = "retention";

/// Rows deleted per transaction.
pub const BATCH: i64 = 500;

const DAY: i64 = 86_400;

/// How long data is kept, in days; `None` keeps it forever (the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Messages (with their statuses, reactions, edits and media).
    pub messages_days: Option<u32>,
    /// Media files and rows only (the messages stay, shown without their attachment).
    pub media_days: Option<u32>,
    /// Webhook parts kept raw by sync.
    pub raw_events_days: Option<u32>,
}

/// What [`apply`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Messages deleted.
    pub messages: u64,
    /// Media rows deleted (with their messages or on their own).
    pub media: u64,
    /// Media files removed from disk.
    pub media_files: u64,
    /// Raw sync events deleted.
    pub raw_events: u64,
}

/// The stored policy (the default, keep everything, when none is set).
pub async fn policy(store: &Store) -> Result<RetentionPolicy, PrivacyError> {
    Ok(match store.setting(RETENTION_SETTING).await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| PrivacyError::Invalid(format!("the stored retention policy: {e}")))?,
        None => RetentionPolicy::default(),
    })
}

/// The settings key of the policy's clock: `[Unix ms, device]` of the change it came from,
/// here or on another device of the workspace.
const RETENTION_CLOCK_SETTING: &str = "privacy.retention_clock";

/// The time of the policy stored here (Unix ms; 0 when none came with a clock).
pub(crate) async fn policy_clock_in(conn: &mut sqlx::SqliteConnection) -> Result<i64, StoreError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT value_json FROM settings WHERE key = ?")
            .bind(RETENTION_CLOCK_SETTING)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(current
        .and_then(|c| serde_json::from_str::<(i64, String)>(&c).ok())
        .map_or(0, |(at, _)| at))
}

/// Stores `policy`, set at `at` (Unix ms) on `device`, inside the caller's transaction unless
/// the policy there is newer: the workspace's devices converge on the last one set (ties broken
/// by device id). Returns whether it was stored.
pub(crate) async fn adopt_policy_in(
    conn: &mut sqlx::SqliteConnection,
    policy: &RetentionPolicy,
    at: i64,
    device: &str,
) -> Result<bool, StoreError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT value_json FROM settings WHERE key = ?")
            .bind(RETENTION_CLOCK_SETTING)
            .fetch_optional(&mut *conn)
            .await?;
    let newer_there = current
        .and_then(|c| serde_json::from_str::<(i64, String)>(&c).ok())
        .is_some_and(|(c_at, c_device)| (c_at, c_device.as_str()) >= (at, device));
    if newer_there {
        return Ok(false);
    }
    let value = serde_json::to_value(policy)
        .map_err(|e| StoreError::Invalid(format!("retention policy: {e}")))?;
    crate::store::set_setting_in(conn, RETENTION_SETTING, &value).await?;
    let clock = serde_json::json!([at, device]);
    crate::store::set_setting_in(conn, RETENTION_CLOCK_SETTING, &clock).await?;
    Ok(true)
}

/// Stores `policy` and logs the change.
pub async fn set_policy(
    store: &Store,
    actor: &str,
    policy: &RetentionPolicy,
) -> Result<(), PrivacyError> {
    let value = serde_json::to_value(policy)
        .map_err(|e| PrivacyError::Invalid(format!("retention policy: {e}")))?;
    store.set_setting(RETENTION_SETTING, &value).await?;
    super::activity::record(store, actor, "privacy.retention_policy", None, &value).await?;
    Ok(())
}

/// Applies the stored policy as of `now` (Unix seconds): deletes in batches of [`BATCH`], each
/// batch one transaction, removes the media files of committed batches, and logs the counts as
/// `actor` (the person who asked, or [`SCHEDULED_ACTOR`] for the device's timer).
pub async fn apply(
    store: &Store,
    data_dir: &Path,
    now: i64,
    actor: &str,
) -> Result<RetentionReport, PrivacyError> {
    let policy = policy(store).await?;
    let mut report = RetentionReport::default();
    let cutoff = |days: u32| now - i64::from(days) * DAY;
    if let Some(days) = policy.messages_days {
        loop {
            let (messages, media, files) = delete_messages(store, cutoff(days)).await?;
            report.messages += messages;
            report.media += media;
            report.media_files += remove_files(data_dir, &files);
            if messages < BATCH as u64 {
                break;
            }
        }
    }
    if let Some(days) = policy.media_days {
        loop {
            let (rows, files) = delete_media(store, cutoff(days)).await?;
            report.media += rows;
            report.media_files += remove_files(data_dir, &files);
            if (rows as i64) < BATCH {
                break;
            }
        }
    }
    if let Some(days) = policy.raw_events_days {
        loop {
            let deleted = sqlx::query(
                "DELETE FROM sync_raw_events WHERE rowid IN
                     (SELECT rowid FROM sync_raw_events WHERE created_at < ? LIMIT ?)",
            )
            .bind(cutoff(days))
            .bind(BATCH)
            .execute(store.pool())
            .await?
            .rows_affected();
            report.raw_events += deleted;
            if deleted < BATCH as u64 {
                break;
            }
        }
    }
    // Retention also runs on the device's timer (`Device::start_background`, four times a
    // day): only runs that deleted something are logged, so the log is not flooded with empty
    // entries.
    if report != RetentionReport::default() {
        let details = json!({"policy": policy, "deleted": report});
        super::activity::record(store, actor, "privacy.retention_applied", None, &details).await?;
    }
    Ok(report)
}

/// One batch of messages older than `cutoff`: returns (messages, media rows, media paths).
async fn delete_messages(
    store: &Store,
    cutoff: i64,
) -> Result<(u64, u64, Vec<Option<String>>), StoreError> {
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    let ids: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, wamid FROM messages WHERE ts < ? ORDER BY ts LIMIT ?")
            .bind(cutoff)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
    if ids.is_empty() {
        return Ok((0, 0, Vec::new()));
    }
    let paths = delete_message_rows(&mut tx, &ids).await?;
    let files = unshared(&mut tx, &paths).await?;
    tx.commit().await?;
    Ok((ids.len() as u64, paths.len() as u64, files))
}

/// Deletes the messages `ids` (id, wamid) and everything hanging off them; returns the paths of
/// their media rows (deleted too) so the caller removes the files after the commit.
pub(crate) async fn delete_message_rows(
    conn: &mut SqliteConnection,
    ids: &[(i64, String)],
) -> Result<Vec<Option<String>>, StoreError> {
    let mut paths = Vec::new();
    for (id, wamid) in ids {
        let mut media: Vec<Option<String>> =
            sqlx::query_scalar("SELECT path FROM media WHERE message_id = ?")
                .bind(id)
                .fetch_all(&mut *conn)
                .await?;
        paths.append(&mut media);
        for sql in [
            "DELETE FROM message_statuses WHERE wamid = ?",
            "DELETE FROM reactions WHERE message_wamid = ?",
            "DELETE FROM message_revisions WHERE wamid = ?",
        ] {
            sqlx::query(sql).bind(wamid).execute(&mut *conn).await?;
        }
        sqlx::query("DELETE FROM media WHERE message_id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM messages WHERE id = ?")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    // A conversation must not point at a message that is gone.
    sqlx::query(
        "UPDATE conversations SET last_message_id = NULL WHERE last_message_id IS NOT NULL
             AND last_message_id NOT IN (SELECT id FROM messages)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(paths)
}

/// One batch of media rows whose message is older than `cutoff`; returns how many, and the
/// files no row names any more.
async fn delete_media(
    store: &Store,
    cutoff: i64,
) -> Result<(u64, Vec<Option<String>>), StoreError> {
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT media.id, media.path FROM media JOIN messages ON messages.id = media.message_id
         WHERE messages.ts < ? LIMIT ?",
    )
    .bind(cutoff)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    for (id, _) in &rows {
        sqlx::query("DELETE FROM media WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let paths: Vec<Option<String>> = rows.into_iter().map(|(_, p)| p).collect();
    let files = unshared(&mut tx, &paths).await?;
    tx.commit().await?;
    Ok((paths.len() as u64, files))
}

/// The `paths` no media row names any more, once each. A file can be shared by several rows (a
/// broadcast's header, downloaded once: `media::fetch`), so it stays while any row that is
/// left names it. Called in the transaction that deleted the rows, before its commit: from
/// then on no row can start naming those files (the worker shares a file only while a
/// downloaded row names it, in one statement), and a failure rolls the deletion back instead
/// of leaving files no row names.
pub(crate) async fn unshared(
    conn: &mut SqliteConnection,
    paths: &[Option<String>],
) -> Result<Vec<Option<String>>, StoreError> {
    let mut listed: Vec<&str> = paths.iter().flatten().map(String::as_str).collect();
    listed.sort_unstable();
    listed.dedup();
    if listed.is_empty() {
        return Ok(Vec::new());
    }
    let named: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT DISTINCT path FROM media WHERE path IN (SELECT value FROM json_each(?))",
    )
    .bind(crate::store::json_rows(&listed)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    Ok(listed
        .into_iter()
        .filter(|p| !named.contains(*p))
        .map(|p| Some(p.to_owned()))
        .collect())
}

/// Removes the files (those inside `data_dir` only); returns how many were removed. A file
/// already gone is fine; one that cannot be removed is logged and left (its row is gone, so
/// nothing points at it and a later erase-everything removes it).
pub(crate) fn remove_files(data_dir: &Path, paths: &[Option<String>]) -> u64 {
    let mut removed = 0;
    for p in paths.iter().flatten() {
        let Some(file) = inside(data_dir, p) else {
            tracing::warn!("privacy: a media path points outside the data directory; skipped");
            continue;
        };
        match std::fs::remove_file(&file) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "privacy: a media file could not be removed"),
        }
    }
    removed
}
