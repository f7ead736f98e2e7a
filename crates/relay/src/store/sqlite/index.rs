//! The event index: the SQLite rows that say where each appended chunk lies (`event_chunks`),
//! its dedupe run (`delivery_runs`), the inbound media it queued (`media`) and each
//! workspace's `next_seq`, written *behind* the group commit instead of inside it.
//!
//! Why: a chunk carries everything its rows say (seqs, ids, dedupe keys, media; see
//! `recovery`), so once the segment append is fdatasync'd its events are durable and the
//! webhooks are answered. Inside the group commit, the rows cost a statement batch and a COMMIT
//! of ~55 WAL frames each time (one leaf of every per-workspace B-tree), which bounded the
//! commit rate and, through the checkpoints that flush those frames, the p99 (BENCHMARKS.md,
//! "Relay webhook ingest"). Here the rows of every group commit that landed meanwhile go to
//! SQLite in one transaction, on a task of its own, while the next appends are flushed.
//!
//! What holds:
//! - Rows are indexed in the order their chunks were appended, and every other writer of event
//!   rows (claims and commits with held entries, prunes, workspace deletions, a seq read after
//!   a failure) first [`EventIndex::flush`]es the queue under the log lock. So SQLite's chunks
//!   are always a prefix of the segments' chunks in write order: what recovery relies on (it
//!   redoes the chunks after the newest one SQLite knows), and why a workspace's seqs in
//!   SQLite never have a gap, only a tail still queued.
//! - Readers see an event once its rows are indexed: `events_after` first waits (bounded) for
//!   the workspace's queued rows, so a device woken by a commit finds its events; the media
//!   worker does the same for the media rows.
//! - A failed index transaction loses nothing: its rows go back to the head of the queue and
//!   are retried with backoff; meanwhile the events are durable in their segment, and a
//!   restart redoes them from there. The seq update still moves `next_seq` only from the value
//!   the writer expected, so an index that disagrees with the database stalls (logged) rather
//!   than serve reused seqs.
//! - A stalled index bounds its queue: once its oldest queued rows have waited
//!   [`STALL_LIMIT`], every write is refused at once ([`EventIndex::check_not_stalled`], first
//!   thing in `commit_batch`; 503, so Meta and devices retry later) and `/readyz` says not
//!   ready, instead of answering events no reader will see while the queue grows without end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnection;
use sqlx::{QueryBuilder, Sqlite};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use super::event_conn::EventConnection;
use crate::store::segments::Extent;
use crate::store::{MediaRef, StoreError, StoreResult};
use crate::timing;

/// Rows per multi-row statement: 8 bound values each stays far below SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 500;
/// Longest a reader waits for its workspace's queued rows before it reads what is indexed.
const READ_WAIT: Duration = Duration::from_secs(2);
/// Longest a writer that needs the index complete waits before it gives up (503).
const FLUSH_WAIT: Duration = Duration::from_secs(10);
/// Shortest time between the starts of two index transactions, so that one covers many
/// appends: a transaction writes about one leaf page of each per-workspace B-tree it touches
/// whatever the number of appends (~55 WAL frames for 20 workspaces), and run after every
/// append it wrote as many frames as before, ~20,000 per second under load (measured:
/// 1.3 appends per transaction). At 20 ms, 64 senders: ~30 appends and ~120–360 WAL frames
/// per transaction, 300–900 frames per 50 ms checkpoint; at 100 ms: ~130 appends and ~250
/// frames, and 8–15 % more webhooks/s in paired runs (BENCHMARKS.md), the checkpoints' writes
/// no longer slowing the segment fdatasync as much. It only paces sustained load (appends
/// queued while a transaction was written): otherwise the next append is indexed as soon
/// as it comes. A writer waiting in [`EventIndex::flush`] cuts it short; readers wait out at
/// most this much more.
const INDEX_EVERY: Duration = Duration::from_millis(100);
/// How long the oldest queued rows may wait before the index counts as stalled.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// Retry delays after a failed index transaction.
const FIRST_RETRY: Duration = Duration::from_millis(10);
const LAST_RETRY: Duration = Duration::from_secs(1);

/// Where one chunk lies: seqs `first_seq ..= last_seq` of `workspace`.
#[derive(Debug, Clone)]
pub(in crate::store) struct ChunkRow {
    pub workspace: Uuid,
    pub first_seq: i64,
    pub last_seq: i64,
    pub extent: Extent,
    /// The newest `created_at` in the chunk (retention prunes whole chunks by it).
    pub newest: i64,
}

/// The dedupe keys of one chunk's events (see `dedupe::run_blob`).
#[derive(Debug, Clone)]
pub(in crate::store) struct RunRow {
    pub workspace: Uuid,
    pub first_seq: i64,
    pub seen_at: i64,
    pub keys: Vec<u8>,
}

impl RunRow {
    /// The seq right after this run's last key.
    fn next_seq(&self) -> i64 {
        let keys = self.keys.len() / crate::store::dedupe::KEY_RECORD;
        self.first_seq + i64::try_from(keys).unwrap_or(i64::MAX)
    }
}

/// An inbound media file to fetch, queued with its event.
#[derive(Debug, Clone)]
pub(in crate::store) struct MediaRow {
    pub workspace: Uuid,
    pub media: MediaRef,
    pub at: i64,
}

/// A workspace's `next_seq` moving from `before` to `after`.
#[derive(Debug, Clone, Copy)]
pub(in crate::store) struct SeqMove {
    pub workspace: Uuid,
    pub before: i64,
    pub after: i64,
}

/// The rows of one or more appends, in append order.
#[derive(Debug, Default)]
pub(in crate::store) struct Rows {
    pub seqs: Vec<SeqMove>,
    pub chunks: Vec<ChunkRow>,
    pub runs: Vec<RunRow>,
    pub media: Vec<MediaRow>,
    /// How many appends these rows come from (timing only).
    pub appends: usize,
}

impl Rows {
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.seqs.is_empty()
    }

    /// Appends `later`'s rows after these. Consecutive seq moves of one workspace become
    /// one (from the first's `before` to the last's `after`), so one index transaction
    /// updates each workspace once whatever the number of appends it covers; so do a
    /// workspace's dedupe runs whose seqs follow on, each append adding its keys to the
    /// workspace's run (with many workspaces a group commit brings each one event or two,
    /// and a row per run was a third of the index's rows and of its WAL frames).
    pub fn extend(&mut self, later: Rows) {
        for m in later.seqs {
            match self.seqs.iter_mut().find(|s| s.workspace == m.workspace) {
                Some(s) => s.after = m.after,
                None => self.seqs.push(m),
            }
        }
        self.chunks.extend(later.chunks);
        for run in later.runs {
            let earlier = self
                .runs
                .iter_mut()
                .rev()
                .find(|r| r.workspace == run.workspace);
            match earlier {
                Some(r) if r.next_seq() == run.first_seq => {
                    r.keys.extend_from_slice(&run.keys);
                    // Kept for the dedupe window: the newer time keeps every key long enough.
                    r.seen_at = r.seen_at.max(run.seen_at);
                }
                _ => self.runs.push(run),
            }
        }
        self.media.extend(later.media);
        self.appends += later.appends;
    }
}

/// The rows as one statement batch (one round trip to SQLite's worker thread): the seq
/// update of every workspace, then the chunk, dedupe-run and media rows (multi-row
/// statements of at most 500 rows each), after `BEGIN IMMEDIATE` if `begin`. SQLite runs the
/// statements in order and stops at the first error. Not committed.
///
/// The seq update only moves a workspace's `next_seq` from the value the writer expected;
/// any other value becomes NULL, which the column refuses (NOT NULL): the batch fails rather
/// than record reused seqs. A workspace deleted meanwhile fails its chunk row's foreign key.
pub(in crate::store) async fn write_rows(
    conn: &mut SqliteConnection,
    begin: bool,
    rows: &Rows,
) -> StoreResult<()> {
    let mut q = QueryBuilder::<Sqlite>::new(if begin { "BEGIN IMMEDIATE; " } else { "" });
    for part in rows.seqs.chunks(ROWS_PER_STATEMENT) {
        q.push("WITH r(ws, expected, next) AS (VALUES ");
        let mut list = q.separated(", ");
        for m in part {
            list.push("(")
                .push_bind_unseparated(m.workspace.to_string())
                .push_unseparated(", ")
                .push_bind_unseparated(m.before)
                .push_unseparated(", ")
                .push_bind_unseparated(m.after)
                .push_unseparated(")");
        }
        q.push(
            ") UPDATE workspaces
               SET next_seq = CASE WHEN workspaces.next_seq = r.expected THEN r.next END
             FROM r WHERE workspaces.id = r.ws; ",
        );
    }
    for part in rows.chunks.chunks(ROWS_PER_STATEMENT) {
        q.push(
            "INSERT INTO event_chunks
               (workspace_id, first_seq, last_seq, segment, offset, len, max_created_at) ",
        );
        q.push_values(part, |mut row, c| {
            row.push_bind(c.workspace.to_string())
                .push_bind(c.first_seq)
                .push_bind(c.last_seq)
                .push_bind(c.extent.segment)
                .push_bind(c.extent.offset)
                .push_bind(c.extent.len)
                .push_bind(c.newest);
        });
        q.push("; ");
    }
    for part in rows.runs.chunks(ROWS_PER_STATEMENT) {
        q.push("INSERT INTO delivery_runs (workspace_id, first_seq, seen_at, keys) ");
        q.push_values(part, |mut row, r| {
            row.push_bind(r.workspace.to_string())
                .push_bind(r.first_seq)
                .push_bind(r.seen_at)
                .push_bind(&r.keys[..]);
        });
        q.push("; ");
    }
    // Inbound media are queued with their events, so a crash right after the commit cannot
    // lose a fetch Meta's 5-minute URL needs (and recovery redoes them with the chunk).
    for part in rows.media.chunks(ROWS_PER_STATEMENT) {
        q.push(
            "INSERT INTO media (workspace_id, media_id, waba_id, phone_number_id, status,
               next_attempt_at, created_at) ",
        );
        q.push_values(part, |mut row, m| {
            row.push_bind(m.workspace.to_string())
                .push_bind(&m.media.media_id)
                .push_bind(&m.media.waba_id)
                .push_bind(&m.media.phone_number_id)
                .push_bind("pending")
                .push_bind(m.at)
                .push_bind(m.at);
        });
        q.push(" ON CONFLICT (workspace_id, media_id) DO NOTHING; ");
    }
    q.build().execute(&mut *conn).await?;
    Ok(())
}

#[derive(Debug, Default)]
struct Queue {
    rows: Rows,
    /// Generation of the newest rows queued (each [`EventIndex::enqueue`] adds one).
    queued: u64,
    /// Per workspace, the generation of its newest queued rows (dropped once indexed).
    workspaces: HashMap<Uuid, u64>,
    /// Generation of the newest rows that queued media.
    media: u64,
    /// Since when rows have been waiting (queued or in the transaction being written); `None`
    /// once everything queued is indexed.
    waiting_since: Option<Instant>,
    stopping: bool,
}

/// Told, after each index transaction, which workspaces got events and whether media fetches
/// were queued: readers woken by the commit may have given up waiting for these rows (their
/// wait is bounded), so they are woken again once the rows are there.
pub type IndexedHook = Box<dyn Fn(&[Uuid], bool) + Send + Sync>;

/// The queue of rows to index and the generation indexed so far.
pub(in crate::store) struct EventIndex {
    queue: Mutex<Queue>,
    hook: std::sync::OnceLock<IndexedHook>,
    work: Notify,
    /// Someone needs the index complete now (see [`INDEX_EVERY`]).
    hurry: Notify,
    indexed: watch::Sender<u64>,
    /// [`STALL_LIMIT`], shorter in tests.
    stall_limit: Mutex<Duration>,
}

impl EventIndex {
    /// Starts the task that indexes queued rows on `conn` (a connection of its own, at
    /// `synchronous=NORMAL`: the segment's fdatasync made the events durable).
    pub fn start(conn: EventConnection) -> (std::sync::Arc<Self>, tokio::task::JoinHandle<()>) {
        let index = std::sync::Arc::new(Self {
            queue: Mutex::new(Queue::default()),
            hook: std::sync::OnceLock::new(),
            work: Notify::new(),
            hurry: Notify::new(),
            indexed: watch::Sender::new(0),
            stall_limit: Mutex::new(STALL_LIMIT),
        });
        let task = tokio::spawn(run(index.clone(), conn));
        (index, task)
    }

    /// Sets what to tell after each index transaction (once; later calls are ignored).
    pub fn on_indexed(&self, hook: IndexedHook) {
        let _ = self.hook.set(hook);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn indexed(&self) -> u64 {
        *self.indexed.borrow()
    }

    /// Shortens [`STALL_LIMIT`], so a test can see a stall without waiting 10 s.
    #[cfg(test)]
    pub fn set_stall_limit(&self, limit: Duration) {
        *self.stall_limit.lock().unwrap_or_else(|e| e.into_inner()) = limit;
    }

    /// An error if rows have waited longer than [`STALL_LIMIT`] to be indexed: the index
    /// keeps failing (a full disk, a row SQLite refuses). Every write checks it first, so the
    /// queue stays bounded and senders are told to retry rather than get events nobody can
    /// read.
    pub fn check_not_stalled(&self) -> StoreResult<()> {
        let limit = *self.stall_limit.lock().unwrap_or_else(|e| e.into_inner());
        match self.lock().waiting_since {
            Some(since) if since.elapsed() > limit => Err(StoreError::IndexBehind),
            _ => Ok(()),
        }
    }

    /// Queues the rows of an append whose chunk is durable (call under the log lock, in
    /// append order).
    pub fn enqueue(&self, mut rows: Rows) {
        if rows.is_empty() {
            return;
        }
        rows.appends = 1;
        let mut queue = self.lock();
        queue.waiting_since.get_or_insert_with(Instant::now);
        queue.queued += 1;
        let generation = queue.queued;
        for c in &rows.chunks {
            queue.workspaces.insert(c.workspace, generation);
        }
        if !rows.media.is_empty() {
            queue.media = generation;
        }
        queue.rows.extend(rows);
        drop(queue);
        self.work.notify_one();
    }

    async fn wait_for(&self, generation: u64, limit: Duration) -> bool {
        if self.indexed() >= generation {
            return true;
        }
        let mut indexed = self.indexed.subscribe();
        let waited = tokio::time::timeout(limit, indexed.wait_for(|g| *g >= generation)).await;
        matches!(waited, Ok(Ok(_)))
    }

    /// Waits (bounded) until the rows queued so far for `workspace` are indexed. A timeout
    /// is not an error: the caller reads what is indexed, a prefix of the log.
    pub async fn settle_workspace(&self, workspace: Uuid) {
        let generation = self.lock().workspaces.get(&workspace).copied();
        if let Some(generation) = generation {
            self.wait_for(generation, READ_WAIT).await;
        }
    }

    /// Waits (bounded) until the media rows queued so far are indexed.
    pub async fn settle_media(&self) {
        let generation = self.lock().media;
        self.wait_for(generation, READ_WAIT).await;
    }

    /// Waits (bounded) until everything queued so far is indexed.
    pub async fn settle(&self) {
        let generation = self.lock().queued;
        self.wait_for(generation, READ_WAIT).await;
    }

    /// Waits until everything queued so far is indexed; an error if that takes more than
    /// 10 s (the index keeps failing, e.g. a full disk). Writers of event rows call it under
    /// the log lock, so nothing is queued meanwhile and SQLite's chunks stay a prefix.
    pub async fn flush(&self) -> StoreResult<()> {
        let generation = self.lock().queued;
        if self.indexed() < generation {
            self.hurry.notify_one();
        }
        if self.wait_for(generation, FLUSH_WAIT).await {
            Ok(())
        } else {
            Err(StoreError::IndexBehind)
        }
    }

    /// Indexes what is queued (bounded wait), then stops the task.
    pub async fn stop(&self) {
        if self.flush().await.is_err() {
            tracing::warn!(
                "stopping with event rows not indexed; the next start redoes them from the segments"
            );
        }
        self.lock().stopping = true;
        self.work.notify_one();
        self.hurry.notify_one();
    }
}

/// The index task: takes every queued row, writes them in one transaction, repeats.
async fn run(index: std::sync::Arc<EventIndex>, mut conn: EventConnection) {
    let mut retry = FIRST_RETRY;
    loop {
        let (generation, rows) = {
            let mut queue = index.lock();
            if queue.stopping {
                break;
            }
            (queue.queued, std::mem::take(&mut queue.rows))
        };
        if rows.is_empty() {
            index.work.notified().await;
            continue;
        }
        let started = tokio::time::Instant::now();
        match write(&mut conn, &rows).await {
            Ok(()) => {
                retry = FIRST_RETRY;
                let sustained = {
                    let mut queue = index.lock();
                    queue.workspaces.retain(|_, newest| *newest > generation);
                    // Rows queued during the write waited at most since it started.
                    let more = queue.queued > generation;
                    queue.waiting_since = more.then(|| started.into_std());
                    more
                };
                index.indexed.send_replace(generation);
                if let Some(hook) = index.hook.get() {
                    let mut workspaces: Vec<Uuid> =
                        rows.chunks.iter().map(|c| c.workspace).collect();
                    workspaces.sort_unstable();
                    workspaces.dedup();
                    hook(&workspaces, !rows.media.is_empty());
                }
                // Under sustained load (appends came during the write), let the next ones
                // gather, unless a writer needs them indexed now. Otherwise the next append
                // is indexed as soon as it comes.
                if sustained {
                    tokio::select! {
                        _ = tokio::time::sleep_until(started + INDEX_EVERY) => {}
                        _ = index.hurry.notified() => {}
                    }
                }
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    chunks = rows.chunks.len(),
                    "indexing committed events failed; retrying (they are safe in their segment)"
                );
                conn.reset();
                {
                    let mut queue = index.lock();
                    let newer = std::mem::replace(&mut queue.rows, rows);
                    queue.rows.extend(newer);
                }
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        }
    }
    conn.close().await;
}

async fn write(conn: &mut EventConnection, rows: &Rows) -> StoreResult<()> {
    let started = Instant::now();
    let c = conn.get().await?;
    write_rows(c, true, rows).await?;
    let rows_us = timing::micros(started.elapsed());
    let committing = Instant::now();
    sqlx::query("COMMIT").execute(&mut *c).await?;
    tracing::debug!(
        target: timing::TARGET,
        appends = rows.appends,
        chunks = rows.chunks.len(),
        rows_us,
        commit_us = timing::micros(committing.elapsed()),
        "index"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(ws: Uuid, first: i64, last: i64) -> ChunkRow {
        ChunkRow {
            workspace: ws,
            first_seq: first,
            last_seq: last,
            extent: Extent {
                segment: 1,
                offset: 0,
                len: 1,
            },
            newest: 0,
        }
    }

    #[test]
    fn rows_of_several_appends_move_each_workspace_seq_once() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut rows = Rows {
            seqs: vec![
                SeqMove {
                    workspace: a,
                    before: 1,
                    after: 3,
                },
                SeqMove {
                    workspace: b,
                    before: 7,
                    after: 8,
                },
            ],
            chunks: vec![chunk(a, 1, 2), chunk(b, 7, 7)],
            appends: 1,
            ..Rows::default()
        };
        rows.extend(Rows {
            seqs: vec![SeqMove {
                workspace: a,
                before: 3,
                after: 10,
            }],
            chunks: vec![chunk(a, 3, 9)],
            appends: 1,
            ..Rows::default()
        });
        let seqs: Vec<(Uuid, i64, i64)> = rows
            .seqs
            .iter()
            .map(|m| (m.workspace, m.before, m.after))
            .collect();
        assert_eq!(seqs, vec![(a, 1, 10), (b, 7, 8)]);
        let firsts: Vec<i64> = rows.chunks.iter().map(|c| c.first_seq).collect();
        assert_eq!(firsts, vec![1, 7, 3]);
        assert_eq!(rows.appends, 2);
    }

    fn run(ws: Uuid, first_seq: i64, seen_at: i64, keys: u8) -> RunRow {
        RunRow {
            workspace: ws,
            first_seq,
            seen_at,
            keys: (0..keys)
                .flat_map(|k| [k; crate::store::dedupe::KEY_RECORD])
                .collect(),
        }
    }

    #[test]
    fn a_workspaces_runs_that_follow_on_become_one_row() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut rows = Rows {
            runs: vec![run(a, 1, 100, 2), run(b, 7, 100, 1)],
            ..Rows::default()
        };
        rows.extend(Rows {
            runs: vec![run(a, 3, 150, 3), run(b, 9, 150, 1)],
            ..Rows::default()
        });
        rows.extend(Rows {
            runs: vec![run(b, 10, 90, 1)],
            ..Rows::default()
        });
        let runs: Vec<(Uuid, i64, i64, usize)> = rows
            .runs
            .iter()
            .map(|r| (r.workspace, r.first_seq, r.seen_at, r.keys.len() / 48))
            .collect();
        // a: seqs 1-2 then 3-5 merge; b: 7, then 9-10 (8 is missing: not merged into 7).
        assert_eq!(runs, vec![(a, 1, 150, 5), (b, 7, 100, 1), (b, 9, 150, 2)]);
        // The merged blob keeps each key at its seq: a's keys 0, 1 then 0, 1, 2.
        let firsts: Vec<u8> = rows.runs[0].keys.chunks(48).map(|k| k[0]).collect();
        assert_eq!(firsts, vec![0, 1, 0, 1, 2]);
    }
}
