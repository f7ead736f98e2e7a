//! Redoing event commits SQLite lost in a crash.
//!
//! A commit holding only events (the webhook path under load) is made durable by one
//! fdatasync: the segment append. SQLite then commits with `synchronous=NORMAL` (no fsync of
//! its own: a second flush per commit would double the latency every webhook waits for). A
//! crash can therefore lose the last such commits from SQLite while their chunks are safe in
//! the segment files. Each chunk carries everything its commit wrote (seqs, event ids, dedupe
//! keys, media to fetch), so opening the store redoes every complete chunk written after the
//! newest chunk SQLite knows: the events come back with the seqs and ids devices may already
//! have seen. SQLite's WAL is sequential, so the lost commits are always the newest ones, and
//! any later fsync'd commit (an account change, a prune) made all earlier ones durable. A
//! chunk met again that SQLite has, or pruned (at or below `pruned_through`), or of a deleted
//! workspace, is left alone.

use std::path::Path;

use sqlx::Row;

use super::SqliteStore;
use crate::store::chunk::{self, Chunk};
use crate::store::dedupe;
use crate::store::segments::{self, Extent};
use crate::store::{StoreError, StoreResult};

impl SqliteStore {
    pub(super) async fn recover_lost_commits(&self) -> StoreResult<()> {
        let _log = self.log.lock().await;
        let newest = sqlx::query(
            "SELECT segment, offset + len AS end_offset FROM event_chunks
             ORDER BY segment DESC, offset DESC LIMIT 1",
        )
        .fetch_optional(&self.writer)
        .await?;
        let (segment, end): (i64, i64) = match newest {
            Some(row) => (row.try_get("segment")?, row.try_get("end_offset")?),
            // No chunk left (all pruned): the segment files still present are few (the
            // unreferenced ones are freed by every prune), read them all.
            None => (0, 0),
        };
        let dir = self.events_dir.clone();
        let chunks = tokio::task::spawn_blocking(move || chunks_after(&dir, segment, end))
            .await
            .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
            .map_err(StoreError::Segment)?;
        if chunks.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let mut redone = 0usize;
        for (extent, chunk) in &chunks {
            let (Some(first), Some(last)) = (chunk.events.first(), chunk.events.last()) else {
                continue;
            };
            let ws = chunk.workspace.to_string();
            let (first_seq, last_seq) = (first.record.seq, last.record.seq);
            let newest = chunk
                .events
                .iter()
                .map(|e| super::ms(e.record.created_at))
                .max()
                .unwrap_or(0);
            // A workspace deleted since has nothing to get back; a chunk SQLite kept is kept.
            let inserted = sqlx::query(
                "INSERT INTO event_chunks
                   (workspace_id, first_seq, last_seq, segment, offset, len, max_created_at)
                 SELECT ?, ?, ?, ?, ?, ?, ?
                 WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = ? AND pruned_through < ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&ws)
            .bind(first_seq)
            .bind(last_seq)
            .bind(extent.segment)
            .bind(extent.offset)
            .bind(extent.len)
            .bind(newest)
            .bind(&ws)
            .bind(last_seq)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                continue;
            }
            let keys = dedupe::run_blob(chunk.events.iter().map(|e| (&e.key, e.record.id)));
            sqlx::query(
                "INSERT INTO delivery_runs (workspace_id, first_seq, seen_at, keys)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&ws)
            .bind(first_seq)
            .bind(newest)
            .bind(keys)
            .execute(&mut *tx)
            .await?;
            for e in &chunk.events {
                let at = super::ms(e.record.created_at);
                for m in &e.media {
                    sqlx::query(
                        "INSERT INTO media (workspace_id, media_id, waba_id, phone_number_id,
                           status, next_attempt_at, created_at)
                         VALUES (?, ?, ?, ?, 'pending', ?, ?)
                         ON CONFLICT (workspace_id, media_id) DO NOTHING",
                    )
                    .bind(&ws)
                    .bind(&m.media_id)
                    .bind(&m.waba_id)
                    .bind(&m.phone_number_id)
                    .bind(at)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            sqlx::query("UPDATE workspaces SET next_seq = max(next_seq, ?) WHERE id = ?")
                .bind(last_seq + 1)
                .bind(&ws)
                .execute(&mut *tx)
                .await?;
            redone += chunk.events.len();
        }
        tx.commit().await?;
        if redone > 0 {
            tracing::warn!(
                events = redone,
                "redid event commits the database lost in a crash"
            );
        }
        Ok(())
    }
}

/// The complete chunks after `end` of segment `segment` and in every later segment, in write
/// order. Each segment is read up to its first incomplete chunk (a torn tail nobody was told
/// was stored: the 200 waits for the fdatasync).
fn chunks_after(dir: &Path, segment: i64, end: i64) -> std::io::Result<Vec<(Extent, Chunk)>> {
    let mut numbers: Vec<i64> = segments::existing(dir)?
        .into_iter()
        .filter(|n| *n >= segment)
        .collect();
    numbers.sort_unstable();
    let mut found = Vec::new();
    for number in numbers {
        let bytes = std::fs::read(segments::segment_path(dir, number))?;
        let mut pos = if number == segment {
            usize::try_from(end).map_err(std::io::Error::other)?
        } else {
            0
        };
        while let Some((chunk, len)) = bytes.get(pos..).and_then(chunk::next_chunk) {
            let extent = Extent {
                segment: number,
                offset: i64::try_from(pos).map_err(std::io::Error::other)?,
                len: i64::try_from(len).map_err(std::io::Error::other)?,
            };
            found.push((extent, chunk));
            pos += len;
        }
    }
    Ok(found)
}
