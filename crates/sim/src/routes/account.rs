//! Numbers, WABAs, business profile, webhook subscriptions, registration and businesses.

use axum::http::StatusCode;
use axum::response::Response;
use cloud_api::account::VERTICALS;
use serde_json::{json, Value};

use crate::error::{GraphError, GraphResult};
use crate::ids;
use crate::routes::{ok, ok_with_usage, select_fields, success, Ctx};
use crate::state::{AppState, Phone, Waba};
use crate::webhooks;

const PHONE_DEFAULT: [&str; 4] = [
    "id",
    "display_phone_number",
    "verified_name",
    "quality_rating",
];
const PHONE_LIST_DEFAULT: [&str; 8] = [
    "verified_name",
    "code_verification_status",
    "display_phone_number",
    "quality_rating",
    "platform_type",
    "throughput",
    "status",
    "last_onboarded_time",
];
const WABA_DEFAULT: [&str; 4] = ["id", "name", "timezone_id", "message_template_namespace"];

/// The full Graph representation of a number.
pub fn phone_json(state: &AppState, p: &Phone) -> Value {
    let world = state.world.lock();
    let app_url = state.config.read().webhook_url.clone();
    let waba_override = world
        .wabas
        .get(&p.waba_id)
        .and_then(|w| w.override_callback_uri.clone());
    let mut webhook = json!({});
    if let Some(u) = app_url {
        webhook["application"] = json!(u);
    }
    if let Some(u) = waba_override {
        webhook["whatsapp_business_account"] = json!(u);
    }
    if let Some(u) = &p.override_callback_uri {
        webhook["phone_number"] = json!(u);
    }
    json!({
        "id": p.id,
        "display_phone_number": p.display_phone_number,
        "verified_name": p.verified_name,
        "quality_rating": p.quality_rating,
        "code_verification_status": "VERIFIED",
        "name_status": p.name_status,
        "status": if p.registered { "LINKED" } else if p.pin.is_some() { "UNLINKED" } else { "PENDING" },
        "platform_type": if p.registered { "CLOUD_API" } else { "NOT_APPLICABLE" },
        "host_platform": "CLOUD_API",
        "account_mode": "LIVE",
        "is_official_business_account": false,
        "country_code": "US",
        "country_dial_code": "1",
        "throughput": {"level": p.throughput_level},
        "messaging_limit_tier": p.messaging_limit_tier,
        "whatsapp_business_manager_messaging_limit": p.messaging_limit_tier,
        "last_onboarded_time": "2026-01-01T00:00:00+0000",
        "webhook_configuration": webhook,
    })
}

fn waba_json(w: &Waba, owner_name: &str, own_business: bool) -> Value {
    json!({
        "id": w.id,
        "name": w.name,
        "currency": w.currency,
        "timezone_id": w.timezone_id,
        "message_template_namespace": w.message_template_namespace,
        "account_review_status": w.account_review_status,
        "business_verification_status": "VERIFIED",
        "ownership_type": if own_business { "SELF_OWNED" } else { "CLIENT_OWNED" },
        "country": "US",
        "owner_business_info": {"id": w.business_id, "name": owner_name},
    })
}

pub fn get_phone(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    let p = ctx.phone(&token, id)?;
    Ok(ok(select_fields(
        phone_json(&ctx.state, &p),
        ctx.query.get("fields").map(String::as_str),
        &PHONE_DEFAULT,
    )))
}

/// Performs Meta's verification request against a callback URL.
async fn verify_callback(state: &AppState, uri: &str, verify_token: &str) -> GraphResult<()> {
    let challenge = ids::graph_id();
    let fail = |why: String| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            2200,
            format!("Callback verification failed with the following errors: {why}"),
        )
    };
    let resp = state
        .http
        .get(uri)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.challenge", challenge.as_str()),
            ("hub.verify_token", verify_token),
        ])
        .send()
        .await
        .map_err(|e| fail(format!("curl_errno = 7; curl_error = {e}")))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(fail(format!("HTTP Status Code = {}", status.as_u16())));
    }
    if text.trim() != challenge {
        return Err(fail(
            "The URL couldn't be validated. Response does not match challenge".into(),
        ));
    }
    Ok(())
}

fn override_params(body: &Value) -> GraphResult<Option<(String, String)>> {
    let Some(uri) = body.get("override_callback_uri").and_then(Value::as_str) else {
        return Ok(None);
    };
    if uri.is_empty() {
        return Ok(Some((String::new(), String::new())));
    }
    let Some(token) = body.get("verify_token").and_then(Value::as_str) else {
        return Err(GraphError::invalid_parameter(
            "verify_token is required with override_callback_uri.",
        ));
    };
    if url::Url::parse(uri).is_err() {
        return Err(GraphError::invalid_parameter(
            "override_callback_uri is not a valid URL.",
        ));
    }
    Ok(Some((uri.to_string(), token.to_string())))
}

/// `POST /{phone}`: webhook override (`webhook_configuration`) and the two-step PIN (`pin`).
pub async fn update_phone(ctx: &Ctx, id: &str, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    let p = ctx.phone(&token, id)?;
    if let Some(cfg) = body.get("webhook_configuration") {
        let subscribed = ctx
            .state
            .world
            .lock()
            .wabas
            .get(&p.waba_id)
            .is_some_and(|w| w.subscribed);
        if !subscribed {
            return Err(GraphError::invalid_parameter(
                "The app must be subscribed to the WABA before overriding the callback URL.",
            ));
        }
        if let Some((uri, verify_token)) = override_params(cfg)? {
            if !uri.is_empty() {
                verify_callback(&ctx.state, &uri, &verify_token).await?;
            }
            if let Some(phone) = ctx.state.world.lock().phones.get_mut(id) {
                phone.override_callback_uri = (!uri.is_empty()).then_some(uri);
            }
        }
    }
    if let Some(pin) = body.get("pin").and_then(Value::as_str) {
        if !is_pin(pin) {
            return Err(GraphError::invalid_parameter("pin must be 6 digits."));
        }
        if let Some(phone) = ctx.state.world.lock().phones.get_mut(id) {
            phone.pin = Some(pin.into());
        }
        webhooks::emit(
            &ctx.state,
            &p.waba_id,
            Some(id),
            "security",
            json!({
                "display_phone_number": p.display_phone_number,
                "event": "PIN_CHANGED",
                "requester": token.user_id,
            }),
        );
    }
    Ok(success())
}

fn is_pin(pin: &str) -> bool {
    pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit())
}

/// `POST /{phone}/register` with a 6-digit PIN (the two-step verification PIN once set).
pub fn register(ctx: &Ctx, id: &str, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.phone(&token, id)?;
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(GraphError::invalid_parameter(
            "The parameter messaging_product is required and must be 'whatsapp'.",
        ));
    }
    let pin = match body.get("pin") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(GraphError::invalid_parameter(
                "The parameter pin is required.",
            ))
        }
    };
    if !is_pin(&pin) {
        return Err(GraphError::invalid_parameter("pin must be 6 digits."));
    }
    let limit = ctx.state.config.read().limits.register_per_72h as usize;
    let now = ctx.state.clock.now_ms();
    let mut world = ctx.state.world.lock();
    let Some(phone) = world.phones.get_mut(id) else {
        return Err(GraphError::unknown_object("POST", id));
    };
    while phone
        .register_attempts
        .front()
        .is_some_and(|&t| now - t >= 72 * 3600 * 1000)
    {
        phone.register_attempts.pop_front();
    }
    if phone.register_attempts.len() >= limit {
        return Err(GraphError::register_limit());
    }
    phone.register_attempts.push_back(now);
    if phone.pin.as_deref().is_some_and(|p| p != pin) {
        return Err(GraphError::pin_mismatch());
    }
    phone.pin = Some(pin);
    phone.registered = true;
    Ok(success())
}

pub fn deregister(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.phone(&token, id)?;
    if let Some(p) = ctx.state.world.lock().phones.get_mut(id) {
        p.registered = false;
    }
    Ok(success())
}

pub fn get_profile(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    let p = ctx.phone(&token, id)?;
    let mut profile = p.profile.clone();
    profile["messaging_product"] = json!("whatsapp");
    let mut selected = select_fields(profile, ctx.query.get("fields").map(String::as_str), &[]);
    if let Value::Object(m) = &mut selected {
        m.insert("messaging_product".into(), json!("whatsapp"));
    }
    Ok(ok(json!({ "data": [selected] })))
}

fn too_long(body: &Value, key: &str, max: usize) -> GraphResult<()> {
    if body
        .get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| s.chars().count() > max)
    {
        return Err(GraphError::invalid_parameter(format!(
            "Param {key} must be at most {max} characters long."
        )));
    }
    Ok(())
}

pub fn update_profile(ctx: &Ctx, id: &str, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.phone(&token, id)?;
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(GraphError::invalid_parameter(
            "The parameter messaging_product is required and must be 'whatsapp'.",
        ));
    }
    if body
        .get("about")
        .and_then(Value::as_str)
        .is_some_and(str::is_empty)
    {
        return Err(GraphError::invalid_parameter(
            "Param about must not be empty.",
        ));
    }
    too_long(body, "about", 139)?;
    too_long(body, "address", 256)?;
    too_long(body, "description", 512)?;
    too_long(body, "email", 128)?;
    if let Some(email) = body.get("email").and_then(Value::as_str) {
        if !email.is_empty() && !email.contains('@') {
            return Err(GraphError::invalid_parameter(
                "Param email is not a valid email.",
            ));
        }
    }
    if let Some(sites) = body.get("websites") {
        let Some(list) = sites.as_array() else {
            return Err(GraphError::invalid_parameter(
                "Param websites must be an array.",
            ));
        };
        if list.len() > 2 {
            return Err(GraphError::invalid_parameter(
                "Param websites can have at most 2 URLs.",
            ));
        }
        for s in list {
            let ok = s
                .as_str()
                .and_then(|s| url::Url::parse(s).ok())
                .is_some_and(|u| matches!(u.scheme(), "http" | "https"));
            if !ok {
                return Err(GraphError::invalid_parameter(
                    "Each website must be an http(s) URL.",
                ));
            }
        }
    }
    if let Some(v) = body.get("vertical").and_then(Value::as_str) {
        // An empty string clears the vertical.
        if !v.is_empty() && !VERTICALS.contains(&v) {
            return Err(GraphError::invalid_parameter(format!(
                "Param vertical must be one of {}.",
                VERTICALS.join(", ")
            )));
        }
    }
    let mut world = ctx.state.world.lock();
    // Checked before anything changes: a refused update changes nothing.
    if let Some(h) = body.get("profile_picture_handle").and_then(Value::as_str) {
        crate::routes::uploads::check_handle(
            &world.assets,
            h,
            &["image/jpeg", "image/jpg", "image/png"],
            "profile_picture_handle",
        )?;
    }
    let Some(phone) = world.phones.get_mut(id) else {
        return Err(GraphError::unknown_object("POST", id));
    };
    for key in [
        "about",
        "address",
        "description",
        "email",
        "websites",
        "vertical",
    ] {
        if let Some(v) = body.get(key) {
            phone.profile[key] = v.clone();
        }
    }
    if let Some(h) = body.get("profile_picture_handle").and_then(Value::as_str) {
        phone.profile["profile_picture_url"] = json!(format!(
            "{}/_sim/profile_pictures/{}",
            ctx.state.base_url,
            url::form_urlencoded::byte_serialize(h.as_bytes()).collect::<String>()
        ));
    }
    Ok(success())
}

pub fn get_waba(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, id)?;
    let usage = ctx.management_call(id)?;
    let world = ctx.state.world.lock();
    let Some(w) = world.wabas.get(id) else {
        return Err(GraphError::unknown_object("GET", id));
    };
    let owner = world
        .businesses
        .get(&w.business_id)
        .map(|b| b.name.clone())
        .unwrap_or_default();
    let own = w.id == world.default_waba;
    let v = waba_json(w, &owner, own);
    Ok(ok_with_usage(
        select_fields(
            v,
            ctx.query.get("fields").map(String::as_str),
            &WABA_DEFAULT,
        ),
        &usage,
    ))
}

pub fn list_phones(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, id)?;
    let usage = ctx.management_call(id)?;
    let phones: Vec<Phone> = ctx
        .state
        .world
        .lock()
        .phones
        .values()
        .filter(|p| p.waba_id == id)
        .cloned()
        .collect();
    let limit = ctx
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let start = ctx
        .query
        .get("after")
        .and_then(|c| ids::parse_cursor(c))
        .map(|n| n.saturating_add(1))
        .unwrap_or(0)
        .min(phones.len());
    let end = (start + limit).min(phones.len());
    let fields = ctx.query.get("fields").map(String::as_str);
    let data: Vec<Value> = phones[start..end]
        .iter()
        .map(|p| select_fields(phone_json(&ctx.state, p), fields, &PHONE_LIST_DEFAULT))
        .collect();
    let mut body = json!({ "data": data });
    if start < end {
        body["paging"] = json!({
            "cursors": {"before": ids::cursor(start), "after": ids::cursor(end - 1)}
        });
        if end < phones.len() {
            body["paging"]["next"] = json!(format!(
                "{}/{}/phone_numbers?limit={}&after={}",
                ctx.graph_base(),
                id,
                limit,
                ids::cursor(end - 1)
            ));
        }
    }
    Ok(ok_with_usage(body, &usage))
}

pub fn list_subscriptions(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, id)?;
    let usage = ctx.management_call(id)?;
    let cfg = ctx.state.cfg();
    let world = ctx.state.world.lock();
    let Some(w) = world.wabas.get(id) else {
        return Err(GraphError::unknown_object("GET", id));
    };
    let data = if w.subscribed {
        let mut item = json!({
            "whatsapp_business_api_data": {
                "id": cfg.app_id,
                "name": cfg.app_name,
                "link": format!("https://www.facebook.com/games/?app_id={}", cfg.app_id),
            }
        });
        if let Some(u) = &w.override_callback_uri {
            item["override_callback_uri"] = json!(u);
        }
        vec![item]
    } else {
        Vec::new()
    };
    Ok(ok_with_usage(json!({ "data": data }), &usage))
}

pub async fn subscribe(ctx: &Ctx, id: &str, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, id)?;
    let usage = ctx.management_call(id)?;
    let over = override_params(body)?;
    if let Some((uri, verify_token)) = &over {
        if !uri.is_empty() {
            verify_callback(&ctx.state, uri, verify_token).await?;
        }
    }
    if let Some(w) = ctx.state.world.lock().wabas.get_mut(id) {
        w.subscribed = true;
        if let Some((uri, _)) = over {
            w.override_callback_uri = (!uri.is_empty()).then_some(uri);
        }
    }
    Ok(ok_with_usage(json!({"success": true}), &usage))
}

pub fn unsubscribe(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, id)?;
    let usage = ctx.management_call(id)?;
    if let Some(w) = ctx.state.world.lock().wabas.get_mut(id) {
        w.subscribed = false;
        w.override_callback_uri = None;
    }
    Ok(ok_with_usage(json!({"success": true}), &usage))
}

fn business_access(ctx: &Ctx, id: &str) -> GraphResult<Vec<Waba>> {
    let token = ctx.token()?;
    let world = ctx.state.world.lock();
    let wabas: Vec<Waba> = world
        .wabas
        .values()
        .filter(|w| w.business_id == id && token.waba_ids.contains(&w.id))
        .cloned()
        .collect();
    if wabas.is_empty() {
        return Err(GraphError::unknown_object("GET", id));
    }
    Ok(wabas)
}

pub fn get_business(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    business_access(ctx, id)?;
    let world = ctx.state.world.lock();
    let name = world
        .businesses
        .get(id)
        .map(|b| b.name.clone())
        .unwrap_or_default();
    Ok(ok(select_fields(
        json!({"id": id, "name": name, "verification_status": "verified"}),
        ctx.query.get("fields").map(String::as_str),
        &["id", "name"],
    )))
}

pub fn business_wabas(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let wabas = business_access(ctx, id)?;
    let world = ctx.state.world.lock();
    let name = world
        .businesses
        .get(id)
        .map(|b| b.name.clone())
        .unwrap_or_default();
    let data: Vec<Value> = wabas
        .iter()
        .map(|w| {
            select_fields(
                waba_json(w, &name, true),
                ctx.query.get("fields").map(String::as_str),
                &WABA_DEFAULT,
            )
        })
        .collect();
    Ok(ok(json!({ "data": data })))
}
