//! Meta's Graph error envelope (CLOUD-API-NOTES §7.1) and the errors the simulator produces.
//!
//! HTTP statuses follow the official spec's shared responses: token errors 401, permission
//! errors 403, rate limits 429, server errors 500, everything else 400.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cloud_api::error::{ErrorData, ErrorEnvelope, MetaError};
use cloud_api::webhook::{ErrorData as WebhookErrorData, WebhookError};
use serde_json::{json, Map, Value};

use crate::ids;

/// One Graph API error, rendered as `{"error": {...}}`.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub kind: &'static str,
    pub details: Option<Box<str>>,
    pub is_transient: Option<bool>,
    /// `error_user_title` and `error_user_msg`.
    pub user: Option<Box<(String, String)>>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            subcode: None,
            message: message.into(),
            kind: "OAuthException",
            details: None,
            is_transient: None,
            user: None,
        }
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into().into_boxed_str());
        self
    }

    pub fn subcode(mut self, subcode: i64) -> Self {
        self.subcode = Some(subcode);
        self
    }

    pub fn transient(mut self) -> Self {
        self.is_transient = Some(true);
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn user(mut self, title: impl Into<String>, msg: impl Into<String>) -> Self {
        self.user = Some(Box::new((title.into(), msg.into())));
        self
    }

    /// The `{"error": {...}}` body: cloud-api's [`ErrorEnvelope`], so the simulator answers
    /// exactly the shape the client parses.
    pub fn body(&self) -> Value {
        let error = MetaError {
            message: self.message.clone(),
            kind: Some(self.kind.to_owned()),
            code: self.code,
            error_subcode: self.subcode,
            error_data: self.details.as_ref().map(|details| ErrorData {
                messaging_product: Some("whatsapp".to_owned()),
                details: Some(details.to_string()),
                extra: Map::new(),
            }),
            error_user_title: self.user.as_ref().map(|u| u.0.clone()),
            error_user_msg: self.user.as_ref().map(|u| u.1.clone()),
            is_transient: self.is_transient,
            fbtrace_id: Some(ids::fbtrace_id()),
            extra: Map::new(),
        };
        serde_json::to_value(ErrorEnvelope { error }).unwrap_or_else(|_| json!({}))
    }

    /// The same error as Meta puts it in a webhook (`statuses[].errors[]`): cloud-api's
    /// [`WebhookError`].
    pub fn webhook_error(&self) -> Value {
        let title = self
            .message
            .split_once(") ")
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| self.message.clone());
        let error = WebhookError {
            code: self.code,
            title: Some(title.clone()),
            message: Some(title),
            error_data: self.details.as_ref().map(|details| WebhookErrorData {
                details: Some(details.to_string()),
                extra: Map::new(),
            }),
            href: Some(
                "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
                    .to_owned(),
            ),
            extra: Map::new(),
        };
        serde_json::to_value(error).unwrap_or_else(|_| json!({}))
    }

    // ---- Tokens and permissions -------------------------------------------------------------

    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            104,
            "An access token is required to request this resource.",
        )
    }

    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        )
    }

    pub fn revoked_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
        )
        .subcode(460)
    }

    pub fn expired_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: Session has expired.",
        )
        .subcode(463)
    }

    /// Meta's answer for an id that does not exist *or* the token may not see.
    pub fn unknown_object(method: &str, id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            100,
            format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        )
        .subcode(33)
        .kind("GraphMethodException")
    }

    pub fn unknown_path(path: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2500,
            format!("Unknown path components: /{path}"),
        )
    }

    pub fn permission(details: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, 200, "(#200) Permissions error").details(details)
    }

    // ---- Request validation -----------------------------------------------------------------

    pub fn invalid_parameter(details: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 100, "(#100) Invalid parameter").details(details)
    }

    pub fn required_parameter(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131008,
            "(#131008) Required parameter is missing",
        )
        .details(details)
    }

    pub fn invalid_value(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131009,
            "(#131009) Parameter value is not valid",
        )
        .details(details)
    }

    // ---- Messaging rules --------------------------------------------------------------------

    pub fn throughput() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            130429,
            "(#130429) Rate limit hit",
        )
        .details("Cloud API message throughput has been reached.")
        .subcode(2494055)
        .transient()
    }

    pub fn pair_rate() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            131056,
            "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        )
        .details("Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.")
        .transient()
    }

    pub fn management_rate(waba_id: &str) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            80007,
            "(#80007) The WhatsApp Business Account has reached its rate limit.",
        )
        .details(format!(
            "WhatsApp Business Account {waba_id} exceeded its hourly limit of management API calls."
        ))
        .transient()
    }

    pub fn re_engagement() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131047,
            "(#131047) Re-engagement message",
        )
        .details("Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
    }

    pub fn undeliverable() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131026,
            "(#131026) Message undeliverable",
        )
        .details("Message Undeliverable.")
    }

    pub fn marketing_opt_out() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131050,
            "(#131050) Unable to deliver the marketing message",
        )
        .details("The user has stopped marketing messages from this business.")
    }

    pub fn template_params(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
        )
        .details(details)
    }

    pub fn template_missing(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            132001,
            "(#132001) Template name does not exist in the translation",
        )
        .details(details)
    }

    pub fn template_format(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            132012,
            "(#132012) Parameter format does not match format in the created template",
        )
        .details(details)
    }

    /// A text parameter with a new line, a tab or more than four consecutive spaces.
    pub fn template_param_text(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            132018,
            "(#132018) There was an issue with the parameters in your template.",
        )
        .details(details)
    }

    pub fn template_paused(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            132015,
            "(#132015) Template is Paused",
        )
        .details(format!("Template {name} is paused due to low quality."))
    }

    pub fn template_disabled(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            132016,
            "(#132016) Template is Disabled",
        )
        .details(format!("Template {name} has been permanently disabled."))
    }

    pub fn media(details: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            131053,
            "(#131053) Media upload error",
        )
        .details(details)
    }

    pub fn not_registered() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            133010,
            "(#133010) Account not registered",
        )
        .details("Phone number not registered on the WhatsApp Business Platform.")
    }

    pub fn pin_mismatch() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            133005,
            "(#133005) Two step verification PIN Mismatch",
        )
        .details("The two-step verification PIN is incorrect.")
    }

    pub fn register_limit() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            133016,
            "(#133016) Account register deregister rate limit exceeded",
        )
        .details("Too many register/deregister attempts for this number in 72 hours.")
    }

    pub fn template_in_review() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            2388039,
            "Message template status can't be changed",
        )
        .user(
            "Message template status can't be changed",
            "The template is still in review and can't be edited.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            1,
            "An unknown error occurred",
        )
        .transient()
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body())).into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(
            "OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token\"",
        ) {
            if self.status == StatusCode::UNAUTHORIZED {
                resp.headers_mut().insert("www-authenticate", v);
            }
        }
        resp
    }
}

pub type GraphResult<T> = Result<T, GraphError>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloud_api::error::{classify, ErrorClass};

    fn every_error() -> Vec<GraphError> {
        vec![
            GraphError::missing_token(),
            GraphError::invalid_token(),
            GraphError::revoked_token(),
            GraphError::expired_token(),
            GraphError::unknown_object("GET", "1"),
            GraphError::permission("no"),
            GraphError::invalid_parameter("x"),
            GraphError::required_parameter("x"),
            GraphError::invalid_value("x"),
            GraphError::throughput(),
            GraphError::pair_rate(),
            GraphError::management_rate("1"),
            GraphError::re_engagement(),
            GraphError::undeliverable(),
            GraphError::marketing_opt_out(),
            GraphError::template_params("x"),
            GraphError::template_missing("x"),
            GraphError::template_format("x"),
            GraphError::template_param_text("x"),
            GraphError::template_paused("t"),
            GraphError::template_disabled("t"),
            GraphError::media("x"),
            GraphError::not_registered(),
            GraphError::pin_mismatch(),
            GraphError::register_limit(),
            GraphError::template_in_review(),
            GraphError::internal(),
        ]
    }

    #[test]
    fn bodies_are_cloud_api_envelopes_and_classified() {
        let unknown = classify(999_999_999).explanation;
        for e in every_error() {
            let body = e.body();
            let env: ErrorEnvelope = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(env.error.code, e.code);
            assert_eq!(env.error.error_subcode, e.subcode);
            assert_eq!(env.error.details(), e.details.as_deref());
            assert_eq!(serde_json::to_value(&env).unwrap(), body);
            assert_ne!(
                env.error.explanation(),
                unknown,
                "code {} is unclassified",
                e.code
            );
        }
        let pair = GraphError::pair_rate().body();
        let env: ErrorEnvelope = serde_json::from_value(pair).unwrap();
        assert!(matches!(env.error.class(), ErrorClass::RateLimited { .. }));
        let review: ErrorEnvelope =
            serde_json::from_value(GraphError::template_in_review().body()).unwrap();
        assert!(review.error.error_user_msg.is_some());
    }

    #[test]
    fn webhook_errors_are_cloud_api_webhook_errors() {
        let e = GraphError::re_engagement().webhook_error();
        let typed: WebhookError = serde_json::from_value(e.clone()).unwrap();
        assert_eq!(typed.code, 131047);
        assert_eq!(typed.title.as_deref(), Some("Re-engagement message"));
        assert!(typed.details().is_some_and(|d| d.contains("24 hours")));
        assert_eq!(serde_json::to_value(&typed).unwrap(), e);
    }
}
