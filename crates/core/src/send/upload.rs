//! Attachments through the outbox: queued with their file, uploaded by the worker just before
//! the send.
//!
//! - [`Outbox::enqueue_attachment`] encrypts the file into the media store at once (a `media`
//!   row already `done`), and in one transaction queues the message (`pending`, like any send)
//!   and links the row to the outbox item. So the thread shows the picture immediately, it
//!   survives a restart, and a send written offline waits with its file.
//! - The worker calls [`Outbox::upload_attachment`] once the item is claimed: it uploads the
//!   file (`POST /{phone}/media`, multipart), keeps Meta's media id on the item and writes it
//!   into the request body, which then goes out like any other send. A retry finds the id and
//!   does not upload again, until the id nears Meta's 30-day lifetime. An upload error is a
//!   Cloud API error like a send's: the worker acts on its class (`send::worker`).
//!
//! The media row gets the id too, so the `message_sent` event (which carries the request body)
//! lets the other devices fetch the file from Meta while the id lives (`team::apply`).

use cloud_api::client::{CloudApiClient, CloudApiError};
use cloud_api::media::MediaUpload;
use serde_json::Value;

use super::attachment::Attachment;
use super::{Outbox, OutgoingMessage, SendError};
use crate::media::file;
use crate::store::now;

/// The media id in a queued attachment's request body until the file is uploaded.
pub const UPLOAD_PENDING: &str = "upload-pending";

/// An uploaded id is used for this long: Meta keeps business uploads 30 days, and a day of
/// margin covers a send that is retried around the deadline.
pub const UPLOADED_ID_LIFETIME_SECS: i64 = 29 * 24 * 3600;

#[derive(sqlx::FromRow)]
struct Pending {
    attachment_media_row: Option<i64>,
    uploaded_media_id: Option<String>,
    uploaded_at: Option<i64>,
    message_id: Option<i64>,
    path: Option<String>,
    mime_type: Option<String>,
    filename: Option<String>,
}

impl Outbox {
    /// Queues `attachment` for the conversation; returns the item id. The same
    /// `idempotency_key` again returns the same item and stores nothing more. Refusals (window,
    /// contact, caption too long) leave nothing behind, not even the file.
    pub async fn enqueue_attachment(
        &self,
        conversation_id: i64,
        attachment: &Attachment,
        reply_to: Option<String>,
        idempotency_key: &str,
    ) -> Result<i64, SendError> {
        let mut message = OutgoingMessage::new(attachment.content(UPLOAD_PENDING));
        if let Some(wamid) = reply_to.filter(|w| !w.trim().is_empty()) {
            message = message.reply_to(wamid);
        }
        self.enqueue_with_file(conversation_id, message, attachment, idempotency_key)
            .await
    }

    /// Queues `message`, whose media (its own, or a template's header) names
    /// [`UPLOAD_PENDING`], with the file `attachment` to upload for it just before the send.
    /// Same guarantees as [`Self::enqueue_attachment`].
    pub async fn enqueue_with_file(
        &self,
        conversation_id: i64,
        message: OutgoingMessage,
        attachment: &Attachment,
        idempotency_key: &str,
    ) -> Result<i64, SendError> {
        let team = &self.inner.team;
        let key = file::file_key(team.vault(), true)?
            .ok_or_else(|| SendError::File("no media file key".into()))?;
        let relative = file::outbound_path();
        let data_dir = team.vault().data_dir().to_path_buf();
        let path = {
            let (rel, bytes) = (relative.clone(), attachment.bytes.clone());
            let dir = data_dir.clone();
            // Encrypting up to 100 MB is CPU work: off the async threads.
            tokio::task::spawn_blocking(move || file::write(&dir, &key, &rel, &bytes))
                .await
                .map_err(|e| SendError::File(format!("storing it failed: {e}")))?
                .map_err(|e| SendError::File(format!("storing it failed: {e}")))?
        };
        let queued = self
            .queue_with_file(
                conversation_id,
                message,
                attachment,
                idempotency_key,
                &relative,
            )
            .await;
        match queued {
            Ok((id, true)) => {
                // Queued means kept, as [`Self::enqueue`] (the file was flushed when written).
                team.store().sync_to_disk_or_log("a queued send").await;
                self.inner.wake.notify_one();
                Ok(id)
            }
            other => {
                // Refused, or the key was queued before (with its own file): this copy goes.
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::warn!(error = %e, "outbox: an unused attachment copy stays on disk");
                }
                other.map(|(id, _)| id)
            }
        }
    }

    /// The transaction of [`Self::enqueue_attachment`]; true when this call queued the item
    /// (false: the key was used before).
    async fn queue_with_file(
        &self,
        conversation_id: i64,
        message: OutgoingMessage,
        attachment: &Attachment,
        idempotency_key: &str,
        relative: &str,
    ) -> Result<(i64, bool), SendError> {
        let mut tx = self.inner.team.store().begin_write().await?;
        let known: Option<i64> =
            sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = ?")
                .bind(idempotency_key.trim())
                .fetch_optional(&mut *tx)
                .await?;
        let id = self
            .enqueue_in(&mut tx, conversation_id, message, idempotency_key)
            .await?;
        if known.is_some() {
            return Ok((id, false));
        }
        let detected = &attachment.detected;
        let sha = hex::encode(crate::media::verify::sha256(&attachment.bytes));
        let row: i64 = sqlx::query_scalar(
            "INSERT INTO media (message_id, path, sha256, mime_type, size_bytes, download_state,
                                kind, voice, animated, updated_at)
             SELECT message_id, ?, ?, ?, ?, 'done', ?, ?, ?, ? FROM outbox WHERE id = ?
             RETURNING id",
        )
        .bind(relative)
        .bind(&sha)
        .bind(&detected.mime_type)
        .bind(attachment.bytes.len() as i64)
        .bind(detected.kind.as_str())
        .bind(attachment.voice)
        .bind(detected.animated)
        .bind(now())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE outbox SET attachment_media_row = ? WHERE id = ?")
            .bind(row)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // The placeholder is not Meta's id: the row shows none until the upload gives one.
        sqlx::query(
            "UPDATE messages SET media_meta_id = NULL, mime_type = ?
             WHERE id = (SELECT message_id FROM outbox WHERE id = ?)",
        )
        .bind(&detected.mime_type)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((id, true))
    }

    /// Uploads the attachment of item `item_id`, unless it was uploaded before and its id still
    /// lives, and writes the id into `payload` (the request body). Does nothing for an item
    /// without attachment. The inner error is Meta's (or the network's) answer to the upload,
    /// for the worker to act on by its class.
    pub(super) async fn upload_attachment(
        &self,
        item_id: i64,
        payload: &mut String,
        graph: &CloudApiClient,
        phone_number_id: &str,
    ) -> Result<Result<(), CloudApiError>, SendError> {
        let store = self.inner.team.store();
        let pending: Option<Pending> = sqlx::query_as(
            "SELECT o.attachment_media_row, o.uploaded_media_id, o.uploaded_at, o.message_id,
                    md.path, md.mime_type, m.document_filename AS filename
             FROM outbox o LEFT JOIN media md ON md.id = o.attachment_media_row
                 LEFT JOIN messages m ON m.id = o.message_id
             WHERE o.id = ?",
        )
        .bind(item_id)
        .fetch_optional(store.pool())
        .await?;
        let Some(pending) = pending else {
            return Ok(Ok(()));
        };
        let placeholder = media_id_of(payload).as_deref() == Some(UPLOAD_PENDING);
        if pending.attachment_media_row.is_none() && !placeholder {
            return Ok(Ok(()));
        }
        let fresh = pending
            .uploaded_at
            .is_some_and(|at| now() - at < UPLOADED_ID_LIFETIME_SECS);
        if let (Some(id), true) = (&pending.uploaded_media_id, fresh) {
            *payload = with_media_id(payload, id)?;
            return Ok(Ok(()));
        }
        let (Some(row), Some(relative)) = (pending.attachment_media_row, pending.path.clone())
        else {
            return Ok(Err(CloudApiError::InvalidRequest(
                "the attached file was deleted before it could be sent".into(),
            )));
        };
        let bytes = match self.read_file(&relative).await? {
            Some(bytes) => bytes,
            None => {
                return Ok(Err(CloudApiError::InvalidRequest(
                    "the attached file is missing from this device".into(),
                )))
            }
        };
        let mime_type = pending
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let upload = MediaUpload::new(
            bytes.to_vec(),
            pending
                .filename
                .clone()
                .unwrap_or_else(|| "attachment".into()),
            mime_type,
        );
        let uploaded = match graph.upload_media(phone_number_id, upload).await {
            Ok(u) => u,
            Err(e) => return Ok(Err(e)),
        };
        let body = with_media_id(payload, &uploaded.id)?;
        let mut tx = store.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET uploaded_media_id = ?, uploaded_at = ?, payload_json = ?,
                 updated_at = ?
             WHERE id = ?",
        )
        .bind(&uploaded.id)
        .bind(now())
        .bind(&body)
        .bind(now())
        .bind(item_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE media SET media_meta_id = ?, updated_at = ? WHERE id = ?")
            .bind(&uploaded.id)
            .bind(now())
            .bind(row)
            .execute(&mut *tx)
            .await?;
        if let Some(message_id) = pending.message_id {
            sqlx::query("UPDATE messages SET media_meta_id = ?, raw_json = ? WHERE id = ?")
                .bind(&uploaded.id)
                .bind(&body)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        *payload = body;
        Ok(Ok(()))
    }

    /// After an upload failed: nothing was sent, so an upload that timed out leaves no
    /// message in doubt (the worker marks every timeout so), and the retry need not wait for
    /// proof of a send. Only while no id was ever kept: once one was, a send may have gone out.
    pub(super) async fn upload_failed(&self, item_id: i64) -> Result<(), SendError> {
        sqlx::query(
            "UPDATE outbox SET in_doubt_since_ms = NULL
             WHERE id = ? AND uploaded_media_id IS NULL",
        )
        .bind(item_id)
        .execute(self.inner.team.store().pool())
        .await?;
        Ok(())
    }

    /// The decrypted attachment `relative` (inside the data directory), `None` if it is gone.
    async fn read_file(
        &self,
        relative: &str,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, SendError> {
        let vault = self.inner.team.vault();
        let data_dir = vault.data_dir().to_path_buf();
        let Some(path) = crate::privacy::inside(&data_dir, relative) else {
            return Ok(None);
        };
        let Some(key) = file::file_key(vault, false)? else {
            return Ok(None);
        };
        let relative = relative.to_owned();
        let read =
            tokio::task::spawn_blocking(move || crate::media::open_path(&path, &key, &relative))
                .await
                .map_err(|e| SendError::File(format!("reading it failed: {e}")))?;
        match read {
            Ok(bytes) => Ok(Some(zeroize::Zeroizing::new(bytes))),
            Err(crate::media::MediaError::NotFound) => Ok(None),
            Err(e) => Err(SendError::File(format!("reading it failed: {e}"))),
        }
    }
}

/// The media object of a request body: the message's own (`{"type": "image", "image": {..}}`)
/// or, for a template, its header's (`components[type=header].parameters[0].image`).
fn media_object(v: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let kind = v.get("type")?.as_str()?.to_owned();
    let mut media = v.get_mut(&kind)?;
    if kind == "template" {
        let header = media
            .get_mut("components")?
            .as_array_mut()?
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some("header"))?;
        let parameter = header.get_mut("parameters")?.as_array_mut()?.first_mut()?;
        let kind = parameter.get("type")?.as_str()?.to_owned();
        media = parameter.get_mut(&kind)?;
    }
    media.as_object_mut()
}

/// The `id` of the media object of a request body.
fn media_id_of(payload: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(payload).ok()?;
    media_object(&mut v)?.get("id")?.as_str().map(str::to_owned)
}

/// The request body with `media_id` naming its file.
fn with_media_id(payload: &str, media_id: &str) -> Result<String, SendError> {
    let mut v: Value =
        serde_json::from_str(payload).map_err(|e| SendError::Invalid(e.to_string()))?;
    let media = media_object(&mut v)
        .ok_or_else(|| SendError::Invalid("the queued message names no file".into()))?;
    media.insert("id".into(), Value::String(media_id.to_owned()));
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_uploaded_id_replaces_the_placeholder_only() {
        let body = r#"{"messaging_product":"whatsapp","to":"1","type":"document","document":{"id":"upload-pending","filename":"a.pdf","caption":"c"},"biz_opaque_callback_data":"dox:k"}"#;
        assert_eq!(media_id_of(body).as_deref(), Some(UPLOAD_PENDING));
        let sent = with_media_id(body, "991").unwrap();
        let v: Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(v["document"]["id"], "991");
        assert_eq!(v["document"]["filename"], "a.pdf");
        assert_eq!(v["biz_opaque_callback_data"], "dox:k");
        assert!(with_media_id(r#"{"type":"image"}"#, "1").is_err());
        assert_eq!(media_id_of(r#"{"type":"text","text":{"body":"x"}}"#), None);
    }

    #[test]
    fn a_templates_header_file_is_found_and_named() {
        let body = r#"{"type":"template","template":{"name":"menu","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","text":"Ana"}]},{"type":"header","parameters":[{"type":"document","document":{"id":"upload-pending","filename":"menu.pdf"}}]}]}}"#;
        assert_eq!(media_id_of(body).as_deref(), Some(UPLOAD_PENDING));
        let v: Value = serde_json::from_str(&with_media_id(body, "77").unwrap()).unwrap();
        let header = &v["template"]["components"][1]["parameters"][0];
        assert_eq!(header["document"]["id"], "77");
        assert_eq!(header["document"]["filename"], "menu.pdf");
        assert_eq!(
            v["template"]["components"][0]["parameters"][0]["text"],
            "Ana"
        );
        // A template without a media header names no file.
        let text_only = r#"{"type":"template","template":{"name":"hi","components":[]}}"#;
        assert_eq!(media_id_of(text_only), None);
        assert!(with_media_id(text_only, "77").is_err());
    }
}
