//! The control API under `/_sim/` that tests and demo scripts use to play the other side:
//! WhatsApp users, Meta's reviewers and Meta's account machinery. Documented in the README.
//! It needs no token (it is not part of Meta's API).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::assets;
use crate::config::SimConfig;
use crate::error::GraphError;
use crate::inbound;
use crate::personas;
use crate::review;
use crate::signup;
use crate::state::{normalize_wa_id, AppState};
use crate::webhooks::{self, messages_value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"ok": true})) }))
        .route("/info", get(info))
        .route("/state", get(world_state))
        .route("/inbound", post(send_inbound).get(list_inbound))
        .route("/sent", get(list_sent))
        .route("/read_marks", get(read_marks))
        .route("/messages/{wamid}/status", post(message_status))
        .route("/users/{wa_id}", post(update_user).get(get_user))
        .route("/users/{wa_id}/preferences", post(user_preferences))
        .route("/templates/{id}/status", post(template_status))
        .route("/templates/{id}/quality", post(template_quality))
        .route("/templates/{id}/category", post(template_category))
        .route("/events/{field}", post(event))
        .route("/tokens", post(mint_token))
        .route("/tokens/revoke", post(revoke_token))
        .route("/provision", post(provision))
        .route("/signup/session", post(signup::session))
        .route("/signup/code", post(signup::session))
        .route("/webhooks", get(deliveries))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance_clock))
        .route("/settings", get(get_settings).post(update_settings))
        .route("/personas", get(list_personas))
        .route("/personas/{key}/start", post(start_persona))
        .route("/assets/{key}", get(asset))
}

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg.into()}))).into_response()
}

fn not_found(msg: impl Into<String>) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": msg.into()}))).into_response()
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The line printed at start-up (and `GET /_sim/info`).
pub fn startup_info_typed(state: &AppState) -> crate::StartupInfo {
    let cfg = state.cfg();
    let world = state.world.lock();
    let phone = world.phones.get(&world.default_phone);
    crate::StartupInfo {
        listen: state
            .base_url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string(),
        base_url: state.base_url.clone(),
        graph_version: cloud_api::DEFAULT_GRAPH_VERSION.to_string(),
        app_id: cfg.app_id.clone(),
        business_id: world
            .wabas
            .get(&world.default_waba)
            .map(|w| w.business_id.clone())
            .unwrap_or_default(),
        waba_id: world.default_waba.clone(),
        phone_number_id: world.default_phone.clone(),
        display_phone_number: phone
            .map(|p| p.display_phone_number.clone())
            .unwrap_or_default(),
        verified_name: phone.map(|p| p.verified_name.clone()).unwrap_or_default(),
        access_token: world.default_token.clone(),
        webhook_url: cfg.webhook_url.clone(),
        sdk_url: format!("{}{}", state.base_url, cfg.signup.sdk_path),
        control_url: format!("{}/_sim", state.base_url),
    }
}

async fn info(State(state): State<AppState>) -> Json<crate::StartupInfo> {
    Json(startup_info_typed(&state))
}

async fn world_state(State(state): State<AppState>) -> Json<Value> {
    let w = state.world.lock();
    let templates: Vec<Value> = w
        .templates
        .values()
        .map(|t| {
            json!({"id": t.id, "waba_id": t.waba_id, "name": t.name, "language": t.language,
                   "status": t.status, "category": t.category, "quality_score": t.quality_score,
                   "rejected_reason": t.rejected_reason})
        })
        .collect();
    let media: Vec<Value> = w
        .media
        .values()
        .map(|m| json!({"id": m.id, "waba_id": m.waba_id, "mime_type": m.mime_type, "file_size": m.bytes.len()}))
        .collect();
    Json(json!({
        "businesses": w.businesses.values().collect::<Vec<_>>(),
        "wabas": w.wabas.values().collect::<Vec<_>>(),
        "phones": w.phones.values().collect::<Vec<_>>(),
        "tokens": w.tokens.values().collect::<Vec<_>>(),
        "templates": templates,
        "users": w.users.values().collect::<Vec<_>>(),
        "media": media,
    }))
}

/// `POST /_sim/inbound`: `{from, phone_number_id?, name?, type, <type>?: {...}, context?}`.
async fn send_inbound(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let Some(from) = s(&body, "from") else {
        return bad("'from' (the user's phone number) is required");
    };
    let phone = s(&body, "phone_number_id")
        .map(str::to_string)
        .unwrap_or_else(|| state.world.lock().default_phone.clone());
    match inbound::deliver(&state, &phone, from, s(&body, "name"), &body) {
        Ok(d) => Json(json!(d)).into_response(),
        Err(e) => bad(e),
    }
}

async fn list_inbound(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"data": state.world.lock().inbound}))
}

/// `GET /_sim/sent[?phone_number_id=&to=&type=]`: what the business sent.
async fn list_sent(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let to = q.get("to").map(|t| normalize_wa_id(t));
    let w = state.world.lock();
    let data: Vec<_> = w
        .sent
        .iter()
        .filter(|m| {
            q.get("phone_number_id")
                .is_none_or(|p| &m.phone_number_id == p)
        })
        .filter(|m| to.as_ref().is_none_or(|t| &m.wa_id == t))
        .filter(|m| q.get("type").is_none_or(|t| &m.msg_type == t))
        .collect();
    Json(json!({ "data": data }))
}

async fn read_marks(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"data": state.world.lock().read_marks}))
}

/// `POST /_sim/messages/{wamid}/status`: `{status, error_code?}` — an extra status webhook for
/// a sent message (e.g. a late `failed`).
async fn message_status(
    State(state): State<AppState>,
    Path(wamid): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(status) = s(&body, "status") else {
        return bad("'status' is required");
    };
    let found = {
        let mut w = state.world.lock();
        let msg = w.sent.iter_mut().rev().find(|m| m.id == wamid).map(|m| {
            m.statuses.push(status.to_string());
            (m.phone_number_id.clone(), m.wa_id.clone())
        });
        msg.and_then(|(pid, wa)| {
            w.phones
                .get(&pid)
                .map(|p| (pid, wa, p.waba_id.clone(), p.display_phone_number.clone()))
        })
    };
    let Some((phone_id, wa_id, waba_id, display)) = found else {
        return not_found(format!("no sent message {wamid}"));
    };
    let mut st = json!({
        "id": wamid,
        "status": status,
        "timestamp": state.clock.now_secs().to_string(),
        "recipient_id": wa_id,
    });
    if let Some(code) = body.get("error_code").and_then(Value::as_i64) {
        let e = GraphError::new(
            StatusCode::BAD_REQUEST,
            code,
            format!(
                "(#{code}) {}",
                s(&body, "error_title").unwrap_or("Message failed")
            ),
        )
        .details(
            s(&body, "error_details")
                .unwrap_or("Simulated failure.")
                .to_string(),
        );
        st["errors"] = json!([e.webhook_error()]);
    }
    let value = messages_value(&display, &phone_id, None, "statuses", json!([st]));
    let id = webhooks::emit(&state, &waba_id, Some(&phone_id), "messages", value);
    Json(json!({"delivery_id": id})).into_response()
}

async fn get_user(State(state): State<AppState>, Path(wa_id): Path<String>) -> Response {
    let wa_id = normalize_wa_id(&wa_id);
    match state.world.lock().users.get(&wa_id) {
        Some(u) => Json(json!(u)).into_response(),
        None => not_found(format!("no user {wa_id}")),
    }
}

/// `POST /_sim/users/{wa_id}`: `{name?, undeliverable?, hide_phone?}`.
async fn update_user(
    State(state): State<AppState>,
    Path(wa_id): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let wa_id = normalize_wa_id(&wa_id);
    let mut w = state.world.lock();
    let u = w.user_mut(&wa_id);
    if let Some(n) = s(&body, "name") {
        u.name = n.into();
    }
    if let Some(b) = body.get("undeliverable").and_then(Value::as_bool) {
        u.undeliverable = b;
    }
    if let Some(b) = body.get("unregistered").and_then(Value::as_bool) {
        u.undeliverable = b;
    }
    if let Some(b) = body.get("hide_phone").and_then(Value::as_bool) {
        u.hide_phone = b;
    }
    Json(json!(u))
}

/// `POST /_sim/users/{wa_id}/preferences`: `{value: "stop"|"resume", phone_number_id?}` —
/// the user opts out of (or back into) marketing; sends `user_preferences`.
async fn user_preferences(
    State(state): State<AppState>,
    Path(wa_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let wa_id = normalize_wa_id(&wa_id);
    let value = s(&body, "value").unwrap_or("stop").to_ascii_lowercase();
    if value != "stop" && value != "resume" {
        return bad("value must be 'stop' or 'resume'");
    }
    let phone_id = s(&body, "phone_number_id")
        .map(str::to_string)
        .unwrap_or_else(|| state.world.lock().default_phone.clone());
    let now = state.clock.now_secs();
    let (waba_id, display, name, user_id) = {
        let mut w = state.world.lock();
        let Some(p) = w.phones.get(&phone_id).cloned() else {
            return not_found(format!("no phone {phone_id}"));
        };
        let u = w.user_mut(&wa_id);
        u.marketing_stopped = value == "stop";
        (
            p.waba_id,
            p.display_phone_number,
            u.name.clone(),
            u.user_id.clone(),
        )
    };
    let v = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": phone_id},
        "contacts": [{"wa_id": wa_id, "user_id": user_id, "profile": {"name": name}}],
        "user_preferences": [{
            "wa_id": wa_id,
            "detail": if value == "stop" { "User requested to stop marketing messages" } else { "User requested to resume marketing messages" },
            "category": "marketing_messages",
            "value": value,
            "timestamp": now,
        }],
    });
    let id = webhooks::emit(&state, &waba_id, Some(&phone_id), "user_preferences", v);
    Json(json!({"delivery_id": id})).into_response()
}

/// `POST /_sim/templates/{id}/status`: `{status, reason?, rejection_info?}` — Meta's reviewer.
async fn template_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(status) = s(&body, "status").map(str::to_ascii_uppercase) else {
        return bad("'status' is required (APPROVED, REJECTED, PAUSED, DISABLED, ...)");
    };
    let reason = s(&body, "reason").map(str::to_string).unwrap_or_else(|| {
        if status == "REJECTED" {
            "INVALID_FORMAT".into()
        } else {
            "NONE".into()
        }
    });
    let info = body.get("rejection_info").cloned().or_else(|| {
        (status == "REJECTED" && reason == "INVALID_FORMAT").then(|| {
            json!({"reason": "Rejected by the simulator's control API.",
                   "recommendation": "Edit the template and submit it again."})
        })
    });
    let Some(t) = review::set_status(&state, &id, &status, &reason, info) else {
        return not_found(format!("no template {id}"));
    };
    Json(json!(t.to_json())).into_response()
}

async fn template_quality(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let score = s(&body, "score").unwrap_or("RED").to_ascii_uppercase();
    match review::set_quality(&state, &id, &score) {
        Some(t) => Json(json!(t.to_json())).into_response(),
        None => not_found(format!("no template {id}")),
    }
}

async fn template_category(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Some(cat) = s(&body, "category").map(str::to_ascii_uppercase) else {
        return bad("'category' is required");
    };
    match review::recategorize(&state, &id, &cat) {
        Some(t) => Json(json!(t.to_json())).into_response(),
        None => not_found(format!("no template {id}")),
    }
}

/// A realistic default value for a webhook field (merged with the caller's `value`).
fn default_event(
    field: &str,
    display: &str,
    phone_id: &str,
    waba_id: &str,
    business_id: &str,
    now: i64,
) -> Option<Value> {
    Some(match field {
        // A `messages`-style value: Meta always includes the business number's metadata.
        "smb_message_echoes" => json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display, "phone_number_id": phone_id},
            "message_echoes": [{
                "from": display,
                "to": "15551230001",
                "id": crate::ids::wamid("15551230001", true),
                "timestamp": now.to_string(),
                "type": "text",
                "text": {"body": "Sent from the WhatsApp Business app."},
            }],
        }),
        "phone_number_quality_update" => json!({
            "display_phone_number": display,
            "event": "FLAGGED",
            "current_limit": "TIER_250",
        }),
        "phone_number_name_update" => json!({
            "display_phone_number": display,
            "decision": "APPROVED",
            "requested_verified_name": "Sweet Crumbs Bakery",
            "rejection_reason": null,
        }),
        "account_update" => json!({
            "phone_number": display,
            "event": "ACCOUNT_RESTRICTION",
            "restriction_info": [{
                "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                "expiration": now + 86_400,
            }],
        }),
        "account_review_update" => json!({"decision": "APPROVED"}),
        "account_alerts" => json!({
            "entity_type": "WABA",
            "entity_id": waba_id,
            "alert_info": {
                "alert_severity": "WARNING",
                "alert_status": "ACTIVE",
                "alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
                "alert_description": "Your business is not yet eligible for a higher messaging limit.",
            },
        }),
        "business_capability_update" => json!({
            "max_daily_conversation_per_phone": 1000,
            "max_phone_numbers_per_business": 2,
            "max_daily_conversations_per_business": 2000,
        }),
        "security" => json!({
            "display_phone_number": display,
            "event": "PIN_RESET_REQUEST",
            "requester": business_id,
        }),
        _ => return None,
    })
}

fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// `POST /_sim/events/{field}`: `{waba_id?, phone_number_id?, value?}` — any webhook field;
/// the known ones get a realistic default `value` that the caller's `value` is merged into.
async fn event(
    State(state): State<AppState>,
    Path(field): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_else(|| json!({}));
    let (waba_id, phone_id, display, business_id) = {
        let w = state.world.lock();
        let phone_id = s(&body, "phone_number_id")
            .map(str::to_string)
            .unwrap_or_else(|| w.default_phone.clone());
        let Some(p) = w.phones.get(&phone_id) else {
            return not_found(format!("no phone {phone_id}"));
        };
        let waba_id = s(&body, "waba_id")
            .map(str::to_string)
            .unwrap_or(p.waba_id.clone());
        let business = w
            .wabas
            .get(&waba_id)
            .map(|x| x.business_id.clone())
            .unwrap_or_default();
        (waba_id, phone_id, p.display_phone_number.clone(), business)
    };
    let now = state.clock.now_secs();
    let mut value = match default_event(&field, &display, &phone_id, &waba_id, &business_id, now) {
        Some(v) => v,
        None if body.get("value").is_some() => json!({}),
        None => return bad(format!("field {field} has no default; pass 'value'")),
    };
    if let Some(patch) = body.get("value") {
        merge(&mut value, patch);
    }
    // Side effects Meta's own state would show.
    {
        let mut w = state.world.lock();
        match field.as_str() {
            "phone_number_quality_update" => {
                if let Some(p) = w.phones.get_mut(&phone_id) {
                    if let Some(l) = s(&value, "current_limit") {
                        p.messaging_limit_tier = l.to_string();
                    }
                    match s(&value, "event") {
                        Some("FLAGGED") => p.quality_rating = "YELLOW".into(),
                        Some("DOWNGRADE") => p.quality_rating = "RED".into(),
                        Some("UNFLAGGED" | "UPGRADE") => p.quality_rating = "GREEN".into(),
                        Some("THROUGHPUT_UPGRADE") => p.throughput_level = "HIGH".into(),
                        _ => {}
                    }
                }
            }
            "phone_number_name_update" => {
                if let Some(p) = w.phones.get_mut(&phone_id) {
                    if s(&value, "decision") == Some("APPROVED") {
                        if let Some(n) = s(&value, "requested_verified_name") {
                            p.verified_name = n.into();
                        }
                        p.name_status = "APPROVED".into();
                    } else {
                        p.name_status = "DECLINED".into();
                    }
                }
            }
            "account_review_update" => {
                if let (Some(x), Some(d)) = (w.wabas.get_mut(&waba_id), s(&value, "decision")) {
                    x.account_review_status = d.to_string();
                }
            }
            _ => {}
        }
    }
    let id = webhooks::emit(&state, &waba_id, Some(&phone_id), &field, value.clone());
    Json(json!({"delivery_id": id, "value": value})).into_response()
}

/// `POST /_sim/tokens`: `{waba_ids?, expires_in?}` → a new token.
async fn mint_token(State(state): State<AppState>, body: Option<Json<Value>>) -> Json<Value> {
    let body = body.map(|Json(b)| b).unwrap_or_else(|| json!({}));
    let now = state.clock.now_secs();
    let mut w = state.world.lock();
    let wabas: Vec<String> = body
        .get("waba_ids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_else(|| vec![w.default_waba.clone()]);
    let token = w.mint_token(wabas.clone(), "SYSTEM_USER", now);
    if let Some(secs) = body.get("expires_in").and_then(Value::as_i64) {
        if let Some(t) = w.tokens.get_mut(&token) {
            t.expires_at = now + secs;
        }
    }
    Json(json!({"access_token": token, "waba_ids": wabas}))
}

/// `POST /_sim/tokens/revoke`: `{token}` — every later call with it gets 190.
async fn revoke_token(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let Some(token) = s(&body, "token") else {
        return bad("'token' is required");
    };
    match state.world.lock().tokens.get_mut(token) {
        Some(t) => {
            t.revoked = true;
            Json(json!({"revoked": true})).into_response()
        }
        None => not_found("unknown token"),
    }
}

/// `POST /_sim/provision`: `{business_name?, display_phone_number?, registered?, subscribed?}`
/// → a new business, WABA and number with a token for them.
async fn provision(State(state): State<AppState>, body: Option<Json<Value>>) -> Json<Value> {
    let body = body.map(|Json(b)| b).unwrap_or_else(|| json!({}));
    let now = state.clock.now_secs();
    let mut w = state.world.lock();
    let n = w.phones.len() + 1;
    let display = s(&body, "display_phone_number")
        .map(normalize_wa_id)
        .unwrap_or_else(|| format!("1555{:07}", 780_000 + n));
    let name = s(&body, "business_name").unwrap_or("Second Shop");
    let registered = body
        .get("registered")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let subscribed = body
        .get("subscribed")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let (business_id, waba_id, phone_id) = w.provision(name, &display, registered, subscribed);
    let token = w.mint_token(vec![waba_id.clone()], "SYSTEM_USER", now);
    Json(json!({
        "business_id": business_id,
        "waba_id": waba_id,
        "phone_number_id": phone_id,
        "display_phone_number": display,
        "access_token": token,
    }))
}

/// `GET /_sim/webhooks[?field=&state=&since=]`: the delivery log.
async fn deliveries(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let since = q
        .get("since")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let w = state.world.lock();
    let data: Vec<_> = w
        .deliveries
        .iter()
        .filter(|d| d.id > since)
        .filter(|d| q.get("field").is_none_or(|f| &d.field == f))
        .filter(|d| q.get("state").is_none_or(|st| &d.state == st))
        .collect();
    Json(json!({ "data": data }))
}

async fn clock(State(state): State<AppState>) -> Json<Value> {
    Json(
        json!({"now": state.clock.now_secs(), "now_ms": state.clock.now_ms(), "offset_ms": state.clock.offset_ms()}),
    )
}

/// `POST /_sim/clock/advance`: `{seconds}` — moves the simulator's clock (code and URL
/// expiry, the 24-hour window, rate-limit windows) without sleeping.
async fn advance_clock(State(state): State<AppState>, Json(body): Json<Value>) -> Response {
    let Some(secs) = body.get("seconds").and_then(Value::as_f64) else {
        return bad("'seconds' is required");
    };
    state.clock.advance_ms((secs * 1000.0) as i64);
    Json(json!({"now": state.clock.now_secs(), "offset_ms": state.clock.offset_ms()}))
        .into_response()
}

async fn get_settings(State(state): State<AppState>) -> Json<Value> {
    let mut v = serde_json::to_value(state.cfg()).unwrap_or_else(|_| json!({}));
    v["app_secret"] = json!("(hidden)");
    Json(v)
}

/// `POST /_sim/settings`: a partial config (same keys as the config file) merged into the
/// running one, e.g. `{"statuses": {"duplicate": true}, "limits": {"throughput_mps": 2}}`.
async fn update_settings(State(state): State<AppState>, Json(patch): Json<Value>) -> Response {
    if patch.get("app_secret").is_some() || patch.get("provision").is_some() {
        return bad("app_secret and provision cannot change at run time");
    }
    let mut current = serde_json::to_value(state.cfg()).unwrap_or_else(|_| json!({}));
    merge(&mut current, &patch);
    match serde_json::from_value::<SimConfig>(current) {
        Ok(cfg) => {
            *state.config.write() = cfg;
            get_settings(State(state)).await.into_response()
        }
        Err(e) => bad(format!("invalid settings: {e}")),
    }
}

async fn list_personas(State(state): State<AppState>) -> Json<Value> {
    let steps = state.world.lock().persona_steps.clone();
    let data: Vec<Value> = personas::PERSONAS
        .iter()
        .map(|p| json!({"key": p.key, "wa_id": p.wa_id, "name": p.name, "step": steps.get(p.key)}))
        .collect();
    Json(json!({ "data": data }))
}

async fn start_persona(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_else(|| json!({}));
    let phone = s(&body, "phone_number_id")
        .map(str::to_string)
        .unwrap_or_else(|| state.world.lock().default_phone.clone());
    match personas::start(&state, &key, &phone) {
        Ok(k) => Json(json!({"started": k})).into_response(),
        Err(e) => not_found(e),
    }
}

async fn asset(Path(key): Path<String>) -> Response {
    match assets::ALL.into_iter().find(|a| a.key == key) {
        Some(a) => ([(header::CONTENT_TYPE, a.mime_type)], a.bytes).into_response(),
        None => not_found(format!("no asset {key}")),
    }
}
