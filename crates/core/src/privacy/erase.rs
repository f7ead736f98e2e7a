//! Erasure: one contact for good, or all of the app's data on this device.
//!
//! Erasing a contact deletes, in one transaction: their messages and everything hanging off
//! them (statuses, reactions, edits, media rows), rows of any other table referring to the
//! contact or their conversations (notes, labels, outbox…), the webhook parts kept raw that
//! mention them, statuses and edits naming them whose message is not here, their preference
//! events, their conversations and the contact row, and leaves a tombstone (a keyed hash of
//! each of their ids, [`super::tombstones`]) so that older events arriving later about them are
//! not applied. The search index follows through the FTS triggers. Then the media files are
//! removed, the FTS indexes merged (so deleted terms leave their segments) and the database
//! vacuumed with `secure_delete` on, and the WAL truncated: the erased content is not left in
//! free pages, old index segments or the WAL. The activity log records the erasure with
//! counts only.

use std::path::Path;

use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

use super::activity::record_in;
use super::retention::{delete_message_rows, remove_files, unshared};
use super::tombstones::bury_in;
use super::{ident, tables_with_column, PrivacyError, MEDIA_DIR};
use crate::store::{Store, StoreError, DB_FILE};
use crate::vault::{KeySource, SecretStore, Vault, VaultInfo, META_FILE};

/// What erasing a contact removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EraseReport {
    /// Messages deleted.
    pub messages: u64,
    /// Conversations deleted.
    pub conversations: u64,
    /// Media files removed from disk.
    pub media_files: u64,
    /// Rows of other tables (notes, labels, raw events, preference events…) deleted.
    pub other_rows: u64,
}

/// Erases contact `contact_id` and everything about them, logs it as `actor`, then reclaims
/// the space. Media files are removed after the commit (a failure there is logged; the rows
/// pointing at them are already gone).
pub async fn erase_contact(
    store: &Store,
    data_dir: &Path,
    actor: &str,
    contact_id: i64,
) -> Result<EraseReport, PrivacyError> {
    let at = crate::team::now_ms();
    erase_contact_at(store, data_dir, actor, contact_id, at).await
}

/// [`erase_contact`] dated `at_ms` (Unix ms): what arrives later about the customer, dated at
/// or before it, is not applied. The `contact_erased` event telling the other devices carries
/// the same time, so that every device draws the line at the same moment.
pub async fn erase_contact_at(
    store: &Store,
    data_dir: &Path,
    actor: &str,
    contact_id: i64,
    at_ms: i64,
) -> Result<EraseReport, PrivacyError> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    // Overwrite deleted content with zeros as it is deleted, on this connection.
    sqlx::query("PRAGMA secure_delete = ON")
        .execute(&mut *conn)
        .await?;
    let outcome = erase_rows(&mut conn, actor, contact_id, at_ms).await;
    let (mut report, paths) = match outcome {
        Ok(done) => done,
        Err(e) => {
            let _ = sqlx::query("PRAGMA secure_delete = OFF")
                .execute(&mut *conn)
                .await;
            return Err(e);
        }
    };
    // The rows are gone (committed): the files go now, whatever happens to the reclaim.
    report.media_files = remove_files(data_dir, &paths);
    let reclaimed = reclaim(&mut conn).await;
    let _ = sqlx::query("PRAGMA secure_delete = OFF")
        .execute(&mut *conn)
        .await;
    // A failed reclaim (say, the database busy for longer than the busy timeout) leaves the
    // erased pages in free space until `reclaim_space` succeeds; the caller is told.
    reclaimed.map_err(|e| PrivacyError::ReclaimFailed(Box::new(e)))?;
    Ok(report)
}

/// Merges the search indexes, vacuums and truncates the WAL (what [`erase_contact`] does after
/// deleting); for retrying after [`PrivacyError::ReclaimFailed`].
pub async fn reclaim_space(store: &Store) -> Result<(), PrivacyError> {
    let mut conn = store.pool().acquire().await.map_err(StoreError::from)?;
    sqlx::query("PRAGMA secure_delete = ON")
        .execute(&mut *conn)
        .await?;
    let result = reclaim(&mut conn).await;
    let _ = sqlx::query("PRAGMA secure_delete = OFF")
        .execute(&mut *conn)
        .await;
    result.map_err(PrivacyError::from)
}

async fn erase_rows(
    conn: &mut SqliteConnection,
    actor: &str,
    contact_id: i64,
    at_ms: i64,
) -> Result<(EraseReport, Vec<Option<String>>), PrivacyError> {
    let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    let action = "privacy.erase_contact";
    let erased = erase_rows_in(&mut tx, actor, contact_id, at_ms, action).await?;
    tx.commit().await?;
    Ok(erased)
}

/// Deletes every row about contact `contact_id` inside the caller's transaction, leaves their
/// tombstone dated `erased_at_ms` and logs it under `action`; returns the media files to remove
/// once committed (those no row names any more).
async fn erase_rows_in(
    tx: &mut SqliteConnection,
    actor: &str,
    contact_id: i64,
    erased_at_ms: i64,
    action: &str,
) -> Result<(EraseReport, Vec<Option<String>>), PrivacyError> {
    let contact: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT wa_id, user_id FROM contacts WHERE id = ?")
            .bind(contact_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((wa_id, user_id)) = contact else {
        return Err(PrivacyError::ContactNotFound(contact_id));
    };
    let mut report = EraseReport::default();
    let conversations: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = ?")
            .bind(contact_id)
            .fetch_all(&mut *tx)
            .await?;
    let messages: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, wamid FROM messages WHERE conversation_id IN
             (SELECT id FROM conversations WHERE contact_id = ?)",
    )
    .bind(contact_id)
    .fetch_all(&mut *tx)
    .await?;
    let paths = delete_message_rows(&mut *tx, &messages).await?;
    // Files another customer's message still names (a broadcast's header) stay.
    let paths = unshared(&mut *tx, &paths).await?;
    report.messages = messages.len() as u64;

    // Their reactions to the business's messages, by their ids.
    for id in [&wa_id, &user_id].into_iter().flatten() {
        report.other_rows += sqlx::query("DELETE FROM reactions WHERE reactor = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Statuses of messages to them and their edits, recorded while the message itself was
        // not here (a status from Meta before a teammate's send reached this device).
        report.other_rows += sqlx::query(
            "DELETE FROM message_statuses WHERE json_extract(raw_json, '$.recipient_id') = ?1
                 OR json_extract(raw_json, '$.recipient_user_id') = ?1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        report.other_rows += sqlx::query(
            "DELETE FROM message_revisions WHERE json_extract(raw_json, '$.from') = ?1
                 OR json_extract(raw_json, '$.from_user_id') = ?1
                 OR json_extract(raw_json, '$.to') = ?1
                 OR json_extract(raw_json, '$.to_user_id') = ?1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Webhook parts kept raw that carry their id (unknown message types, errors…), and
        // their marketing-preference events.
        let escaped = id
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%\"{escaped}\"%");
        report.other_rows +=
            sqlx::query("DELETE FROM sync_raw_events WHERE payload LIKE ? ESCAPE '\\'")
                .bind(&pattern)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        report.other_rows += sqlx::query(
            "DELETE FROM account_events WHERE kind = 'user_preferences'
                 AND (json_extract(payload_json, '$.value.wa_id') = ?1
                      OR json_extract(payload_json, '$.value.user_id') = ?1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }

    let known = [
        "contacts",
        "conversations",
        "messages",
        "message_statuses",
        "reactions",
        "message_revisions",
        "media",
    ];
    for table in tables_with_column(&mut *tx, "conversation_id", &known).await? {
        report.other_rows += sqlx::query(&format!(
            "DELETE FROM {} WHERE conversation_id IN
                 (SELECT id FROM conversations WHERE contact_id = ?)",
            ident(&table)
        ))
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    for table in tables_with_column(&mut *tx, "contact_id", &known).await? {
        report.other_rows += sqlx::query(&format!(
            "DELETE FROM {} WHERE contact_id = ?",
            ident(&table)
        ))
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    report.conversations = sqlx::query("DELETE FROM conversations WHERE contact_id = ?")
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM contacts WHERE id = ?")
        .bind(contact_id)
        .execute(&mut *tx)
        .await?;
    bury_in(
        &mut *tx,
        [wa_id.as_deref(), user_id.as_deref()],
        erased_at_ms,
    )
    .await?;
    debug_assert_eq!(report.conversations as usize, conversations.len());
    // Counts only: the log must not keep what was erased (not even the phone number).
    let details = json!({
        "messages": report.messages,
        "conversations": report.conversations,
        "media_rows": paths.len(),
        "other_rows": report.other_rows,
    });
    let subject = format!("contact:{contact_id}");
    record_in(&mut *tx, actor, action, Some(&subject), &details).await?;
    Ok((report, paths))
}

/// Applies another device's erasure of `contact` at `up_to_ms` inside the sync page's
/// transaction: everything about the contact goes, as on the device where it was erased —
/// unless the customer wrote again after it (their new messages reached this device first), in
/// which case only the messages up to the erasure go and the new conversation stays. Returns
/// how many contacts were touched. Either way the customer's tombstone is dated `up_to_ms`,
/// even when this device never met them: events about them older than that are not applied
/// here any more. Files and freed pages are reclaimed after the commit ([`finish_erasures`]).
pub(crate) async fn erase_remote_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    contact: &protocol::device_events::ContactRef,
    up_to_ms: i64,
    actor: &str,
) -> Result<usize, StoreError> {
    let ids = crate::team::contacts_named(conn, workspace_id, contact).await?;
    bury_in(
        &mut *conn,
        [contact.wa_id.as_deref(), contact.user_id.as_deref()],
        up_to_ms,
    )
    .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Deleted content is overwritten with zeros, on this connection, while it is deleted.
    sqlx::query("PRAGMA secure_delete = ON")
        .execute(&mut *conn)
        .await?;
    // The search indexes' old segments, the free pages and the WAL still hold what goes now:
    // reclaimed after the commit, whether or not files go too. A new value each time, so that
    // a reclaim under way clears only what it saw ([`finish_erasures`]).
    sqlx::query(
        "INSERT INTO settings (key, value_json, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value_json = ?2, updated_at = ?3",
    )
    .bind(RECLAIM_PENDING)
    .bind(serde_json::Value::String(uuid::Uuid::new_v4().to_string()).to_string())
    .bind(crate::store::now())
    .execute(&mut *conn)
    .await?;
    let outcome = erase_each(conn, &ids, up_to_ms, actor).await;
    sqlx::query("PRAGMA secure_delete = OFF")
        .execute(&mut *conn)
        .await?;
    outcome
}

async fn erase_each(
    conn: &mut SqliteConnection,
    ids: &[i64],
    up_to_ms: i64,
    actor: &str,
) -> Result<usize, StoreError> {
    let to_store = |e: PrivacyError| match e {
        PrivacyError::Store(e) => e,
        other => StoreError::Invalid(other.to_string()),
    };
    for &contact_id in ids {
        let up_to = up_to_ms.div_euclid(1000);
        let newer: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE ts > ? AND conversation_id IN
                 (SELECT id FROM conversations WHERE contact_id = ?)",
        )
        .bind(up_to)
        .bind(contact_id)
        .fetch_one(&mut *conn)
        .await?;
        if newer == 0 {
            let action = "privacy.erase_contact_synced";
            let (_, paths) = erase_rows_in(conn, actor, contact_id, up_to_ms, action)
                .await
                .map_err(to_store)?;
            note_removals(conn, &paths).await?;
            continue;
        }
        let older: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, wamid FROM messages WHERE ts <= ? AND conversation_id IN
                 (SELECT id FROM conversations WHERE contact_id = ?)",
        )
        .bind(up_to)
        .bind(contact_id)
        .fetch_all(&mut *conn)
        .await?;
        let paths = delete_message_rows(&mut *conn, &older).await?;
        let paths = unshared(&mut *conn, &paths).await?;
        note_removals(conn, &paths).await?;
        let subject = format!("contact:{contact_id}");
        let details = json!({"messages": older.len(), "kept_newer_messages": newer});
        record_in(
            &mut *conn,
            actor,
            "privacy.erase_contact_synced",
            Some(&subject),
            &details,
        )
        .await?;
    }
    Ok(ids.len())
}

/// Notes files to remove once the transaction erasing their rows has committed.
async fn note_removals(
    conn: &mut SqliteConnection,
    paths: &[Option<String>],
) -> Result<(), StoreError> {
    for path in paths.iter().flatten() {
        sqlx::query("INSERT INTO pending_file_removals (path) VALUES (?) ON CONFLICT DO NOTHING")
            .bind(path)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The `settings` row set by an erasure from another device until its space is reclaimed.
const RECLAIM_PENDING: &str = "privacy.reclaim_pending";

/// After erasures arrived from another device and were committed: removes the media files
/// their messages left (noted in `pending_file_removals` in the same transaction, so a crash
/// in between only delays this) and reclaims the freed space (see [`reclaim_space`]; noted
/// the same way). Returns the files removed.
pub async fn finish_erasures(store: &Store, data_dir: &Path) -> Result<u64, PrivacyError> {
    let paths: Vec<String> = sqlx::query_scalar("SELECT path FROM pending_file_removals")
        .fetch_all(store.pool())
        .await
        .map_err(StoreError::from)?;
    let reclaim_pending: Option<String> =
        sqlx::query_scalar("SELECT value_json FROM settings WHERE key = ?")
            .bind(RECLAIM_PENDING)
            .fetch_optional(store.pool())
            .await
            .map_err(StoreError::from)?;
    if paths.is_empty() && reclaim_pending.is_none() {
        return Ok(0);
    }
    // Noted only when no row named them any more (`unshared`, in the erasing transaction).
    let wrapped: Vec<Option<String>> = paths.iter().cloned().map(Some).collect();
    let removed = remove_files(data_dir, &wrapped);
    for path in &paths {
        sqlx::query("DELETE FROM pending_file_removals WHERE path = ?")
            .bind(path)
            .execute(store.pool())
            .await
            .map_err(StoreError::from)?;
    }
    reclaim_space(store).await?;
    // An erasure committed since it was read gave it a new value: that one is reclaimed next
    // time (the row is deleted only as it was read).
    if let Some(seen) = reclaim_pending {
        sqlx::query("DELETE FROM settings WHERE key = ? AND value_json = ?")
            .bind(RECLAIM_PENDING)
            .bind(seen)
            .execute(store.pool())
            .await
            .map_err(StoreError::from)?;
    }
    Ok(removed)
}

/// Merges the FTS indexes (deleted entries leave their segments), vacuums (free pages are
/// dropped from the file) and truncates the WAL (which held the deleted pages' old versions).
async fn reclaim(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    for fts in ["messages_fts", "contacts_fts"] {
        sqlx::query(&format!("INSERT INTO {fts}({fts}) VALUES ('optimize')"))
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("VACUUM").execute(&mut *conn).await?;
    // Read back: a checkpoint that found the store's background checkpoint (or a reader) in
    // its way reports it in its result row, not as an error, and would leave the erased
    // pages' old images in the WAL.
    crate::store::truncate_wal(conn).await
}

/// What [`erase_everything`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EraseAllReport {
    /// Files and folders removed, relative to the data directory.
    pub removed: Vec<String>,
    /// Whether the master key's keyring entry was deleted.
    pub keyring_entry_deleted: bool,
}

/// Removes all of the app's data on this device: the database (and its WAL and shared-memory
/// files), the media folder, the vault's sealed records and metadata, and the master key's
/// keyring entry in `secrets`. The store and the vault are consumed: they must not be used
/// afterwards. Nothing can be recovered, which is the point.
pub async fn erase_everything(
    store: Store,
    vault: Vault,
    secrets: &dyn SecretStore,
) -> Result<EraseAllReport, PrivacyError> {
    let data_dir = vault.data_dir().to_path_buf();
    drop(vault);
    erase_data_dir(store, &data_dir, secrets).await
}

/// [`erase_everything`] for a caller that shares its vault (the device keeps it behind an
/// `Arc`): removes the same files from `data_dir`; the vault must not be used afterwards
/// (its records and metadata are gone).
pub async fn erase_data_dir(
    store: Store,
    data_dir: &Path,
    secrets: &dyn SecretStore,
) -> Result<EraseAllReport, PrivacyError> {
    let data_dir = data_dir.to_path_buf();
    let info: Option<VaultInfo> = Vault::info(&data_dir)?;
    store.close().await;
    let mut report = EraseAllReport::default();
    // The order is what a failure halfway leaves (a file whose removal is refused: its
    // permissions, an immutable flag, an I/O error). The media go first, so that such a
    // failure leaves the database too, and with it the way to try again: the device still
    // opens, in the state that offers erasing. (Removing the database and the vault's
    // metadata first left the customers' files beside a vault that no longer opened.)
    remove_dir(&data_dir, MEDIA_DIR, &mut report)?;
    for name in [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        format!("{DB_FILE}-shm"),
        format!("{DB_FILE}-journal"),
    ] {
        remove_file(&data_dir, &name, &mut report)?;
    }
    // `<data dir>/vault/` holds the sealed records (Vault::put_record): after the database,
    // which needs the workspace key among them to open a session, and before the metadata,
    // without which records left by a failure here could not be opened (nor the store).
    remove_dir(&data_dir, "vault", &mut report)?;
    remove_file(&data_dir, META_FILE, &mut report)?;
    // A passphrase vault has no keyring entry (and maybe no keyring at all to ask).
    if let Some(info) = info.filter(|i| i.source == KeySource::Keyring) {
        secrets.delete(&info.keyring_entry())?;
        report.keyring_entry_deleted = true;
    }
    Ok(report)
}

/// Removes `<data_dir>/<name>` (none there is fine), noting it in `report`.
fn remove_file(
    data_dir: &Path,
    name: &str,
    report: &mut EraseAllReport,
) -> Result<(), PrivacyError> {
    match std::fs::remove_file(data_dir.join(name)) {
        Ok(()) => report.removed.push(name.to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Removes `<data_dir>/<dir>/` and what it holds (none there is fine), noting it in `report`.
fn remove_dir(data_dir: &Path, dir: &str, report: &mut EraseAllReport) -> Result<(), PrivacyError> {
    match std::fs::remove_dir_all(data_dir.join(dir)) {
        Ok(()) => report.removed.push(format!("{dir}/")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
