//! The activity log: who did what to whose data, append-only and hash-chained.
//!
//! Each row's `hash` is `sha256(prev_hash || canonical row)`, `prev_hash` being the hash of the
//! row before (64 zeros for the first), and the canonical row the JSON array
//! `[id, ts, actor, action, subject, details_json]`. Editing, deleting or reordering a row
//! breaks the chain at that row, which [`verify`] reports. Triggers refuse UPDATE and DELETE
//! (migrations 0001, 0004), so a change needs someone to drop them first: the chain is what
//! catches that.
//!
//! Details never hold message content or secrets: they describe the operation (counts, ids).

use std::io::Write;

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, SqliteConnection};

use super::PrivacyError;
use crate::store::{now, Store, StoreError};

/// `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many rows [`verify`] and [`export_jsonl`] read at a time.
const BATCH: i64 = 500;

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize, serde::Deserialize)]
pub struct ActivityEntry {
    /// Position in the chain.
    pub id: i64,
    /// When (Unix seconds).
    pub ts: i64,
    /// Who: a user (`Name <email>`), `system`, `retention` (the retention timer)…
    pub actor: String,
    /// What, e.g. `privacy.erase_contact`.
    pub action: String,
    /// On what, e.g. `contact:42`.
    pub subject: Option<String>,
    /// Counts and ids describing the operation, as JSON text.
    pub details_json: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// Where the chain is broken: the first row whose hash or link does not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the activity log was altered at entry {id}")]
pub struct BrokenAt {
    /// The first row that does not verify.
    pub id: i64,
}

/// What [`verify`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken.
    #[error(transparent)]
    Broken(#[from] BrokenAt),
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn row_hash(
    prev_hash: &str,
    id: i64,
    ts: i64,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    details_json: &str,
) -> String {
    // A JSON array is unambiguous (every field delimited and escaped), so two different rows
    // can never serialise to the same bytes.
    let canonical = serde_json::json!([id, ts, actor, action, subject, details_json]).to_string();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Appends a row inside the caller's transaction (which must already hold the write lock, i.e.
/// have written something, or be the only writer), so an operation and its log entry commit
/// together.
pub(crate) async fn record_in(
    conn: &mut SqliteConnection,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    details: &Value,
) -> Result<ActivityEntry, StoreError> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT id, hash FROM activity_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (id, prev_hash) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS_HASH.to_string()),
    };
    let ts = now();
    let details_json = details.to_string();
    let hash = row_hash(&prev_hash, id, ts, actor, action, subject, &details_json);
    sqlx::query(
        "INSERT INTO activity_log (id, ts, actor, action, subject, details_json, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(ts)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(&details_json)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(ActivityEntry {
        id,
        ts,
        actor: actor.to_string(),
        action: action.to_string(),
        subject: subject.map(str::to_string),
        details_json,
        prev_hash,
        hash,
    })
}

/// Appends one entry. The read of the last hash and the insert run in one `BEGIN IMMEDIATE`
/// transaction, so two writers can never chain onto the same row.
pub async fn record(
    store: &Store,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    details: &Value,
) -> Result<ActivityEntry, PrivacyError> {
    let mut tx = store
        .pool()
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(StoreError::from)?;
    let entry = record_in(&mut tx, actor, action, subject, details).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(entry)
}

/// Checks the whole chain from the first row: every `prev_hash` is the previous row's `hash`
/// and every `hash` is recomputed from the row. The first row that fails is reported.
pub async fn verify(store: &Store) -> Result<(), VerifyError> {
    let mut prev = GENESIS_HASH.to_string();
    let mut after = 0_i64;
    loop {
        let rows: Vec<ActivityEntry> =
            sqlx::query_as("SELECT * FROM activity_log WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(BATCH)
                .fetch_all(store.pool())
                .await
                .map_err(StoreError::from)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.id;
        for r in &rows {
            let expected = row_hash(
                &prev,
                r.id,
                r.ts,
                &r.actor,
                &r.action,
                r.subject.as_deref(),
                &r.details_json,
            );
            if r.prev_hash != prev || r.hash != expected {
                return Err(BrokenAt { id: r.id }.into());
            }
            prev = r.hash.clone();
        }
    }
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActivityPage {
    /// The entries.
    pub items: Vec<ActivityEntry>,
    /// Pass as `before` for the next (older) page; `None` at the end.
    pub next: Option<i64>,
}

/// Entries older than `before` (an id; `None` for the newest), at most `limit`, newest first.
pub async fn list(
    store: &Store,
    before: Option<i64>,
    limit: u32,
) -> Result<ActivityPage, StoreError> {
    let limit = i64::from(limit.clamp(1, 1000));
    let mut items: Vec<ActivityEntry> =
        sqlx::query_as("SELECT * FROM activity_log WHERE id < ? ORDER BY id DESC LIMIT ?")
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit + 1)
            .fetch_all(store.pool())
            .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next = if more {
        items.last().map(|e| e.id)
    } else {
        None
    };
    Ok(ActivityPage { items, next })
}

/// Writes the whole log, oldest first, as JSON lines (one [`ActivityEntry`] per line) so it can
/// be checked outside the app; returns how many lines were written.
pub async fn export_jsonl(store: &Store, out: &mut impl Write) -> Result<u64, PrivacyError> {
    let mut after = 0_i64;
    let mut written = 0_u64;
    loop {
        let rows: Vec<ActivityEntry> =
            sqlx::query_as("SELECT * FROM activity_log WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(BATCH)
                .fetch_all(store.pool())
                .await
                .map_err(StoreError::from)?;
        let Some(last) = rows.last() else {
            return Ok(written);
        };
        after = last.id;
        for r in &rows {
            serde_json::to_writer(&mut *out, r).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
            written += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_field_and_the_link() {
        let base = row_hash(GENESIS_HASH, 1, 10, "ana", "a", Some("s"), "{}");
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 2, 10, "ana", "a", Some("s"), "{}")
        );
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, 11, "ana", "a", Some("s"), "{}")
        );
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, 10, "ann", "a", Some("s"), "{}")
        );
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, 10, "ana", "b", Some("s"), "{}")
        );
        assert_ne!(base, row_hash(GENESIS_HASH, 1, 10, "ana", "a", None, "{}"));
        assert_ne!(
            base,
            row_hash(GENESIS_HASH, 1, 10, "ana", "a", Some("s"), "[]")
        );
        assert_ne!(base, row_hash(&base, 1, 10, "ana", "a", Some("s"), "{}"));
        // Field boundaries matter: ("ab", "c") is not ("a", "bc").
        assert_ne!(
            row_hash(GENESIS_HASH, 1, 10, "ab", "c", None, "{}"),
            row_hash(GENESIS_HASH, 1, 10, "a", "bc", None, "{}")
        );
    }
}
