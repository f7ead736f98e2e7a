//! The fetch worker: downloads what the queue says is due, from the relay first and from Meta
//! when the relay could not get it, checks it, and keeps it encrypted.
//!
//! | the row / the source says | the row | why |
//! |---|---|---|
//! | relay `stored` (or no word from the relay after [`super::queue::RELAY_WAIT_SECS`]) | fetch `GET /v1/media/{id}`, open with the workspace key | the relay got it while Meta's URL lived |
//! | relay `failed`, or relay 404 | fetch from Meta with the number's token, while the media id lives (7 days) | e.g. the relay holds no token for the WABA (claimed before it kept manual setups' tokens), or its fetch failed |
//! | network, 5xx, 429, Meta retryable | `pending`, retried after `retry_base × 2^attempts` (≤ 1 h), `failed` after `max_attempts` | it passes |
//! | SHA-256 mismatch, larger than Meta's limit, media id expired, no token, Meta permanent error | `failed` with the reason | retrying the same download cannot help |

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloud_api::client::{CloudApiClient, CloudApiError};
use protocol::WorkspaceSecretKey;
use tokio::sync::Notify;

use super::{file, queue, verify, MediaError};
use crate::store::{now, Store, StoreError};
use crate::sync::{RelayClient, SyncError};
use crate::vault::Vault;

/// Tuning of the worker.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Delay before the first retry, doubled after each failure (at most an hour).
    pub retry_base: Duration,
    /// Attempts before a download is given up.
    pub max_attempts: u32,
    /// How long Meta keeps an inbound media id (about 7 days).
    pub media_id_lifetime: Duration,
    /// Longest sleep between looks at the queue when nothing wakes the worker.
    pub idle_poll: Duration,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(30),
            max_attempts: 6,
            media_id_lifetime: Duration::from_secs(7 * 24 * 3600),
            idle_poll: Duration::from_secs(60),
        }
    }
}

/// What one [`MediaFetcher::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchReport {
    /// Files downloaded, checked and stored.
    pub done: usize,
    /// Attempts that failed and will be retried.
    pub retried: usize,
    /// Downloads given up (with a reason on the row).
    pub failed: usize,
}

/// Downloads inbound media of one workspace. Cheap to clone.
#[derive(Clone)]
pub struct MediaFetcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    vault: Arc<Vault>,
    relay: RelayClient,
    key: WorkspaceSecretKey,
    graph: CloudApiClient,
    workspace_id: String,
    data_dir: PathBuf,
    config: MediaConfig,
    wake: Notify,
}

impl std::fmt::Debug for MediaFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFetcher")
            .field("workspace_id", &self.inner.workspace_id)
            .finish_non_exhaustive()
    }
}

/// What [`MediaFetcher::share_with_sibling`] did with a job.
enum Sharing {
    /// Marked done with another row's file.
    Shared,
    /// Its row was erased or expired meanwhile: nothing to download.
    Gone,
    /// No file to share: download it.
    Download,
}

enum Outcome {
    Done {
        bytes: Vec<u8>,
        mime_type: Option<String>,
    },
    Retry(String),
    Fail(String),
}

impl MediaFetcher {
    /// A worker for `workspace_id`, downloading from `relay` (with a session) and, as a
    /// fallback, from Meta through `graph` (tokens come from `vault`), storing files under the
    /// vault's data directory.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        relay: RelayClient,
        key: WorkspaceSecretKey,
        graph: CloudApiClient,
        workspace_id: impl Into<String>,
        config: MediaConfig,
    ) -> Self {
        let data_dir = vault.data_dir().to_path_buf();
        Self {
            inner: Arc::new(Inner {
                store,
                vault,
                relay,
                key,
                graph,
                workspace_id: workspace_id.into(),
                data_dir,
                config,
                wake: Notify::new(),
            }),
        }
    }

    /// Wakes [`Self::run`] (after sync applied a page: new rows or statuses may be due).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Rows left `downloading` by a crash become due again. [`Self::run`] calls it.
    pub async fn recover(&self) -> Result<u64, MediaError> {
        let mut conn = self.conn().await?;
        Ok(queue::recover(&mut conn).await?)
    }

    /// Downloads every row due now, one after the other.
    pub async fn run_once(&self) -> Result<FetchReport, MediaError> {
        let mut report = FetchReport::default();
        loop {
            let job = {
                let mut conn = self.conn().await?;
                queue::claim_next(&mut conn, &self.inner.workspace_id).await?
            };
            let Some(job) = job else {
                return Ok(report);
            };
            self.process(job, &mut report).await?;
        }
    }

    /// Runs until `shutdown` resolves: recovers, then downloads rows as they become due (woken
    /// by [`Self::wake`], else when the next retry is due, at the latest every `idle_poll`).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), MediaError> {
        tokio::pin!(shutdown);
        self.recover().await?;
        loop {
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                outcome = self.run_once() => {
                    if let Err(e) = outcome {
                        tracing::warn!(error = %e, "media: a round failed");
                    }
                }
            }
            let next = {
                let mut conn = self.conn().await?;
                queue::next_due_at(&mut conn, &self.inner.workspace_id).await?
            };
            let idle = self.inner.config.idle_poll;
            let sleep = next
                .map(|at| Duration::from_secs((at - now()).max(1) as u64).min(idle))
                .unwrap_or(idle);
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, StoreError> {
        Ok(self.inner.store.pool().acquire().await?)
    }

    async fn process(&self, job: queue::Job, report: &mut FetchReport) -> Result<(), MediaError> {
        match self.share_with_sibling(&job).await? {
            Sharing::Shared => {
                report.done += 1;
                return Ok(());
            }
            Sharing::Gone => return Ok(()),
            Sharing::Download => {}
        }
        let outcome = self.fetch(&job).await;
        match outcome {
            Outcome::Done { bytes, mime_type } => {
                let sha = hex::encode(verify::sha256(&bytes));
                let key = file::file_key(&self.inner.vault, true)?
                    .ok_or_else(|| MediaError::Internal("no media file key".into()))?;
                let relative = file::relative_path(job.id, &job.media_id);
                let data_dir = self.inner.data_dir.clone();
                let rel = relative.clone();
                let size = bytes.len() as i64;
                // Encrypting up to 100 MB is CPU work: off the async threads.
                let path = tokio::task::spawn_blocking(move || {
                    // The plaintext is wiped from memory once encrypted.
                    let bytes = zeroize::Zeroizing::new(bytes);
                    file::write(&data_dir, &key, &rel, &bytes)
                })
                .await
                .map_err(|e| MediaError::Internal(e.to_string()))??;
                let mut conn = self.conn().await?;
                let written = queue::StoredFile {
                    path: relative,
                    sha256: sha,
                    size_bytes: size,
                    mime_type,
                };
                let kept =
                    queue::mark_done(&mut conn, job.id, &written, queue::FileOwner::Own).await?;
                if !kept {
                    // Erased (or expired by retention) while downloading: the file must go too.
                    let _ = std::fs::remove_file(&path);
                } else {
                    report.done += 1;
                }
            }
            Outcome::Retry(error) => {
                let exp = u32::try_from(job.attempts.clamp(0, 16)).unwrap_or(16);
                let delay =
                    (self.inner.config.retry_base * 2u32.pow(exp)).min(Duration::from_secs(3600));
                let at = now() + delay.as_secs().max(1) as i64;
                tracing::info!(media = job.id, error = %error, "media: retrying later");
                let mut conn = self.conn().await?;
                queue::mark_retry(
                    &mut conn,
                    job.id,
                    &error,
                    at,
                    i64::from(self.inner.config.max_attempts),
                )
                .await?;
                report.retried += 1;
            }
            Outcome::Fail(reason) => {
                tracing::info!(media = job.id, reason = %reason, "media: unavailable");
                let mut conn = self.conn().await?;
                queue::mark_failed(&mut conn, job.id, &reason).await?;
                report.failed += 1;
            }
        }
        Ok(())
    }

    /// Points `job` at the file of another row with the same media id, when one is there:
    /// a broadcast's header is one upload, named by every recipient's message (on the team's
    /// other devices, one `message_sent` event each), and is downloaded and kept once, not
    /// once per recipient. Erasure and retention remove a file only once no row names it
    /// (`privacy::retention::unshared`).
    async fn share_with_sibling(&self, job: &queue::Job) -> Result<Sharing, MediaError> {
        let mut conn = self.conn().await?;
        let Some(sibling) = queue::done_sibling(&mut conn, job).await? else {
            return Ok(Sharing::Download);
        };
        // The file must fit this row's kind as a download would (the kind comes from
        // another device's event), and a digest the webhook gave must match.
        let cap = verify::max_bytes(job.kind.as_deref(), job.animated);
        if u64::try_from(sibling.size_bytes).map_or(true, |size| size > cap) {
            return Ok(Sharing::Download);
        }
        if let Some(given) = job.expected_sha256.as_deref() {
            let digest = hex::decode(&sibling.sha256).unwrap_or_default();
            if !verify::sha256_matches(given, &digest) {
                return Ok(Sharing::Download);
            }
        }
        if !self.inner.data_dir.join(&sibling.path).is_file() {
            return Ok(Sharing::Download);
        }
        if queue::mark_done(&mut conn, job.id, &sibling, queue::FileOwner::Shared).await? {
            return Ok(Sharing::Shared);
        }
        // Not shared: downloaded as usual, unless the row itself is gone.
        Ok(if queue::still_downloading(&mut conn, job.id).await? {
            Sharing::Download
        } else {
            Sharing::Gone
        })
    }

    async fn fetch(&self, job: &queue::Job) -> Outcome {
        let cap = verify::max_bytes(job.kind.as_deref(), job.animated);
        if job.relay_status.as_deref() != Some("failed") {
            match self.inner.relay.media(&job.media_id, cap).await {
                Ok(Some(media)) => return self.open_relay_copy(job, media, cap),
                // Not (or no longer) at the relay: Meta may still have it.
                Ok(None) => {}
                Err(SyncError::Api { status: 413, .. }) => return too_large(cap),
                Err(e) => return Outcome::Retry(format!("the relay: {e}")),
            }
        }
        self.download_from_meta(job, cap).await
    }

    fn open_relay_copy(
        &self,
        job: &queue::Job,
        media: crate::sync::RelayMedia,
        cap: u64,
    ) -> Outcome {
        let bytes = match protocol::open(&self.inner.key, &media.sealed) {
            Ok(b) => b,
            Err(_) => {
                return Outcome::Fail(
                    "the relay's copy does not open with this workspace's key".into(),
                )
            }
        };
        if bytes.len() as u64 > cap {
            return too_large(cap);
        }
        let announced = [
            ("the relay", media.sha256.as_deref()),
            ("WhatsApp", job.expected_sha256.as_deref()),
        ];
        match verify::check_sha256(&bytes, announced) {
            Ok(_) => Outcome::Done {
                bytes,
                mime_type: media.mime_type.or_else(|| job.mime_type.clone()),
            },
            Err(reason) => Outcome::Fail(reason),
        }
    }

    async fn download_from_meta(&self, job: &queue::Job, cap: u64) -> Outcome {
        let relay_said = job
            .relay_error
            .as_deref()
            .map(|e| format!(" (the relay could not fetch it: {e})"))
            .unwrap_or_default();
        let age = now().saturating_sub(job.ts).max(0) as u64;
        if age > self.inner.config.media_id_lifetime.as_secs() {
            return Outcome::Fail(format!(
                "WhatsApp keeps received media for 7 days and this file was not downloaded in \
                 time{relay_said}"
            ));
        }
        let token = crate::team::token_record(&job.phone_number_id)
            .ok()
            .and_then(|record| self.inner.vault.get_record(&record).ok().flatten())
            .and_then(|t| String::from_utf8(t.to_vec()).ok());
        let Some(token) = token else {
            return Outcome::Fail(format!(
                "no WhatsApp token for this number on this device: connect WhatsApp to \
                 download it{relay_said}"
            ));
        };
        let graph = self.inner.graph.with_token(token);
        let meta_error = |e: CloudApiError| {
            if e.class().is_retryable() {
                Outcome::Retry(format!("WhatsApp: {e}"))
            } else if matches!(e, CloudApiError::MediaTooLarge { .. }) {
                too_large(cap)
            } else {
                Outcome::Fail(format!("WhatsApp: {e}{relay_said}"))
            }
        };
        let info = match graph
            .media_info(&job.media_id, Some(&job.phone_number_id))
            .await
        {
            Ok(info) => info,
            Err(e) => return meta_error(e),
        };
        if info.file_size.is_some_and(|n| n > cap) {
            return too_large(cap);
        }
        let bytes = match graph.download_media(&info.url).await {
            Ok(b) => b,
            Err(e) => return meta_error(e),
        };
        if bytes.len() as u64 > cap {
            return too_large(cap);
        }
        let announced = [
            ("WhatsApp", info.sha256.as_deref()),
            ("the webhook", job.expected_sha256.as_deref()),
        ];
        match verify::check_sha256(&bytes, announced) {
            Ok(_) => Outcome::Done {
                bytes: bytes.to_vec(),
                mime_type: Some(info.mime_type),
            },
            Err(reason) => Outcome::Fail(reason),
        }
    }
}

fn too_large(cap: u64) -> Outcome {
    Outcome::Fail(format!(
        "the file is larger than WhatsApp allows for this kind of message ({} MB)",
        cap as f64 / (1024.0 * 1024.0)
    ))
}
