//! Repository functions over the store: contacts, conversations, messages, statuses, search.

use sqlx::{Row, SqliteConnection};

use super::bulk::{apply_statuses_in, insert_messages_in};
use super::{normalize_phone, now, Store, StoreError};

/// A position in a newest-first list: the `(time, id)` of the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The row's time (Unix seconds).
    pub ts: i64,
    /// The row's id, breaking ties between rows of the same second.
    pub id: i64,
}

/// One page of a list, and the cursor of the next page if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Pass this to get the next (older) page; `None` at the end.
    pub next: Option<Cursor>,
}

/// A phone number of the workspace (Meta's `phone_number_id`).
#[derive(Debug, Clone, Default)]
pub struct PhoneNumberInput {
    /// Meta's phone number id.
    pub id: String,
    /// The owning workspace.
    pub workspace_id: String,
    /// The WhatsApp Business Account.
    pub waba_id: String,
    /// As Meta displays it.
    pub display_phone_number: Option<String>,
    /// The approved display name.
    pub verified_name: Option<String>,
}

/// What we learnt about a contact. At least one of `wa_id` and `user_id` is required: a phone
/// number alone never identifies a contact.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    /// The owning workspace.
    pub workspace_id: String,
    /// WhatsApp id (usually the phone number's digits).
    pub wa_id: Option<String>,
    /// Business-scoped user id (contacts may come without a phone number).
    pub user_id: Option<String>,
    /// A phone number in any format, used to merge variants of one number.
    pub phone: Option<String>,
    /// The WhatsApp profile name.
    pub profile_name: Option<String>,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// From the customer.
    #[default]
    In,
    /// From the business.
    Out,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// Where an outbound message was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// Received from the Cloud API (inbound) or sent through it by this workspace.
    #[default]
    Cloud,
    /// Sent from the WhatsApp Business phone app (`smb_message_echoes`).
    Echo,
    /// Sent by another device of the workspace and published through the relay.
    Device,
}

impl Origin {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Echo => "echo",
            Self::Device => "device",
        }
    }
}

/// A message of any type, with its typed fields and the original JSON.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// The conversation (see [`Store::ensure_conversation`]).
    pub conversation_id: i64,
    /// Meta's message id, the idempotency key.
    pub wamid: String,
    /// In or out.
    pub direction: Direction,
    /// Cloud, phone-app echo, or another device.
    pub origin: Origin,
    /// Meta's message `type` (text, image, document, interactive, ...).
    pub kind: String,
    /// Meta's timestamp (Unix seconds).
    pub ts: i64,
    /// The sender's wa_id or user_id (inbound).
    pub from_id: Option<String>,
    /// Text body.
    pub text_body: Option<String>,
    /// Media caption.
    pub caption: Option<String>,
    /// Document file name.
    pub document_filename: Option<String>,
    /// Meta's media id.
    pub media_meta_id: Option<String>,
    /// Media MIME type.
    pub mime_type: Option<String>,
    /// Location latitude.
    pub latitude: Option<f64>,
    /// Location longitude.
    pub longitude: Option<f64>,
    /// Location name.
    pub location_name: Option<String>,
    /// Location address.
    pub location_address: Option<String>,
    /// Button / list reply id.
    pub reply_id: Option<String>,
    /// Button / list reply title.
    pub reply_title: Option<String>,
    /// The quoted message (`context.id`).
    pub context_wamid: Option<String>,
    /// The message object exactly as received or sent.
    pub raw_json: String,
}

/// Outcome of [`Store::insert_messages`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertReport {
    /// New messages stored.
    pub inserted: usize,
    /// Messages already known (same wamid), left untouched.
    pub duplicates: usize,
}

/// A message's delivery status, in precedence order; `Failed` is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageStatus {
    /// Accepted by WhatsApp.
    Sent,
    /// On the customer's phone.
    Delivered,
    /// Read.
    Read,
    /// Voice message played.
    Played,
    /// Failed; nothing comes after.
    Failed,
}

impl MessageStatus {
    /// Meta's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Played => "played",
            Self::Failed => "failed",
        }
    }

    /// The precedence stored in `status_rank`: a status only replaces a lower one.
    pub fn rank(self) -> i64 {
        match self {
            Self::Sent => 1,
            Self::Delivered => 2,
            Self::Read => 3,
            Self::Played => 4,
            Self::Failed => 100,
        }
    }

    /// Parses Meta's status name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A status webhook for one message.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    /// The message's wamid.
    pub wamid: String,
    /// The new status.
    pub status: MessageStatus,
    /// Meta's timestamp.
    pub ts: i64,
    /// Error code (failed).
    pub error_code: Option<i64>,
    /// Error title (failed).
    pub error_title: Option<String>,
    /// The status object as received.
    pub raw_json: String,
}

/// Outcome of [`Store::apply_statuses`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusReport {
    /// Status events not seen before.
    pub recorded: usize,
    /// Events seen before (same wamid and status).
    pub duplicates: usize,
    /// Messages whose shown status moved forward.
    pub advanced: usize,
}

/// A row of the conversation list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    /// Conversation id.
    pub id: i64,
    /// The contact.
    pub contact_id: i64,
    /// The business number.
    pub phone_number_id: String,
    /// Time of the newest message.
    pub last_message_at: i64,
    /// Time of the newest inbound message (the 24-hour window).
    pub last_inbound_at: Option<i64>,
    /// Unread inbound messages.
    pub unread_count: i64,
    /// Contact's wa_id.
    pub wa_id: Option<String>,
    /// Contact's profile name.
    pub profile_name: Option<String>,
    /// Contact's name as the business set it.
    pub display_name: Option<String>,
    /// Kind of the newest message.
    pub last_kind: Option<String>,
    /// Text or caption of the newest message.
    pub last_preview: Option<String>,
}

/// A message in a thread.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Row id.
    pub id: i64,
    /// Meta's id.
    pub wamid: String,
    /// `in` or `out`.
    pub direction: String,
    /// `cloud`, `echo` or `device`.
    pub origin: String,
    /// Message type.
    pub kind: String,
    /// Timestamp.
    pub ts: i64,
    /// Sender.
    pub from_id: Option<String>,
    /// Text.
    pub text_body: Option<String>,
    /// Caption.
    pub caption: Option<String>,
    /// Document name.
    pub document_filename: Option<String>,
    /// Media MIME type.
    pub mime_type: Option<String>,
    /// Quoted message.
    pub context_wamid: Option<String>,
    /// Delivery status (outbound).
    pub status: Option<String>,
    /// Error code if failed.
    pub error_code: Option<i64>,
    /// Error title if failed.
    pub error_title: Option<String>,
    /// When edited.
    pub edited_at: Option<i64>,
    /// When deleted.
    pub deleted_at: Option<i64>,
}

/// A message found by search.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageHit {
    /// Row id.
    pub message_id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Meta's id.
    pub wamid: String,
    /// Timestamp.
    pub ts: i64,
    /// The matching text with `[`..`]` around the matches (render as text).
    pub snippet: String,
}

/// A contact found by search.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactHit {
    /// Contact id.
    pub id: i64,
    /// wa_id.
    pub wa_id: Option<String>,
    /// Profile name.
    pub profile_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
}

/// Search results: messages newest first, and contacts.
#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    /// Matching messages (text, caption or document name).
    pub messages: Vec<MessageHit>,
    /// Matching contacts (names or wa_id); first page only.
    pub contacts: Vec<ContactHit>,
    /// The cursor of the next page of messages, if there is one.
    pub next: Option<Cursor>,
}

/// A reaction to a message, or its removal (`emoji: None`).
#[derive(Debug, Clone)]
pub struct ReactionUpdate {
    /// The message reacted to.
    pub message_wamid: String,
    /// Who reacted: the customer's wa_id / user_id, or `"me"` for the business.
    pub reactor: String,
    /// The emoji; `None` (or Meta's empty string) removes the reaction.
    pub emoji: Option<String>,
    /// Meta's timestamp.
    pub ts: i64,
    /// The reaction object as received.
    pub raw_json: String,
}

/// An edit or a deletion of a message.
#[derive(Debug, Clone)]
pub struct Revision {
    /// The message changed.
    pub wamid: String,
    /// `Some(new text)` for an edit, `None` for a deletion.
    pub new_text: Option<String>,
    /// Meta's timestamp.
    pub ts: i64,
    /// The event as received.
    pub raw_json: String,
}

impl Store {
    /// Creates the workspace or renames it.
    pub async fn upsert_workspace(&self, id: &str, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name",
        )
        .bind(id)
        .bind(name)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates or updates a business phone number.
    pub async fn upsert_phone_number(&self, input: &PhoneNumberInput) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO phone_numbers
                 (id, workspace_id, waba_id, display_phone_number, verified_name, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT(id) DO UPDATE SET
                 waba_id = excluded.waba_id,
                 display_phone_number = COALESCE(excluded.display_phone_number, display_phone_number),
                 verified_name = COALESCE(excluded.verified_name, verified_name),
                 updated_at = excluded.updated_at",
        )
        .bind(&input.id)
        .bind(&input.workspace_id)
        .bind(&input.waba_id)
        .bind(&input.display_phone_number)
        .bind(&input.verified_name)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Finds or creates the contact and returns its id.
    ///
    /// Matching order: `wa_id`, then `user_id`, then the normalized phone number (so a variant
    /// of a known number — e.g. without Brazil's 9th digit — lands on the same contact, whose
    /// `wa_id` is updated to the one Meta used last).
    pub async fn upsert_contact(&self, input: &ContactInput) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = upsert_contact_in(&mut tx, input).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The conversation between a business number and a contact, created if needed.
    pub async fn ensure_conversation(
        &self,
        workspace_id: &str,
        phone_number_id: &str,
        contact_id: i64,
    ) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        ensure_conversation_in(&mut conn, workspace_id, phone_number_id, contact_id).await
    }

    /// Stores a page of messages in one transaction. A wamid already stored is skipped, so
    /// replays and duplicate webhooks change nothing. A status that arrived before its message
    /// is applied as the message is stored.
    pub async fn insert_messages(
        &self,
        messages: &[NewMessage],
    ) -> Result<InsertReport, StoreError> {
        let mut tx = self.begin_write().await?;
        let out = insert_messages_in(&mut tx, messages).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Applies a page of status webhooks in one transaction. Each (wamid, status) is recorded
    /// once; a message's status only moves forward (sent < delivered < read < played), and
    /// `failed` is final.
    pub async fn apply_statuses(
        &self,
        updates: &[StatusUpdate],
    ) -> Result<StatusReport, StoreError> {
        let mut tx = self.begin_write().await?;
        let out = apply_statuses_in(&mut tx, updates).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Applies a page of reactions in one transaction: per (message, reactor) the newest
    /// reaction wins, whatever order they arrive in; an empty emoji removes the reaction.
    pub async fn apply_reactions(&self, reactions: &[ReactionUpdate]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        apply_reactions_in(&mut tx, reactions).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The current reactions to a message, as (reactor, emoji).
    pub async fn reactions(
        &self,
        message_wamid: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT reactor, emoji FROM reactions
             WHERE message_wamid = ? AND emoji IS NOT NULL ORDER BY ts, id",
        )
        .bind(message_wamid)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Applies a page of edits and deletions in one transaction. Each event is kept in the
    /// revision history once; the newest edit's text is shown; a deletion is final and removes
    /// the content (typed columns, search rows and the raw JSON) of the message.
    pub async fn apply_revisions(&self, revisions: &[Revision]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        apply_revisions_in(&mut tx, revisions).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A setting's JSON value.
    pub async fn setting(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let raw: Option<String> =
            sqlx::query_scalar("SELECT value_json FROM settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        raw.map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("setting {key:?} is not JSON: {e}")))
    }

    /// Sets a setting to a JSON value.
    pub async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        set_setting_in(&mut conn, key, value).await
    }

    /// Where the relay stream `stream` was acknowledged up to.
    pub async fn sync_cursor(&self, stream: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT cursor FROM sync_cursor WHERE stream = ?")
                .bind(stream)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records the cursor of `stream`. Call it in the same transaction as the page it covers
    /// (`crate::sync::apply_page` does); on its own it is for tests and tools.
    pub async fn set_sync_cursor(&self, stream: &str, cursor: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sync_cursor (stream, cursor, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(stream) DO UPDATE SET cursor = excluded.cursor,
                 updated_at = excluded.updated_at",
        )
        .bind(stream)
        .bind(cursor)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One page of the inbox, newest conversation first. Pass the previous page's `next` as
    /// `after` for the following page.
    pub async fn list_conversations(
        &self,
        workspace_id: &str,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page<ConversationRow>, StoreError> {
        let (ts, id) = start(after);
        let rows: Vec<ConversationRow> = sqlx::query_as(
            "SELECT c.id, c.contact_id, c.phone_number_id, c.last_message_at, c.last_inbound_at,
                    c.unread_count, ct.wa_id, ct.profile_name, ct.display_name,
                    m.kind AS last_kind, COALESCE(m.text_body, m.caption, m.document_filename)
                        AS last_preview
             FROM conversations c
             JOIN contacts ct ON ct.id = c.contact_id
             LEFT JOIN messages m ON m.id = c.last_message_id
             WHERE c.workspace_id = ? AND (c.last_message_at, c.id) < (?, ?)
             ORDER BY c.last_message_at DESC, c.id DESC
             LIMIT ?",
        )
        .bind(workspace_id)
        .bind(ts)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        Ok(paginate(rows, limit, |r| Cursor {
            ts: r.last_message_at,
            id: r.id,
        }))
    }

    /// One page of a conversation's messages, newest first.
    pub async fn list_thread(
        &self,
        conversation_id: i64,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<Page<MessageRow>, StoreError> {
        let (ts, id) = start(before);
        let rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT id, wamid, direction, origin, kind, ts, from_id, text_body, caption,
                    document_filename, mime_type, context_wamid, status, error_code, error_title,
                    edited_at, deleted_at
             FROM messages
             WHERE conversation_id = ? AND (ts, id) < (?, ?)
             ORDER BY ts DESC, id DESC
             LIMIT ?",
        )
        .bind(conversation_id)
        .bind(ts)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        Ok(paginate(rows, limit, |r| Cursor { ts: r.ts, id: r.id }))
    }

    /// Full-text search over message text, captions, document names and contact names. Every
    /// word must match (as a prefix); case and diacritics are ignored. Messages come newest
    /// first, a page at a time (pass the previous page's `next` as `before`); contacts come with
    /// the first page only.
    pub async fn search(
        &self,
        workspace_id: &str,
        query: &str,
        before: Option<Cursor>,
        limit: u32,
    ) -> Result<SearchResults, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(message_fts) = super::search_query::message_query(&mut conn, query).await? else {
            return Ok(SearchResults::default());
        };
        // Newest first by arrival (row id), not by Meta's timestamp: FTS5 walks its index in
        // rowid order and stops at the page size, where ORDER BY ts would sort every match
        // (a common word matches a tenth of a million-message history: ~1 s instead of ms).
        // Messages arrive in time order except for backfills, so the two orders agree.
        let (_, id) = start(before);
        let messages: Vec<MessageHit> = sqlx::query_as(
            "SELECT m.id AS message_id, m.conversation_id, m.wamid, m.ts,
                    snippet(messages_fts, -1, '[', ']', '…', 12) AS snippet
             FROM messages_fts
             JOIN messages m ON m.id = messages_fts.rowid
             JOIN conversations c ON c.id = m.conversation_id
             WHERE messages_fts MATCH ? AND c.workspace_id = ? AND m.deleted_at IS NULL
                 AND messages_fts.rowid < ?
             ORDER BY messages_fts.rowid DESC
             LIMIT ?",
        )
        .bind(&message_fts)
        .bind(workspace_id)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
        let page = paginate(messages, limit, |m| Cursor {
            ts: m.ts,
            id: m.message_id,
        });
        if before.is_some() {
            return Ok(SearchResults {
                messages: page.items,
                contacts: Vec::new(),
                next: page.next,
            });
        }
        // A few thousand contacts: FTS5's prefix query is fast enough there as it is. (Some
        // whenever the message query was: both come from the same words.)
        let contact_fts = fts_query(query).unwrap_or_default();
        let contacts = sqlx::query_as(
            "SELECT ct.id, ct.wa_id, ct.profile_name, ct.display_name
             FROM contacts_fts
             JOIN contacts ct ON ct.id = contacts_fts.rowid
             WHERE contacts_fts MATCH ? AND ct.workspace_id = ?
             ORDER BY rank
             LIMIT ?",
        )
        .bind(&contact_fts)
        .bind(workspace_id)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        Ok(SearchResults {
            messages: page.items,
            contacts,
            next: page.next,
        })
    }
}

pub(crate) async fn upsert_contact_in(
    conn: &mut SqliteConnection,
    input: &ContactInput,
) -> Result<i64, StoreError> {
    let wa_id = input.wa_id.as_deref().filter(|s| !s.is_empty());
    let user_id = input.user_id.as_deref().filter(|s| !s.is_empty());
    if wa_id.is_none() && user_id.is_none() {
        return Err(StoreError::Invalid(
            "a contact needs a wa_id or a user_id; a phone number alone does not identify one"
                .into(),
        ));
    }
    let phone = input
        .phone
        .as_deref()
        .and_then(normalize_phone)
        .or_else(|| wa_id.and_then(normalize_phone));
    let ws = input.workspace_id.as_str();

    let mut existing: Option<i64> = None;
    if let Some(wa_id) = wa_id {
        existing =
            sqlx::query_scalar("SELECT id FROM contacts WHERE workspace_id = ? AND wa_id = ?")
                .bind(ws)
                .bind(wa_id)
                .fetch_optional(&mut *conn)
                .await?;
    }
    if existing.is_none() {
        if let Some(user_id) = user_id {
            existing = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE workspace_id = ? AND user_id = ?",
            )
            .bind(ws)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
        }
    }
    if existing.is_none() {
        if let Some(phone) = &phone {
            existing = sqlx::query_scalar(
                "SELECT id FROM contacts WHERE workspace_id = ? AND phone_normalized = ?
                 ORDER BY updated_at DESC, id DESC LIMIT 1",
            )
            .bind(ws)
            .bind(phone)
            .fetch_optional(&mut *conn)
            .await?;
        }
    }

    let ts = now();
    if let Some(id) = existing {
        sqlx::query(
            "UPDATE contacts SET wa_id = COALESCE(?, wa_id), user_id = COALESCE(user_id, ?),
                 phone_normalized = COALESCE(?, phone_normalized),
                 profile_name = COALESCE(?, profile_name), updated_at = ?
             WHERE id = ?",
        )
        .bind(wa_id)
        .bind(user_id)
        .bind(&phone)
        .bind(&input.profile_name)
        .bind(ts)
        .bind(id)
        .execute(&mut *conn)
        .await?;
        return Ok(id);
    }
    let row = sqlx::query(
        "INSERT INTO contacts (workspace_id, wa_id, user_id, phone_normalized, profile_name,
             created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(ws)
    .bind(wa_id)
    .bind(user_id)
    .bind(&phone)
    .bind(&input.profile_name)
    .bind(ts)
    .bind(ts)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}

/// Reactions per upsert statement in [`apply_reactions_in`] (5 bound values each, far within
/// SQLite's 32,766 variables).
const REACTIONS_PER_INSERT: usize = 500;

/// [`Store::apply_reactions`] inside a transaction the caller owns (sync applies a whole page in one).
pub(crate) async fn apply_reactions_in(
    tx: &mut SqliteConnection,
    reactions: &[ReactionUpdate],
) -> Result<(), StoreError> {
    // One multi-row statement per 500 reactions instead of one per reaction (each statement is
    // a round trip to the connection's thread, `bulk`). SQLite upserts `VALUES` rows in order,
    // each seeing the rows before it, so two reactions of one reactor in a page end as they
    // did one by one: the newer wins, and at equal times the later one.
    for chunk in reactions.chunks(REACTIONS_PER_INSERT) {
        let mut upsert = sqlx::QueryBuilder::new(
            "INSERT INTO reactions (message_wamid, reactor, emoji, ts, raw_json) ",
        );
        upsert.push_values(chunk, |mut row, r| {
            row.push_bind(r.message_wamid.as_str())
                .push_bind(r.reactor.as_str())
                .push_bind(r.emoji.as_deref().filter(|e| !e.is_empty()))
                .push_bind(r.ts)
                .push_bind(r.raw_json.as_str());
        });
        upsert.push(
            " ON CONFLICT(message_wamid, reactor) DO UPDATE SET
                 emoji = excluded.emoji, ts = excluded.ts, raw_json = excluded.raw_json
             WHERE excluded.ts >= reactions.ts",
        );
        upsert.build().execute(&mut *tx).await?;
    }

    Ok(())
}

/// [`Store::apply_revisions`] inside a transaction the caller owns (sync applies a whole page in one).
pub(crate) async fn apply_revisions_in(
    tx: &mut SqliteConnection,
    revisions: &[Revision],
) -> Result<(), StoreError> {
    for r in revisions {
        let kind = if r.new_text.is_some() {
            "edit"
        } else {
            "delete"
        };
        let new = sqlx::query(
            "INSERT INTO message_revisions (wamid, kind, new_text, ts, raw_json)
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT(wamid, kind, ts) DO NOTHING",
        )
        .bind(&r.wamid)
        .bind(kind)
        .bind(&r.new_text)
        .bind(r.ts)
        .bind(&r.raw_json)
        .execute(&mut *tx)
        .await?;
        if new.rows_affected() == 0 {
            continue;
        }
        match &r.new_text {
            Some(text) => {
                sqlx::query(
                    "UPDATE messages SET
                             text_body = CASE WHEN caption IS NOT NULL AND text_body IS NULL
                                              THEN NULL ELSE ?1 END,
                             caption = CASE WHEN caption IS NOT NULL AND text_body IS NULL
                                            THEN ?1 ELSE caption END,
                             edited_at = ?2
                         WHERE wamid = ?3 AND deleted_at IS NULL
                             AND (edited_at IS NULL OR edited_at < ?2)",
                )
                .bind(text)
                .bind(r.ts)
                .bind(&r.wamid)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "UPDATE messages SET deleted_at = ?1, text_body = NULL, caption = NULL,
                             document_filename = NULL, raw_json = '{\"deleted\":true}'
                         WHERE wamid = ?2 AND deleted_at IS NULL",
                )
                .bind(r.ts)
                .bind(&r.wamid)
                .execute(&mut *tx)
                .await?;
                // The history of a deleted message must not keep its text either.
                sqlx::query("UPDATE message_revisions SET new_text = NULL WHERE wamid = ?")
                    .bind(&r.wamid)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }

    Ok(())
}

/// [`Store::ensure_conversation`] on a connection or transaction the caller owns.
pub(crate) async fn ensure_conversation_in(
    conn: &mut SqliteConnection,
    workspace_id: &str,
    phone_number_id: &str,
    contact_id: i64,
) -> Result<i64, StoreError> {
    // One statement for both cases: a no-op DO UPDATE makes RETURNING name the existing row
    // (DO NOTHING would return nothing and need a second query).
    Ok(sqlx::query_scalar(
        "INSERT INTO conversations (workspace_id, phone_number_id, contact_id)
         VALUES (?, ?, ?)
         ON CONFLICT(phone_number_id, contact_id) DO UPDATE SET contact_id = excluded.contact_id
         RETURNING id",
    )
    .bind(workspace_id)
    .bind(phone_number_id)
    .bind(contact_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// [`Store::set_sync_cursor`] inside the transaction of the page it covers.
pub(crate) async fn set_sync_cursor_in(
    conn: &mut SqliteConnection,
    stream: &str,
    cursor: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_cursor (stream, cursor, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(stream) DO UPDATE SET cursor = excluded.cursor,
             updated_at = excluded.updated_at",
    )
    .bind(stream)
    .bind(cursor)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) fn start(cursor: Option<Cursor>) -> (i64, i64) {
    cursor.map_or((i64::MAX, i64::MAX), |c| (c.ts, c.id))
}

/// [`Store::set_setting`] inside the caller's transaction.
pub(crate) async fn set_setting_in(
    conn: &mut sqlx::SqliteConnection,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (key, value_json, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json,
             updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value.to_string())
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) fn paginate<T>(mut rows: Vec<T>, limit: u32, cursor: impl Fn(&T) -> Cursor) -> Page<T> {
    let limit = limit as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more { rows.last().map(cursor) } else { None };
    Page { items: rows, next }
}

/// Turns what the user typed into an FTS5 query: every word quoted (so punctuation and FTS
/// syntax in it are plain text) and matched as a prefix; all words must match.
pub(crate) fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .map(super::search_query::prefix_phrase)
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_words() {
        assert_eq!(fts_query("  "), None);
        assert_eq!(
            fts_query("olá mundo").as_deref(),
            Some("\"olá\"* \"mundo\"*")
        );
        assert_eq!(fts_query("a\"b OR").as_deref(), Some("\"a\"\"b\"* \"OR\"*"));
    }

    #[test]
    fn status_precedence() {
        use MessageStatus::*;
        let order = [Sent, Delivered, Read, Played, Failed];
        for pair in order.windows(2) {
            assert!(pair[0].rank() < pair[1].rank());
            assert_eq!(MessageStatus::parse(pair[0].as_str()), Some(pair[0]));
        }
        assert_eq!(MessageStatus::parse("deleted"), None);
    }
}

/// A business phone number with what Meta last told us about its standing
/// (`phone_number_quality_update`, `phone_number_name_update`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct PhoneNumberRow {
    /// Meta's phone number id.
    pub id: String,
    /// The WhatsApp Business Account.
    pub waba_id: String,
    /// As Meta displays it.
    pub display_phone_number: Option<String>,
    /// The approved display name.
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`.
    pub quality_rating: Option<String>,
    /// The messaging limit tier, e.g. `TIER_250`.
    pub messaging_limit: Option<String>,
    /// The display name's review decision, e.g. `APPROVED`.
    pub name_status: Option<String>,
    /// When any of this last changed (Unix seconds).
    pub updated_at: i64,
}

/// One account, number or preference event from Meta, as received.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AccountEventRow {
    /// Local id.
    pub id: i64,
    /// The number concerned, when the event names one.
    pub phone_number_id: Option<String>,
    /// The webhook field, e.g. `account_update`.
    pub kind: String,
    /// When (Unix seconds).
    pub ts: i64,
    /// `{"waba_id", "value"}` with the webhook's value.
    pub payload_json: String,
}

impl Store {
    /// The workspace's business numbers with their quality, limit and name status.
    pub async fn phone_numbers(
        &self,
        workspace_id: &str,
    ) -> Result<Vec<PhoneNumberRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, waba_id, display_phone_number, verified_name, quality_rating,
                    messaging_limit, name_status, updated_at
             FROM phone_numbers WHERE workspace_id = ? ORDER BY display_phone_number, id",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// One page of the workspace's account events, newest first (keyset over `(ts, id)`).
    pub async fn account_events(
        &self,
        workspace_id: &str,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page<AccountEventRow>, StoreError> {
        let (ts, id) = start(after);
        let rows: Vec<AccountEventRow> = sqlx::query_as(
            "SELECT id, phone_number_id, kind, ts, payload_json FROM account_events
             WHERE workspace_id = ? AND (ts, id) < (?, ?)
             ORDER BY ts DESC, id DESC LIMIT ?",
        )
        .bind(workspace_id)
        .bind(ts)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        Ok(paginate(rows, limit, |r| Cursor { ts: r.ts, id: r.id }))
    }
}
