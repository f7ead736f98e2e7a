//! Moves what a relay older than `0009_event_segments.sql` stored in `events` (sealed bytes
//! inline) and `delivery_keys` (one indexed row per dedupe key) to segment files and
//! `delivery_runs`, when the store opens. Each step is one transaction over a bounded number
//! of rows, so an interrupted move resumes where it stopped and never loses or doubles an event.

use futures::TryStreamExt;
use sqlx::Row;
use uuid::Uuid;

use super::{get_uuid, parse_uuid, SqliteStore};
use crate::store::chunk::{self, NewEvent};
use crate::store::segments::Extent;
use crate::store::{dedupe, StoreError, StoreResult};

/// Events (or dedupe keys) moved per transaction.
const MOVE_BATCH: i64 = 1000;

/// One legacy event row, owned.
struct LegacyEvent {
    seq: i64,
    id: Uuid,
    kind: protocol::events::EventKind,
    sealed: Vec<u8>,
    created_at: i64,
    origin: Option<(Uuid, String)>,
}

impl SqliteStore {
    pub(super) async fn move_legacy_events(&self) -> StoreResult<()> {
        let log = self.log.lock().await;
        let mut moved = 0u64;
        loop {
            let mut tx = self.begin().await?;
            // One workspace's lowest events per step: they form one chunk.
            let Some(ws) =
                sqlx::query_scalar::<_, String>("SELECT workspace_id FROM events LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?
            else {
                break;
            };
            let workspace_id = parse_uuid(&ws)?;
            let rows = sqlx::query(
                "SELECT seq, id, kind, sealed, created_at, origin_session, client_event_id
                 FROM events WHERE workspace_id = ? ORDER BY seq LIMIT ?",
            )
            .bind(&ws)
            .bind(MOVE_BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let events = rows
                .iter()
                .map(|row| {
                    let kind: String = row.try_get("kind")?;
                    let origin: Option<String> = row.try_get("origin_session")?;
                    let client: Option<String> = row.try_get("client_event_id")?;
                    Ok(LegacyEvent {
                        seq: row.try_get("seq")?,
                        id: get_uuid(row, "id")?,
                        kind: protocol::events::EventKind::parse(&kind)
                            .ok_or_else(|| StoreError::Corrupt(format!("bad kind {kind:?}")))?,
                        sealed: row.try_get("sealed")?,
                        created_at: row.try_get("created_at")?,
                        origin: match origin {
                            Some(o) => Some((parse_uuid(&o)?, client.unwrap_or_default())),
                            None => None,
                        },
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let (Some(first), Some(last)) = (events.first(), events.last()) else {
                break;
            };
            let (first_seq, last_seq) = (first.seq, last.seq);
            let newest = events.iter().map(|e| e.created_at).max().unwrap_or(0);
            let encoded: Vec<NewEvent<'_>> = events
                .iter()
                .map(|e| NewEvent {
                    seq: e.seq,
                    id: e.id,
                    kind: e.kind,
                    // Legacy dedupe keys move to `delivery_runs` below; the chunk's copy is
                    // only read when redoing a lost commit, which this one (fsync'd) is not.
                    key: &[0; 32],
                    sealed: &e.sealed,
                    created_at_ms: e.created_at,
                    origin: e.origin.as_ref().map(|(s, c)| (*s, c.as_str())),
                    media: &[],
                })
                .collect();
            let mut bytes = Vec::new();
            chunk::encode(workspace_id, &encoded, &mut bytes)?;
            let segments = log.segments.clone();
            let extent: Extent = tokio::task::spawn_blocking(move || {
                segments
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .append(&bytes)
            })
            .await
            .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
            .map_err(StoreError::Segment)?;
            sqlx::query(
                "INSERT INTO event_chunks
                   (workspace_id, first_seq, last_seq, segment, offset, len, max_created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&ws)
            .bind(first_seq)
            .bind(last_seq)
            .bind(extent.segment)
            .bind(extent.offset)
            .bind(extent.len)
            .bind(newest)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM events WHERE workspace_id = ? AND seq <= ?")
                .bind(&ws)
                .bind(last_seq)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            moved += events.len() as u64;
        }
        // Dedupe keys: one single-key run each (their seqs need not be consecutive).
        loop {
            let mut tx = self.begin().await?;
            let rows = sqlx::query(
                "SELECT rowid, workspace_id, dedupe_key, seq, event_id, seen_at FROM delivery_keys
                 LIMIT ?",
            )
            .bind(MOVE_BATCH)
            .fetch(&mut *tx)
            .try_collect::<Vec<_>>()
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let key: Vec<u8> = row.try_get("dedupe_key")?;
                let key: [u8; 32] = key
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("bad dedupe key".into()))?;
                let blob = dedupe::run_blob(std::iter::once((&key, get_uuid(row, "event_id")?)));
                sqlx::query(
                    "INSERT INTO delivery_runs (workspace_id, first_seq, seen_at, keys)
                     VALUES (?, ?, ?, ?)",
                )
                .bind(row.try_get::<String, _>("workspace_id")?)
                .bind(row.try_get::<i64, _>("seq")?)
                .bind(row.try_get::<i64, _>("seen_at")?)
                .bind(blob)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM delivery_keys WHERE rowid = ?")
                    .bind(row.try_get::<i64, _>("rowid")?)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        if moved > 0 {
            tracing::info!(moved, "moved stored events to segment files");
        }
        Ok(())
    }
}
