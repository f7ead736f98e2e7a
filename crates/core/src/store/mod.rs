//! The local store: SQLite through sqlx, encrypted with SQLCipher.
//!
//! Why this shape (DESIGN.md "sqlx like Modrinth", "Performance habits"; PLATFORM.md "sqlx"):
//! - **Encrypted at rest.** The whole file (and its WAL) is encrypted by SQLCipher under a raw
//!   256-bit key from the [`crate::vault`]; sqlx sends `PRAGMA key` before any other statement on
//!   every connection. A raw key (`x'..'`) skips SQLCipher's own slow KDF: the key is already
//!   random. Each page carries an HMAC-SHA256 (SQLCipher 4 defaults to HMAC-SHA512; see
//!   [`PAGE_HMAC`]).
//! - **WAL, busy timeout, foreign keys** on every connection; migrations embedded with
//!   `sqlx::migrate!()` and run on open.
//! - **Idempotent, batched writes.** Webhooks arrive at least once and out of order: messages are
//!   inserted with `ON CONFLICT(wamid) DO NOTHING`, statuses only ever move forward
//!   (sent < delivered < read < played; failed is terminal), and a page of events is applied in
//!   one transaction, never one per row.
//! - **Reads by keyset pagination** over `(time, id)` with matching indexes, never `OFFSET`, and
//!   search through FTS5 — so the inbox stays fast on large histories.
//! - Plain `sqlx::query` / `query_as` with `FromRow`: no `DATABASE_URL` or `.sqlx` cache needed
//!   at build time.

mod bulk;
mod checkpoint;
mod phone;
mod repo;
mod search_query;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;

use crate::vault::MasterKey;

pub(crate) use bulk::{apply_statuses_in, insert_messages_in, json_rows};
pub(crate) use checkpoint::truncate_wal;
pub use phone::normalize_phone;
pub(crate) use repo::{
    apply_reactions_in, apply_revisions_in, ensure_conversation_in, paginate, set_setting_in,
    set_sync_cursor_in, start as cursor_start, upsert_contact_in,
};
pub use repo::{
    AccountEventRow, ContactHit, ContactInput, ConversationRow, Cursor, Direction, InsertReport,
    MessageHit, MessageRow, MessageStatus, NewMessage, Origin, Page, PhoneNumberInput,
    PhoneNumberRow, ReactionUpdate, Revision, SearchResults, StatusReport, StatusUpdate,
};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "dataoptix.db";

/// How many rows the main tables hold (`dataoptix-cli store stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreCounts {
    /// Contacts.
    pub contacts: i64,
    /// Conversations.
    pub conversations: i64,
    /// Messages.
    pub messages: i64,
}

/// Errors of the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key does not decrypt the file (or the file is not a database).
    #[error(
        "the database {path} cannot be opened with this key: it was encrypted with another key, \
         or it is not a DataOptix database. If the keyring or passphrase was reset, this \
         database cannot be read any more; move it away to start over"
    )]
    WrongKey {
        /// The database file.
        path: String,
    },
    /// A migration failed.
    #[error("updating the database schema failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Bad input to a repository function.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A WAL checkpoint that had to finish (erasure) stayed busy for ~5 s.
    #[error("the database stayed busy: its write-ahead log could not be checkpointed")]
    WalBusy,
    /// Flushing committed transactions to the disk failed ([`Store::sync_to_disk`]): the disk
    /// is full, gone, or failing.
    #[error("writing the database to the disk failed: {0}")]
    Disk(#[source] std::io::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
}

/// The open, encrypted store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// The write-ahead log's file, which [`Store::sync_to_disk`] flushes.
    wal: std::sync::Arc<std::path::Path>,
    /// Set once a flush or a checkpoint failed to write to the disk: from then on no flush
    /// reports success ([`Store::sync_to_disk`] says why).
    disk_failed: Arc<AtomicBool>,
    /// The background WAL checkpoints, on a connection of their own (`checkpoint`).
    checkpoints: checkpoint::Checkpoints,
}

impl Store {
    /// Opens (creating if needed) the encrypted database at `path` with `key`, and brings its
    /// schema up to date.
    pub async fn open(path: &Path, key: &MasterKey) -> Result<Self, StoreError> {
        // SQLCipher's crypto is OpenSSL. Initialise it ourselves before the first connection so
        // that OpenSSL does not register its `atexit` cleanup: sqlx closes pooled connections on
        // worker threads that can still be running at process exit, and a connection closing
        // after OpenSSL tore itself down crashes the process (seen as SIGSEGV after tests).
        openssl_sys::init();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Must come first: sqlx applies `key` before every other pragma.
            .pragma("key", format!("\"x'{}'\"", key.to_hex().as_str()))
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Each connection keeps its own cache of *decrypted* pages; a miss costs SQLCipher an
            // AES + HMAC per 4 KB page. With SQLite's default 2 MB, searches alternating over a
            // million messages evicted each other's index pages: six queries in turn took p95
            // 16 ms against 4 ms with 16 MB (BENCHMARKS.md). Filled only as pages are read, so a
            // small store stays small; at most 4 × 16 MB for a large one.
            .pragma("cache_size", "-16384")
            // Checkpoints run in the background on their own connection (`checkpoint`), not
            // in the commit that crosses 1,000 pages of WAL; this only bounds the WAL should
            // that connection fall behind.
            .pragma(
                "wal_autocheckpoint",
                checkpoint::WAL_AUTOCHECKPOINT_PAGES.to_string(),
            )
            .pragma(
                "journal_size_limit",
                checkpoint::WAL_SIZE_LIMIT_BYTES.to_string(),
            )
            // A statement's rows cross to the caller through a channel of this many: at sqlx's
            // 50, the 500 rows a sync page's statuses' INSERT … RETURNING gives back (and a
            // page's messages read back after a skipped wamid) made its worker thread stop and
            // wait for the caller ten times per statement.
            .row_buffer_size(ROWS_IN_FLIGHT)
            // sqlx logs every statement it runs, the `PRAGMA key` with the key in it included:
            // no statement logging at all, so that no log can ever hold the key.
            .disable_statement_logging();
        let (pool, options) = connect_under_page_hmac(path, options).await?;
        sqlx::migrate!().run(&pool).await?;
        // A checkpoint reads the WAL and writes the database file: it needs no page cache.
        let checkpoint_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.pragma("cache_size", "-256"))
            .await?;
        // SQLite keeps the log beside the database file a symbolic link points to.
        let mut wal = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .into_os_string();
        wal.push("-wal");
        let disk_failed = Arc::default();
        Ok(Self {
            pool,
            wal: std::path::PathBuf::from(wal).into(),
            checkpoints: checkpoint::Checkpoints::spawn(checkpoint_pool, Arc::clone(&disk_failed)),
            disk_failed,
        })
    }

    /// Row counts of contacts, conversations and messages.
    pub async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let (contacts, conversations, messages) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM conversations),
                    (SELECT count(*) FROM messages)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoreCounts {
            contacts,
            conversations,
            messages,
        })
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`): it takes the write lock up front, so a
    /// transaction that reads and then writes never fails with SQLITE_BUSY_SNAPSHOT when
    /// another connection (sync, outbox, UI) committed in between — it waits its turn within
    /// the busy timeout instead. Every transaction that writes starts here.
    pub async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// The connection pool, for code in this crate that needs queries of its own.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Wakes the background checkpoint if it went idle (a checkpoint found nothing new): a
    /// write that grows the WAL fast, such as a committed sync page, calls it so that the WAL
    /// is copied back every 250 ms while it grows. Cheap: at most one wake-up is pending.
    pub fn checkpoint_soon(&self) {
        self.checkpoints.soon();
    }

    /// Makes every transaction committed so far survive a power cut or an operating system
    /// crash, as `synchronous=FULL` would have at each commit.
    ///
    /// Why not FULL: the store commits at `synchronous=NORMAL`, which in WAL mode flushes the
    /// log only when it is checkpointed, so a catch-up's commits do not each wait for the disk
    /// (a flush of a page's ~2 MB of log on the serial path of the apply). A commit at NORMAL
    /// survives the app crashing, not the machine: it waits in the kernel's cache. What has no
    /// other copy must be flushed before anyone relies on it: before the relay is told it may
    /// drop events (the cursor's acknowledgement) and before the user is told a message is
    /// queued. Flushing the log file flushes every commit in it; a commit no longer in it was
    /// checkpointed into the database file, which SQLite flushes before it reuses the log.
    ///
    /// A failed write to the disk is reported once, to whichever descriptor flushes first, and
    /// the kernel may drop the pages it could not write: a later flush, through a descriptor
    /// opened afterwards, succeeds without them. So once a flush here or a background
    /// checkpoint failed to write, every later flush fails too, until the app restarts.
    pub async fn sync_to_disk(&self) -> Result<(), StoreError> {
        if self.disk_failed.load(Ordering::Relaxed) {
            return Err(StoreError::Disk(std::io::Error::other(
                "an earlier write to the disk failed, so what was written since may be lost; \
                 check the disk and restart the app",
            )));
        }
        let wal = self.wal.clone();
        // Opened for writing: Windows flushes only through a handle that may write.
        let open = move || std::fs::OpenOptions::new().write(true).open(&*wal);
        let flushed = tokio::task::spawn_blocking(move || match open() {
            // fsync flushes the file, whichever descriptor wrote it.
            Ok(file) => Ok(file.sync_data().map_err(Flush::Failed)),
            // No log: nothing committed since the last connection closed, which checkpoints
            // it into the (flushed) database file and removes it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ok(())),
            // Not opened (too many open files, say): nothing was flushed, nothing was lost.
            Err(e) => Err(e),
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|opened| opened)
        .map_err(StoreError::Disk)?;
        flushed.map_err(|Flush::Failed(e)| {
            // Only a flush that failed may have cost pages the kernel will not report again.
            self.disk_failed.store(true, Ordering::Relaxed);
            StoreError::Disk(e)
        })
    }

    /// [`Self::sync_to_disk`] after a change that has taken effect (a send queued, a broadcast
    /// started): failing it would have the user try again and do it twice, so a failure is
    /// logged, and what relies on the disk next (the sync's acknowledgement) stops on it.
    pub async fn sync_to_disk_or_log(&self, what: &str) {
        if let Err(e) = self.sync_to_disk().await {
            tracing::error!(error = %e, "store: {what} is committed but not flushed to the disk");
        }
    }

    /// Checkpoints the whole WAL and truncates it to zero bytes, retrying while SQLite reports
    /// it busy (see `checkpoint::truncate_wal`): afterwards no old page image is left in it.
    pub async fn truncate_wal(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        truncate_wal(&mut conn).await
    }

    /// Closes every connection (the last one checkpoints the WAL).
    pub async fn close(self) {
        self.pool.close().await;
        self.checkpoints.close().await;
    }
}

/// Rows a statement may hand over before its caller takes them (see `Store::open`): more than
/// a page's rows (`sync::PAGE_LIMIT`), the largest batch a statement returns (a page's
/// statuses, or its messages read back after a skipped wamid).
const ROWS_IN_FLIGHT: usize = 1024;

/// The page HMAC of the stores this version creates. SQLCipher 4's default, HMAC-SHA512, was
/// the largest single cost of a catch-up's SQLite thread (`perf`: ~16 % of its samples, an HMAC
/// per 4 KB page read or written); SHA-256 runs on the CPU's SHA extensions where they exist,
/// at about twice the speed here (OpenSSL: 1.26 against 0.56 GB/s on 4 KB). Still a keyed MAC
/// over every page with a 256-bit tag: tampering is detected as before.
pub const PAGE_HMAC: &str = "HMAC_SHA256";

/// The page HMAC of stores created before [`PAGE_HMAC`] changed: they are opened as they are
/// (a store's pages are all under one HMAC; converting would rewrite the whole file).
pub const LEGACY_PAGE_HMAC: &str = "HMAC_SHA512";

/// The store's pool, and `options` with the page HMAC the file at `path` uses:
/// [`PAGE_HMAC`] for a new file or one created with it, [`LEGACY_PAGE_HMAC`] for an older one.
/// Under the wrong HMAC algorithm the first page does not verify, exactly as under a wrong key,
/// so a file that opens under neither is reported as [`StoreError::WrongKey`]. A pool that
/// fails reading has written nothing.
async fn connect_under_page_hmac(
    path: &Path,
    options: SqliteConnectOptions,
) -> Result<(SqlitePool, SqliteConnectOptions), StoreError> {
    for hmac in [PAGE_HMAC, LEGACY_PAGE_HMAC] {
        let candidate = options.clone().pragma("cipher_hmac_algorithm", hmac);
        match connect_and_read(&candidate).await {
            Ok(pool) => return Ok((pool, candidate)),
            Err(e) if is_not_a_database(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::WrongKey {
        path: path.display().to_string(),
    })
}

/// The pool, once it has read the schema: the first access that needs the key (and the page
/// HMAC) to be right.
async fn connect_and_read(options: &SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone())
        .await?;
    if let Err(e) = sqlx::query("SELECT count(*) FROM sqlite_master")
        .execute(&pool)
        .await
    {
        pool.close().await;
        return Err(e);
    }
    Ok(pool)
}

/// SQLITE_NOTADB (26): what SQLCipher reports for a wrong key.
fn is_not_a_database(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| {
        db.code().as_deref() == Some("26") || db.message().contains("file is not a database")
    })
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A flush of the log that ran and failed (as opposed to one that could not start).
enum Flush {
    Failed(std::io::Error),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn flushing_to_disk_finds_the_log_and_reports_a_disk_that_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dataoptix.db");
        let store = Store::open(&path, &MasterKey::generate()).await.unwrap();
        store.upsert_workspace("ws", "Flush").await.unwrap();
        let real_dir = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(&*store.wal, real_dir.join("dataoptix.db-wal"));
        assert!(
            store.wal.is_file(),
            "the log the store writes is the one flushed"
        );
        store.sync_to_disk().await.unwrap();

        // No log at all: nothing was committed since the last close checkpointed it.
        let closed = Store {
            wal: dir.path().join("absent-wal").into(),
            ..store.clone()
        };
        closed.sync_to_disk().await.unwrap();

        // A log that cannot be opened for writing (here: a directory by that name) is an error
        // that says it is the disk, never a flush silently skipped; nothing was flushed, so
        // nothing can have been lost, and the next flush is believed.
        let broken = Store {
            wal: dir.path().into(),
            ..store.clone()
        };
        let err = broken.sync_to_disk().await.unwrap_err();
        assert!(matches!(err, StoreError::Disk(_)), "{err:?}");
        assert!(err
            .to_string()
            .starts_with("writing the database to the disk failed"));
        store.sync_to_disk().await.unwrap();
        // Once a flush failed (or a checkpoint's), no later one is believed: the kernel
        // reports a failed write once.
        store.disk_failed.store(true, Ordering::Relaxed);
        let err = store.sync_to_disk().await.unwrap_err();
        assert!(err.to_string().contains("restart the app"), "{err}");
        store.close().await;
    }
}
