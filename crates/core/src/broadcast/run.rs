//! Storing a broadcast, handing its recipients to the outbox, and pause / resume / cancel.

use std::sync::Arc;

use serde::Serialize;
use sqlx::FromRow;

use super::{BroadcastError, Message, Plan};
use crate::send::{Outbox, OutgoingMessage, SendError, UPLOADED_ID_LIFETIME_SECS};
use crate::store::{ensure_conversation_in, now, upsert_contact_in, ContactInput, Store};
use crate::templates::{find_template, params_for, send_template, FormValues};
use cloud_api::messages::{MediaSource, Parameter};

/// Recipients handed to the outbox per round (one transaction): the lock that pause and cancel
/// take, and SQLite's write lock that the outbox worker needs between sends, are released
/// between rounds, so neither waits for a whole 5,000-recipient feed.
const FEED_BATCH: i64 = 50;

/// What one [`Broadcasts::feed`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FeedReport {
    /// Recipients now in the outbox.
    pub queued: usize,
    /// Recipients the outbox refused (opted out or restricted since the plan, a bad value):
    /// marked skipped with the reason.
    pub skipped: usize,
}

/// The broadcasts of one signed-in workspace. Cheap to clone.
#[derive(Clone)]
pub struct Broadcasts {
    store: Store,
    outbox: Outbox,
    workspace_id: String,
    /// Feeding and pause / resume / cancel take turns: a paused broadcast gets no new items,
    /// and a cancel sees every item that exists.
    turns: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Broadcasts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcasts")
            .field("workspace_id", &self.workspace_id)
            .finish_non_exhaustive()
    }
}

#[derive(FromRow)]
struct Pending {
    id: i64,
    contact_id: Option<i64>,
    body_params_json: String,
    header_params_json: String,
    button_params_json: String,
}

#[derive(FromRow)]
struct Head {
    phone_number_id: String,
    template_name: String,
    language: String,
    state: String,
    header_media_json: Option<String>,
    created_at: i64,
}

impl Broadcasts {
    /// Broadcasts of `workspace_id`, sent through `outbox` (which shares `store`).
    pub fn new(store: Store, outbox: Outbox, workspace_id: String) -> Self {
        Self {
            store,
            outbox,
            workspace_id,
            turns: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The workspace.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    /// Stores the broadcast and its planned recipients (new numbers from a CSV become
    /// contacts) in one transaction; returns its id. Sending starts with [`Self::feed`].
    pub async fn create(
        &self,
        phone_number_id: &str,
        name: &str,
        message: &Message,
        plan: &Plan,
    ) -> Result<i64, BroadcastError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(BroadcastError::Invalid(
                "a broadcast needs a name of 1 to 120 characters".into(),
            ));
        }
        if plan.sendable() == 0 {
            return Err(BroadcastError::Invalid(
                "every recipient is excluded: there is nobody to send to".into(),
            ));
        }
        let ts = now();
        let author = self.outbox.team().identity().name.clone();
        let mut tx = self.store.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO broadcasts (workspace_id, phone_number_id, name, template_name, language,
                 params_json, state, import_issues_json, author_name, header_media_json,
                 created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&self.workspace_id)
        .bind(phone_number_id)
        .bind(name)
        .bind(&message.template_name)
        .bind(&message.language)
        .bind(json(message)?)
        .bind(json(&plan.issues)?)
        .bind(&author)
        .bind(message.header_media.as_ref().map(json).transpose()?)
        .bind(ts)
        .bind(ts)
        .fetch_one(&mut *tx)
        .await?;
        for r in &plan.recipients {
            let contact_id = match (r.contact_id, &r.skip_reason) {
                (Some(id), _) => Some(id),
                (None, Some(_)) => None,
                (None, None) => {
                    let id = upsert_contact_in(
                        &mut tx,
                        &ContactInput {
                            workspace_id: self.workspace_id.clone(),
                            wa_id: Some(r.phone.clone()),
                            phone: Some(r.phone.clone()),
                            ..ContactInput::default()
                        },
                    )
                    .await?;
                    // The name from the file is the business's name for them, not their
                    // WhatsApp profile name.
                    sqlx::query(
                        "UPDATE contacts SET display_name = COALESCE(display_name, ?) WHERE id = ?",
                    )
                    .bind(&r.name)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    Some(id)
                }
            };
            sqlx::query(
                "INSERT INTO broadcast_recipients (broadcast_id, contact_id, phone, name,
                     body_params_json, header_params_json, button_params_json, skip_reason)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(contact_id)
            .bind(&r.phone)
            .bind(&r.name)
            .bind(json(&r.body)?)
            .bind(json(&r.header)?)
            .bind(json(&r.buttons)?)
            .bind(&r.skip_reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        // A broadcast the user was told exists survives a power cut too: it resumes after one.
        self.store.sync_to_disk_or_log("a new broadcast").await;
        Ok(id)
    }

    /// Hands every recipient not yet in the outbox to it, in batches, while the broadcast is
    /// running. Safe to repeat (idempotency keys): after a restart it completes what a crash
    /// interrupted.
    pub async fn feed(&self, broadcast_id: i64) -> Result<FeedReport, BroadcastError> {
        let mut report = FeedReport::default();
        let head = self.head(broadcast_id).await?;
        let waba_id: Option<String> =
            sqlx::query_scalar("SELECT waba_id FROM phone_numbers WHERE id = ?")
                .bind(&head.phone_number_id)
                .fetch_optional(self.store.pool())
                .await?;
        let template = match waba_id {
            Some(waba) => {
                find_template(&self.store, &waba, &head.template_name, &head.language).await?
            }
            None => None,
        }
        .filter(|t| t.status.as_deref() == Some("APPROVED"));
        let header = stored_header(&head);
        loop {
            let _turn = self.turns.lock().await;
            if self.head(broadcast_id).await?.state != "running" {
                break;
            }
            let batch: Vec<Pending> = sqlx::query_as(
                "SELECT id, contact_id, body_params_json, header_params_json, button_params_json
                 FROM broadcast_recipients
                 WHERE broadcast_id = ? AND outbox_id IS NULL AND skip_reason IS NULL
                     AND cancelled = 0
                 ORDER BY id LIMIT ?",
            )
            .bind(broadcast_id)
            .bind(FEED_BATCH)
            .fetch_all(self.store.pool())
            .await?;
            if batch.is_empty() {
                break;
            }
            // One transaction per batch: a commit per recipient would make feeding 5,000
            // recipients slower than sending them at 80 a second.
            let mut tx = self.store.begin_write().await?;
            for r in batch {
                let outcome = match (&template, &header) {
                    (Some(template), Ok(header)) => {
                        self.enqueue(&mut tx, broadcast_id, &head, template, header, &r)
                            .await?
                    }
                    (None, _) => Err(format!(
                        "the template {} ({}) is no longer approved on this number",
                        head.template_name, head.language
                    )),
                    (_, Err(reason)) => Err((*reason).to_owned()),
                };
                match outcome {
                    Ok(item) => {
                        sqlx::query("UPDATE broadcast_recipients SET outbox_id = ? WHERE id = ?")
                            .bind(item)
                            .bind(r.id)
                            .execute(&mut *tx)
                            .await?;
                        report.queued += 1;
                    }
                    Err(reason) => {
                        sqlx::query("UPDATE broadcast_recipients SET skip_reason = ? WHERE id = ?")
                            .bind(&reason)
                            .bind(r.id)
                            .execute(&mut *tx)
                            .await?;
                        report.skipped += 1;
                    }
                }
            }
            tx.commit().await?;
            self.outbox.wake();
        }
        Ok(report)
    }

    /// Queues one recipient; `Ok(Err(reason))` when this recipient cannot be sent to.
    async fn enqueue(
        &self,
        tx: &mut sqlx::SqliteConnection,
        broadcast_id: i64,
        head: &Head,
        template: &crate::templates::Template,
        header_media: &Option<Parameter>,
        r: &Pending,
    ) -> Result<Result<i64, String>, BroadcastError> {
        let Some(contact_id) = r.contact_id else {
            return Ok(Err("the contact was erased".into()));
        };
        let form = FormValues {
            body: serde_json::from_str(&r.body_params_json).unwrap_or_default(),
            header: serde_json::from_str(&r.header_params_json).unwrap_or_default(),
            buttons: serde_json::from_str(&r.button_params_json).unwrap_or_default(),
            header_media: header_media.clone(),
        };
        let send = match send_template(template, &params_for(template, &form)) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let conversation =
            ensure_conversation_in(tx, &self.workspace_id, &head.phone_number_id, contact_id)
                .await?;
        let key = format!("bc:{broadcast_id}:{}", r.id);
        match self
            .outbox
            .enqueue_in(tx, conversation, OutgoingMessage::new(send), &key)
            .await
        {
            Ok(item) => Ok(Ok(item)),
            Err(e @ (SendError::ContactBlocked(_) | SendError::Invalid(_))) => {
                Ok(Err(e.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Feeds every running broadcast that still has recipients outside the outbox (start-up
    /// after a crash). Returns how many recipients were queued.
    pub async fn resume_feeding(&self) -> Result<usize, BroadcastError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT b.id FROM broadcasts b WHERE b.workspace_id = ? AND b.state = 'running'
                 AND EXISTS (SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = b.id
                     AND r.outbox_id IS NULL AND r.skip_reason IS NULL AND r.cancelled = 0)
             ORDER BY b.id",
        )
        .bind(&self.workspace_id)
        .fetch_all(self.store.pool())
        .await?;
        let mut queued = 0;
        for id in ids {
            queued += self.feed(id).await?.queued;
        }
        Ok(queued)
    }

    /// Holds the broadcast's queued items: nothing more goes out until [`Self::resume`].
    /// Items already being sent finish.
    pub async fn pause(&self, broadcast_id: i64) -> Result<(), BroadcastError> {
        let _turn = self.turns.lock().await;
        self.expect_state(
            broadcast_id,
            &["running"],
            "only a sending broadcast can be paused",
        )
        .await?;
        self.expect_left(broadcast_id, "pause").await?;
        self.switch(broadcast_id, "paused", 1).await
    }

    /// Releases a paused broadcast's items; the caller then feeds what was not queued yet.
    pub async fn resume(&self, broadcast_id: i64) -> Result<(), BroadcastError> {
        let _turn = self.turns.lock().await;
        self.expect_state(
            broadcast_id,
            &["paused"],
            "only a paused broadcast can be resumed",
        )
        .await?;
        if let Err(reason) = stored_header(&self.head(broadcast_id).await?) {
            return Err(BroadcastError::WrongState(reason.into()));
        }
        self.switch(broadcast_id, "running", 0).await?;
        self.outbox.wake();
        Ok(())
    }

    /// Cancels whatever has not gone out yet; returns how many recipients were cancelled.
    pub async fn cancel(&self, broadcast_id: i64) -> Result<u64, BroadcastError> {
        let _turn = self.turns.lock().await;
        self.expect_state(
            broadcast_id,
            &["running", "paused"],
            "the broadcast is already cancelled",
        )
        .await?;
        self.expect_left(broadcast_id, "cancel").await?;
        let ts = now();
        let mut tx = self.store.begin_write().await?;
        sqlx::query("UPDATE broadcasts SET state = 'cancelled', updated_at = ? WHERE id = ?")
            .bind(ts)
            .bind(broadcast_id)
            .execute(&mut *tx)
            .await?;
        let cancelled = sqlx::query(
            "UPDATE broadcast_recipients SET cancelled = 1
             WHERE broadcast_id = ? AND skip_reason IS NULL AND (outbox_id IS NULL
                 OR outbox_id IN (SELECT id FROM outbox WHERE state = 'queued'))",
        )
        .bind(broadcast_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The thread shows the message was never sent (its row stays, under its placeholder).
        sqlx::query(
            "UPDATE messages SET status = 'failed', status_rank = 100, status_at = ?,
                 error_title = 'Broadcast cancelled before sending'
             WHERE id IN (SELECT o.message_id FROM outbox o
                 JOIN broadcast_recipients r ON r.outbox_id = o.id
                 WHERE r.broadcast_id = ? AND o.state = 'queued')",
        )
        .bind(ts)
        .bind(broadcast_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE outbox SET state = 'cancelled', held = 0, updated_at = ?
             WHERE state = 'queued'
                 AND id IN (SELECT outbox_id FROM broadcast_recipients WHERE broadcast_id = ?)",
        )
        .bind(ts)
        .bind(broadcast_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(cancelled)
    }

    async fn switch(
        &self,
        broadcast_id: i64,
        state: &str,
        held: i64,
    ) -> Result<(), BroadcastError> {
        let mut tx = self.store.begin_write().await?;
        sqlx::query("UPDATE broadcasts SET state = ?, updated_at = ? WHERE id = ?")
            .bind(state)
            .bind(now())
            .bind(broadcast_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            // `sending` too: an item waiting for its throughput slot has not left yet, and the
            // worker looks at `held` again before the request.
            "UPDATE outbox SET held = ? WHERE state IN ('queued', 'sending')
                 AND id IN (SELECT outbox_id FROM broadcast_recipients WHERE broadcast_id = ?)",
        )
        .bind(held)
        .bind(broadcast_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn head(&self, broadcast_id: i64) -> Result<Head, BroadcastError> {
        sqlx::query_as(
            "SELECT phone_number_id, template_name, language, state, header_media_json,
                 created_at
             FROM broadcasts WHERE id = ? AND workspace_id = ?",
        )
        .bind(broadcast_id)
        .bind(&self.workspace_id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| BroadcastError::NotFound(format!("no broadcast {broadcast_id}")))
    }

    /// Refuses `action` on a broadcast whose every recipient went out (or was excluded).
    async fn expect_left(&self, broadcast_id: i64, action: &str) -> Result<(), BroadcastError> {
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM broadcast_recipients r LEFT JOIN outbox o ON o.id = r.outbox_id
             WHERE r.broadcast_id = ? AND r.skip_reason IS NULL AND r.cancelled = 0
                 AND (o.id IS NULL OR o.state IN ('queued', 'sending'))",
        )
        .bind(broadcast_id)
        .fetch_one(self.store.pool())
        .await?;
        if left == 0 {
            return Err(BroadcastError::WrongState(format!(
                "the broadcast has finished: nothing left to {action}"
            )));
        }
        Ok(())
    }

    async fn expect_state(
        &self,
        broadcast_id: i64,
        allowed: &[&str],
        refusal: &str,
    ) -> Result<(), BroadcastError> {
        let state = self.head(broadcast_id).await?.state;
        if allowed.contains(&state.as_str()) {
            Ok(())
        } else {
            Err(BroadcastError::WrongState(format!(
                "{refusal} (it is {state})"
            )))
        }
    }
}

const HEADER_EXPIRED: &str = "the header's file is no longer at WhatsApp (30 days after its \
    upload): cancel the broadcast and create it again with the file";

/// The broadcast's header parameter, read once per feed; the reason no recipient can get it
/// when it is unreadable, or when its file was uploaded (once, when the broadcast was created)
/// more than Meta's 30 days ago: a send naming it would fail for every recipient left.
fn stored_header(head: &Head) -> Result<Option<Parameter>, &'static str> {
    let Some(json) = head.header_media_json.as_deref() else {
        return Ok(None);
    };
    let parameter: Parameter =
        serde_json::from_str(json).map_err(|_| "the broadcast's stored header is unreadable")?;
    let source = match &parameter {
        Parameter::Image { image } => Some(&image.source),
        Parameter::Video { video } => Some(&video.source),
        Parameter::Document { document } => Some(&document.source),
        _ => None,
    };
    let uploaded = matches!(source, Some(MediaSource::Id(_)));
    if uploaded && now() - head.created_at > UPLOADED_ID_LIFETIME_SECS {
        return Err(HEADER_EXPIRED);
    }
    Ok(Some(parameter))
}

fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, BroadcastError> {
    serde_json::to_string(value).map_err(|e| BroadcastError::Invalid(e.to_string()))
}
