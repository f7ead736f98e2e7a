//! Applying device events (from the log, or written locally first) to the store.
//!
//! Every function here is idempotent and order-independent, because the same event reaches a
//! device twice (its own optimistic write, then the log) and events from several devices
//! interleave arbitrarily:
//! - conversation fields and quick replies: last writer wins by `(at, device)`;
//! - notes: keyed by `note_id`;
//! - sent messages: keyed by wamid (the author's own echo is a no-op);
//! - connected numbers: the newest `at` owns the token;
//! - contact values (name, restriction): last writer wins by `(at, device)`;
//! - contact erasures: handed back to the caller, which applies them after the rest of its
//!   page (see [`DeviceOutcome::EraseContact`]); erasing what is already gone is a no-op;
//! - anything about a customer erased here, dated at or before their erasure, is not applied
//!   ([`DeviceOutcome::AboutErased`], `privacy::tombstones`): the erasure wins whatever the
//!   order in which the events arrive.

use cloud_api::messages::{MessageContent, SendMessage};
use protocol::device_events::{
    Author, ContactErased, ContactField, ContactFieldName, ContactRef, ConversationField,
    ConversationFieldName, DeviceEnvelope, DeviceEvent, MessageSent, NoteAdded, NumberConnected,
    ParsedEvent, QuickReplySet, RetentionPolicySet,
};
use serde_json::Value;
use sqlx::SqliteConnection;

use crate::privacy::tombstones::{secs_to_ms, Tombstones};
use crate::store::{
    apply_reactions_in, ensure_conversation_in, insert_messages_in, now, upsert_contact_in,
    ContactInput, Direction, NewMessage, Origin, ReactionUpdate, StoreError,
};
use crate::vault::Vault;

/// What applying one device event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceOutcome {
    /// Applied (possibly a no-op: already applied, or older than what is there).
    Applied,
    /// Not applicable by this build (unknown type, bad shape): the caller keeps it raw.
    KeepRaw {
        /// `unknown` or `invalid`.
        reason: &'static str,
        /// The event's `type`, when it has one.
        kind: String,
    },
    /// A `number_connected` event arrived while no vault was given: the caller keeps it
    /// (sealed) so that it can be applied later, never dropping the token.
    NeedsVault,
    /// Another device erased a contact: the caller erases it once everything earlier in its
    /// page is written (a page's messages are inserted together at its end, and the erasure
    /// must not be followed by the resurrection of what it erased).
    EraseContact(ContactErased),
    /// About a customer erased on this device or another, and dated at or before the erasure
    /// (a reply queued while offline, this device's own events coming back from the log):
    /// not applied, so the customer does not come back.
    AboutErased,
}

/// Applies one device event's plaintext inside the caller's transaction. `vault` receives the
/// tokens of `number_connected` events: the write happens before the commit, which is safe
/// because it is idempotent (a redelivered page writes the same token again) and guarded by
/// the token clock in `number_state`.
pub async fn apply_device_event(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    vault: Option<&Vault>,
    plaintext: &Value,
    manager: bool,
) -> Result<DeviceOutcome, StoreError> {
    let tombstones = Tombstones::load(conn).await?;
    apply_device_event_in(conn, workspace_id, vault, plaintext, manager, &tombstones).await
}

/// [`apply_device_event`] with the store's tombstones already read (once per sync page).
pub(crate) async fn apply_device_event_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    vault: Option<&Vault>,
    plaintext: &Value,
    manager: bool,
    tombstones: &Tombstones,
) -> Result<DeviceOutcome, StoreError> {
    let envelope = match DeviceEnvelope::parse(plaintext.clone()) {
        ParsedEvent::Known(envelope) => envelope,
        ParsedEvent::Unknown { type_name, .. } => {
            return Ok(DeviceOutcome::KeepRaw {
                reason: "unknown",
                kind: type_name,
            })
        }
        ParsedEvent::Invalid { error, raw } => {
            tracing::warn!(%error, "sync: a device event does not fit its schema; kept");
            let kind = raw
                .get("event")
                .and_then(|e| e.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("device")
                .to_string();
            return Ok(DeviceOutcome::KeepRaw {
                reason: "invalid",
                kind,
            });
        }
    };
    // Only owners and admins erase customers, set the retention or connect numbers: the relay
    // marks their devices' events (`EventKind::DeviceManager`); the content's own author claim
    // proves nothing. An unmarked one (an agent's device, changed: it could erase a customer
    // everywhere or replace the team's business token) is kept sealed, not applied.
    if envelope.event.needs_manager() && !manager {
        let kind = envelope.event.type_name();
        tracing::warn!(
            kind,
            "sync: a change only owners and admins make came unmarked; kept"
        );
        return Ok(DeviceOutcome::KeepRaw {
            reason: "not_permitted",
            kind: kind.into(),
        });
    }
    if about_erased(conn, workspace_id, &envelope.event, tombstones).await?
        || reacts_to_an_erased_message(conn, &envelope.event, tombstones).await?
    {
        return Ok(DeviceOutcome::AboutErased);
    }
    match &envelope.event {
        DeviceEvent::MessageSent(e) => apply_message_sent(conn, workspace_id, e).await?,
        DeviceEvent::ConversationField(e) => {
            let conversation =
                resolve_conversation(conn, workspace_id, &e.phone_number_id, &e.contact).await?;
            apply_field_in(conn, conversation, e).await?;
        }
        DeviceEvent::NoteAdded(e) => apply_note_in(conn, workspace_id, e).await?,
        DeviceEvent::QuickReplySet(e) => apply_quick_reply_in(conn, e).await?,
        DeviceEvent::NumberConnected(e) => {
            let Some(vault) = vault else {
                return Ok(DeviceOutcome::NeedsVault);
            };
            apply_number_connected_in(conn, workspace_id, vault, e).await?;
        }
        DeviceEvent::ContactField(e) => {
            apply_contact_field_in(conn, workspace_id, e).await?;
        }
        DeviceEvent::ContactErased(e) => return Ok(DeviceOutcome::EraseContact(e.clone())),
        DeviceEvent::RetentionPolicySet(e) => {
            if !apply_retention_policy_in(conn, e).await? {
                return Ok(DeviceOutcome::KeepRaw {
                    reason: "invalid",
                    kind: "retention_policy_set".into(),
                });
            }
        }
    }
    Ok(DeviceOutcome::Applied)
}

/// Whether `event` is about a customer erased here and must not be applied: dated at or
/// before their erasure; or, for a label, note, marker or name, about a customer who is not
/// here (a teammate's change made after the erasure but before it reached their device: the
/// erasure removes it there too, as the customer has not written again).
async fn about_erased(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    event: &DeviceEvent,
    tombstones: &Tombstones,
) -> Result<bool, StoreError> {
    if tombstones.is_empty() {
        return Ok(false);
    }
    let (contact, at_ms) = match event {
        DeviceEvent::MessageSent(e) => {
            // `to` names the customer when the event carries no contact (older builds).
            let to = e.contact.is_empty().then_some(e.to.as_str());
            let ids = [e.contact.wa_id.as_deref(), e.contact.user_id.as_deref(), to];
            return Ok(tombstones.buries(ids, secs_to_ms(e.sent_at)));
        }
        DeviceEvent::ConversationField(e) => (&e.contact, e.at),
        DeviceEvent::NoteAdded(e) => (&e.contact, e.at),
        DeviceEvent::ContactField(e) => (&e.contact, e.at),
        DeviceEvent::QuickReplySet(_)
        | DeviceEvent::NumberConnected(_)
        | DeviceEvent::ContactErased(_)
        | DeviceEvent::RetentionPolicySet(_) => return Ok(false),
    };
    let ids = [contact.wa_id.as_deref(), contact.user_id.as_deref()];
    let Some(erased) = tombstones.erased_at(ids) else {
        return Ok(false);
    };
    if at_ms <= erased {
        return Ok(true);
    }
    Ok(contacts_named(conn, workspace_id, contact)
        .await?
        .is_empty())
}

/// Whether `event` is the team's reaction, after their erasure, to a message of a customer
/// erased here that is not here (one the erasure removed): its row would name the customer.
async fn reacts_to_an_erased_message(
    conn: &mut SqliteConnection,
    event: &DeviceEvent,
    tombstones: &Tombstones,
) -> Result<bool, StoreError> {
    let DeviceEvent::MessageSent(e) = event else {
        return Ok(false);
    };
    if tombstones.is_empty() || e.message.get("type").and_then(Value::as_str) != Some("reaction") {
        return Ok(false);
    }
    let to = e.contact.is_empty().then_some(e.to.as_str());
    let ids = [e.contact.wa_id.as_deref(), e.contact.user_id.as_deref(), to];
    if tombstones.erased_at(ids).is_none() {
        return Ok(false);
    }
    let target = e
        .message
        .pointer("/reaction/message_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let here: Option<i64> = sqlx::query_scalar("SELECT 1 FROM messages WHERE wamid = ?")
        .bind(target)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(here.is_none())
}

/// Adopts an owner's or admin's retention policy unless a newer one is here; logs it. A limit
/// of 0 days (which would delete everything) is no policy this build writes: false, not applied.
async fn apply_retention_policy_in(
    conn: &mut SqliteConnection,
    e: &RetentionPolicySet,
) -> Result<bool, StoreError> {
    let days = [e.messages_days, e.media_days, e.raw_events_days];
    if days.contains(&Some(0)) {
        tracing::warn!("sync: a retention policy of 0 days is not applied; kept");
        return Ok(false);
    }
    let policy = crate::privacy::retention::RetentionPolicy {
        messages_days: e.messages_days,
        media_days: e.media_days,
        raw_events_days: e.raw_events_days,
    };
    if crate::privacy::retention::adopt_policy_in(conn, &policy, e.at, &e.device).await? {
        let details = serde_json::to_value(policy).unwrap_or(Value::Null);
        crate::privacy::activity::record_in(
            conn,
            &format!("{} (on another device)", e.author.name),
            "privacy.retention_policy_synced",
            None,
            &details,
        )
        .await?;
    }
    Ok(true)
}

/// Applies a contact value if it is newer than the one there (creating the contact if this
/// device has not met them yet); logs changes made by others. Returns whether it applied.
pub(crate) async fn apply_contact_field_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    e: &ContactField,
) -> Result<bool, StoreError> {
    if e.contact.is_empty() {
        return Err(StoreError::Invalid(
            "a device event names a contact without wa_id or user_id".into(),
        ));
    }
    let contact_id = upsert_contact_in(
        conn,
        &ContactInput {
            workspace_id: workspace_id.to_string(),
            wa_id: e.contact.wa_id.clone(),
            user_id: e.contact.user_id.clone(),
            ..ContactInput::default()
        },
    )
    .await?;
    let current: Option<(i64, String)> =
        sqlx::query_as("SELECT at, device FROM contact_fields WHERE contact_id = ? AND field = ?")
            .bind(contact_id)
            .bind(e.field.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if !supersedes((e.at, &e.device), current.as_ref()) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO contact_fields (contact_id, field, at, device) VALUES (?, ?, ?, ?)
         ON CONFLICT(contact_id, field) DO UPDATE SET at = excluded.at, device = excluded.device",
    )
    .bind(contact_id)
    .bind(e.field.as_str())
    .bind(e.at)
    .bind(&e.device)
    .execute(&mut *conn)
    .await?;
    let (sql, value) = match e.field {
        ContactFieldName::DisplayName => (
            "UPDATE contacts SET display_name = ?, updated_at = ? WHERE id = ?",
            e.value
                .as_str()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
        ),
        ContactFieldName::Restricted => (
            "UPDATE contacts SET restricted = ?, updated_at = ? WHERE id = ?",
            Some(i64::from(e.value.as_bool().unwrap_or(false)).to_string()),
        ),
    };
    sqlx::query(sql)
        .bind(value)
        .bind(now())
        .bind(contact_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// The conversation named by `(phone_number_id, contact)`, created (with its contact and a
/// placeholder number row) if this device has not seen it yet.
pub(crate) async fn resolve_conversation(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    phone_number_id: &str,
    contact: &ContactRef,
) -> Result<i64, StoreError> {
    if contact.is_empty() {
        return Err(StoreError::Invalid(
            "a device event names a conversation without wa_id or user_id".into(),
        ));
    }
    // The number row may not exist yet on this device (its webhooks or number_connected come
    // later in the log); the WABA id is filled in when they do.
    sqlx::query(
        "INSERT INTO phone_numbers (id, workspace_id, waba_id, updated_at) VALUES (?, ?, '', ?)
         ON CONFLICT(id) DO NOTHING",
    )
    .bind(phone_number_id)
    .bind(workspace_id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    let contact_id = upsert_contact_in(
        conn,
        &ContactInput {
            workspace_id: workspace_id.to_string(),
            wa_id: contact.wa_id.clone(),
            user_id: contact.user_id.clone(),
            ..ContactInput::default()
        },
    )
    .await?;
    ensure_conversation_in(conn, workspace_id, phone_number_id, contact_id).await
}

/// Last writer wins: whether a value stamped `(at, device)` replaces the one stamped `current`
/// (equal clocks keep what is there, so applying an event twice changes nothing).
fn supersedes(new: (i64, &str), current: Option<&(i64, String)>) -> bool {
    current.is_none_or(|(at, device)| new > (*at, device.as_str()))
}

/// How a contact is named in device events.
pub(crate) async fn contact_ref(
    conn: &mut SqliteConnection,
    contact_id: i64,
) -> Result<ContactRef, StoreError> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT wa_id, user_id FROM contacts WHERE id = ?")
            .bind(contact_id)
            .fetch_optional(&mut *conn)
            .await?;
    let (wa_id, user_id) =
        row.ok_or_else(|| StoreError::Invalid(format!("no contact {contact_id}")))?;
    Ok(ContactRef { wa_id, user_id })
}

/// The contacts of `workspace_id` that `contact` names (by `wa_id` or `user_id`).
pub(crate) async fn contacts_named(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    contact: &ContactRef,
) -> Result<Vec<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM contacts WHERE workspace_id = ?1
             AND ((?2 IS NOT NULL AND wa_id = ?2) OR (?3 IS NOT NULL AND user_id = ?3))",
    )
    .bind(workspace_id)
    .bind(contact.wa_id.as_deref().filter(|s| !s.is_empty()))
    .bind(contact.user_id.as_deref().filter(|s| !s.is_empty()))
    .fetch_all(&mut *conn)
    .await?)
}

/// How a conversation is named in device events.
pub(crate) async fn conversation_ref(
    conn: &mut SqliteConnection,
    conversation_id: i64,
) -> Result<(String, ContactRef), StoreError> {
    let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT c.phone_number_id, ct.wa_id, ct.user_id FROM conversations c
         JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = ?",
    )
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (phone, wa_id, user_id) =
        row.ok_or_else(|| StoreError::Invalid(format!("no conversation {conversation_id}")))?;
    Ok((phone, ContactRef { wa_id, user_id }))
}

/// Last writer wins: applies `e` to the conversation when its clock `(at, device)` is newer
/// than the stored one. Returns whether it changed anything.
pub(crate) async fn apply_field_in(
    conn: &mut SqliteConnection,
    conversation_id: i64,
    e: &ConversationField,
) -> Result<bool, StoreError> {
    let current: Option<(i64, String)> = sqlx::query_as(
        "SELECT at, device FROM conversation_fields WHERE conversation_id = ? AND field = ?",
    )
    .bind(conversation_id)
    .bind(e.field.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if !supersedes((e.at, &e.device), current.as_ref()) {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO conversation_fields
             (conversation_id, field, value_json, at, device, author_id, author_name)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(conversation_id, field) DO UPDATE SET value_json = excluded.value_json,
             at = excluded.at, device = excluded.device, author_id = excluded.author_id,
             author_name = excluded.author_name",
    )
    .bind(conversation_id)
    .bind(e.field.as_str())
    .bind(e.value.to_string())
    .bind(e.at)
    .bind(&e.device)
    .bind(&e.author.user_id)
    .bind(&e.author.name)
    .execute(&mut *conn)
    .await?;
    match e.field {
        ConversationFieldName::Labels => {
            sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = ?")
                .bind(conversation_id)
                .execute(&mut *conn)
                .await?;
            for label in labels_of(&e.value) {
                sqlx::query(
                    "INSERT INTO conversation_labels (conversation_id, label) VALUES (?, ?)
                     ON CONFLICT DO NOTHING",
                )
                .bind(conversation_id)
                .bind(label)
                .execute(&mut *conn)
                .await?;
            }
        }
        ConversationFieldName::AssignedTo => {
            sqlx::query("UPDATE conversations SET assigned_to = ? WHERE id = ?")
                .bind(e.value.as_str())
                .bind(conversation_id)
                .execute(&mut *conn)
                .await?;
        }
        ConversationFieldName::Archived => {
            sqlx::query("UPDATE conversations SET archived = ? WHERE id = ?")
                .bind(e.value.as_bool().unwrap_or(false))
                .bind(conversation_id)
                .execute(&mut *conn)
                .await?;
        }
        ConversationFieldName::ReadUpTo => {
            // Unread = inbound messages newer than the one read up to.
            let ts = e
                .value
                .get("ts")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE conversations SET unread_count = (SELECT count(*) FROM messages
                     WHERE conversation_id = ?1 AND direction = 'in' AND ts > ?2)
                 WHERE id = ?1",
            )
            .bind(conversation_id)
            .bind(ts)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(true)
}

/// The label strings of a `labels` value: trimmed, non-empty, deduplicated, sorted.
pub(crate) fn labels_of(value: &Value) -> Vec<String> {
    let mut labels: Vec<String> = value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    labels.dedup();
    labels
}

pub(crate) async fn apply_note_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    e: &NoteAdded,
) -> Result<(), StoreError> {
    let conversation =
        resolve_conversation(conn, workspace_id, &e.phone_number_id, &e.contact).await?;
    sqlx::query(
        "INSERT INTO notes (id, conversation_id, text, at, author_id, author_name)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
    )
    .bind(e.note_id.to_string())
    .bind(conversation)
    .bind(&e.text)
    .bind(e.at)
    .bind(&e.author.user_id)
    .bind(&e.author.name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn apply_quick_reply_in(
    conn: &mut SqliteConnection,
    e: &QuickReplySet,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO quick_replies (id, shortcut, text, deleted, at, device, author_id, author_name)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET shortcut = excluded.shortcut, text = excluded.text,
             deleted = excluded.deleted, at = excluded.at, device = excluded.device,
             author_id = excluded.author_id, author_name = excluded.author_name
         WHERE (excluded.at, excluded.device) > (quick_replies.at, quick_replies.device)",
    )
    .bind(&e.id)
    .bind(&e.shortcut)
    .bind(&e.text)
    .bind(e.deleted)
    .bind(e.at)
    .bind(&e.device)
    .bind(&e.author.user_id)
    .bind(&e.author.name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The vault record holding a number's business token.
pub fn token_record(phone_number_id: &str) -> Result<String, StoreError> {
    if phone_number_id.is_empty() || !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::Invalid(format!(
            "a phone number id is digits only, not {phone_number_id:?}"
        )));
    }
    Ok(format!("number.{phone_number_id}.token"))
}

pub(crate) async fn apply_number_connected_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    vault: &Vault,
    e: &NumberConnected,
) -> Result<(), StoreError> {
    let record = token_record(&e.phone_number_id)?;
    sqlx::query(
        "INSERT INTO phone_numbers
             (id, workspace_id, waba_id, display_phone_number, verified_name, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET waba_id = excluded.waba_id,
             display_phone_number = COALESCE(excluded.display_phone_number, display_phone_number),
             verified_name = COALESCE(excluded.verified_name, verified_name),
             updated_at = excluded.updated_at",
    )
    .bind(&e.phone_number_id)
    .bind(workspace_id)
    .bind(&e.waba_id)
    .bind(&e.display_phone_number)
    .bind(&e.verified_name)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    let token_at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT token_at FROM number_state WHERE phone_number_id = ?")
            .bind(&e.phone_number_id)
            .fetch_optional(&mut *conn)
            .await?;
    if token_at.flatten().is_some_and(|at| at > e.at) {
        return Ok(()); // An older connection: the newer token stays.
    }
    vault
        .put_record(&record, e.token.as_bytes())
        .map_err(|err| StoreError::Invalid(format!("storing the number's token failed: {err}")))?;
    // A fresh token ends "reconnect required".
    sqlx::query(
        "INSERT INTO number_state (phone_number_id, reconnect_required, token_at, updated_at)
         VALUES (?, 0, ?, ?)
         ON CONFLICT(phone_number_id) DO UPDATE SET reconnect_required = 0,
             reconnect_reason = NULL, token_at = excluded.token_at,
             updated_at = excluded.updated_at",
    )
    .bind(&e.phone_number_id)
    .bind(e.at)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a sent message told by a device (or by this device's own worker): inserted unless
/// its wamid is known; a reaction updates the reacted message instead.
pub(crate) async fn apply_message_sent(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    e: &MessageSent,
) -> Result<(), StoreError> {
    let contact = if e.contact.is_empty() {
        ContactRef {
            wa_id: Some(e.to.clone()),
            user_id: None,
        }
    } else {
        e.contact.clone()
    };
    let conversation_id =
        resolve_conversation(conn, workspace_id, &e.phone_number_id, &contact).await?;
    let parsed: Option<SendMessage> = serde_json::from_value(e.message.clone()).ok();
    if let Some(MessageContent::Reaction(r)) = parsed.as_ref().map(|m| &m.content) {
        apply_reactions_in(
            conn,
            &[ReactionUpdate {
                message_wamid: r.message_id.clone(),
                reactor: "me".into(),
                emoji: Some(r.emoji.clone()),
                ts: e.sent_at,
                raw_json: e.message.to_string(),
            }],
        )
        .await?;
        return Ok(());
    }
    let mut m = NewMessage {
        conversation_id,
        wamid: e.wamid.clone(),
        direction: Direction::Out,
        origin: Origin::Device,
        kind: "unsupported".into(),
        ts: e.sent_at,
        raw_json: e.message.to_string(),
        ..NewMessage::default()
    };
    if let Some(msg) = &parsed {
        crate::send::fill_typed_fields(&mut m, msg);
    }
    let report = insert_messages_in(conn, &[m]).await?;
    if report.inserted > 0 {
        set_author_in(conn, &e.wamid, &e.author).await?;
        // Meta accepted it: at least 'sent', unless a webhook already told more.
        sqlx::query(
            "UPDATE messages SET status = 'sent', status_rank = 1, status_at = ?
             WHERE wamid = ? AND status_rank < 1",
        )
        .bind(e.sent_at)
        .bind(&e.wamid)
        .execute(&mut *conn)
        .await?;
        if let Some((media_id, kind, voice)) = parsed.as_ref().and_then(sent_media) {
            crate::media::queue::queue_sent_in(conn, &e.wamid, &media_id, kind, voice).await?;
        }
    }
    Ok(())
}

/// The uploaded media of a sent message (or of its template's header): Meta's id, the media
/// type, a voice note. `None` for other messages and for media sent by link (Meta fetched
/// those; nothing to download here).
fn sent_media(msg: &SendMessage) -> Option<(String, &'static str, bool)> {
    let (source, kind, voice) = match &msg.content {
        MessageContent::Image(m) => (&m.source, "image", false),
        MessageContent::Video(m) => (&m.source, "video", false),
        MessageContent::Audio(m) => (&m.source, "audio", m.voice.unwrap_or(false)),
        MessageContent::Document(m) => (&m.source, "document", false),
        MessageContent::Sticker(m) => (&m.source, "sticker", false),
        MessageContent::Template(t) => template_header_file(t)?,
        _ => return None,
    };
    match source {
        cloud_api::messages::MediaSource::Id(id) => Some((id.clone(), kind, voice)),
        cloud_api::messages::MediaSource::Link(_) => None,
    }
}

/// The file of a template's image, video or document header.
fn template_header_file(
    t: &cloud_api::messages::Template,
) -> Option<(&cloud_api::messages::MediaSource, &'static str, bool)> {
    use cloud_api::messages::{Component, Parameter};
    t.components.iter().find_map(|c| match c {
        Component::Header { parameters } => parameters.iter().find_map(|p| match p {
            Parameter::Image { image } => Some((&image.source, "image", false)),
            Parameter::Video { video } => Some((&video.source, "video", false)),
            Parameter::Document { document } => Some((&document.source, "document", false)),
            _ => None,
        }),
        _ => None,
    })
}

pub(crate) async fn set_author_in(
    conn: &mut SqliteConnection,
    wamid: &str,
    author: &Author,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE messages SET author_id = ?, author_name = ? WHERE wamid = ?")
        .bind(&author.user_id)
        .bind(&author.name)
        .bind(wamid)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
