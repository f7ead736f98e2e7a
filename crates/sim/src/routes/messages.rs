//! `POST /{phone-number-id}/messages`: every outbound type, mark-as-read and the typing
//! indicator, with Meta's checks in Meta's order: token (190), number (100/33), registration
//! (133010), request shape (100/131008/131009), throughput (130429), pair rate (131056),
//! templates (132000/132001/132012/132015/132016), media (131053, 131009), then the
//! asynchronous outcomes reported by status webhooks (131047, 131026, 131050, 131053).

use axum::response::Response;
use serde_json::{json, Value};

use crate::assets;
use crate::config::WindowEnforcement;
use crate::error::{GraphError, GraphResult};
use crate::ids;
use crate::routes::{ok, success, Ctx};
use crate::rules;
use crate::state::{normalize_wa_id, Phone, SentMessage};
use crate::statuses::{self, Outbound};

const MEDIA_TYPES: [&str; 5] = ["image", "video", "audio", "document", "sticker"];
const KNOWN_TYPES: [&str; 11] = [
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "template",
];

pub async fn send(ctx: &Ctx, phone_id: &str, body: &Value) -> GraphResult<Response> {
    network_latency(ctx).await;
    let token = ctx.token()?;
    let phone = ctx.phone(&token, phone_id)?;
    if body.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err(GraphError::invalid_parameter(
            "The parameter messaging_product is required and must be 'whatsapp'.",
        )
        .with_message("(#100) The parameter messaging_product is required."));
    }
    if body.get("status").and_then(Value::as_str) == Some("read") {
        return mark_read(ctx, &phone, body);
    }
    if !phone.registered {
        return Err(GraphError::not_registered());
    }
    let to = match body.get("to") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(
                GraphError::invalid_parameter("The parameter to is required.")
                    .with_message("(#100) The parameter to is required."),
            )
        }
    };
    let wa_id = normalize_wa_id(&to);
    if wa_id.len() < 5 || wa_id.len() > 20 {
        return Err(GraphError::invalid_value(format!(
            "Invalid recipient phone number '{to}'."
        )));
    }
    if wa_id == phone.display_phone_number {
        return Err(GraphError::new(
            axum::http::StatusCode::BAD_REQUEST,
            131021,
            "(#131021) Recipient cannot be sender",
        )
        .details("Sender and recipient phone number is the same."));
    }
    // Without `type`, Meta goes by the message object present (text by default).
    let ty = body
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            KNOWN_TYPES
                .iter()
                .find(|t| body.get(**t).is_some())
                .map(|t| t.to_string())
        })
        .unwrap_or_else(|| "text".into());
    let checked = validate(ctx, &phone, &ty, body)?;

    let cfg = ctx.state.cfg();
    let now_ms = ctx.state.clock.now_ms();
    let wamid = ids::wamid(&wa_id, true);
    let (outcome, pricing_type, persona) = {
        let mut world = ctx.state.world.lock();
        let Some(phone_mut) = world.phones.get_mut(phone_id) else {
            return Err(GraphError::unknown_object("POST", phone_id));
        };
        rules::check_throughput(phone_mut, &cfg.limits, now_ms)?;
        let user = world.user_mut(&wa_id);
        rules::check_pair_rate(user, phone_id, &cfg.limits, now_ms)?;
        let window = rules::window_open(user, phone_id, now_ms);
        let is_template = ty == "template";
        if !is_template && !window && cfg.statuses.window_enforcement == WindowEnforcement::Sync {
            return Err(GraphError::re_engagement());
        }
        let outcome = if user.undeliverable {
            Some(GraphError::undeliverable())
        } else if !is_template
            && !window
            && cfg.statuses.window_enforcement == WindowEnforcement::Webhook
        {
            Some(GraphError::re_engagement())
        } else if checked.category == "marketing" && user.marketing_stopped {
            Some(GraphError::marketing_opt_out())
        } else {
            checked.async_error.clone()
        };
        let free = window && (!is_template || checked.category == "utility");
        let pricing_type = if free {
            "free_customer_service"
        } else {
            "regular"
        };
        let persona = user.persona.clone();
        if let Some(p) = world.phones.get_mut(phone_id) {
            rules::record_send(p, now_ms);
        }
        world.sent.push(SentMessage {
            id: wamid.clone(),
            phone_number_id: phone_id.into(),
            to: to.clone(),
            wa_id: wa_id.clone(),
            msg_type: ty.clone(),
            timestamp: now_ms / 1000,
            accepted_at_ms: now_ms,
            request: body.clone(),
            statuses: Vec::new(),
            error_code: outcome.as_ref().map(|e| e.code),
        });
        (outcome, pricing_type, persona)
    };

    statuses::schedule(
        ctx.state.clone(),
        Outbound {
            wamid: wamid.clone(),
            phone_number_id: phone_id.into(),
            waba_id: phone.waba_id.clone(),
            display_phone_number: phone.display_phone_number.clone(),
            wa_id: wa_id.clone(),
            category: checked.category.clone(),
            pricing_type: pricing_type.into(),
            biz_opaque_callback_data: body
                .get("biz_opaque_callback_data")
                .and_then(Value::as_str)
                .map(str::to_string),
            voice: ty == "audio",
            persona,
            request: body.clone(),
        },
        outcome,
    );

    let mut message = json!({"id": wamid});
    if ty == "template" {
        message["message_status"] = json!("accepted");
    }
    Ok(ok(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": wa_id}],
        "messages": [message],
    })))
}

/// What validation learnt about a send.
struct Checked {
    /// Pricing category: `service` for free-form, the template's category otherwise.
    category: String,
    /// A media problem Meta reports asynchronously (131053 in a `failed` status).
    async_error: Option<GraphError>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

fn validate(ctx: &Ctx, phone: &Phone, ty: &str, body: &Value) -> GraphResult<Checked> {
    let mut checked = Checked {
        category: "service".into(),
        async_error: None,
    };
    let payload = body.get(ty);
    if !matches!(ty, "template") && payload.is_none() {
        return Err(GraphError::required_parameter(format!(
            "The parameter {ty} is required for messages of type {ty}."
        )));
    }
    let payload = payload.cloned().unwrap_or(Value::Null);
    match ty {
        "text" => {
            let Some(text) = str_field(&payload, "body") else {
                return Err(GraphError::required_parameter("text['body'] is required."));
            };
            if text.trim().is_empty() {
                return Err(GraphError::invalid_value("text['body'] must not be empty."));
            }
            if char_len(text) > 4096 {
                return Err(GraphError::invalid_parameter(
                    "Param text['body'] must be at most 4096 characters long.",
                ));
            }
        }
        t if MEDIA_TYPES.contains(&t) => {
            checked.async_error = validate_media(ctx, phone, t, &payload)?;
        }
        "location" => {
            for key in ["latitude", "longitude"] {
                let v = payload.get(key);
                let n = v.and_then(|v| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                });
                match n {
                    None => {
                        return Err(GraphError::required_parameter(format!(
                            "location['{key}'] is required."
                        )))
                    }
                    Some(x) if key == "latitude" && !(-90.0..=90.0).contains(&x) => {
                        return Err(GraphError::invalid_value("latitude must be within ±90."))
                    }
                    Some(x) if key == "longitude" && !(-180.0..=180.0).contains(&x) => {
                        return Err(GraphError::invalid_value("longitude must be within ±180."))
                    }
                    Some(_) => {}
                }
            }
        }
        "contacts" => {
            let Some(list) = payload.as_array().filter(|l| !l.is_empty()) else {
                return Err(GraphError::required_parameter(
                    "contacts must be a non-empty array.",
                ));
            };
            for (i, c) in list.iter().enumerate() {
                if c.get("name")
                    .and_then(|n| n.get("formatted_name"))
                    .and_then(Value::as_str)
                    .is_none()
                {
                    return Err(GraphError::required_parameter(format!(
                        "contacts[{i}]['name']['formatted_name'] is required."
                    )));
                }
            }
        }
        "reaction" => {
            if str_field(&payload, "message_id").is_none() {
                return Err(GraphError::required_parameter(
                    "reaction['message_id'] is required.",
                ));
            }
            if payload.get("emoji").is_some_and(|e| !e.is_string()) {
                return Err(GraphError::invalid_value("reaction['emoji'] must be a string."));
            }
        }
        "interactive" => validate_interactive(&payload)?,
        "template" => {
            let tpl = body.get("template").cloned().unwrap_or(Value::Null);
            let Some(name) = str_field(&tpl, "name") else {
                return Err(GraphError::required_parameter("template['name'] is required."));
            };
            let Some(language) = tpl
                .get("language")
                .and_then(|l| l.get("code"))
                .and_then(Value::as_str)
            else {
                return Err(GraphError::required_parameter(
                    "template['language']['code'] is required.",
                ));
            };
            {
                let world = ctx.state.world.lock();
                let template = rules::find_template(
                    world.templates.values(),
                    &phone.waba_id,
                    name,
                    language,
                )?;
                rules::check_template_params(template, &tpl)?;
                checked.category = template.category.to_ascii_lowercase();
            }
            // A media header's file is checked as a media message's is: an uploaded id of
            // this business that still lives, of a kind the header takes, or an http(s) link.
            if let Some((kind, media)) = rules::template_header_media(&tpl) {
                checked.async_error = validate_media(ctx, phone, &kind, &media)?;
            }
        }
        other => {
            return Err(GraphError::invalid_parameter(format!(
                "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got \"{other}\"."
            )))
        }
    }
    Ok(checked)
}

fn validate_media(
    ctx: &Ctx,
    phone: &Phone,
    ty: &str,
    payload: &Value,
) -> GraphResult<Option<GraphError>> {
    let id = str_field(payload, "id");
    let link = str_field(payload, "link");
    match (id, link) {
        (None, None) => {
            return Err(GraphError::required_parameter(format!(
                "{ty} requires either 'id' or 'link'."
            )))
        }
        (Some(_), Some(_)) => {
            return Err(GraphError::invalid_parameter(format!(
                "{ty}: pass either 'id' or 'link', not both."
            )))
        }
        _ => {}
    }
    if payload.get("caption").is_some() && matches!(ty, "audio" | "sticker") {
        return Err(GraphError::invalid_parameter(format!(
            "Param {ty}['caption'] is not valid for {ty} messages."
        )));
    }
    if let Some(link) = link {
        let ok = url::Url::parse(link)
            .map(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or(false);
        if !ok {
            return Err(GraphError::invalid_value(format!(
                "{ty}['link'] must be an http(s) URL."
            )));
        }
        return Ok(None);
    }
    let id = id.unwrap_or_default();
    let now = ctx.state.clock.now_ms();
    let world = ctx.state.world.lock();
    // An expired id (30 days after upload) is as unknown to Meta as one never issued.
    let Some(media) = world
        .media
        .get(id)
        .filter(|m| m.waba_id == phone.waba_id && m.alive(now))
    else {
        return Err(GraphError::invalid_value(format!(
            "Invalid media id '{id}': it does not exist, expired or belongs to another business."
        )));
    };
    let (kind, _) = assets::supported(&media.mime_type).unwrap_or((assets::Kind::Document, 0));
    let wanted = assets::Kind::from_message_type(ty);
    // Any file but a sticker may also go out as a document.
    let compatible = Some(kind) == wanted || (ty == "document" && kind != assets::Kind::Sticker);
    if !compatible {
        return Ok(Some(GraphError::media(format!(
            "The media {id} is {} ({}), which cannot be sent as {ty}.",
            media.mime_type,
            kind.as_str()
        ))));
    }
    if ty == "sticker"
        && !assets::webp_is_animated(&media.bytes)
        && media.bytes.len() as u64 > assets::STATIC_STICKER_MAX
    {
        return Ok(Some(GraphError::media(
            "Static stickers must be at most 100 KB.",
        )));
    }
    Ok(None)
}

fn validate_interactive(i: &Value) -> GraphResult<()> {
    let Some(kind) = str_field(i, "type") else {
        return Err(GraphError::required_parameter(
            "interactive['type'] is required.",
        ));
    };
    let needs_body = !matches!(kind, "product");
    let body_text = i
        .get("body")
        .and_then(|b| b.get("text"))
        .and_then(Value::as_str);
    if needs_body && body_text.is_none() {
        return Err(GraphError::required_parameter(
            "interactive['body']['text'] is required.",
        ));
    }
    if body_text.is_some_and(|t| char_len(t) > 1024) {
        return Err(GraphError::invalid_parameter(
            "interactive['body']['text'] must be at most 1024 characters.",
        ));
    }
    if let Some(h) = i.get("header") {
        if str_field(h, "type") == Some("text")
            && str_field(h, "text").is_some_and(|t| char_len(t) > 60)
        {
            return Err(GraphError::invalid_parameter(
                "interactive['header']['text'] must be at most 60 characters.",
            ));
        }
    }
    if i.get("footer")
        .and_then(|f| str_field(f, "text"))
        .is_some_and(|t| char_len(t) > 60)
    {
        return Err(GraphError::invalid_parameter(
            "interactive['footer']['text'] must be at most 60 characters.",
        ));
    }
    let action = i.get("action").cloned().unwrap_or(Value::Null);
    match kind {
        "button" => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if buttons.is_empty() || buttons.len() > 3 {
                return Err(GraphError::invalid_parameter(
                    "interactive['action']['buttons'] must have 1 to 3 buttons.",
                ));
            }
            let mut seen = Vec::new();
            for b in &buttons {
                let reply = b.get("reply").cloned().unwrap_or(Value::Null);
                let (Some(id), Some(title)) = (str_field(&reply, "id"), str_field(&reply, "title"))
                else {
                    return Err(GraphError::required_parameter(
                        "each button needs reply['id'] and reply['title'].",
                    ));
                };
                if char_len(title) > 20 {
                    return Err(GraphError::invalid_parameter(
                        "Button title length must be at most 20 characters.",
                    ));
                }
                if char_len(id) > 256 {
                    return Err(GraphError::invalid_parameter(
                        "Button id must be at most 256 characters.",
                    ));
                }
                if seen.contains(&id.to_string()) {
                    return Err(GraphError::invalid_parameter("Button ids must be unique."));
                }
                seen.push(id.to_string());
            }
        }
        "list" => {
            let Some(button) = str_field(&action, "button") else {
                return Err(GraphError::required_parameter(
                    "interactive['action']['button'] is required.",
                ));
            };
            if char_len(button) > 20 {
                return Err(GraphError::invalid_parameter(
                    "interactive['action']['button'] must be at most 20 characters.",
                ));
            }
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if sections.is_empty() || sections.len() > 10 {
                return Err(GraphError::invalid_parameter(
                    "interactive['action']['sections'] must have 1 to 10 sections.",
                ));
            }
            let mut rows = 0;
            for s in &sections {
                for r in s
                    .get("rows")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    rows += 1;
                    if str_field(r, "id").is_none() || str_field(r, "title").is_none() {
                        return Err(GraphError::required_parameter(
                            "each row needs 'id' and 'title'.",
                        ));
                    }
                    if str_field(r, "title").is_some_and(|t| char_len(t) > 24) {
                        return Err(GraphError::invalid_parameter(
                            "Row title must be at most 24 characters.",
                        ));
                    }
                    if str_field(r, "description").is_some_and(|t| char_len(t) > 72) {
                        return Err(GraphError::invalid_parameter(
                            "Row description must be at most 72 characters.",
                        ));
                    }
                }
            }
            if rows == 0 || rows > 10 {
                return Err(GraphError::invalid_parameter(
                    "A list message must have 1 to 10 rows in total.",
                ));
            }
        }
        "cta_url" => {
            let params = action.get("parameters").cloned().unwrap_or(Value::Null);
            let (Some(text), Some(url)) = (
                str_field(&params, "display_text"),
                str_field(&params, "url"),
            ) else {
                return Err(GraphError::required_parameter(
                    "cta_url needs action['parameters']['display_text'] and ['url'].",
                ));
            };
            if char_len(text) > 20 {
                return Err(GraphError::invalid_parameter(
                    "display_text must be at most 20 characters.",
                ));
            }
            if url::Url::parse(url).is_err() {
                return Err(GraphError::invalid_value("cta_url url is not a valid URL."));
            }
        }
        "flow" => {
            let params = action.get("parameters").cloned().unwrap_or(Value::Null);
            if str_field(&params, "flow_message_version") != Some("3") {
                return Err(GraphError::invalid_parameter(
                    "flow_message_version must be \"3\".",
                ));
            }
            if str_field(&params, "flow_id").is_none() && str_field(&params, "flow_name").is_none()
            {
                return Err(GraphError::required_parameter(
                    "a flow message needs flow_id or flow_name.",
                ));
            }
        }
        "product"
        | "product_list"
        | "catalog_message"
        | "location_request_message"
        | "address_message"
        | "call_permission_request"
        | "order_details"
        | "order_status" => {}
        other => {
            return Err(GraphError::invalid_parameter(format!(
                "Unsupported interactive type '{other}'."
            )))
        }
    }
    Ok(())
}

/// Mark as read (`status: read`), optionally with a typing indicator.
/// Waits as long as the configured latency says, before anything is checked or recorded.
async fn network_latency(ctx: &Ctx) {
    let [min, max] = ctx.state.cfg().send_latency_ms;
    if max == 0 {
        return;
    }
    let ms = rand::Rng::gen_range(&mut rand::thread_rng(), min.min(max)..=max);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

fn mark_read(ctx: &Ctx, phone: &Phone, body: &Value) -> GraphResult<Response> {
    let Some(message_id) = str_field(body, "message_id") else {
        return Err(GraphError::required_parameter("message_id is required."));
    };
    if let Some(t) = body.get("typing_indicator") {
        if str_field(t, "type") != Some("text") {
            return Err(GraphError::invalid_parameter(
                "typing_indicator['type'] must be 'text'.",
            ));
        }
    }
    let now = ctx.state.clock.now_secs();
    let mut world = ctx.state.world.lock();
    let Some(pos) = world
        .inbound
        .iter()
        .position(|m| m.id == message_id && m.phone_number_id == phone.id)
    else {
        return Err(GraphError::invalid_value(format!(
            "Invalid message_id '{message_id}': no message with this id was received by this number."
        )));
    };
    // Marking a message read marks the earlier messages of the same conversation read too.
    let from = world.inbound[pos].from.clone();
    for m in world.inbound[..=pos].iter_mut() {
        if m.from == from && m.phone_number_id == phone.id {
            m.read = true;
        }
    }
    world.read_marks.push(json!({
        "phone_number_id": phone.id,
        "message_id": message_id,
        "typing_indicator": body.get("typing_indicator").is_some(),
        "timestamp": now,
    }));
    Ok(success())
}

trait WithMessage {
    fn with_message(self, message: &str) -> Self;
}

impl WithMessage for GraphError {
    fn with_message(mut self, message: &str) -> Self {
        self.message = message.into();
        self
    }
}
