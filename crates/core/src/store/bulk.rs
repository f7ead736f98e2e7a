//! Writing a page of rows in a few statements instead of a few per row.
//!
//! Every statement sqlx runs is a round trip to the connection's worker thread (a channel send,
//! a wake-up, a reply): on this store that cost dominated a catch-up (BENCHMARKS.md "Desktop
//! store"), far more than SQLite's own work. So a page's rows are written by a few statements:
//! - messages and statuses, the wide rows, as multi-row `VALUES` of bound values (up to 500
//!   rows per statement), inserted in page order;
//! - the narrow per-conversation and per-message updates as ONE JSON array expanded by SQLite's
//!   `json_each` (`value ->> 0`, `->> 1`, ...).
//!
//! Either way rows are written in page order (`VALUES` order, `ORDER BY key`), which keeps the
//! row ids and the outcome of duplicates within the page exactly as if the rows were written
//! one by one.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::SqliteConnection;

use super::repo::{Direction, InsertReport, NewMessage, StatusReport, StatusUpdate};
use super::{now, StoreError};

/// The rows as one JSON array, for a `json_each(?)` parameter.
pub(crate) fn json_rows<T: Serialize>(rows: &[T]) -> Result<String, StoreError> {
    serde_json::to_string(rows)
        .map_err(|e| StoreError::Invalid(format!("a row does not encode as JSON: {e}")))
}

/// Bound values per message row in [`insert_messages_in`].
const MESSAGE_COLUMNS: usize = 21;

/// SQLite's limit on bound variables per statement (`SQLITE_MAX_VARIABLE_NUMBER`, 32,766 since
/// 3.32).
const MAX_VARIABLES: usize = 32_766;

/// Messages per INSERT statement: half a relay page, so a page of messages is two statements
/// that sqlx prepares once and keeps (a chunk's SQL text depends on its row count), far within
/// the variable limit.
const MESSAGES_PER_INSERT: usize = 500;
const _: () = assert!(MESSAGES_PER_INSERT * MESSAGE_COLUMNS <= MAX_VARIABLES);

/// Status rows per INSERT statement (7 bound values each), as [`MESSAGES_PER_INSERT`].
const STATUSES_PER_INSERT: usize = 500;
const _: () = assert!(STATUSES_PER_INSERT * 7 <= MAX_VARIABLES);

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
/// page in one). A few statements whatever the page's size: the messages (a wamid already stored,
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
    let created_at = now();
    // The new rows' ids without `RETURNING`: handing 1,000 rows back from the SQLite thread
    // one by one (and dropping them) was a third of this function's time on the caller's side,
    // which is the serial path of a catch-up. Only this write transaction inserts, and SQLite
    // gives each new row the largest rowid plus one (no AUTOINCREMENT), so the rows inserted
    // are the `affected` ids up to `last_insert_rowid()`, in `VALUES` order (`inserted_ids`).
    let mut affected = 0;
    // Bound values, not a JSON array: SQLite re-parsed a row's JSON for each of its 20 `->>`
    // (the JSON functions were the largest SQLite cost of a page). `VALUES` rows are inserted
    // in order, so row ids and in-page duplicates (the first occurrence wins) come out exactly
    // as row by row, across chunks too.
    for chunk in messages.chunks(MESSAGES_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO messages (conversation_id, wamid, direction, origin, kind, ts, from_id,
                 text_body, caption, document_filename, media_meta_id, mime_type, latitude,
                 longitude, location_name, location_address, reply_id, reply_title,
                 context_wamid, raw_json, created_at) ",
        );
        insert.push_values(chunk, |mut row, m| {
            row.push_bind(m.conversation_id)
                .push_bind(m.wamid.as_str())
                .push_bind(m.direction.as_str())
                .push_bind(m.origin.as_str())
                .push_bind(m.kind.as_str())
                .push_bind(m.ts)
                .push_bind(m.from_id.as_deref())
                .push_bind(m.text_body.as_deref())
                .push_bind(m.caption.as_deref())
                .push_bind(m.document_filename.as_deref())
                .push_bind(m.media_meta_id.as_deref())
                .push_bind(m.mime_type.as_deref())
                .push_bind(m.latitude)
                .push_bind(m.longitude)
                .push_bind(m.location_name.as_deref())
                .push_bind(m.location_address.as_deref())
                .push_bind(m.reply_id.as_deref())
                .push_bind(m.reply_title.as_deref())
                .push_bind(m.context_wamid.as_deref())
                .push_bind(m.raw_json.as_str())
                .push_bind(created_at);
        });
        insert.push(" ON CONFLICT(wamid) DO NOTHING");
        affected += insert.build().execute(&mut *tx).await?.rows_affected() as usize;
    }
    let report = InsertReport {
        inserted: affected,
        duplicates: messages.len() - affected,
    };
    if affected == 0 {
        return Ok(report);
    }
    let ids = inserted_ids(tx, messages, affected).await?;

    let mut conversations: HashMap<i64, ConversationDelta> = HashMap::new();
    let mut outbound: Vec<i64> = Vec::new();
    for (m, id) in messages.iter().zip(ids) {
        let Some(id) = id else {
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

/// The id of each of `messages` that [`insert_messages_in`] inserted (`None`: skipped as a
/// duplicate), given how many rows it inserted (at least one). They hold the `affected` ids
/// up to the last one inserted: when every row went in, in `VALUES` order; otherwise (a wamid
/// already stored, or met twice in the page) they are read back.
async fn inserted_ids(
    tx: &mut SqliteConnection,
    messages: &[NewMessage],
    affected: usize,
) -> Result<Vec<Option<i64>>, StoreError> {
    let last: i64 = sqlx::query_scalar("SELECT last_insert_rowid()")
        .fetch_one(&mut *tx)
        .await?;
    let count = i64::try_from(affected)
        .map_err(|_| StoreError::Invalid("too many messages in one insert".into()))?;
    let before = last - count;
    if affected == messages.len() {
        return Ok((1..=count).map(|i| Some(before + i)).collect());
    }
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, wamid FROM messages WHERE id > ? ORDER BY id")
            .bind(before)
            .fetch_all(&mut *tx)
            .await?;
    let mut ids: HashMap<&str, i64> = rows.iter().map(|(id, w)| (w.as_str(), *id)).collect();
    // `remove`: a wamid met twice in the page was inserted once, by its first occurrence.
    Ok(messages
        .iter()
        .map(|m| ids.remove(m.wamid.as_str()))
        .collect())
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
    let mut recorded: Vec<(String, i64)> = Vec::with_capacity(updates.len());
    // Bound values in page order, as the messages' INSERT (its comment says why).
    for chunk in updates.chunks(STATUSES_PER_INSERT) {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO message_statuses (wamid, status, rank, ts, error_code, error_title,
                 raw_json) ",
        );
        insert.push_values(chunk, |mut row, u| {
            row.push_bind(u.wamid.as_str())
                .push_bind(u.status.as_str())
                .push_bind(u.status.rank())
                .push_bind(u.ts)
                .push_bind(u.error_code)
                .push_bind(u.error_title.as_deref())
                .push_bind(u.raw_json.as_str());
        });
        insert.push(" ON CONFLICT(wamid, status) DO NOTHING RETURNING wamid, rank");
        recorded.extend(
            insert
                .build_query_as::<(String, i64)>()
                .fetch_all(&mut *tx)
                .await?,
        );
    }
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
