//! Acting on the inbox: send (through the durable outbox), mark read, labels and assignment
//! (published to the other devices), and the approved templates with their preview.

use serde::{Deserialize, Serialize};

use cloud_api::messages::{Location, Reaction};
use cloud_api::templates::ComponentType;

use super::template_header::HeaderMediaInput;
use super::views::{self, MessageView};
use super::{Device, DeviceError, DeviceEvent};
use crate::send::{OutgoingMessage, SendError};
use crate::templates::{
    self, button_takes_value, component_text, params_for, variables, FormValues, Template,
};

/// What the composer sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Outgoing {
    /// Text; `preview_url` renders a preview of its first link.
    #[serde(rename_all = "camelCase")]
    Text { body: String, preview_url: bool },
    /// A reaction to a message; an empty emoji removes ours.
    #[serde(rename_all = "camelCase")]
    Reaction {
        message_wamid: String,
        emoji: String,
    },
    /// An approved template; `params` fill the body's variables in order of appearance,
    /// `header_params` the text header's.
    #[serde(rename_all = "camelCase")]
    Template {
        name: String,
        language: String,
        params: Vec<String>,
        header_params: Vec<String>,
        /// The image, video or document of a media header, or the place of a location header.
        #[serde(default)]
        header_media: Option<HeaderMediaInput>,
        /// One per button that takes a value (`ButtonView::takes_value`), in the template's
        /// order: the end of a dynamic URL, a coupon code, a one-time code (which defaults to
        /// the body's code).
        #[serde(default)]
        button_params: Vec<String>,
    },
    /// A location pin.
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    /// A message with reply buttons.
    Buttons(super::compose::ButtonsForm),
    /// A message with a list menu.
    List(super::compose::ListForm),
    /// A contact card.
    Contact(super::compose::ContactCardForm),
}

/// A template as the picker and the studio list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub id: i64,
    pub name: String,
    pub language: String,
    pub category: Option<String>,
    pub status: Option<String>,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub body_text: Option<String>,
    pub header_text: Option<String>,
    pub footer_text: Option<String>,
    /// The body's variables (distinct, in order of appearance).
    pub param_count: u32,
    /// The text header's variables.
    pub header_param_count: u32,
    /// `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT` or `LOCATION`; `None` without a header. Every
    /// header but a text one is given when sending (`Outgoing::Template::header_media`).
    pub header_format: Option<String>,
    pub buttons: Vec<ButtonView>,
}

/// A template button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ButtonView {
    pub kind: String,
    pub text: String,
    /// A URL button's address as approved (`https://b.example/o/{{1}}`).
    pub url: Option<String>,
    /// A value is given when sending: the end of a dynamic URL, a coupon code, a one-time
    /// code (which defaults to the body's code).
    pub takes_value: bool,
}

/// A template filled with parameters, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RenderedPreview {
    pub header: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    pub buttons: Vec<String>,
    /// Variables still without a value.
    pub missing: Vec<String>,
}

pub(super) fn template_view(t: &Template) -> TemplateView {
    let body_text = crate::templates::body_text(t);
    let header_text = component_text(t, ComponentType::Header);
    let count = |text: &Option<String>| variables(text.as_deref().unwrap_or_default()).len() as u32;
    TemplateView {
        id: t.id,
        name: t.name.clone(),
        language: t.language.clone(),
        category: t.category.clone(),
        status: t.status.clone(),
        quality: t.quality.clone(),
        rejected_reason: t.rejected_reason.clone(),
        param_count: count(&body_text),
        header_param_count: count(&header_text),
        body_text,
        header_text,
        footer_text: component_text(t, ComponentType::Footer),
        header_format: templates::header_format(t).map(|f| f.as_str().to_owned()),
        buttons: templates::template_buttons(t)
            .map(|b| ButtonView {
                kind: b.kind.as_str().to_owned(),
                text: b.text.clone().unwrap_or_default(),
                url: b.url.clone(),
                takes_value: button_takes_value(b),
            })
            .collect(),
    }
}

impl From<SendError> for DeviceError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::WindowClosed { .. } => Self::WindowClosed(e.to_string()),
            SendError::ContactBlocked(_) => Self::Restricted(e.to_string()),
            SendError::Invalid(_) | SendError::KeyReused(_) => Self::InvalidInput(e.to_string()),
            SendError::UnknownConversation(_) => Self::NotFound(e.to_string()),
            SendError::Store(e) => Self::Store(e),
            SendError::Vault(e) => Self::Vault(e),
            SendError::Team(e) => Self::Internal(e.to_string()),
            SendError::File(_) => Self::Internal(e.to_string()),
        }
    }
}

impl Device {
    /// Queues a message in the durable outbox (sent at once when online, later otherwise) and
    /// returns it as the thread shows it (status `pending` until Meta accepts it).
    pub async fn send(
        &self,
        conversation_id: i64,
        message: Outgoing,
        reply_to: Option<String>,
    ) -> Result<MessageView, DeviceError> {
        let session = self.acting_session().await?;
        let conversation = self.conversation(conversation_id).await?;
        // A reaction is no message of its own: the thread shows it under the one it is on,
        // which must be a message of this conversation.
        let reacting_to = match &message {
            Outgoing::Reaction { message_wamid, .. } => Some(
                sqlx::query_scalar::<_, i64>(
                    "SELECT id FROM messages WHERE wamid = ? AND conversation_id = ?",
                )
                .bind(message_wamid)
                .bind(conversation_id)
                .fetch_optional(self.inner.store.pool())
                .await
                .map_err(crate::store::StoreError::from)?
                .ok_or_else(|| {
                    DeviceError::NotFound(
                        "the message reacted to is not in this conversation".into(),
                    )
                })?,
            ),
            _ => None,
        };
        // The file of a template's media header, queued with the message.
        let mut header_file = None;
        let outgoing = match message {
            Outgoing::Text { body, preview_url } => {
                if body.trim().is_empty() {
                    return Err(DeviceError::InvalidInput("the message is empty".into()));
                }
                OutgoingMessage::text(body, preview_url)
            }
            Outgoing::Reaction {
                message_wamid,
                emoji,
            } => OutgoingMessage::new(if emoji.is_empty() {
                Reaction::remove(message_wamid)
            } else {
                Reaction::new(message_wamid, emoji)
            }),
            Outgoing::Location {
                latitude,
                longitude,
                name,
                address,
            } => {
                let mut location = Location::new(latitude, longitude);
                if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
                    location = location.name(n);
                }
                if let Some(a) = address.filter(|a| !a.trim().is_empty()) {
                    location = location.address(a);
                }
                OutgoingMessage::new(location)
            }
            Outgoing::Buttons(form) => OutgoingMessage::new(super::compose::buttons(&form)?),
            Outgoing::List(form) => OutgoingMessage::new(super::compose::list(&form)?),
            Outgoing::Contact(form) => OutgoingMessage::new(super::compose::contact_card(&form)?),
            Outgoing::Template {
                name,
                language,
                params,
                header_params,
                header_media,
                button_params,
            } => {
                let template = self
                    .approved_template(&session, &conversation, &name, &language)
                    .await?;
                let (header_media, file) = match header_media {
                    Some(input) => {
                        let (p, file) = super::template_header::header_parameter(
                            templates::header_format(&template).as_ref(),
                            input,
                        )
                        .await?;
                        (Some(p), file)
                    }
                    None => (None, None),
                };
                header_file = file;
                let form = FormValues {
                    body: params,
                    header: header_params,
                    buttons: button_params,
                    header_media,
                };
                let send = templates::send_template(&template, &params_for(&template, &form))
                    .map_err(|e| DeviceError::InvalidInput(e.to_string()))?;
                OutgoingMessage::new(send)
            }
        };
        let outgoing = match reply_to {
            Some(wamid) if !wamid.is_empty() => outgoing.reply_to(wamid),
            _ => outgoing,
        };
        let key = uuid::Uuid::new_v4().to_string();
        let item_id = match &header_file {
            Some(file) => {
                session
                    .outbox
                    .enqueue_with_file(conversation_id, outgoing, file, &key)
                    .await?
            }
            None => {
                session
                    .outbox
                    .enqueue(conversation_id, outgoing, &key)
                    .await?
            }
        };
        if let Some(message_id) = reacting_to {
            let message = views::message(&self.inner.store, message_id)
                .await?
                .ok_or_else(|| DeviceError::NotFound("the message reacted to is gone".into()))?;
            self.log_send(conversation_id, item_id, "reaction").await;
            return Ok(message);
        }
        self.queued_message(&session, conversation_id, item_id)
            .await
    }

    /// The message of a just-queued outbox item, as the thread shows it; tells the UI and
    /// logs the send (`message.send`). Every message a member sends from the composer comes
    /// through here (text, templates, reactions, files, voice notes…); broadcasts do not, and
    /// are logged once each as `broadcast.start`.
    pub(super) async fn queued_message(
        &self,
        session: &super::Session,
        conversation_id: i64,
        item_id: i64,
    ) -> Result<MessageView, DeviceError> {
        let item = session
            .outbox
            .item(item_id)
            .await?
            .ok_or_else(|| DeviceError::Internal("the queued message vanished".into()))?;
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: vec![conversation_id],
        });
        let message_id = item
            .message_id
            .ok_or_else(|| DeviceError::Internal("the queued item has no message".into()))?;
        let message = views::message(&self.inner.store, message_id)
            .await?
            .ok_or_else(|| DeviceError::Internal("the queued message vanished".into()))?;
        self.log_send(conversation_id, item_id, &message.kind).await;
        Ok(message)
    }

    /// Logs a queued send: on the contact (by row id, as the privacy entries name them), with
    /// Meta's type of the message and the outbox item. Never the content: the log is kept
    /// forever and cannot be edited, so a customer's erasure could not remove it from there
    /// (and a contact's row id means nothing once they are erased).
    async fn log_send(&self, conversation_id: i64, item_id: i64, kind: &str) {
        let contact: Result<Option<i64>, _> =
            sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = ?")
                .bind(conversation_id)
                .fetch_optional(self.inner.store.pool())
                .await;
        let subject = match contact {
            Ok(Some(id)) => format!("contact:{id}"),
            _ => format!("conversation:{conversation_id}"),
        };
        self.log_activity(
            "message.send",
            &subject,
            serde_json::json!({
                "kind": kind,
                "conversation_id": conversation_id,
                "outbox_id": item_id,
            }),
        )
        .await;
    }

    /// The wamid of the customer's newest message in the conversation (read receipts and the
    /// typing indicator name it).
    async fn newest_inbound(&self, conversation_id: i64) -> Result<Option<String>, DeviceError> {
        Ok(sqlx::query_scalar(
            "SELECT wamid FROM messages WHERE conversation_id = ? AND direction = 'in'
             ORDER BY ts DESC, id DESC LIMIT 1",
        )
        .bind(conversation_id)
        .fetch_optional(self.inner.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?)
    }

    /// Shows the customer "typing…" while a member writes them a reply (with the read receipt
    /// of their newest message, as Meta sends it): at most once every
    /// [`crate::send::TYPING_EVERY_SECS`]. Nothing when the window is closed (no free-form
    /// reply can follow) or the customer never wrote.
    pub async fn show_typing(&self, conversation_id: i64) -> Result<(), DeviceError> {
        let session = self.acting_session().await?;
        if !self.conversation(conversation_id).await?.window.open {
            return Ok(());
        }
        let newest_inbound = self.newest_inbound(conversation_id).await?;
        if let Some(wamid) = newest_inbound {
            session.outbox.show_typing(conversation_id, &wamid).await?;
        }
        Ok(())
    }

    /// Marks the conversation read on every device, and sends Meta a read receipt for the
    /// newest inbound message (blue ticks for the customer).
    pub async fn mark_read(&self, conversation_id: i64) -> Result<(), DeviceError> {
        let session = self.session().await?;
        self.check_conversation(conversation_id).await?;
        session
            .team
            .mark_read(conversation_id)
            .await
            .map_err(|e| DeviceError::Internal(e.to_string()))?;
        let newest_inbound = self.newest_inbound(conversation_id).await?;
        if let Some(wamid) = newest_inbound {
            session
                .outbox
                .mark_read(conversation_id, &wamid, false)
                .await?;
        }
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: vec![conversation_id],
        });
        Ok(())
    }

    /// Sets the conversation's labels on every device.
    pub async fn set_labels(
        &self,
        conversation_id: i64,
        labels: &[String],
    ) -> Result<(), DeviceError> {
        let session = self.session().await?;
        self.check_conversation(conversation_id).await?;
        session
            .team
            .set_labels(conversation_id, labels)
            .await
            .map_err(|e| DeviceError::InvalidInput(e.to_string()))?;
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: vec![conversation_id],
        });
        Ok(())
    }

    /// Assigns the conversation to a staff member (by user id), or unassigns it.
    pub async fn assign(
        &self,
        conversation_id: i64,
        user_id: Option<&str>,
    ) -> Result<(), DeviceError> {
        let session = self.session().await?;
        self.check_conversation(conversation_id).await?;
        session
            .team
            .assign(conversation_id, user_id)
            .await
            .map_err(|e| DeviceError::InvalidInput(e.to_string()))?;
        self.emit(DeviceEvent::InboxChanged {
            conversation_ids: vec![conversation_id],
        });
        Ok(())
    }

    /// Sends what is due in the outbox now (the background worker does this continuously; the
    /// CLI, which exits, calls it after queueing).
    pub async fn flush_outbox(&self) -> Result<crate::send::RunReport, DeviceError> {
        Ok(self.acting_session().await?.outbox.run_once().await?)
    }

    /// Messages waiting in the outbox (queued or being sent).
    pub async fn outbox_count(&self) -> Result<i64, DeviceError> {
        let session = self.session().await?;
        // This workspace's, as its outbox sends only those.
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM outbox o JOIN conversations c ON c.id = o.conversation_id
             WHERE o.state IN ('queued', 'sending') AND o.kind != 'mark_read'
                 AND c.workspace_id = ?",
        )
        .bind(&session.account.workspace_id)
        .fetch_one(self.inner.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?)
    }

    /// The workspace's templates (approved ones only for the picker).
    pub async fn templates(&self, approved_only: bool) -> Result<Vec<TemplateView>, DeviceError> {
        let session = self.session().await?;
        let status = approved_only.then_some("APPROVED");
        Ok(
            templates::list_templates(&self.inner.store, &session.account.workspace_id, status)
                .await?
                .iter()
                .map(template_view)
                .collect(),
        )
    }

    /// Fetches every template of the workspace's WABAs from Meta.
    pub async fn sync_templates(&self) -> Result<usize, DeviceError> {
        let session = self.session().await?;
        let mut synced = 0;
        let mut wabas: Vec<(String, String)> = Vec::new();
        for n in self.numbers(&session.account.workspace_id).await? {
            if !wabas.iter().any(|(w, _)| *w == n.waba_id) {
                wabas.push((n.waba_id, n.id));
            }
        }
        for (waba_id, phone_number_id) in wabas {
            let Some(token) = self.number_token(&phone_number_id)? else {
                continue;
            };
            let graph = self.graph().await?.with_token(token.as_str());
            let report = templates::sync_templates(
                &self.inner.store,
                &graph,
                &session.account.workspace_id,
                &waba_id,
            )
            .await
            .map_err(|e| DeviceError::Meta(e.to_string()))?;
            synced += report.fetched;
        }
        self.emit(DeviceEvent::TemplatesChanged);
        Ok(synced)
    }

    /// A template filled with the form's values, as text (the live preview). `header_media`
    /// only says whether the header's file or place is chosen: the preview shows its kind.
    pub async fn render_template(
        &self,
        template_id: i64,
        params: &[String],
        header_params: &[String],
        button_params: &[String],
        header_media_chosen: bool,
    ) -> Result<RenderedPreview, DeviceError> {
        self.session().await?;
        let detail = templates::get_template(&self.inner.store, template_id)
            .await?
            .ok_or_else(|| DeviceError::NotFound("no such template".into()))?;
        let template = detail.template;
        let form = FormValues {
            body: params.to_vec(),
            header: header_params.to_vec(),
            buttons: button_params.to_vec(),
            // A text preview shows a header's kind (`[IMAGE]`), not the file: any parameter
            // stands for the one chosen, and a large video is not read at every keystroke.
            header_media: header_media_chosen.then_some(cloud_api::messages::Parameter::Other(
                serde_json::Value::Null,
            )),
        };
        Ok(preview_of(templates::render(
            &template,
            &params_for(&template, &form),
        )))
    }

    /// The approved template `name` (`language`) of the conversation's WABA.
    async fn approved_template(
        &self,
        session: &super::Session,
        conversation: &views::ConversationSummary,
        name: &str,
        language: &str,
    ) -> Result<Template, DeviceError> {
        let waba_id = self
            .numbers(&session.account.workspace_id)
            .await?
            .into_iter()
            .find(|n| n.id == conversation.phone_number_id)
            .map(|n| n.waba_id)
            .ok_or_else(|| {
                DeviceError::NotFound("the conversation's number is not connected".into())
            })?;
        let template = templates::find_template(&self.inner.store, &waba_id, name, language)
            .await?
            .ok_or_else(|| {
                DeviceError::NotFound(format!(
                    "no template {name} ({language}); sync templates first"
                ))
            })?;
        if template.status.as_deref() != Some("APPROVED") {
            return Err(DeviceError::InvalidInput(format!(
                "the template {name} is not approved ({})",
                template.status.as_deref().unwrap_or("unknown status")
            )));
        }
        Ok(template)
    }
}

/// The preview as the UI shows it.
pub(super) fn preview_of(rendered: templates::RenderedTemplate) -> RenderedPreview {
    RenderedPreview {
        header: rendered.header,
        body: rendered.body,
        footer: rendered.footer,
        buttons: rendered.buttons.into_iter().map(|b| b.text).collect(),
        missing: rendered.missing,
    }
}
