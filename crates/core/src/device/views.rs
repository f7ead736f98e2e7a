//! What the app's screens read: conversations, messages and search results shaped for display,
//! with the 24-hour window, ticks and error explanations worked out here rather than in the UI.
//!
//! Every list is a keyset page (newest first) over an index; message content is returned as
//! plain strings and the original JSON (`raw`) for the kinds the UI renders from it (contacts,
//! interactive, orders, referrals, unsupported). Nothing here is HTML.

use serde::Serialize;
use sqlx::Row;

use crate::store::{cursor_start, paginate, Cursor, Store, StoreError};

/// The customer-service window: free-form messages are allowed for 24 hours after the
/// customer's last message (Meta: "customer service window").
pub const WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// A keyset position, as the UI passes it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PageCursor {
    /// The row's time (Unix seconds).
    pub ts: i64,
    /// The row's id.
    pub id: i64,
}

impl From<Cursor> for PageCursor {
    fn from(c: Cursor) -> Self {
        Self { ts: c.ts, id: c.id }
    }
}

impl From<PageCursor> for Cursor {
    fn from(c: PageCursor) -> Self {
        Self { ts: c.ts, id: c.id }
    }
}

/// Whether free-form messages may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct WindowState {
    /// The window is open.
    pub open: bool,
    /// When it closes (Unix seconds), if the customer ever wrote.
    pub expires_at: Option<i64>,
}

impl WindowState {
    /// The window given the customer's last message time, at `now`.
    pub fn at(last_inbound_at: Option<i64>, now: i64) -> Self {
        let expires_at = last_inbound_at.map(|t| t + WINDOW_SECONDS);
        Self {
            open: expires_at.is_some_and(|e| e > now),
            expires_at,
        }
    }
}

/// A contact as the screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    pub id: i64,
    /// The best name: the one the business set, else the WhatsApp profile name, else the number.
    pub name: String,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub phone: Option<String>,
    pub restricted: bool,
    pub opted_out: bool,
}

/// One row of the inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub id: i64,
    pub phone_number_id: String,
    pub contact: ContactView,
    /// Unix seconds.
    pub last_message_at: i64,
    pub last_preview: Option<String>,
    pub last_kind: Option<String>,
    pub last_direction: Option<String>,
    pub last_status: Option<String>,
    pub unread_count: i64,
    pub window: WindowState,
    pub labels: Vec<String>,
    pub assigned_to: Option<String>,
}

/// Which conversations the inbox lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ConversationFilter {
    /// Only conversations with unread messages.
    pub unread_only: bool,
    /// Only conversations with this label.
    pub label: Option<String>,
    /// Only conversations assigned to the signed-in user.
    pub assigned_to_me: bool,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ViewPage<T> {
    pub items: Vec<T>,
    /// Pass back for the next (older) page; `None` at the end.
    pub next: Option<PageCursor>,
}

/// A media attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MediaView {
    pub meta_id: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    /// `pending`, `downloading`, `done` or `failed`.
    pub state: String,
    /// Where the webview may load the decrypted file from, once downloaded.
    pub local_url: Option<String>,
    /// Why the file is unavailable (state `failed`), or the last error while retrying.
    pub error: Option<String>,
    /// A recorded voice note (audio sent with `voice: true`).
    pub voice: bool,
}

/// A failed message's error, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MessageError {
    pub code: i64,
    pub title: String,
    /// Plain language for the user (cloud-api's table).
    pub explanation: String,
    /// The fix offered (`send_template`, `reconnect`, …), if any.
    pub action: Option<String>,
}

/// A location.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct LocationView {
    pub latitude: f64,
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// The message a reply quotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct QuotedView {
    pub wamid: String,
    pub preview: Option<String>,
}

/// A reaction on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    pub emoji: String,
    pub by: String,
}

/// A message as the thread shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: i64,
    pub wamid: String,
    pub conversation_id: i64,
    /// `in` or `out`.
    pub direction: String,
    /// Meta's type (`text`, `image`, …, `unsupported`).
    pub kind: String,
    pub ts: i64,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub media: Option<MediaView>,
    pub location: Option<LocationView>,
    pub reply_to: Option<QuotedView>,
    pub reactions: Vec<ReactionView>,
    /// `pending`, `sent`, `delivered`, `read`, `played`, `failed` (outbound).
    pub status: Option<String>,
    pub error: Option<MessageError>,
    pub edited_at: Option<i64>,
    pub deleted: bool,
    /// The staff member who sent it, when known.
    pub author: Option<String>,
    /// The JSON Meta sent (or we sent).
    pub raw: String,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MessageSearchHit {
    pub message: MessageView,
    pub conversation_id: i64,
    pub contact_name: String,
    /// The matching text with `[`…`]` around matches (render as text).
    pub snippet: String,
}

/// Search results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SearchView {
    pub messages: Vec<MessageSearchHit>,
    pub contacts: Vec<ContactView>,
}

pub(crate) const CONTACT_COLUMNS: &str =
    "ct.id AS contact_id, ct.wa_id, ct.user_id, ct.phone_normalized,
    ct.profile_name, ct.display_name, ct.restricted, ct.opted_out";

pub(crate) fn contact_of(row: &sqlx::sqlite::SqliteRow) -> Result<ContactView, sqlx::Error> {
    let wa_id: Option<String> = row.try_get("wa_id")?;
    let user_id: Option<String> = row.try_get("user_id")?;
    let phone: Option<String> = row.try_get("phone_normalized")?;
    let display: Option<String> = row.try_get("display_name")?;
    let profile: Option<String> = row.try_get("profile_name")?;
    let name = [&display, &profile]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .cloned()
        .or_else(|| {
            phone
                .as_ref()
                .map(|p| format!("+{}", p.trim_start_matches('+')))
        })
        .or_else(|| wa_id.as_ref().map(|w| format!("+{w}")))
        .or_else(|| user_id.clone())
        .unwrap_or_default();
    Ok(ContactView {
        id: row.try_get("contact_id")?,
        name,
        wa_id,
        user_id,
        phone,
        restricted: row.try_get::<i64, _>("restricted")? != 0,
        opted_out: row.try_get::<i64, _>("opted_out")? != 0,
    })
}

/// One page of the inbox for `workspace_id`, newest first.
pub async fn conversations(
    store: &Store,
    workspace_id: &str,
    me: Option<&str>,
    filter: &ConversationFilter,
    after: Option<Cursor>,
    limit: u32,
    now: i64,
) -> Result<ViewPage<ConversationSummary>, StoreError> {
    let (ts, id) = cursor_start(after);
    let sql = format!(
        "SELECT c.id, c.phone_number_id, c.last_message_at, c.last_inbound_at, c.unread_count,
                c.assigned_to, {CONTACT_COLUMNS},
                m.kind AS last_kind, m.direction AS last_direction, m.status AS last_status,
                COALESCE(m.text_body, m.caption, m.document_filename, m.location_name,
                         m.reply_title) AS last_preview
         FROM conversations c
         JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN messages m ON m.id = c.last_message_id
         WHERE c.workspace_id = ? AND (c.last_message_at, c.id) < (?, ?)
           AND (? = 0 OR c.unread_count > 0)
           AND (? IS NULL OR c.assigned_to = ?)
           AND (? IS NULL OR EXISTS (SELECT 1 FROM conversation_labels l
                                     WHERE l.conversation_id = c.id AND l.label = ?))
         ORDER BY c.last_message_at DESC, c.id DESC
         LIMIT ?"
    );
    let assigned = if filter.assigned_to_me { me } else { None };
    let rows = sqlx::query(&sql)
        .bind(workspace_id)
        .bind(ts)
        .bind(id)
        .bind(i64::from(filter.unread_only))
        .bind(assigned)
        .bind(assigned)
        .bind(filter.label.as_deref())
        .bind(filter.label.as_deref())
        .bind(i64::from(limit) + 1)
        .fetch_all(store.pool())
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(summary_of(row, now)?);
    }
    let page = paginate(items, limit, |c: &ConversationSummary| Cursor {
        ts: c.last_message_at,
        id: c.id,
    });
    let mut items = page.items;
    attach_labels(store, &mut items).await?;
    Ok(ViewPage {
        items,
        next: page.next.map(Into::into),
    })
}

/// One conversation's inbox row, if it belongs to `workspace_id`.
pub async fn conversation(
    store: &Store,
    workspace_id: &str,
    conversation_id: i64,
    now: i64,
) -> Result<Option<ConversationSummary>, StoreError> {
    let sql = format!(
        "SELECT c.id, c.phone_number_id, c.last_message_at, c.last_inbound_at, c.unread_count,
                c.assigned_to, {CONTACT_COLUMNS},
                m.kind AS last_kind, m.direction AS last_direction, m.status AS last_status,
                COALESCE(m.text_body, m.caption, m.document_filename, m.location_name,
                         m.reply_title) AS last_preview
         FROM conversations c
         JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN messages m ON m.id = c.last_message_id
         WHERE c.id = ? AND c.workspace_id = ?"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(conversation_id)
        .bind(workspace_id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let mut items = vec![summary_of(&row, now)?];
    attach_labels(store, &mut items).await?;
    Ok(items.pop())
}

fn summary_of(row: &sqlx::sqlite::SqliteRow, now: i64) -> Result<ConversationSummary, sqlx::Error> {
    Ok(ConversationSummary {
        id: row.try_get("id")?,
        phone_number_id: row.try_get("phone_number_id")?,
        contact: contact_of(row)?,
        last_message_at: row.try_get("last_message_at")?,
        last_preview: row.try_get("last_preview")?,
        last_kind: row.try_get("last_kind")?,
        last_direction: row.try_get("last_direction")?,
        last_status: row.try_get("last_status")?,
        unread_count: row.try_get("unread_count")?,
        window: WindowState::at(row.try_get("last_inbound_at")?, now),
        labels: Vec::new(),
        assigned_to: row.try_get("assigned_to")?,
    })
}

async fn attach_labels(store: &Store, items: &mut [ConversationSummary]) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    // One query for the page, not one per row.
    let ids = items
        .iter()
        .map(|c| c.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT conversation_id, label FROM conversation_labels
         WHERE conversation_id IN ({ids}) ORDER BY label"
    ))
    .fetch_all(store.pool())
    .await?;
    for (conversation_id, label) in rows {
        if let Some(item) = items.iter_mut().find(|c| c.id == conversation_id) {
            item.labels.push(label);
        }
    }
    Ok(())
}

const MESSAGE_COLUMNS: &str = "m.id, m.wamid, m.conversation_id, m.direction, m.kind, m.ts,
    m.text_body, m.caption, m.document_filename, m.media_meta_id, m.mime_type, m.latitude,
    m.longitude, m.location_name, m.location_address, m.reply_title, m.context_wamid, m.status,
    m.error_code, m.error_title, m.edited_at, m.deleted_at, m.raw_json, m.author_name AS author,
    md.path AS media_path, md.size_bytes AS media_size, md.download_state AS media_state,
    md.last_error AS media_error, md.voice AS media_voice,
    q.text_body AS quoted_text, q.caption AS quoted_caption, q.kind AS quoted_kind";

const MESSAGE_JOINS: &str = "LEFT JOIN media md ON md.id = (SELECT id FROM media
        WHERE message_id = m.id ORDER BY id LIMIT 1)
    LEFT JOIN messages q ON q.wamid = m.context_wamid";

/// One page of a thread, newest first.
pub async fn messages(
    store: &Store,
    conversation_id: i64,
    before: Option<Cursor>,
    limit: u32,
) -> Result<ViewPage<MessageView>, StoreError> {
    let (ts, id) = cursor_start(before);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS}
         WHERE m.conversation_id = ? AND (m.ts, m.id) < (?, ?)
         ORDER BY m.ts DESC, m.id DESC LIMIT ?"
    );
    message_page(store, &sql, conversation_id, (ts, id), limit).await
}

/// The page of a thread just newer than `after`, oldest first: the way back down a thread
/// scrolled far into its past. `next` (the newest item's position) is set while there are
/// newer messages still.
pub async fn messages_after(
    store: &Store,
    conversation_id: i64,
    after: Cursor,
    limit: u32,
) -> Result<ViewPage<MessageView>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS}
         WHERE m.conversation_id = ? AND (m.ts, m.id) > (?, ?)
         ORDER BY m.ts ASC, m.id ASC LIMIT ?"
    );
    message_page(store, &sql, conversation_id, (after.ts, after.id), limit).await
}

/// Runs a keyset page query of messages (`?` for conversation, ts, id and limit) and adds
/// their reactions.
async fn message_page(
    store: &Store,
    sql: &str,
    conversation_id: i64,
    (ts, id): (i64, i64),
    limit: u32,
) -> Result<ViewPage<MessageView>, StoreError> {
    let rows = sqlx::query(sql)
        .bind(conversation_id)
        .bind(ts)
        .bind(id)
        .bind(i64::from(limit) + 1)
        .fetch_all(store.pool())
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(message_of(row)?);
    }
    let page = paginate(items, limit, |m: &MessageView| Cursor {
        ts: m.ts,
        id: m.id,
    });
    let mut items = page.items;
    attach_reactions(store, &mut items).await?;
    Ok(ViewPage {
        items,
        next: page.next.map(Into::into),
    })
}

/// One message by row id.
pub async fn message(store: &Store, id: i64) -> Result<Option<MessageView>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} WHERE m.id = ?");
    let Some(row) = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let mut items = vec![message_of(&row)?];
    attach_reactions(store, &mut items).await?;
    Ok(items.pop())
}

fn message_of(row: &sqlx::sqlite::SqliteRow) -> Result<MessageView, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let media_meta_id: Option<String> = row.try_get("media_meta_id")?;
    let media_state: Option<String> = row.try_get("media_state")?;
    let media_path: Option<String> = row.try_get("media_path")?;
    let has_media = media_meta_id.is_some() || media_state.is_some();
    let media = has_media.then(|| MediaView {
        meta_id: media_meta_id.clone(),
        mime_type: row.try_get("mime_type").ok().flatten(),
        file_name: row.try_get("document_filename").ok().flatten(),
        size_bytes: row.try_get("media_size").ok().flatten(),
        state: media_state.clone().unwrap_or_else(|| "pending".into()),
        local_url: media_path
            .filter(|_| media_state.as_deref() == Some("done"))
            .map(|_| {
                format!(
                    "media://localhost/{}",
                    row.try_get::<i64, _>("id").unwrap_or(0)
                )
            }),
        error: row.try_get("media_error").ok().flatten(),
        voice: row
            .try_get::<Option<bool>, _>("media_voice")
            .ok()
            .flatten()
            .unwrap_or(false),
    });
    let latitude: Option<f64> = row.try_get("latitude")?;
    let longitude: Option<f64> = row.try_get("longitude")?;
    let location = match (latitude, longitude) {
        (Some(latitude), Some(longitude)) => Some(LocationView {
            latitude,
            longitude,
            name: row.try_get("location_name")?,
            address: row.try_get("location_address")?,
        }),
        _ => None,
    };
    let context: Option<String> = row.try_get("context_wamid")?;
    let reply_to = context.map(|wamid| {
        let text: Option<String> = row.try_get("quoted_text").ok().flatten();
        let caption: Option<String> = row.try_get("quoted_caption").ok().flatten();
        let quoted_kind: Option<String> = row.try_get("quoted_kind").ok().flatten();
        QuotedView {
            wamid,
            preview: text.or(caption).or(quoted_kind),
        }
    });
    let error = row.try_get::<Option<i64>, _>("error_code")?.map(|code| {
        let info = cloud_api::error::classify(code);
        MessageError {
            code,
            title: row
                .try_get::<Option<String>, _>("error_title")
                .ok()
                .flatten()
                .unwrap_or_default(),
            explanation: info.explanation.to_owned(),
            action: serde_json::to_value(info.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
        }
    });
    let text: Option<String> = row.try_get("text_body")?;
    let reply_title: Option<String> = row.try_get("reply_title")?;
    Ok(MessageView {
        id: row.try_get("id")?,
        wamid: row.try_get("wamid")?,
        conversation_id: row.try_get("conversation_id")?,
        direction: row.try_get("direction")?,
        kind,
        ts: row.try_get("ts")?,
        text: text.or(reply_title),
        caption: row.try_get("caption")?,
        media,
        location,
        reply_to,
        reactions: Vec::new(),
        status: row.try_get("status")?,
        error,
        edited_at: row.try_get("edited_at")?,
        deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
        author: row.try_get("author")?,
        raw: row.try_get("raw_json")?,
    })
}

async fn attach_reactions(store: &Store, items: &mut [MessageView]) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    // One query for the page, not one per message; the wamids are bound, never spliced.
    let marks = vec!["?"; items.len()].join(",");
    let sql = format!(
        "SELECT message_wamid, emoji, reactor FROM reactions
         WHERE message_wamid IN ({marks}) AND emoji IS NOT NULL AND emoji != '' ORDER BY ts, id"
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
    for item in items.iter() {
        query = query.bind(&item.wamid);
    }
    for (wamid, emoji, by) in query.fetch_all(store.pool()).await? {
        if let Some(item) = items.iter_mut().find(|m| m.wamid == wamid) {
            item.reactions.push(ReactionView { emoji, by });
        }
    }
    Ok(())
}

/// Full-text search: messages newest first, and contacts.
pub async fn search(
    store: &Store,
    workspace_id: &str,
    query: &str,
    limit: u32,
) -> Result<SearchView, StoreError> {
    let found = store.search(workspace_id, query, None, limit).await?;
    // The hits' messages and their contacts' names in one query each, not one per hit.
    let mut by_id = std::collections::HashMap::new();
    if !found.messages.is_empty() {
        let marks = vec!["?"; found.messages.len()].join(",");
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} WHERE m.id IN ({marks})"
        );
        let mut q = sqlx::query(&sql);
        for hit in &found.messages {
            q = q.bind(hit.message_id);
        }
        let mut views = Vec::new();
        for row in q.fetch_all(store.pool()).await? {
            views.push(message_of(&row)?);
        }
        attach_reactions(store, &mut views).await?;
        by_id = views.into_iter().map(|m| (m.id, m)).collect();
    }
    let mut names = std::collections::HashMap::new();
    if !found.messages.is_empty() {
        let marks = vec!["?"; found.messages.len()].join(",");
        let sql = format!(
            "SELECT c.id AS conversation_id, {CONTACT_COLUMNS} FROM conversations c
             JOIN contacts ct ON ct.id = c.contact_id WHERE c.id IN ({marks})"
        );
        let mut q = sqlx::query(&sql);
        for hit in &found.messages {
            q = q.bind(hit.conversation_id);
        }
        for row in q.fetch_all(store.pool()).await? {
            let id: i64 = row.try_get("conversation_id")?;
            names.insert(id, contact_of(&row)?.name);
        }
    }
    let messages = found
        .messages
        .into_iter()
        .filter_map(|hit| {
            let message = by_id.remove(&hit.message_id)?;
            Some(MessageSearchHit {
                message,
                conversation_id: hit.conversation_id,
                contact_name: names.get(&hit.conversation_id).cloned().unwrap_or_default(),
                snippet: hit.snippet,
            })
        })
        .collect();
    let mut contacts = Vec::with_capacity(found.contacts.len());
    if !found.contacts.is_empty() {
        let marks = vec!["?"; found.contacts.len()].join(",");
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts ct WHERE ct.id IN ({marks})");
        let mut q = sqlx::query(&sql);
        for hit in &found.contacts {
            q = q.bind(hit.id);
        }
        let rows = q.fetch_all(store.pool()).await?;
        // Keep the search's ranking order.
        for hit in &found.contacts {
            for row in &rows {
                if row.try_get::<i64, _>("contact_id")? == hit.id {
                    contacts.push(contact_of(row)?);
                }
            }
        }
    }
    Ok(SearchView { messages, contacts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_24_hours_after_the_last_inbound_message() {
        assert_eq!(
            WindowState::at(None, 1_000),
            WindowState {
                open: false,
                expires_at: None
            }
        );
        let open = WindowState::at(Some(1_000), 1_000 + WINDOW_SECONDS - 1);
        assert!(open.open);
        assert_eq!(open.expires_at, Some(1_000 + WINDOW_SECONDS));
        assert!(!WindowState::at(Some(1_000), 1_000 + WINDOW_SECONDS).open);
    }
}
