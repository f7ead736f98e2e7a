//! The device: everything one installation of DataOptix does, behind one handle, for the
//! desktop shell and `dataoptix-cli` alike.
//!
//! [`Device`] owns the unlocked [`Vault`], the encrypted [`Store`] and, once signed in, the
//! relay session and the workspace key. It turns user actions (register, sign in, join by
//! invitation, connect a number, read the inbox) into calls on the core modules, keeps the sync
//! with the relay running in the background, and announces what changed as [`DeviceEvent`]s
//! (the shell forwards them to the UI as typed events).
//!
//! Why a facade: the shell's commands stay "parse → call → map error" (DESIGN.md), the CLI
//! and the tests drive exactly the code the app runs, and the rules that belong to no single
//! screen (onboarding links accepted only for sessions this device started, the Graph API
//! taken from the relay's configuration, the token kept only in the vault) live in one place.

mod account;
mod attachments;
mod broadcasts;
mod collaboration;
mod compose;
mod error;
mod inbox;
pub mod links;
mod notices;
mod notify;
mod onboarding;
mod people;
mod privacy;
mod profile;
mod template_header;
mod templates;
mod uploads;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, watch, Mutex, RwLock};

use crate::store::{Store, DB_FILE};
use crate::sync::{LiveBatch, RelayClient, SyncError, Syncer};
use crate::vault::{PassphraseSource, SecretStore, Vault, VaultError};

pub use account::{Account, JoinInput, PhoneNumberView, RegisterInput, SignInInput};
pub use attachments::{AttachmentCheck, AttachmentInput, VoiceRecording};
pub use broadcasts::{BroadcastForm, BroadcastPreview};
pub use collaboration::{FieldChangeView, NoteView, QuickReplyView};
pub use compose::{ButtonsForm, ContactCardForm, ListForm, ListRowForm, ListSectionForm};
pub use error::DeviceError;
pub use inbox::{Outgoing, RenderedPreview, TemplateView};
pub use links::{DeepLink, LinkError};
pub use notices::{AccountNoticeView, NoticeFact, MAX_NOTICES};
pub use notify::NewMessage;
pub use onboarding::{ManualSetupInput, OnboardingOutcome, OnboardingStart};
pub use people::{parse_role, DeviceSessionView, InvitationView, MemberView, TeamView};
pub use privacy::{
    AccountDeleted, ActivityIntegrity, ActivityPageView, ActivityView, ContactCursor,
    ContactDetail, ContactPage, EraseResult, ExportResult, RetentionResult, RetentionSchedule,
    RetentionSettings, MAX_RETENTION_DAYS, RETENTION_EVERY, RETENTION_FIRST_AFTER,
};
pub use profile::{
    BusinessProfileView, ProfileUpdate, ABOUT_MAX, ADDRESS_MAX, DESCRIPTION_MAX, EMAIL_MAX,
    WEBSITES_MAX, WEBSITE_MAX,
};
pub use template_header::HeaderMediaInput;
pub use templates::{
    ButtonForm, HeaderForm, LintIssueView, TemplateDetailView, TemplateForm, TemplateHistoryView,
    TemplateLintView,
};
pub use uploads::HeaderSample;

/// Where the sync with the relay stands, for the offline banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum SyncState {
    /// Not signed in: nothing to sync.
    SignedOut,
    /// Starting or reconnecting.
    Connecting,
    /// Applying a backlog; `applied` events so far.
    #[serde(rename_all = "camelCase")]
    CatchingUp { applied: u64 },
    /// Live: new events arrive within a round trip.
    Online,
    /// The relay cannot be reached; retrying.
    #[serde(rename_all = "camelCase")]
    Offline { retry_in_seconds: u64 },
    /// The relay pruned events this device never got.
    ResyncRequired,
    /// The relay refused the session (revoked or expired): sign in again.
    SessionExpired,
    /// The workspace's owner deleted it at the relay: nothing more will sync, and this device
    /// still holds its copy ([`Device::erase_deleted_workspace`]).
    WorkspaceDeleted,
}

/// What changed, for whoever shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// Messages, statuses or conversation fields changed; empty = possibly all.
    InboxChanged { conversation_ids: Vec<i64> },
    /// The sync state changed.
    SyncState(SyncState),
    /// A number was connected (or its state changed).
    NumbersChanged,
    /// Inbound messages arrived (newest last), and how many more besides them.
    NewMessages {
        messages: Vec<NewMessage>,
        more: usize,
    },
    /// Templates changed: created, edited or deleted here, synced from Meta, or a status,
    /// quality or category webhook applied (e.g. APPROVED after review).
    TemplatesChanged,
    /// A privacy export is being written (contacts done of total, per stage).
    ExportProgress(crate::privacy::export::ExportProgress),
    /// A broadcast's per-state counts changed (sent, delivered, read, ...), or it was paused,
    /// resumed or cancelled.
    BroadcastProgress {
        broadcast_id: i64,
        counts: crate::broadcast::BroadcastCounts,
    },
}

/// One installation of DataOptix over its data directory. Cheap to clone.
#[derive(Clone)]
pub struct Device {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    vault: Arc<Vault>,
    store: Store,
    device_name: String,
    session: RwLock<Option<Session>>,
    /// Serialises updates of the onboarding sessions this device started (kept in the store).
    onboarding: Mutex<()>,
    events: broadcast::Sender<DeviceEvent>,
    sync_state: watch::Sender<SyncState>,
    /// Stops the background tasks of the current session.
    background: Mutex<Option<watch::Sender<bool>>>,
    /// When the background applies the retention policy (read when it starts).
    retention_schedule: std::sync::Mutex<RetentionSchedule>,
    /// Held while the retention policy is applied: the timer's run and "Apply now" never
    /// overlap (each would delete part of the other's work and report a split count).
    retention_running: Mutex<()>,
    /// Inbound messages up to this row id were announced (`notify`).
    announced_up_to: std::sync::atomic::AtomicI64,
}

/// The signed-in part.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) account: Account,
    pub(crate) client: RelayClient,
    pub(crate) key: protocol::WorkspaceSecretKey,
    /// What this device publishes to the workspace (labels, notes, sent messages, numbers).
    pub(crate) team: crate::team::Team,
    /// Sends, through the durable outbox.
    pub(crate) outbox: crate::send::Outbox,
    /// Downloads inbound media.
    pub(crate) media: crate::media::MediaFetcher,
    /// Broadcasts, sent through the outbox.
    pub(crate) broadcasts: crate::broadcast::Broadcasts,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("data_dir", &self.inner.data_dir)
            .finish_non_exhaustive()
    }
}

impl Device {
    /// Opens the data directory: unlocks the vault (OS keyring, else `passphrase`), opens the
    /// encrypted store, and restores the saved session if there is one. Does not start syncing
    /// (see [`Device::start_background`]).
    pub async fn open(
        data_dir: &Path,
        secrets: &dyn SecretStore,
        passphrase: &PassphraseSource<'_>,
        device_name: impl Into<String>,
    ) -> Result<Self, DeviceError> {
        let vault = Self::unlock(data_dir, secrets, passphrase)?;
        Self::open_with(vault, device_name).await
    }

    /// Unlocks the vault of `data_dir` (OS keyring, else `passphrase`); synchronous, so that
    /// callers whose futures must be `Send` can drop the passphrase source before awaiting.
    pub fn unlock(
        data_dir: &Path,
        secrets: &dyn SecretStore,
        passphrase: &PassphraseSource<'_>,
    ) -> Result<Vault, DeviceError> {
        let first_run = Vault::info(data_dir)?.is_none();
        Vault::open(data_dir, secrets, passphrase).map_err(|e| match e {
            VaultError::PassphraseRequired { .. } => DeviceError::NeedsPassphrase { first_run },
            other => DeviceError::Vault(other),
        })
    }

    /// Opens the device over an unlocked vault: the encrypted store, and the saved session if
    /// there is one.
    pub async fn open_with(
        vault: Vault,
        device_name: impl Into<String>,
    ) -> Result<Self, DeviceError> {
        let data_dir = vault.data_dir().to_path_buf();
        let store = Store::open(&data_dir.join(DB_FILE), &vault.store_key()?).await?;
        let (events, _) = broadcast::channel(256);
        let (sync_state, _) = watch::channel(SyncState::SignedOut);
        let device = Self {
            inner: Arc::new(Inner {
                data_dir,
                vault: Arc::new(vault),
                store,
                device_name: device_name.into(),
                session: RwLock::new(None),
                onboarding: Mutex::new(()),
                events,
                sync_state,
                background: Mutex::new(None),
                retention_schedule: std::sync::Mutex::new(RetentionSchedule::default()),
                retention_running: Mutex::new(()),
                announced_up_to: std::sync::atomic::AtomicI64::new(0),
            }),
        };
        device.restore_session().await?;
        Ok(device)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The encrypted store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The unlocked vault.
    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    /// Who acts on this device, for the activity log (`Name <email>`), once signed in.
    pub async fn actor(&self) -> Result<String, DeviceError> {
        let s = self.session().await?;
        Ok(format!("{} <{}>", s.account.user_name, s.account.email))
    }

    /// Appends `action` on `subject` to the activity log as the signed-in member (nothing when
    /// signed out). For actions already done when they are logged (a sign-in, a queued send, a
    /// template submitted to Meta): a failure to log is reported to tracing, not to the user,
    /// who would otherwise retry an action that happened (and send a message twice). The
    /// privacy operations instead return a failure to log (`crate::privacy`): there the entry
    /// is part of what they promise (erasures log in their own transaction), and retrying
    /// them is harmless.
    pub(crate) async fn log_activity(&self, action: &str, subject: &str, details: Value) {
        let Ok(actor) = self.actor().await else {
            return;
        };
        if let Err(e) = crate::privacy::activity::record(
            &self.inner.store,
            &actor,
            action,
            Some(subject),
            &details,
        )
        .await
        {
            tracing::warn!(error = %e, action, "activity not recorded");
        }
    }

    /// The signed-in workspace's id.
    pub async fn workspace_id(&self) -> Result<String, DeviceError> {
        Ok(self.session().await?.account.workspace_id)
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DeviceEvent> {
        self.inner.events.subscribe()
    }

    /// The current sync state.
    pub fn sync_state(&self) -> SyncState {
        self.inner.sync_state.borrow().clone()
    }

    pub(crate) fn emit(&self, event: DeviceEvent) {
        // No receiver is fine (the CLI does not listen).
        let _ = self.inner.events.send(event);
    }

    /// Moves from `from` to `to` if the state is `from` now; whether it did.
    pub(crate) fn leave_sync_state(&self, from: &SyncState, to: SyncState) -> bool {
        let changed = self.inner.sync_state.send_if_modified(|current| {
            if current == from {
                *current = to.clone();
                true
            } else {
                false
            }
        });
        if changed {
            self.emit(DeviceEvent::SyncState(to));
        }
        changed
    }

    fn set_sync_state(&self, state: SyncState) {
        let changed = self.inner.sync_state.send_if_modified(|current| {
            if *current == state {
                false
            } else {
                *current = state.clone();
                true
            }
        });
        if changed {
            self.emit(DeviceEvent::SyncState(state));
        }
    }

    pub(crate) async fn session(&self) -> Result<Session, DeviceError> {
        self.inner
            .session
            .read()
            .await
            .clone()
            .ok_or(DeviceError::SignedOut)
    }

    /// The session, for what acts on customers or Meta (sends, downloads): refused once the
    /// owner deleted the workspace, as the background work stops then
    /// ([`Self::stop_all_if_workspace_deleted`]).
    pub(crate) async fn acting_session(&self) -> Result<Session, DeviceError> {
        let session = self.session().await?;
        self.refuse_if_workspace_deleted()?;
        Ok(session)
    }

    /// [`DeviceError::WorkspaceDeleted`] once the owner deleted the workspace.
    pub(crate) fn refuse_if_workspace_deleted(&self) -> Result<(), DeviceError> {
        if self.sync_state() == SyncState::WorkspaceDeleted {
            return Err(DeviceError::WorkspaceDeleted);
        }
        Ok(())
    }

    /// Builds the signed-in state: team inbox and outbox over this device's store and vault.
    pub(crate) async fn session_for(
        &self,
        account: Account,
        client: RelayClient,
        key: protocol::WorkspaceSecretKey,
    ) -> Result<Session, DeviceError> {
        let team = crate::team::Team::new(
            self.inner.store.clone(),
            self.inner.vault.clone(),
            Some(client.clone()),
            key.public_key(),
            account.workspace_id.clone(),
            crate::team::Identity {
                user_id: account.user_id.clone(),
                name: account.user_name.clone(),
                device: account.session_id.clone(),
            },
        );
        let graph = self.graph().await?;
        let media = crate::media::MediaFetcher::new(
            self.inner.store.clone(),
            self.inner.vault.clone(),
            client.clone(),
            key.clone(),
            graph.clone(),
            account.workspace_id.clone(),
            crate::media::MediaConfig::default(),
        );
        let outbox =
            crate::send::Outbox::new(team.clone(), graph, crate::send::OutboxConfig::default());
        self.apply_throughput_limits(&outbox).await?;
        let broadcasts = crate::broadcast::Broadcasts::new(
            self.inner.store.clone(),
            outbox.clone(),
            account.workspace_id.clone(),
        );
        Ok(Session {
            account,
            client,
            key,
            team,
            outbox,
            media,
            broadcasts,
        })
    }

    /// The session, when its user is an owner or admin. What changes the business as a whole
    /// (templates, broadcasts to many customers, the public profile, sending rates) is theirs;
    /// agents answer customers and see the rest (the permission table: crates/relay/API.md).
    pub(crate) async fn require_manager(&self) -> Result<Session, DeviceError> {
        let session = self.session().await?;
        match session.account.role.as_str() {
            "owner" | "admin" => Ok(session),
            _ => Err(DeviceError::Forbidden),
        }
    }

    /// [`Self::require_manager`] for what an owner or admin does at Meta (templates, the
    /// business profile, broadcasts): refused once the owner deleted the workspace, like
    /// sends ([`Self::acting_session`]).
    pub(crate) async fn acting_manager(&self) -> Result<Session, DeviceError> {
        let session = self.require_manager().await?;
        self.refuse_if_workspace_deleted()?;
        Ok(session)
    }

    /// The syncer of the current session.
    pub async fn syncer(&self) -> Result<Syncer, DeviceError> {
        let session = self.session().await?;
        Ok(Syncer::new(
            self.inner.store.clone(),
            session.client.clone(),
            session.key.clone(),
            session.account.workspace_id.clone(),
        )
        .with_vault(self.inner.vault.clone()))
    }

    /// Starts syncing with the relay in the background (idempotent per session): catch-up,
    /// then the relay's event stream (long-polls against an older relay), reconnecting with
    /// backoff; state changes and applied pages are announced as events. Also runs the
    /// outbox, media downloads, broadcast progress, queued team events and the retention
    /// policy's timer ([`Device::set_retention_schedule`]). Stopped by
    /// [`Device::stop_background`] or signing out.
    pub async fn start_background(&self) -> Result<(), DeviceError> {
        let syncer = self.syncer().await?;
        let mut background = self.inner.background.lock().await;
        if background.is_some() {
            return Ok(());
        }
        // The owner deleted the workspace (noted by an earlier run): nothing may run; what is
        // left to do is erasing this copy ([`Self::erase_deleted_workspace`]).
        if self.sync_state() == SyncState::WorkspaceDeleted {
            return Ok(());
        }
        let session = self.session().await?;
        self.reset_announcements().await;
        let (stop, stopped) = watch::channel(false);
        *background = Some(stop);
        let device = self.clone();
        let sync_stopped = stopped.clone();
        let media = session.media.clone();
        tokio::spawn(async move { device.sync_loop(syncer, media, sync_stopped).await });
        // Inbound media: downloaded as soon as sync queues them (woken by the sync loop).
        let media = session.media.clone();
        let mut media_stopped = stopped.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = media_stopped.changed().await;
            };
            if let Err(e) = media.run(shutdown).await {
                tracing::error!(error = %e, "media downloads stopped");
            }
        });
        // The outbox: sends wait here while offline and go out when Meta is reachable.
        let outbox = session.outbox.clone();
        let mut outbox_stopped = stopped.clone();
        tokio::spawn(async move {
            if let Err(e) = outbox.recover().await {
                tracing::error!(error = %e, "outbox: recovery failed");
            }
            let shutdown = async move {
                let _ = outbox_stopped.changed().await;
            };
            if let Err(e) = outbox.run(shutdown).await {
                tracing::error!(error = %e, "outbox stopped");
            }
        });
        // Broadcasts: feed what a crash interrupted, and announce progress as statuses come.
        let device = self.clone();
        let progress_stopped = stopped.clone();
        let broadcasts = session.broadcasts.clone();
        tokio::spawn(async move {
            match broadcasts.resume_feeding().await {
                Ok(n) if n > 0 => tracing::info!(queued = n, "broadcasts: resumed feeding"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "broadcasts: resuming failed"),
            }
            device.watch_broadcasts(progress_stopped).await;
        });
        // The retention policy, applied shortly after the start and then on a timer.
        let device = self.clone();
        let retention_stopped = stopped.clone();
        tokio::spawn(async move { device.retention_loop(retention_stopped).await });
        // Team events made offline are published when the relay is back.
        let team = session.team.clone();
        let mut publish_stopped = stopped;
        tokio::spawn(async move {
            loop {
                if let Err(e) = team.publish_pending().await {
                    tracing::debug!(error = %e, "team: events still queued");
                }
                tokio::select! {
                    _ = publish_stopped.changed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        });
        Ok(())
    }

    /// Stops the background tasks.
    pub async fn stop_background(&self) {
        if let Some(stop) = self.inner.background.lock().await.take() {
            let _ = stop.send(true);
        }
    }

    async fn sync_loop(
        &self,
        syncer: Syncer,
        media: crate::media::MediaFetcher,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(500);
        // Erasures a crash interrupted before their files were removed.
        self.finish_erasures().await;
        'outer: loop {
            self.set_sync_state(SyncState::Connecting);
            // Catch up first (re-acking the stored cursor), announcing progress per page.
            let catch_up = syncer.run_once_with(|p| {
                self.set_sync_state(SyncState::CatchingUp {
                    applied: p.events as u64,
                });
                media.wake();
                self.emit(DeviceEvent::InboxChanged {
                    conversation_ids: Vec::new(),
                });
            });
            let outcome = tokio::select! {
                _ = stopped.changed() => return,
                outcome = catch_up => outcome,
            };
            let outcome = match outcome {
                Ok(progress) => {
                    if progress.template_updates > 0 {
                        self.emit(DeviceEvent::TemplatesChanged);
                    }
                    if progress.contacts_erased > 0 {
                        self.finish_erasures().await;
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                if self.stop_on(&e, syncer.workspace_id()).await {
                    self.stop_all_if_workspace_deleted().await;
                    return;
                }
                self.set_sync_state(SyncState::Offline {
                    retry_in_seconds: backoff.as_secs().max(1),
                });
                tracing::warn!(error = %e, "sync: relay unreachable, retrying");
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
            let was_offline = backoff > Duration::from_millis(500);
            backoff = Duration::from_millis(500);
            self.announce_new_messages().await;
            self.set_sync_state(SyncState::Online);
            if was_offline {
                // The network is back: sends waiting out a backoff go now.
                if let Ok(session) = self.session().await {
                    if let Err(e) = session.outbox.connection_back().await {
                        tracing::warn!(error = %e, "outbox: could not wake queued sends");
                    }
                }
            }
            // Live: the relay's event stream from the committed cursor (long-polls against an
            // older relay); each batch is applied and acked as it comes.
            let mut live = syncer.live(Duration::from_secs(25));
            loop {
                let outcome = tokio::select! {
                    _ = stopped.changed() => return,
                    outcome = live.next() => outcome,
                };
                match outcome {
                    Ok(LiveBatch { report, .. }) => {
                        // Device events may name media another device sent (message_sent).
                        if report.media_queued + report.media_statuses + report.device_events > 0 {
                            media.wake();
                        }
                        self.emit(DeviceEvent::InboxChanged {
                            conversation_ids: Vec::new(),
                        });
                        if report.template_updates > 0 {
                            self.emit(DeviceEvent::TemplatesChanged);
                        }
                        if report.contacts_erased > 0 {
                            self.finish_erasures().await;
                        }
                        self.announce_new_messages().await;
                    }
                    Err(e) => {
                        if self.stop_on(&e, syncer.workspace_id()).await {
                            self.stop_all_if_workspace_deleted().await;
                            return;
                        }
                        tracing::warn!(error = %e, "sync: connection lost");
                        continue 'outer;
                    }
                }
            }
        }
    }

    /// The workspace is gone: nothing of the device's background work may go on, above all
    /// not the outbox, which would keep sending to customers with the stored business token
    /// against the owner's deletion. (Only signals the tasks: safe from within one of them.)
    async fn stop_all_if_workspace_deleted(&self) {
        if self.sync_state() == SyncState::WorkspaceDeleted {
            self.stop_background().await;
        }
    }

    /// Notes in the store that the owner deleted `workspace`, before anyone is told: the next
    /// start then knows it before anything runs. Otherwise the outbox would send what is
    /// queued until the relay said it again (with the relay unreachable, for as long as it
    /// stays so), and erasing would be refused meanwhile.
    pub(super) async fn remember_workspace_deleted(&self, workspace: &str) {
        remember_workspace_deleted(self.store(), workspace).await;
    }

    /// Records a sync error that retrying cannot fix (of the sync of `workspace`); `true` if
    /// the loop must stop.
    async fn stop_on(&self, error: &SyncError, workspace: &str) -> bool {
        match error {
            SyncError::ResyncRequired { .. } => {
                self.set_sync_state(SyncState::ResyncRequired);
                true
            }
            e if e.is_workspace_deleted() => {
                // Stopped first (the outbox above all), noted, then announced.
                self.stop_background().await;
                self.remember_workspace_deleted(workspace).await;
                self.set_sync_state(SyncState::WorkspaceDeleted);
                true
            }
            e if e.is_unauthenticated() => {
                self.set_sync_state(SyncState::SessionExpired);
                true
            }
            e if e.is_transient() => false,
            e => {
                tracing::error!(error = %e, "sync stopped");
                self.set_sync_state(SyncState::Offline {
                    retry_in_seconds: 0,
                });
                true
            }
        }
    }
}

/// Notes in `store` that the owner deleted `workspace` (the relay answered
/// `workspace_deleted`), flushed to the disk: a device opened on it then starts in
/// [`SyncState::WorkspaceDeleted`] and refuses sends. For whoever syncs without a
/// [`Device`] (the CLI's `sync`); failures are logged.
pub async fn remember_workspace_deleted(store: &Store, workspace: &str) {
    let noted = store
        .set_setting(
            &workspace_deleted_key(workspace),
            &serde_json::json!(crate::team::now_ms()),
        )
        .await;
    match noted {
        Ok(()) => store.sync_to_disk_or_log("the workspace's deletion").await,
        Err(e) => tracing::warn!(error = %e, "could not note that the workspace was deleted"),
    }
}

/// The settings key noting that the owner deleted `workspace` (the relay answered
/// `workspace_deleted`). Per workspace: it never holds back a session of another one.
pub(super) fn workspace_deleted_key(workspace: &str) -> String {
    format!("{WORKSPACE_DELETED_PREFIX}{workspace}")
}

/// What every [`workspace_deleted_key`] starts with.
pub(super) const WORKSPACE_DELETED_PREFIX: &str = "workspace_deleted:";

/// Reading the inbox.
impl Device {
    /// One page of the inbox.
    pub async fn conversations(
        &self,
        filter: &views::ConversationFilter,
        after: Option<views::PageCursor>,
        limit: u32,
    ) -> Result<views::ViewPage<views::ConversationSummary>, DeviceError> {
        let session = self.session().await?;
        Ok(views::conversations(
            &self.inner.store,
            &session.account.workspace_id,
            Some(&session.account.user_name),
            filter,
            after.map(Into::into),
            limit.clamp(1, 500),
            now(),
        )
        .await?)
    }

    /// One conversation's inbox row.
    pub async fn conversation(&self, id: i64) -> Result<views::ConversationSummary, DeviceError> {
        let session = self.session().await?;
        views::conversation(&self.inner.store, &session.account.workspace_id, id, now())
            .await?
            .ok_or_else(|| DeviceError::NotFound("no such conversation".into()))
    }

    /// Checks that the conversation exists in the signed-in workspace (a history kept from an
    /// earlier workspace on this device is not reachable) — one indexed lookup, not the row.
    pub(crate) async fn check_conversation(&self, id: i64) -> Result<(), DeviceError> {
        let session = self.session().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM conversations WHERE id = ? AND workspace_id = ?")
                .bind(id)
                .bind(&session.account.workspace_id)
                .fetch_optional(self.inner.store.pool())
                .await
                .map_err(crate::store::StoreError::from)?;
        found
            .map(|_| ())
            .ok_or_else(|| DeviceError::NotFound("no such conversation".into()))
    }

    /// One page of a thread, newest first.
    pub async fn messages(
        &self,
        conversation_id: i64,
        before: Option<views::PageCursor>,
        limit: u32,
    ) -> Result<views::ViewPage<views::MessageView>, DeviceError> {
        self.check_conversation(conversation_id).await?;
        Ok(views::messages(
            &self.inner.store,
            conversation_id,
            before.map(Into::into),
            limit.clamp(1, 500),
        )
        .await?)
    }

    /// The page of the thread just newer than `after`, oldest first (scrolling back down a
    /// long history); `next` is set while there are newer messages still.
    pub async fn messages_after(
        &self,
        conversation_id: i64,
        after: views::PageCursor,
        limit: u32,
    ) -> Result<views::ViewPage<views::MessageView>, DeviceError> {
        self.check_conversation(conversation_id).await?;
        Ok(views::messages_after(
            &self.inner.store,
            conversation_id,
            after.into(),
            limit.clamp(1, 500),
        )
        .await?)
    }

    /// The decrypted media file of message `message_id` (its MIME type and bytes), once
    /// downloaded; [`DeviceError::NotFound`] for an unknown message, one without media, one
    /// not downloaded (yet), or another workspace's.
    pub async fn media(&self, message_id: i64) -> Result<(String, Vec<u8>), DeviceError> {
        let session = self.session().await?;
        match crate::media::read(
            &self.inner.store,
            &self.inner.vault,
            &session.account.workspace_id,
            message_id,
        )
        .await
        {
            Ok(file) => Ok((file.mime_type, file.bytes)),
            Err(crate::media::MediaError::NotFound) => Err(DeviceError::NotFound(
                "no downloaded media for this message".into(),
            )),
            Err(e) => Err(DeviceError::Internal(e.to_string())),
        }
    }

    /// Downloads the media that are due now and waits for them (the background worker does
    /// the same on its own; for the CLI and tests).
    pub async fn fetch_media_now(&self) -> Result<crate::media::FetchReport, DeviceError> {
        let session = self.acting_session().await?;
        session
            .media
            .run_once()
            .await
            .map_err(|e| DeviceError::Internal(e.to_string()))
    }

    /// Unread customer messages across the workspace's conversations (the tray and the
    /// window title show it).
    pub async fn unread_total(&self) -> Result<i64, DeviceError> {
        let session = self.session().await?;
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(SUM(unread_count), 0) FROM conversations WHERE workspace_id = ?",
        )
        .bind(&session.account.workspace_id)
        .fetch_one(self.inner.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?)
    }

    /// Full-text search over the whole history (works offline).
    pub async fn search(&self, query: &str, limit: u32) -> Result<views::SearchView, DeviceError> {
        let session = self.session().await?;
        Ok(views::search(
            &self.inner.store,
            &session.account.workspace_id,
            query,
            limit.clamp(1, 200),
        )
        .await?)
    }
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
