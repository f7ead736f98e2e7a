//! `/oauth/access_token` (the Embedded Signup code exchange, and app tokens), `/debug_token`
//! and `/me`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::error::{GraphError, GraphResult};
use crate::routes::{ok, select_fields, Ctx};

fn param(ctx: &Ctx, body: &Value, key: &str) -> Option<String> {
    body.get(key)
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| Some(v.to_string()))
        })
        .or_else(|| ctx.query.get(key).cloned())
}

fn code_error(subcode: i64, message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 100, message).subcode(subcode)
}

/// `GET|POST /oauth/access_token?client_id&client_secret&code`: one use, within
/// `signup.code_ttl_secs` of the code's creation, with this app's id and secret.
pub fn exchange(ctx: &Ctx, body: &Value) -> GraphResult<Response> {
    let cfg = ctx.state.cfg();
    let client_id = param(ctx, body, "client_id").unwrap_or_default();
    if client_id != cfg.app_id {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            101,
            "Error validating application. Invalid application ID.",
        ));
    }
    let secret = param(ctx, body, "client_secret").unwrap_or_default();
    if !constant_eq(secret.as_bytes(), cfg.app_secret.as_bytes()) {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            1,
            "Error validating client secret.",
        ));
    }
    if param(ctx, body, "grant_type").as_deref() == Some("client_credentials") {
        return Ok(ok(json!({
            "access_token": format!("{}|{}", cfg.app_id, cfg.app_secret),
            "token_type": "bearer",
        })));
    }
    let Some(code) = param(ctx, body, "code") else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            100,
            "Missing authorization code",
        ));
    };
    let now_ms = ctx.state.clock.now_ms();
    let ttl_ms = i64::try_from(cfg.signup.code_ttl_secs)
        .unwrap_or(30)
        .saturating_mul(1000);
    let mut world = ctx.state.world.lock();
    let Some(entry) = world.codes.get_mut(&code) else {
        return Err(code_error(36008, "Invalid verification code format."));
    };
    if entry.app_id != client_id {
        return Err(code_error(
            36008,
            "Invalid verification code: it was issued to another app.",
        ));
    }
    if entry.used {
        return Err(code_error(36009, "This authorization code has been used."));
    }
    if now_ms - entry.created_ms > ttl_ms {
        return Err(code_error(36007, "This authorization code has expired."));
    }
    entry.used = true;
    let waba_id = entry.waba_id.clone();
    let token = world.mint_token(vec![waba_id], "SYSTEM_USER", now_ms / 1000);
    Ok(ok(json!({"access_token": token, "token_type": "bearer"})))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /debug_token?input_token=...`, authenticated with the app token `APP_ID|APP_SECRET`
/// or any valid token.
pub fn debug_token(ctx: &Ctx) -> GraphResult<Response> {
    let cfg = ctx.state.cfg();
    let caller = ctx.raw_token().ok_or_else(GraphError::missing_token)?;
    let app_token = format!("{}|{}", cfg.app_id, cfg.app_secret);
    if !constant_eq(caller.as_bytes(), app_token.as_bytes()) {
        ctx.token()?;
    }
    let Some(input) = ctx.query.get("input_token") else {
        return Err(GraphError::invalid_parameter(
            "The parameter input_token is required",
        ));
    };
    let now = ctx.state.clock.now_secs();
    let world = ctx.state.world.lock();
    let Some(t) = world.tokens.get(input) else {
        return Ok(ok(json!({"data": {
            "is_valid": false,
            "error": {"code": 190, "message": "Invalid OAuth access token."},
            "scopes": [],
        }})));
    };
    let expired = t.expires_at != 0 && t.expires_at <= now;
    let mut data = json!({
        "app_id": cfg.app_id,
        "type": t.kind,
        "application": cfg.app_name,
        "data_access_expires_at": 0,
        "expires_at": t.expires_at,
        "is_valid": !t.revoked && !expired,
        "issued_at": t.issued_at,
        "scopes": ["business_management", "whatsapp_business_management", "whatsapp_business_messaging", "public_profile"],
        "granular_scopes": [
            {"scope": "business_management"},
            {"scope": "whatsapp_business_management", "target_ids": t.waba_ids},
            {"scope": "whatsapp_business_messaging", "target_ids": t.waba_ids},
        ],
        "user_id": t.user_id,
    });
    if t.revoked {
        data["error"] = json!({
            "code": 190,
            "subcode": 460,
            "message": "The session has been invalidated.",
        });
    }
    Ok(ok(json!({ "data": data })))
}

/// `GET /me[?fields=client_business_id]`.
pub fn me(ctx: &Ctx) -> GraphResult<Response> {
    let token = ctx.token()?;
    let world = ctx.state.world.lock();
    let business = token
        .waba_ids
        .first()
        .and_then(|w| world.wabas.get(w))
        .map(|w| w.business_id.clone())
        .unwrap_or_default();
    Ok(ok(select_fields(
        json!({
            "id": token.user_id,
            "name": "DataOptix System User",
            "client_business_id": business,
        }),
        ctx.query.get("fields").map(String::as_str),
        &["id", "name"],
    )))
}
