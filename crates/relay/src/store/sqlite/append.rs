//! The write path of every workspace log: a group commit's events (webhook entries, relay
//! events, device events, held entries released by a claim) are decided in memory, then
//! written as one segment append (sealed bytes, fdatasync'd) plus a few small rows: one
//! `event_chunks` and one `delivery_runs` row per workspace, one sequence reservation for
//! all workspaces. No statement runs per event.
//!
//! Outcomes are those of the per-event rules: appended, duplicate (of a stored event, or of
//! an earlier op of the same commit), held, held duplicate, stale, invalid stored.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use protocol::events::EventKind;
use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use uuid::Uuid;

use super::event_conn::EventConnection;
use super::known::Known;
use crate::store::chunk::{self, NewEvent};
use crate::store::dedupe::{self, DedupeIndex};
use crate::store::segments::{self, Extent, Segments};
use crate::store::{MediaRef, StoreError, StoreResult, WriteOutcome};
use crate::timing;

/// Rows per multi-row statement: 8 bound values each stays far below SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;

/// What only the one writing transaction may touch: held (async mutex) from before `BEGIN`
/// until the dedupe index has learnt the committed keys, so no commit ever checks keys
/// against an index that misses the previous commit's.
#[derive(Debug)]
pub(in crate::store) struct LogState {
    /// Behind a std mutex only to move into `spawn_blocking`; never contended.
    pub segments: Arc<Mutex<Segments>>,
    pub dedupe: DedupeIndex,
    /// WABA owners and next seqs, kept here instead of read in every commit.
    pub known: Known,
    /// Where commits of events alone run.
    pub event_conn: EventConnection,
}

/// An event to append, borrowed from its op where possible.
pub(super) struct Fresh<'a> {
    pub key: [u8; 32],
    pub kind: EventKind,
    pub sealed: Cow<'a, [u8]>,
    pub created_at_ms: i64,
    pub origin: Option<(Uuid, &'a str)>,
    /// Inbound media of a webhook entry, queued with it.
    pub media: &'a [MediaRef],
}

/// An op's outcome, or its place among the new events (seqs are reserved at the end).
#[derive(Debug, Clone)]
pub(super) enum Slot {
    Done(WriteOutcome),
    /// The `pos`-th new event of `workspace` in this transaction; `first` is false for a
    /// second copy within the same transaction (a duplicate of the first).
    New {
        workspace: Uuid,
        pos: usize,
        first: bool,
    },
}

struct Queued<'a> {
    fresh: Fresh<'a>,
    id: Uuid,
}

/// The new events of one transaction, per workspace in op order.
#[derive(Default)]
pub(super) struct Appends<'a> {
    per_ws: BTreeMap<Uuid, Vec<Queued<'a>>>,
    in_txn: HashMap<(Uuid, [u8; 32]), usize>,
}

/// What a written transaction must do once committed, and the seqs it got.
pub(super) struct Written {
    /// First seq and event ids of each workspace's new events.
    placed: HashMap<Uuid, (i64, Vec<Uuid>)>,
    /// (workspace, first seq, seen_at, keys blob) of each `delivery_runs` row.
    runs: Vec<(Uuid, i64, i64, Vec<u8>)>,
    /// (workspace, next seq before, next seq after) of each workspace appended to.
    next_seqs: Vec<(Uuid, i64, i64)>,
    /// The bytes this transaction appended, to discard if it does not commit.
    extent: Option<Extent>,
}

impl<'a> Appends<'a> {
    /// Where `fresh` goes: a duplicate of a stored event, of one earlier in this
    /// transaction, or a new event of `workspace`.
    pub fn add(&mut self, dedupe: &DedupeIndex, workspace: Uuid, fresh: Fresh<'a>) -> Slot {
        if let Some(seen) = dedupe.get(workspace, &fresh.key) {
            return Slot::Done(WriteOutcome::Duplicate {
                workspace_id: workspace,
                seq: seen.seq,
                id: seen.id,
            });
        }
        if let Some(&pos) = self.in_txn.get(&(workspace, fresh.key)) {
            return Slot::New {
                workspace,
                pos,
                first: false,
            };
        }
        let list = self.per_ws.entry(workspace).or_default();
        let pos = list.len();
        self.in_txn.insert((workspace, fresh.key), pos);
        list.push(Queued {
            fresh,
            id: super::event_id(),
        });
        Slot::New {
            workspace,
            pos,
            first: true,
        }
    }

    /// Whether this transaction appends no event at all.
    pub fn is_empty(&self) -> bool {
        self.per_ws.is_empty()
    }

    /// The workspaces that get new events (their next seqs must be known, see `known`).
    pub fn workspaces(&self) -> Vec<Uuid> {
        self.per_ws.keys().copied().collect()
    }

    /// Gives the new events their seqs (from `known`), appends their sealed bytes to the
    /// current segment (fdatasync'd on a blocking thread) while the chunk, dedupe-run, media
    /// and seq rows go to `conn` as ONE statement batch: one round trip to SQLite's worker
    /// thread, which begins the transaction with [`Txn::Own`]. Not committed: the caller
    /// commits once this returns, which is after the fdatasync.
    pub async fn write(
        self,
        conn: &mut SqliteConnection,
        txn: Txn,
        known: &Known,
        segments: &Arc<Mutex<Segments>>,
    ) -> StoreResult<Written> {
        let mut written = Written::nothing();
        if self.per_ws.is_empty() {
            return Ok(written);
        }
        let mut clock = Instant::now();
        let mut first = HashMap::with_capacity(self.per_ws.len());
        for (ws, list) in &self.per_ws {
            let first_seq = known.next_seq(*ws).ok_or(StoreError::NotFound)?;
            first.insert(*ws, first_seq);
            let n = i64::try_from(list.len()).unwrap_or(i64::MAX);
            written.next_seqs.push((*ws, first_seq, first_seq + n));
        }

        // Every workspace's chunk, back to back: one write, one fdatasync.
        let mut bytes = Vec::new();
        let mut chunks = Vec::with_capacity(self.per_ws.len());
        for (ws, list) in &self.per_ws {
            let first_seq = *first.get(ws).ok_or(StoreError::NotFound)?;
            let events: Vec<NewEvent<'_>> = (first_seq..)
                .zip(list)
                .map(|(seq, q)| NewEvent {
                    seq,
                    id: q.id,
                    kind: q.fresh.kind,
                    key: &q.fresh.key,
                    sealed: &q.fresh.sealed,
                    created_at_ms: q.fresh.created_at_ms,
                    origin: q.fresh.origin,
                    media: q.fresh.media,
                })
                .collect();
            let start = bytes.len();
            chunk::encode(*ws, &events, &mut bytes)?;
            let last_seq = first_seq + i64::try_from(list.len()).unwrap_or(i64::MAX) - 1;
            let newest = list
                .iter()
                .map(|q| q.fresh.created_at_ms)
                .max()
                .unwrap_or(0);
            chunks.push((*ws, first_seq, last_seq, start, bytes.len() - start, newest));
        }
        // The write and its fdatasync run on a blocking thread while the rows go in; the
        // commit waits for both, so no row ever commits before the bytes it names are durable.
        let len = u64::try_from(bytes.len())
            .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?;
        let encode_us = timing::lap(&mut clock);
        let (base, file) = lock(segments).place(len).map_err(StoreError::Segment)?;
        let place_us = timing::lap(&mut clock);
        let spawned = Instant::now();
        let durable = tokio::task::spawn_blocking(move || {
            let start_us = timing::micros(spawned.elapsed());
            let started = Instant::now();
            let flushed = segments::write_durably_timed(&file, base, &bytes);
            (start_us, timing::micros(started.elapsed()), flushed)
        });
        written.extent = Some(base);
        let chunk_rows: Vec<(Uuid, i64, i64, Extent, i64)> = chunks
            .iter()
            .map(|&(ws, first_seq, last_seq, start, len, newest)| {
                let extent = Extent {
                    segment: base.segment,
                    offset: base.offset + i64::try_from(start).unwrap_or(i64::MAX),
                    len: i64::try_from(len).unwrap_or(i64::MAX),
                };
                (ws, first_seq, last_seq, extent, newest)
            })
            .collect();
        let rows = match self.record_runs(&first, &mut written) {
            Ok(()) => write_rows(conn, txn, &chunk_rows, &written, &self.per_ws).await,
            Err(e) => Err(e),
        };
        let rows_us = timing::lap(&mut clock);
        // Always wait for the write: discarding bytes a running write could still land on
        // would not discard them.
        let (start_us, flush_us, done) = durable
            .await
            .unwrap_or_else(|e| (0, 0, Err(std::io::Error::other(e))));
        let (pwrite_us, done) = match done {
            Ok(pwrite_us) => (pwrite_us, Ok(())),
            Err(e) => (0, Err(e)),
        };
        tracing::debug!(
            target: timing::TARGET,
            bytes = len,
            encode_us,
            place_us,
            rows_us,
            flush_wait_us = timing::lap(&mut clock),
            start_us,
            pwrite_us,
            fdatasync_us = flush_us.saturating_sub(pwrite_us),
            "segment"
        );
        let outcome = match (rows, done) {
            (Ok(()), Ok(())) => return Ok(written),
            (Err(e), _) => e,
            (Ok(()), Err(e)) => StoreError::Segment(e),
        };
        written.discard(segments);
        Err(outcome)
    }

    /// Each workspace's dedupe run and where its events went.
    fn record_runs(&self, first: &HashMap<Uuid, i64>, written: &mut Written) -> StoreResult<()> {
        for (ws, list) in &self.per_ws {
            let first_seq = *first.get(ws).ok_or(StoreError::NotFound)?;
            let seen_at = list
                .iter()
                .map(|q| q.fresh.created_at_ms)
                .max()
                .unwrap_or(0);
            let keys = dedupe::run_blob(list.iter().map(|q| (&q.fresh.key, q.id)));
            written.runs.push((*ws, first_seq, seen_at, keys));
            written
                .placed
                .insert(*ws, (first_seq, list.iter().map(|q| q.id).collect()));
        }
        Ok(())
    }
}

impl Written {
    /// What a transaction without new events wrote.
    pub fn nothing() -> Self {
        Self {
            placed: HashMap::new(),
            runs: Vec::new(),
            next_seqs: Vec::new(),
            extent: None,
        }
    }

    /// Zeroes the bytes of a transaction that did not commit and starts a new segment.
    /// Recovery redoes every valid chunk after the newest one SQLite knows: an uncommitted
    /// chunk left there (its seqs reused by the next commits) would come back in their place.
    /// Zeros end recovery's reading of this segment, and nothing is appended after them.
    pub fn discard(&self, segments: &Mutex<Segments>) {
        let Some(extent) = self.extent else { return };
        let mut segments = lock(segments);
        if let Err(e) = segments.erase(&[extent]) {
            tracing::error!(error = %e, "could not zero an uncommitted event chunk");
        }
        segments.rotate();
    }

    /// Teaches the dedupe index the committed keys and `known` the next seqs (call only
    /// after the commit succeeded).
    pub fn remember(&self, dedupe: &mut DedupeIndex, known: &mut Known) -> StoreResult<()> {
        for &(ws, _, next) in &self.next_seqs {
            known.appended(ws, next);
        }
        for (ws, first_seq, seen_at, keys) in &self.runs {
            dedupe.insert_run(*ws, *first_seq, *seen_at, keys)?;
        }
        Ok(())
    }

    /// The outcome a slot came to.
    pub fn outcome(&self, slot: Slot) -> StoreResult<WriteOutcome> {
        match slot {
            Slot::Done(outcome) => Ok(outcome),
            Slot::New {
                workspace,
                pos,
                first,
            } => {
                let (first_seq, ids) = self
                    .placed
                    .get(&workspace)
                    .ok_or_else(|| StoreError::Corrupt("an event got no seq".into()))?;
                let id = *ids
                    .get(pos)
                    .ok_or_else(|| StoreError::Corrupt("an event got no id".into()))?;
                let seq = first_seq + i64::try_from(pos).unwrap_or(i64::MAX);
                Ok(if first {
                    WriteOutcome::Appended {
                        workspace_id: workspace,
                        seq,
                        id,
                    }
                } else {
                    WriteOutcome::Duplicate {
                        workspace_id: workspace,
                        seq,
                        id,
                    }
                })
            }
        }
    }
}

fn lock(segments: &Mutex<Segments>) -> std::sync::MutexGuard<'_, Segments> {
    segments.lock().unwrap_or_else(|e| e.into_inner())
}

/// Who begins the transaction [`Appends::write`] writes in (the caller always commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Txn {
    /// Its statement batch begins it.
    Own,
    /// The caller began it.
    Caller,
}

/// The rows of a transaction's new events, as one statement batch (one round trip): the
/// seq update of every workspace, then its chunk, dedupe-run and media rows (multi-row
/// statements of at most 500 rows each), after `BEGIN IMMEDIATE` for [`Txn::Own`]. SQLite
/// runs the statements in order and stops at the first error.
///
/// The seq update only moves a workspace's `next_seq` from the value the writer expects
/// (`known`); any other value becomes NULL, which the column refuses (NOT NULL): the batch
/// fails rather than reuse seqs. A workspace deleted meanwhile fails its chunk row's
/// foreign key.
async fn write_rows(
    conn: &mut SqliteConnection,
    txn: Txn,
    chunk_rows: &[(Uuid, i64, i64, Extent, i64)],
    written: &Written,
    per_ws: &BTreeMap<Uuid, Vec<Queued<'_>>>,
) -> StoreResult<()> {
    let mut q = QueryBuilder::<Sqlite>::new(match txn {
        Txn::Own => "BEGIN IMMEDIATE; ",
        Txn::Caller => "",
    });
    for rows in written.next_seqs.chunks(ROWS_PER_STATEMENT) {
        q.push("WITH r(ws, expected, next) AS (VALUES ");
        let mut list = q.separated(", ");
        for (ws, before, after) in rows {
            list.push("(")
                .push_bind_unseparated(ws.to_string())
                .push_unseparated(", ")
                .push_bind_unseparated(*before)
                .push_unseparated(", ")
                .push_bind_unseparated(*after)
                .push_unseparated(")");
        }
        q.push(
            ") UPDATE workspaces
               SET next_seq = CASE WHEN workspaces.next_seq = r.expected THEN r.next END
             FROM r WHERE workspaces.id = r.ws; ",
        );
    }
    for rows in chunk_rows.chunks(ROWS_PER_STATEMENT) {
        q.push(
            "INSERT INTO event_chunks
               (workspace_id, first_seq, last_seq, segment, offset, len, max_created_at) ",
        );
        q.push_values(rows, |mut row, (ws, first, last, extent, newest)| {
            row.push_bind(ws.to_string())
                .push_bind(*first)
                .push_bind(*last)
                .push_bind(extent.segment)
                .push_bind(extent.offset)
                .push_bind(extent.len)
                .push_bind(*newest);
        });
        q.push("; ");
    }
    for rows in written.runs.chunks(ROWS_PER_STATEMENT) {
        q.push("INSERT INTO delivery_runs (workspace_id, first_seq, seen_at, keys) ");
        q.push_values(rows, |mut row, (ws, first, seen_at, keys)| {
            row.push_bind(ws.to_string())
                .push_bind(*first)
                .push_bind(*seen_at)
                .push_bind(&keys[..]);
        });
        q.push("; ");
    }
    // Inbound media of the new webhook entries, queued in the same transaction as their
    // events, so a crash right after the commit cannot lose a fetch Meta's 5-minute URL needs.
    let media: Vec<(Uuid, &MediaRef, i64)> = per_ws
        .iter()
        .flat_map(|(ws, list)| {
            list.iter().flat_map(move |q| {
                q.fresh
                    .media
                    .iter()
                    .map(move |m| (*ws, m, q.fresh.created_at_ms))
            })
        })
        .collect();
    for rows in media.chunks(ROWS_PER_STATEMENT) {
        q.push(
            "INSERT INTO media (workspace_id, media_id, waba_id, phone_number_id, status,
               next_attempt_at, created_at) ",
        );
        q.push_values(rows, |mut row, (ws, m, at)| {
            row.push_bind(ws.to_string())
                .push_bind(&m.media_id)
                .push_bind(&m.waba_id)
                .push_bind(&m.phone_number_id)
                .push_bind("pending")
                .push_bind(*at)
                .push_bind(*at);
        });
        q.push(" ON CONFLICT (workspace_id, media_id) DO NOTHING; ");
    }
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// An entry of a WABA nobody owns yet, sealed to the relay's key.
pub(super) struct HeldEntry<'a> {
    pub index: usize,
    pub waba_id: &'a str,
    pub dedupe_key: &'a [u8; 32],
    pub sealed: &'a [u8],
    pub received_at_ms: i64,
}

/// Holds entries of WABAs nobody owns yet until a claim; returns each one's outcome.
pub(super) async fn insert_held(
    tx: &mut Transaction<'_, Sqlite>,
    held: &[HeldEntry<'_>],
) -> StoreResult<Vec<(usize, WriteOutcome)>> {
    let mut outcomes = Vec::with_capacity(held.len());
    for chunk in held.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO held_events (waba_id, dedupe_key, sealed, received_at) ",
        );
        q.push_values(chunk, |mut row, e| {
            row.push_bind(e.waba_id)
                .push_bind(&e.dedupe_key[..])
                .push_bind(e.sealed)
                .push_bind(e.received_at_ms);
        });
        q.push(" ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key");
        let inserted: HashSet<Vec<u8>> = q
            .build()
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| row.try_get("dedupe_key"))
            .collect::<Result<_, _>>()?;
        // Of several copies in one commit, the first is the one that was held.
        let mut claimed = HashSet::new();
        for e in chunk {
            let first = inserted.contains(&e.dedupe_key[..]) && claimed.insert(e.dedupe_key);
            outcomes.push((
                e.index,
                if first {
                    WriteOutcome::Held
                } else {
                    WriteOutcome::HeldDuplicate
                },
            ));
        }
    }
    Ok(outcomes)
}
