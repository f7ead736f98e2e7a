//! Meta's error envelope, and what the app should do about each error code.
//!
//! Meta answers every failed Graph call with `{"error": {message, type, code, error_subcode,
//! error_data: {messaging_product, details}, error_user_title, error_user_msg, fbtrace_id}}`, and
//! reports asynchronous failures (webhook `statuses[].errors`) with the same codes. Meta asks
//! integrators to act on `code` (and `details`), not on the human `message`, whose titles "will
//! eventually be deprecated" (CLOUD-API-NOTES.md §7.1). So this module turns a code into:
//!
//! - an [`ErrorClass`]: the decision a machine makes (retry with a backoff, wait for a rate limit,
//!   switch to a template, reconnect, ask the user, give up);
//! - a [`SuggestedAction`]: the button the app offers the small-business user;
//! - a plain-language explanation for that user (Meta's own messages are written for developers).
//!
//! Every code PRODUCT.md names is classified explicitly (see `tests/error_codes.rs`); unknown codes
//! fall back on Meta's `is_transient` flag and otherwise on a safe "permanent, contact support".

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Meta's error body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: MetaError,
}

/// The `error` object of a Graph API error response (also the shape the simulator answers with).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaError {
    /// Developer-facing text, e.g. `"(#131047) Re-engagement message"`. Never shown as is.
    #[serde(default)]
    pub message: String,
    /// `OAuthException`, `GraphMethodException`, …
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The number every decision is based on.
    pub code: i64,
    /// Deprecated by Meta since v16.0 but still seen; kept for support tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<ErrorData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_user_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_user_msg: Option<String>,
    /// Set by Meta on some transient errors (e.g. code 4 app rate limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_transient: Option<bool>,
    /// Meta's trace id: what Meta support asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
    /// Keys Meta may add later, kept so nothing is lost when the error is logged or forwarded.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `error.error_data`: Meta's more specific explanation of the failure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MetaError {
    /// A bare error with just a code and message (used by tests and the simulator).
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: Some("OAuthException".to_owned()),
            code,
            error_subcode: None,
            error_data: None,
            error_user_title: None,
            error_user_msg: None,
            is_transient: None,
            fbtrace_id: None,
            extra: Map::new(),
        }
    }

    /// Adds `error_data.details` (Meta's specific explanation).
    #[must_use]
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.error_data = Some(ErrorData {
            messaging_product: Some("whatsapp".to_owned()),
            details: Some(details.into()),
            extra: Map::new(),
        });
        self
    }

    /// Wraps the error in Meta's `{"error": ...}` envelope.
    pub fn into_envelope(self) -> ErrorEnvelope {
        ErrorEnvelope { error: self }
    }

    /// `error_data.details`, if Meta sent one.
    pub fn details(&self) -> Option<&str> {
        self.error_data.as_ref()?.details.as_deref()
    }

    /// The classification, explanation and suggested fix for this error.
    pub fn info(&self) -> ErrorInfo {
        describe(self.code, self.is_transient)
    }

    /// What a machine should do about this error.
    pub fn class(&self) -> ErrorClass {
        self.info().class
    }

    /// What the app should offer the user.
    pub fn action(&self) -> SuggestedAction {
        self.info().action
    }

    /// A plain-language explanation for a small-business user.
    pub fn explanation(&self) -> &'static str {
        self.info().explanation
    }

    /// How long to wait before retry number `attempt` (0 for the first retry), if a retry makes
    /// sense at all. For 131056 this is Meta's 4^attempt seconds.
    pub fn backoff(&self, attempt: u32) -> Option<Duration> {
        self.class().backoff(attempt)
    }
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Meta error {}: {}", self.code, self.message)?;
        if let Some(details) = self.details() {
            write!(f, " ({details})")?;
        }
        Ok(())
    }
}

impl std::error::Error for MetaError {}

/// A retry schedule: wait `base * factor^attempt`, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub factor: u32,
    pub max: Duration,
}

impl Backoff {
    /// The same wait before every attempt.
    pub const fn fixed(wait: Duration) -> Self {
        Self {
            base: wait,
            factor: 1,
            max: wait,
        }
    }

    /// `base * factor^attempt`, capped at `max`.
    pub const fn exponential(base: Duration, factor: u32, max: Duration) -> Self {
        Self { base, factor, max }
    }

    /// The wait before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let multiplier = u64::from(self.factor)
            .checked_pow(attempt)
            .and_then(|m| u32::try_from(m).ok());
        match multiplier.and_then(|m| self.base.checked_mul(m)) {
            Some(wait) => wait.min(self.max),
            None => self.max,
        }
    }
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Transient server trouble: 2 s, 4 s, 8 s … up to 5 minutes.
pub const TRANSIENT_BACKOFF: Backoff = Backoff::exponential(secs(2), 2, secs(300));
/// Meta's pair-rate rule (131056): retry after 4^X seconds, X = 0, 1, 2 … (CLOUD-API-NOTES §8).
pub const PAIR_RATE_BACKOFF: Backoff = Backoff::exponential(secs(1), 4, secs(24 * 3600));
/// Throughput (130429, 80 msg/s per number): the limit is per second, so back off briefly.
pub const THROUGHPUT_BACKOFF: Backoff = Backoff::exponential(secs(1), 2, secs(60));
/// Management-call limits (80007, 4, 17, 613) count per hour: start at a minute, up to an hour.
pub const HOURLY_LIMIT_BACKOFF: Backoff = Backoff::exponential(secs(60), 2, secs(3600));

/// What a machine should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A temporary problem on Meta's side: retry the same request later.
    Retryable { backoff: Backoff },
    /// A rate limit: retry the same request after waiting.
    RateLimited { backoff: Backoff },
    /// The 24-hour customer service window is closed: only a template can be sent (131047).
    NeedsTemplate,
    /// The access token expired or was revoked: reconnect WhatsApp (0, 190).
    TokenInvalid,
    /// The request needs a change the user can make (parameters, media, template, settings…).
    FixableByUser,
    /// Retrying will not help.
    Permanent,
}

impl ErrorClass {
    /// How long to wait before retry number `attempt` (0-based), or `None` when the same
    /// request should not be retried as is.
    pub fn backoff(&self, attempt: u32) -> Option<Duration> {
        match self {
            Self::Retryable { backoff } | Self::RateLimited { backoff } => {
                Some(backoff.delay(attempt))
            }
            _ => None,
        }
    }

    /// True when resending the same request later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. } | Self::RateLimited { .. })
    }

    /// A stable name for logs and IPC (`retryable`, `rate_limited`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Retryable { .. } => "retryable",
            Self::RateLimited { .. } => "rate_limited",
            Self::NeedsTemplate => "needs_template",
            Self::TokenInvalid => "token_invalid",
            Self::FixableByUser => "fixable_by_user",
            Self::Permanent => "permanent",
        }
    }
}

/// The fix the app offers next to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestedAction {
    /// Nothing to do now; the app retries by itself (or the user can retry later).
    WaitAndRetry,
    /// Open the template picker instead of sending free-form text.
    SendTemplate,
    /// Run "Connect WhatsApp" again to get a fresh access token.
    Reconnect,
    /// Grant the app access to the WhatsApp account (reconnect with the right permissions).
    CheckPermissions,
    /// Change the message itself (content, type, missing or invalid values).
    FixMessage,
    /// Replace the attachment (type, size, format).
    FixMedia,
    /// Correct the values filled into the template's variables.
    FixTemplateParameters,
    /// Pick a template that is approved in the recipient's language.
    ChooseApprovedTemplate,
    /// Edit the template (wording, policy, quality).
    EditTemplate,
    /// The template cannot be used again: create a new one.
    CreateNewTemplate,
    /// Register the phone number with the WhatsApp Business Platform.
    RegisterNumber,
    /// Re-enter the number's two-step verification PIN.
    CheckPin,
    /// Check the recipient's number (or that they use WhatsApp).
    CheckRecipient,
    /// The customer does not want these messages: respect it.
    RespectOptOut,
    /// Ask the customer to send the file again.
    AskCustomerToResend,
    /// Add or fix the payment method in WhatsApp Manager.
    CheckPayment,
    /// Review the account's status and quality in WhatsApp Manager.
    ReviewAccount,
    /// Contact Meta / DataOptix support (quote Meta's trace id).
    ContactSupport,
}

/// The classification of one error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: i64,
    pub class: ErrorClass,
    pub action: SuggestedAction,
    /// Plain language for a small-business user (English; the UI may translate by `code`).
    pub explanation: &'static str,
}

/// Classifies `code` on its own (e.g. from a webhook `statuses[].errors[].code`).
pub fn classify(code: i64) -> ErrorInfo {
    describe(code, None)
}

/// Classifies `code`, using Meta's `is_transient` flag for codes this table does not know.
pub fn describe(code: i64, is_transient: Option<bool>) -> ErrorInfo {
    use ErrorClass::*;
    use SuggestedAction::*;

    let retry = Retryable {
        backoff: TRANSIENT_BACKOFF,
    };
    let hourly = RateLimited {
        backoff: HOURLY_LIMIT_BACKOFF,
    };

    let (class, action, explanation) = match code {
        // --- Access token and permissions --------------------------------------------------
        0 | 190 => (
            TokenInvalid,
            Reconnect,
            "DataOptix's connection to your WhatsApp account has expired or was removed. \
             Connect WhatsApp again to keep sending and receiving messages.",
        ),
        102 | 104 => (
            TokenInvalid,
            Reconnect,
            "DataOptix is not signed in to your WhatsApp account any more. \
             Connect WhatsApp again.",
        ),
        3 | 10 | 200..=299 | 131005 => (
            FixableByUser,
            CheckPermissions,
            "DataOptix is not allowed to do this on your WhatsApp account. Connect WhatsApp \
             again and allow access to this business account, or ask the account owner to.",
        ),

        // --- Temporary trouble on Meta's side ------------------------------------------------
        1 => (
            retry,
            WaitAndRetry,
            "WhatsApp could not process the request just now. DataOptix will try again shortly.",
        ),
        2 => (
            retry,
            WaitAndRetry,
            "WhatsApp is temporarily unavailable. DataOptix will try again shortly.",
        ),
        131000 => (
            retry,
            WaitAndRetry,
            "Something went wrong on WhatsApp's side. DataOptix will try again; if it keeps \
             happening, contact support.",
        ),
        131016 | 133004 => (
            retry,
            WaitAndRetry,
            "WhatsApp's service is overloaded or down for a moment. DataOptix will try again \
             shortly.",
        ),
        131057 | 2494100 => (
            Retryable {
                backoff: Backoff::exponential(secs(30), 2, secs(600)),
            },
            WaitAndRetry,
            "Your WhatsApp account is under maintenance for a minute or so. DataOptix will try \
             again shortly.",
        ),

        // --- Rate limits ------------------------------------------------------------------
        130429 => (
            RateLimited {
                backoff: THROUGHPUT_BACKOFF,
            },
            WaitAndRetry,
            "You are sending messages faster than WhatsApp allows for your number. DataOptix \
             will slow down and send the rest automatically.",
        ),
        131056 => (
            RateLimited {
                backoff: PAIR_RATE_BACKOFF,
            },
            WaitAndRetry,
            "You sent many messages to this customer in a short time. WhatsApp asks you to wait \
             a little before the next one; DataOptix will send it automatically.",
        ),
        80007 => (
            hourly,
            WaitAndRetry,
            "Your WhatsApp account has made too many account or template requests this hour. \
             DataOptix will try again later.",
        ),
        4 | 17 | 613 => (
            hourly,
            WaitAndRetry,
            "DataOptix has made too many requests to WhatsApp for now. It will try again later.",
        ),
        132069 => (
            hourly,
            WaitAndRetry,
            "This WhatsApp Flow has been sent too often in the last hour. Try again later.",
        ),
        133008 | 133009 => (
            RateLimited {
                backoff: Backoff::exponential(secs(300), 2, secs(12 * 3600)),
            },
            WaitAndRetry,
            "Too many PIN attempts on this number. Wait before trying to register it again.",
        ),
        133016 => (
            RateLimited {
                backoff: Backoff::fixed(secs(72 * 3600)),
            },
            WaitAndRetry,
            "This number was registered or unregistered too many times recently (10 times in \
             3 days). Wait 72 hours before trying again.",
        ),
        133015 => (
            RateLimited {
                backoff: Backoff::fixed(secs(300)),
            },
            WaitAndRetry,
            "This number was deleted from WhatsApp a moment ago and the deletion is still \
             finishing. Wait about 5 minutes, then register it again.",
        ),

        // --- 24-hour window ---------------------------------------------------------------
        131047 => (
            NeedsTemplate,
            SendTemplate,
            "More than 24 hours have passed since this customer last wrote to you, so WhatsApp \
             only allows an approved template message. Choose a template to restart the \
             conversation.",
        ),

        // --- Recipient --------------------------------------------------------------------
        131026 => (
            Permanent,
            CheckRecipient,
            "This message could not be delivered. The number may not use WhatsApp, may not have \
             accepted WhatsApp's latest terms, or may use an outdated WhatsApp version.",
        ),
        131021 => (
            FixableByUser,
            CheckRecipient,
            "You tried to send a message to your own business number. Choose the customer's \
             number instead.",
        ),
        131030 => (
            FixableByUser,
            CheckRecipient,
            "This test number can only message the recipients added to its allowed list in \
             WhatsApp Manager. Add this number there first.",
        ),
        131049 => (
            Permanent,
            WaitAndRetry,
            "WhatsApp held back this marketing message because this customer has received \
             many marketing messages recently. Try again in a day or so, or send something \
             they asked for.",
        ),
        131050 => (
            Permanent,
            RespectOptOut,
            "This customer has chosen to stop receiving marketing messages from you on \
             WhatsApp. Don't send them marketing messages.",
        ),
        130403 => (
            Permanent,
            CheckRecipient,
            "You have blocked this customer on WhatsApp, so messages to them are not sent.",
        ),
        130472 => (
            Permanent,
            WaitAndRetry,
            "WhatsApp did not deliver this marketing message because the customer is part of a \
             WhatsApp experiment. Nothing is wrong with your message.",
        ),
        130497 => (
            Permanent,
            ReviewAccount,
            "Your WhatsApp account is not allowed to message customers in this country.",
        ),
        137000 => (
            Permanent,
            CheckRecipient,
            "This customer's WhatsApp security key changed, so the message was not sent. \
             Make sure you are writing to the right person.",
        ),

        // --- Message content, parameters, media -------------------------------------------
        100 | 131008 | 131009 => (
            FixableByUser,
            FixMessage,
            "WhatsApp rejected part of this message as missing or invalid. Check the text, \
             numbers and attachments, then send it again.",
        ),
        131051 => (
            FixableByUser,
            FixMessage,
            "WhatsApp does not support this kind of message. Send it as text, a photo or a \
             document instead.",
        ),
        131052 => (
            FixableByUser,
            AskCustomerToResend,
            "The customer's file could not be downloaded from WhatsApp. Ask them to send it again.",
        ),
        131053 => (
            FixableByUser,
            FixMedia,
            "WhatsApp could not accept this attachment: its file type or size is not supported \
             (photos: JPEG/PNG up to 5 MB; audio and video up to 16 MB; documents up to 100 MB). \
             Choose another file.",
        ),
        135000 => (
            Permanent,
            ContactSupport,
            "WhatsApp reported an unexpected problem with this request. If it happens again, \
             contact support.",
        ),

        // --- Templates --------------------------------------------------------------------
        132000 => (
            FixableByUser,
            FixTemplateParameters,
            "The number of values you filled in does not match the template's placeholders. \
             Fill in every placeholder of the template, and nothing more.",
        ),
        132001 => (
            FixableByUser,
            ChooseApprovedTemplate,
            "This template does not exist in the chosen language or is not approved yet. \
             Pick an approved template, or check its language.",
        ),
        132005 => (
            FixableByUser,
            FixTemplateParameters,
            "With the values you filled in, the template text becomes too long. Use shorter \
             values.",
        ),
        132007 => (
            FixableByUser,
            EditTemplate,
            "WhatsApp found that this template's content breaks its policies. Edit the \
             template's wording.",
        ),
        132012 => (
            FixableByUser,
            FixTemplateParameters,
            "A value filled into the template has the wrong format (for example text where a \
             date, amount or image is expected). Correct the values.",
        ),
        132018 => (
            FixableByUser,
            FixTemplateParameters,
            "A value filled into the template contains a line break, a tab or more than four \
             spaces in a row, which WhatsApp does not allow. Remove them and send again.",
        ),
        132015 => (
            FixableByUser,
            EditTemplate,
            "This template is paused because customers reacted badly to it. Edit it or use \
             another template for now.",
        ),
        132016 => (
            FixableByUser,
            CreateNewTemplate,
            "This template was paused too many times and is now permanently disabled. Create a \
             new template.",
        ),
        132068 => (
            Permanent,
            ReviewAccount,
            "This WhatsApp Flow is blocked and cannot be sent. Check it in WhatsApp Manager.",
        ),
        2388000..=2388999 => (
            FixableByUser,
            EditTemplate,
            "WhatsApp did not accept this template as written. Check its name, texts, \
             placeholders and buttons, then submit it again.",
        ),

        // --- Account, registration, payment -------------------------------------------------
        133010 => (
            FixableByUser,
            RegisterNumber,
            "This phone number is not registered with the WhatsApp Business Platform yet. \
             Register it to start messaging.",
        ),
        131045 => (
            FixableByUser,
            RegisterNumber,
            "This phone number's registration is incomplete. Register the number again.",
        ),
        133000 => (
            FixableByUser,
            RegisterNumber,
            "A previous attempt to remove this number from WhatsApp did not finish. Remove it \
             again, then register it.",
        ),
        133005 => (
            FixableByUser,
            CheckPin,
            "The two-step verification PIN is not correct. Enter the number's current 6-digit \
             PIN.",
        ),
        133006 => (
            FixableByUser,
            RegisterNumber,
            "This phone number has to be verified again (with a code by SMS or call) before it \
             can be registered.",
        ),
        133001..=133003 | 133007 | 133011..=133014 => (
            Permanent,
            ContactSupport,
            "WhatsApp could not register this phone number. Try connecting it again; if it \
             keeps failing, contact support.",
        ),
        131037 => (
            FixableByUser,
            ReviewAccount,
            "Your business display name has not been approved yet. Check it in WhatsApp \
             Manager.",
        ),
        131042 => (
            FixableByUser,
            CheckPayment,
            "There is a problem with the payment method of your WhatsApp account. Add or update \
             it in WhatsApp Manager, then send again.",
        ),
        368 => (
            Permanent,
            ReviewAccount,
            "Your WhatsApp account has been restricted for breaking WhatsApp's policies. See \
             the details and request a review in WhatsApp Manager.",
        ),
        131031 => (
            Permanent,
            ReviewAccount,
            "Your WhatsApp account is locked (for example after a policy problem or a wrong \
             PIN). Check its status in WhatsApp Manager.",
        ),
        131048 => (
            Permanent,
            ReviewAccount,
            "Messages from your number were blocked or reported too often, so WhatsApp is \
             limiting it. Slow down and check your number's quality in WhatsApp Manager.",
        ),
        131063 => (
            FixableByUser,
            ReviewAccount,
            "Marketing messages are turned off for this account on the Cloud API. Turn them \
             back on in WhatsApp Manager.",
        ),
        131064 => (
            Permanent,
            WaitAndRetry,
            "Your account's messaging limit was lowered because templates were used in the \
             wrong category. Wait until the restriction ends.",
        ),
        33 => (
            Permanent,
            Reconnect,
            "This business phone number was deleted from WhatsApp. Connect a number again.",
        ),
        803 => (
            FixableByUser,
            Reconnect,
            "DataOptix cannot find this WhatsApp account or number any more. Check the \
             connection in settings.",
        ),

        // --- Unknown codes ----------------------------------------------------------------
        _ if is_transient == Some(true) => (
            retry,
            WaitAndRetry,
            "WhatsApp reported a temporary problem. DataOptix will try again shortly.",
        ),
        _ => (
            Permanent,
            ContactSupport,
            "WhatsApp reported an error DataOptix does not recognise. If it happens again, \
             contact support with the error code.",
        ),
    };

    ErrorInfo {
        code,
        class,
        action,
        explanation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_parses_meta_example() {
        let body = r#"{"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
            "code": 130429, "error_data": {"messaging_product": "whatsapp",
            "details": "Cloud API message throughput has been reached."},
            "error_subcode": 2494055, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}"#;
        let env: ErrorEnvelope = serde_json::from_str(body).unwrap();
        assert_eq!(env.error.code, 130429);
        assert_eq!(
            env.error.details(),
            Some("Cloud API message throughput has been reached.")
        );
        assert!(matches!(env.error.class(), ErrorClass::RateLimited { .. }));
        let back = serde_json::to_value(&env).unwrap();
        let orig: Value = serde_json::from_str(body).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn backoff_saturates() {
        assert_eq!(PAIR_RATE_BACKOFF.delay(u32::MAX), secs(24 * 3600));
        assert_eq!(TRANSIENT_BACKOFF.delay(0), secs(2));
        assert_eq!(TRANSIENT_BACKOFF.delay(100), secs(300));
        assert_eq!(Backoff::fixed(secs(5)).delay(7), secs(5));
    }

    #[test]
    fn unknown_codes_use_transient_flag() {
        assert!(describe(999_999, Some(true)).class.is_retryable());
        assert_eq!(describe(999_999, None).class, ErrorClass::Permanent);
    }
}
