//! Templates: `GET|POST|DELETE /{waba}/message_templates` (cursor paging, create, delete by
//! name or `hsm_id`), `GET|POST /{template-id}` (read, edit). Review: see [`crate::review`].

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::error::{GraphError, GraphResult};
use crate::ids;
use crate::review;
use crate::routes::{ok_with_usage, select_fields, success, Ctx};
use crate::rules::variables;
use crate::state::Template;

pub const DEFAULT_FIELDS: [&str; 7] = [
    "name",
    "parameter_format",
    "components",
    "language",
    "status",
    "category",
    "previous_category",
];

fn template_error(subcode: i64, title: &str, msg: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, 100, "Invalid parameter")
        .subcode(subcode)
        .user(title, msg)
        .details(msg.to_string())
}

pub fn list(ctx: &Ctx, waba_id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, waba_id)?;
    let usage = ctx.management_call(waba_id)?;
    let q = &ctx.query;
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 1000);
    let statuses: Vec<String> = q
        .get("status")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default();
    let mut items: Vec<Template> = {
        let world = ctx.state.world.lock();
        world
            .templates
            .values()
            .filter(|t| t.waba_id == waba_id)
            .filter(|t| q.get("name").is_none_or(|n| t.name.contains(n.as_str())))
            .filter(|t| statuses.is_empty() || statuses.contains(&t.status))
            .filter(|t| {
                q.get("category")
                    .is_none_or(|c| t.category.eq_ignore_ascii_case(c))
            })
            .filter(|t| q.get("language").is_none_or(|l| &t.language == l))
            .cloned()
            .collect()
    };
    items.sort_by_key(|t| t.seq);
    let (start, end) = if let Some(after) = q.get("after") {
        let s = ids::parse_cursor(after)
            .ok_or_else(|| GraphError::invalid_parameter("Invalid 'after' cursor."))?
            .saturating_add(1)
            .min(items.len());
        (s, (s + limit).min(items.len()))
    } else if let Some(before) = q.get("before") {
        let e = ids::parse_cursor(before)
            .ok_or_else(|| GraphError::invalid_parameter("Invalid 'before' cursor."))?
            .min(items.len());
        (e.saturating_sub(limit), e)
    } else {
        (0, limit.min(items.len()))
    };
    let fields = q.get("fields").map(String::as_str);
    let data: Vec<Value> = items[start..end]
        .iter()
        .map(|t| select_fields(t.to_json(), fields, &DEFAULT_FIELDS))
        .collect();
    let mut body = json!({ "data": data });
    if start < end {
        let mut paging = json!({
            "cursors": {"before": ids::cursor(start), "after": ids::cursor(end - 1)}
        });
        let link = |key: &str, cursor: String| {
            let mut params: Vec<(String, String)> = q
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "after" | "before"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            params.sort();
            params.push((key.to_string(), cursor));
            let qs = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            format!("{}/{}/message_templates?{}", ctx.graph_base(), waba_id, qs)
        };
        if end < items.len() {
            paging["next"] = json!(link("after", ids::cursor(end - 1)));
        }
        if start > 0 {
            paging["previous"] = json!(link("before", ids::cursor(start)));
        }
        body["paging"] = paging;
    }
    Ok(ok_with_usage(body, &usage))
}

/// Synchronous checks of a template's components (the asynchronous review is elsewhere).
/// A media header's example must be a handle from the Resumable Upload API, of a file of the
/// header's kind.
fn check_header_media(ctx: &Ctx, components: &Value) -> GraphResult<()> {
    for c in components.as_array().into_iter().flatten() {
        let is_header = c
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("HEADER"));
        let format = c
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        let types: &[&str] = match format.as_str() {
            "IMAGE" => &["image/jpeg", "image/jpg", "image/png"],
            "VIDEO" => &["video/mp4"],
            "DOCUMENT" => &["application/pdf"],
            _ => continue,
        };
        if !is_header {
            continue;
        }
        let handle = c
            .pointer("/example/header_handle/0")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                GraphError::required_parameter(
                    "A media header needs example.header_handle, a handle from the Resumable \
                     Upload API.",
                )
            })?;
        let world = ctx.state.world.lock();
        crate::routes::uploads::check_handle(
            &world.assets,
            handle,
            types,
            "example.header_handle",
        )?;
    }
    Ok(())
}

fn check_components(components: &Value, category: &str) -> GraphResult<()> {
    let Some(list) = components.as_array() else {
        return Err(GraphError::invalid_parameter(
            "components must be an array.",
        ));
    };
    let find = |ty: &str| {
        list.iter().find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(ty))
        })
    };
    let Some(body) = find("BODY") else {
        return Err(GraphError::invalid_parameter(
            "A template needs a BODY component.",
        ));
    };
    for c in list {
        let ty = c.get("type").and_then(Value::as_str).unwrap_or("");
        if !["HEADER", "BODY", "FOOTER", "BUTTONS"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(ty))
        {
            return Err(GraphError::invalid_parameter(format!(
                "Unknown component type '{ty}'."
            )));
        }
    }
    if category == "AUTHENTICATION" {
        return Ok(());
    }
    let text = body.get("text").and_then(Value::as_str).unwrap_or("");
    if text.trim().is_empty() {
        return Err(GraphError::invalid_parameter("BODY text is required."));
    }
    if text.chars().count() > 1024 {
        return Err(template_error(
            2388040,
            "Message template character limit exceeded",
            "The BODY text may be at most 1024 characters.",
        ));
    }
    let trimmed = text.trim();
    if trimmed.starts_with("{{") || trimmed.ends_with("}}") {
        return Err(template_error(
            2388299,
            "Variables can't be at the start or end of the template",
            "Variables can't be at the start or end of the BODY text.",
        ));
    }
    if let Some(h) = find("HEADER") {
        let format = h.get("format").and_then(Value::as_str).unwrap_or("TEXT");
        if !["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(format))
        {
            return Err(template_error(
                2388047,
                "Message template header format is incorrect",
                "HEADER format must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION.",
            ));
        }
        if format.eq_ignore_ascii_case("TEXT") {
            let t = h.get("text").and_then(Value::as_str).unwrap_or("");
            if t.chars().count() > 60 || variables(t).len() > 1 {
                return Err(template_error(
                    2388047,
                    "Message template header format is incorrect",
                    "A TEXT header has at most 60 characters and one variable.",
                ));
            }
        }
    }
    if let Some(f) = find("FOOTER") {
        let t = f.get("text").and_then(Value::as_str).unwrap_or("");
        if t.chars().count() > 60 || !variables(t).is_empty() {
            return Err(template_error(
                2388073,
                "Message template footer format is incorrect",
                "A FOOTER has at most 60 characters and no variables.",
            ));
        }
    }
    if let Some(b) = find("BUTTONS") {
        let n = b
            .get("buttons")
            .and_then(Value::as_array)
            .map(Vec::len)
            .unwrap_or(0);
        if n == 0 || n > 10 {
            return Err(GraphError::invalid_parameter(
                "BUTTONS must have 1 to 10 buttons.",
            ));
        }
    }
    Ok(())
}

pub fn create(ctx: &Ctx, waba_id: &str, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, waba_id)?;
    let usage = ctx.management_call(waba_id)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if !cloud_api::templates::is_valid_template_name(name) {
        return Err(template_error(
            2388043,
            "Invalid template name",
            "Template names are 1-512 lowercase letters, digits and underscores.",
        ));
    }
    let Some(language) = body.get("language").and_then(Value::as_str) else {
        return Err(GraphError::invalid_parameter(
            "The parameter language is required.",
        ));
    };
    let category = body
        .get("category")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_uppercase();
    if !["MARKETING", "UTILITY", "AUTHENTICATION"].contains(&category.as_str()) {
        return Err(GraphError::invalid_parameter(
            "category must be MARKETING, UTILITY or AUTHENTICATION.",
        ));
    }
    let components = body.get("components").cloned().unwrap_or(Value::Null);
    check_components(&components, &category)?;
    check_header_media(ctx, &components)?;
    let parameter_format = match body.get("parameter_format").and_then(Value::as_str) {
        None => "POSITIONAL".to_string(),
        Some(f) if f.eq_ignore_ascii_case("named") => "NAMED".into(),
        Some(f) if f.eq_ignore_ascii_case("positional") => "POSITIONAL".into(),
        Some(f) => {
            return Err(GraphError::invalid_parameter(format!(
                "parameter_format must be 'named' or 'positional', not '{f}'."
            )))
        }
    };
    let id = {
        let mut world = ctx.state.world.lock();
        let exists = world
            .templates
            .values()
            .any(|t| t.waba_id == waba_id && t.name == name && t.language == language);
        if exists {
            return Err(template_error(
                2388024,
                "Content in this language already exists",
                &format!("A template named {name} already exists in {language}."),
            ));
        }
        world.insert_template(
            waba_id,
            name,
            language,
            &category,
            "PENDING",
            &parameter_format,
            components,
        )
    };
    review::schedule(&ctx.state, &id);
    Ok(ok_with_usage(
        json!({"id": id, "status": "PENDING", "category": category}),
        &usage,
    ))
}

pub fn delete(ctx: &Ctx, waba_id: &str, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    ctx.waba_access(&token, waba_id)?;
    let usage = ctx.management_call(waba_id)?;
    let params: HashMap<&str, String> = ["name", "hsm_id"]
        .into_iter()
        .filter_map(|k| {
            body.get(k)
                .map(|v| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .or_else(|| ctx.query.get(k).map(|v| (k, v.clone())))
        })
        .collect();
    let Some(name) = params.get("name") else {
        return Err(GraphError::invalid_parameter(
            "The parameter name is required.",
        ));
    };
    let removed: Vec<Template> = {
        let mut world = ctx.state.world.lock();
        let targets: Vec<Template> = world
            .templates
            .values()
            .filter(|t| t.waba_id == waba_id && &t.name == name)
            .filter(|t| params.get("hsm_id").is_none_or(|h| &t.id == h))
            .cloned()
            .collect();
        if targets.is_empty() {
            return Err(template_error(
                2593002,
                "Message template not found",
                &format!("No template named {name} matches."),
            ));
        }
        if targets.iter().any(|t| t.status == "DISABLED") {
            return Err(template_error(
                2388049,
                "Disabled templates can't be deleted",
                "Templates that are in a disabled status cannot be deleted.",
            ));
        }
        for t in &targets {
            world.templates.remove(&t.id);
        }
        targets
    };
    for t in removed {
        review::emit_status(&ctx.state, &t, "DELETED", "NONE", None);
    }
    Ok(ok_with_usage(json!({"success": true}), &usage))
}

fn template_for(ctx: &Ctx, id: &str) -> GraphResult<Template> {
    let token = ctx.token()?;
    let world = ctx.state.world.lock();
    world
        .templates
        .get(id)
        .filter(|t| token.waba_ids.contains(&t.waba_id))
        .cloned()
        .ok_or_else(|| GraphError::unknown_object(ctx.method.as_str(), id))
}

pub fn get(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let t = template_for(ctx, id)?;
    Ok(crate::routes::ok(select_fields(
        t.to_json(),
        ctx.query.get("fields").map(String::as_str),
        &DEFAULT_FIELDS,
    )))
}

/// `POST /{template-id}`: only APPROVED, REJECTED or PAUSED templates can be edited; the
/// category of an approved template cannot change; an edit goes back to review.
pub fn edit(ctx: &Ctx, id: &str, body: &Value) -> GraphResult<Response> {
    let t = template_for(ctx, id)?;
    if !["APPROVED", "REJECTED", "PAUSED"].contains(&t.status.as_str()) {
        return Err(GraphError::template_in_review());
    }
    let category = body
        .get("category")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase);
    if let Some(c) = &category {
        if !["MARKETING", "UTILITY", "AUTHENTICATION"].contains(&c.as_str()) {
            return Err(GraphError::invalid_parameter(
                "category must be MARKETING, UTILITY or AUTHENTICATION.",
            ));
        }
        if t.status == "APPROVED" && *c != t.category {
            return Err(template_error(
                2388040,
                "Category can't be edited",
                "You cannot edit the category of an approved template.",
            ));
        }
    }
    let components = body.get("components").cloned();
    if let Some(c) = &components {
        check_components(c, category.as_deref().unwrap_or(&t.category))?;
        check_header_media(ctx, c)?;
    }
    if category.is_none() && components.is_none() && body.get("message_send_ttl_seconds").is_none()
    {
        return Err(GraphError::invalid_parameter(
            "Nothing to edit: pass category, components or message_send_ttl_seconds.",
        ));
    }
    {
        let mut world = ctx.state.world.lock();
        if let Some(stored) = world.templates.get_mut(id) {
            if let Some(c) = category {
                stored.category = c;
            }
            if let Some(c) = components {
                stored.components = c;
            }
            stored.status = "PENDING".into();
            stored.rejected_reason = "NONE".into();
            stored.rejection_info = None;
        }
    }
    review::schedule(&ctx.state, id);
    Ok(success())
}
