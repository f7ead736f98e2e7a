//! `GET /webhooks/meta`: the subscription handshake Meta runs when the callback URL is set.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cloud_api::signature::{verify_subscription, VerificationQuery};

use crate::AppState;

pub async fn handshake(
    State(state): State<AppState>,
    Query(query): Query<VerificationQuery>,
) -> Response {
    match verify_subscription(&query, state.config.meta_verify_token.expose()) {
        Some(challenge) => (StatusCode::OK, challenge.to_owned()).into_response(),
        None => {
            tracing::warn!("webhook verification refused");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}
