//! The write path of every workspace log: a group commit's events (webhook entries, relay
//! events, device events, held entries released by a claim) are decided in memory, then
//! written as one segment append (sealed bytes, fdatasync'd) plus a few small rows: one
//! `event_chunks` and one `delivery_runs` row per workspace, one sequence move per
//! workspace. No statement runs per event. A group commit's rows are indexed behind it
//! (`index`); a claim's or a commit with held entries go into its own transaction.
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

use super::index::{write_rows, ChunkRow, MediaRow, Rows, RunRow, SeqMove};
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
    in_txn: HashMap<(Uuid, [u8; 32]), usize, dedupe::KeyHasher>,
}

/// What an append must do once committed, and the seqs it got.
pub(super) struct Written {
    /// First seq and event ids of each workspace's new events.
    placed: HashMap<Uuid, (i64, Vec<Uuid>)>,
    /// Each workspace's dedupe run (the `delivery_runs` rows).
    runs: Vec<RunRow>,
    /// Each appended workspace's next seq, before and after.
    seqs: Vec<SeqMove>,
    /// The bytes this append wrote, to discard if it does not commit.
    extent: Option<Extent>,
}

/// An append decided and encoded, not yet placed in a segment.
struct Prepared {
    written: Written,
    /// Every workspace's chunk, back to back: one write, one fdatasync.
    bytes: Vec<u8>,
    /// Each chunk's row, its extent relative to the start of `bytes`.
    chunks: Vec<ChunkRow>,
    media: Vec<MediaRow>,
}

/// An append's bytes and the place reserved for them in the current segment.
struct Placed {
    bytes: Vec<u8>,
    base: Extent,
    file: Arc<std::fs::File>,
}

impl Placed {
    /// Writes and fdatasyncs the bytes; returns (write + fdatasync µs, the `pwrite` alone
    /// in µs or the error).
    fn write(&self) -> (u64, std::io::Result<u64>) {
        let started = Instant::now();
        let flushed = segments::write_durably_timed(&self.file, self.base, &self.bytes);
        (timing::micros(started.elapsed()), flushed)
    }
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

    /// Gives the new events their seqs (from `known`) and encodes their chunks.
    fn prepare(self, known: &Known) -> StoreResult<Prepared> {
        let mut written = Written::nothing();
        // Sized for the sealed events and their chunk headers (a few dozen bytes each): one
        // allocation instead of a dozen doublings per commit.
        let events: usize = self.per_ws.values().map(Vec::len).sum();
        let sealed: usize = self
            .per_ws
            .values()
            .flatten()
            .map(|q| q.fresh.sealed.len())
            .sum();
        let mut bytes = Vec::with_capacity(sealed + events * 128);
        let mut chunks = Vec::with_capacity(self.per_ws.len());
        let mut media = Vec::new();
        for (ws, list) in &self.per_ws {
            let first_seq = known.next_seq(*ws).ok_or(StoreError::NotFound)?;
            let n = i64::try_from(list.len()).unwrap_or(i64::MAX);
            written.seqs.push(SeqMove {
                workspace: *ws,
                before: first_seq,
                after: first_seq + n,
            });
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
            let newest = list
                .iter()
                .map(|q| q.fresh.created_at_ms)
                .max()
                .unwrap_or(0);
            chunks.push(ChunkRow {
                workspace: *ws,
                first_seq,
                last_seq: first_seq + n - 1,
                extent: Extent {
                    segment: 0,
                    offset: i64::try_from(start).unwrap_or(i64::MAX),
                    len: i64::try_from(bytes.len() - start).unwrap_or(i64::MAX),
                },
                newest,
            });
            written.runs.push(RunRow {
                workspace: *ws,
                first_seq,
                seen_at: newest,
                keys: dedupe::run_blob(list.iter().map(|q| (&q.fresh.key, q.id))),
            });
            written
                .placed
                .insert(*ws, (first_seq, list.iter().map(|q| q.id).collect()));
            for q in list {
                media.extend(q.fresh.media.iter().map(|m| MediaRow {
                    workspace: *ws,
                    media: m.clone(),
                    at: q.fresh.created_at_ms,
                }));
            }
        }
        Ok(Prepared {
            written,
            bytes,
            chunks,
            media,
        })
    }

    /// Appends the new events durably (one segment write, fdatasync'd) and returns their
    /// index rows for the caller to queue on the [`EventIndex`](super::index::EventIndex):
    /// the events are committed once this returns. The group commit's path.
    pub async fn append(
        self,
        known: &Known,
        segments: &Arc<Mutex<Segments>>,
    ) -> StoreResult<(Written, Rows)> {
        if self.per_ws.is_empty() {
            return Ok((Written::nothing(), Rows::default()));
        }
        let mut clock = Instant::now();
        let prepared = self.prepare(known)?;
        let encode_us = timing::lap(&mut clock);
        let (mut written, rows, placed) = prepared.place(segments)?;
        let place_us = timing::lap(&mut clock);
        // On the calling thread: nothing else of this append runs meanwhile, and the group
        // commit has a thread of its own, so a hand-off to a blocking thread (and the wake-up
        // back) would only add to the time every webhook of the batch waits (`start_us` was
        // 0.04 ms at p50 but 3 ms at p99 on two busy cores).
        let (flush_us, done) = placed.write();
        let pwrite_us = match done {
            Ok(pwrite_us) => pwrite_us,
            Err(e) => {
                written.discard(segments);
                return Err(StoreError::Segment(e));
            }
        };
        tracing::debug!(
            target: timing::TARGET,
            bytes = rows.chunks.iter().map(|c| c.extent.len).sum::<i64>(),
            encode_us,
            place_us,
            pwrite_us,
            fdatasync_us = flush_us.saturating_sub(pwrite_us),
            "segment"
        );
        // Durable: nothing left to discard.
        written.extent = None;
        Ok((written, rows))
    }

    /// Appends the new events inside a transaction the caller began (claims, commits with
    /// held entries; the index is flushed first, see `index`): the segment write and its
    /// fdatasync run on a blocking thread while the rows go to `conn` as one statement batch.
    /// Not committed: the caller commits once this returns, which is after the fdatasync,
    /// and discards the bytes if that fails.
    pub async fn write(
        self,
        conn: &mut SqliteConnection,
        known: &Known,
        segments: &Arc<Mutex<Segments>>,
    ) -> StoreResult<Written> {
        if self.per_ws.is_empty() {
            return Ok(Written::nothing());
        }
        let prepared = self.prepare(known)?;
        let (written, rows, placed) = prepared.place(segments)?;
        let durable = tokio::task::spawn_blocking(move || placed.write().1);
        let rows = write_rows(conn, false, &rows).await;
        // Always wait for the write: discarding bytes a running write could still land on
        // would not discard them.
        let done = durable
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let outcome = match (rows, done) {
            (Ok(()), Ok(_)) => return Ok(written),
            (Err(e), _) => e,
            (Ok(()), Err(e)) => StoreError::Segment(e),
        };
        written.discard(segments);
        Err(outcome)
    }
}

impl Prepared {
    /// Reserves the bytes' place in the current segment; returns the rows with their real
    /// extents and the bytes to write there.
    fn place(self, segments: &Arc<Mutex<Segments>>) -> StoreResult<(Written, Rows, Placed)> {
        let Prepared {
            mut written,
            bytes,
            mut chunks,
            media,
        } = self;
        let len = u64::try_from(bytes.len())
            .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?;
        let (base, file) = lock(segments).place(len).map_err(StoreError::Segment)?;
        written.extent = Some(base);
        for c in &mut chunks {
            c.extent = Extent {
                segment: base.segment,
                offset: base.offset + c.extent.offset,
                len: c.extent.len,
            };
        }
        let rows = Rows {
            seqs: written.seqs.clone(),
            chunks,
            runs: written.runs.clone(),
            media,
            appends: 1,
        };
        Ok((written, rows, Placed { bytes, base, file }))
    }
}

impl Written {
    /// What a transaction without new events wrote.
    pub fn nothing() -> Self {
        Self {
            placed: HashMap::new(),
            runs: Vec::new(),
            seqs: Vec::new(),
            extent: None,
        }
    }

    /// Zeroes the bytes of an append that did not commit and starts a new segment.
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
        for m in &self.seqs {
            known.appended(m.workspace, m.after);
        }
        for r in &self.runs {
            dedupe.insert_run(r.workspace, r.first_seq, r.seen_at, &r.keys)?;
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
