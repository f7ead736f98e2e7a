//! The download queue: `media` rows, written by sync (in the page's transaction) and by the
//! fetch worker.

use protocol::media::{MediaFetchStatus, MediaStatus};
use sqlx::SqliteConnection;

use crate::store::{json_rows, now, StoreError};

/// How long a new row waits for the relay's `media_status` before the worker looks anyway (the
/// relay's own retries take about 15 minutes; this is the safety net if its event never comes).
pub const RELAY_WAIT_SECS: i64 = 20 * 60;

/// A media message seen in a page, to queue once its message row exists.
#[derive(Debug, Clone, Default)]
pub(crate) struct MediaInput {
    pub wamid: String,
    pub media_id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub kind: String,
    pub voice: bool,
    pub animated: bool,
}

/// Queues a `pending` row per media message (idempotent: one row per message, a redelivered
/// page queues nothing). Runs in the page's transaction, after its messages were inserted.
/// Returns how many rows were queued.
pub(crate) async fn queue_in(
    conn: &mut SqliteConnection,
    items: &[MediaInput],
) -> Result<usize, StoreError> {
    if items.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = items
        .iter()
        .map(|m| {
            (
                &m.wamid,
                &m.media_id,
                &m.mime_type,
                &m.sha256,
                &m.kind,
                m.voice,
                m.animated,
            )
        })
        .collect();
    let now = now();
    // One statement for the page (crate::store::bulk says why), in page order.
    let done = sqlx::query(
        "INSERT INTO media (message_id, media_meta_id, mime_type, expected_sha256, kind,
                            voice, animated, download_state, next_attempt_at, updated_at)
         SELECT m.id, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4,
                j.value ->> 5, j.value ->> 6, 'pending', ?2, ?3
         FROM json_each(?1) AS j JOIN messages m ON m.wamid = j.value ->> 0
         WHERE true ORDER BY j.key
         ON CONFLICT(message_id) DO NOTHING",
    )
    .bind(json_rows(&rows)?)
    .bind(now + RELAY_WAIT_SECS)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() as usize)
}

/// Queues the download of media another device of the workspace sent (its `message_sent`
/// event names Meta's id of the upload). The relay never holds outbound media, so the row is
/// marked as the relay having none: the worker fetches it from Meta at once, while the id
/// lives. Idempotent like [`queue_in`].
pub(crate) async fn queue_sent_in(
    conn: &mut SqliteConnection,
    wamid: &str,
    media_id: &str,
    kind: &str,
    voice: bool,
) -> Result<usize, StoreError> {
    let now = now();
    let done = sqlx::query(
        "INSERT INTO media (message_id, media_meta_id, kind, voice, relay_status,
                            download_state, next_attempt_at, updated_at)
         SELECT id, ?, ?, ?, 'failed', 'pending', 0, ? FROM messages WHERE wamid = ?
         ON CONFLICT(message_id) DO NOTHING",
    )
    .bind(media_id)
    .bind(kind)
    .bind(voice)
    .bind(now)
    .bind(wamid)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() as usize)
}

/// Applies the relay's `media_status` events of the workspace: `stored` → fetch from the relay
/// now; `failed` → fetch from Meta now (the worker decides whether the id still lives).
/// A row already downloaded is left alone. Returns the rows changed.
pub(crate) async fn apply_statuses_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    statuses: &[MediaStatus],
) -> Result<usize, StoreError> {
    let now = now();
    let mut changed = 0;
    for s in statuses {
        let status = match s.status {
            MediaFetchStatus::Stored => "stored",
            MediaFetchStatus::Failed => "failed",
        };
        let done = sqlx::query(
            "UPDATE media SET relay_status = ?, relay_error = ?, next_attempt_at = 0,
                 attempts = CASE WHEN download_state = 'failed' THEN 0 ELSE attempts END,
                 download_state = CASE WHEN download_state = 'failed' THEN 'pending'
                                       ELSE download_state END,
                 updated_at = ?
             WHERE media_meta_id = ? AND download_state != 'done'
               AND message_id IN (SELECT m.id FROM messages m
                   JOIN conversations c ON c.id = m.conversation_id WHERE c.workspace_id = ?)",
        )
        .bind(status)
        .bind(&s.error)
        .bind(now)
        .bind(&s.media_id)
        .bind(workspace_id)
        .execute(&mut *conn)
        .await?;
        changed += done.rows_affected() as usize;
    }
    Ok(changed)
}

/// A row the worker is due to fetch.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Job {
    pub id: i64,
    pub media_id: String,
    pub mime_type: Option<String>,
    pub expected_sha256: Option<String>,
    pub kind: Option<String>,
    pub animated: bool,
    pub relay_status: Option<String>,
    pub relay_error: Option<String>,
    pub attempts: i64,
    /// The message's time (Meta's media id lives about 7 days from it).
    pub ts: i64,
    pub phone_number_id: String,
}

/// The next due row of the workspace, claimed (`downloading`), or `None`.
pub(crate) async fn claim_next(
    conn: &mut SqliteConnection,
    workspace_id: &str,
) -> Result<Option<Job>, StoreError> {
    let job: Option<Job> = sqlx::query_as(
        "SELECT md.id, md.media_meta_id AS media_id, md.mime_type, md.expected_sha256, md.kind,
                md.animated, md.relay_status, md.relay_error, md.attempts, m.ts,
                c.phone_number_id
         FROM media md JOIN messages m ON m.id = md.message_id
             JOIN conversations c ON c.id = m.conversation_id
         WHERE md.download_state = 'pending' AND md.next_attempt_at <= ?
           AND md.media_meta_id IS NOT NULL AND c.workspace_id = ?
         ORDER BY md.next_attempt_at, md.id LIMIT 1",
    )
    .bind(now())
    .bind(workspace_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(job) = job else { return Ok(None) };
    let claimed = sqlx::query(
        "UPDATE media SET download_state = 'downloading', updated_at = ?
         WHERE id = ? AND download_state = 'pending'",
    )
    .bind(now())
    .bind(job.id)
    .execute(&mut *conn)
    .await?;
    Ok((claimed.rows_affected() == 1).then_some(job))
}

/// A media file on disk as a `done` row records it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StoredFile {
    pub path: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub mime_type: Option<String>,
}

/// The file of the first downloaded row naming `job`'s media id, if any.
pub(crate) async fn done_sibling(
    conn: &mut SqliteConnection,
    job: &Job,
) -> Result<Option<StoredFile>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT path, sha256, size_bytes, mime_type FROM media
         WHERE media_meta_id = ? AND id != ? AND download_state = 'done'
           AND path IS NOT NULL AND sha256 IS NOT NULL AND size_bytes IS NOT NULL
         ORDER BY id LIMIT 1",
    )
    .bind(&job.media_id)
    .bind(job.id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Whether row `id` is still claimed by the worker (not erased or expired meanwhile).
pub(crate) async fn still_downloading(
    conn: &mut SqliteConnection,
    id: i64,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT 1 FROM media WHERE id = ? AND download_state = 'downloading'",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// When the next row of the workspace is due (unix seconds), if any is pending.
pub(crate) async fn next_due_at(
    conn: &mut SqliteConnection,
    workspace_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT MIN(md.next_attempt_at) FROM media md JOIN messages m ON m.id = md.message_id
             JOIN conversations c ON c.id = m.conversation_id
         WHERE md.download_state = 'pending' AND c.workspace_id = ?",
    )
    .bind(workspace_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Rows left `downloading` by a crash are due again.
pub(crate) async fn recover(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE media SET download_state = 'pending', next_attempt_at = 0, updated_at = ?
         WHERE download_state = 'downloading'",
    )
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Whose file a row marked `done` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileOwner {
    /// The file the worker just wrote for this row.
    Own,
    /// Another downloaded row's file with the same media id. Checked in the same statement
    /// that a `done` row still names it: an erasure that removed that row meanwhile either
    /// committed first (then nothing is marked, and the row downloads its own copy) or sees
    /// this row naming the file and keeps it.
    Shared,
}

/// `file` is on disk (encrypted): the row is `done`. `false` when the row is gone or no
/// longer `downloading` (erased or expired meanwhile; the caller removes a file of its own),
/// or a shared file is no longer named by a downloaded row.
pub(crate) async fn mark_done(
    conn: &mut SqliteConnection,
    id: i64,
    file: &StoredFile,
    owner: FileOwner,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE media SET download_state = 'done', path = ?1, sha256 = ?2, size_bytes = ?3,
             mime_type = COALESCE(?4, mime_type), last_error = NULL, attempts = attempts + 1,
             updated_at = ?5
         WHERE id = ?6 AND download_state = 'downloading'
           AND (NOT ?7 OR EXISTS (SELECT 1 FROM media s WHERE s.path = ?1 AND s.id != ?6
                                     AND s.download_state = 'done'))",
    )
    .bind(&file.path)
    .bind(&file.sha256)
    .bind(file.size_bytes)
    .bind(file.mime_type.as_deref())
    .bind(now())
    .bind(id)
    .bind(owner == FileOwner::Shared)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A failed attempt: retried at `retry_at` (unix seconds) unless it was the last one.
pub(crate) async fn mark_retry(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    retry_at: i64,
    max_attempts: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE media SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
             download_state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END,
             updated_at = ?
         WHERE id = ? AND download_state = 'downloading'",
    )
    .bind(error)
    .bind(retry_at)
    .bind(max_attempts)
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Given up for good, with the reason shown to the user.
pub(crate) async fn mark_failed(
    conn: &mut SqliteConnection,
    id: i64,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE media SET download_state = 'failed', last_error = ?, attempts = attempts + 1,
             updated_at = ?
         WHERE id = ? AND download_state = 'downloading'",
    )
    .bind(reason)
    .bind(now())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
