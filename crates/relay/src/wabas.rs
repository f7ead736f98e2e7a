//! Linking WABAs to workspaces. A WABA's webhooks go to the workspace that owns it, so the relay
//! links one only when Meta backs the claim: Embedded Signup (`crate::onboarding`) gets a token
//! from the code exchange, manual setup (`POST /v1/wabas`) brings a system-user token; either
//! way [`token_grants_waba`] asks Meta's `debug_token` before the store's claim.

use axum::extract::State;
use cloud_api::client::CloudApiError;
use cloud_api::oauth::{AccessToken, AppSecret};
use protocol::wabas::{ClaimWabaRequest, ClaimWabaResponse, WabaList};
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::{AppError, AppResult, Json};
use crate::store::EncryptedBusinessToken;
use crate::AppState;

/// Why a grant could not be checked (as opposed to checked and refused).
#[derive(Debug, thiserror::Error)]
pub(crate) enum GrantCheckError {
    /// `debug_token` is asked with the app's own token, which needs the app id.
    #[error("the relay has no meta_app_id")]
    NoAppId,
    #[error(transparent)]
    Graph(#[from] CloudApiError),
}

/// Whether Meta says `token` is valid and grants `waba_id` (`debug_token`, asked with the app
/// token: its `granular_scopes` name the WABAs the token may manage).
pub(crate) async fn token_grants_waba(
    state: &AppState,
    token: &AccessToken,
    waba_id: &str,
) -> Result<bool, GrantCheckError> {
    let app_id = state
        .config
        .meta_app_id
        .as_deref()
        .ok_or(GrantCheckError::NoAppId)?;
    let secret = AppSecret::new(state.config.meta_app_secret.expose());
    let info = state
        .graph
        .with_token(AccessToken::app_token(app_id, &secret))
        .debug_token(token)
        .await?;
    Ok(info.is_valid && info.waba_ids().contains(&waba_id))
}

fn numeric(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_digit())
}

/// `POST /v1/wabas` (owner/admin): checks the claim with Meta, routes this WABA's webhooks here,
/// releases what was held for it, and keeps the token (encrypted) for its inbound media.
pub async fn claim(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<ClaimWabaRequest>,
) -> AppResult<Json<ClaimWabaResponse>> {
    auth.require_manager()?;
    let waba_id = req.waba_id.trim();
    if !numeric(waba_id) {
        return Err(AppError::BadRequest("waba_id must be a numeric id".into()));
    }
    let phone_number_id = req.phone_number_id.as_deref().map(str::trim);
    if phone_number_id.is_some_and(|id| !numeric(id)) {
        return Err(AppError::BadRequest(
            "phone_number_id must be a numeric id".into(),
        ));
    }
    let token = req.access_token.trim();
    if token.is_empty() {
        return Err(AppError::BadRequest(
            "access_token is required: the relay links a WhatsApp Business Account only when \
             Meta confirms that the token grants it"
                .into(),
        ));
    }
    let token = AccessToken::new(token);
    let unreachable = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, waba = waba_id, "claim: the Graph API check failed");
        AppError::BadGateway(
            "the relay could not check the token with Meta's Graph API; try again".into(),
        )
    };
    match token_grants_waba(&state, &token, waba_id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(workspace = %auth.workspace_id, waba = waba_id, "claim refused: not granted");
            return Err(AppError::Unprocessable(format!(
                "Meta says this access token is not valid or does not grant WhatsApp Business \
                 Account {waba_id}"
            )));
        }
        Err(GrantCheckError::NoAppId) => {
            return Err(AppError::Internal(GrantCheckError::NoAppId.into()))
        }
        Err(GrantCheckError::Graph(e)) => return Err(unreachable(&e)),
    }
    if let Some(phone_number_id) = phone_number_id {
        let numbers = state
            .graph
            .with_token(token.clone())
            .list_phone_numbers(waba_id, Some("id"))
            .await
            .map_err(|e| unreachable(&e))?;
        if !numbers.iter().any(|n| n.id == phone_number_id) {
            return Err(AppError::Unprocessable(format!(
                "phone number {phone_number_id} is not a number of WhatsApp Business Account \
                 {waba_id}"
            )));
        }
    }
    let now = OffsetDateTime::now_utc();
    let released = state
        .store
        .claim_waba(auth.workspace_id, waba_id, now)
        .await?;
    state.owners.clear();
    let encrypted = state
        .keys
        .encrypt_business_token(waba_id, token.expose())
        .map_err(|e| AppError::Internal(e.into()))?;
    state
        .store
        .put_business_token(
            auth.workspace_id,
            EncryptedBusinessToken {
                waba_id: waba_id.to_owned(),
                encrypted,
            },
            now,
        )
        .await?;
    if released > 0 {
        state.notify_events(auth.workspace_id);
    }
    // Media held with released entries, and any whose fetch waited for a token, can go now.
    state.media_queue.wake();
    tracing::info!(workspace = %auth.workspace_id, waba = waba_id, released, "WABA claimed");
    Ok(Json(ClaimWabaResponse {
        waba_id: waba_id.to_owned(),
        released_events: released,
    }))
}

/// `GET /v1/wabas`: the WABAs linked to the caller's workspace.
pub async fn list(State(state): State<AppState>, auth: Auth) -> AppResult<Json<WabaList>> {
    Ok(Json(WabaList {
        waba_ids: state.store.list_wabas(auth.workspace_id).await?,
    }))
}
