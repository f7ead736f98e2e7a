//! WAL checkpoints off the commit path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses `wal_autocheckpoint`
//! (1,000 pages by default): it copies the WAL back into the database file and syncs both,
//! and that commit waits for it — 50–60 ms in every few pages of a catch-up (BENCHMARKS.md
//! "Apply, round 3"). As the relay does, checkpoints run instead on a connection of their own,
//! in the background: a PASSIVE checkpoint never waits for the writer, nor the writer for it.
//!
//! Two bounds keep the WAL from growing without limit should that task fall behind or stop
//! (its runtime gone, a reader holding an old snapshot): the store's connections keep an
//! automatic checkpoint, at [`WAL_AUTOCHECKPOINT_PAGES`] instead of 1,000, so the writer
//! checkpoints itself past that size; and when a background checkpoint could not copy a WAL of
//! more than [`TRUNCATE_ABOVE_FRAMES`] frames (a reader kept it), the task truncates it to zero
//! bytes. A WAL copied whole is not truncated: the next commit starts it over from the
//! beginning, and `journal_size_limit` ([`WAL_SIZE_LIMIT_BYTES`]) has that commit give back the
//! file's space beyond the limit. TRUNCATE blocks the writer while it copies and syncs the
//! database file, so it is kept for the WAL that cannot be started over; before, any tick that
//! found more than 16 MB written since the last start (a fast catch-up) ran it.
//!
//! Erasure needs a checkpoint that really happened (no old page image of erased rows may stay
//! in the WAL): [`truncate_wal`] reads SQLite's result row and retries while it was busy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::SqlitePool;
use sqlx::SqliteConnection;
use tokio::sync::mpsc;

use super::StoreError;

/// The automatic checkpoint's threshold on every connection of the store, in pages (4 KB):
/// only reached when the background checkpoints fall behind (~32 MB of WAL).
pub(super) const WAL_AUTOCHECKPOINT_PAGES: u32 = 8_192;

/// A WAL with more frames than this that a background checkpoint could not copy whole is
/// truncated (~16 MB).
const TRUNCATE_ABOVE_FRAMES: i64 = 4_096;

/// `journal_size_limit` of the store's connections: the size the WAL file is cut back to when a
/// commit starts it over after a complete checkpoint (16 MB, the frames above).
pub(super) const WAL_SIZE_LIMIT_BYTES: i64 = TRUNCATE_ABOVE_FRAMES * 4_096;

/// How often the background task checkpoints while the WAL keeps growing.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// How often it looks again once a checkpoint found nothing new: an idle app should not wake
/// four times a second. Writes that grow the WAL fast (sync pages) wake it at once
/// ([`Checkpoints::soon`]); other writes are checkpointed within this.
const IDLE_CHECK_EVERY: Duration = Duration::from_secs(10);

/// How often, and how long apart, [`truncate_wal`] tries before it gives up (~5 s).
const TRUNCATE_TRIES: u32 = 100;
const TRUNCATE_RETRY_AFTER: Duration = Duration::from_millis(50);

/// The handle the store keeps on its background checkpoints: wakes an idle task
/// ([`Self::soon`]); the task ends when every handle is dropped or its pool is closed.
#[derive(Debug, Clone)]
pub(super) struct Checkpoints {
    pool: SqlitePool,
    wake: mpsc::Sender<()>,
}

impl Checkpoints {
    /// Starts the background checkpoints on `pool` (a pool of one connection of its own).
    /// A checkpoint that fails to write to the disk sets `disk_failed`.
    pub(super) fn spawn(pool: SqlitePool, disk_failed: Arc<AtomicBool>) -> Self {
        // One pending request is enough: a checkpoint asked for while one is pending would
        // find the same WAL.
        let (wake, asked) = mpsc::channel(1);
        tokio::spawn(run(pool.clone(), asked, disk_failed));
        Self { pool, wake }
    }

    /// Wakes the task if it is idle (ignored while it checkpoints every 250 ms anyway).
    pub(super) fn soon(&self) {
        // Full: one is pending already. Closed: the task ended with its pool.
        let _ = self.wake.try_send(());
    }

    /// Closes the checkpoints' connection (which ends the task).
    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

async fn run(pool: SqlitePool, mut asked: mpsc::Receiver<()>, disk_failed: Arc<AtomicBool>) {
    // While the WAL grows: a checkpoint every CHECKPOINT_EVERY, asks ignored (they would only
    // make checkpoints more frequent). Once one finds nothing new: idle until asked.
    let mut active = true;
    let mut last = None;
    loop {
        if active {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            // This checkpoint answers the asks made meanwhile.
            while asked.try_recv().is_ok() {}
        } else if let Ok(None) = tokio::time::timeout(IDLE_CHECK_EVERY, asked.recv()).await {
            break; // every handle dropped: the store is gone
        }
        if pool.is_closed() || asked.is_closed() {
            break;
        }
        match checkpoint_once(&pool).await {
            Ok(state) => {
                active = last != Some(state);
                last = Some(state);
            }
            Err(e) => {
                if pool.is_closed() {
                    break;
                }
                if is_disk_error(&e) {
                    // The kernel may have dropped what it could not write, and tells only
                    // once: `Store::sync_to_disk` must not report a later flush as success.
                    disk_failed.store(true, Ordering::Relaxed);
                    tracing::error!(error = %e, "store: a WAL checkpoint could not write to the disk");
                } else {
                    tracing::warn!(error = %e, "store: WAL checkpoint failed");
                }
            }
        }
    }
    pool.close().await;
}

/// SQLITE_IOERR_FSYNC (1034) and SQLITE_IOERR_DIR_FSYNC (1290): a flush failed, after which
/// the kernel may have dropped what it could not write. (A full disk or a failed `write` loses
/// nothing silently: the log keeps the frames and the next checkpoint tries again.)
fn is_disk_error(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|db| db.code()?.parse::<i32>().ok())
        .is_some_and(|code| matches!(code, 1034 | 1290))
}

/// One PASSIVE checkpoint, then a truncation if it left a large WAL uncopied. Returns the WAL's
/// frames and those copied back: the same two numbers twice in a row mean nothing was written.
async fn checkpoint_once(pool: &SqlitePool) -> Result<(i64, i64), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // (busy, frames in the WAL, frames copied back): busy only when another checkpoint ran.
    let (_, frames, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    if frames > TRUNCATE_ABOVE_FRAMES && copied < frames {
        // Readers kept the checkpoint from copying everything, so the next commit cannot
        // start the WAL over and it keeps growing; TRUNCATE waits (within the busy timeout)
        // for the readers, then gives the space back. Not done: the next tick tries again.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await?;
        tracing::debug!(frames, truncated = busy == 0, "store: large WAL");
    }
    Ok((frames, copied))
}

/// Checkpoints the whole WAL into the database file and truncates it to zero bytes, so that no
/// old page image (erased rows) stays in it. SQLite reports a checkpoint it could not finish
/// (another checkpoint, such as the background one, or a reader in the way) in its result row
/// rather than as an error: retried until it finished, for up to ~5 s, then
/// [`StoreError::WalBusy`].
pub(crate) async fn truncate_wal(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    for _ in 0..TRUNCATE_TRIES {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await?;
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(TRUNCATE_RETRY_AFTER).await;
    }
    Err(StoreError::WalBusy)
}
