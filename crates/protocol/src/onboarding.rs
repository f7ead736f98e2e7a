//! Onboarding a WhatsApp number through Meta's Embedded Signup, run on the relay's page:
//! `POST /v1/onboarding`, `GET /v1/onboarding/{session_id}` (device) and
//! `POST /onboarding/{session_id}/complete` (the page).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `POST /v1/onboarding` (owner or admin) → the session and the page to open in a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingCreated {
    /// Opaque, unguessable, single use; valid until `expires_at`.
    pub session_id: String,
    /// `{public_origin}/onboarding/{session_id}`.
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What the page reports (`POST /onboarding/{session_id}/complete`): Meta's
/// `WA_EMBEDDED_SIGNUP` event plus the code from `FB.login` and the chosen PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompleteOnboarding {
    Finish {
        code: String,
        waba_id: String,
        phone_number_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        business_id: Option<String>,
        /// The number's two-step verification PIN (6 digits), chosen on the page.
        pin: String,
    },
    /// The user left the flow (`current_step`), or Meta reported an error (v4 sends errors
    /// as CANCEL with `error_code` / `error_message`).
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current_step: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_message: Option<String>,
    },
    /// v3-style `ERROR` event.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_message: Option<String>,
    },
}

/// The page's answer: where to send the browser (`dataoptix://onboarding/complete?session=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteOnboardingResponse {
    pub redirect: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingStatus {
    /// Created; the page has not reported yet.
    Pending,
    /// The page reported; the relay is talking to Meta.
    InProgress,
    Done,
    Cancelled,
    Failed,
}

/// Why onboarding did not finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OnboardingError {
    /// `cancelled`, `signup_error` (Meta's flow reported one), `expired`, `exchange_code`,
    /// `debug_token`, `waba_not_granted`, `subscribe_app`, `register`, `waba_taken`,
    /// `interrupted` (the relay never finished after taking the page's report), `internal`.
    pub code: String,
    /// The Embedded Signup screen the user left (`current_step`), for `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Meta's error code (the flow's `error_code`, or the Graph API's `error.code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_subcode: Option<i64>,
    /// How the Graph error classifies (`retryable`, `rate_limited`, `token_invalid`,
    /// `fixable_by_user`, `permanent`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// A plain-language explanation for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// Meta's message (developer-facing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /v1/onboarding/{session_id}` (same workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingResult {
    pub status: OnboardingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    /// The business token sealed to the workspace key (base64 envelope, see [`crate::sealed`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OnboardingError>,
}

impl OnboardingResult {
    pub fn pending(status: OnboardingStatus) -> Self {
        Self {
            status,
            waba_id: None,
            phone_number_id: None,
            display_phone_number: None,
            sealed_token: None,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_payloads_parse() {
        let finish: CompleteOnboarding = serde_json::from_str(
            r#"{"event":"FINISH","code":"c","waba_id":"1","phone_number_id":"2","business_id":"3","pin":"123456"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(finish, CompleteOnboarding::Finish { .. }));
        let cancel: CompleteOnboarding =
            serde_json::from_str(r#"{"event":"CANCEL","current_step":"PHONE_NUMBER_SETUP"}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cancel,
            CompleteOnboarding::Cancel {
                current_step: Some("PHONE_NUMBER_SETUP".into()),
                error_code: None,
                error_message: None
            }
        );
        let status = serde_json::to_string(&OnboardingStatus::InProgress).unwrap_or_default();
        assert_eq!(status, "\"in_progress\"");
    }
}
