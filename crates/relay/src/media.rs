//! Inbound media survive: Meta's download URL lives 5 minutes and the media id about 7 days,
//! so the relay fetches each inbound media file once its webhook entry is committed, seals it
//! to the workspace key and serves the sealed bytes to devices (`GET /v1/media/{media_id}`).
//!
//! - Queueing is part of the webhook's commit: ingest finds the media an entry names before
//!   the commit, and the store writes them to the durable queue (table `media`, `pending`
//!   with `attempts` and `next_attempt_at`) in the same transaction as the event, so no
//!   crash can keep the event and lose its fetch; the worker is woken after the commit.
//! - The worker fetches with the WABA's stored business token (`GET /{media-id}`, then the
//!   URL), checks the SHA-256 when Meta gives one, seals the bytes with the workspace's
//!   public key (the same sealed envelope as events) and writes them under
//!   `data_dir/media/<workspace>/` (only ciphertext on disk). Failures are retried with
//!   exponential backoff; the queue survives restarts.
//! - Each final outcome is told to the workspace's devices with a relay-written
//!   `media_status` event (sealed), so they can fall back to Meta or show "unavailable".

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use cloud_api::webhook::WebhookPayload;
use protocol::events::EventKind;
use protocol::media::{MediaFetchStatus, MediaStatus, MIME_HEADER, SHA256_HEADER, SIZE_HEADER};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::{MediaJob, MediaRef, NewMediaJob, StoredMedia, WriteOp};
use crate::webhooks::commit::CommitError;
use crate::AppState;

/// Due fetches taken per round (run concurrently).
const BATCH: u32 = 8;
/// Longest sleep of the worker between looks at the queue.
const IDLE: Duration = Duration::from_secs(60);
/// Longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// Wakes the media worker when new fetches were queued.
#[derive(Default)]
pub struct MediaQueue {
    notify: Notify,
}

impl MediaQueue {
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// Cheap test before parsing an entry: only media messages carry a `mime_type`.
pub fn may_carry_media(raw: &[u8]) -> bool {
    // Every webhook is scanned: memchr's SIMD search, not a byte-by-byte window compare
    // (which was 2.5 % of the relay's CPU under the ingest bench).
    memchr::memmem::find(raw, b"\"mime_type\"").is_some()
}

/// The media a webhook entry (its exact bytes) names; empty for entries without media.
pub fn media_refs(raw_entry: &[u8]) -> Vec<MediaRef> {
    if !may_carry_media(raw_entry) {
        return Vec::new();
    }
    let Ok(entry) = serde_json::from_slice::<serde_json::Value>(raw_entry) else {
        return Vec::new();
    };
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [entry]});
    let Ok(payload) = serde_json::from_value::<WebhookPayload>(body) else {
        return Vec::new();
    };
    payload
        .media()
        .into_iter()
        .map(|m| MediaRef {
            media_id: m.media_id.to_owned(),
            waba_id: m.waba_id.to_owned(),
            phone_number_id: m.phone_number_id.to_owned(),
        })
        .collect()
}

/// The fetches one webhook entry of `workspace_id` needs.
pub fn media_jobs(workspace_id: Uuid, raw_entry: &[u8]) -> Vec<NewMediaJob> {
    media_refs(raw_entry)
        .iter()
        .map(|m| m.for_workspace(workspace_id))
        .collect()
}

/// Where a media file's sealed bytes live: one directory per workspace (removed with it), the
/// file named by the SHA-256 of the media id (ids are Meta's, not ours to trust as paths).
pub fn media_path(data_dir: &Path, workspace_id: Uuid, media_id: &str) -> PathBuf {
    workspace_dir(data_dir, workspace_id).join(format!(
        "{}.sealed",
        hex::encode(Sha256::digest(media_id.as_bytes()))
    ))
}

pub fn workspace_dir(data_dir: &Path, workspace_id: Uuid) -> PathBuf {
    data_dir.join("media").join(workspace_id.to_string())
}

/// Removes every media file of a deleted workspace.
pub async fn delete_workspace_media(data_dir: &Path, workspace_id: Uuid) {
    let dir = workspace_dir(data_dir, workspace_id);
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(error = %e, "removing a deleted workspace's media failed"),
    }
}

/// Retention: forgets media older than `before` and removes their files.
pub async fn prune(state: &AppState, before: OffsetDateTime) {
    match state.store.prune_media(before).await {
        Ok(gone) => {
            for (ws, id) in &gone {
                let _ = tokio::fs::remove_file(media_path(&state.config.data_dir, *ws, id)).await;
            }
            if !gone.is_empty() {
                tracing::info!(removed = gone.len(), "retention pruned media");
            }
        }
        Err(e) => tracing::error!(error = %e, "media retention failed"),
    }
}

/// The worker: takes due fetches until the relay shuts down.
pub async fn worker(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let now = OffsetDateTime::now_utc();
        match state.store.due_media(now, BATCH).await {
            Ok(jobs) if !jobs.is_empty() => {
                futures::future::join_all(jobs.into_iter().map(|job| process(&state, job))).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "reading the media queue failed"),
        }
        let wait = match state.store.next_media_due().await {
            Ok(Some(at)) => Duration::try_from(at - OffsetDateTime::now_utc())
                .unwrap_or(Duration::ZERO)
                .min(IDLE),
            _ => IDLE,
        };
        tokio::select! {
            _ = state.media_queue.notify.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = crate::stopping(&mut shutdown) => break,
        }
    }
    tracing::debug!("media worker stopped");
}

enum FetchError {
    /// Worth another attempt.
    Retry(String),
    /// Retrying cannot help (undecryptable token, workspace gone).
    Final(String),
}

async fn process(state: &AppState, job: MediaJob) {
    // A shutdown abandons the fetch (it stays pending and resumes after the restart) rather
    // than waiting for a download; recording an outcome, once reached, runs to its end.
    let mut shutdown = state.shutdown.clone();
    let outcome = tokio::select! {
        outcome = fetch_and_store(state, &job) => outcome,
        _ = crate::stopping(&mut shutdown) => return,
    };
    let store = &state.store;
    let status = match outcome {
        Ok(stored) => {
            if let Err(e) = store
                .media_stored(job.workspace_id, &job.media_id, stored)
                .await
            {
                tracing::error!(error = %e, "recording stored media failed");
                return;
            }
            Metrics::add(&state.metrics.media_stored, 1);
            tracing::info!(attempts = job.attempts + 1, "inbound media stored");
            MediaStatus {
                media_id: job.media_id.clone(),
                status: MediaFetchStatus::Stored,
                error: None,
            }
        }
        Err(FetchError::Retry(error)) if job.attempts + 1 < state.config.media_max_attempts => {
            Metrics::add(&state.metrics.media_attempts_failed, 1);
            let delay = backoff(state.config.media_retry_base, job.attempts);
            let next = OffsetDateTime::now_utc() + delay;
            tracing::warn!(error = %error, attempts = job.attempts + 1, "media fetch failed; will retry");
            if let Err(e) = store
                .media_attempt_failed(job.workspace_id, &job.media_id, &error, Some(next))
                .await
            {
                tracing::error!(error = %e, "recording a media retry failed");
            }
            return;
        }
        Err(FetchError::Retry(error) | FetchError::Final(error)) => {
            Metrics::add(&state.metrics.media_attempts_failed, 1);
            Metrics::add(&state.metrics.media_failed, 1);
            tracing::warn!(error = %error, attempts = job.attempts + 1, "media fetch failed; giving up");
            if let Err(e) = store
                .media_attempt_failed(job.workspace_id, &job.media_id, &error, None)
                .await
            {
                tracing::error!(error = %e, "recording a failed media fetch failed");
                return;
            }
            MediaStatus {
                media_id: job.media_id.clone(),
                status: MediaFetchStatus::Failed,
                error: Some(error),
            }
        }
    };
    append_status_until_taken(state, job.workspace_id, &status).await;
}

/// [`append_status`], retried while the store refuses appends for now (its event index is
/// stalled, [`CommitError::Busy`]): the media is already recorded as stored or failed, so this
/// event is the devices' only word of it. Gives up on other errors and at shutdown.
async fn append_status_until_taken(state: &AppState, workspace_id: Uuid, status: &MediaStatus) {
    let mut delay = Duration::from_secs(1);
    let mut shutdown = state.shutdown.clone();
    loop {
        let Err(e) = append_status(state, workspace_id, status).await else {
            return;
        };
        if e.downcast_ref::<CommitError>() != Some(&CommitError::Busy) {
            tracing::error!(error = %e, "appending a media_status event failed");
            return;
        }
        tracing::warn!(retry_in = ?delay, "the store is behind; the media_status event waits");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = crate::stopping(&mut shutdown) => {
                tracing::error!("stopping with a media_status event not appended");
                return;
            }
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// `base * 2^attempts`, at most an hour.
fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1u32 << attempts.min(16))
        .min(MAX_BACKOFF)
}

/// Appends the relay-written `media_status` event, sealed to the workspace, once per media
/// id and status.
async fn append_status(
    state: &AppState,
    workspace_id: Uuid,
    status: &MediaStatus,
) -> anyhow::Result<()> {
    let ws = state
        .store
        .workspace(workspace_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("workspace is gone"))?;
    let plaintext = serde_json::to_vec(status)?;
    let sealed = protocol::seal(&ws.public_key, &plaintext)?;
    let mut h = Sha256::new();
    h.update(b"media_status:");
    h.update(status.media_id.as_bytes());
    h.update(if status.status == MediaFetchStatus::Stored {
        b":stored" as &[u8]
    } else {
        b":failed"
    });
    state
        .committer
        .submit(vec![WriteOp::RelayEvent {
            workspace_id,
            kind: EventKind::MediaStatus,
            dedupe_key: h.finalize().into(),
            sealed,
            created_at: OffsetDateTime::now_utc(),
        }])
        .await?;
    Ok(())
}

/// Whether Meta's `sha256` (hex or base64, depending on where it came from) names `digest`.
fn sha256_matches(given: &str, digest: &[u8]) -> bool {
    let given = given.trim();
    if given.eq_ignore_ascii_case(&hex::encode(digest)) {
        return true;
    }
    [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ]
    .iter()
    .any(|e| e.decode(given).is_ok_and(|d| d == digest))
        || base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(given.trim_end_matches('='))
            .is_ok_and(|d| d == digest)
}

async fn fetch_and_store(state: &AppState, job: &MediaJob) -> Result<StoredMedia, FetchError> {
    let internal = |e: &dyn std::fmt::Display| FetchError::Retry(format!("relay error: {e}"));
    let token = state
        .store
        .business_token(&job.waba_id)
        .await
        .map_err(|e| internal(&e))?
        .filter(|t| t.workspace_id == job.workspace_id)
        // Retried: an onboarding may be storing the token right now (its webhooks race it).
        .ok_or_else(|| FetchError::Retry("no business token for this WABA".into()))?;
    let token = state
        .keys
        .decrypt_business_token(&job.waba_id, &token.encrypted)
        .map_err(|_| FetchError::Final("the stored business token cannot be decrypted".into()))?;
    let workspace = state
        .store
        .workspace(job.workspace_id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| FetchError::Final("the workspace is gone".into()))?;
    let graph = state.graph.with_token(token);
    let info = graph
        .media_info(&job.media_id, Some(&job.phone_number_id))
        .await
        .map_err(|e| FetchError::Retry(format!("media info: {e}")))?;
    let bytes = graph
        .download_media(&info.url)
        .await
        .map_err(|e| FetchError::Retry(format!("download: {e}")))?;
    let digest = Sha256::digest(&bytes);
    if let Some(given) = info.sha256.as_deref().filter(|s| !s.is_empty()) {
        if !sha256_matches(given, &digest) {
            return Err(FetchError::Retry(
                "the download does not match its sha256".into(),
            ));
        }
    }
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let key = workspace.public_key;
    let sealed = tokio::task::spawn_blocking(move || protocol::seal(&key, &bytes))
        .await
        .map_err(|e| internal(&e))?
        .map_err(|e| internal(&e))?;
    let path = media_path(&state.config.data_dir, job.workspace_id, &job.media_id);
    write_durably(&path, sealed)
        .await
        .map_err(|e| internal(&e))?;
    Ok(StoredMedia {
        mime_type: info.mime_type,
        size,
        sha256: hex::encode(digest),
        fetched_at: OffsetDateTime::now_utc(),
    })
}

/// Writes to a temporary file, fsyncs, renames into place and fsyncs the directory.
async fn write_durably(path: &Path, data: Vec<u8>) -> std::io::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let dir = path.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension(format!("tmp-{}", Uuid::new_v4()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

/// `GET /v1/media/{media_id}`: the sealed bytes of a stored media file of the caller's
/// workspace; 404 for anything else (unknown, another workspace's, not fetched yet, failed).
pub async fn download(
    State(state): State<AppState>,
    auth: Auth,
    UrlPath(media_id): UrlPath<String>,
) -> AppResult<Response> {
    let record = state
        .store
        .media(auth.workspace_id, &media_id)
        .await?
        .filter(|r| r.status == "stored")
        .ok_or(AppError::NotFound)?;
    let path = media_path(&state.config.data_dir, auth.workspace_id, &media_id);
    let sealed = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let mut resp = (StatusCode::OK, Body::from(sealed)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let mut put = |name: &'static str, value: Option<String>| {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            h.insert(name, v);
        }
    };
    put(MIME_HEADER, record.mime_type);
    put(SIZE_HEADER, record.size.map(|s| s.to_string()));
    put(SHA256_HEADER, record.sha256);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(30);
        assert_eq!(backoff(b, 0), Duration::from_secs(30));
        assert_eq!(backoff(b, 2), Duration::from_secs(120));
        assert_eq!(backoff(b, 30), MAX_BACKOFF);
    }

    #[test]
    fn sha256_in_hex_or_base64() {
        let d = Sha256::digest(b"abc");
        assert!(sha256_matches(&hex::encode(d), &d));
        assert!(sha256_matches(
            &base64::engine::general_purpose::STANDARD.encode(d),
            &d
        ));
        assert!(!sha256_matches("00", &d));
    }

    #[test]
    fn media_of_an_entry() {
        let ws = Uuid::new_v4();
        let raw = br#"{"id":"W1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"P1"},"messages":[{"from":"2","id":"wamid.1","timestamp":"1","type":"image","image":{"id":"M1","mime_type":"image/png","sha256":"x"}}]}}]}"#;
        let jobs = media_jobs(ws, raw);
        assert_eq!(
            jobs,
            vec![NewMediaJob {
                workspace_id: ws,
                media_id: "M1".into(),
                waba_id: "W1".into(),
                phone_number_id: "P1".into(),
            }]
        );
        assert!(media_jobs(ws, br#"{"id":"W1","changes":[]}"#).is_empty());
    }
}
