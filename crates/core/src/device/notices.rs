//! Account notices: what Meta said about the business's account and numbers (`account_update`,
//! `account_review_update`, `account_alerts`, `business_capability_update`, quality and display
//! name updates), as Settings lists them. Sync keeps every such webhook whole in
//! `account_events`; this module picks out the code and the few facts a person acts on, and
//! leaves the wording to the UI's catalogue (the codes are Meta's, shown as they came).

use serde::Serialize;
use serde_json::Value;

use super::{Device, DeviceError};
use crate::store::AccountEventRow;

/// Most notices one call returns.
pub const MAX_NOTICES: u32 = 200;

/// A customer's marketing preference is theirs, not the account's: shown on the contact.
const NOT_A_NOTICE: &str = "user_preferences";

/// One notice, newest first in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AccountNoticeView {
    pub id: i64,
    /// When Meta sent it (Unix seconds).
    pub at: i64,
    /// The webhook field, e.g. `account_update` (the UI names it).
    pub kind: String,
    /// The number concerned, when the notice names one.
    pub phone_number_id: Option<String>,
    /// Meta's code: the event (`DISABLED_UPDATE`, `FLAGGED`…), the review's decision, the
    /// alert's type.
    pub code: Option<String>,
    /// The facts that go with it (ban state, violation, restrictions, limits, the alert's
    /// description…): each named by a key the UI words, with Meta's value as text.
    pub facts: Vec<NoticeFact>,
    /// Whether it asks for attention: a ban, violation, restriction, rejection, flag, a
    /// lowered limit or a critical alert.
    pub attention: bool,
}

/// One fact of a notice: `name` is one of a closed set of keys (`ban_state`, `violation`,
/// `restrictions`, `disconnected`, `number`, `severity`, `status`, `description`,
/// `conversations_per_number`, `conversations_per_business`, `numbers_per_business`,
/// `numbers_per_account`, `limit`, `old_limit`, `name`, `reason`); `value` is Meta's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NoticeFact {
    pub name: String,
    pub value: String,
}

/// Codes that ask for attention (Meta's, upper-cased).
const ATTENTION: [&str; 14] = [
    "DISABLED_UPDATE",
    "ACCOUNT_VIOLATION",
    "ACCOUNT_RESTRICTION",
    "ACCOUNT_DELETED",
    "PARTNER_REMOVED",
    "BANNED",
    "REJECTED",
    "DECLINED",
    "FLAGGED",
    "DOWNGRADE",
    "RED",
    "CRITICAL",
    "HIGH",
    "OFFLINE",
];

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A fact for each of `fields` that `value` has (nested objects by a path of keys).
fn facts(value: &Value, fields: &[(&str, &[&str])]) -> Vec<NoticeFact> {
    fields
        .iter()
        .filter_map(|(name, path)| {
            let found = path.iter().try_fold(value, |v, key| v.get(key))?;
            let shown = match found {
                Value::Array(items) => {
                    let parts: Vec<String> = items
                        .iter()
                        .filter_map(|item| {
                            item.get("restriction_type")
                                .and_then(text)
                                .or_else(|| text(item))
                        })
                        .collect();
                    (!parts.is_empty()).then(|| parts.join(", "))
                }
                other => text(other),
            }?;
            Some(NoticeFact {
                name: (*name).to_owned(),
                value: shown,
            })
        })
        .collect()
}

/// The notice of one stored webhook value.
pub(crate) fn notice(
    id: i64,
    at: i64,
    kind: &str,
    phone: Option<String>,
    value: &Value,
) -> AccountNoticeView {
    let (code, facts) = match kind {
        "account_update" => (
            value.get("event").and_then(text),
            facts(
                value,
                &[
                    ("ban_state", &["ban_info", "waba_ban_state"]),
                    ("violation", &["violation_info", "violation_type"]),
                    ("restrictions", &["restriction_info"]),
                    ("disconnected", &["disconnection_info", "reason"]),
                    ("number", &["phone_number"]),
                ],
            ),
        ),
        "account_review_update" => (value.get("decision").and_then(text), Vec::new()),
        "account_alerts" => (
            value.pointer("/alert_info/alert_type").and_then(text),
            facts(
                value,
                &[
                    ("severity", &["alert_info", "alert_severity"]),
                    ("status", &["alert_info", "alert_status"]),
                    ("description", &["alert_info", "alert_description"]),
                ],
            ),
        ),
        "business_capability_update" => (
            None,
            facts(
                value,
                &[
                    (
                        "conversations_per_number",
                        &["max_daily_conversation_per_phone"],
                    ),
                    (
                        "conversations_per_business",
                        &["max_daily_conversations_per_business"],
                    ),
                    ("numbers_per_business", &["max_phone_numbers_per_business"]),
                    ("numbers_per_account", &["max_phone_numbers_per_waba"]),
                ],
            ),
        ),
        "phone_number_quality_update" => (
            value.get("event").and_then(text),
            facts(
                value,
                &[
                    ("number", &["display_phone_number"]),
                    ("limit", &["current_limit"]),
                    ("old_limit", &["old_limit"]),
                ],
            ),
        ),
        "phone_number_name_update" => (
            value.get("decision").and_then(text),
            facts(
                value,
                &[
                    ("number", &["display_phone_number"]),
                    ("name", &["requested_verified_name"]),
                    ("reason", &["rejection_reason"]),
                ],
            ),
        ),
        _ => (
            value
                .get("event")
                .or_else(|| value.get("decision"))
                .and_then(text),
            Vec::new(),
        ),
    };
    let severity = value.pointer("/alert_info/alert_severity").and_then(text);
    let attention = [code.as_deref(), severity.as_deref()]
        .into_iter()
        .flatten()
        .any(|c| ATTENTION.contains(&c.to_ascii_uppercase().as_str()))
        || facts
            .iter()
            .any(|f| f.name == "ban_state" || f.name == "violation");
    AccountNoticeView {
        id,
        at,
        kind: kind.to_owned(),
        phone_number_id: phone,
        code,
        facts,
        attention,
    }
}

impl Device {
    /// What Meta said about the account and its numbers, newest first (at most `limit`, up to
    /// [`MAX_NOTICES`]).
    pub async fn account_notices(&self, limit: u32) -> Result<Vec<AccountNoticeView>, DeviceError> {
        let workspace = self.workspace_id().await?;
        let limit = limit.clamp(1, MAX_NOTICES);
        let rows: Vec<AccountEventRow> = sqlx::query_as(
            "SELECT id, phone_number_id, kind, ts, payload_json FROM account_events
             WHERE workspace_id = ? AND kind != ?
             ORDER BY ts DESC, id DESC LIMIT ?",
        )
        .bind(&workspace)
        .bind(NOT_A_NOTICE)
        .bind(i64::from(limit))
        .fetch_all(self.store().pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                // Kept whole at sync (`{"waba_id", "value"}`); a row that no longer parses
                // still lists, with its kind.
                let value = serde_json::from_str::<Value>(&row.payload_json)
                    .ok()
                    .and_then(|p| p.get("value").cloned())
                    .unwrap_or(Value::Null);
                notice(row.id, row.ts, &row.kind, row.phone_number_id, &value)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shown(n: &AccountNoticeView) -> Vec<String> {
        n.facts
            .iter()
            .map(|f| format!("{}: {}", f.name, f.value))
            .collect()
    }

    #[test]
    fn a_ban_is_a_notice_that_asks_for_attention_with_its_facts() {
        let n = notice(
            1,
            10,
            "account_update",
            None,
            &json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": ["SCHEDULE_FOR_DISABLE"],
                "waba_ban_date": "2025-06-01"}}),
        );
        assert_eq!(n.code.as_deref(), Some("DISABLED_UPDATE"));
        assert_eq!(shown(&n), ["ban_state: SCHEDULE_FOR_DISABLE"]);
        assert!(n.attention);
    }

    #[test]
    fn restrictions_limits_reviews_and_alerts_read_as_their_codes_and_facts() {
        let r = notice(
            2,
            10,
            "account_update",
            None,
            &json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [
                {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1},
                {"restriction_type": "RESTRICTED_CUSTOMER_INITIATED_MESSAGING"}]}),
        );
        assert_eq!(
            shown(&r),
            ["restrictions: RESTRICTED_ADD_PHONE_NUMBER_ACTION, RESTRICTED_CUSTOMER_INITIATED_MESSAGING"]
        );
        assert!(r.attention);
        let limits = notice(
            3,
            10,
            "business_capability_update",
            None,
            &json!({"max_daily_conversation_per_phone": 1000, "max_phone_numbers_per_business": 2}),
        );
        assert_eq!(
            shown(&limits),
            ["conversations_per_number: 1000", "numbers_per_business: 2"]
        );
        assert!(!limits.attention);
        let approved = notice(
            4,
            10,
            "account_review_update",
            None,
            &json!({"decision": "APPROVED"}),
        );
        assert_eq!(approved.code.as_deref(), Some("APPROVED"));
        assert!(!approved.attention);
        let rejected = notice(
            5,
            10,
            "account_review_update",
            None,
            &json!({"decision": "REJECTED"}),
        );
        assert!(rejected.attention);
        let alert = notice(
            6,
            10,
            "account_alerts",
            None,
            &json!({"entity_type": "WABA", "alert_info": {"alert_severity": "CRITICAL",
                "alert_status": "ACTIVE", "alert_type": "OBA_APPROVED",
                "alert_description": "<b>bold</b> text"}}),
        );
        assert_eq!(alert.code.as_deref(), Some("OBA_APPROVED"));
        assert!(shown(&alert).contains(&"description: <b>bold</b> text".to_owned()));
        assert!(alert.attention, "critical");
    }

    #[test]
    fn an_unknown_kind_or_an_unreadable_value_still_lists() {
        let n = notice(
            7,
            10,
            "some_new_field",
            None,
            &json!({"event": "SOMETHING"}),
        );
        assert_eq!(
            (n.kind.as_str(), n.code.as_deref()),
            ("some_new_field", Some("SOMETHING"))
        );
        let empty = notice(8, 10, "account_update", None, &Value::Null);
        assert_eq!(
            (empty.code, empty.facts.len(), empty.attention),
            (None, 0, false)
        );
    }
}
