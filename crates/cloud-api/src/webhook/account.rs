//! Account and phone-number fields: `account_update`, `account_review_update`,
//! `account_alerts`, `business_capability_update`, `phone_number_quality_update`,
//! `phone_number_name_update` and `security`.
//!
//! These carry few keys and Meta keeps adding event kinds, so events are plain strings (values
//! listed in the docs) and every object keeps its unknown keys.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::lossless::{nullable, Extra, NumberOrString};

/// The value of an `account_update` change: something happened to the WABA (partner app
/// installed — the event received when Embedded Signup completes —, restriction, violation,
/// ban, offboarding, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// `PARTNER_APP_INSTALLED`, `PARTNER_APP_UNINSTALLED`, `PARTNER_ADDED`, `PARTNER_REMOVED`,
    /// `ACCOUNT_RESTRICTION`, `ACCOUNT_VIOLATION`, `DISABLED_UPDATE`, `ACCOUNT_DELETED`,
    /// `ACCOUNT_OFFBOARDED`, `ACCOUNT_RECONNECTED`, `AD_ACCOUNT_LINKED`, `MM_LITE_TERMS_SIGNED`,
    /// `AUTH_INTL_PRICE_ELIGIBILITY_UPDATE`, `BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE`,
    /// `PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE`, `VOLUME_BASED_PRICING_TIER_UPDATE`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The business number concerned, for number-level events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The WABA and partner involved (partner and app events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_info: Option<WabaInfo>,
    /// Active restrictions (`ACCOUNT_RESTRICTION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction_info: Option<Vec<RestrictionInfo>>,
    /// The policy violated (`ACCOUNT_VIOLATION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation_info: Option<ViolationInfo>,
    /// Ban state (`DISABLED_UPDATE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ban_info: Option<BanInfo>,
    /// Why a coexistence number was disconnected (`PARTNER_REMOVED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnection_info: Option<DisconnectionInfo>,
    /// Country code (`BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Keys not modelled here (pricing tiers, certification, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`AccountUpdate::waba_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WabaInfo {
    /// The WABA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    /// The business portfolio that owns it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_business_id: Option<String>,
    /// The partner app that was installed or removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_app_id: Option<String>,
    /// The Multi-Partner Solution, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution_id: Option<String>,
    /// The partners of that solution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution_partner_business_ids: Option<Vec<String>>,
    /// The ad account linked (`AD_ACCOUNT_LINKED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_account_linked: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of [`AccountUpdate::restriction_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestrictionInfo {
    /// `RESTRICTED_BIZ_INITIATED_MESSAGING`, `RESTRICTED_CUSTOMER_INITIATED_MESSAGING`,
    /// `RESTRICTED_ADD_PHONE_NUMBER_ACTION`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction_type: Option<String>,
    /// When the restriction ends (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`AccountUpdate::violation_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationInfo {
    /// The policy violated, e.g. `ADULT`, `SCAM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation_type: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`AccountUpdate::ban_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanInfo {
    /// `DISABLE`, `REINSTATE` or `SCHEDULE_FOR_DISABLE`; older payloads sent a list, so the
    /// JSON is kept as is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_ban_state: Option<Value>,
    /// The ban date, as sent (e.g. `"April 17, 2025"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_ban_date: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`AccountUpdate::disconnection_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectionInfo {
    /// `ACCOUNT_DISCONNECTED`, `BUSINESS_DOWNGRADE`, `CHANGE_NUMBER`, `COMPANION_INACTIVITY`,
    /// `PRIMARY_INACTIVITY`, `USER_RE_REGISTERED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `USER` or `SYSTEM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of an `account_review_update` change: the WABA's policy review outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReviewUpdate {
    /// `APPROVED`, `REJECTED`, `PENDING` or `DEFERRED` (only `APPROVED` can use the APIs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of an `account_alerts` change: messaging-limit increase denied or deferred,
/// Official Business Account decision, profile photo removed, ...
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAlert {
    /// `BUSINESS`, `PHONE_NUMBER`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// The business or phone number id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<NumberOrString>,
    /// The alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_info: Option<AlertInfo>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// [`AccountAlert::alert_info`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInfo {
    /// `CRITICAL`, `WARNING` or `INFORMATIONAL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_severity: Option<String>,
    /// `ACTIVE`, `NONE`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_status: Option<String>,
    /// `INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED`, `OBA_APPROVED`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_type: Option<String>,
    /// What to do about it, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_description: Option<String>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of a `business_capability_update` change: the messaging limit and phone-number
/// caps of the business portfolio or WABA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessCapabilityUpdate {
    /// Legacy per-number limit (250, 2000, 10000, 100000, -1 = unlimited); being removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_conversation_per_phone: Option<NumberOrString>,
    /// The portfolio's messaging limit, as a number or a `TIER_*` value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_conversations_per_business: Option<NumberOrString>,
    /// Maximum business numbers in the portfolio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_phone_numbers_per_business: Option<NumberOrString>,
    /// Maximum business numbers per WABA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_phone_numbers_per_waba: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of a `phone_number_quality_update` change: throughput or messaging-limit change
/// of a business number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumberQualityUpdate {
    /// The business number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// `ONBOARDING`, `THROUGHPUT_UPGRADE`, `UPGRADE`, `DOWNGRADE`, `FLAGGED`, `UNFLAGGED`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// `TIER_50` … `TIER_UNLIMITED`, `TIER_NOT_SET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_limit: Option<String>,
    /// The previous tier (limit changes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_limit: Option<String>,
    /// The portfolio's messaging limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_conversations_per_business: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The value of a `phone_number_name_update` change: the display-name review outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumberNameUpdate {
    /// The business number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// `APPROVED`, `REJECTED`, `PENDING` or `DEFERRED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The name that was reviewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_verified_name: Option<String>,
    /// `NAME_FORMAT_UNACCEPTABLE`, ...; Meta sends `null` when accepted (kept as `Some(None)`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub rejection_reason: Option<Option<String>>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PhoneNumberNameUpdate {
    /// The rejection reason, when one is given (not `null`, not absent).
    pub fn rejection_reason(&self) -> Option<&str> {
        self.rejection_reason.as_ref()?.as_deref()
    }
}

/// The value of a `security` change: two-step verification PIN changes and reset requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityUpdate {
    /// The business number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// `PIN_CHANGED`, `PIN_RESET_REQUEST` or `PIN_REQUEST_SUCCESS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The Meta Business Suite user who asked for a reset (reset requests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<NumberOrString>,
    /// Keys not modelled here, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
