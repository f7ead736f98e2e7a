//! Every error code PRODUCT.md and CLOUD-API-NOTES.md §7 name is classified on purpose, explained
//! in plain language, and paired with a fix; rate limits carry the right backoff.

use std::collections::HashSet;
use std::time::Duration;

use cloud_api::error::{classify, describe, ErrorClass, ErrorEnvelope, MetaError, SuggestedAction};

/// (code, expected class, expected action, Meta's own message for the code).
const TABLE: &[(i64, &str, SuggestedAction, &str)] = {
    use SuggestedAction::*;
    &[
        (0, "token_invalid", Reconnect, "We were unable to authenticate the app user"),
        (190, "token_invalid", Reconnect, "Your access token has expired"),
        (131047, "needs_template", SendTemplate, "More than 24 hours have passed since the recipient last replied to the sender number."),
        (131026, "permanent", CheckRecipient, "Message undeliverable"),
        (131049, "permanent", WaitAndRetry, "This message was not delivered to maintain healthy ecosystem engagement."),
        (131050, "permanent", RespectOptOut, "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."),
        (131051, "fixable_by_user", FixMessage, "Unsupported message type."),
        (131052, "fixable_by_user", AskCustomerToResend, "Unable to download the media sent by the user."),
        (131053, "fixable_by_user", FixMedia, "Unable to upload the media used in the message."),
        (132000, "fixable_by_user", FixTemplateParameters, "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template."),
        (132001, "fixable_by_user", ChooseApprovedTemplate, "The template does not exist in the specified language or the template has not been approved."),
        (132012, "fixable_by_user", FixTemplateParameters, "Variable parameter values formatted incorrectly."),
        (132018, "fixable_by_user", FixTemplateParameters, "There was an issue with the parameters in your template."),
        (132015, "fixable_by_user", EditTemplate, "Template is paused due to low quality so it cannot be sent in a template message."),
        (132016, "fixable_by_user", CreateNewTemplate, "Template has been paused too many times due to low quality and is now permanently disabled."),
        (133010, "fixable_by_user", RegisterNumber, "Phone number not registered on the WhatsApp Business Platform."),
        (368, "permanent", ReviewAccount, "Temporarily blocked for policies violations"),
        (130429, "rate_limited", WaitAndRetry, "Cloud API message throughput has been reached."),
        (131056, "rate_limited", WaitAndRetry, "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time."),
        (80007, "rate_limited", WaitAndRetry, "The WhatsApp Business Account has reached its rate limit."),
        (4, "rate_limited", WaitAndRetry, "The app has reached its API call rate limit."),
        (131042, "fixable_by_user", CheckPayment, "There was an error related to your payment method."),
        (1, "retryable", WaitAndRetry, "Invalid request or possible server error."),
        (2, "retryable", WaitAndRetry, "Temporary due to downtime or due to being overloaded."),
        (131000, "retryable", WaitAndRetry, "Message failed to send due to an unknown error."),
        (131016, "retryable", WaitAndRetry, "A service is temporarily unavailable."),
        (131008, "fixable_by_user", FixMessage, "The request is missing a required parameter."),
        (131009, "fixable_by_user", FixMessage, "One or more parameter values are invalid."),
        (100, "fixable_by_user", FixMessage, "The request included one or more unsupported or misspelled parameters."),
        (10, "fixable_by_user", CheckPermissions, "Permission is either not granted or has been removed."),
        (200, "fixable_by_user", CheckPermissions, "Permission is either not granted or has been removed."),
        (250, "fixable_by_user", CheckPermissions, "Permission is either not granted or has been removed."),
        (299, "fixable_by_user", CheckPermissions, "Permission is either not granted or has been removed."),
        (132005, "fixable_by_user", FixTemplateParameters, "Translated text is too long."),
        (132007, "fixable_by_user", EditTemplate, "Template content violates a WhatsApp policy."),
        (132068, "permanent", ReviewAccount, "Flow is in blocked state."),
        (132069, "rate_limited", WaitAndRetry, "Flow is in throttled state and 10 messages using this flow were already sent in the last hour."),
        (135000, "permanent", ContactSupport, "Message failed to send because of an unknown error with your request parameters."),
        (131031, "permanent", ReviewAccount, "Business Account has been restricted or disabled for violating a platform policy."),
        (131021, "fixable_by_user", CheckRecipient, "Sender and recipient phone number is the same."),
        (131057, "retryable", WaitAndRetry, "Business Account is in maintenance mode."),
        (133000, "fixable_by_user", RegisterNumber, "A previous deregistration attempt failed."),
        (133004, "retryable", WaitAndRetry, "Server is temporarily unavailable."),
        (133005, "fixable_by_user", CheckPin, "Two step verification PIN incorrect."),
        (133006, "fixable_by_user", RegisterNumber, "Phone number needs to be verified before registering."),
        (133008, "rate_limited", WaitAndRetry, "Too many two step verification PIN guesses for this phone number."),
        (133009, "rate_limited", WaitAndRetry, "Two step verification PIN was entered too quickly."),
        (133015, "rate_limited", WaitAndRetry, "The phone number you are attempting to register was recently deleted, and deletion has not yet completed."),
        (133016, "rate_limited", WaitAndRetry, "Registration or Deregistration failed because there were too many attempts for this phone number in a short period of time."),
    ]
};

/// The explanation given to codes the table does not know.
fn unknown_explanation() -> &'static str {
    classify(987_654_321).explanation
}

#[test]
fn every_named_code_has_its_class_action_and_explanation() {
    for &(code, class, action, meta_message) in TABLE {
        let info = classify(code);
        assert_eq!(info.code, code);
        assert_eq!(info.class.name(), class, "class of {code}");
        assert_eq!(info.action, action, "action of {code}");
        let explanation = info.explanation.trim();
        assert!(!explanation.is_empty(), "{code} has no explanation");
        assert_ne!(explanation, meta_message, "{code} just repeats Meta");
        assert!(
            !explanation.contains(&format!("(#{code})")),
            "{code} leaks Meta's developer wording"
        );
        assert_ne!(
            explanation,
            unknown_explanation(),
            "{code} is not classified on purpose"
        );
    }
}

#[test]
fn the_whole_registration_range_is_classified() {
    for code in 133000..=133016 {
        let info = classify(code);
        assert_ne!(info.explanation, unknown_explanation(), "{code}");
        assert!(!info.explanation.is_empty());
    }
}

#[test]
fn pair_rate_backs_off_4_to_the_x_seconds() {
    let err = MetaError::new(
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    );
    for attempt in 0..=8u32 {
        assert_eq!(
            err.backoff(attempt),
            Some(Duration::from_secs(4u64.pow(attempt))),
            "attempt {attempt}"
        );
    }
    // Far attempts are capped (a day) instead of overflowing.
    assert_eq!(err.backoff(1000), Some(Duration::from_secs(24 * 3600)));
}

#[test]
fn retry_hints_exist_only_where_retrying_helps() {
    for &(code, _, _, _) in TABLE {
        let class = classify(code).class;
        match class {
            ErrorClass::Retryable { .. } | ErrorClass::RateLimited { .. } => {
                let first = class.backoff(0).expect("a retry hint");
                assert!(first > Duration::ZERO, "{code}");
                assert!(class.backoff(5) >= Some(first), "{code} backoff shrinks");
            }
            _ => assert_eq!(class.backoff(0), None, "{code} should not be retried as is"),
        }
    }
    let throughput = classify(130429).class;
    assert!(throughput.backoff(0) <= Some(Duration::from_secs(2)));
    assert!(classify(80007).class.backoff(0) >= Some(Duration::from_secs(60)));
}

#[test]
fn unknown_codes_get_a_safe_default() {
    for code in [-1, 5, 999, 1_234_567, i64::MAX, i64::MIN] {
        let info = describe(code, None);
        assert_eq!(info.class, ErrorClass::Permanent);
        assert_eq!(info.action, SuggestedAction::ContactSupport);
        assert!(!info.explanation.is_empty());
    }
    let transient = describe(4_242_424, Some(true));
    assert!(transient.class.is_retryable());
}

#[test]
fn explanations_are_distinct_enough_to_be_useful() {
    let distinct: HashSet<_> = TABLE
        .iter()
        .map(|&(c, ..)| classify(c).explanation)
        .collect();
    // Codes sharing a cause may share a text (e.g. the 2xx permission range), but most differ.
    assert!(
        distinct.len() >= TABLE.len() * 3 / 4,
        "{} distinct",
        distinct.len()
    );
}

#[test]
fn envelope_from_the_wire_is_classified() {
    let body = r#"{"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
        "code": 131047, "error_data": {"messaging_product": "whatsapp",
        "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
        "error_user_title": "Re-engagement message", "error_user_msg": "…",
        "fbtrace_id": "AbCdEf", "is_transient": false, "new_key": 1}}"#;
    let envelope: ErrorEnvelope = serde_json::from_str(body).unwrap();
    let err = envelope.error;
    assert_eq!(err.class(), ErrorClass::NeedsTemplate);
    assert_eq!(err.action(), SuggestedAction::SendTemplate);
    assert_eq!(
        err.error_user_title.as_deref(),
        Some("Re-engagement message")
    );
    assert_eq!(err.extra["new_key"], 1);
    assert!(err.to_string().contains("131047"));
}

#[test]
fn actions_serialize_for_the_ui() {
    assert_eq!(
        serde_json::to_value(SuggestedAction::SendTemplate).unwrap(),
        "send_template"
    );
}
