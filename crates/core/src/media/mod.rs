//! Inbound media on this device: queued with their messages, downloaded in the background,
//! kept encrypted, decrypted only to be shown.
//!
//! - [`queue`] (crate-private): one `media` row per media message, written by sync in the
//!   same transaction as the message (idempotent on redelivery), and updated by the relay's
//!   `media_status` events.
//! - [`fetch`]: [`MediaFetcher`], the worker started with the device's background tasks. It
//!   downloads from the relay (`GET /v1/media/{id}`, a sealed envelope opened with the
//!   workspace key) and, when the relay could not fetch the file, from Meta directly with the
//!   number's business token while the media id lives; retries with backoff; gives up with a
//!   reason the UI shows.
//! - [`verify`]: the SHA-256 check (Meta's base64 or hex) and Meta's size limits.
//! - [`file`]: files at rest, AES-256-GCM under a key from the vault, fresh nonce, the file's
//!   name as AAD; never the plaintext on disk.
//!
//! Why download on arrival: Meta's media id lives about 7 days and its URL 5 minutes
//! (PRODUCT.md), and search and export work offline. Why encrypted: the store is encrypted
//! (SQLCipher), and a media folder of plaintext photos would undo that (PRODUCT.md "Security
//! promises"). Erasure and retention delete the rows and then the files they name
//! ([`crate::privacy`]); a download finishing after its row was erased removes its own file.

pub mod fetch;
pub mod file;
pub(crate) mod queue;
pub mod verify;

use std::path::Path;

pub use fetch::{FetchReport, MediaConfig, MediaFetcher};

use crate::store::{Store, StoreError};
use crate::vault::{Vault, VaultError};

/// What media handling can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vault failed (the file key).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A file could not be read or written.
    #[error("media file error: {0}")]
    Io(#[from] std::io::Error),
    /// No downloaded file for that message (unknown, not a media message, not downloaded yet,
    /// or another workspace's).
    #[error("no downloaded media for this message")]
    NotFound,
    /// Anything else.
    #[error("media: {0}")]
    Internal(String),
}

/// A decrypted media file.
pub struct MediaFile {
    /// Its MIME type (Meta's).
    pub mime_type: String,
    /// The plaintext.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFile")
            .field("mime_type", &self.mime_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The decrypted file of message `message_id` of `workspace_id`, once downloaded. The path
/// comes from the row (never from the caller) and must stay inside the data directory.
pub async fn read(
    store: &Store,
    vault: &Vault,
    workspace_id: &str,
    message_id: i64,
) -> Result<MediaFile, MediaError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT md.path, md.mime_type FROM media md JOIN messages m ON m.id = md.message_id
             JOIN conversations c ON c.id = m.conversation_id
         WHERE md.message_id = ? AND c.workspace_id = ? AND md.download_state = 'done'",
    )
    .bind(message_id)
    .bind(workspace_id)
    .fetch_optional(store.pool())
    .await
    .map_err(StoreError::from)?;
    let Some((Some(relative), mime_type)) = row else {
        return Err(MediaError::NotFound);
    };
    let data_dir = vault.data_dir().to_path_buf();
    let Some(path) = crate::privacy::inside(&data_dir, &relative) else {
        return Err(MediaError::NotFound);
    };
    let Some(key) = file::file_key(vault, false)? else {
        return Err(MediaError::NotFound);
    };
    let bytes = tokio::task::spawn_blocking(move || open_path(&path, &key, &relative))
        .await
        .map_err(|e| MediaError::Internal(e.to_string()))??;
    Ok(MediaFile {
        mime_type: mime_type.unwrap_or_else(|| "application/octet-stream".into()),
        bytes,
    })
}

/// Reads and decrypts the file `relative` at `path`; [`MediaError::NotFound`] if it is gone.
pub(crate) fn open_path(
    path: &Path,
    key: &crate::vault::MasterKey,
    relative: &str,
) -> Result<Vec<u8>, MediaError> {
    let sealed = match std::fs::read(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(MediaError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let mut plain = file::open(key, relative, &sealed)?;
    Ok(std::mem::take(&mut *plain))
}
