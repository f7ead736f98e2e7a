//! The embedded SQLite store: WAL, `synchronous=FULL` (a commit is on disk before we answer),
//! one writer connection, one for the event index (`synchronous=NORMAL`: each chunk in its
//! segment is the durable copy, see `index` and `recovery`), a WAL checkpointer and a small
//! pool of read-only connections. Event bytes live in append-only segment files beside the
//! database (`events/`, see `segments`); a group commit is their fdatasync'd append, and
//! SQLite learns where the events lie right after (`index`), with everything else.
//!
//! The two writer connections take SQLite's write lock in turn (busy timeout 5 s): the index
//! writes in the background, and the other writes (accounts, acks, claims) are short.
//! Readers never block either under WAL.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use protocol::auth::Role;
use protocol::events::EventKind;
use protocol::{WorkspacePublicKey, WorkspaceSecretKey};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::dedupe::DedupeIndex;
use super::segments::{self, Extent, Segments};
use super::{
    Accepted, AuthRecord, DeletionRecord, EncryptedBusinessToken, EventRecord, InvalidBody,
    InvitationRecord, MediaJob, MediaRecord, MemberRecord, NewInvitation, NewMediaJob, NewSession,
    NewUser, NewWorkspace, OnboardingRecord, PrunePolicy, PruneReport, Removal, SessionRecord,
    Store, StoreError, StoreResult, StoredBusinessToken, StoredMedia, UserRecord, WorkspaceRecord,
    WriteOp, WriteOutcome, DELETED_SESSIONS_DAYS,
};
use crate::timing;

/// Meta retries a delivery for up to 7 days: remember what we stored at least that long,
/// even when the events themselves were pruned earlier.
const MIN_DEDUPE_MEMORY: time::Duration = time::Duration::days(8);

mod append;
mod event_conn;
mod index;
mod known;
mod legacy;
mod recovery;

use append::{Appends, Fresh, HeldEntry, LogState, Slot, Written};
use event_conn::EventConnection;
use index::EventIndex;

/// A group commit decided in memory: each op's slot, and the rows that live in SQLite alone.
struct Plan<'a> {
    slots: Vec<Slot>,
    held: Vec<HeldEntry<'a>>,
    /// (encrypted body, received at ms) of each signed body that is not an envelope.
    invalid: Vec<(&'a [u8], i64)>,
}

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// Opens held entries when their WABA is claimed, to re-seal them to the workspace.
    held_key: WorkspaceSecretKey,
    /// The segment files and the dedupe index: locked by every transaction that appends
    /// events or removes them (see [`LogState`]).
    log: Arc<tokio::sync::Mutex<LogState>>,
    /// Where the segment files are (readers open them without the lock).
    events_dir: PathBuf,
    /// The connection that checkpoints the WAL in the background.
    checkpoints: SqlitePool,
    /// The rows of committed appends, written to SQLite behind the group commit.
    index: Arc<EventIndex>,
    index_task: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// How often the WAL is copied back into the database file. Often, so each checkpoint is
/// small: a group commit of 20 workspaces' events writes ~55 WAL frames (~220 KB: one leaf of
/// each per-workspace B-tree, times two), so at 250 ms a checkpoint flushed 8–36 MB of WAL and
/// database pages for 30–40 ms, and the segment `fdatasync` and COMMIT running meanwhile
/// waited for the disk: the periodic 40–60 ms stall behind the ingest p99 (BENCHMARKS.md).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Checkpoints the WAL in the background. An automatic checkpoint runs inside the commit that
/// crosses the WAL limit, with two fsyncs: every webhook of that group commit waited for them
/// (the p99). A PASSIVE checkpoint never blocks the writer; it ends with the pool.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            let started = std::time::Instant::now();
            let done: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await;
            if let Ok((busy, frames, copied)) = &done {
                tracing::debug!(
                    target: timing::TARGET,
                    us = timing::micros(started.elapsed()),
                    busy,
                    frames,
                    copied,
                    "checkpoint"
                );
            }
            if let Err(e) = done {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
}

async fn insert_media_job(
    tx: &mut Transaction<'static, Sqlite>,
    j: &NewMediaJob,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO media (workspace_id, media_id, waba_id, phone_number_id, status,
           next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)
         ON CONFLICT (workspace_id, media_id) DO NOTHING",
    )
    .bind(j.workspace_id.to_string())
    .bind(&j.media_id)
    .bind(&j.waba_id)
    .bind(&j.phone_number_id)
    .bind(ms(now))
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqliteStore {
    /// Checkpoints the whole WAL into the database file and truncates it to zero bytes, so
    /// that no old page image (a deleted account's rows) stays in it. SQLite reports a
    /// checkpoint it could not finish (another connection's checkpoint or read running at the
    /// same moment, e.g. the periodic PASSIVE one) in the result row rather than as an error:
    /// retried until it finished, for up to ~5 s, then an error.
    async fn truncate_wal(&self) -> StoreResult<()> {
        for _ in 0..100 {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.writer)
                .await?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(StoreError::WalBusy)
    }

    /// Opens (creating if needed) `relay.sqlite3` in `data_dir` and runs the migrations.
    pub async fn open(data_dir: &Path, held_key: WorkspaceSecretKey) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("relay.sqlite3"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows are overwritten with zeros, not left in free pages: deleting an
            // account must remove its data from the file, not only from queries.
            .pragma("secure_delete", "ON")
            // Statement journals (multi-row inserts inside a transaction) in memory, not in a
            // temporary file created and deleted per statement.
            .pragma("temp_store", "MEMORY")
            // Checkpoints run on their own connection (`checkpointer`), off the commit path;
            // this only bounds the WAL should that connection fall behind.
            .pragma("wal_autocheckpoint", "10000")
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .before_acquire(|conn, _| Box::pin(discard_if_stuck_in_transaction(conn)))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        // The event index is redone from the segment chunks after a crash (`recovery`), so
        // SQLite need not fsync it: the segment's fdatasync is the one flush a webhook's 200
        // waits for. It gets a connection of its own at NORMAL (`index`); everything else
        // stays on `writer` at FULL, and any FULL commit also makes every earlier NORMAL one
        // durable (one sequential WAL).
        let event_options = options.clone().synchronous(SqliteSynchronous::Normal);
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone().read_only(true))
            .await?;
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        spawn_checkpointer(checkpoints.clone());
        let events_dir = data_dir.join("events");
        let segments = Segments::open(&events_dir).map_err(StoreError::Segment)?;
        let (index, index_task) = EventIndex::start(EventConnection::new(event_options));
        let store = Self {
            writer,
            reader,
            held_key,
            log: Arc::new(tokio::sync::Mutex::new(LogState {
                segments: Arc::new(Mutex::new(segments)),
                dedupe: DedupeIndex::default(),
                known: known::Known::default(),
            })),
            events_dir,
            checkpoints,
            index,
            index_task: Arc::new(tokio::sync::Mutex::new(Some(index_task))),
        };
        store.recover_lost_commits().await?;
        store.move_legacy_events().await?;
        store.load_dedupe_index().await?;
        Ok(store)
    }

    /// Reads every remembered dedupe key into memory (see `dedupe`).
    async fn load_dedupe_index(&self) -> StoreResult<()> {
        let mut log = self.log.lock().await;
        let mut rows =
            sqlx::query("SELECT workspace_id, first_seq, seen_at, keys FROM delivery_runs")
                .fetch(&self.reader);
        use futures::TryStreamExt;
        while let Some(row) = rows.try_next().await? {
            let keys: Vec<u8> = row.try_get("keys")?;
            log.dedupe.insert_run(
                get_uuid(&row, "workspace_id")?,
                row.try_get("first_seq")?,
                row.try_get("seen_at")?,
                &keys,
            )?;
        }
        Ok(())
    }

    /// Removes the segment files no chunk references any more (after prunes and deletions).
    async fn free_segments(&self, log: &LogState) -> StoreResult<()> {
        let referenced: HashSet<i64> =
            sqlx::query_scalar::<_, i64>("SELECT DISTINCT segment FROM event_chunks")
                .fetch_all(&self.writer)
                .await?
                .into_iter()
                .collect();
        let segments = log.segments.clone();
        let removed = tokio::task::spawn_blocking(move || {
            segments
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove_unreferenced(&referenced)
        })
        .await
        .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
        .map_err(StoreError::Segment)?;
        if removed > 0 {
            tracing::debug!(removed, "freed event segment files");
        }
        Ok(())
    }

    /// Waits for every connection to close (used at shutdown, after the last commit): the
    /// event index is written out first.
    pub async fn close(&self) {
        self.index.stop().await;
        if let Some(task) = self.index_task.lock().await.take() {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "the event index task failed");
            }
        }
        self.checkpoints.close().await;
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Calls `hook` after each index transaction with the workspaces that got events and
    /// whether media fetches were queued (see `index`): the relay wakes their readers and
    /// the media worker again.
    pub fn on_indexed(&self, hook: impl Fn(&[Uuid], bool) + Send + Sync + 'static) {
        self.index.on_indexed(Box::new(hook));
    }

    /// Makes sure `known` has the next seq of each of `workspaces`. A seq read from SQLite
    /// must not miss a queued append, so the index is flushed before any read.
    async fn load_seqs(&self, log: &mut LogState, workspaces: &[Uuid]) -> StoreResult<()> {
        if workspaces.iter().any(|w| log.known.next_seq(*w).is_none()) {
            self.index.flush().await?;
        }
        log.known.load_seqs(&self.reader, workspaces).await
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        // IMMEDIATE takes the write lock up front instead of upgrading a read lock mid-way.
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Whether a pooled writer connection may be used again (`false`: the pool replaces it).
///
/// On some errors — SQLITE_FULL when the disk is full, SQLITE_IOERR — SQLite rolls the whole
/// transaction back by itself. sqlx's rollback on drop then fails ("no transaction is active")
/// and its transaction count stays at 1, so every later `BEGIN` on that connection would be
/// refused and the relay would answer 5xx forever, even after the disk was freed.
async fn discard_if_stuck_in_transaction(conn: &mut SqliteConnection) -> sqlx::Result<bool> {
    if conn.is_in_transaction() {
        // The dropped transaction's ROLLBACK may only be queued on the connection's worker:
        // a ping runs after it, so the count is settled when we look again.
        conn.ping().await?;
    }
    let stuck = conn.is_in_transaction();
    if stuck {
        tracing::warn!("replacing the writer connection left inside a failed transaction");
    }
    Ok(!stuck)
}

pub(super) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| StoreError::Corrupt(format!("bad uuid {s:?}")))
}

/// A new event's id. Time-ordered (UUIDv7) rather than random: the `events.id` index then
/// grows at its right edge, so a group commit dirties a page or two of it instead of one
/// random page per event (measured with the ingest benchmark, BENCHMARKS.md). Devices only
/// compare ids for equality.
pub(crate) fn event_id() -> Uuid {
    Uuid::now_v7()
}

fn get_uuid(row: &SqliteRow, col: &str) -> StoreResult<Uuid> {
    parse_uuid(&row.try_get::<String, _>(col)?)
}

fn get_role(row: &SqliteRow, col: &str) -> StoreResult<Role> {
    let s: String = row.try_get(col)?;
    Role::from_str(&s).map_err(|_| StoreError::Corrupt(format!("bad role {s:?}")))
}

fn get_public_key(row: &SqliteRow, col: &str) -> StoreResult<WorkspacePublicKey> {
    let bytes: Vec<u8> = row.try_get(col)?;
    WorkspacePublicKey::from_slice(&bytes)
        .map_err(|_| StoreError::Corrupt("bad workspace public key".into()))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn workspace_from_row(row: &SqliteRow) -> StoreResult<WorkspaceRecord> {
    Ok(WorkspaceRecord {
        id: get_uuid(row, "id")?,
        company: row.try_get("company")?,
        public_key: get_public_key(row, "public_key")?,
    })
}

fn user_from_row(row: &SqliteRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: get_uuid(row, "id")?,
        workspace_id: get_uuid(row, "workspace_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        role: get_role(row, "role")?,
    })
}

fn member_from_row(row: &SqliteRow) -> StoreResult<MemberRecord> {
    let removed: Option<i64> = row.try_get("removed_at")?;
    Ok(MemberRecord {
        id: get_uuid(row, "id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        role: get_role(row, "role")?,
        created_at: from_ms(row.try_get("created_at")?),
        removed_at: removed.map(from_ms),
    })
}

/// A removed member's address is in `removed_email` (see `migrations/0008_removed_email.sql`).
const MEMBER_COLUMNS: &str =
    "id, name, COALESCE(removed_email, email) AS email, role, created_at, removed_at";

/// Inside a member change: the member as it is now, refused unless active and still in the
/// role the caller decided on.
async fn active_member_in_tx(
    tx: &mut Transaction<'static, Sqlite>,
    workspace_id: Uuid,
    member_id: Uuid,
    expected: Role,
) -> StoreResult<MemberRecord> {
    let row = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM users WHERE id = ? AND workspace_id = ?"
    ))
    .bind(member_id.to_string())
    .bind(workspace_id.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let member = member_from_row(&row)?;
    if member.removed_at.is_some() {
        return Err(StoreError::NotFound);
    }
    if member.role != expected {
        return Err(StoreError::MemberChanged);
    }
    Ok(member)
}

/// Active owners of the workspace other than `except`, inside the caller's transaction.
async fn other_owners_in_tx(
    tx: &mut Transaction<'static, Sqlite>,
    workspace_id: Uuid,
    except: Uuid,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM users
         WHERE workspace_id = ? AND id != ? AND role = 'owner' AND removed_at IS NULL",
    )
    .bind(workspace_id.to_string())
    .bind(except.to_string())
    .fetch_one(&mut **tx)
    .await?)
}

async fn insert_session(tx: &mut Transaction<'static, Sqlite>, s: &NewSession) -> StoreResult<()> {
    sqlx::query(
        // entitled_after is read in the same (IMMEDIATE) transaction, so no prune can slip
        // between reading the watermark and the session existing.
        "INSERT INTO device_sessions
           (id, workspace_id, user_id, token_hash, device_name, created_at, last_seen_at,
            entitled_after)
         VALUES (?, ?, ?, ?, ?, ?, ?,
                 COALESCE((SELECT pruned_through FROM workspaces WHERE id = ?), 0))",
    )
    .bind(s.id.to_string())
    .bind(s.workspace_id.to_string())
    .bind(s.user_id.to_string())
    .bind(&s.token_hash[..])
    .bind(&s.device_name)
    .bind(ms(s.now))
    .bind(ms(s.now))
    .bind(s.workspace_id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqliteStore {
    /// [`Store::claim_waba`], run to the end: see there.
    async fn claim_waba_to_end(
        &self,
        workspace_id: Uuid,
        waba_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let mut log = self.log.lock().await;
        // The released entries' rows go in this transaction, after the queued ones.
        self.index.flush().await?;
        let mut tx = self.begin().await?;
        match Self::owner_in_tx(&mut tx, waba_id).await? {
            Some(ws) if ws.id == workspace_id => return Ok(0),
            Some(_) => return Err(StoreError::WabaTaken),
            None => {}
        }
        sqlx::query("INSERT INTO wabas (waba_id, workspace_id, claimed_at) VALUES (?, ?, ?)")
            .bind(waba_id)
            .bind(workspace_id.to_string())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        let ws = Self::owner_in_tx(&mut tx, waba_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let held = sqlx::query(
            "SELECT id, dedupe_key, sealed, received_at FROM held_events
             WHERE waba_id = ? ORDER BY id",
        )
        .bind(waba_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut appends = Appends::default();
        let mut released = 0;
        for row in &held {
            let key: Vec<u8> = row.try_get("dedupe_key")?;
            let key: [u8; 32] = key
                .try_into()
                .map_err(|_| StoreError::Corrupt("bad dedupe key".into()))?;
            let sealed: Vec<u8> = row.try_get("sealed")?;
            let plain = protocol::open(&self.held_key, &sealed).map_err(|_| StoreError::Reseal)?;
            let resealed =
                protocol::seal(&ws.public_key, &plain).map_err(|_| StoreError::Reseal)?;
            // Its inbound media are queued in the same transaction (see `media`).
            for job in crate::media::media_jobs(ws.id, &plain) {
                insert_media_job(&mut tx, &job, now).await?;
            }
            let slot = appends.add(
                &log.dedupe,
                ws.id,
                Fresh {
                    key,
                    kind: EventKind::MetaWebhook,
                    sealed: Cow::Owned(resealed),
                    created_at_ms: row.try_get("received_at")?,
                    origin: None,
                    media: &[],
                },
            );
            if matches!(slot, Slot::New { first: true, .. }) {
                released += 1;
            }
        }
        sqlx::query("DELETE FROM held_events WHERE waba_id = ?")
            .bind(waba_id)
            .execute(&mut *tx)
            .await?;
        let log = &mut *log;
        self.load_seqs(log, &appends.workspaces()).await?;
        let written = match appends.write(&mut tx, &log.known, &log.segments).await {
            Ok(written) => written,
            Err(e) => {
                log.known.forget_seqs();
                return Err(e);
            }
        };
        if let Err(e) = tx.commit().await {
            log.known.forget_seqs();
            written.discard(&log.segments);
            return Err(e.into());
        }
        // From now on this WABA's deliveries go to the workspace, not to the held table.
        log.known.claimed(waba_id, ws);
        written.remember(&mut log.dedupe, &mut log.known)?;
        Ok(released)
    }

    /// [`Store::delete_workspace`], run to the end (see [`Store::claim_waba`]'s reason).
    async fn delete_workspace_to_end(&self, workspace_id: Uuid) -> StoreResult<bool> {
        let mut log = self.log.lock().await;
        // Its queued rows indexed first: they would fail once the workspace is gone, and
        // its chunks must all be known to be erased.
        self.index.flush().await?;
        // Forgotten first: whatever happens below, nothing routes to it from memory.
        log.known.forget_workspace(workspace_id);
        // The workspace's event bytes are overwritten with zeros first, so that they are
        // gone from the disk before the deletion is reported (a crash in between leaves
        // zeros that the retried deletion removes), whatever else shares their segments.
        let extents: Vec<Extent> =
            sqlx::query("SELECT segment, offset, len FROM event_chunks WHERE workspace_id = ?")
                .bind(workspace_id.to_string())
                .fetch_all(&self.writer)
                .await?
                .iter()
                .map(extent_from_row)
                .collect::<StoreResult<_>>()?;
        let segments = log.segments.clone();
        tokio::task::spawn_blocking(move || {
            let mut segments = segments.lock().unwrap_or_else(|e| e.into_inner());
            segments.erase(&extents)?;
            // Commits after this one go to a new segment, so that none lies behind the
            // zeros where recovery stops reading (see `Segments::rotate`).
            segments.rotate();
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
        .map_err(StoreError::Segment)?;
        // Its live sessions' token hashes stay behind, and nothing else of it: their devices
        // are told the workspace was deleted rather than only that they are signed out.
        let mut tx = self.begin().await?;
        // The day only: one exact instant shared by every hash would tie them together as
        // one workspace's devices.
        let day = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
        sqlx::query(
            "INSERT OR IGNORE INTO deleted_sessions (token_hash, deleted_at)
             SELECT s.token_hash, ? FROM device_sessions s JOIN users u ON u.id = s.user_id
             WHERE s.workspace_id = ? AND s.revoked_at IS NULL AND u.removed_at IS NULL",
        )
        .bind(ms(day))
        .bind(workspace_id.to_string())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM workspaces WHERE id = ?")
            .bind(workspace_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // Old page images stay in the WAL until a checkpoint; copy back and truncate now.
        self.truncate_wal().await?;
        log.dedupe.forget_workspace(workspace_id);
        self.free_segments(&log).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn owner_in_tx(
        tx: &mut Transaction<'static, Sqlite>,
        waba_id: &str,
    ) -> StoreResult<Option<WorkspaceRecord>> {
        let row = sqlx::query(
            "SELECT w.id, w.company, w.public_key FROM wabas o
             JOIN workspaces w ON w.id = o.workspace_id WHERE o.waba_id = ?",
        )
        .bind(waba_id)
        .fetch_optional(&mut **tx)
        .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    fn reseal(&self, sealed: &[u8], to: &WorkspacePublicKey) -> StoreResult<Vec<u8>> {
        let plain = protocol::open(&self.held_key, sealed).map_err(|_| StoreError::Reseal)?;
        protocol::seal(to, &plain).map_err(|_| StoreError::Reseal)
    }

    /// Decides every op of a group commit in memory: where each webhook entry goes (its
    /// WABA's owner as the log lock's holder knows it, see `known`), which events are
    /// duplicates, which entries are held. The new events are only queued in `appends`; held
    /// entries and invalid bodies are returned for the caller to insert.
    fn plan_batch<'a>(
        &self,
        log: &LogState,
        ops: &'a [WriteOp],
        appends: &mut Appends<'a>,
    ) -> StoreResult<Plan<'a>> {
        let mut plan = Plan {
            slots: Vec::with_capacity(ops.len()),
            held: Vec::new(),
            invalid: Vec::new(),
        };
        let dedupe = &log.dedupe;
        for (index, op) in ops.iter().enumerate() {
            let slot = match op {
                WriteOp::WebhookEntry {
                    waba_id,
                    dedupe_key,
                    sealed,
                    sealed_for,
                    received_at,
                    media,
                } => {
                    let fresh = |sealed| Fresh {
                        key: *dedupe_key,
                        kind: EventKind::MetaWebhook,
                        sealed,
                        created_at_ms: ms(*received_at),
                        origin: None,
                        media,
                    };
                    match (log.known.owner(waba_id), sealed_for) {
                        (Some(ws), Some(sealed_for)) if ws.id == *sealed_for => {
                            appends.add(dedupe, ws.id, fresh(Cow::Borrowed(sealed)))
                        }
                        (Some(ws), None) => {
                            let resealed = self.reseal(sealed, &ws.public_key)?;
                            appends.add(dedupe, ws.id, fresh(Cow::Owned(resealed)))
                        }
                        (None, None) => {
                            plan.held.push(HeldEntry {
                                index,
                                waba_id,
                                dedupe_key,
                                sealed,
                                received_at_ms: ms(*received_at),
                            });
                            // Replaced by the held insert's outcome.
                            Slot::Done(WriteOutcome::Held)
                        }
                        _ => Slot::Done(WriteOutcome::Stale),
                    }
                }
                WriteOp::InvalidBody {
                    encrypted,
                    received_at,
                } => {
                    plan.invalid.push((&encrypted[..], ms(*received_at)));
                    Slot::Done(WriteOutcome::InvalidStored)
                }
                WriteOp::RelayEvent {
                    workspace_id,
                    kind,
                    dedupe_key,
                    sealed,
                    created_at,
                } => appends.add(
                    dedupe,
                    *workspace_id,
                    Fresh {
                        key: *dedupe_key,
                        kind: *kind,
                        sealed: Cow::Borrowed(sealed),
                        created_at_ms: ms(*created_at),
                        origin: None,
                        media: &[],
                    },
                ),
                WriteOp::DeviceEvent {
                    workspace_id,
                    session_id,
                    kind,
                    client_event_id,
                    dedupe_key,
                    sealed,
                    created_at,
                } => appends.add(
                    dedupe,
                    *workspace_id,
                    Fresh {
                        key: *dedupe_key,
                        kind: *kind,
                        sealed: Cow::Borrowed(sealed),
                        created_at_ms: ms(*created_at),
                        origin: Some((*session_id, client_event_id.as_str())),
                        media: &[],
                    },
                ),
            };
            plan.slots.push(slot);
        }
        Ok(plan)
    }

    /// Commits a batch of events alone: one segment append, fdatasync'd; its rows are
    /// queued for the index (`index`), in append order since the log lock is held.
    async fn commit_events(
        index: &EventIndex,
        log: &mut LogState,
        appends: Appends<'_>,
    ) -> StoreResult<Written> {
        let (written, rows) = appends.append(&log.known, &log.segments).await?;
        index.enqueue(rows);
        Ok(written)
    }

    /// Commits a batch holding held entries or invalid bodies on `writer` (fsync'd: those
    /// live in SQLite alone), with its events if any.
    async fn commit_with_rows(
        &self,
        log: &LogState,
        plan: &mut Plan<'_>,
        appends: Appends<'_>,
    ) -> StoreResult<Written> {
        // Its event rows go in this transaction: the queued ones must be in SQLite first.
        self.index.flush().await?;
        let mut tx = self.begin().await?;
        for (encrypted, received_at) in &plan.invalid {
            sqlx::query("INSERT INTO invalid_bodies (encrypted, received_at) VALUES (?, ?)")
                .bind(*encrypted)
                .bind(*received_at)
                .execute(&mut *tx)
                .await?;
        }
        for (index, outcome) in append::insert_held(&mut tx, &plan.held).await? {
            plan.slots[index] = Slot::Done(outcome);
        }
        let written = appends.write(&mut tx, &log.known, &log.segments).await?;
        if let Err(e) = tx.commit().await {
            written.discard(&log.segments);
            return Err(e.into());
        }
        Ok(written)
    }

    /// The chunks of a workspace's log holding seqs `from+1 ..= to`, in seq order.
    async fn chunks_between(
        tx: &mut Transaction<'static, Sqlite>,
        workspace_id: Uuid,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Extent>> {
        let rows = sqlx::query(
            "SELECT segment, offset, len FROM event_chunks
             WHERE workspace_id = ? AND last_seq > ? AND first_seq <= ? ORDER BY first_seq",
        )
        .bind(workspace_id.to_string())
        .bind(from)
        .bind(to)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(extent_from_row).collect()
    }
}

fn extent_from_row(row: &SqliteRow) -> StoreResult<Extent> {
    Ok(Extent {
        segment: row.try_get("segment")?,
        offset: row.try_get("offset")?,
        len: row.try_get("len")?,
    })
}

/// Reads and decodes chunks of `workspace_id` on a blocking thread (file reads).
async fn read_chunks(
    dir: PathBuf,
    workspace_id: Uuid,
    extents: Vec<Extent>,
) -> StoreResult<Vec<EventRecord>> {
    tokio::task::spawn_blocking(move || {
        let mut events = Vec::new();
        for extent in extents {
            let bytes = segments::read_extent(&dir, extent).map_err(StoreError::Segment)?;
            events.extend(super::chunk::decode(workspace_id, &bytes)?);
        }
        Ok(events)
    })
    .await
    .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
}

/// Keeps (or replaces) a WABA's encrypted business token for `workspace`, only while the
/// workspace owns the WABA: a deletion or another claim in between wins (`NotFound`).
async fn keep_business_token(
    conn: &mut SqliteConnection,
    workspace: &str,
    token: &EncryptedBusinessToken,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let stored = sqlx::query(
        "INSERT INTO business_tokens (waba_id, workspace_id, encrypted, stored_at)
         SELECT waba_id, workspace_id, ?, ? FROM wabas WHERE waba_id = ? AND workspace_id = ?
         ON CONFLICT (waba_id) DO UPDATE SET workspace_id = excluded.workspace_id,
           encrypted = excluded.encrypted, stored_at = excluded.stored_at",
    )
    .bind(&token.encrypted)
    .bind(ms(now))
    .bind(&token.waba_id)
    .bind(workspace)
    .execute(&mut *conn)
    .await?;
    if stored.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

impl Store for SqliteStore {
    fn create_workspace(&self, new: NewWorkspace) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            sqlx::query(
                "INSERT INTO workspaces (id, company, public_key, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(new.workspace_id.to_string())
            .bind(&new.company)
            .bind(&new.public_key.as_bytes()[..])
            .bind(ms(new.session.now))
            .execute(&mut *tx)
            .await?;
            let u = &new.owner;
            let inserted = sqlx::query(
                "INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(u.id.to_string())
            .bind(new.workspace_id.to_string())
            .bind(&u.email)
            .bind(&u.name)
            .bind(&u.password_hash)
            .bind(u.role.as_str())
            .bind(ms(new.session.now))
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::EmailTaken),
                other => {
                    other?;
                }
            }
            insert_session(&mut tx, &new.session).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn workspace(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<WorkspaceRecord>>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT id, company, public_key FROM workspaces WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(workspace_from_row).transpose()
        })
    }

    fn user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<UserRecord>>> {
        Box::pin(async move {
            // A removed member's row keeps the email but no longer signs in.
            let row = sqlx::query("SELECT * FROM users WHERE email = ? AND removed_at IS NULL")
                .bind(email)
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    fn user(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<UserRecord>>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT * FROM users WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.reader)
                .await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    fn create_session(&self, new: NewSession) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            insert_session(&mut tx, &new).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn session_by_token_hash(
        &self,
        token_hash: [u8; 32],
    ) -> BoxFuture<'_, StoreResult<Option<AuthRecord>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT s.id, s.workspace_id, s.user_id, s.last_seen_at, s.entitled_after, u.role
                 FROM device_sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = ? AND s.revoked_at IS NULL AND u.removed_at IS NULL",
            )
            .bind(&token_hash[..])
            .fetch_optional(&self.reader)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(AuthRecord {
                session_id: get_uuid(&row, "id")?,
                workspace_id: get_uuid(&row, "workspace_id")?,
                user_id: get_uuid(&row, "user_id")?,
                role: get_role(&row, "role")?,
                last_seen_at: from_ms(row.try_get("last_seen_at")?),
                entitled_after: row.try_get("entitled_after")?,
            }))
        })
    }

    fn session_of_deleted_workspace(
        &self,
        token_hash: [u8; 32],
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM deleted_sessions WHERE token_hash = ?")
                    .bind(&token_hash[..])
                    .fetch_optional(&self.reader)
                    .await?;
            Ok(found.is_some())
        })
    }

    fn session_is_live(&self, id: Uuid) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let live: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM device_sessions WHERE id = ? AND revoked_at IS NULL",
            )
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
            Ok(live.is_some())
        })
    }

    fn touch_session(&self, id: Uuid, now: OffsetDateTime) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query("UPDATE device_sessions SET last_seen_at = ? WHERE id = ?")
                .bind(ms(now))
                .bind(id.to_string())
                .execute(&self.writer)
                .await?;
            Ok(())
        })
    }

    fn list_sessions(
        &self,
        workspace_id: Uuid,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, StoreResult<Vec<SessionRecord>>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, user_id, device_name, created_at, last_seen_at FROM device_sessions
                 WHERE workspace_id = ? AND revoked_at IS NULL AND (? IS NULL OR user_id = ?)
                 ORDER BY created_at, id",
            )
            .bind(workspace_id.to_string())
            .bind(user.map(|u| u.to_string()))
            .bind(user.map(|u| u.to_string()))
            .fetch_all(&self.reader)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(SessionRecord {
                        id: get_uuid(row, "id")?,
                        user_id: get_uuid(row, "user_id")?,
                        device_name: row.try_get("device_name")?,
                        created_at: from_ms(row.try_get("created_at")?),
                        last_seen_at: from_ms(row.try_get("last_seen_at")?),
                    })
                })
                .collect()
        })
    }

    fn revoke_session(
        &self,
        workspace_id: Uuid,
        session_id: Uuid,
        user: Option<Uuid>,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE device_sessions SET revoked_at = ?
                 WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL
                   AND (? IS NULL OR user_id = ?)",
            )
            .bind(ms(now))
            .bind(session_id.to_string())
            .bind(workspace_id.to_string())
            .bind(user.map(|u| u.to_string()))
            .bind(user.map(|u| u.to_string()))
            .execute(&self.writer)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn list_members(&self, workspace_id: Uuid) -> BoxFuture<'_, StoreResult<Vec<MemberRecord>>> {
        Box::pin(async move {
            let rows = sqlx::query(&format!(
                "SELECT {MEMBER_COLUMNS} FROM users WHERE workspace_id = ?
                 ORDER BY created_at, id"
            ))
            .bind(workspace_id.to_string())
            .fetch_all(&self.reader)
            .await?;
            rows.iter().map(member_from_row).collect()
        })
    }

    fn member(
        &self,
        workspace_id: Uuid,
        member_id: Uuid,
    ) -> BoxFuture<'_, StoreResult<Option<MemberRecord>>> {
        Box::pin(async move {
            let row = sqlx::query(&format!(
                "SELECT {MEMBER_COLUMNS} FROM users WHERE id = ? AND workspace_id = ?"
            ))
            .bind(member_id.to_string())
            .bind(workspace_id.to_string())
            .fetch_optional(&self.reader)
            .await?;
            row.as_ref().map(member_from_row).transpose()
        })
    }

    fn change_role(
        &self,
        workspace_id: Uuid,
        member_id: Uuid,
        expected: Role,
        role: Role,
    ) -> BoxFuture<'_, StoreResult<MemberRecord>> {
        Box::pin(async move {
            // One write transaction (IMMEDIATE): two owners demoting each other at once
            // cannot both pass the last-owner check.
            let mut tx = self.begin().await?;
            let member = active_member_in_tx(&mut tx, workspace_id, member_id, expected).await?;
            if member.role == Role::Owner
                && role != Role::Owner
                && other_owners_in_tx(&mut tx, workspace_id, member_id).await? == 0
            {
                return Err(StoreError::LastOwner);
            }
            sqlx::query("UPDATE users SET role = ? WHERE id = ?")
                .bind(role.as_str())
                .bind(member_id.to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(MemberRecord { role, ..member })
        })
    }

    fn remove_member(
        &self,
        workspace_id: Uuid,
        member_id: Uuid,
        expected: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Removal>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let member = active_member_in_tx(&mut tx, workspace_id, member_id, expected).await?;
            if member.role == Role::Owner
                && other_owners_in_tx(&mut tx, workspace_id, member_id).await? == 0
            {
                return Err(StoreError::LastOwner);
            }
            // The address is set aside so that it can be invited again.
            sqlx::query(
                "UPDATE users SET removed_at = ?, removed_email = email,
                     email = 'removed:' || id
                 WHERE id = ?",
            )
            .bind(ms(now))
            .bind(member_id.to_string())
            .execute(&mut *tx)
            .await?;
            // Revoked sessions no longer authenticate, and retention only waits for the
            // cursors of live sessions: the removed member's devices stop holding events.
            let sessions = sqlx::query(
                "UPDATE device_sessions SET revoked_at = ?
                 WHERE user_id = ? AND workspace_id = ? AND revoked_at IS NULL",
            )
            .bind(ms(now))
            .bind(member_id.to_string())
            .bind(workspace_id.to_string())
            .execute(&mut *tx)
            .await?;
            // Their pending invitations go too: otherwise a removed admin could come back
            // through a link they made before (to another address of theirs).
            let invitations = sqlx::query(
                "UPDATE invitations SET revoked_at = ?
                 WHERE invited_by = ? AND workspace_id = ? AND accepted_at IS NULL
                   AND revoked_at IS NULL",
            )
            .bind(ms(now))
            .bind(member_id.to_string())
            .bind(workspace_id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Removal {
                sessions_revoked: sessions.rows_affected(),
                invitations_revoked: invitations.rows_affected(),
            })
        })
    }

    fn waba_owners<'a>(
        &'a self,
        waba_ids: &'a [String],
    ) -> BoxFuture<'a, StoreResult<Vec<(String, WorkspaceRecord)>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            // A delivery names a handful of WABAs at most; one indexed lookup each is fine.
            for waba in waba_ids {
                let row = sqlx::query(
                    "SELECT w.id, w.company, w.public_key FROM wabas o
                     JOIN workspaces w ON w.id = o.workspace_id WHERE o.waba_id = ?",
                )
                .bind(waba)
                .fetch_optional(&self.reader)
                .await?;
                if let Some(row) = row {
                    out.push((waba.clone(), workspace_from_row(&row)?));
                }
            }
            Ok(out)
        })
    }

    fn claim_waba<'a>(
        &'a self,
        workspace_id: Uuid,
        waba_id: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, StoreResult<u64>> {
        // On a task of its own, so that a client hanging up cannot stop it half-way: dropped
        // after its COMMIT was sent, the writer's next seqs would be stale (and reused by the
        // next appends); dropped during its segment write, bytes it never committed would
        // sit in the segment before the next appends, where a restart's recovery reads them.
        let this = self.clone();
        let waba_id = waba_id.to_owned();
        Box::pin(async move {
            tokio::spawn(async move { this.claim_waba_to_end(workspace_id, &waba_id, now).await })
                .await
                .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
        })
    }

    fn list_wabas(&self, workspace_id: Uuid) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar(
                "SELECT waba_id FROM wabas WHERE workspace_id = ? ORDER BY waba_id",
            )
            .bind(workspace_id.to_string())
            .fetch_all(&self.reader)
            .await?)
        })
    }

    fn commit_batch<'a>(
        &'a self,
        ops: &'a [WriteOp],
    ) -> BoxFuture<'a, StoreResult<Vec<WriteOutcome>>> {
        Box::pin(async move {
            let mut clock = std::time::Instant::now();
            let mut guard = self.log.lock().await;
            let lock_us = timing::lap(&mut clock);
            // First, before anything is read or written: a stalled index refuses every
            // write at once (nothing of it happened, so the known seqs stay valid), rather
            // than each one waiting out a flush under the log lock.
            self.index.check_not_stalled()?;
            let log = &mut *guard;
            let wabas: HashSet<&str> = ops
                .iter()
                .filter_map(|op| match op {
                    WriteOp::WebhookEntry { waba_id, .. } => Some(waba_id.as_str()),
                    _ => None,
                })
                .collect();
            log.known.load_owners(&self.reader, &wabas).await?;
            let mut appends = Appends::default();
            let mut plan = self.plan_batch(log, ops, &mut appends)?;
            self.load_seqs(log, &appends.workspaces()).await?;
            let plan_us = timing::lap(&mut clock);
            // Held entries and invalid bodies live in SQLite alone: those commits are
            // fsync'd. Events alone are committed by their segment append, indexed behind it
            // (`index`); a batch of duplicates writes nothing.
            let written = if !plan.held.is_empty() || !plan.invalid.is_empty() {
                self.commit_with_rows(log, &mut plan, appends).await
            } else if appends.is_empty() {
                Ok(Written::nothing())
            } else {
                Self::commit_events(&self.index, log, appends).await
            };
            // Durable once committed: the chunk bytes were fdatasync'd.
            let written = match written {
                Ok(written) => written,
                Err(e) => {
                    // Whether SQLite kept any of it is not known for sure: read seqs again.
                    log.known.forget_seqs();
                    return Err(e);
                }
            };
            let write_us = timing::lap(&mut clock);
            written.remember(&mut log.dedupe, &mut log.known)?;
            let outcomes = plan.slots.into_iter().map(|s| written.outcome(s)).collect();
            tracing::debug!(
                target: timing::TARGET,
                lock_us,
                plan_us,
                write_us,
                remember_us = timing::lap(&mut clock),
                "log"
            );
            outcomes
        })
    }

    fn events_after(
        &self,
        workspace_id: Uuid,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<(Vec<EventRecord>, i64)>> {
        Box::pin(async move {
            // A device woken by a commit must find its events: wait for their rows.
            self.index.settle_workspace(workspace_id).await;
            // Both reads in one transaction so the page and pruned_through agree.
            let mut tx = self.reader.begin().await?;
            let pruned: i64 =
                sqlx::query_scalar("SELECT pruned_through FROM workspaces WHERE id = ?")
                    .bind(workspace_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .unwrap_or(0);
            // A chunk straddling `pruned_through` still holds pruned events: never serve them.
            let from = after.max(pruned);
            let to = from.saturating_add(i64::from(limit));
            let extents = Self::chunks_between(&mut tx, workspace_id, from, to).await?;
            tx.commit().await?;
            let mut events = read_chunks(self.events_dir.clone(), workspace_id, extents).await?;
            events.retain(|e| e.seq > from && e.seq <= to);
            Ok((events, pruned))
        })
    }

    fn ack(
        &self,
        workspace_id: Uuid,
        session_id: Uuid,
        seq: i64,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<i64>> {
        Box::pin(async move {
            // The end of the log as SQLite knows it, once the committed appends are indexed.
            self.index.settle_workspace(workspace_id).await;
            let mut tx = self.begin().await?;
            // Never past the end of the log: a device cannot ack what does not exist yet.
            let last: i64 = sqlx::query_scalar("SELECT next_seq - 1 FROM workspaces WHERE id = ?")
                .bind(workspace_id.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            let seq = seq.clamp(0, last);
            let acked: i64 = sqlx::query_scalar(
                "INSERT INTO device_cursors (session_id, workspace_id, acked_seq, updated_at)
                 VALUES (?, ?, ?, ?)
                 ON CONFLICT (session_id) DO UPDATE SET
                   acked_seq = max(acked_seq, excluded.acked_seq), updated_at = excluded.updated_at
                 RETURNING acked_seq",
            )
            .bind(session_id.to_string())
            .bind(workspace_id.to_string())
            .bind(seq)
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(acked)
        })
    }

    fn prune(&self, policy: PrunePolicy) -> BoxFuture<'_, StoreResult<PruneReport>> {
        Box::pin(async move {
            let cutoff = ms(policy.now - policy.retention);
            let dedupe_cutoff = ms(policy.now - policy.retention.max(MIN_DEDUPE_MEMORY));
            let mut log = self.log.lock().await;
            // Chunks are pruned and segments freed by what SQLite knows: all of it.
            self.index.flush().await?;
            let mut tx = self.begin().await?;
            // Per workspace, the highest seq every live device has acked. A session counts as
            // having acked at least its entitled_after (it is owed nothing at or below it), so
            // a device that never acked holds back only events appended since it was created;
            // one created after a prune does not pin the log at 0.
            let acked = sqlx::query(
                "SELECT s.workspace_id AS ws,
                        MIN(max(COALESCE(c.acked_seq, 0), s.entitled_after)) AS upto
                 FROM device_sessions s JOIN users u ON u.id = s.user_id
                 LEFT JOIN device_cursors c ON c.session_id = s.id
                 WHERE s.revoked_at IS NULL AND u.removed_at IS NULL GROUP BY s.workspace_id",
            )
            .fetch_all(&mut *tx)
            .await?;
            // Past retention: whole chunks whose newest event is older than the cutoff (a
            // chunk spans one commit, so at most milliseconds of events wait for the next run).
            let expired = sqlx::query(
                "SELECT workspace_id AS ws, MAX(last_seq) AS upto FROM event_chunks
                 WHERE max_created_at < ? GROUP BY workspace_id",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let mut upto: BTreeMap<String, i64> = BTreeMap::new();
            for row in acked.iter().chain(&expired) {
                let seq: i64 = row.try_get("upto")?;
                let slot = upto.entry(row.try_get("ws")?).or_insert(seq);
                *slot = (*slot).max(seq);
            }
            let mut removed = 0;
            for (ws, upto) in &upto {
                removed += prune_through(&mut tx, ws, *upto).await?;
            }
            sqlx::query("DELETE FROM delivery_runs WHERE seen_at < ?")
                .bind(dedupe_cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM held_events WHERE received_at < ?")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM invalid_bodies WHERE received_at < ?")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM deleted_sessions WHERE deleted_at < ?")
                .bind(ms(policy.now - time::Duration::days(DELETED_SESSIONS_DAYS)))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            log.dedupe.forget_before(dedupe_cutoff);
            self.free_segments(&log).await?;
            Ok(PruneReport {
                events_removed: removed,
            })
        })
    }

    fn create_invitation(&self, new: NewInvitation) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO invitations (id, workspace_id, email, role, accept_hash, wrapped_key,
                   invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(new.id.to_string())
            .bind(new.workspace_id.to_string())
            .bind(&new.email)
            .bind(new.role.as_str())
            .bind(&new.accept_hash[..])
            .bind(&new.wrapped_key)
            .bind(new.invited_by.to_string())
            .bind(ms(new.created_at))
            .bind(ms(new.expires_at))
            .execute(&self.writer)
            .await?;
            Ok(())
        })
    }

    fn list_invitations(
        &self,
        workspace_id: Uuid,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Vec<InvitationRecord>>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, email, role, invited_by, created_at, expires_at FROM invitations
                 WHERE workspace_id = ? AND accepted_at IS NULL AND revoked_at IS NULL
                   AND expires_at > ? ORDER BY created_at, id",
            )
            .bind(workspace_id.to_string())
            .bind(ms(now))
            .fetch_all(&self.reader)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(InvitationRecord {
                        id: get_uuid(row, "id")?,
                        email: row.try_get("email")?,
                        role: get_role(row, "role")?,
                        invited_by: get_uuid(row, "invited_by")?,
                        created_at: from_ms(row.try_get("created_at")?),
                        expires_at: from_ms(row.try_get("expires_at")?),
                    })
                })
                .collect()
        })
    }

    fn revoke_invitation(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE invitations SET revoked_at = ? WHERE id = ? AND workspace_id = ?
                   AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(ms(now))
            .bind(id.to_string())
            .bind(workspace_id.to_string())
            .execute(&self.writer)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn accept_invitation(
        &self,
        id: Uuid,
        accept_hash: [u8; 32],
        user: NewUser,
        session: NewSession,
    ) -> BoxFuture<'_, StoreResult<Accepted>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let row = sqlx::query(
                "SELECT workspace_id, email, role, accept_hash, wrapped_key FROM invitations
                 WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
            )
            .bind(id.to_string())
            .bind(ms(session.now))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::InvitationInvalid)?;
            let stored: Vec<u8> = row.try_get("accept_hash")?;
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&stored[..], &accept_hash[..])) {
                return Err(StoreError::InvitationInvalid);
            }
            let workspace_id = get_uuid(&row, "workspace_id")?;
            // The invitation decides email, role and workspace, not the request.
            let user = NewUser {
                email: row.try_get("email")?,
                role: get_role(&row, "role")?,
                ..user
            };
            let inserted = sqlx::query(
                "INSERT INTO users (id, workspace_id, email, name, password_hash, role, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(user.id.to_string())
            .bind(workspace_id.to_string())
            .bind(&user.email)
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(user.role.as_str())
            .bind(ms(session.now))
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => return Err(StoreError::EmailTaken),
                other => {
                    other?;
                }
            }
            let session = NewSession {
                user_id: user.id,
                workspace_id,
                ..session
            };
            insert_session(&mut tx, &session).await?;
            sqlx::query("UPDATE invitations SET accepted_at = ? WHERE id = ?")
                .bind(ms(session.now))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            let workspace =
                sqlx::query("SELECT id, company, public_key FROM workspaces WHERE id = ?")
                    .bind(workspace_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
            let workspace = workspace_from_row(&workspace)?;
            let wrapped_key: Vec<u8> = row.try_get("wrapped_key")?;
            tx.commit().await?;
            Ok(Accepted {
                user: UserRecord {
                    id: user.id,
                    workspace_id,
                    email: user.email,
                    name: user.name,
                    password_hash: user.password_hash,
                    role: user.role,
                },
                workspace,
                wrapped_key,
            })
        })
    }

    fn delete_workspace(&self, workspace_id: Uuid) -> BoxFuture<'_, StoreResult<bool>> {
        // On a task of its own, as claims are: it forgets the workspace's seq and zeroes its
        // bytes under the log lock, which must not stop half-way.
        let this = self.clone();
        Box::pin(async move {
            tokio::spawn(async move { this.delete_workspace_to_end(workspace_id).await })
                .await
                .map_err(|e| StoreError::Segment(std::io::Error::other(e)))?
        })
    }

    fn record_deletion<'a>(
        &'a self,
        code: &'a str,
        user_hash: [u8; 32],
        now: OffsetDateTime,
        detail: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO data_deletions
                   (confirmation_code, user_hash, requested_at, completed_at, status, detail)
                 VALUES (?, ?, ?, ?, 'completed', ?)",
            )
            .bind(code)
            .bind(&user_hash[..])
            .bind(ms(now))
            .bind(ms(now))
            .bind(detail)
            .execute(&self.writer)
            .await?;
            Ok(())
        })
    }

    fn deletion<'a>(&'a self, code: &'a str) -> BoxFuture<'a, StoreResult<Option<DeletionRecord>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT status, detail, requested_at, completed_at FROM data_deletions
                 WHERE confirmation_code = ?",
            )
            .bind(code)
            .fetch_optional(&self.reader)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let completed: Option<i64> = row.try_get("completed_at")?;
            Ok(Some(DeletionRecord {
                status: row.try_get("status")?,
                detail: row.try_get("detail")?,
                requested_at: from_ms(row.try_get("requested_at")?),
                completed_at: completed.map(from_ms),
            }))
        })
    }

    fn create_onboarding(
        &self,
        id_hash: [u8; 32],
        workspace_id: Uuid,
        created_by: Uuid,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO onboarding_sessions
                   (id_hash, workspace_id, created_by, created_at, expires_at, status, updated_at)
                 VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            )
            .bind(&id_hash[..])
            .bind(workspace_id.to_string())
            .bind(created_by.to_string())
            .bind(ms(now))
            .bind(ms(expires_at))
            .bind(ms(now))
            .execute(&self.writer)
            .await?;
            Ok(())
        })
    }

    fn onboarding(
        &self,
        id_hash: [u8; 32],
    ) -> BoxFuture<'_, StoreResult<Option<OnboardingRecord>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT workspace_id, status, expires_at, updated_at, result FROM onboarding_sessions
                 WHERE id_hash = ?",
            )
            .bind(&id_hash[..])
            .fetch_optional(&self.reader)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(OnboardingRecord {
                workspace_id: parse_uuid(&row.try_get::<String, _>("workspace_id")?)?,
                status: row.try_get("status")?,
                expires_at: from_ms(row.try_get("expires_at")?),
                updated_at: from_ms(row.try_get("updated_at")?),
                result: row.try_get("result")?,
            }))
        })
    }

    fn begin_onboarding(
        &self,
        id_hash: [u8; 32],
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Option<Uuid>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "UPDATE onboarding_sessions SET status = 'in_progress', updated_at = ?
                 WHERE id_hash = ? AND status = 'pending' AND expires_at > ?
                 RETURNING workspace_id",
            )
            .bind(ms(now))
            .bind(&id_hash[..])
            .bind(ms(now))
            .fetch_optional(&self.writer)
            .await?;
            match row {
                Some(row) => Ok(Some(parse_uuid(
                    &row.try_get::<String, _>("workspace_id")?,
                )?)),
                None => Ok(None),
            }
        })
    }

    fn finish_onboarding<'a>(
        &'a self,
        id_hash: [u8; 32],
        status: &'a str,
        result_json: &'a str,
        token: Option<EncryptedBusinessToken>,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let row = sqlx::query(
                "UPDATE onboarding_sessions SET status = ?, result = ?, updated_at = ?
                 WHERE id_hash = ? RETURNING workspace_id",
            )
            .bind(status)
            .bind(result_json)
            .bind(ms(now))
            .bind(&id_hash[..])
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let workspace: String = row.try_get("workspace_id")?;
            if let Some(token) = token {
                // The onboarding claimed the WABA before it finished.
                keep_business_token(&mut tx, &workspace, &token, now).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn put_business_token(
        &self,
        workspace: Uuid,
        token: EncryptedBusinessToken,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut conn = self.writer.acquire().await?;
            keep_business_token(&mut conn, &workspace.to_string(), &token, now).await
        })
    }

    fn business_token<'a>(
        &'a self,
        waba_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<StoredBusinessToken>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT workspace_id, encrypted FROM business_tokens WHERE waba_id = ?",
            )
            .bind(waba_id)
            .fetch_optional(&self.reader)
            .await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(StoredBusinessToken {
                workspace_id: parse_uuid(&row.try_get::<String, _>("workspace_id")?)?,
                encrypted: row.try_get("encrypted")?,
            }))
        })
    }

    fn enqueue_media(
        &self,
        jobs: Vec<NewMediaJob>,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            for j in &jobs {
                insert_media_job(&mut tx, j, now).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn due_media(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<MediaJob>>> {
        Box::pin(async move {
            // The worker is woken by the commit that queued a fetch: wait for its row.
            self.index.settle_media().await;
            let rows = sqlx::query(
                "SELECT workspace_id, media_id, waba_id, phone_number_id, attempts FROM media
                 WHERE status = 'pending' AND next_attempt_at <= ?
                 ORDER BY next_attempt_at LIMIT ?",
            )
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.writer)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(MediaJob {
                        workspace_id: get_uuid(row, "workspace_id")?,
                        media_id: row.try_get("media_id")?,
                        waba_id: row.try_get("waba_id")?,
                        phone_number_id: row.try_get("phone_number_id")?,
                        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
                    })
                })
                .collect()
        })
    }

    fn next_media_due(&self) -> BoxFuture<'_, StoreResult<Option<OffsetDateTime>>> {
        Box::pin(async move {
            self.index.settle_media().await;
            let next: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM media WHERE status = 'pending'",
            )
            .fetch_one(&self.writer)
            .await?;
            Ok(next.map(from_ms))
        })
    }

    fn media_stored<'a>(
        &'a self,
        workspace_id: Uuid,
        media_id: &'a str,
        stored: StoredMedia,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE media SET status = 'stored', attempts = attempts + 1, last_error = NULL,
                   mime_type = ?, size = ?, sha256 = ?, fetched_at = ?
                 WHERE workspace_id = ? AND media_id = ?",
            )
            .bind(&stored.mime_type)
            .bind(stored.size)
            .bind(&stored.sha256)
            .bind(ms(stored.fetched_at))
            .bind(workspace_id.to_string())
            .bind(media_id)
            .execute(&self.writer)
            .await?;
            Ok(())
        })
    }

    fn media_attempt_failed<'a>(
        &'a self,
        workspace_id: Uuid,
        media_id: &'a str,
        error: &'a str,
        next: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let status = if next.is_some() { "pending" } else { "failed" };
            sqlx::query(
                "UPDATE media SET status = ?, attempts = attempts + 1, last_error = ?,
                   next_attempt_at = COALESCE(?, next_attempt_at)
                 WHERE workspace_id = ? AND media_id = ?",
            )
            .bind(status)
            .bind(error)
            .bind(next.map(ms))
            .bind(workspace_id.to_string())
            .bind(media_id)
            .execute(&self.writer)
            .await?;
            Ok(())
        })
    }

    fn media<'a>(
        &'a self,
        workspace_id: Uuid,
        media_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<MediaRecord>>> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT status, attempts, last_error, mime_type, size, sha256, fetched_at
                 FROM media WHERE workspace_id = ? AND media_id = ?",
            )
            .bind(workspace_id.to_string())
            .bind(media_id)
            .fetch_optional(&self.reader)
            .await?;
            row.map(|row| {
                Ok(MediaRecord {
                    status: row.try_get("status")?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
                    last_error: row.try_get("last_error")?,
                    mime_type: row.try_get("mime_type")?,
                    size: row.try_get("size")?,
                    sha256: row.try_get("sha256")?,
                    fetched_at: row.try_get::<Option<i64>, _>("fetched_at")?.map(from_ms),
                })
            })
            .transpose()
        })
    }

    fn prune_media(
        &self,
        before: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Vec<(Uuid, String)>>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "DELETE FROM media WHERE created_at < ? RETURNING workspace_id, media_id",
            )
            .bind(ms(before))
            .fetch_all(&self.writer)
            .await?;
            rows.iter()
                .map(|row| Ok((get_uuid(row, "workspace_id")?, row.try_get("media_id")?)))
                .collect()
        })
    }

    fn invalid_bodies(&self) -> BoxFuture<'_, StoreResult<Vec<InvalidBody>>> {
        Box::pin(async move {
            let rows =
                sqlx::query("SELECT id, received_at, encrypted FROM invalid_bodies ORDER BY id")
                    .fetch_all(&self.reader)
                    .await?;
            rows.iter()
                .map(|r| {
                    Ok(InvalidBody {
                        id: r.try_get("id")?,
                        received_at: from_ms(r.try_get("received_at")?),
                        encrypted: r.try_get("encrypted")?,
                    })
                })
                .collect()
        })
    }

    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&self.reader).await?;
            self.index.check_not_stalled()
        })
    }

    fn counts(&self) -> BoxFuture<'_, StoreResult<(i64, i64, i64)>> {
        Box::pin(async move {
            self.index.settle().await;
            // Seqs are contiguous within a chunk; those at or below pruned_through are gone.
            let row = sqlx::query(
                "SELECT (SELECT COALESCE(SUM(c.last_seq - max(c.first_seq, w.pruned_through + 1) + 1), 0)
                           FROM event_chunks c JOIN workspaces w ON w.id = c.workspace_id
                          WHERE c.last_seq > w.pruned_through) AS e,
                        (SELECT COUNT(*) FROM held_events) AS h,
                        (SELECT COUNT(*) FROM invalid_bodies) AS i",
            )
            .fetch_one(&self.reader)
            .await?;
            Ok((row.try_get("e")?, row.try_get("h")?, row.try_get("i")?))
        })
    }
}

/// Raises a workspace's `pruned_through` to `upto` (never past its last event, never down)
/// and removes the chunks wholly at or below it; returns how many events that pruned.
async fn prune_through(
    tx: &mut Transaction<'static, Sqlite>,
    ws: &str,
    upto: i64,
) -> StoreResult<u64> {
    let row =
        sqlx::query("SELECT pruned_through, next_seq - 1 AS last FROM workspaces WHERE id = ?")
            .bind(ws)
            .fetch_optional(&mut **tx)
            .await?;
    let Some(row) = row else { return Ok(0) };
    let (before, last): (i64, i64) = (row.try_get("pruned_through")?, row.try_get("last")?);
    let upto = upto.min(last);
    if upto <= before {
        return Ok(0);
    }
    sqlx::query("UPDATE workspaces SET pruned_through = ? WHERE id = ?")
        .bind(upto)
        .bind(ws)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM event_chunks WHERE workspace_id = ? AND last_seq <= ?")
        .bind(ws)
        .bind(upto)
        .execute(&mut **tx)
        .await?;
    // Seqs have no gaps above pruned_through, so this many events were there.
    Ok(u64::try_from(upto - before).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewUser, WriteOp};

    async fn store_with_workspace() -> (
        SqliteStore,
        tempfile::TempDir,
        Uuid,
        WorkspaceSecretKey,
        WorkspaceSecretKey,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let held = WorkspaceSecretKey::generate();
        let store = SqliteStore::open(dir.path(), held.clone()).await.unwrap();
        let ws_key = WorkspaceSecretKey::generate();
        let ws = new_workspace(&store, &ws_key, "o@example.com").await;
        (store, dir, ws, ws_key, held)
    }

    /// Creates a workspace (with its owner and a session) whose log is sealed to `key`.
    async fn new_workspace(store: &SqliteStore, key: &WorkspaceSecretKey, email: &str) -> Uuid {
        let (ws, user) = (Uuid::new_v4(), Uuid::new_v4());
        store
            .create_workspace(NewWorkspace {
                workspace_id: ws,
                company: "C".into(),
                public_key: key.public_key(),
                owner: NewUser {
                    id: user,
                    email: email.into(),
                    name: "O".into(),
                    password_hash: "x".into(),
                    role: Role::Owner,
                },
                session: NewSession {
                    id: Uuid::new_v4(),
                    user_id: user,
                    workspace_id: ws,
                    // Unique per session, as the column requires.
                    token_hash: <sha2::Sha256 as sha2::Digest>::digest(email).into(),
                    device_name: "d".into(),
                    now: OffsetDateTime::now_utc(),
                },
            })
            .await
            .unwrap();
        ws
    }

    #[tokio::test]
    async fn the_media_queue_retries_stores_prunes_and_goes_with_the_workspace() {
        let (store, _dir, ws, _, _) = store_with_workspace().await;
        let now = OffsetDateTime::now_utc();
        let job = |id: &str| NewMediaJob {
            workspace_id: ws,
            media_id: id.into(),
            waba_id: "W".into(),
            phone_number_id: "P".into(),
        };
        store
            .enqueue_media(vec![job("a"), job("b")], now)
            .await
            .unwrap();
        // Queued again (a replay): left as it is.
        store.enqueue_media(vec![job("a")], now).await.unwrap();
        assert_eq!(store.due_media(now, 10).await.unwrap().len(), 2);

        let later = now + time::Duration::minutes(5);
        store
            .media_attempt_failed(ws, "a", "boom", Some(later))
            .await
            .unwrap();
        let due = store.due_media(now, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].media_id, "b");
        assert_eq!(store.next_media_due().await.unwrap().map(ms), Some(ms(now)));
        let again = store.due_media(later, 10).await.unwrap();
        assert_eq!(again.len(), 2);
        assert_eq!(
            again.iter().find(|j| j.media_id == "a").unwrap().attempts,
            1
        );

        store
            .media_stored(
                ws,
                "b",
                StoredMedia {
                    mime_type: "image/png".into(),
                    size: 3,
                    sha256: "ab".into(),
                    fetched_at: now,
                },
            )
            .await
            .unwrap();
        store
            .media_attempt_failed(ws, "a", "gone", None)
            .await
            .unwrap();
        assert!(store.due_media(later, 10).await.unwrap().is_empty());
        assert_eq!(store.next_media_due().await.unwrap(), None);
        let a = store.media(ws, "a").await.unwrap().unwrap();
        assert_eq!((a.status.as_str(), a.attempts), ("failed", 2));
        assert_eq!(a.last_error.as_deref(), Some("gone"));
        let b = store.media(ws, "b").await.unwrap().unwrap();
        assert_eq!(b.status, "stored");
        assert_eq!(b.size, Some(3));
        assert!(store.media(Uuid::new_v4(), "b").await.unwrap().is_none());

        // Retention: nothing younger than the cutoff goes; older rows are returned.
        assert!(store.prune_media(now).await.unwrap().is_empty());
        let mut gone = store
            .prune_media(now + time::Duration::seconds(1))
            .await
            .unwrap();
        gone.sort();
        assert_eq!(gone, vec![(ws, "a".to_owned()), (ws, "b".to_owned())]);

        store.enqueue_media(vec![job("c")], now).await.unwrap();
        assert!(store.delete_workspace(ws).await.unwrap());
        assert!(store.media(ws, "c").await.unwrap().is_none());
    }

    fn entry(waba: &str, sealed: Vec<u8>, sealed_for: Option<Uuid>, key: u8) -> WriteOp {
        WriteOp::WebhookEntry {
            waba_id: waba.into(),
            dedupe_key: [key; 32],
            sealed,
            sealed_for,
            received_at: OffsetDateTime::now_utc(),
            media: Vec::new(),
        }
    }

    /// The ingest bench reads where a commit's time went from these events (`timing`).
    #[tokio::test]
    async fn a_commit_of_events_reports_its_phase_timings() {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::Layer;
        let (store, _dir, ws, ws_key, _) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let captured = testkit::CapturedLog::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_filter(
                    tracing_subscriber::filter::Targets::new()
                        .with_target(timing::TARGET, tracing::Level::DEBUG),
                ),
        );
        let _guard = tracing::subscriber::set_default(subscriber);
        let sealed = protocol::seal(&ws_key.public_key(), b"{\"id\":\"1\"}").unwrap();
        store
            .commit_batch(&[entry("1", sealed, Some(ws), 1)])
            .await
            .unwrap();
        // The index writes the rows behind the commit (on this thread: a current-thread
        // runtime, so its timings reach this thread's subscriber too).
        store.counts().await.unwrap();
        let text = captured.text();
        for field in [
            "encode_us=",
            "rows_us=",
            "pwrite_us=",
            "fdatasync_us=",
            "commit_us=",
            "lock_us=",
            "write_us=",
        ] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
        store.close().await;
    }

    /// The (seq, id) of every event a reader of `ws` gets.
    async fn seqs_and_ids(store: &SqliteStore, ws: Uuid) -> Vec<(i64, Uuid)> {
        let (events, _) = store.events_after(ws, 0, 10).await.unwrap();
        events.iter().map(|e| (e.seq, e.id)).collect()
    }

    /// A disk-full error makes SQLite roll the index transaction back by itself; a trigger
    /// raising ROLLBACK does the same without filling a disk. The commit was durable with its
    /// segment append: nothing is lost, the index retries until its rows go in, and readers
    /// then see the events with the seqs and ids their commits answered. Stalled too long,
    /// it refuses new appends (bounded queue) until it catches up.
    #[tokio::test]
    async fn an_index_sqlite_rolled_back_itself_loses_nothing_and_catches_up() {
        let (store, dir, ws, ws_key, held) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        sqlx::query(
            "CREATE TRIGGER full_disk BEFORE INSERT ON event_chunks
             BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END",
        )
        .execute(&store.writer)
        .await
        .unwrap();
        let sealed = || protocol::seal(&ws_key.public_key(), b"{\"id\":\"1\"}").unwrap();
        let mut answered = Vec::new();
        for key in [1, 2] {
            let out = store
                .commit_batch(&[entry("1", sealed(), Some(ws), key)])
                .await
                .unwrap();
            let WriteOutcome::Appended { seq, id, .. } = out[0] else {
                panic!("{out:?}")
            };
            answered.push((seq, id));
        }
        assert_eq!(answered.iter().map(|a| a.0).collect::<Vec<_>>(), [1, 2]);
        // Not indexed yet: a reader gets what is (nothing), after its bounded wait.
        let (events, _) = store.events_after(ws, 0, 10).await.unwrap();
        assert!(events.is_empty(), "{events:?}");
        // Stalled past its limit (the reader's wait above took 2 s), the index refuses new
        // appends instead of queueing without end, and the relay says it is not ready.
        store.index.set_stall_limit(Duration::from_millis(500));
        // Each refusal at once, the second too: not after a 10 s flush under the log lock.
        for _ in 0..2 {
            let asked = std::time::Instant::now();
            let refused = store
                .commit_batch(&[entry("1", sealed(), Some(ws), 3)])
                .await;
            assert!(
                matches!(refused, Err(StoreError::IndexBehind)),
                "{refused:?}"
            );
            assert!(
                asked.elapsed() < Duration::from_secs(2),
                "{:?}",
                asked.elapsed()
            );
        }
        assert!(matches!(store.ping().await, Err(StoreError::IndexBehind)));
        // The disk has room again: the retried index goes in.
        sqlx::query("DROP TRIGGER full_disk")
            .execute(&store.writer)
            .await
            .unwrap();
        assert_eq!(seqs_and_ids(&store, ws).await, answered);
        // Caught up: ready again, and appends are taken (the refused one never was).
        store.ping().await.unwrap();
        let out = store
            .commit_batch(&[entry("1", sealed(), Some(ws), 3)])
            .await
            .unwrap();
        let WriteOutcome::Appended { seq, id, .. } = out[0] else {
            panic!("{out:?}")
        };
        answered.push((seq, id));
        assert_eq!(seqs_and_ids(&store, ws).await, answered);
        assert_eq!(seq, 3);
        // Were the index lost again (a power cut before SQLite's WAL reached the disk), the
        // restart redoes it from the segment, with the same seqs and ids.
        for sql in [
            "DELETE FROM event_chunks",
            "DELETE FROM delivery_runs",
            "UPDATE workspaces SET next_seq = 1",
        ] {
            sqlx::query(sql).execute(&store.writer).await.unwrap();
        }
        store.close().await;
        drop(store);
        let store = SqliteStore::open(dir.path(), held).await.unwrap();
        assert_eq!(seqs_and_ids(&store, ws).await, answered);
        store.close().await;
    }

    #[tokio::test]
    async fn a_claim_racing_a_delivery_is_resolved_inside_the_commit() {
        let (store, _dir, ws, ws_key, held) = store_with_workspace().await;
        // Routed while unowned (sealed to the relay's key), committed after the claim.
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let sealed = protocol::seal(&held.public_key(), b"{\"id\":\"1\"}").unwrap();
        let out = store
            .commit_batch(&[entry("1", sealed, None, 1)])
            .await
            .unwrap();
        assert!(matches!(out[0], WriteOutcome::Appended { seq: 1, .. }));
        let (events, _) = store.events_after(ws, 0, 10).await.unwrap();
        // Re-sealed for the workspace: its key opens it, the relay's no longer does.
        assert_eq!(
            protocol::open(&ws_key, &events[0].sealed).unwrap(),
            b"{\"id\":\"1\"}"
        );
        assert!(protocol::open(&held, &events[0].sealed).is_err());

        // Sealed for a workspace that does not own the WABA: refused, nothing stored.
        let sealed = protocol::seal(&ws_key.public_key(), b"x").unwrap();
        let out = store
            .commit_batch(&[entry("2", sealed, Some(ws), 2)])
            .await
            .unwrap();
        assert_eq!(out, vec![WriteOutcome::Stale]);
        assert_eq!(store.counts().await.unwrap(), (1, 0, 0));
        store.close().await;
    }

    /// Readers woken by a commit wait for its index rows only so long (`index`): each index
    /// transaction says which workspaces got events and whether media fetches were queued,
    /// so the relay can wake them again.
    #[tokio::test]
    async fn each_index_transaction_tells_which_workspaces_got_events_and_media() {
        let (store, _dir, ws, ws_key, _held) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
        store.on_indexed(move |workspaces, media| {
            let _ = told.send((workspaces.to_vec(), media));
        });
        let seal = || protocol::seal(&ws_key.public_key(), b"e").unwrap();
        let mut op = entry("1", seal(), Some(ws), 1);
        if let WriteOp::WebhookEntry { media, .. } = &mut op {
            media.push(crate::store::MediaRef {
                media_id: "M1".into(),
                waba_id: "1".into(),
                phone_number_id: "P".into(),
            });
        }
        store.commit_batch(&[op]).await.unwrap();
        let in_time = Duration::from_secs(5);
        let told = tokio::time::timeout(in_time, heard.recv()).await.unwrap();
        assert_eq!(told, Some((vec![ws], true)));
        store
            .commit_batch(&[entry("1", seal(), Some(ws), 2)])
            .await
            .unwrap();
        let told = tokio::time::timeout(in_time, heard.recv()).await.unwrap();
        assert_eq!(told, Some((vec![ws], false)));
        store.close().await;
    }

    /// The writer keeps each workspace's next seq in memory (`known`), and the index moves
    /// the database's only from the value it expects. Should the two ever disagree, the index
    /// stalls rather than record reused seqs (the events are safe in their segment), and goes
    /// on once they agree again.
    #[tokio::test]
    async fn an_index_that_disagrees_with_the_database_stalls_instead_of_recording_reused_seqs() {
        let (store, _dir, ws, ws_key, _held) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let seal = || protocol::seal(&ws_key.public_key(), b"e").unwrap();
        let out = store
            .commit_batch(&[entry("1", seal(), Some(ws), 1)])
            .await
            .unwrap();
        assert!(matches!(out[0], WriteOutcome::Appended { seq: 1, .. }));
        assert_eq!(store.events_after(ws, 0, 10).await.unwrap().0.len(), 1);
        // Behind the writer's back (nothing in the relay does this).
        sqlx::query("UPDATE workspaces SET next_seq = 5")
            .execute(&store.writer)
            .await
            .unwrap();
        let out = store
            .commit_batch(&[entry("1", seal(), Some(ws), 2)])
            .await
            .unwrap();
        assert!(
            matches!(out[0], WriteOutcome::Appended { seq: 2, .. }),
            "{out:?}"
        );
        let seqs = |events: Vec<EventRecord>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(store.events_after(ws, 0, 10).await.unwrap().0), [1]);
        sqlx::query("UPDATE workspaces SET next_seq = 2")
            .execute(&store.writer)
            .await
            .unwrap();
        assert_eq!(seqs(store.events_after(ws, 0, 10).await.unwrap().0), [1, 2]);
        store.close().await;
    }

    /// WABA owners are remembered by the writer: a deleted workspace's WABA is nobody's
    /// again, so its next delivery is held, not appended to the deleted log; a new claim
    /// routes the entries to the new owner.
    #[tokio::test]
    async fn a_deleted_workspaces_waba_is_held_again_and_routed_to_its_next_claim() {
        let (store, _dir, ws, ws_key, held) = store_with_workspace().await;
        let now = OffsetDateTime::now_utc();
        store.claim_waba(ws, "1", now).await.unwrap();
        let sealed = protocol::seal(&ws_key.public_key(), b"{\"id\":\"1\"}").unwrap();
        let out = store
            .commit_batch(&[entry("1", sealed, Some(ws), 1)])
            .await
            .unwrap();
        assert!(matches!(out[0], WriteOutcome::Appended { seq: 1, .. }));
        assert!(store.delete_workspace(ws).await.unwrap());

        let for_relay = || protocol::seal(&held.public_key(), b"{\"id\":\"1\"}").unwrap();
        let out = store
            .commit_batch(&[entry("1", for_relay(), None, 2)])
            .await
            .unwrap();
        assert_eq!(out, vec![WriteOutcome::Held]);

        let next = new_workspace(&store, &WorkspaceSecretKey::generate(), "d@example.com").await;
        assert_eq!(store.claim_waba(next, "1", now).await.unwrap(), 1);
        let out = store
            .commit_batch(&[entry("1", for_relay(), None, 3)])
            .await
            .unwrap();
        assert!(
            matches!(out[0], WriteOutcome::Appended { workspace_id, seq: 2, .. } if workspace_id == next),
            "{out:?}"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn one_batch_is_one_transaction_with_rising_seqs_and_dedupe() {
        let (store, _dir, ws, ws_key, _held) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let seal = || protocol::seal(&ws_key.public_key(), b"e").unwrap();
        let ops = vec![
            entry("1", seal(), Some(ws), 1),
            entry("1", seal(), Some(ws), 2),
            entry("1", seal(), Some(ws), 1), // same entry bytes again in the same batch
        ];
        let out = store.commit_batch(&ops).await.unwrap();
        let seqs: Vec<_> = out
            .iter()
            .map(|o| match o {
                WriteOutcome::Appended { seq, .. } => (true, *seq),
                WriteOutcome::Duplicate { seq, .. } => (false, *seq),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seqs, vec![(true, 1), (true, 2), (false, 1)]);
        store.close().await;
    }

    #[tokio::test]
    async fn a_run_of_entries_holds_dedupes_across_batches_and_queues_media_with_its_events() {
        let (store, _dir, ws, ws_key, held) = store_with_workspace().await;
        let now = OffsetDateTime::now_utc();
        store.claim_waba(ws, "1", now).await.unwrap();
        let seal = || protocol::seal(&ws_key.public_key(), b"e").unwrap();
        let media = |id: &str| {
            vec![crate::store::MediaRef {
                media_id: id.into(),
                waba_id: "1".into(),
                phone_number_id: "P".into(),
            }]
        };
        let with_media = |mut op: WriteOp, refs: Vec<crate::store::MediaRef>| {
            if let WriteOp::WebhookEntry { media, .. } = &mut op {
                *media = refs;
            }
            op
        };
        let first = store
            .commit_batch(&[with_media(entry("1", seal(), Some(ws), 1), media("M1"))])
            .await
            .unwrap();
        assert!(matches!(first[0], WriteOutcome::Appended { seq: 1, .. }));

        let held_seal = || protocol::seal(&held.public_key(), b"h").unwrap();
        let out = store
            .commit_batch(&[
                // Meta's retry of the first batch's entry: a duplicate, its media not again.
                with_media(entry("1", seal(), Some(ws), 1), media("M1")),
                entry("9", held_seal(), None, 7), // nobody owns WABA 9 yet: held
                with_media(entry("1", seal(), Some(ws), 3), media("M3")),
                entry("9", held_seal(), None, 7), // the same held entry twice in one run
                entry("2", seal(), Some(ws), 8),  // sealed for a workspace not owning it
            ])
            .await
            .unwrap();
        assert!(matches!(out[0], WriteOutcome::Duplicate { seq: 1, .. }));
        assert_eq!(out[1], WriteOutcome::Held);
        assert!(matches!(out[2], WriteOutcome::Appended { seq: 2, .. }));
        assert_eq!(out[3], WriteOutcome::HeldDuplicate);
        assert_eq!(out[4], WriteOutcome::Stale);
        assert_eq!(store.counts().await.unwrap(), (2, 1, 0));
        // Both fetches are due at once: read "now" after the commits, which a loaded machine may
        // have spread over more than a second.
        let due: Vec<String> = store
            .due_media(OffsetDateTime::now_utc() + time::Duration::seconds(1), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.media_id)
            .collect();
        assert_eq!(due, vec!["M1".to_owned(), "M3".to_owned()]);
        store.close().await;
    }

    fn segment_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir.join("events"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    /// What a commit acknowledged survives a restart: its events and its dedupe keys (the
    /// in-memory index is rebuilt from `delivery_runs`), and seqs go on without a gap.
    #[tokio::test]
    async fn events_and_dedupe_keys_survive_a_restart() {
        let (store, dir, ws, ws_key, held) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let seal = |text: &[u8]| protocol::seal(&ws_key.public_key(), text).unwrap();
        let first = store
            .commit_batch(&[
                entry("1", seal(b"a"), Some(ws), 1),
                entry("1", seal(b"b"), Some(ws), 2),
            ])
            .await
            .unwrap();
        store.close().await;
        drop(store);

        let store = SqliteStore::open(dir.path(), held).await.unwrap();
        let again = store
            .commit_batch(&[
                entry("1", seal(b"b"), Some(ws), 2),
                entry("1", seal(b"c"), Some(ws), 3),
            ])
            .await
            .unwrap();
        let WriteOutcome::Appended { id: b_id, .. } = first[1] else {
            panic!("{first:?}")
        };
        assert_eq!(
            again[0],
            WriteOutcome::Duplicate {
                workspace_id: ws,
                seq: 2,
                id: b_id
            }
        );
        assert!(matches!(again[1], WriteOutcome::Appended { seq: 3, .. }));
        let (events, _) = store.events_after(ws, 0, 10).await.unwrap();
        let opened: Vec<Vec<u8>> = events
            .iter()
            .map(|e| protocol::open(&ws_key, &e.sealed).unwrap())
            .collect();
        assert_eq!(opened, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(events[1].id, b_id);
        // A page stops at its limit, also inside a chunk.
        let (page, _) = store.events_after(ws, 1, 1).await.unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2]);
        // Two segment files: nothing is appended to a file written before the restart.
        assert_eq!(segment_files(dir.path()).len(), 2);
        store.close().await;
    }

    /// Pruning removes the events, keeps their dedupe keys for Meta's retry window, and frees
    /// segment files nothing references any more.
    #[tokio::test]
    async fn pruning_keeps_dedupe_keys_and_frees_unreferenced_segments() {
        let (store, dir, ws, ws_key, held) = store_with_workspace().await;
        let now = OffsetDateTime::now_utc();
        store.claim_waba(ws, "1", now).await.unwrap();
        let sealed = protocol::seal(&ws_key.public_key(), b"old").unwrap();
        store
            .commit_batch(&[entry("1", sealed.clone(), Some(ws), 1)])
            .await
            .unwrap();
        store.close().await;
        drop(store);
        let store = SqliteStore::open(dir.path(), held).await.unwrap();
        let prune = |days: i64| {
            store.prune(PrunePolicy {
                now: now + time::Duration::days(days),
                retention: time::Duration::days(1),
            })
        };
        assert_eq!(prune(2).await.unwrap().events_removed, 1);
        assert_eq!(store.counts().await.unwrap(), (0, 0, 0));
        assert!(
            segment_files(dir.path()).is_empty(),
            "the old segment is freed"
        );
        let (events, pruned) = store.events_after(ws, 0, 10).await.unwrap();
        assert!(events.is_empty());
        assert_eq!(pruned, 1);
        // Meta retries within 7 days: still a duplicate, though the event is gone.
        let out = store
            .commit_batch(&[entry("1", sealed.clone(), Some(ws), 1)])
            .await
            .unwrap();
        assert!(
            matches!(out[0], WriteOutcome::Duplicate { seq: 1, .. }),
            "{out:?}"
        );
        // Past the dedupe window the key is forgotten too (in memory and on disk).
        prune(9).await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delivery_runs")
            .fetch_one(&store.reader)
            .await
            .unwrap();
        assert_eq!(count, 0);
        assert_eq!(store.log.lock().await.dedupe.len(), 0);
        store.close().await;
    }

    /// A relay upgraded from the row-per-event schema finds its events and dedupe keys.
    #[tokio::test]
    async fn events_stored_before_segments_are_moved_on_open() {
        let (store, dir, ws, ws_key, held) = store_with_workspace().await;
        let sealed = protocol::seal(&ws_key.public_key(), b"legacy").unwrap();
        let (id, session) = (Uuid::now_v7(), Uuid::new_v4());
        let ws_text = ws.to_string();
        sqlx::query(
            "INSERT INTO events (workspace_id, seq, id, kind, sealed, created_at, origin_session,
               client_event_id) VALUES (?, 1, ?, 'device', ?, 1700000000000, ?, 'c-1')",
        )
        .bind(&ws_text)
        .bind(id.to_string())
        .bind(&sealed)
        .bind(session.to_string())
        .execute(&store.writer)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO delivery_keys (workspace_id, dedupe_key, seq, event_id, seen_at)
             VALUES (?, ?, 1, ?, ?)",
        )
        .bind(&ws_text)
        .bind(&[9u8; 32][..])
        .bind(id.to_string())
        .bind(ms(OffsetDateTime::now_utc()))
        .execute(&store.writer)
        .await
        .unwrap();
        sqlx::query("UPDATE workspaces SET next_seq = 2 WHERE id = ?")
            .bind(&ws_text)
            .execute(&store.writer)
            .await
            .unwrap();
        store.close().await;
        drop(store);

        let store = SqliteStore::open(dir.path(), held).await.unwrap();
        let (events, _) = store.events_after(ws, 0, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].seq, events[0].id), (1, id));
        assert_eq!(events[0].kind, EventKind::Device);
        assert_eq!(events[0].origin_session, Some(session));
        assert_eq!(events[0].client_event_id.as_deref(), Some("c-1"));
        assert_eq!(events[0].sealed, sealed);
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM delivery_keys)",
        )
        .fetch_one(&store.reader)
        .await
        .unwrap();
        assert_eq!(left, 0);
        let out = store
            .commit_batch(&[WriteOp::DeviceEvent {
                workspace_id: ws,
                session_id: session,
                kind: EventKind::Device,
                client_event_id: "c-1".into(),
                dedupe_key: [9; 32],
                sealed: sealed.clone(),
                created_at: OffsetDateTime::now_utc(),
            }])
            .await
            .unwrap();
        assert_eq!(
            out,
            vec![WriteOutcome::Duplicate {
                workspace_id: ws,
                seq: 1,
                id
            }]
        );
        store.close().await;
    }

    /// An event commit is fsync'd only through its segment chunk: if SQLite loses it (power
    /// cut), opening the store redoes it from the chunk with the same seqs, ids, dedupe keys
    /// and media fetches; a torn chunk after it (never acknowledged) is ignored.
    #[tokio::test]
    async fn event_commits_sqlite_lost_are_redone_from_their_segment() {
        let (store, dir, ws, ws_key, held) = store_with_workspace().await;
        store
            .claim_waba(ws, "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let mut op = entry(
            "1",
            protocol::seal(&ws_key.public_key(), b"lost").unwrap(),
            Some(ws),
            5,
        );
        if let WriteOp::WebhookEntry { media, .. } = &mut op {
            media.push(crate::store::MediaRef {
                media_id: "M9".into(),
                waba_id: "1".into(),
                phone_number_id: "P".into(),
            });
        }
        let out = store.commit_batch(&[op.clone()]).await.unwrap();
        let WriteOutcome::Appended { seq: 1, id, .. } = out[0] else {
            panic!("{out:?}")
        };
        // Indexed first, so that the index does not write in the middle of the loss below.
        store.counts().await.unwrap();
        // What SQLite would look like had the commit never reached its disk.
        for sql in [
            "DELETE FROM event_chunks",
            "DELETE FROM delivery_runs",
            "DELETE FROM media",
        ] {
            sqlx::query(sql).execute(&store.writer).await.unwrap();
        }
        sqlx::query("UPDATE workspaces SET next_seq = 1")
            .execute(&store.writer)
            .await
            .unwrap();
        store.close().await;
        drop(store);
        // A torn chunk after it: a later commit the crash interrupted before its fdatasync,
        // then the zeros of a spare segment's unwritten rest.
        let segment = segment_files(dir.path()).pop().unwrap();
        let mut bytes = std::fs::read(&segment).unwrap();
        let torn = bytes[..bytes.len() / 2].to_vec();
        bytes.extend_from_slice(&torn);
        bytes.resize(bytes.len() + 256 * 1024, 0);
        std::fs::write(&segment, bytes).unwrap();

        let store = SqliteStore::open(dir.path(), held).await.unwrap();
        let (events, _) = store.events_after(ws, 0, 10).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].seq, events[0].id), (1, id));
        assert_eq!(protocol::open(&ws_key, &events[0].sealed).unwrap(), b"lost");
        let again = store.commit_batch(&[op]).await.unwrap();
        assert!(
            matches!(again[0], WriteOutcome::Duplicate { seq: 1, .. }),
            "{again:?}"
        );
        let next = store
            .commit_batch(&[entry(
                "1",
                protocol::seal(&ws_key.public_key(), b"n").unwrap(),
                Some(ws),
                6,
            )])
            .await
            .unwrap();
        assert!(
            matches!(next[0], WriteOutcome::Appended { seq: 2, .. }),
            "{next:?}"
        );
        let due = store
            .due_media(OffsetDateTime::now_utc() + time::Duration::seconds(1), 10)
            .await
            .unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].media_id, "M9");
        store.close().await;
    }
}
