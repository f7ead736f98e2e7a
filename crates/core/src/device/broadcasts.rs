//! Broadcasts on the device: plan (the summary the user confirms), create (stored, then every
//! recipient handed to the outbox), list and detail with live progress, pause / resume /
//! cancel, and each number's messages-per-second (see [`crate::broadcast`]).

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::inbox::{preview_of, RenderedPreview};
use super::template_header::{header_parameter, HeaderMediaInput};
use super::{Device, DeviceError, DeviceEvent};
use crate::broadcast::csv::ImportIssue;
use crate::broadcast::{
    self, view, BroadcastCounts, BroadcastError, BroadcastSummary, Message, ParamSource,
    PlannedRecipient, RecipientSource, RecipientView,
};
use crate::send::Attachment;
use crate::templates::{self, params_for, Template};

/// How often running broadcasts' counts are compared for [`DeviceEvent::BroadcastProgress`].
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Broadcasts younger than this are watched for progress (statuses such as "read" keep coming
/// after the last message went out).
const WATCH_FOR_SECS: i64 = 3 * 24 * 3600;

/// The settings key of a number's messages-per-second.
fn mps_key(phone_number_id: &str) -> String {
    format!("messages_per_second:{phone_number_id}")
}

/// A new broadcast as the form describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastForm {
    pub name: String,
    /// The sending number; `None` when the workspace has exactly one.
    pub phone_number_id: Option<String>,
    pub template_name: String,
    pub language: String,
    /// One source per body variable, in order of appearance.
    pub body: Vec<ParamSource>,
    /// One source per text-header variable.
    pub header: Vec<ParamSource>,
    /// One source per button that takes a value (`ButtonView::takes_value`), in order: the
    /// end of a dynamic URL, a coupon code (a CSV column gives each recipient their own).
    #[serde(default)]
    pub buttons: Vec<ParamSource>,
    /// The file or place of a media or location header, the same for everyone. A file is
    /// uploaded to Meta once, when the broadcast is created.
    #[serde(default)]
    pub header_media: Option<HeaderMediaInput>,
    pub recipients: RecipientSource,
}

/// What a broadcast would do: the summary shown before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastPreview {
    /// Distinct recipients (excluded ones included).
    pub total: u32,
    /// Recipients that will be sent to.
    pub sendable: u32,
    /// Who is excluded, each with the reason.
    pub excluded: Vec<PlannedRecipient>,
    /// CSV rows refused or collapsed, with their line numbers.
    pub import_issues: Vec<ImportIssue>,
    /// The message the first sendable recipient gets.
    pub sample: Option<RenderedPreview>,
}

impl From<BroadcastError> for DeviceError {
    fn from(e: BroadcastError) -> Self {
        match e {
            BroadcastError::Invalid(_) | BroadcastError::Csv(_) => {
                Self::InvalidInput(e.to_string())
            }
            BroadcastError::NotFound(m) => Self::NotFound(m),
            BroadcastError::WrongState(m) => Self::Conflict(m),
            BroadcastError::Store(e) => Self::Store(e),
            BroadcastError::Send(e) => e.into(),
        }
    }
}

impl Device {
    /// The broadcast's number and its approved template.
    async fn broadcast_target(
        &self,
        form: &BroadcastForm,
    ) -> Result<(String, Template), DeviceError> {
        let session = self.session().await?;
        let numbers = self.numbers(&session.account.workspace_id).await?;
        let number = match &form.phone_number_id {
            Some(id) => numbers.into_iter().find(|n| &n.id == id).ok_or_else(|| {
                DeviceError::NotFound(format!("the number {id} is not connected"))
            })?,
            None => {
                let mut numbers = numbers.into_iter();
                match (numbers.next(), numbers.next()) {
                    (Some(n), None) => n,
                    (None, _) => {
                        return Err(DeviceError::InvalidInput(
                            "connect a WhatsApp number first".into(),
                        ))
                    }
                    (Some(_), Some(_)) => {
                        return Err(DeviceError::InvalidInput(
                            "choose the number to send from".into(),
                        ))
                    }
                }
            }
        };
        let template = templates::find_template(
            &self.inner.store,
            &number.waba_id,
            &form.template_name,
            &form.language,
        )
        .await?
        .ok_or_else(|| {
            DeviceError::NotFound(format!(
                "no template {} ({}); sync templates first",
                form.template_name, form.language
            ))
        })?;
        Ok((number.id, template))
    }

    /// The broadcast's plan; a header file is read and checked, not uploaded: its parameter
    /// names the pending upload, and the file comes back for [`Self::create_broadcast`].
    async fn broadcast_plan(
        &self,
        form: &BroadcastForm,
    ) -> Result<
        (
            String,
            Template,
            Message,
            broadcast::Plan,
            Option<Attachment>,
        ),
        DeviceError,
    > {
        let session = self.session().await?;
        let (phone, template) = self.broadcast_target(form).await?;
        let (header_media, file) = match form.header_media.clone() {
            Some(input) => {
                let format = templates::header_format(&template);
                let (p, file) = header_parameter(format.as_ref(), input).await?;
                (Some(p), file)
            }
            None => (None, None),
        };
        let message = Message {
            template_name: template.name.clone(),
            language: template.language.clone(),
            body: form.body.clone(),
            header: form.header.clone(),
            buttons: form.buttons.clone(),
            header_media,
        };
        let plan = broadcast::plan(
            &self.inner.store,
            &session.account.workspace_id,
            &phone,
            &template,
            &form.recipients,
            &message,
        )
        .await?;
        Ok((phone, template, message, plan, file))
    }

    /// Who would receive the broadcast, who is excluded and why, and a sample message.
    /// Stores nothing.
    pub async fn preview_broadcast(
        &self,
        form: &BroadcastForm,
    ) -> Result<BroadcastPreview, DeviceError> {
        let (_, template, message, plan, _) = self.broadcast_plan(form).await?;
        let sample = plan
            .recipients
            .iter()
            .find(|r| r.skip_reason.is_none())
            .map(|r| {
                preview_of(templates::render(
                    &template,
                    &params_for(&template, &r.form(message.header_media.clone())),
                ))
            });
        Ok(BroadcastPreview {
            total: count(plan.recipients.len()),
            sendable: count(plan.sendable()),
            excluded: plan
                .recipients
                .into_iter()
                .filter(|r| r.skip_reason.is_some())
                .collect(),
            import_issues: plan.issues,
            sample,
        })
    }

    /// Creates the broadcast and hands every recipient to the durable outbox (returns once
    /// all are queued; the outbox sends them, paced, while this runs and after).
    pub async fn create_broadcast(
        &self,
        form: BroadcastForm,
    ) -> Result<BroadcastSummary, DeviceError> {
        let session = self.acting_manager().await?;
        let (phone, _, mut message, plan, file) = self.broadcast_plan(&form).await?;
        // Uploaded once for everyone, and only once the plan holds.
        if let (Some(file), Some(pending)) = (file, message.header_media.take()) {
            message.header_media = Some(self.upload_header_file(&phone, &file, pending).await?);
        }
        let id = session
            .broadcasts
            .create(&phone, &form.name, &message, &plan)
            .await?;
        // Logged once stored: from here it is sent, even if feeding stops halfway (the
        // background resumes it). Counts and the template only: the recipients are customers,
        // whom an erasure must be able to remove, and the log is never edited.
        let sendable = plan.sendable();
        self.log_activity(
            "broadcast.start",
            &format!("broadcast:{id}"),
            serde_json::json!({
                "template": message.template_name,
                "language": message.language,
                "phone_number_id": phone,
                "recipients": sendable,
                "excluded": plan.recipients.len() - sendable,
            }),
        )
        .await;
        session.broadcasts.feed(id).await?;
        self.broadcast_changed(id).await
    }

    /// The workspace's broadcasts with their progress, newest first.
    pub async fn broadcasts(&self) -> Result<Vec<BroadcastSummary>, DeviceError> {
        let session = self.session().await?;
        Ok(view::list(&self.inner.store, &session.account.workspace_id).await?)
    }

    /// One broadcast with its progress.
    pub async fn broadcast(&self, id: i64) -> Result<BroadcastSummary, DeviceError> {
        let session = self.session().await?;
        Ok(view::get(&self.inner.store, &session.account.workspace_id, id).await?)
    }

    /// A page of a broadcast's recipients (after recipient id `after`, 0 for the first).
    pub async fn broadcast_recipients(
        &self,
        id: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<RecipientView>, DeviceError> {
        self.broadcast(id).await?;
        Ok(view::recipients(&self.inner.store, id, after, limit.clamp(1, 1000)).await?)
    }

    /// Pauses a sending broadcast: queued messages wait; messages being sent finish.
    pub async fn pause_broadcast(&self, id: i64) -> Result<BroadcastSummary, DeviceError> {
        self.require_manager().await?.broadcasts.pause(id).await?;
        self.logged_change("broadcast.pause", id).await
    }

    /// Resumes a paused broadcast.
    pub async fn resume_broadcast(&self, id: i64) -> Result<BroadcastSummary, DeviceError> {
        let session = self.acting_manager().await?;
        session.broadcasts.resume(id).await?;
        session.broadcasts.feed(id).await?;
        self.logged_change("broadcast.resume", id).await
    }

    /// Cancels what has not gone out yet.
    pub async fn cancel_broadcast(&self, id: i64) -> Result<BroadcastSummary, DeviceError> {
        self.require_manager().await?.broadcasts.cancel(id).await?;
        self.logged_change("broadcast.cancel", id).await
    }

    /// [`Self::broadcast_changed`], and the change of course logged with the counts it
    /// left (the summary read once for both).
    async fn logged_change(&self, action: &str, id: i64) -> Result<BroadcastSummary, DeviceError> {
        let summary = self.broadcast_changed(id).await?;
        self.log_activity(
            action,
            &format!("broadcast:{id}"),
            serde_json::json!({ "counts": summary.counts }),
        )
        .await;
        Ok(summary)
    }

    async fn broadcast_changed(&self, id: i64) -> Result<BroadcastSummary, DeviceError> {
        let summary = self.broadcast(id).await?;
        self.emit(DeviceEvent::BroadcastProgress {
            broadcast_id: id,
            counts: summary.counts,
        });
        Ok(summary)
    }

    /// Sets a number's messages-per-second (Meta's default is 80; upgraded numbers get up to
    /// 1,000): the outbox paces every send from it to this, broadcasts included. Kept across
    /// restarts.
    pub async fn set_messages_per_second(
        &self,
        phone_number_id: &str,
        limit: u32,
    ) -> Result<(), DeviceError> {
        if !(1..=1000).contains(&limit) {
            return Err(DeviceError::InvalidInput(
                "messages per second must be between 1 and 1,000".into(),
            ));
        }
        let session = self.require_manager().await?;
        self.inner
            .store
            .set_setting(&mps_key(phone_number_id), &serde_json::json!(limit))
            .await?;
        session
            .outbox
            .set_messages_per_second(phone_number_id, limit);
        Ok(())
    }

    /// Applies the stored messages-per-second of every number to a new outbox.
    pub(super) async fn apply_throughput_limits(
        &self,
        outbox: &crate::send::Outbox,
    ) -> Result<(), DeviceError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, value_json FROM settings WHERE key LIKE 'messages_per_second:%'",
        )
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        for (key, value) in rows {
            let phone = key.trim_start_matches("messages_per_second:");
            if let Ok(limit) = value.parse::<u32>() {
                outbox.set_messages_per_second(phone, limit);
            }
        }
        Ok(())
    }

    /// Announces changed counts of recent broadcasts until `stopped`.
    pub(super) async fn watch_broadcasts(&self, mut stopped: watch::Receiver<bool>) {
        let mut last: HashMap<i64, BroadcastCounts> = HashMap::new();
        loop {
            if let Err(e) = self.announce_progress(&mut last).await {
                tracing::debug!(error = %e, "broadcasts: progress not read");
            }
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(PROGRESS_EVERY) => {}
            }
        }
    }

    async fn announce_progress(
        &self,
        last: &mut HashMap<i64, BroadcastCounts>,
    ) -> Result<(), DeviceError> {
        let session = self.session().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM broadcasts WHERE workspace_id = ? AND created_at >= ?",
        )
        .bind(&session.account.workspace_id)
        .bind(super::now() - WATCH_FOR_SECS)
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        for id in ids {
            let counts = view::counts(&self.inner.store, id).await?;
            if last.insert(id, counts) != Some(counts) {
                self.emit(DeviceEvent::BroadcastProgress {
                    broadcast_id: id,
                    counts,
                });
            }
        }
        Ok(())
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
