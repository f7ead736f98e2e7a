//! Embedded Signup onboarding (issue 3, "Onboarding").
//!
//! 1. A manager's device creates a session (`POST /v1/onboarding`): a random 256-bit id, valid
//!    30 minutes, bound to the workspace; only its SHA-256 is stored.
//! 2. The browser opens `GET /onboarding/{id}`: a page under a strict nonce CSP that loads the
//!    Facebook JS SDK (`sdk_url`), asks for the number's new 6-digit PIN, runs `FB.login` and
//!    listens for `WA_EMBEDDED_SIGNUP` message events.
//! 3. The page posts the code and the session info at once (`POST /onboarding/{id}/complete`;
//!    the code lives 30 s). The session is consumed (single use), then the relay exchanges the
//!    code, checks with `debug_token` that the WABA was granted, subscribes the app, registers
//!    the number, claims the WABA for the workspace (releasing held webhooks), keeps the
//!    business token AES-256-GCM-encrypted and seals it to the workspace key for the device.
//! 4. The device reads the outcome (`GET /v1/onboarding/{id}`) after the page redirected the
//!    browser to `dataoptix://onboarding/complete?session=<id>`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cloud_api::account::RegisterRequest;
use cloud_api::client::CloudApiError;
use cloud_api::error::ErrorClass;
use cloud_api::oauth::{AppSecret, CodeExchange};
use protocol::onboarding::{
    CompleteOnboarding, CompleteOnboardingResponse, OnboardingCreated, OnboardingError,
    OnboardingResult, OnboardingStatus,
};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::{AppError, AppResult, Json};
use crate::store::{EncryptedBusinessToken, StoreError};
use crate::AppState;

/// Meta's own SDK, used when `sdk_url` is not configured.
pub const DEFAULT_SDK_URL: &str = "https://connect.facebook.net/en_US/sdk.js";
/// Where the page sends the browser when done (the desktop app's URL scheme).
pub const REDIRECT_PREFIX: &str = "dataoptix://onboarding/complete?session=";

const PAGE_TEMPLATE: &str = include_str!("page.html");
const PAGE_SCRIPT: &str = include_str!("page.js");
const ERROR_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>DataOptix</title></head><body><h1>This onboarding link is not valid</h1>\
<p>It is unknown, expired or already used. Start again from the DataOptix app.</p>\
</body></html>\n";

/// How long after the page's report was taken a session may stay `in_progress` before the
/// relay reports it `interrupted`. The completion makes a handful of Graph calls (code
/// exchange, debug_token, subscribe, register, number) of at most 30 s each
/// (`cloud_api::client::ClientConfig::timeout`), so a live completion is over well within
/// this; a session older than it lost its completion (the relay stopped, or the request task
/// was dropped) and would otherwise read `in_progress` forever.
pub const INTERRUPTED_AFTER: time::Duration = time::Duration::minutes(10);

/// What the device is told about an interrupted session.
const INTERRUPTED_MESSAGE: &str = "The relay stopped before it finished connecting the \
number (for example it was restarted), so the outcome is unknown. Start \"Connect WhatsApp\" \
again.";

/// Session ids: 32 random bytes, base64url without padding.
const SESSION_ID_LEN: usize = 43;

fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn well_formed(id: &str) -> bool {
    id.len() == SESSION_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn hash_id(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn numeric_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `POST /v1/onboarding` (owner/admin): a new session and the page's URL.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
) -> AppResult<(StatusCode, Json<OnboardingCreated>)> {
    auth.require_manager()?;
    let origin = state.config.public_origin.as_deref().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "onboarding needs public_origin (DATAOPTIX_RELAY_PUBLIC_ORIGIN)"
        ))
    })?;
    if state.config.meta_app_id.is_none() || state.config.meta_config_id.is_none() {
        return Err(AppError::Internal(anyhow::anyhow!(
            "onboarding needs meta_app_id and meta_config_id"
        )));
    }
    let id = new_session_id();
    let now = OffsetDateTime::now_utc();
    let expires_at = now + state.config.onboarding_ttl;
    state
        .store
        .create_onboarding(
            hash_id(&id),
            auth.workspace_id,
            auth.user_id,
            now,
            expires_at,
        )
        .await?;
    tracing::info!(workspace = %auth.workspace_id, "onboarding session created");
    let url = format!("{}/onboarding/{id}", origin.trim_end_matches('/'));
    Ok((
        StatusCode::CREATED,
        Json(OnboardingCreated {
            session_id: id,
            url,
            expires_at,
        }),
    ))
}

/// `GET /v1/onboarding/{session_id}` (same workspace): the outcome.
pub async fn result(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<OnboardingResult>> {
    if !well_formed(&id) {
        return Err(AppError::NotFound);
    }
    let record = state
        .store
        .onboarding(hash_id(&id))
        .await?
        .filter(|r| r.workspace_id == auth.workspace_id)
        .ok_or(AppError::NotFound)?;
    if let Some(json) = &record.result {
        let result: OnboardingResult = serde_json::from_str(json)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored onboarding result: {e}")))?;
        return Ok(Json(result));
    }
    let now = OffsetDateTime::now_utc();
    let status = match record.status.as_str() {
        // Nothing will ever finish this one (see INTERRUPTED_AFTER): say so instead of
        // leaving the device waiting.
        "in_progress" if now - record.updated_at > INTERRUPTED_AFTER => {
            let mut r = OnboardingResult::pending(OnboardingStatus::Failed);
            r.error = Some(failure("interrupted", INTERRUPTED_MESSAGE));
            return Ok(Json(r));
        }
        "in_progress" => OnboardingStatus::InProgress,
        "pending" if record.expires_at <= now => {
            let mut r = OnboardingResult::pending(OnboardingStatus::Failed);
            r.error = Some(OnboardingError {
                code: "expired".into(),
                ..OnboardingError::default()
            });
            return Ok(Json(r));
        }
        _ => OnboardingStatus::Pending,
    };
    Ok(Json(OnboardingResult::pending(status)))
}

/// What the page needs, JSON-encoded into a `<script type="application/json">` block.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PageConfig<'a> {
    app_id: &'a str,
    graph_version: &'a str,
    config_id: &'a str,
    sdk_url: &'a str,
    sdk_origin: Option<String>,
    complete_url: String,
}

/// JSON safe inside an HTML `<script>` element: no `<`, `>`, `&` or line separators
/// survive literally, so nothing can close the element or start markup.
fn json_for_script<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string(value)?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        url::Origin::Tuple(..) => Some(parsed.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

fn html(status: StatusCode, body: String, csp: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The path carries the session id: never send it to Meta or anyone else as a referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

fn error_page() -> Response {
    html(
        StatusCode::NOT_FOUND,
        ERROR_PAGE.to_owned(),
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    )
}

/// `GET /onboarding/{session_id}` (public): the Embedded Signup page, or a plain error page
/// for an unknown, expired or used session (the path is never echoed).
pub async fn page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if !well_formed(&id) {
        return error_page();
    }
    let record = match state.store.onboarding(hash_id(&id)).await {
        Ok(Some(r)) => r,
        Ok(None) => return error_page(),
        Err(e) => return AppError::from(e).into_response(),
    };
    if record.status != "pending" || record.expires_at <= OffsetDateTime::now_utc() {
        return error_page();
    }
    let (Some(app_id), Some(config_id)) = (
        state.config.meta_app_id.as_deref(),
        state.config.meta_config_id.as_deref(),
    ) else {
        tracing::error!("onboarding page: meta_app_id or meta_config_id not configured");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let sdk_url = state.config.sdk_url.as_deref().unwrap_or(DEFAULT_SDK_URL);
    let sdk_origin = origin_of(sdk_url);
    let config = PageConfig {
        app_id,
        graph_version: &state.config.graph_version,
        config_id,
        sdk_url,
        sdk_origin: sdk_origin.clone(),
        complete_url: format!("/onboarding/{id}/complete"),
    };
    let config = match json_for_script(&config) {
        Ok(c) => c,
        Err(e) => return AppError::Internal(e.into()).into_response(),
    };
    let mut nonce = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce = STANDARD.encode(nonce);
    let sdk_source = sdk_origin.unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}' {sdk_source} https://connect.facebook.net; \
         style-src 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data: https://*.facebook.com https://*.fbcdn.net; \
         connect-src 'self' {sdk_source} https://*.facebook.com; \
         frame-src {sdk_source} https://*.facebook.com https://*.facebook.net; \
         form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    );
    // The config goes last: nothing in it is substituted again.
    let body = PAGE_TEMPLATE
        .replace("__NONCE__", &nonce)
        .replace("__SCRIPT__", PAGE_SCRIPT)
        .replace("__CONFIG__", &config);
    html(StatusCode::OK, body, &csp)
}

fn class_name(class: &ErrorClass) -> &'static str {
    match class {
        ErrorClass::Retryable { .. } => "retryable",
        ErrorClass::RateLimited { .. } => "rate_limited",
        ErrorClass::NeedsTemplate => "needs_template",
        ErrorClass::TokenInvalid => "token_invalid",
        ErrorClass::FixableByUser => "fixable_by_user",
        ErrorClass::Permanent => "permanent",
    }
}

/// A failed Graph call, as the device sees it.
fn graph_failure(step: &str, e: &CloudApiError) -> OnboardingError {
    let meta = e.meta();
    OnboardingError {
        code: step.to_owned(),
        step: None,
        meta_code: e.code().map(|c| c.to_string()),
        meta_subcode: meta.and_then(|m| m.error_subcode),
        class: Some(class_name(&e.class()).to_owned()),
        explanation: meta.map(|m| m.explanation().to_owned()),
        message: Some(meta.map_or_else(|| e.to_string(), |m| m.message.clone())),
    }
}

fn failure(code: &str, message: &str) -> OnboardingError {
    OnboardingError {
        code: code.to_owned(),
        message: Some(message.to_owned()),
        ..OnboardingError::default()
    }
}

/// `POST /onboarding/{session_id}/complete` (public; the session id is the credential).
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<CompleteOnboarding>,
) -> AppResult<Json<CompleteOnboardingResponse>> {
    if !well_formed(&id) {
        return Err(AppError::NotFound);
    }
    // Refuse what cannot work before consuming the session, so the page can be fixed.
    if let CompleteOnboarding::Finish {
        code,
        waba_id,
        phone_number_id,
        pin,
        ..
    } = &req
    {
        if code.is_empty() || code.len() > 4096 {
            return Err(AppError::BadRequest("code is missing".into()));
        }
        if !numeric_id(waba_id) || !numeric_id(phone_number_id) {
            return Err(AppError::BadRequest(
                "waba_id and phone_number_id must be numeric ids".into(),
            ));
        }
        if !RegisterRequest::new(pin.clone()).pin_is_valid() {
            return Err(AppError::BadRequest(
                "the PIN must be exactly 6 digits".into(),
            ));
        }
    }
    let id_hash = hash_id(&id);
    let now = OffsetDateTime::now_utc();
    let workspace = state
        .store
        .begin_onboarding(id_hash, now)
        .await?
        .ok_or(AppError::NotFound)?;

    let (status, result, token) = match req {
        CompleteOnboarding::Finish {
            code,
            waba_id,
            phone_number_id,
            pin,
            ..
        } => match finish(&state, workspace, &code, &waba_id, &phone_number_id, &pin).await {
            Ok((result, token)) => ("done", result, Some(token)),
            Err(error) => {
                tracing::warn!(
                    workspace = %workspace,
                    step = %error.code,
                    meta_code = ?error.meta_code,
                    "onboarding failed"
                );
                let mut r = OnboardingResult::pending(OnboardingStatus::Failed);
                r.waba_id = Some(waba_id);
                r.phone_number_id = Some(phone_number_id);
                r.error = Some(error);
                ("failed", r, None)
            }
        },
        CompleteOnboarding::Cancel {
            current_step,
            error_code,
            error_message,
        } => {
            let mut r = OnboardingResult::pending(OnboardingStatus::Cancelled);
            r.error = Some(OnboardingError {
                code: if error_code.is_some() {
                    "signup_error".into()
                } else {
                    "cancelled".into()
                },
                step: current_step.map(|s| truncate(&s, 128)),
                meta_code: error_code.map(|s| truncate(&s, 64)),
                message: error_message.map(|s| truncate(&s, 1024)),
                ..OnboardingError::default()
            });
            tracing::info!(workspace = %workspace, "onboarding cancelled");
            ("cancelled", r, None)
        }
        CompleteOnboarding::Error {
            error_code,
            error_message,
        } => {
            let mut r = OnboardingResult::pending(OnboardingStatus::Failed);
            r.error = Some(OnboardingError {
                code: "signup_error".into(),
                meta_code: error_code.map(|s| truncate(&s, 64)),
                message: error_message.map(|s| truncate(&s, 1024)),
                ..OnboardingError::default()
            });
            ("failed", r, None)
        }
    };
    let json = serde_json::to_string(&result).map_err(|e| AppError::Internal(e.into()))?;
    state
        .store
        .finish_onboarding(id_hash, status, &json, token, OffsetDateTime::now_utc())
        .await?;
    // Media of entries released by the claim (or racing it) can be fetched now: the token is in.
    state.media_queue.wake();
    Ok(Json(CompleteOnboardingResponse {
        redirect: format!("{REDIRECT_PREFIX}{id}"),
    }))
}

fn taken() -> OnboardingError {
    failure(
        "waba_taken",
        "this WhatsApp Business Account is linked to another workspace",
    )
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The Graph calls and the claim. On success: the result for the device and the business
/// token encrypted for the relay.
async fn finish(
    state: &AppState,
    workspace: Uuid,
    code: &str,
    waba_id: &str,
    phone_number_id: &str,
    pin: &str,
) -> Result<(OnboardingResult, EncryptedBusinessToken), OnboardingError> {
    let app_id = state
        .config
        .meta_app_id
        .clone()
        .ok_or_else(|| failure("internal", "the relay has no meta_app_id"))?;
    let secret = AppSecret::new(state.config.meta_app_secret.expose());
    let graph = &state.graph;
    // Refuse another workspace's WABA before touching Meta (the claim below checks again).
    let owners = state
        .store
        .waba_owners(&[waba_id.to_owned()])
        .await
        .map_err(|_| failure("internal", "the relay could not check the account"))?;
    if owners.iter().any(|(_, ws)| ws.id != workspace) {
        return Err(taken());
    }

    let exchanged = graph
        .exchange_code(&CodeExchange::new(app_id.clone(), secret.clone(), code))
        .await
        .map_err(|e| graph_failure("exchange_code", &e))?;
    let token = exchanged.access_token;

    let granted = crate::wabas::token_grants_waba(state, &token, waba_id)
        .await
        .map_err(|e| match e {
            crate::wabas::GrantCheckError::Graph(e) => graph_failure("debug_token", &e),
            crate::wabas::GrantCheckError::NoAppId => {
                failure("internal", "the relay has no meta_app_id")
            }
        })?;
    if !granted {
        return Err(failure(
            "waba_not_granted",
            "the business token does not grant this WhatsApp Business Account",
        ));
    }

    let business = graph.with_token(token.clone());
    business
        .subscribe_app(waba_id, None)
        .await
        .map_err(|e| graph_failure("subscribe_app", &e))?;
    business
        .register(phone_number_id, &RegisterRequest::new(pin))
        .await
        .map_err(|e| graph_failure("register", &e))?;
    // Best effort: the display number only decorates the result.
    let display_phone_number = business
        .phone_number(phone_number_id, Some("display_phone_number"))
        .await
        .ok()
        .and_then(|n| n.display_phone_number);

    let released = match state
        .store
        .claim_waba(workspace, waba_id, OffsetDateTime::now_utc())
        .await
    {
        Ok(n) => {
            state.owners.clear();
            n
        }
        Err(StoreError::WabaTaken) => return Err(taken()),
        Err(e) => {
            tracing::error!(error = %e, "onboarding: claiming the WABA failed");
            return Err(failure("internal", "the relay could not link the account"));
        }
    };
    if released > 0 {
        state.notify_events(workspace);
    }

    let internal = |what: &str| {
        tracing::error!(what, "onboarding: sealing the token failed");
        failure("internal", "the relay could not store the token")
    };
    let ws = state
        .store
        .workspace(workspace)
        .await
        .map_err(|_| internal("workspace"))?
        .ok_or_else(|| internal("workspace"))?;
    let sealed =
        protocol::seal(&ws.public_key, token.expose().as_bytes()).map_err(|_| internal("seal"))?;
    let encrypted = state
        .keys
        .encrypt_business_token(waba_id, token.expose())
        .map_err(|_| internal("encrypt"))?;
    tracing::info!(workspace = %workspace, waba = waba_id, released, "onboarding done");
    Ok((
        OnboardingResult {
            status: OnboardingStatus::Done,
            waba_id: Some(waba_id.to_owned()),
            phone_number_id: Some(phone_number_id.to_owned()),
            display_phone_number,
            sealed_token: Some(protocol::sealed::to_base64(&sealed)),
            error: None,
        },
        EncryptedBusinessToken {
            waba_id: waba_id.to_owned(),
            encrypted,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_element() {
        let s = json_for_script(&serde_json::json!({"a": "</script><b>&\u{2028}"})).unwrap();
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["a"], "</script><b>&\u{2028}");
    }

    #[test]
    fn session_ids_are_well_formed_and_distinct() {
        let a = new_session_id();
        assert!(well_formed(&a));
        assert_ne!(a, new_session_id());
        assert!(!well_formed("<script>alert(1)</script>"));
        assert!(!well_formed(&format!("{}=", &a[..42])));
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("http://127.0.0.1:4000/sdk.js?mode=finish").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(origin_of("not a url"), None);
    }
}
