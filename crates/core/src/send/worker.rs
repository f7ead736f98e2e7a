//! The outbox worker: sends what is due and acts on Meta's answer by its error class.
//!
//! | Meta / network says | the item | why |
//! |---|---|---|
//! | accepted | `sent`, real wamid, message `sent`, `message_sent` published | |
//! | retryable (1, 2, 131000, 131016, 5xx, network) | stays `queued`, due after the class's backoff | Meta's trouble passes |
//! | rate limited (130429, 131056 at 4^x s) | stays `queued`, due after the backoff | the limit refills |
//! | token invalid (190, 0, 102, 104, 401) | stays `queued`; the NUMBER becomes reconnect-required and its items wait | retrying with a dead token is a retry storm; a new token releases them |
//! | anything else (131047, 131026, 131049, 131050, 368, media, template, parameters) | `failed`, message `failed` with code and explanation | retrying the same request cannot help |
//!
//! A held item (its broadcast is paused) is passed over until released.
//!
//! Messages to one conversation go out in the order they were queued: an item waits while an
//! earlier one of its conversation is still queued (say, backing off), so a customer never
//! reads the second message before the first.
//!
//! A timeout is retryable but *in doubt*: Meta may have accepted the message (see the module
//! docs of [`crate::send`] for the at-least-once choice).

use std::future::Future;
use std::time::{Duration, Instant};

use cloud_api::client::CloudApiError;
use cloud_api::error::ErrorClass;
use cloud_api::messages::{MarkRead, MessageContent, SendMessage};
use protocol::device_events::{DeviceEvent, MessageSent};
use serde_json::Value;

use tokio::task::JoinSet;

use super::throttle::Throughput;
use super::{Outbox, SendError, CALLBACK_PREFIX};
use crate::store::{apply_reactions_in, now, ReactionUpdate, StoreError};
use crate::team::{now_ms, token_record};

/// What one [`Outbox::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Accepted by Meta.
    pub sent: usize,
    /// Adopted after a crash: a status webhook proved Meta had it; not sent again.
    pub adopted: usize,
    /// Failed for good.
    pub failed: usize,
    /// Left queued for a later retry (errors, pacing, reconnect).
    pub deferred: usize,
    /// Device events appended to the relay.
    pub published: usize,
}

#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    idempotency_key: String,
    conversation_id: i64,
    payload_json: String,
    kind: String,
    attempts: i64,
    phone_number_id: Option<String>,
    recipient: Option<String>,
    message_id: Option<i64>,
    in_doubt_since_ms: Option<i64>,
    author_id: Option<String>,
    author_name: Option<String>,
}

/// An item claimed, paced and holding its throughput slot: its request may leave now.
struct Ready {
    item: Due,
    phone: String,
    graph: cloud_api::client::CloudApiClient,
}

/// What became of one send.
enum Delivered {
    Sent,
    Failed,
    Deferred,
}

/// Most items one run looks at: a run always ends, even if something keeps an item due.
const MAX_PER_RUN: usize = 10_000;

impl Outbox {
    /// Items left `sending` by a crash become due again, marked in doubt (see the module docs
    /// of [`crate::send`]). Call once at start-up ([`Self::run`] does). Returns how many.
    pub async fn recover(&self) -> Result<u64, SendError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued',
                 in_doubt_since_ms = COALESCE(in_doubt_since_ms, ?), updated_at = ?
             WHERE state = 'sending'",
        )
        .bind(now_ms())
        .bind(now())
        .execute(self.inner.team.store().pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Sends every item due now (pacing may make this take a while for a burst), then appends
    /// queued device events. Items not due yet stay for a later run.
    ///
    /// One loop picks, claims and paces the items in order; their requests and bookkeeping run
    /// concurrently, at most `max_in_flight` at once. An item waits while an earlier one of its
    /// conversation is in flight, so a customer's messages still go out in order.
    pub async fn run_once(&self) -> Result<RunReport, SendError> {
        let mut report = RunReport::default();
        report.published += self.publish().await;
        let mut in_flight = JoinSet::new();
        let mut due = std::collections::VecDeque::new();
        let mut looked = 0;
        let batch = self.inner.config.max_in_flight.max(1);
        let outcome = loop {
            if in_flight.len() >= batch {
                if let Err(e) = Self::join_one(&mut in_flight, &mut report).await {
                    break Err(e);
                }
                continue;
            }
            // Due items are read a few at a time (at most one per conversation: an earlier
            // unsent item holds the next back), each claimed only when its turn comes.
            if due.is_empty() && looked < MAX_PER_RUN {
                match self.next_due(batch).await {
                    Ok(items) => {
                        looked += items.len();
                        due.extend(items);
                    }
                    Err(e) => break Err(e),
                }
            }
            match due.pop_front() {
                Some(item) => match self.prepare(item, &mut report).await {
                    Ok(Some(ready)) => {
                        let outbox = self.clone();
                        in_flight.spawn(async move { outbox.deliver(ready).await });
                    }
                    Ok(None) => {}
                    Err(e) => break Err(e),
                },
                // Nothing due now; a send in flight may free its conversation's next item.
                None if !in_flight.is_empty() => {
                    if let Err(e) = Self::join_one(&mut in_flight, &mut report).await {
                        break Err(e);
                    }
                }
                None => break Ok(()),
            }
        };
        // Sends already on their way finish and are recorded even when the loop failed.
        while !in_flight.is_empty() {
            let _ = Self::join_one(&mut in_flight, &mut report).await;
        }
        outcome?;
        report.published += self.publish().await;
        Ok(report)
    }

    /// Waits for one send in flight and counts what it did.
    async fn join_one(
        in_flight: &mut JoinSet<Result<Delivered, SendError>>,
        report: &mut RunReport,
    ) -> Result<(), SendError> {
        match in_flight.join_next().await {
            Some(Ok(Ok(Delivered::Sent))) => report.sent += 1,
            Some(Ok(Ok(Delivered::Failed))) => report.failed += 1,
            Some(Ok(Ok(Delivered::Deferred))) => report.deferred += 1,
            Some(Ok(Err(e))) => return Err(e),
            // A panicked send leaves its item `sending`: recovered as in doubt at the next
            // start, like a crash.
            Some(Err(e)) => tracing::error!(error = %e, "outbox: a send task ended abnormally"),
            None => {}
        }
        Ok(())
    }

    /// Runs until `shutdown` resolves: recovers, then sends items as they become due (woken
    /// by [`Self::enqueue`], else every `idle_poll`).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), SendError> {
        tokio::pin!(shutdown);
        self.recover().await?;
        loop {
            let round = self.run_once();
            tokio::select! {
                _ = &mut shutdown => {
                    self.release_waiting().await?;
                    return Ok(());
                }
                outcome = round => { outcome?; }
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(()),
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(self.inner.config.idle_poll) => {}
            }
        }
    }

    async fn publish(&self) -> usize {
        match self.inner.team.publish_pending().await {
            Ok(n) => n,
            Err(e) => {
                tracing::info!(error = %e, "outbox: device events stay queued");
                0
            }
        }
    }

    /// Up to `limit` items due now, oldest first.
    async fn next_due(&self, limit: usize) -> Result<Vec<Due>, SendError> {
        Ok(sqlx::query_as(
            "SELECT o.id, o.idempotency_key, o.conversation_id, o.payload_json, o.kind,
                    o.attempts, o.phone_number_id, o.recipient, o.message_id,
                    o.in_doubt_since_ms, o.author_id, o.author_name
             FROM outbox o LEFT JOIN number_state ns ON ns.phone_number_id = o.phone_number_id
             WHERE o.state = 'queued' AND o.held = 0 AND o.due_ms <= ?
                 AND COALESCE(ns.reconnect_required, 0) = 0
                 AND EXISTS (SELECT 1 FROM conversations c
                     WHERE c.id = o.conversation_id AND c.workspace_id = ?)
                 AND NOT EXISTS (SELECT 1 FROM outbox p
                     WHERE p.conversation_id = o.conversation_id AND p.id < o.id
                         AND p.state IN ('queued', 'sending') AND p.kind != 'mark_read')
             ORDER BY o.due_ms, o.id LIMIT ?",
        )
        .bind(now_ms())
        // Only this session's workspace: what another one queued (signed out of since) is
        // not sent with this one's session.
        .bind(self.inner.team.workspace_id())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.inner.team.store().pool())
        .await?)
    }

    /// Everything before the request, in order: adopts an in-doubt item Meta proved it has,
    /// paces per customer, claims the item and waits for the number's throughput slot.
    /// `None` when the item does not go out now (the report says why).
    async fn prepare(&self, item: Due, report: &mut RunReport) -> Result<Option<Ready>, SendError> {
        let phone = item.phone_number_id.clone().unwrap_or_default();
        let recipient = item.recipient.clone().unwrap_or_default();
        if let Some(since) = item.in_doubt_since_ms {
            if let Some(wamid) = self.proven_wamid(&item.idempotency_key).await? {
                self.succeed(&item, &wamid).await?;
                report.adopted += 1;
                return Ok(None);
            }
            let grace_end = since + self.inner.config.in_doubt_grace.as_millis() as i64;
            if now_ms() < grace_end {
                self.defer(item.id, grace_end).await?;
                report.deferred += 1;
                return Ok(None);
            }
            // No proof within the grace period: send again (at-least-once).
        }
        let Ok(record) = token_record(&phone) else {
            // Not a number this app can send from: waiting would never help.
            let e = CloudApiError::InvalidRequest(format!("no valid phone number id {phone:?}"));
            self.fail(&item, &phone, &e).await?;
            report.failed += 1;
            return Ok(None);
        };
        let token = self
            .inner
            .team
            .vault()
            .get_record(&record)?
            .and_then(|t| String::from_utf8(t.to_vec()).ok());
        let Some(token) = token else {
            self.reconnect_required(
                &phone,
                "no WhatsApp token for this number on this device: connect WhatsApp",
            )
            .await?;
            report.deferred += 1;
            return Ok(None);
        };
        if item.kind != "mark_read" {
            let (burst, interval) = (
                self.inner.config.pair_burst,
                self.inner.config.pair_interval,
            );
            let paced =
                self.pacing()
                    .pairs
                    .take(&phone, &recipient, burst, interval, Instant::now());
            if let Err(wait) = paced {
                self.defer(item.id, now_ms() + wait.as_millis() as i64)
                    .await?;
                report.deferred += 1;
                return Ok(None);
            }
        }
        // Marked `sending` BEFORE waiting for the number's throughput slot, so that the slot,
        // once open, is used by the request alone: the throttle counts from the previous
        // sends' ends, and any work between the slot opening and the request reaching Meta
        // is lost rate (a broadcast must keep >= 95% of the limit). A shutdown during the wait
        // puts the item back (`run`, via `waiting`); only a crash in that second leaves it in
        // doubt, which costs it the in-doubt grace period, never a duplicate or a loss.
        // Only if it is still queued and not held: a broadcast cancelled or paused since the
        // item was picked must win, or the cancelled message would go out anyway.
        let claimed = sqlx::query(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?
             WHERE id = ? AND state = 'queued' AND held = 0",
        )
        .bind(now())
        .bind(item.id)
        .execute(self.inner.team.store().pool())
        .await?
        .rows_affected();
        if claimed == 0 {
            report.deferred += 1;
            return Ok(None);
        }
        let graph = self.inner.graph.with_token(token);
        self.set_waiting(Some(item.id));
        // The claim reaches the disk while the slot opens: lost to a power cut once the
        // request left, the item would be `queued` again and sent twice, instead of being
        // found in doubt.
        tokio::join!(
            self.inner
                .team
                .store()
                .sync_to_disk_or_log("a send's claim"),
            self.wait_for_throughput(&phone)
        );
        self.set_waiting(None);
        // Paused while it waited for its slot (a broadcast): it has not left, so it stays.
        let held: bool = sqlx::query_scalar("SELECT held FROM outbox WHERE id = ?")
            .bind(item.id)
            .fetch_one(self.inner.team.store().pool())
            .await?;
        if held {
            self.with_throughput(&phone, Throughput::abandon);
            self.put_back(item.id).await?;
            report.deferred += 1;
            return Ok(None);
        }
        Ok(Some(Ready { item, phone, graph }))
    }

    /// The request and what follows from Meta's answer; runs concurrently with other sends.
    async fn deliver(self, ready: Ready) -> Result<Delivered, SendError> {
        let Ready {
            mut item,
            phone,
            graph,
        } = ready;
        // An attachment is uploaded first, once: its media id is kept for retries
        // (send::upload). Here, among the concurrent sends, so that a large file does not hold
        // up the others.
        let upload = self
            .upload_attachment(item.id, &mut item.payload_json, &graph, &phone)
            .await?;
        if let Err(e) = upload {
            // Nothing was sent: the throughput slot is free again.
            self.with_throughput(&phone, Throughput::abandon);
            let failed = self.fail(&item, &phone, &e).await?;
            self.upload_failed(item.id).await?;
            return Ok(if failed {
                Delivered::Failed
            } else {
                Delivered::Deferred
            });
        }
        let result = if item.kind == "mark_read" {
            match serde_json::from_str::<MarkRead>(&item.payload_json) {
                Ok(read) => graph.mark_as_read(&phone, &read).await.map(|()| None),
                Err(e) => Err(CloudApiError::InvalidRequest(e.to_string())),
            }
        } else {
            match serde_json::from_str::<SendMessage>(&item.payload_json) {
                Ok(m) => graph
                    .send_message(&phone, &m)
                    .await
                    .map(|r| r.message_id().map(str::to_string)),
                Err(e) => Err(CloudApiError::InvalidRequest(e.to_string())),
            }
        };
        self.with_throughput(&phone, |t| t.finish(Instant::now()));
        Ok(match result {
            Ok(wamid) => {
                self.succeed(&item, wamid.as_deref().unwrap_or_default())
                    .await?;
                Delivered::Sent
            }
            Err(e) if self.fail(&item, &phone, &e).await? => Delivered::Failed,
            Err(_) => Delivered::Deferred,
        })
    }

    /// Runs `f` on the throughput log of `phone`.
    fn with_throughput<R>(&self, phone: &str, f: impl FnOnce(&mut Throughput) -> R) -> R {
        f(self
            .pacing()
            .throughput
            .entry(phone.to_string())
            .or_default())
    }

    fn set_waiting(&self, item: Option<i64>) {
        *self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = item;
    }

    /// Puts back the item that was waiting for its throughput slot when the worker stopped:
    /// it was marked `sending` but never left this device.
    async fn release_waiting(&self) -> Result<(), SendError> {
        let item = self
            .inner
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(id) = item {
            self.put_back(id).await?;
        }
        Ok(())
    }

    /// A `sending` item that never left this device is queued again, its attempt uncounted.
    async fn put_back(&self, id: i64) -> Result<(), SendError> {
        sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), updated_at = ?
             WHERE id = ? AND state = 'sending'",
        )
        .bind(now())
        .bind(id)
        .execute(self.inner.team.store().pool())
        .await?;
        Ok(())
    }

    /// Waits until a send from `phone` may start, and takes its slot (in flight until
    /// [`Throughput::finish`] or [`Throughput::abandon`]).
    async fn wait_for_throughput(&self, phone: &str) {
        loop {
            let wait = {
                let mut pacing = self.pacing();
                let limit = pacing
                    .limits
                    .get(phone)
                    .copied()
                    .unwrap_or(self.inner.config.messages_per_second);
                let log = pacing.throughput.entry(phone.to_string()).or_default();
                let wait = log.wait(limit, Instant::now());
                if wait.is_zero() {
                    // Taken under the same lock: nothing else can take this slot.
                    log.start();
                }
                wait
            };
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// The wamid Meta gave this item, if a status webhook carrying its callback data was
    /// synced (proof that Meta accepted it).
    async fn proven_wamid(&self, key: &str) -> Result<Option<String>, SendError> {
        Ok(sqlx::query_scalar(
            "SELECT wamid FROM message_statuses
             WHERE json_extract(raw_json, '$.biz_opaque_callback_data') = ? LIMIT 1",
        )
        .bind(format!("{CALLBACK_PREFIX}{key}"))
        .fetch_optional(self.inner.team.store().pool())
        .await?)
    }

    async fn defer(&self, id: i64, due_ms: i64) -> Result<(), SendError> {
        sqlx::query(
            "UPDATE outbox SET state = 'queued', due_ms = ?, next_attempt_at = ?, updated_at = ?
             WHERE id = ? AND state IN ('queued', 'sending')",
        )
        .bind(due_ms)
        .bind(due_ms / 1000)
        .bind(now())
        .bind(id)
        .execute(self.inner.team.store().pool())
        .await?;
        Ok(())
    }

    async fn reconnect_required(&self, phone: &str, reason: &str) -> Result<(), SendError> {
        sqlx::query(
            "INSERT INTO number_state (phone_number_id, reconnect_required, reconnect_reason,
                 updated_at)
             VALUES (?, 1, ?, ?)
             ON CONFLICT(phone_number_id) DO UPDATE SET reconnect_required = 1,
                 reconnect_reason = excluded.reconnect_reason, updated_at = excluded.updated_at",
        )
        .bind(phone)
        .bind(reason)
        .bind(now())
        .execute(self.inner.team.store().pool())
        .await?;
        tracing::warn!(
            phone_number_id = phone,
            "outbox: the number must be reconnected"
        );
        Ok(())
    }

    /// Records Meta's acceptance: real wamid in place of the placeholder (statuses that came
    /// first applied), item sent, and the `message_sent` event queued — in one transaction.
    async fn succeed(&self, item: &Due, wamid: &str) -> Result<(), SendError> {
        let team = &self.inner.team;
        let mut tx = team.store().begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET state = 'sent', wamid = NULLIF(?, ''), error_code = NULL,
                 error_message = NULL, error_class = NULL, in_doubt_since_ms = NULL,
                 updated_at = ?
             WHERE id = ?",
        )
        .bind(wamid)
        .bind(now())
        .bind(item.id)
        .execute(&mut *tx)
        .await?;
        if item.kind == "mark_read" || wamid.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        let sent_at = now();
        if let Some(message_id) = item.message_id {
            let other: Option<i64> =
                sqlx::query_scalar("SELECT id FROM messages WHERE wamid = ? AND id != ?")
                    .bind(wamid)
                    .bind(message_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(other) = other {
                // Another path stored it first (e.g. a webhook echo): keep that row only.
                sqlx::query("DELETE FROM messages WHERE id = ?")
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE outbox SET message_id = ? WHERE id = ?")
                    .bind(other)
                    .bind(item.id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE messages SET wamid = ?, status = 'sent', status_rank = 1,
                         status_at = ?, error_code = NULL, error_title = NULL
                     WHERE id = ?",
                )
                .bind(wamid)
                .bind(sent_at)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
                // Statuses that arrived before the swap (kept in message_statuses) apply now.
                sqlx::query(
                    "UPDATE messages SET (status, status_rank, status_at, error_code, error_title) =
                         (SELECT status, rank, ts, error_code, error_title FROM message_statuses
                          WHERE wamid = ?1 ORDER BY rank DESC LIMIT 1)
                     WHERE id = ?2 AND status_rank <
                         (SELECT MAX(rank) FROM message_statuses WHERE wamid = ?1)",
                )
                .bind(wamid)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        let message: Value = serde_json::from_str(&item.payload_json).unwrap_or(Value::Null);
        if item.kind == "reaction" {
            if let Ok(MessageContent::Reaction(r)) =
                serde_json::from_str::<SendMessage>(&item.payload_json).map(|m| m.content)
            {
                apply_reactions_in(
                    &mut tx,
                    &[ReactionUpdate {
                        message_wamid: r.message_id,
                        reactor: "me".into(),
                        emoji: Some(r.emoji),
                        ts: sent_at,
                        raw_json: item.payload_json.clone(),
                    }],
                )
                .await?;
            }
        }
        let (phone_number_id, contact) =
            crate::team::conversation_ref(&mut tx, item.conversation_id).await?;
        let event = MessageSent {
            phone_number_id,
            to: item.recipient.clone().unwrap_or_default(),
            contact,
            wamid: wamid.to_string(),
            message,
            sent_at,
            author: protocol::device_events::Author {
                user_id: item.author_id.clone().unwrap_or_default(),
                name: item.author_name.clone().unwrap_or_default(),
            },
            client_id: item.idempotency_key.clone(),
        };
        team.queue_in(&mut tx, DeviceEvent::MessageSent(event))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Acts on a failed send by its class; returns true when the item failed for good.
    async fn fail(&self, item: &Due, phone: &str, e: &CloudApiError) -> Result<bool, SendError> {
        let class = e.class();
        let code = e.code();
        let explanation = e
            .meta()
            .map_or_else(|| e.to_string(), |m| m.explanation().to_string());
        tracing::info!(item = item.id, code = ?code, class = class.name(), "outbox: send failed");
        let pool = self.inner.team.store().pool();
        match class {
            ErrorClass::TokenInvalid => {
                // Not an attempt of the message: the number is the problem.
                sqlx::query(
                    "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0),
                         error_code = ?, error_message = ?, error_class = ?, updated_at = ?
                     WHERE id = ?",
                )
                .bind(code)
                .bind(&explanation)
                .bind(class.name())
                .bind(now())
                .bind(item.id)
                .execute(pool)
                .await?;
                self.reconnect_required(phone, &explanation).await?;
                Ok(false)
            }
            ErrorClass::Retryable { .. } | ErrorClass::RateLimited { .. } => {
                let attempt = u32::try_from(item.attempts).unwrap_or(u32::MAX);
                let wait = class.backoff(attempt).unwrap_or(Duration::from_secs(2));
                let due = now_ms() + wait.as_millis() as i64;
                // A timeout may hide an accepted message: look for proof before resending.
                let in_doubt = matches!(e, CloudApiError::Timeout).then(now_ms);
                sqlx::query(
                    "UPDATE outbox SET state = 'queued', due_ms = ?, next_attempt_at = ?,
                         error_code = ?, error_message = ?, error_class = ?,
                         in_doubt_since_ms = COALESCE(in_doubt_since_ms, ?), updated_at = ?
                     WHERE id = ?",
                )
                .bind(due)
                .bind(due / 1000)
                .bind(code)
                .bind(&explanation)
                .bind(class.name())
                .bind(in_doubt)
                .bind(now())
                .bind(item.id)
                .execute(pool)
                .await?;
                Ok(false)
            }
            ErrorClass::NeedsTemplate | ErrorClass::FixableByUser | ErrorClass::Permanent => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(
                    "UPDATE outbox SET state = 'failed', error_code = ?, error_message = ?,
                         error_class = ?, in_doubt_since_ms = NULL, updated_at = ?
                     WHERE id = ?",
                )
                .bind(code)
                .bind(&explanation)
                .bind(class.name())
                .bind(now())
                .bind(item.id)
                .execute(&mut *tx)
                .await?;
                if let Some(message_id) = item.message_id {
                    sqlx::query(
                        "UPDATE messages SET status = 'failed', status_rank = 100, status_at = ?,
                             error_code = ?, error_title = ?
                         WHERE id = ?",
                    )
                    .bind(now())
                    .bind(code)
                    .bind(&explanation)
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await.map_err(StoreError::from)?;
                Ok(true)
            }
        }
    }
}
