//! Broadcasts: one approved template, in one language, sent to many recipients.
//!
//! - [`plan`](plan::plan) resolves the recipients (a label, a selection of contacts, or a CSV
//!   import — see [`csv`]) and every recipient's parameters (fixed, a CSV column, or the
//!   contact's name), and says who is excluded and why (opted out of marketing, restricted,
//!   a value missing). Nothing is written: this is the summary the user confirms.
//! - [`Broadcasts::create`] stores the broadcast and its recipients in one transaction, then
//!   [`Broadcasts::feed`] hands each recipient to the durable outbox with its own idempotency
//!   key (`bc:<broadcast>:<recipient>`), which paces them at the number's messages-per-second.
//! - The per-recipient state is not copied: it is read from the outbox item and the message
//!   row, which sync keeps up to date with Meta's statuses (see [`view`]).
//! - Pause holds the queued items (the worker passes them over), resume releases them, cancel
//!   cancels them; items already being sent finish.
//!
//! # After a restart
//!
//! Nothing is forgotten: recipients not yet in the outbox (a crash while feeding) are fed
//! again by [`Broadcasts::resume_feeding`], and the outbox's own recovery covers items that were
//! being sent. Nothing is sent twice: feeding a recipient again reuses its idempotency key, so
//! the outbox returns the item it already has.

pub mod csv;
mod plan;
mod run;
pub mod view;

use serde::{Deserialize, Serialize};

pub use plan::{plan, Plan, PlannedRecipient};
pub use run::{Broadcasts, FeedReport};
pub use view::{BroadcastCounts, BroadcastSummary, RecipientView};

use crate::store::StoreError;

/// Where a template variable's value comes from, per recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ParamSource {
    /// The same text for everyone.
    Fixed {
        /// The text.
        value: String,
    },
    /// A column of the CSV import (by its header name, without case).
    Column {
        /// The column's name.
        column: String,
    },
    /// The recipient's name: the CSV's `name` column, else the contact's name.
    ContactName,
}

/// Who receives the broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RecipientSource {
    /// Every contact with a conversation carrying this label (on the sending number).
    Label {
        /// The label.
        label: String,
    },
    /// These contacts.
    #[serde(rename_all = "camelCase")]
    Contacts {
        /// Contact ids.
        contact_ids: Vec<i64>,
    },
    /// A CSV import: a header row, one column of which is the phone number.
    Csv {
        /// The file's text.
        text: String,
    },
}

/// The template and parameters of a broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The template's name.
    pub template_name: String,
    /// Its language, e.g. `en_US`.
    pub language: String,
    /// The body's variables, in order of appearance.
    pub body: Vec<ParamSource>,
    /// The text header's variables.
    pub header: Vec<ParamSource>,
    /// One per button that takes a value (`templates::button_takes_value`), in order.
    #[serde(default)]
    pub buttons: Vec<ParamSource>,
    /// The media (an uploaded file's id or a link) or place of a media or location header:
    /// the same for every recipient.
    #[serde(default)]
    pub header_media: Option<cloud_api::messages::Parameter>,
}

impl Message {
    /// Every value source: the body's, the header's, then the buttons'.
    pub fn sources(&self) -> impl Iterator<Item = &ParamSource> {
        self.body.iter().chain(&self.header).chain(&self.buttons)
    }
}

/// Errors of broadcasts.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The broadcast as asked cannot be made; nothing was stored.
    #[error("{0}")]
    Invalid(String),
    /// The CSV cannot be read at all.
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    /// No such broadcast (or contact) in this workspace.
    #[error("{0}")]
    NotFound(String),
    /// Pause, resume or cancel does not apply in the broadcast's state.
    #[error("{0}")]
    WrongState(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Queueing failed for another reason than the recipient.
    #[error(transparent)]
    Send(#[from] crate::send::SendError),
}

impl From<sqlx::Error> for BroadcastError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Sqlx(e))
    }
}
