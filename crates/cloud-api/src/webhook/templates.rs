//! Template lifecycle fields: `message_template_status_update`,
//! `message_template_quality_update` and `template_category_update`.
//!
//! Template ids come as JSON integers here while the Graph API returns them as strings, so they
//! are [`NumberOrString`]; compare with `to_string()`.

use serde::{Deserialize, Serialize};

use super::lossless::{nullable, open_enum, Extra, NumberOrString};

open_enum! {
    /// `message_template_status_update.event`.
    pub enum TemplateEvent {
        /// Approved: can be sent.
        Approved = "APPROVED",
        /// Rejected: see `reason` / `rejection_info`; edit or appeal.
        Rejected = "REJECTED",
        /// Under review.
        Pending = "PENDING",
        /// Paused for low quality; see `other_info`.
        Paused = "PAUSED",
        /// Disabled (paused too many times); see `disable_info`.
        Disabled = "DISABLED",
        /// Negative feedback, at risk of being disabled.
        Flagged = "FLAGGED",
        /// No longer flagged or disabled.
        Reinstated = "REINSTATED",
        /// Deleted.
        Deleted = "DELETED",
        /// Deleted in WhatsApp Manager, deletion pending.
        PendingDeletion = "PENDING_DELETION",
        /// Archived for inactivity.
        Archived = "ARCHIVED",
        /// Restored from the archive.
        Unarchived = "UNARCHIVED",
        /// In appeal.
        InAppeal = "IN_APPEAL",
        /// The WABA reached its template limit.
        LimitExceeded = "LIMIT_EXCEEDED",
        /// Locked: cannot be edited.
        Locked = "LOCKED",
        /// Unlocked.
        Unlocked = "UNLOCKED",
    }
}

/// The value of a `message_template_status_update` change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateStatusUpdate {
    /// What happened to the template.
    pub event: TemplateEvent,
    /// The template id (a JSON number here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_id: Option<NumberOrString>,
    /// The template name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// Language and locale, e.g. `en_US` / `en-US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// Rejection reason (`NONE`, `INVALID_FORMAT`, `PROMOTIONAL`, `SCAM`, ...); Meta sends
    /// `null` for templates scheduled for deletion, kept as `Some(None)`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub reason: Option<Option<String>>,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_category: Option<String>,
    /// Why an `INVALID_FORMAT` rejection happened and what to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_info: Option<RejectionInfo>,
    /// Pause / unpause / lock details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_info: Option<OtherInfo>,
    /// When the template was disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_info: Option<DisableInfo>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TemplateStatusUpdate {
    /// The rejection reason, when one is given (not `null`, not absent).
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_ref()?.as_deref()
    }
}

/// [`TemplateStatusUpdate::rejection_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionInfo {
    /// What is wrong with the template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`TemplateStatusUpdate::other_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherInfo {
    /// `FIRST_PAUSE`, `SECOND_PAUSE`, `RATE_LIMITING_PAUSE`, `UNPAUSE`, `DISABLED`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`TemplateStatusUpdate::disable_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisableInfo {
    /// When the template was disabled (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_date: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of a `message_template_quality_update` change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateQualityUpdate {
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_quality_score: Option<String>,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_quality_score: Option<String>,
    /// The template id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_id: Option<NumberOrString>,
    /// The template name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// Language and locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of a `template_category_update` change: a category change that happened
/// (`previous_category` → `new_category`) or is announced (`correct_category` at
/// `category_update_timestamp`, `new_category` being the current one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCategoryUpdate {
    /// The template id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_id: Option<NumberOrString>,
    /// The template name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// Language and locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// The category before a completed change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,
    /// The new category (completed change) or the current one (announced change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_category: Option<String>,
    /// The category the template will get (announced change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_category: Option<String>,
    /// When the announced change takes effect (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_update_timestamp: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
