//! What the UI reads of the team inbox.

use crate::store::{Store, StoreError};

/// An internal note.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Note {
    /// The note id (UUID).
    pub id: String,
    /// The text.
    pub text: String,
    /// Unix milliseconds.
    pub at: i64,
    /// Who wrote it.
    pub author_id: Option<String>,
    /// Their name.
    pub author_name: Option<String>,
}

/// A quick reply.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct QuickReply {
    /// Its id.
    pub id: String,
    /// What the user types to insert it (e.g. `/hours`).
    pub shortcut: String,
    /// The text inserted.
    pub text: String,
}

/// A connected number's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NumberState {
    /// Meta answered that the token is invalid (or there is none): "Connect WhatsApp" again.
    /// Messages of this number wait in the outbox meanwhile.
    pub reconnect_required: bool,
    /// Why, for the user.
    pub reason: Option<String>,
    /// Whether this device holds a token for the number.
    pub has_token: bool,
}

/// The labels of a conversation, sorted.
pub async fn labels(store: &Store, conversation_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT label FROM conversation_labels WHERE conversation_id = ? ORDER BY label",
    )
    .bind(conversation_id)
    .fetch_all(store.pool())
    .await?)
}

/// The notes of a conversation, oldest first.
pub async fn notes(store: &Store, conversation_id: i64) -> Result<Vec<Note>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, text, at, author_id, author_name FROM notes
         WHERE conversation_id = ? ORDER BY at, id",
    )
    .bind(conversation_id)
    .fetch_all(store.pool())
    .await?)
}

/// The quick replies (not deleted), by shortcut.
pub async fn quick_replies(store: &Store) -> Result<Vec<QuickReply>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT id, shortcut, text FROM quick_replies WHERE deleted = 0 ORDER BY shortcut, id",
    )
    .fetch_all(store.pool())
    .await?)
}

/// The state of a number; `vault` tells whether this device has its token.
pub async fn number_state(
    store: &Store,
    vault: &crate::vault::Vault,
    phone_number_id: &str,
) -> Result<NumberState, StoreError> {
    let row: Option<(bool, Option<String>)> = sqlx::query_as(
        "SELECT reconnect_required, reconnect_reason FROM number_state WHERE phone_number_id = ?",
    )
    .bind(phone_number_id)
    .fetch_optional(store.pool())
    .await?;
    let record = super::token_record(phone_number_id)?;
    let has_token = vault
        .get_record(&record)
        .map_err(|e| StoreError::Invalid(format!("reading the vault failed: {e}")))?
        .is_some();
    let (reconnect_required, reason) = row.unwrap_or_default();
    Ok(NumberState {
        reconnect_required,
        reason,
        has_token,
    })
}
