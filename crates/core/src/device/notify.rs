//! New inbound messages, announced once each for desktop notifications.
//!
//! The mark starts at the newest message already stored when the background work starts, so a
//! restart never replays the history as notifications; every applied page then announces the
//! inbound messages above the mark and moves it.

use std::sync::atomic::Ordering;

use serde::Serialize;

use super::{Device, DeviceEvent};

/// Most messages named one by one per announcement; beyond it the shell shows a summary.
const MAX_NAMED: i64 = 5;

/// (conversation, display name, profile name, text, kind) of an unannounced message.
type Unannounced = (i64, Option<String>, Option<String>, Option<String>, String);

/// An inbound message worth a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    pub conversation_id: i64,
    /// The contact's best name.
    pub contact_name: String,
    /// Text, caption or file name; else the message type.
    pub preview: String,
}

impl Device {
    /// Sets the mark to the newest stored message (no notification for what is already here).
    pub(crate) async fn reset_announcements(&self) {
        let newest: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM messages")
            .fetch_one(self.inner.store.pool())
            .await
            .unwrap_or(None);
        self.inner
            .announced_up_to
            .store(newest.unwrap_or(0), Ordering::SeqCst);
    }

    /// Announces the inbound messages stored since the last call (at most [`MAX_NAMED`] named,
    /// plus how many more), as [`DeviceEvent::NewMessages`].
    pub(crate) async fn announce_new_messages(&self) {
        let mark = self.inner.announced_up_to.load(Ordering::SeqCst);
        let pool = self.inner.store.pool();
        let newest: Option<i64> = match sqlx::query_scalar("SELECT max(id) FROM messages")
            .fetch_one(pool)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "notifications: reading the newest message failed");
                return;
            }
        };
        let Some(newest) = newest.filter(|n| *n > mark) else {
            return;
        };
        let rows: Vec<Unannounced> = sqlx::query_as(
            "SELECT m.conversation_id, ct.display_name, ct.profile_name,
                        COALESCE(m.text_body, m.caption, m.document_filename, m.reply_title),
                        m.kind
                 FROM messages m
                 JOIN conversations c ON c.id = m.conversation_id
                 JOIN contacts ct ON ct.id = c.contact_id
                 WHERE m.id > ? AND m.id <= ? AND m.direction = 'in' AND m.deleted_at IS NULL
                 ORDER BY m.id DESC LIMIT ?",
        )
        .bind(mark)
        .bind(newest)
        .bind(MAX_NAMED)
        .fetch_all(pool)
        .await
        .unwrap_or_default();
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM messages WHERE id > ? AND id <= ? AND direction = 'in'",
        )
        .bind(mark)
        .bind(newest)
        .fetch_one(pool)
        .await
        .unwrap_or(rows.len() as i64);
        self.inner.announced_up_to.store(newest, Ordering::SeqCst);
        if rows.is_empty() {
            return;
        }
        let messages = rows
            .into_iter()
            .rev()
            .map(
                |(conversation_id, display, profile, text, kind)| NewMessage {
                    conversation_id,
                    contact_name: display
                        .or(profile)
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| "A customer".into()),
                    preview: text.unwrap_or(kind),
                },
            )
            .collect::<Vec<_>>();
        let more = (total as usize).saturating_sub(messages.len());
        self.emit(DeviceEvent::NewMessages { messages, more });
    }
}
