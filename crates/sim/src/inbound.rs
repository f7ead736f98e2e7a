//! Messages from simulated WhatsApp users to a business number: every inbound type of the
//! Cloud API, completed with realistic defaults, with real media behind media ids, recorded
//! (they open the 24-hour window) and delivered as a `messages` webhook.

use bytes::Bytes;
use serde_json::{json, Value};

use crate::assets::{self, Asset};
use crate::ids;
use crate::routes::media as media_routes;
use crate::state::{normalize_wa_id, AppState, Inbound};
use crate::webhooks::{self, messages_value};

/// Every `type` the control API accepts (aliases included).
pub const TYPES: [&str; 19] = [
    "text",
    "image",
    "voice",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "button",
    "button_reply",
    "list_reply",
    "nfm_reply",
    "interactive",
    "order",
    "referral",
    "system",
    "unsupported",
];

/// The result of an inbound message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivered {
    pub id: String,
    pub delivery_id: u64,
    pub webhook: Value,
}

fn asset_for(key: Option<&str>, default: Asset) -> Asset {
    key.and_then(|k| assets::ALL.into_iter().find(|a| a.key == k))
        .unwrap_or(default)
}

/// The last message the business sent to `wa_id` from `phone_id`, optionally of one type.
fn last_business_message(
    state: &AppState,
    phone_id: &str,
    wa_id: &str,
    of_type: Option<&str>,
) -> Option<(String, Value)> {
    let world = state.world.lock();
    world
        .sent
        .iter()
        .rev()
        .find(|m| {
            m.phone_number_id == phone_id
                && m.wa_id == wa_id
                && of_type.is_none_or(|t| m.msg_type == t)
        })
        .map(|m| (m.id.clone(), m.request.clone()))
}

/// Sends a message from user `from` to number `phone_id`. `spec` is a partial Cloud API
/// message: `{"type": "...", "<type>": {...}, "context": {...}}`; anything missing gets a
/// realistic default (see README "Inbound messages").
pub fn deliver(
    state: &AppState,
    phone_id: &str,
    from: &str,
    name: Option<&str>,
    spec: &Value,
) -> Result<Delivered, String> {
    let from = normalize_wa_id(from);
    if from.len() < 5 {
        return Err("'from' must be a phone number".into());
    }
    let (waba_id, display) = {
        let world = state.world.lock();
        let phone = world
            .phones
            .get(phone_id)
            .ok_or_else(|| format!("unknown phone_number_id {phone_id}"))?;
        (phone.waba_id.clone(), phone.display_phone_number.clone())
    };
    let requested = spec.get("type").and_then(Value::as_str).unwrap_or("text");
    if !TYPES.contains(&requested) {
        return Err(format!(
            "unknown type '{requested}'; one of {}",
            TYPES.join(", ")
        ));
    }
    let now_ms = state.clock.now_ms();
    let now = now_ms / 1000;
    let wamid = ids::wamid(&from, false);
    let payload = spec.get(requested).cloned();
    let asset_key = spec.get("asset").and_then(Value::as_str);

    let mut message = json!({
        "from": from,
        "id": wamid,
        "timestamp": now.to_string(),
    });

    let mut ty = requested.to_string();
    match requested {
        "text" => {
            message["text"] = payload
                .map(|p| if p.is_string() { json!({"body": p}) } else { p })
                .unwrap_or_else(|| json!({"body": "Hello! 👋"}));
        }
        "image" => {
            let extra = if payload.is_none() {
                json!({"caption": "Like this one?"})
            } else {
                json!({})
            };
            message["image"] = media_obj(
                state,
                &waba_id,
                now_ms,
                payload.clone(),
                asset_for(asset_key, assets::JPEG),
                extra,
            );
        }
        "voice" => {
            ty = "audio".into();
            message["audio"] = media_obj(
                state,
                &waba_id,
                now_ms,
                payload.clone(),
                asset_for(asset_key, assets::VOICE),
                json!({"voice": true}),
            );
        }
        "audio" => {
            message["audio"] = media_obj(
                state,
                &waba_id,
                now_ms,
                payload.clone(),
                asset_for(asset_key, assets::VOICE),
                json!({"voice": false}),
            );
        }
        "video" => {
            message["video"] = media_obj(
                state,
                &waba_id,
                now_ms,
                payload.clone(),
                asset_for(asset_key, assets::VIDEO),
                json!({}),
            );
        }
        "document" => {
            let asset = asset_for(asset_key, assets::PDF);
            message["document"] = media_obj(
                state,
                &waba_id,
                now_ms,
                payload.clone(),
                asset,
                json!({"filename": asset.filename}),
            );
        }
        "sticker" => {
            message["sticker"] = media_obj(
                state,
                &waba_id,
                now_ms,
                payload.clone(),
                asset_for(asset_key, assets::STICKER),
                json!({"animated": false}),
            );
        }
        "location" => {
            message["location"] = payload.unwrap_or_else(|| {
                json!({
                    "latitude": 37.483307,
                    "longitude": -122.148981,
                    "name": "Sweet Crumbs Bakery",
                    "address": "12 Baker Street, Springfield",
                    "url": "https://sweetcrumbs.example/visit",
                })
            });
        }
        "contacts" => {
            message["contacts"] = payload.unwrap_or_else(|| {
                json!([{
                    "name": {"formatted_name": "Ana Lima", "first_name": "Ana", "last_name": "Lima"},
                    "org": {"company": "Lima Events"},
                    "phones": [{"phone": "+1 (555) 010-2233", "wa_id": "15550102233", "type": "MOBILE"}],
                }])
            });
        }
        "reaction" => {
            let mut r = payload.unwrap_or_else(|| json!({}));
            if r.get("message_id").is_none() {
                let last = last_business_message(state, phone_id, &from, None)
                    .map(|(id, _)| id)
                    .ok_or("reaction needs reaction.message_id (the business has sent nothing to this user)")?;
                r["message_id"] = json!(last);
            }
            if r.get("emoji").is_none() {
                r["emoji"] = json!("👍");
            }
            message["reaction"] = r;
        }
        "button" => {
            let b = payload.unwrap_or_else(|| json!({"payload": "On my way", "text": "On my way"}));
            message["button"] = b;
            if spec.get("context").is_none() {
                if let Some((id, _)) =
                    last_business_message(state, phone_id, &from, Some("template"))
                {
                    message["context"] = json!({"from": display, "id": id});
                }
            }
        }
        "button_reply" | "list_reply" => {
            ty = "interactive".into();
            let last = last_business_message(state, phone_id, &from, Some("interactive"));
            let reply =
                payload.unwrap_or_else(|| default_reply(requested, last.as_ref().map(|l| &l.1)));
            message["interactive"] = json!({"type": requested, requested: reply});
            if spec.get("context").is_none() {
                if let Some((id, _)) = last {
                    message["context"] = json!({"from": display, "id": id});
                }
            }
        }
        "nfm_reply" => {
            ty = "interactive".into();
            let reply = payload.unwrap_or_else(|| {
                json!({
                    "name": "flow",
                    "body": "Sent",
                    "response_json": "{\"flow_token\":\"sim-flow-token\",\"pickup_day\":\"saturday\",\"cake_size\":\"8in\"}",
                })
            });
            message["interactive"] = json!({"type": "nfm_reply", "nfm_reply": reply});
        }
        "interactive" => {
            message["interactive"] =
                payload.ok_or("type interactive needs an 'interactive' object")?;
        }
        "order" => {
            message["order"] = payload.unwrap_or_else(|| {
                json!({
                    "catalog_id": "194836987003835",
                    "text": "Two croissants and a baguette, please",
                    "product_items": [
                        {"product_retailer_id": "croissant", "quantity": 2, "item_price": 3.5, "currency": "USD"},
                        {"product_retailer_id": "baguette", "quantity": 1, "item_price": 4, "currency": "USD"},
                    ],
                })
            });
        }
        "referral" => {
            ty = "text".into();
            message["text"] = spec
                .get("text")
                .cloned()
                .unwrap_or_else(|| json!({"body": "Hello! Can I get more info on this?"}));
            message["referral"] = payload.unwrap_or_else(|| {
                json!({
                    "source_url": "https://fb.me/3cr4Wqqkv",
                    "source_id": "120226305854810726",
                    "source_type": "ad",
                    "body": "Celebration cakes, baked to order",
                    "headline": "Chat with us",
                    "media_type": "image",
                    "image_url": format!("{}/_sim/assets/jpeg", state.base_url),
                    "ctwa_clid": format!("Aff-{}", ids::hex_id(24)),
                    "welcome_message": {"text": "Hi there! Let us know how we can help!"},
                })
            });
        }
        "system" => {
            let new_wa_id = spec
                .get("system")
                .and_then(|s| s.get("wa_id"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("1219{}", &ids::graph_id()[..7]));
            let user_name = name.map(str::to_string).unwrap_or_else(|| {
                state
                    .world
                    .lock()
                    .users
                    .get(&from)
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| "WhatsApp User".into())
            });
            message["system"] = payload.unwrap_or_else(|| {
                json!({
                    "body": format!("User {user_name} changed from {from} to {new_wa_id}"),
                    "wa_id": new_wa_id,
                    "type": "user_changed_number",
                })
            });
        }
        "unsupported" => {
            message["errors"] = json!([{
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }]);
            if let Some(p) = payload {
                message["unsupported"] = p;
            }
        }
        _ => {}
    }
    message["type"] = json!(ty);
    if let Some(ctx) = spec.get("context") {
        let mut c = ctx.clone();
        if c.get("from").is_none() && c.get("id").is_some() {
            c["from"] = json!(display);
        }
        message["context"] = c;
    }
    if requested != "referral" {
        if let Some(r) = spec.get("referral") {
            message["referral"] = r.clone();
        }
    }

    let bsuid = state.config.read().bsuid;
    let (profile_name, user_id, hide_phone) = {
        let mut world = state.world.lock();
        let user = world.user_mut(&from);
        if let Some(n) = name {
            user.name = n.to_string();
        }
        if requested != "system" {
            user.last_inbound.insert(phone_id.to_string(), now_ms);
        }
        (user.name.clone(), user.user_id.clone(), user.hide_phone)
    };
    if bsuid {
        message["from_user_id"] = json!(user_id);
    }
    if hide_phone {
        if let Value::Object(m) = &mut message {
            m.remove("from");
        }
    }
    let contacts = if requested == "system" {
        None
    } else {
        let mut c = json!({"profile": {"name": profile_name}});
        if !hide_phone {
            c["wa_id"] = json!(from);
        }
        if bsuid {
            c["user_id"] = json!(user_id);
        }
        Some(json!([c]))
    };
    state.world.lock().inbound.push(Inbound {
        id: wamid.clone(),
        phone_number_id: phone_id.to_string(),
        from: from.clone(),
        timestamp: now,
        message: message.clone(),
        read: false,
    });
    let value = messages_value(&display, phone_id, contacts, "messages", json!([message]));
    let delivery_id = webhooks::emit(state, &waba_id, Some(phone_id), "messages", value.clone());
    Ok(Delivered {
        id: wamid,
        delivery_id,
        webhook: value,
    })
}

/// A media object: the caller's fields, plus a stored copy of `asset` when no `id` is given.
fn media_obj(
    state: &AppState,
    waba_id: &str,
    now_ms: i64,
    payload: Option<Value>,
    asset: Asset,
    extra: Value,
) -> Value {
    let mut obj = payload.unwrap_or_else(|| json!({}));
    if obj.get("id").is_none() {
        let mut world = state.world.lock();
        let id = media_routes::store(
            &mut world,
            waba_id,
            asset.mime_type,
            Bytes::from_static(asset.bytes),
            Some(asset.filename.into()),
            now_ms,
            media_routes::WEBHOOK_LIFETIME_MS,
        );
        if let Some(m) = world.media.get(&id) {
            if let (Value::Object(o), Value::Object(base)) =
                (&mut obj, media_routes::inbound_object(m))
            {
                for (k, v) in base {
                    o.entry(k).or_insert(v);
                }
            }
        }
    }
    if let (Value::Object(o), Value::Object(extra)) = (&mut obj, extra) {
        for (k, v) in extra {
            o.entry(k).or_insert(v);
        }
    }
    obj
}

/// A reply to the last interactive message: its first button or first row.
fn default_reply(kind: &str, last_request: Option<&Value>) -> Value {
    let action = last_request
        .and_then(|r| r.get("interactive"))
        .and_then(|i| i.get("action"));
    if kind == "button_reply" {
        action
            .and_then(|a| a.get("buttons"))
            .and_then(Value::as_array)
            .and_then(|b| b.first())
            .and_then(|b| b.get("reply"))
            .cloned()
            .unwrap_or_else(|| json!({"id": "yes", "title": "Yes"}))
    } else {
        action
            .and_then(|a| a.get("sections"))
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .and_then(|s| s.get("rows"))
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .cloned()
            .unwrap_or_else(|| {
                json!({"id": "pickup_saturday", "title": "Saturday pickup", "description": "10:00 - 12:00"})
            })
    }
}
