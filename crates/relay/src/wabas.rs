//! Linking WABAs to workspaces. This route trusts the claim (an owner or admin says the WABA is
//! theirs); Embedded Signup (`crate::onboarding`) verifies it against the Graph API and uses the
//! same store claim; manual setup will verify too.

use axum::extract::State;
use protocol::wabas::{ClaimWabaRequest, ClaimWabaResponse, WabaList};
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::{AppError, AppResult, Json};
use crate::AppState;

/// `POST /v1/wabas` (owner/admin): route this WABA's webhooks here and release what was held.
pub async fn claim(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<ClaimWabaRequest>,
) -> AppResult<Json<ClaimWabaResponse>> {
    auth.require_manager()?;
    let waba_id = req.waba_id.trim();
    if waba_id.is_empty() || waba_id.len() > 64 || !waba_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::BadRequest("waba_id must be a numeric id".into()));
    }
    let released = state
        .store
        .claim_waba(auth.workspace_id, waba_id, OffsetDateTime::now_utc())
        .await?;
    state.owners.clear();
    if released > 0 {
        state.notify_events(auth.workspace_id);
        // Their inbound media were queued with them.
        state.media_queue.wake();
    }
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
