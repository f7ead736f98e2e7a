//! Sending: the outbox and its worker. The device sends DIRECTLY to Meta's Graph API with the
//! number's business token (from the [`crate::vault`]); the relay only carries webhooks and
//! device events.
//!
//! - [`Outbox::enqueue`] checks the message, the 24-hour window and the contact, and writes the
//!   outbox row AND the message's local row (status `pending`, placeholder wamid
//!   `local:<uuid>`) in one transaction, idempotent by key: the UI shows the message at once.
//! - [`Outbox::run_once`] / [`Outbox::run`] send what is due, paced per number and per
//!   customer (`send::throttle`), and act on Meta's answer by its error class (see `send::worker`).
//!   On success the real wamid replaces the placeholder — statuses that came earlier are then
//!   applied — and a `message_sent` device event tells the other devices.
//!
//! # Delivery guarantee after a crash: at-least-once, deduplicated when Meta's webhooks allow
//!
//! `POST /messages` has no idempotency key. A crash (or a timeout) after Meta accepted a
//! message and before the outbox recorded it leaves the item `sending`, and nothing local
//! tells whether Meta has it. Dropping it (at-most-once) would silently lose a customer reply,
//! which is worse for a business than a rare duplicate. So such an item is retried with the
//! same idempotency key — but first it waits `in_doubt_grace` for evidence: every send carries
//! `biz_opaque_callback_data = "dox:<key>"`, which Meta echoes in the message's status
//! webhooks. If sync brought a status with that value, the wamid is adopted and nothing is
//! sent again. A duplicate remains possible only when Meta accepted the message and no status
//! webhook for it reached this device within the grace period.

pub mod attachment;
mod message;
mod throttle;
mod upload;
pub mod voice_note;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloud_api::client::CloudApiClient;
use cloud_api::messages::{MarkRead, SendMessage};
use sqlx::SqliteConnection;

use crate::store::{insert_messages_in, now, Direction, NewMessage, Origin, StoreError};
use crate::team::{now_ms, Team, TeamError};

pub use attachment::{Attachment, Detected};
pub(crate) use message::fill_typed_fields;
pub use message::OutgoingMessage;
pub use upload::{UPLOADED_ID_LIFETIME_SECS, UPLOAD_PENDING};
pub use worker::RunReport;

/// The customer service window: free-form messages only within 24 h of the customer's last
/// message.
pub const WINDOW_SECS: i64 = 24 * 3600;

/// Prefix of the `biz_opaque_callback_data` every send carries (see the module docs).
pub const CALLBACK_PREFIX: &str = "dox:";

/// How often "typing…" is sent again while a member keeps writing: Meta shows it for up to
/// 25 s, so a new one every 20 s keeps it up without a gap.
pub const TYPING_EVERY_SECS: i64 = 20;

/// Errors of sending.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The customer has not written in the last 24 hours (or never): only a template can be
    /// sent. The UI offers the template picker.
    #[error(
        "the 24-hour window is closed (last message from the customer: {}); send a template",
        last_inbound_at.map_or_else(|| "never".to_string(), |t| format!("at {t}"))
    )]
    WindowClosed {
        /// Unix seconds of the customer's last message, `None` if they never wrote.
        last_inbound_at: Option<i64>,
    },
    /// The contact must not be messaged.
    #[error("this contact cannot be messaged: {0}")]
    ContactBlocked(String),
    /// The message is not valid; nothing was queued.
    #[error("the message cannot be sent: {0}")]
    Invalid(String),
    /// No such conversation.
    #[error("no conversation {0}")]
    UnknownConversation(i64),
    /// The idempotency key was used for another conversation.
    #[error("the idempotency key {0:?} was already used for another conversation")]
    KeyReused(String),
    /// The store failed; nothing was queued.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The team inbox (publishing) failed.
    #[error(transparent)]
    Team(#[from] TeamError),
    /// The vault failed (reading a token).
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// An attachment's encrypted copy could not be written or read.
    #[error("the attached file: {0}")]
    File(String),
}

impl From<sqlx::Error> for SendError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Sqlx(e))
    }
}

/// Pacing and recovery settings.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Messages per second per number (Meta's default throughput is 80). Settable lower per
    /// number with [`Outbox::set_messages_per_second`].
    pub messages_per_second: u32,
    /// Messages to one customer in a burst before pacing starts (pair rate).
    pub pair_burst: u32,
    /// Then one message per this interval to that customer (Meta: about 6 s).
    pub pair_interval: Duration,
    /// How long an item that may have been accepted (crash, timeout) waits for a status
    /// webhook proving it before it is sent again.
    pub in_doubt_grace: Duration,
    /// How often [`Outbox::run`] looks for due items when nothing woke it.
    pub idle_poll: Duration,
    /// Sends in flight at once. One at a time, a send's round trip and bookkeeping (tens of
    /// milliseconds) would cap a broadcast far below Meta's 80 messages per second; the
    /// throughput limit still counts every send in flight (`send::throttle`).
    pub max_in_flight: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            messages_per_second: 80,
            pair_burst: 45,
            pair_interval: Duration::from_secs(6),
            in_doubt_grace: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
            max_in_flight: 16,
        }
    }
}

/// An outbox item as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct OutboxItem {
    /// Item id.
    pub id: i64,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The conversation.
    pub conversation_id: i64,
    /// `message`, `reaction` or `mark_read`.
    pub kind: String,
    /// `queued`, `sending`, `sent`, `failed` or `cancelled`.
    pub state: String,
    /// Sends tried.
    pub attempts: i64,
    /// Meta's wamid once sent.
    pub wamid: Option<String>,
    /// The local message row.
    pub message_id: Option<i64>,
    /// Meta's error code of the last failure.
    pub error_code: Option<i64>,
    /// Plain-language explanation of the last failure.
    pub error_message: Option<String>,
    /// `retryable`, `rate_limited`, `needs_template`, `token_invalid`, `fixable_by_user`,
    /// `permanent`.
    pub error_class: Option<String>,
    /// When it is due (Unix ms).
    pub due_ms: i64,
}

/// The outbox of one device. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    team: Team,
    graph: CloudApiClient,
    config: OutboxConfig,
    pacing: Mutex<Pacing>,
    wake: tokio::sync::Notify,
    /// The item marked `sending` that waits for its throughput slot (see `send::worker`).
    waiting: Mutex<Option<i64>>,
}

#[derive(Default)]
struct Pacing {
    throughput: HashMap<String, throttle::Throughput>,
    pairs: throttle::PairPacer,
    limits: HashMap<String, u32>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("team", &self.inner.team)
            .field("graph", &self.inner.graph)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// The outbox writing through `team` (store, vault, identity, relay) and sending through
    /// `graph` (a Cloud API client without token: each number's token comes from the vault).
    pub fn new(team: Team, graph: CloudApiClient, config: OutboxConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                team,
                graph,
                config,
                pacing: Mutex::new(Pacing::default()),
                wake: tokio::sync::Notify::new(),
                waiting: Mutex::new(None),
            }),
        }
    }

    /// The team inbox this outbox publishes through.
    pub fn team(&self) -> &Team {
        &self.inner.team
    }

    /// Lowers (or raises) a number's messages-per-second limit.
    pub fn set_messages_per_second(&self, phone_number_id: &str, limit: u32) {
        self.pacing()
            .limits
            .insert(phone_number_id.to_string(), limit.max(1));
    }

    /// Wakes the worker: items became due or were released (a broadcast resumed).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    fn pacing(&self) -> std::sync::MutexGuard<'_, Pacing> {
        // A panic while holding the lock cannot leave the pacing state inconsistent in a way
        // that matters (it is advisory): keep using it.
        self.inner
            .pacing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `message` for the conversation; returns the item id. The same `idempotency_key`
    /// again returns the same item and sends nothing more.
    pub async fn enqueue(
        &self,
        conversation_id: i64,
        message: OutgoingMessage,
        idempotency_key: &str,
    ) -> Result<i64, SendError> {
        let mut tx = self.inner.team.store().begin_write().await?;
        let id = self
            .enqueue_in(&mut tx, conversation_id, message, idempotency_key)
            .await?;
        tx.commit().await?;
        // Queued means kept: the row is the message's only copy until it is sent.
        self.inner
            .team
            .store()
            .sync_to_disk_or_log("a queued send")
            .await;
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// [`Self::enqueue`] inside a write transaction the caller owns (a broadcast queues a
    /// batch of recipients per transaction), without waking the worker: the caller calls
    /// [`Self::wake`] after committing. A refusal (window, contact, invalid message) is
    /// returned before anything is written.
    pub(crate) async fn enqueue_in(
        &self,
        tx: &mut SqliteConnection,
        conversation_id: i64,
        message: OutgoingMessage,
        idempotency_key: &str,
    ) -> Result<i64, SendError> {
        let key = idempotency_key.trim();
        if key.is_empty() || key.len() > 128 {
            return Err(SendError::Invalid(
                "the idempotency key must have 1 to 128 characters".into(),
            ));
        }
        if let Some(id) = existing_item(tx, key, conversation_id).await? {
            return Ok(id);
        }
        let conv: Option<ConversationInfo> = sqlx::query_as(
            "SELECT c.phone_number_id, ct.wa_id, ct.user_id, c.last_inbound_at, ct.restricted,
                    ct.opted_out
             FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = ?",
        )
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let conv = conv.ok_or(SendError::UnknownConversation(conversation_id))?;
        message::validate(&message).map_err(SendError::Invalid)?;
        if !matches!(message, OutgoingMessage::MarkRead { .. }) {
            if conv.restricted {
                return Err(SendError::ContactBlocked(
                    "the contact is restricted (blocked or reported)".into(),
                ));
            }
            // Meta's opt-out (`user_preferences`, "stop promotions") is from marketing
            // messages only: replies and utility or authentication templates still go, and
            // Meta itself refuses a marketing template (131050) if ours is not known here.
            if conv.opted_out && marketing_template(tx, &conv.phone_number_id, &message).await? {
                return Err(SendError::ContactBlocked(
                    "the customer opted out of marketing messages, and this template is a \
                     marketing one"
                        .into(),
                ));
            }
        }
        let now_s = now();
        if message.needs_window() {
            let open = conv
                .last_inbound_at
                .is_some_and(|t| now_s - t < WINDOW_SECS);
            if !open {
                return Err(SendError::WindowClosed {
                    last_inbound_at: conv.last_inbound_at,
                });
            }
        }
        let to = conv
            .wa_id
            .clone()
            .or(conv.user_id.clone())
            .ok_or(SendError::UnknownConversation(conversation_id))?;
        let payload = match &message {
            OutgoingMessage::Send { content, reply_to } => {
                let mut m = SendMessage::new(to.clone(), content.clone())
                    .callback_data(format!("{CALLBACK_PREFIX}{key}"));
                if let Some(r) = reply_to {
                    m = m.reply_to(r.clone());
                }
                serde_json::to_string(&m)
            }
            OutgoingMessage::MarkRead {
                message_id,
                typing_indicator,
            } => {
                let read = MarkRead::new(message_id.clone());
                serde_json::to_string(&if *typing_indicator {
                    read.with_typing_indicator()
                } else {
                    read
                })
            }
        }
        .map_err(|e| SendError::Invalid(e.to_string()))?;
        let identity = self.inner.team.identity();
        let due = now_ms();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO outbox (idempotency_key, conversation_id, payload_json, state,
                 next_attempt_at, created_at, updated_at, phone_number_id, recipient, kind,
                 due_ms, author_id, author_name)
             VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(key)
        .bind(conversation_id)
        .bind(&payload)
        .bind(now_s)
        .bind(now_s)
        .bind(now_s)
        .bind(&conv.phone_number_id)
        .bind(&to)
        .bind(message.item_kind())
        .bind(due)
        .bind(&identity.user_id)
        .bind(&identity.name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            // Cannot happen under the write lock (the key was looked up above); answer with
            // the existing item all the same rather than fail.
            return existing_item(tx, key, conversation_id)
                .await?
                .ok_or_else(|| SendError::Invalid("the outbox item vanished".into()));
        };
        if message.item_kind() == "message" {
            let sent: SendMessage =
                serde_json::from_str(&payload).map_err(|e| SendError::Invalid(e.to_string()))?;
            let local = format!("local:{}", uuid::Uuid::new_v4());
            let mut m = NewMessage {
                conversation_id,
                wamid: local.clone(),
                direction: Direction::Out,
                origin: Origin::Device,
                ts: now_s,
                raw_json: payload.clone(),
                ..NewMessage::default()
            };
            fill_typed_fields(&mut m, &sent);
            insert_messages_in(tx, &[m]).await?;
            crate::team::set_author_in(tx, &local, &identity.author()).await?;
            sqlx::query("UPDATE messages SET status = 'pending' WHERE wamid = ?")
                .bind(&local)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE outbox SET message_id = (SELECT id FROM messages WHERE wamid = ?)
                 WHERE id = ?",
            )
            .bind(&local)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        Ok(id)
    }

    /// A read receipt to the customer for `wamid` (queued like any send; no window needed).
    pub async fn mark_read(
        &self,
        conversation_id: i64,
        wamid: &str,
        typing_indicator: bool,
    ) -> Result<i64, SendError> {
        self.enqueue(
            conversation_id,
            OutgoingMessage::mark_read(wamid, typing_indicator),
            &format!("read:{wamid}"),
        )
        .await
    }

    /// Shows the customer "typing…" (Meta sends it with a read receipt for `wamid`, and shows
    /// it up to 25 s or until the reply): at most once per [`TYPING_EVERY_SECS`] for a message,
    /// since the idempotency key names the period.
    pub async fn show_typing(&self, conversation_id: i64, wamid: &str) -> Result<i64, SendError> {
        let period = now() / TYPING_EVERY_SECS;
        self.enqueue(
            conversation_id,
            OutgoingMessage::mark_read(wamid, true),
            &format!("typing:{wamid}:{period}"),
        )
        .await
    }

    /// The outbox items of a conversation, oldest first.
    pub async fn items(&self, conversation_id: i64) -> Result<Vec<OutboxItem>, SendError> {
        Ok(sqlx::query_as(
            "SELECT id, idempotency_key, conversation_id, kind, state, attempts, wamid,
                    message_id, error_code, error_message, error_class, due_ms
             FROM outbox WHERE conversation_id = ? ORDER BY id",
        )
        .bind(conversation_id)
        .fetch_all(self.inner.team.store().pool())
        .await?)
    }

    /// One outbox item.
    pub async fn item(&self, id: i64) -> Result<Option<OutboxItem>, SendError> {
        Ok(sqlx::query_as(
            "SELECT id, idempotency_key, conversation_id, kind, state, attempts, wamid,
                    message_id, error_code, error_message, error_class, due_ms
             FROM outbox WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.inner.team.store().pool())
        .await?)
    }

    /// The connection is back (the relay answered after being unreachable): sends that failed
    /// to reach Meta at all (no answer, so no error code) become due now instead of at the end
    /// of their backoff, so what was written offline goes out at once. Meta's own refusals and
    /// rate limits keep their waits.
    pub async fn connection_back(&self) -> Result<u64, SendError> {
        let due = now_ms();
        let woken = sqlx::query(
            "UPDATE outbox SET due_ms = ?, next_attempt_at = ?, updated_at = ?
             WHERE state = 'queued' AND due_ms > ? AND error_class = 'retryable'
               AND error_code IS NULL",
        )
        .bind(due)
        .bind(due / 1000)
        .bind(now())
        .bind(due)
        .execute(self.inner.team.store().pool())
        .await?
        .rows_affected();
        if woken > 0 {
            self.inner.wake.notify_one();
        }
        Ok(woken)
    }

    /// "Retry now": a queued item becomes due at once; a failed one is queued again (after
    /// the user fixed what was wrong, e.g. the recipient).
    pub async fn retry_now(&self, id: i64) -> Result<(), SendError> {
        sqlx::query(
            "UPDATE outbox SET state = 'queued', due_ms = ?, next_attempt_at = ?, updated_at = ?
             WHERE id = ? AND state IN ('queued', 'failed')",
        )
        .bind(now_ms())
        .bind(now())
        .bind(now())
        .bind(id)
        .execute(self.inner.team.store().pool())
        .await?;
        sqlx::query(
            "UPDATE messages SET status = 'pending', status_rank = 0, error_code = NULL,
                 error_title = NULL
             WHERE id = (SELECT message_id FROM outbox WHERE id = ?) AND wamid LIKE 'local:%'",
        )
        .bind(id)
        .execute(self.inner.team.store().pool())
        .await?;
        self.inner.wake.notify_one();
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct ConversationInfo {
    phone_number_id: String,
    wa_id: Option<String>,
    user_id: Option<String>,
    last_inbound_at: Option<i64>,
    restricted: bool,
    opted_out: bool,
}

/// Whether `message` is a template this store knows as MARKETING (from the number's WABA).
async fn marketing_template(
    conn: &mut SqliteConnection,
    phone_number_id: &str,
    message: &OutgoingMessage,
) -> Result<bool, SendError> {
    let OutgoingMessage::Send {
        content: cloud_api::messages::MessageContent::Template(template),
        ..
    } = message
    else {
        return Ok(false);
    };
    let category: Option<Option<String>> = sqlx::query_scalar(
        "SELECT t.category FROM templates t JOIN phone_numbers p ON p.waba_id = t.waba_id
         WHERE p.id = ? AND t.name = ? AND t.language = ?",
    )
    .bind(phone_number_id)
    .bind(&template.name)
    .bind(&template.language.code)
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from)?;
    Ok(category
        .flatten()
        .is_some_and(|c| c.eq_ignore_ascii_case("MARKETING")))
}

async fn existing_item(
    conn: &mut SqliteConnection,
    key: &str,
    conversation_id: i64,
) -> Result<Option<i64>, SendError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT id, conversation_id FROM outbox WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    match row {
        Some((id, conv)) if conv == conversation_id => Ok(Some(id)),
        Some(_) => Err(SendError::KeyReused(key.to_string())),
        None => Ok(None),
    }
}
