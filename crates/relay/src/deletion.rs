//! Meta's data-deletion callback: when a person removes the app from their Facebook settings
//! and asks for their data to be deleted, Meta POSTs a `signed_request` (form field):
//! `base64url(HMAC-SHA256(payload_part, app secret)) "." base64url(JSON payload)`, the HMAC
//! computed over the payload part as sent (still encoded). We verify it in constant time,
//! delete what we hold for that app-scoped user id, and answer `{url, confirmation_code}`;
//! the URL shows the request's status to the person.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{AppError, AppResult, Json};
use crate::store::DeletionRecord;
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct DeletionForm {
    signed_request: String,
}

/// The verified payload (fields we use; Meta sends more).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignedRequest {
    pub algorithm: String,
    pub user_id: String,
    #[serde(default)]
    pub issued_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signed_request is malformed or its signature is wrong")]
pub struct Forged;

fn b64url(s: &str) -> Result<Vec<u8>, Forged> {
    // Meta's padding varies between callbacks: accept both forms.
    if s.ends_with('=') {
        URL_SAFE.decode(s).map_err(|_| Forged)
    } else {
        URL_SAFE_NO_PAD.decode(s).map_err(|_| Forged)
    }
}

/// Verifies and decodes a `signed_request`.
pub fn parse_signed_request(signed: &str, app_secret: &[u8]) -> Result<SignedRequest, Forged> {
    let (sig, payload) = signed.trim().split_once('.').ok_or(Forged)?;
    let sig = b64url(sig)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).map_err(|_| Forged)?;
    mac.update(payload.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&sig).map_err(|_| Forged)?;
    let data: SignedRequest = serde_json::from_slice(&b64url(payload)?).map_err(|_| Forged)?;
    if !data.algorithm.eq_ignore_ascii_case("HMAC-SHA256") {
        return Err(Forged);
    }
    Ok(data)
}

/// Builds a `signed_request` the way Meta does (tests and the simulator side).
pub fn sign_request(payload_json: &[u8], app_secret: &[u8]) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload_json);
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; unreachable, and a wrong signature is harmless.
        Err(_) => return String::new(),
    };
    mac.update(payload.as_bytes());
    format!(
        "{}.{payload}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[derive(Debug, Serialize)]
pub struct DeletionAnswer {
    pub url: String,
    pub confirmation_code: String,
}

/// `POST /meta/data-deletion` (form: `signed_request`).
pub async fn callback(
    State(state): State<AppState>,
    Form(form): Form<DeletionForm>,
) -> AppResult<Json<DeletionAnswer>> {
    let request = parse_signed_request(
        &form.signed_request,
        state.config.meta_app_secret.expose().as_bytes(),
    )
    .map_err(|_| {
        tracing::warn!("forged data-deletion request refused");
        AppError::Forbidden
    })?;
    let mut code = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut code);
    let code = hex::encode(code);
    let user_hash: [u8; 32] = Sha256::digest(request.user_id.as_bytes()).into();
    // The relay keeps nothing keyed by a Meta user id yet (accounts are by email; Embedded
    // Signup will link them): the request is recorded and completed at once. When onboarding
    // stores Meta user ids, their data is deleted here, in the same transaction.
    let detail = "DataOptix's relay holds no data linked to this Facebook account.";
    state
        .store
        .record_deletion(&code, user_hash, OffsetDateTime::now_utc(), detail)
        .await?;
    tracing::info!(confirmation_code = %code, "data-deletion request completed");
    let origin = state
        .config
        .public_origin
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.listen));
    Ok(Json(DeletionAnswer {
        url: format!("{}/meta/data-deletion/{code}", origin.trim_end_matches('/')),
        confirmation_code: code,
    }))
}

#[derive(Debug, Serialize)]
pub struct DeletionStatus {
    pub confirmation_code: String,
    pub status: String,
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

/// `GET /meta/data-deletion/{code}`: the status page the person is sent to (public: the code
/// is the secret, 96 random bits).
pub async fn status(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> AppResult<(StatusCode, Json<DeletionStatus>)> {
    let DeletionRecord {
        status,
        detail,
        requested_at,
        completed_at,
    } = state
        .store
        .deletion(&code)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        StatusCode::OK,
        Json(DeletionStatus {
            confirmation_code: code,
            status,
            detail,
            requested_at,
            completed_at,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &[u8] =
        br#"{"algorithm":"HMAC-SHA256","expires":1291840400,"issued_at":1291836800,"user_id":"218471"}"#;

    #[test]
    fn valid_requests_parse_and_forgeries_do_not() {
        let signed = sign_request(PAYLOAD, b"secret");
        let parsed = parse_signed_request(&signed, b"secret").unwrap();
        assert_eq!(parsed.user_id, "218471");
        assert_eq!(parsed.issued_at, Some(1291836800));
        // Padded base64 (as Meta sometimes sends) is accepted too.
        let (sig, payload) = signed.split_once('.').unwrap();
        let padded = format!("{sig}=.{payload}");
        assert_eq!(sig.len() % 4, 3, "a 32-byte MAC is 43 characters unpadded");
        assert!(parse_signed_request(&padded, b"secret").is_ok());

        assert_eq!(parse_signed_request(&signed, b"other"), Err(Forged));
        let tampered = format!(
            "{sig}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"algorithm":"HMAC-SHA256","user_id":"999"}"#)
        );
        assert_eq!(parse_signed_request(&tampered, b"secret"), Err(Forged));
        assert_eq!(parse_signed_request("nodot", b"secret"), Err(Forged));
        assert_eq!(parse_signed_request("a.b", b"secret"), Err(Forged));
        let other_alg = sign_request(br#"{"algorithm":"none","user_id":"1"}"#, b"secret");
        assert_eq!(parse_signed_request(&other_alg, b"secret"), Err(Forged));
    }
}
