//! Writing a page of rows in a few statements instead of a few per row.
//!
//! Every statement sqlx runs is a round trip to the connection's worker thread (a channel send,
//! a wake-up, a reply): on this store that cost dominated a catch-up (BENCHMARKS.md "Desktop
//! store"), far more than SQLite's own work. So a page's rows are bound as ONE JSON array and
//! expanded by SQLite's `json_each`, in page order (`ORDER BY key`), which keeps the row ids and
//! the outcome of duplicates within the page exactly as if the rows were written one by one.
//! Each row is a JSON array (`value ->> 0`, `->> 1`, ...): no key lookups, no per-row binds.

use std::collections::HashMap;

use serde::ser::{SerializeTuple, Serializer};
use serde::Serialize;
use sqlx::SqliteConnection;

use super::repo::{Direction, InsertReport, NewMessage, StatusReport, StatusUpdate};
use super::{now, StoreError};

/// The rows as one JSON array, for a `json_each(?)` parameter.
pub(crate) fn json_rows<T: Serialize>(rows: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(rows)
        .map_err(|e| StoreError::Invalid(format!("a row does not encode as JSON: {e}")))
}

/// A message as a JSON array in the column order of the INSERT in [`insert_messages_in`].
struct MessageJson<'a>(&'a NewMessage);

impl Serialize for MessageJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut row = serializer.serialize_tuple(20)?;
        row.serialize_element(&m.conversation_id)?;
        row.serialize_element(&m.wamid)?;
        row.serialize_element(m.direction.as_str())?;
        row.serialize_element(m.origin.as_str())?;
        row.serialize_element(&m.kind)?;
        row.serialize_element(&m.ts)?;
        row.serialize_element(&m.from_id)?;
        row.serialize_element(&m.text_body)?;
        row.serialize_element(&m.caption)?;
        row.serialize_element(&m.document_filename)?;
        row.serialize_element(&m.media_meta_id)?;
        row.serialize_element(&m.mime_type)?;
        row.serialize_element(&m.latitude)?;
        row.serialize_element(&m.longitude)?;
        row.serialize_element(&m.location_name)?;
        row.serialize_element(&m.location_address)?;
        row.serialize_element(&m.reply_id)?;
        row.serialize_element(&m.reply_title)?;
        row.serialize_element(&m.context_wamid)?;
        row.serialize_element(&m.raw_json)?;
        row.end()
    }
}

/// What a page changes in one conversation, summed over its newly inserted messages.
#[derive(Default)]
struct ConversationDelta {
    /// The newest message, by (ts, id): what the inbox shows.
    newest: (i64, i64),
    /// New inbound messages (unread), and the newest one's time (the 24-hour window).
    inbound: i64,
    inbound_at: i64,
}

/// [`super::Store::insert_messages`] inside a transaction the caller owns (sync applies a whole
/// page in one). Three statements whatever the page's size: the messages (a wamid already stored,
/// or met earlier in the page, is skipped), the conversations' newest message and unread
/// counters (once per conversation), and the statuses that arrived before their outbound message.
pub(crate) async fn insert_messages_in(
    tx: &mut SqliteConnection,
    messages: &[NewMessage],
) -> Result<InsertReport, StoreError> {
    if messages.is_empty() {
        return Ok(InsertReport::default());
    }
    if messages.iter().any(|m| m.wamid.is_empty()) {
        return Err(StoreError::Invalid("a message without wamid".into()));
    }
    let rows: Vec<MessageJson<'_>> = messages.iter().map(MessageJson).collect();
    // `WHERE true`: without it SQLite would read ON CONFLICT as a join constraint.
    let inserted: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO messages (conversation_id, wamid, direction, origin, kind, ts, from_id,
                 text_body, caption, document_filename, media_meta_id, mime_type, latitude,
                 longitude, location_name, location_address, reply_id, reply_title,
                 context_wamid, raw_json, created_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
                value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11,
                value ->> 12, value ->> 13, value ->> 14, value ->> 15, value ->> 16,
                value ->> 17, value ->> 18, value ->> 19, ?2
         FROM json_each(?1) WHERE true ORDER BY key
         ON CONFLICT(wamid) DO NOTHING
         RETURNING id, wamid",
    )
    .bind(json_rows(&rows)?)
    .bind(now())
    .fetch_all(&mut *tx)
    .await?;
    let report = InsertReport {
        inserted: inserted.len(),
        duplicates: messages.len() - inserted.len(),
    };
    if inserted.is_empty() {
        return Ok(report);
    }

    let mut ids: HashMap<&str, i64> = inserted.iter().map(|(id, w)| (w.as_str(), *id)).collect();
    let mut conversations: HashMap<i64, ConversationDelta> = HashMap::new();
    let mut outbound: Vec<i64> = Vec::new();
    for m in messages {
        // `remove`: a wamid met twice in the page was inserted once, by its first occurrence.
        let Some(id) = ids.remove(m.wamid.as_str()) else {
            continue;
        };
        let delta = conversations.entry(m.conversation_id).or_default();
        delta.newest = delta.newest.max((m.ts, id));
        if m.direction == Direction::In {
            delta.inbound += 1;
            delta.inbound_at = delta.inbound_at.max(m.ts);
        } else {
            outbound.push(id);
        }
    }
    let deltas: Vec<(i64, i64, i64, i64, i64)> = conversations
        .iter()
        .map(|(conversation, d)| {
            (
                *conversation,
                d.newest.0,
                d.newest.1,
                d.inbound,
                d.inbound_at,
            )
        })
        .collect();
    // The newest message moves only forward by (ts, id); every SET expression reads the row as
    // it was, so the two CASEs agree.
    sqlx::query(
        "UPDATE conversations AS c SET
             last_message_at = CASE WHEN (u.ts, u.id) > (c.last_message_at, COALESCE(c.last_message_id, 0))
                                    THEN u.ts ELSE c.last_message_at END,
             last_message_id = CASE WHEN (u.ts, u.id) > (c.last_message_at, COALESCE(c.last_message_id, 0))
                                    THEN u.id ELSE c.last_message_id END,
             unread_count = c.unread_count + u.inbound,
             last_inbound_at = CASE WHEN u.inbound > 0
                                    THEN MAX(COALESCE(c.last_inbound_at, 0), u.inbound_at)
                                    ELSE c.last_inbound_at END
         FROM (SELECT value ->> 0 AS id_, value ->> 1 AS ts, value ->> 2 AS id,
                      value ->> 3 AS inbound, value ->> 4 AS inbound_at FROM json_each(?)) AS u
         WHERE c.id = u.id_",
    )
    .bind(json_rows(&deltas)?)
    .execute(&mut *tx)
    .await?;
    if !outbound.is_empty() {
        // Statuses that came before their message: the highest-ranked one is shown.
        sqlx::query(
            "UPDATE messages SET (status, status_rank, status_at, error_code, error_title) =
                     (SELECT status, rank, ts, error_code, error_title FROM message_statuses s
                      WHERE s.wamid = messages.wamid ORDER BY rank DESC LIMIT 1)
                 WHERE id IN (SELECT value FROM json_each(?))
                     AND EXISTS (SELECT 1 FROM message_statuses s WHERE s.wamid = messages.wamid)",
        )
        .bind(json_rows(&outbound)?)
        .execute(&mut *tx)
        .await?;
    }
    Ok(report)
}

/// A status as a JSON array in the column order of the INSERT in [`apply_statuses_in`].
struct StatusJson<'a>(&'a StatusUpdate);

impl Serialize for StatusJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let mut row = serializer.serialize_tuple(7)?;
        row.serialize_element(&u.wamid)?;
        row.serialize_element(u.status.as_str())?;
        row.serialize_element(&u.status.rank())?;
        row.serialize_element(&u.ts)?;
        row.serialize_element(&u.error_code)?;
        row.serialize_element(&u.error_title)?;
        row.serialize_element(&u.raw_json)?;
        row.end()
    }
}

/// [`super::Store::apply_statuses`] inside a transaction the caller owns (sync applies a whole
/// page in one). Two statements: the status events (each (wamid, status) recorded once), then
/// each message whose highest newly recorded status outranks the one it shows.
pub(crate) async fn apply_statuses_in(
    tx: &mut SqliteConnection,
    updates: &[StatusUpdate],
) -> Result<StatusReport, StoreError> {
    if updates.is_empty() {
        return Ok(StatusReport::default());
    }
    let rows: Vec<StatusJson<'_>> = updates.iter().map(StatusJson).collect();
    let recorded: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO message_statuses (wamid, status, rank, ts, error_code, error_title, raw_json)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
                value ->> 6
         FROM json_each(?) WHERE true ORDER BY key
         ON CONFLICT(wamid, status) DO NOTHING
         RETURNING wamid, rank",
    )
    .bind(json_rows(&rows)?)
    .fetch_all(&mut *tx)
    .await?;
    let mut report = StatusReport {
        recorded: recorded.len(),
        duplicates: updates.len() - recorded.len(),
        advanced: 0,
    };
    if recorded.is_empty() {
        return Ok(report);
    }
    // Applied one by one, a message would end on its highest recorded status if that outranks
    // the shown one (ranks only rise): the same in one statement. (wamid, rank) names one
    // status row, because the rank follows from the status.
    let mut highest: HashMap<&str, i64> = HashMap::new();
    for (wamid, rank) in &recorded {
        let entry = highest.entry(wamid.as_str()).or_insert(*rank);
        *entry = (*entry).max(*rank);
    }
    let highest: Vec<(&str, i64)> = highest.into_iter().collect();
    let advanced = sqlx::query(
        "UPDATE messages AS m SET status = s.status, status_rank = s.rank, status_at = s.ts,
                 error_code = s.error_code, error_title = s.error_title
         FROM (SELECT value ->> 0 AS wamid, value ->> 1 AS rank FROM json_each(?)) AS u
         JOIN message_statuses s ON s.wamid = u.wamid AND s.rank = u.rank
         WHERE m.wamid = u.wamid AND m.status_rank < u.rank",
    )
    .bind(json_rows(&highest)?)
    .execute(&mut *tx)
    .await?;
    report.advanced = advanced.rows_affected() as usize;
    Ok(report)
}
