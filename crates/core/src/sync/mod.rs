//! Sync with the relay: fetch the workspace's sealed event log, apply it to the store, ack.
//!
//! The relay (`crates/relay/API.md`) keeps a per-workspace log of sealed events — one Meta
//! webhook `entry` each, or an event another device appended. This module:
//! - [`RelayClient`]: register / sign in (the caller keeps the returned session token sealed in
//!   the [`crate::vault`]), claim a WABA, fetch pages (`GET /v1/events`, long-poll), ack.
//! - `stream`: the relay's Server-Sent Events read into log events (`eventsource-stream` for
//!   the framing).
//! - [`apply_page`]: opens every event with the workspace secret key, parses it with
//!   `cloud_api::webhook`, and writes the whole page — contacts, conversations, messages,
//!   statuses, reactions, edits and deletions, device events (the team inbox, through
//!   [`crate::team::apply_device_event`]), what is kept raw, **and the sync cursor** — in
//!   **one transaction**.
//! - [`Syncer`]: [`Syncer::run_once`] catches up every page; [`Syncer::live`] then follows the
//!   relay's Server-Sent Events (`GET /v1/events/stream`, from the committed cursor), applying
//!   what arrives in batches exactly as pages ([`Live`]); [`Syncer::run`] does both and
//!   reconnects with backoff.
//!
//! Why this shape:
//! - **One transaction per page, never per row** (DESIGN.md "Performance habits"): a catch-up of
//!   100,000 events is 100 commits, not 100,000. It is also what makes a page atomic: it is
//!   either wholly applied with its cursor, or not at all.
//! - **The cursor is committed with the page; the relay is acked only after the commit.** If
//!   the process dies between commit and ack, the relay still holds the events and sends them
//!   again; every write is idempotent (messages by wamid, statuses by (wamid, status) with
//!   precedence sent < delivered < read < played and failed terminal, reactions newest-wins,
//!   revisions by (wamid, kind, ts), raw parts by (event id, part)), so nothing is doubled.
//!   The next run fetches after the *stored* cursor and re-acks it first, so the relay catches
//!   up too. Acking before commit could lose a page; committing without the cursor could
//!   re-apply pages forever.
//! - **A bad event never blocks the log.** An envelope that does not open, a plaintext that is
//!   not JSON, unknown webhook fields, and parts nothing applies yet (template, phone-number
//!   and account updates; device events of unknown types, kept sealed) are kept in
//!   `sync_raw_events`
//!   and the cursor moves on: stopping the whole workspace's sync on one event would be worse
//!   than keeping it for inspection (and for a later applier). Unknown message types are
//!   stored as messages of kind `unsupported` with their JSON, never dropped.
//! - **`resync_required` is never a silent gap**: it comes back as
//!   [`SyncError::ResyncRequired`] for the UI to surface.
//! - **Pages to catch up, a stream to stay current.** Pages of 1000 are the fastest way
//!   through a backlog; once a page comes back short, one open stream delivers each new event
//!   within milliseconds without a request per round. A relay without the stream (404/405) is
//!   long-polled instead.

mod apply;
pub(crate) mod apply_account;
mod client;
mod live;
mod peers;
mod stream;

use std::future::Future;
use std::time::Duration;

use protocol::WorkspaceSecretKey;

use crate::store::{Store, StoreError};

pub use apply::{apply_opened, apply_page, apply_page_with, open_page, OpenedPage, PageReport};
pub use client::{RelayClient, RelayMedia};
pub use live::{Live, LiveBatch, Transport, QUIET, STREAM_IDLE};

/// The `sync_cursor` stream of the relay's event log.
pub const CURSOR_STREAM: &str = "relay:events";

/// Events per page requested from the relay (its maximum).
pub const PAGE_LIMIT: u32 = protocol::events::MAX_PAGE;

/// Errors of sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The relay pruned events this device never got: its state must be rebuilt another way.
    /// `next_after` is where the log continues.
    #[error(
        "the relay no longer holds every event since this device last synced (after {next_after}); \
         a full resync is required"
    )]
    ResyncRequired {
        /// The last pruned seq: continue after it once rebuilt.
        next_after: i64,
    },
    /// A request needing a session was made without a token.
    #[error("not signed in to the relay")]
    NotSignedIn,
    /// The relay answered with an error.
    #[error("the relay answered {status} {kind}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error kind (`unauthenticated`, `conflict`, ...), empty when there was no body.
        kind: String,
        /// For humans.
        message: String,
    },
    /// The relay could not be reached (or answered something unreadable).
    #[error("the relay could not be reached: {0}")]
    Http(#[from] reqwest::Error),
    /// The relay's event stream broke off or sent something unreadable; reconnecting from the
    /// committed cursor is the remedy.
    #[error("the relay's event stream broke off: {0}")]
    StreamBroken(String),
    /// The store failed; the page was rolled back and not acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Applying a page could not finish because the runtime is shutting down; nothing of it
    /// was committed, and the next run applies it from the committed cursor.
    #[error("applying a page was interrupted: the app is shutting down")]
    Interrupted,
    /// The vault failed (reading or sealing the session).
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
}

impl SyncError {
    /// The session is not valid any more: sign in again (retrying will not help).
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Self::Api { status: 401, .. } | Self::NotSignedIn)
    }

    /// The relay says the session's workspace was deleted by its owner (410
    /// `workspace_deleted`): no sign-in can help; the device may erase its copy.
    pub fn is_workspace_deleted(&self) -> bool {
        matches!(self, Self::Api { status: 410, kind, .. } if kind == "workspace_deleted")
    }

    /// Worth retrying after a pause: network errors and 5xx / 429 answers.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http(_) | Self::StreamBroken(_) => true,
            Self::Api { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// Totals of a catch-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncProgress {
    /// Non-empty pages applied.
    pub pages: usize,
    /// Events applied.
    pub events: usize,
    /// Messages stored for the first time.
    pub messages_inserted: usize,
    /// Messages seen again (redelivery).
    pub messages_duplicate: usize,
    /// Status events recorded for the first time.
    pub statuses_recorded: usize,
    /// Reactions applied.
    pub reactions: usize,
    /// Edits and deletions applied.
    pub revisions: usize,
    /// Parts newly kept raw.
    pub kept_raw: usize,
    /// Template, account and preference updates applied.
    pub account_updates: usize,
    /// Of those, template status, quality and category updates.
    pub template_updates: usize,
    /// Contacts erased by other devices (see [`PageReport::contacts_erased`]).
    pub contacts_erased: usize,
    /// The committed (and acknowledged) cursor.
    pub cursor: i64,
}

impl SyncProgress {
    fn add(&mut self, page: &PageReport) {
        self.pages += 1;
        self.events += page.events;
        self.messages_inserted += page.messages_inserted;
        self.messages_duplicate += page.messages_duplicate;
        self.statuses_recorded += page.statuses_recorded;
        self.reactions += page.reactions;
        self.revisions += page.revisions;
        self.kept_raw += page.kept_raw;
        self.account_updates += page.account_updates;
        self.template_updates += page.template_updates;
        self.contacts_erased += page.contacts_erased;
        self.cursor = page.cursor;
    }
}

/// Keeps the store in step with the relay's event log of one workspace.
#[derive(Clone)]
pub struct Syncer {
    store: Store,
    client: RelayClient,
    key: WorkspaceSecretKey,
    workspace_id: String,
    /// Receives the tokens of `number_connected` device events.
    vault: Option<std::sync::Arc<crate::vault::Vault>>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("client", &self.client)
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

impl Syncer {
    /// A syncer writing to `store`, reading through `client` (with a session token), opening
    /// events with the workspace secret `key`.
    pub fn new(
        store: Store,
        client: RelayClient,
        key: WorkspaceSecretKey,
        workspace_id: impl Into<String>,
    ) -> Self {
        Self {
            store,
            client,
            key,
            workspace_id: workspace_id.into(),
            vault: None,
        }
    }

    /// The same syncer, storing the business tokens of `number_connected` device events in
    /// `vault` (without one, such events are kept sealed in `sync_raw_events`).
    pub fn with_vault(mut self, vault: std::sync::Arc<crate::vault::Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// The workspace whose log this syncs.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// The relay client (with its session).
    pub fn client(&self) -> &RelayClient {
        &self.client
    }

    /// The committed cursor (0 before the first page).
    pub async fn cursor(&self) -> Result<i64, SyncError> {
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        Ok(apply::store_cursor(&mut conn).await?)
    }

    /// Fetches one page after the committed cursor, waiting up to `wait` for events.
    pub async fn fetch(&self, wait: Duration) -> Result<protocol::events::EventPage, SyncError> {
        let after = self.cursor().await?;
        let page = self.client.events(after, PAGE_LIMIT, wait).await?;
        if page.resync_required {
            return Err(SyncError::ResyncRequired {
                next_after: page.next_after,
            });
        }
        Ok(page)
    }

    /// Applies (and commits, with its cursor) a page without acknowledging it.
    ///
    /// The page is applied in a task of its own, so dropping this future (sync raced against
    /// shutdown or sign-out) never cuts a transaction half-way: sqlx hands a connection whose
    /// `BEGIN` was processed but not yet received back to the pool mid-transaction, and every
    /// later `BEGIN IMMEDIATE` on it fails. An apply that started finishes (or rolls back on a
    /// store error) whatever its caller does; the page is acked by whoever comes next, from the
    /// committed cursor.
    pub async fn apply(&self, page: &protocol::events::EventPage) -> Result<PageReport, SyncError> {
        self.apply_opened(open_page(&self.key, page)).await
    }

    /// One live round: waits up to `wait` for events after the committed cursor, applies and
    /// acknowledges the page if one came. `None` when the wait ended without events.
    pub async fn poll_once(&self, wait: Duration) -> Result<Option<PageReport>, SyncError> {
        let page = self.fetch(wait).await?;
        if page.events.is_empty() {
            return Ok(None);
        }
        let report = self.apply(&page).await?;
        self.ack(report.cursor).await?;
        Ok(Some(report))
    }

    /// Catches up: fetches and applies every page until one comes back short (the relay has
    /// nothing more), acking each page after its commit. Returns the totals.
    pub async fn run_once(&self) -> Result<SyncProgress, SyncError> {
        self.catch_up(|_| {}).await
    }

    /// Like [`Self::run_once`], calling `progress` after every page (for long catch-ups).
    pub async fn run_once_with(
        &self,
        progress: impl FnMut(&SyncProgress),
    ) -> Result<SyncProgress, SyncError> {
        self.catch_up(progress).await
    }

    /// Acknowledges `cursor` once the commits up to it are on disk: afterwards the relay may
    /// drop those events, and a commit still in the kernel's cache would not survive a power
    /// cut ([`Store::sync_to_disk`]).
    async fn ack(&self, cursor: i64) -> Result<(), SyncError> {
        self.store.sync_to_disk().await?;
        self.client.ack(cursor).await?;
        Ok(())
    }

    /// Writes an opened page in a task of its own (see [`Self::apply`]).
    async fn apply_opened(&self, page: OpenedPage) -> Result<PageReport, SyncError> {
        let (store, workspace_id, vault) = (
            self.store.clone(),
            self.workspace_id.clone(),
            self.vault.clone(),
        );
        let task = tokio::spawn(async move {
            apply_opened(&store, &workspace_id, page, vault.as_deref()).await
        });
        match task.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the task.
            Err(_) => Err(SyncError::Interrupted),
        }
    }

    /// Fetches the page after `after` and opens it on a blocking thread ([`open_page`]): the
    /// half of a page's work that needs no database.
    async fn fetch_opened(&self, after: i64) -> Result<OpenedPage, SyncError> {
        let page = self
            .client
            .events(after, PAGE_LIMIT, Duration::ZERO)
            .await?;
        if page.resync_required {
            return Err(SyncError::ResyncRequired {
                next_after: page.next_after,
            });
        }
        let key = self.key.clone();
        tokio::task::spawn_blocking(move || open_page(&key, &page))
            .await
            .map_err(|_| SyncError::Interrupted)
    }

    // Each committed page wakes the store's background WAL checkpoint (`apply_opened`).
    async fn catch_up(
        &self,
        mut progress: impl FnMut(&SyncProgress),
    ) -> Result<SyncProgress, SyncError> {
        let mut totals = SyncProgress {
            cursor: self.cursor().await?,
            ..SyncProgress::default()
        };
        // A previous run may have committed without acking (crash, network): ack now.
        if totals.cursor > 0 {
            self.ack(totals.cursor).await?;
        }
        let mut opened = self.fetch_opened(totals.cursor).await?;
        // The acknowledgement of the page written last, in flight while the next is written.
        let mut acking: Option<AbortOnDrop<Result<(), SyncError>>> = None;
        loop {
            if opened.is_empty() {
                if let Some(ack) = acking.take() {
                    ack.finish().await?;
                }
                return Ok(totals);
            }
            // A short page is the end of the log as it stood: asking again would only fetch an
            // empty page. What arrives meanwhile comes with the live phase (or the next run).
            let last = opened.len() < PAGE_LIMIT as usize;
            // A pipeline: the next page is fetched and opened (decryption and parsing, a third
            // of a page's time) while this one is written. It only reads; each page is still
            // written and committed with its cursor alone, in order, and acked after its
            // commit. Should this page fail, the next is dropped unwritten (the task is
            // aborted) and refetched from the committed cursor by the next run.
            let next = (!last).then(|| {
                let (syncer, after) = (self.clone(), opened.next_after());
                AbortOnDrop(tokio::spawn(
                    async move { syncer.fetch_opened(after).await },
                ))
            });
            let report = match self.apply_opened(opened).await {
                Ok(report) => report,
                Err(e) => {
                    finish_quietly(acking).await;
                    return Err(e);
                }
            };
            // Acknowledged in the background (a flush to disk and a request to the relay),
            // one page at a time and in order: the previous page's acknowledgement finishes
            // (or fails the catch-up) before this one's starts.
            if let Some(ack) = acking.take() {
                ack.finish().await?;
            }
            let ack = {
                let (syncer, cursor) = (self.clone(), report.cursor);
                AbortOnDrop(tokio::spawn(async move { syncer.ack(cursor).await }))
            };
            totals.add(&report);
            progress(&totals);
            let Some(next) = next else {
                ack.finish().await?;
                return Ok(totals);
            };
            acking = Some(ack);
            opened = match next.finish().await {
                Ok(opened) => opened,
                Err(e) => {
                    finish_quietly(acking).await;
                    return Err(e);
                }
            };
        }
    }

    /// The live phase after a catch-up: events over the relay's Server-Sent Events stream
    /// from the committed cursor, applied in batches like pages (long-polling with `wait` per
    /// request against a relay without the stream). See [`Live`].
    pub fn live(&self, wait: Duration) -> Live {
        Live::new(self.clone(), wait)
    }

    /// Syncs until `shutdown` resolves: catches up by pages, then follows the relay's event
    /// stream ([`Self::live`]; long-polls of `wait` against a relay without one), calling
    /// `progress` with the running totals after every page or batch. On network or server
    /// errors, retries with exponential backoff (0.5 s doubling to 60 s; reset once events
    /// arrive or a stream stayed open 30 s) from the committed cursor. Returns on shutdown
    /// (`Ok`), or with the errors retrying cannot fix: [`SyncError::ResyncRequired`], an
    /// invalid session, a store error.
    pub async fn run(
        &self,
        wait: Duration,
        mut progress: impl FnMut(&SyncProgress),
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), SyncError> {
        tokio::pin!(shutdown);
        let mut backoff = INITIAL_BACKOFF;
        loop {
            // Catch up (re-acking the stored cursor) on the first round and after every failure.
            let caught_up = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                outcome = self.catch_up(&mut progress) => outcome,
            };
            let failure = match caught_up {
                Ok(mut totals) => {
                    // The backoff starts over only once the relay delivered something or kept
                    // a stream open a while: a relay (or proxy) that ends every stream at once
                    // would otherwise be asked again every half second, forever.
                    if totals.pages > 0 {
                        backoff = INITIAL_BACKOFF;
                    }
                    let opened = tokio::time::Instant::now();
                    let mut live = self.live(wait);
                    let failure = loop {
                        let batch = tokio::select! {
                            _ = &mut shutdown => return Ok(()),
                            batch = live.next() => batch,
                        };
                        match batch {
                            Ok(batch) => {
                                backoff = INITIAL_BACKOFF;
                                totals.add(&batch.report);
                                progress(&totals);
                            }
                            Err(e) => break e,
                        }
                    };
                    if opened.elapsed() >= HEALTHY_STREAM {
                        backoff = INITIAL_BACKOFF;
                    }
                    failure
                }
                Err(e) => e,
            };
            if !failure.is_transient() {
                return Err(failure);
            }
            tracing::warn!(error = %failure, delay_ms = backoff.as_millis() as u64, "sync: retrying");
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// A task aborted when its handle is dropped: the catch-up's look-ahead must not outlive it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

/// Lets the acknowledgement in flight finish when the catch-up stops on an error of its own:
/// best effort, since the next run acknowledges the committed cursor anyway.
async fn finish_quietly(ack: Option<AbortOnDrop<Result<(), SyncError>>>) {
    if let Some(ack) = ack {
        let _ = ack.finish().await;
    }
}

impl<T> AbortOnDrop<Result<T, SyncError>> {
    /// The task's outcome; a panic in it resumes here.
    async fn finish(mut self) -> Result<T, SyncError> {
        match (&mut self.0).await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Only a runtime shutting down cancels the task.
            Err(_) => Err(SyncError::Interrupted),
        }
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A stream that stayed open this long before breaking was healthy: reconnect promptly.
const HEALTHY_STREAM: Duration = Duration::from_secs(30);

/// Vault record holding the relay session token (sealed, never in the database).
pub const TOKEN_RECORD: &str = "relay.session-token";
/// Vault record holding the workspace X25519 secret key (32 bytes).
pub const WORKSPACE_KEY_RECORD: &str = "workspace.secret-key";
/// Store setting `{"url": ..., "workspace_id": ...}`: which relay and workspace this device
/// syncs with (not secret).
pub const RELAY_SETTING: &str = "relay";

/// Remembers a new session on this device: the token and the workspace key sealed in the
/// vault, the relay URL and workspace id in the store's settings.
pub async fn save_session(
    vault: &crate::vault::Vault,
    store: &Store,
    relay_url: &str,
    session: &protocol::auth::SessionCreated,
    key: &WorkspaceSecretKey,
) -> Result<(), SyncError> {
    vault.put_record(TOKEN_RECORD, session.token.as_bytes())?;
    let secret = zeroize::Zeroizing::new(key.to_bytes());
    vault.put_record(WORKSPACE_KEY_RECORD, secret.as_slice())?;
    let workspace_id = session.workspace.id.to_string();
    store
        .upsert_workspace(&workspace_id, &session.workspace.company)
        .await?;
    store
        .set_setting(
            RELAY_SETTING,
            &serde_json::json!({"url": relay_url, "workspace_id": workspace_id}),
        )
        .await?;
    Ok(())
}

/// The [`Syncer`] of the session saved by [`save_session`], or `None` if this device has not
/// signed in to a relay.
pub async fn saved_syncer(
    vault: &crate::vault::Vault,
    store: &Store,
) -> Result<Option<Syncer>, SyncError> {
    let Some(setting) = store.setting(RELAY_SETTING).await? else {
        return Ok(None);
    };
    let (Some(url), Some(workspace_id)) = (
        setting.get("url").and_then(|v| v.as_str()),
        setting.get("workspace_id").and_then(|v| v.as_str()),
    ) else {
        return Ok(None);
    };
    let (Some(token), Some(key)) = (
        vault.get_record(TOKEN_RECORD)?,
        vault.get_record(WORKSPACE_KEY_RECORD)?,
    ) else {
        return Ok(None);
    };
    let token = String::from_utf8(token.to_vec())
        .map_err(|_| StoreError::Invalid("the saved session token is not text".into()))?;
    let key: [u8; 32] = key
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::Invalid("the saved workspace key is not 32 bytes".into()))?;
    Ok(Some(Syncer::new(
        store.clone(),
        RelayClient::new(url).with_token(token),
        WorkspaceSecretKey::from_bytes(key),
        workspace_id,
    )))
}
