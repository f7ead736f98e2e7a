//! Durable state behind a trait, so that PostgreSQL (several relay instances) can sit beside
//! the embedded SQLite store later without touching the handlers.
//!
//! Methods return boxed futures (rather than `async fn`) so the store can live behind
//! `Arc<dyn Store>` in the router state.

mod chunk;
mod dedupe;
pub mod segments;
pub mod sqlite;

use futures::future::BoxFuture;
use protocol::auth::Role;
use protocol::events::EventKind;
use protocol::WorkspacePublicKey;
use time::OffsetDateTime;
use uuid::Uuid;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("that email is already registered")]
    EmailTaken,
    #[error("the WABA belongs to another workspace")]
    WabaTaken,
    #[error("not found")]
    NotFound,
    /// Unknown, expired, revoked, already used, or a wrong accept token: one answer for all.
    #[error("the invitation is not valid")]
    InvitationInvalid,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("re-sealing a held entry failed")]
    Reseal,
    /// The change would leave the workspace without an owner.
    #[error("the workspace must keep at least one owner")]
    LastOwner,
    /// The member's role changed since the caller read it (a concurrent change).
    #[error("the member was changed meanwhile; reload and try again")]
    MemberChanged,
    /// Reading or writing an event segment file failed (disk full, I/O error).
    #[error("event segment: {0}")]
    Segment(std::io::Error),
    /// A checkpoint kept finding the write-ahead log in use for seconds, so old page images
    /// (deleted rows) could not be removed from it: reported (503) rather than claiming a
    /// deletion that is not complete on disk.
    #[error("the database's write-ahead log stayed busy")]
    WalBusy,
    /// The event index kept failing for seconds (e.g. a full disk): an operation that needs
    /// it complete (a claim, a prune, a deletion) is refused (503), and so is every write once
    /// its rows have waited 10 s (`/readyz` then answers 503 too); the events already answered
    /// are safe in their segments.
    #[error("the event index is behind")]
    IndexBehind,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A workspace with its owner and the owner's first device session, created together.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub workspace_id: Uuid,
    pub company: String,
    pub public_key: WorkspacePublicKey,
    pub owner: NewUser,
    pub session: NewSession,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub token_hash: [u8; 32],
    pub device_name: String,
    pub now: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct WorkspaceRecord {
    pub id: Uuid,
    pub company: String,
    pub public_key: WorkspacePublicKey,
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_name: String,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// A member of a workspace as listed (removed ones included, with `removed_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub created_at: OffsetDateTime,
    pub removed_at: Option<OffsetDateTime>,
}

/// What removing a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    pub sessions_revoked: u64,
    pub invitations_revoked: u64,
}

/// What a valid bearer token resolves to.
#[derive(Debug, Clone)]
pub struct AuthRecord {
    pub session_id: Uuid,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub last_seen_at: OffsetDateTime,
    /// The workspace's `pruned_through` when this session was created: events at or below it
    /// were pruned before the device existed and are not owed to it.
    pub entitled_after: i64,
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub id: Uuid,
    pub kind: EventKind,
    pub sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub origin_session: Option<Uuid>,
    pub client_event_id: Option<String>,
}

/// One write of a group commit. All ops of a batch share one transaction.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// One entry of a verified webhook. `sealed_for` says whose key `sealed` was made for:
    /// `Some(workspace)` or `None` for the relay's held-event key. Ownership is checked again
    /// under the log lock claims also hold, so a claim racing this delivery cannot strand it.
    WebhookEntry {
        waba_id: String,
        dedupe_key: [u8; 32],
        sealed: Vec<u8>,
        sealed_for: Option<Uuid>,
        received_at: OffsetDateTime,
        /// Its inbound media, queued for fetching in the same transaction as the event (so
        /// a crash right after the commit cannot lose a fetch Meta's 5-minute URL needs).
        media: Vec<MediaRef>,
    },
    /// A validly signed body that is not a webhook envelope, already encrypted.
    InvalidBody {
        encrypted: Vec<u8>,
        received_at: OffsetDateTime,
    },
    /// An event the relay itself wrote (e.g. `media_status`), sealed to the workspace.
    RelayEvent {
        workspace_id: Uuid,
        kind: EventKind,
        dedupe_key: [u8; 32],
        sealed: Vec<u8>,
        created_at: OffsetDateTime,
    },
    /// An event a device sealed and appended.
    DeviceEvent {
        workspace_id: Uuid,
        session_id: Uuid,
        /// [`EventKind::Device`], or [`EventKind::DeviceManager`] from an owner or admin.
        kind: EventKind,
        client_event_id: String,
        dedupe_key: [u8; 32],
        sealed: Vec<u8>,
        created_at: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Appended {
        workspace_id: Uuid,
        seq: i64,
        id: Uuid,
    },
    /// Already stored (a replay or a retry): the first copy's position.
    Duplicate {
        workspace_id: Uuid,
        seq: i64,
        id: Uuid,
    },
    Held,
    HeldDuplicate,
    InvalidStored,
    /// Sealed for a workspace that no longer owns the WABA; the caller must re-route.
    Stale,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
    pub role: Role,
    pub accept_hash: [u8; 32],
    pub wrapped_key: Vec<u8>,
    pub invited_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: Uuid,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What accepting an invitation produced.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub user: UserRecord,
    pub workspace: WorkspaceRecord,
    pub wrapped_key: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct DeletionRecord {
    pub status: String,
    pub detail: String,
    pub requested_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

/// A signed webhook body that was not an envelope, as stored (AES-256-GCM).
#[derive(Debug, Clone)]
pub struct InvalidBody {
    pub id: i64,
    pub received_at: OffsetDateTime,
    pub encrypted: Vec<u8>,
}

/// An Embedded Signup session as stored (the id itself only as its SHA-256).
#[derive(Debug, Clone)]
pub struct OnboardingRecord {
    pub workspace_id: Uuid,
    /// `pending`, `in_progress`, `done`, `cancelled`, `failed`.
    pub status: String,
    pub expires_at: OffsetDateTime,
    /// When the status last changed (for `in_progress`: when the page's report was taken).
    pub updated_at: OffsetDateTime,
    /// The `OnboardingResult` JSON once finished.
    pub result: Option<String>,
}

/// A business token to keep (AES-256-GCM, see `sealing`), for the WABA it was granted for.
#[derive(Debug, Clone)]
pub struct EncryptedBusinessToken {
    pub waba_id: String,
    pub encrypted: Vec<u8>,
}

/// A kept business token: its workspace and the AES-256-GCM ciphertext.
#[derive(Debug, Clone)]
pub struct StoredBusinessToken {
    pub workspace_id: Uuid,
    pub encrypted: Vec<u8>,
}

/// An inbound media file named by a webhook entry, before it is known whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    pub media_id: String,
    pub waba_id: String,
    pub phone_number_id: String,
}

impl MediaRef {
    pub fn for_workspace(&self, workspace_id: Uuid) -> NewMediaJob {
        NewMediaJob {
            workspace_id,
            media_id: self.media_id.clone(),
            waba_id: self.waba_id.clone(),
            phone_number_id: self.phone_number_id.clone(),
        }
    }
}

/// An inbound media file to fetch (queued with its webhook entry's event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMediaJob {
    pub workspace_id: Uuid,
    pub media_id: String,
    pub waba_id: String,
    pub phone_number_id: String,
}

/// A queued fetch that is due.
#[derive(Debug, Clone)]
pub struct MediaJob {
    pub workspace_id: Uuid,
    pub media_id: String,
    pub waba_id: String,
    pub phone_number_id: String,
    /// Attempts made so far.
    pub attempts: u32,
}

/// A media item as stored: `status` is `pending`, `stored` or `failed`.
#[derive(Debug, Clone)]
pub struct MediaRecord {
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<i64>,
    /// Hex SHA-256 of the plaintext.
    pub sha256: Option<String>,
    pub fetched_at: Option<OffsetDateTime>,
}

/// What a successful fetch stored.
#[derive(Debug, Clone)]
pub struct StoredMedia {
    pub mime_type: String,
    pub size: i64,
    pub sha256: String,
    pub fetched_at: OffsetDateTime,
}

/// How long the token hashes of a deleted workspace's sessions are kept (to answer 410).
pub const DELETED_SESSIONS_DAYS: i64 = 180;

/// Retention: what `prune` may remove.
#[derive(Debug, Clone, Copy)]
pub struct PrunePolicy {
    pub now: OffsetDateTime,
    pub retention: time::Duration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub events_removed: u64,
}

pub trait Store: Send + Sync + 'static {
    /// Creates the workspace, its owner and the owner's first session in one transaction.
    fn create_workspace(&self, new: NewWorkspace) -> BoxFuture<'_, StoreResult<()>>;
    fn workspace(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<WorkspaceRecord>>>;
    /// The active (not removed) user with that email.
    fn user_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<UserRecord>>>;
    fn user(&self, id: Uuid) -> BoxFuture<'_, StoreResult<Option<UserRecord>>>;

    fn create_session(&self, new: NewSession) -> BoxFuture<'_, StoreResult<()>>;
    /// The live (not revoked) session whose token hashes to `token_hash`.
    fn session_by_token_hash(
        &self,
        token_hash: [u8; 32],
    ) -> BoxFuture<'_, StoreResult<Option<AuthRecord>>>;
    /// Whether `token_hash` was a live session of a workspace deleted since (kept
    /// [`DELETED_SESSIONS_DAYS`] days).
    fn session_of_deleted_workspace(
        &self,
        token_hash: [u8; 32],
    ) -> BoxFuture<'_, StoreResult<bool>>;
    /// Whether the session still exists and is not revoked (open streams re-check it).
    fn session_is_live(&self, id: Uuid) -> BoxFuture<'_, StoreResult<bool>>;
    fn touch_session(&self, id: Uuid, now: OffsetDateTime) -> BoxFuture<'_, StoreResult<()>>;
    /// Live sessions of the workspace, or only of `user` when given.
    fn list_sessions(
        &self,
        workspace_id: Uuid,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, StoreResult<Vec<SessionRecord>>>;
    /// Revokes a live session of the workspace (only of `user` when given); false if none.
    fn revoke_session(
        &self,
        workspace_id: Uuid,
        session_id: Uuid,
        user: Option<Uuid>,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<bool>>;

    /// Every member of the workspace, removed ones included, oldest first.
    fn list_members(&self, workspace_id: Uuid) -> BoxFuture<'_, StoreResult<Vec<MemberRecord>>>;
    /// One member of the workspace (removed or not); `None` for another workspace's user.
    fn member(
        &self,
        workspace_id: Uuid,
        member_id: Uuid,
    ) -> BoxFuture<'_, StoreResult<Option<MemberRecord>>>;
    /// Sets an active member's role if it is still `expected` (the caller decided on that
    /// role: `MemberChanged` otherwise). `LastOwner` if no active owner would remain.
    fn change_role(
        &self,
        workspace_id: Uuid,
        member_id: Uuid,
        expected: Role,
        role: Role,
    ) -> BoxFuture<'_, StoreResult<MemberRecord>>;
    /// Removes an active member whose role is still `expected`: marks them removed, revokes
    /// all their sessions (so their cursors stop holding back retention) and their pending
    /// invitations, in one transaction. `NotFound` for an unknown, removed or other
    /// workspace's member; `LastOwner` for the only active owner.
    fn remove_member(
        &self,
        workspace_id: Uuid,
        member_id: Uuid,
        expected: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Removal>>;

    /// Owners (and their public keys) of the given WABAs; unowned ones are absent.
    fn waba_owners<'a>(
        &'a self,
        waba_ids: &'a [String],
    ) -> BoxFuture<'a, StoreResult<Vec<(String, WorkspaceRecord)>>>;
    /// Links the WABA to the workspace and moves its held entries into the workspace log.
    /// Returns how many were released. Claiming one's own WABA again is a no-op.
    fn claim_waba<'a>(
        &'a self,
        workspace_id: Uuid,
        waba_id: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, StoreResult<u64>>;
    fn list_wabas(&self, workspace_id: Uuid) -> BoxFuture<'_, StoreResult<Vec<String>>>;

    /// Applies a group commit: every op in one durable transaction, outcomes in order.
    fn commit_batch<'a>(
        &'a self,
        ops: &'a [WriteOp],
    ) -> BoxFuture<'a, StoreResult<Vec<WriteOutcome>>>;

    /// Events with `seq > after`, oldest first, and the workspace's `pruned_through`.
    fn events_after(
        &self,
        workspace_id: Uuid,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<(Vec<EventRecord>, i64)>>;
    /// Moves the session's cursor forward (never back); returns the cursor.
    fn ack(
        &self,
        workspace_id: Uuid,
        session_id: Uuid,
        seq: i64,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<i64>>;
    /// Removes events older than the retention or acked by every live session of their
    /// workspace, raising `pruned_through` so that older cursors get `resync_required`.
    fn prune(&self, policy: PrunePolicy) -> BoxFuture<'_, StoreResult<PruneReport>>;

    fn create_invitation(&self, new: NewInvitation) -> BoxFuture<'_, StoreResult<()>>;
    /// Pending (not accepted, revoked or expired) invitations of the workspace.
    fn list_invitations(
        &self,
        workspace_id: Uuid,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Vec<InvitationRecord>>>;
    fn revoke_invitation(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<bool>>;
    /// Checks the accept token's hash (constant time), creates the user (with the invited
    /// email and role) and their first session, and marks the invitation used; all or nothing.
    fn accept_invitation(
        &self,
        id: Uuid,
        accept_hash: [u8; 32],
        user: NewUser,
        session: NewSession,
    ) -> BoxFuture<'_, StoreResult<Accepted>>;

    /// Deletes the workspace and everything it owns (users, sessions, invitations, WABA links,
    /// events, cursors), overwriting the freed space and truncating the WAL, so the data
    /// really leaves the disk. False if there was no such workspace.
    fn delete_workspace(&self, workspace_id: Uuid) -> BoxFuture<'_, StoreResult<bool>>;

    /// Records a completed Meta data-deletion request under its confirmation code.
    fn record_deletion<'a>(
        &'a self,
        code: &'a str,
        user_hash: [u8; 32],
        now: OffsetDateTime,
        detail: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn deletion<'a>(&'a self, code: &'a str) -> BoxFuture<'a, StoreResult<Option<DeletionRecord>>>;

    /// A new pending onboarding session.
    fn create_onboarding(
        &self,
        id_hash: [u8; 32],
        workspace_id: Uuid,
        created_by: Uuid,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<()>>;
    fn onboarding(&self, id_hash: [u8; 32])
        -> BoxFuture<'_, StoreResult<Option<OnboardingRecord>>>;
    /// Single use: moves a pending, unexpired session to `in_progress` and returns its
    /// workspace; `None` for unknown, expired or already used sessions.
    fn begin_onboarding(
        &self,
        id_hash: [u8; 32],
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Option<Uuid>>>;
    /// Records the outcome (and, when done, the encrypted business token for its WABA).
    fn finish_onboarding<'a>(
        &'a self,
        id_hash: [u8; 32],
        status: &'a str,
        result_json: &'a str,
        token: Option<EncryptedBusinessToken>,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Keeps a WABA's encrypted business token for `workspace` (manual setup), replacing the
    /// one it had.
    fn put_business_token(
        &self,
        workspace: Uuid,
        token: EncryptedBusinessToken,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<()>>;
    /// The encrypted business token of a WABA and its workspace.
    fn business_token<'a>(
        &'a self,
        waba_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<StoredBusinessToken>>>;

    /// Queues media fetches due now; an item already known is left as it is.
    fn enqueue_media(
        &self,
        jobs: Vec<NewMediaJob>,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<()>>;
    /// Pending fetches whose `next_attempt_at` has come, oldest first.
    fn due_media(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<Vec<MediaJob>>>;
    /// The earliest `next_attempt_at` of a pending fetch, if any.
    fn next_media_due(&self) -> BoxFuture<'_, StoreResult<Option<OffsetDateTime>>>;
    fn media_stored<'a>(
        &'a self,
        workspace_id: Uuid,
        media_id: &'a str,
        stored: StoredMedia,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Records a failed attempt: `next` is when to retry, `None` when the relay gives up.
    fn media_attempt_failed<'a>(
        &'a self,
        workspace_id: Uuid,
        media_id: &'a str,
        error: &'a str,
        next: Option<OffsetDateTime>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn media<'a>(
        &'a self,
        workspace_id: Uuid,
        media_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<MediaRecord>>>;
    /// Forgets media created before `before`; returns them so their files can be removed.
    fn prune_media(
        &self,
        before: OffsetDateTime,
    ) -> BoxFuture<'_, StoreResult<Vec<(Uuid, String)>>>;

    /// Stored invalid bodies (still encrypted), oldest first.
    fn invalid_bodies(&self) -> BoxFuture<'_, StoreResult<Vec<InvalidBody>>>;

    /// Readiness: can we reach the database, and does it keep up with the appends (an
    /// event index stalled for seconds is not ready)?
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
    /// Counts for tests and (later) metrics: (events, held, invalid bodies).
    fn counts(&self) -> BoxFuture<'_, StoreResult<(i64, i64, i64)>>;
}
