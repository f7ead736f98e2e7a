//! The team inbox: what one device does that every device of the workspace must see — labels,
//! assignment, archive, read marks, notes, quick replies, connected numbers, sent messages.
//!
//! Each change is written locally at once (optimistic: the UI never waits for the network) and
//! published as a sealed device event ([`protocol::device_events`]) appended to the relay's
//! log. Every device, the author included, applies the log through
//! [`crate::sync::apply_page`], which calls [`apply_device_event`]; applying is idempotent and
//! order-independent (see `team::apply`), so the author's echo changes nothing and concurrent
//! changes converge.
//!
//! Why a durable queue (`pending_events`): an action taken offline must not be lost, and must
//! not block the UI. The event is queued — already sealed, so a token in a `number_connected`
//! never rests readable — in the SAME transaction as the local write, then appended when the
//! relay answers ([`Team::publish_pending`], also drained by the outbox worker). The relay
//! deduplicates retries by `client_event_id`.

mod apply;
mod read;

use protocol::device_events::{
    Author, ContactErased, ContactField, ContactFieldName, ContactRef, ConversationField,
    ConversationFieldName, DeviceEnvelope, DeviceEvent, NoteAdded, NumberConnected, QuickReplySet,
    RetentionPolicySet,
};
use protocol::WorkspacePublicKey;
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use std::sync::Arc;
use uuid::Uuid;

use crate::store::{now, Store, StoreError};
use crate::sync::{RelayClient, SyncError};
use crate::vault::Vault;

pub use apply::{apply_device_event, token_record, DeviceOutcome};
pub(crate) use apply::{
    apply_device_event_in, apply_number_connected_in, contact_ref, contacts_named,
    conversation_ref, set_author_in,
};
pub use read::{labels, notes, number_state, quick_replies, Note, NumberState, QuickReply};

/// Who acts on this device: the relay user and this device's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The relay user id.
    pub user_id: String,
    /// The user's display name.
    pub name: String,
    /// This device's session id: the tie-breaker of last-writer-wins clocks.
    pub device: String,
}

impl Identity {
    /// The author of this device's events.
    pub fn author(&self) -> Author {
        Author {
            user_id: self.user_id.clone(),
            name: self.name.clone(),
        }
    }
}

/// Errors of the team inbox.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Bad input (nothing was written).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The store failed (nothing was written).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// Sealing an event failed.
    #[error("sealing a device event failed: {0}")]
    Seal(#[from] protocol::SealError),
}

impl From<sqlx::Error> for TeamError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Sqlx(e))
    }
}

/// The team inbox of one device: where it writes, how it publishes, who it is.
#[derive(Clone)]
pub struct Team {
    store: Store,
    vault: Arc<Vault>,
    relay: Option<RelayClient>,
    public: WorkspacePublicKey,
    workspace_id: String,
    identity: Identity,
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team")
            .field("relay", &self.relay)
            .field("workspace_id", &self.workspace_id)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Team {
    /// The team inbox of `identity` on this device. `relay` (with its session) is where events
    /// are appended; `None` only queues them (e.g. before signing in). `public` is the
    /// workspace public key events are sealed to.
    pub fn new(
        store: Store,
        vault: Arc<Vault>,
        relay: Option<RelayClient>,
        public: WorkspacePublicKey,
        workspace_id: impl Into<String>,
        identity: Identity,
    ) -> Self {
        Self {
            store,
            vault,
            relay,
            public,
            workspace_id: workspace_id.into(),
            identity,
        }
    }

    /// Who acts on this device.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The store written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The vault holding the numbers' tokens.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The workspace id.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// Replaces the conversation's labels (trimmed, deduplicated).
    pub async fn set_labels(
        &self,
        conversation_id: i64,
        labels: &[impl AsRef<str>],
    ) -> Result<(), TeamError> {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        if labels.iter().any(|l| l.chars().count() > 100) {
            return Err(TeamError::Invalid(
                "a label is at most 100 characters".into(),
            ));
        }
        let value = Value::from(apply::labels_of(&json!(labels)));
        self.set_field(conversation_id, ConversationFieldName::Labels, value)
            .await
    }

    /// Assigns the conversation to a user (`None`: to nobody).
    pub async fn assign(
        &self,
        conversation_id: i64,
        user_id: Option<&str>,
    ) -> Result<(), TeamError> {
        self.set_field(
            conversation_id,
            ConversationFieldName::AssignedTo,
            user_id.map_or(Value::Null, Value::from),
        )
        .await
    }

    /// Archives or unarchives the conversation.
    pub async fn set_archived(
        &self,
        conversation_id: i64,
        archived: bool,
    ) -> Result<(), TeamError> {
        self.set_field(
            conversation_id,
            ConversationFieldName::Archived,
            Value::from(archived),
        )
        .await
    }

    /// Marks the conversation read up to its newest inbound message (for the whole team). The
    /// read receipt to the customer is separate: [`crate::send::Outbox::mark_read`].
    pub async fn mark_read(&self, conversation_id: i64) -> Result<(), TeamError> {
        let newest: Option<(String, i64)> = sqlx::query_as(
            "SELECT wamid, ts FROM messages WHERE conversation_id = ? AND direction = 'in'
             ORDER BY ts DESC, id DESC LIMIT 1",
        )
        .bind(conversation_id)
        .fetch_optional(self.store.pool())
        .await?;
        let value = match newest {
            Some((wamid, ts)) => json!({"wamid": wamid, "ts": ts}),
            None => json!({"wamid": null, "ts": i64::MAX}),
        };
        self.set_field(conversation_id, ConversationFieldName::ReadUpTo, value)
            .await
    }

    async fn set_field(
        &self,
        conversation_id: i64,
        field: ConversationFieldName,
        value: Value,
    ) -> Result<(), TeamError> {
        let mut tx = self.store.begin_write().await?;
        let (phone_number_id, contact) = conversation_ref(&mut tx, conversation_id).await?;
        let event = ConversationField {
            phone_number_id,
            contact,
            field,
            value,
            at: self.clock(&mut tx, conversation_id, field).await?,
            device: self.identity.device.clone(),
            author: self.identity.author(),
        };
        apply::apply_field_in(&mut tx, conversation_id, &event).await?;
        self.queue_in(&mut tx, DeviceEvent::ConversationField(event))
            .await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(())
    }

    /// The clock of a new local write: now, but always after the value it replaces, so a
    /// device whose clock runs behind still overrides what it is looking at.
    async fn clock(
        &self,
        conn: &mut SqliteConnection,
        conversation_id: i64,
        field: ConversationFieldName,
    ) -> Result<i64, TeamError> {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT at FROM conversation_fields WHERE conversation_id = ? AND field = ?",
        )
        .bind(conversation_id)
        .bind(field.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        Ok(now_ms().max(current.map_or(0, |c| c + 1)))
    }

    /// Adds an internal note to the conversation; returns its id.
    pub async fn add_note(&self, conversation_id: i64, text: &str) -> Result<Uuid, TeamError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 10_000 {
            return Err(TeamError::Invalid(
                "a note needs 1 to 10,000 characters".into(),
            ));
        }
        let mut tx = self.store.begin_write().await?;
        let (phone_number_id, contact) = conversation_ref(&mut tx, conversation_id).await?;
        let note = NoteAdded {
            note_id: Uuid::new_v4(),
            phone_number_id,
            contact,
            text: text.to_string(),
            at: now_ms(),
            author: self.identity.author(),
        };
        apply::apply_note_in(&mut tx, &self.workspace_id, &note).await?;
        let id = note.note_id;
        self.queue_in(&mut tx, DeviceEvent::NoteAdded(note)).await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(id)
    }

    /// Creates or changes a quick reply (`id: None` creates one); returns its id.
    pub async fn quick_reply_set(
        &self,
        id: Option<&str>,
        shortcut: &str,
        text: &str,
    ) -> Result<String, TeamError> {
        let shortcut = shortcut.trim();
        if shortcut.is_empty() || text.trim().is_empty() {
            return Err(TeamError::Invalid(
                "a quick reply needs a shortcut and a text".into(),
            ));
        }
        let id = id.map_or_else(|| Uuid::new_v4().to_string(), str::to_string);
        self.write_quick_reply(&id, shortcut, text, false).await?;
        Ok(id)
    }

    /// Deletes a quick reply (for every device; an older edit cannot bring it back).
    pub async fn quick_reply_delete(&self, id: &str) -> Result<(), TeamError> {
        self.write_quick_reply(id, "", "", true).await
    }

    async fn write_quick_reply(
        &self,
        id: &str,
        shortcut: &str,
        text: &str,
        deleted: bool,
    ) -> Result<(), TeamError> {
        let mut tx = self.store.begin_write().await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT at FROM quick_replies WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let event = QuickReplySet {
            id: id.to_string(),
            shortcut: shortcut.to_string(),
            text: text.to_string(),
            deleted,
            at: now_ms().max(current.map_or(0, |c| c + 1)),
            device: self.identity.device.clone(),
            author: self.identity.author(),
        };
        apply::apply_quick_reply_in(&mut tx, &event).await?;
        self.queue_in(&mut tx, DeviceEvent::QuickReplySet(event))
            .await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(())
    }

    /// Records a connected number and its business token (from onboarding or manual setup)
    /// on this device — token in the vault, number in the store — and tells the other devices.
    pub async fn publish_number_connected(
        &self,
        waba_id: &str,
        phone_number_id: &str,
        display_phone_number: Option<&str>,
        verified_name: Option<&str>,
        token: &str,
    ) -> Result<(), TeamError> {
        if token.trim().is_empty() || waba_id.trim().is_empty() {
            return Err(TeamError::Invalid(
                "connecting a number needs its WABA id and a token".into(),
            ));
        }
        let event = NumberConnected {
            waba_id: waba_id.to_string(),
            phone_number_id: phone_number_id.to_string(),
            display_phone_number: display_phone_number.map(str::to_string),
            verified_name: verified_name.map(str::to_string),
            token: token.to_string(),
            at: now_ms(),
            author: self.identity.author(),
        };
        let mut tx = self.store.begin_write().await?;
        apply_number_connected_in(&mut tx, &self.workspace_id, &self.vault, &event).await?;
        self.queue_in(&mut tx, DeviceEvent::NumberConnected(event))
            .await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(())
    }

    /// Tells the other devices a contact's name or restriction changed on this one (already
    /// applied and logged locally by [`crate::privacy::contacts`]). Their clock makes the
    /// newest change win on every device.
    pub async fn publish_contact_field(
        &self,
        contact_id: i64,
        field: ContactFieldName,
        value: Value,
    ) -> Result<(), TeamError> {
        let mut tx = self.store.begin_write().await?;
        let contact = contact_ref(&mut tx, contact_id).await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT at FROM contact_fields WHERE contact_id = ? AND field = ?")
                .bind(contact_id)
                .bind(field.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let event = ContactField {
            contact,
            field,
            value,
            at: now_ms().max(current.map_or(0, |c| c + 1)),
            device: self.identity.device.clone(),
            author: self.identity.author(),
        };
        apply::apply_contact_field_in(&mut tx, &self.workspace_id, &event).await?;
        self.queue_in(&mut tx, DeviceEvent::ContactField(event))
            .await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(())
    }

    /// Tells the other devices that `contact` was erased on this one at `at_ms` (the time the
    /// erasure here was dated with): each erases what it holds about them up to then.
    pub async fn publish_contact_erased(
        &self,
        contact: ContactRef,
        at_ms: i64,
    ) -> Result<(), TeamError> {
        let mut tx = self.store.begin_write().await?;
        let event = ContactErased {
            contact,
            at: at_ms,
            author: self.identity.author(),
        };
        self.queue_in(&mut tx, DeviceEvent::ContactErased(event))
            .await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(())
    }

    /// Keeps `policy` as the workspace's retention policy here and tells the other devices,
    /// which adopt it unless a newer one reached them (an owner's or admin's change: the event
    /// goes out marked, [`Self::queue_in`]).
    pub async fn publish_retention_policy(
        &self,
        policy: &crate::privacy::retention::RetentionPolicy,
    ) -> Result<(), TeamError> {
        let mut tx = self.store.begin_write().await?;
        // Later than the policy it replaces, whatever the clocks say: one set here must win
        // here and everywhere (a device whose clock runs fast must not pin its own policy).
        let at = now_ms().max(crate::privacy::retention::policy_clock_in(&mut tx).await? + 1);
        let event = RetentionPolicySet {
            messages_days: policy.messages_days,
            media_days: policy.media_days,
            raw_events_days: policy.raw_events_days,
            at,
            device: self.identity.device.clone(),
            author: self.identity.author(),
        };
        crate::privacy::retention::adopt_policy_in(&mut tx, policy, event.at, &event.device)
            .await?;
        self.queue_in(&mut tx, DeviceEvent::RetentionPolicySet(event))
            .await?;
        tx.commit().await?;
        self.publish_best_effort().await;
        Ok(())
    }

    /// Seals `event` and queues it for the relay inside the caller's transaction.
    pub(crate) async fn queue_in(
        &self,
        conn: &mut SqliteConnection,
        event: DeviceEvent,
    ) -> Result<(), TeamError> {
        let client_event_id = Uuid::new_v4().to_string();
        let envelope = DeviceEnvelope::new(client_event_id.clone(), event);
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(&envelope)
                .map_err(|e| TeamError::Invalid(format!("encoding a device event: {e}")))?,
        );
        let sealed = protocol::sealed::to_base64(&protocol::seal(&self.public, &plaintext)?);
        // What only owners and admins may do goes out marked (the relay checks the role).
        let manager = envelope.event.needs_manager();
        sqlx::query(
            "INSERT INTO pending_events (client_event_id, sealed, created_at, manager, kind)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&client_event_id)
        .bind(&sealed)
        .bind(now())
        .bind(manager)
        .bind(envelope.event.type_name())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Appends queued events to the relay, oldest first; stops at the first failure (kept for
    /// the next call). Returns how many were appended.
    pub async fn publish_pending(&self) -> Result<usize, SyncError> {
        let Some(relay) = &self.relay else {
            return Ok(0);
        };
        let mut published = 0;
        loop {
            let next: Option<(i64, String, String, bool, Option<String>)> = sqlx::query_as(
                "SELECT id, client_event_id, sealed, manager, kind FROM pending_events
                 ORDER BY id LIMIT 1",
            )
            .fetch_optional(self.store.pool())
            .await
            .map_err(StoreError::from)?;
            let Some((id, client_event_id, sealed, manager, kind)) = next else {
                return Ok(published);
            };
            match relay.append_event(&client_event_id, &sealed, manager).await {
                Ok(_) => {
                    sqlx::query("DELETE FROM pending_events WHERE id = ?")
                        .bind(id)
                        .execute(self.store.pool())
                        .await
                        .map_err(StoreError::from)?;
                    published += 1;
                }
                // No longer an owner or admin (the role changed since): the relay will never
                // take it, and it must not hold up the events queued after it.
                Err(SyncError::Api { status: 403, .. }) if manager => {
                    tracing::warn!(
                        kind = kind.as_deref().unwrap_or("unknown"),
                        "team: an owner's or admin's change was refused: the role is gone; dropped"
                    );
                    self.drop_refused(id, kind.as_deref()).await?;
                }
                Err(e) => {
                    sqlx::query(
                        "UPDATE pending_events SET attempts = attempts + 1, last_error = ?
                         WHERE id = ?",
                    )
                    .bind(e.to_string())
                    .bind(id)
                    .execute(self.store.pool())
                    .await
                    .map_err(StoreError::from)?;
                    return Err(e);
                }
            }
        }
    }

    /// Drops a queued change the relay refuses for good and says so in the activity log, in
    /// one transaction: the change stays on this device only, and whoever reads the log (or
    /// exports it) sees that the team never got it.
    async fn drop_refused(&self, id: i64, kind: Option<&str>) -> Result<(), SyncError> {
        let mut tx = self
            .store
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::from)?;
        let dropped = sqlx::query("DELETE FROM pending_events WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        // Publishing runs from several places at once: only the one that dropped it logs it.
        if dropped.rows_affected() == 0 {
            return Ok(());
        }
        let details = serde_json::json!({
            "event": kind,
            "reason": "the relay refused it: this account is no longer an owner or admin",
        });
        crate::privacy::activity::record_in(
            &mut tx,
            &self.identity.name,
            "team.change_refused",
            kind,
            &details,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// How many events wait for the relay.
    pub async fn pending_count(&self) -> Result<i64, TeamError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM pending_events")
            .fetch_one(self.store.pool())
            .await?)
    }

    /// Publishing after a local write must not fail the write: it is committed and queued.
    ///
    /// The write is flushed to the disk first: the store commits at `synchronous=NORMAL`
    /// ([`Store::sync_to_disk`] says why), and until the relay takes it the queued event has
    /// no other copy, so a note or label made offline would not survive a power cut. One
    /// flush per change someone made by hand; never on sync's path.
    pub(crate) async fn publish_best_effort(&self) {
        self.store.sync_to_disk_or_log("a team change").await;
        if let Err(e) = self.publish_pending().await {
            tracing::info!(error = %e, "team: relay unreachable; the event stays queued");
        }
    }
}

/// Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    let t = time::OffsetDateTime::now_utc();
    t.unix_timestamp() * 1000 + i64::from(t.millisecond())
}
