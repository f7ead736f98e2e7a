//! Media: `POST /{phone}/media` (multipart upload), `GET /{media-id}` (a download URL valid for
//! five minutes), the download itself (Bearer token required), `DELETE /{media-id}`.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::assets;
use crate::error::{GraphError, GraphResult};
use crate::ids;
use crate::routes::{ok, success, Ctx};
use crate::state::{AppState, Media, World};

/// "Media IDs returned by the API expire after 30 days" (CLOUD-API-NOTES.md §4).
pub const UPLOAD_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;
/// "Media IDs in webhooks expire after 7 days."
pub const WEBHOOK_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;

/// Stores bytes as a media object of `waba_id`, alive for `lifetime_ms`, and returns its id.
pub fn store(
    world: &mut World,
    waba_id: &str,
    mime_type: &str,
    bytes: Bytes,
    filename: Option<String>,
    now_ms: i64,
    lifetime_ms: i64,
) -> String {
    let id = ids::graph_id();
    world.media.insert(
        id.clone(),
        Media {
            id: id.clone(),
            waba_id: waba_id.into(),
            mime_type: mime_type.into(),
            sha256: assets::sha256_b64(&bytes),
            bytes,
            filename,
            created_ms: now_ms,
            expires_ms: now_ms.saturating_add(lifetime_ms),
        },
    );
    id
}

pub async fn upload(ctx: &Ctx, phone_id: &str, req: Request) -> GraphResult<Response> {
    let token = ctx.token()?;
    let phone = ctx.phone(&token, phone_id)?;
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|e| GraphError::invalid_parameter(format!("Expected multipart/form-data: {e}")))?;
    let mut file: Option<(Bytes, Option<String>, Option<String>)> = None;
    let mut declared: Option<String> = None;
    let mut product: Option<String> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(GraphError::invalid_parameter(format!(
                    "Malformed multipart body: {e}"
                )))
            }
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                let ct = field.content_type().map(str::to_string);
                let filename = field.file_name().map(str::to_string);
                let data = field.bytes().await.map_err(|e| {
                    GraphError::invalid_parameter(format!("Cannot read the file part: {e}"))
                })?;
                file = Some((data, ct, filename));
            }
            "type" => declared = field.text().await.ok(),
            "messaging_product" => product = field.text().await.ok(),
            _ => {}
        }
    }
    if product.as_deref() != Some("whatsapp") {
        return Err(GraphError::invalid_parameter(
            "The parameter messaging_product is required and must be 'whatsapp'.",
        ));
    }
    let Some((data, part_type, filename)) = file else {
        return Err(GraphError::invalid_parameter(
            "The parameter file is required.",
        ));
    };
    let Some(mime) = declared.or(part_type) else {
        return Err(GraphError::invalid_parameter(
            "The parameter type is required.",
        ));
    };
    let Some((kind, max)) = assets::supported(&mime) else {
        return Err(GraphError::media(format!(
            "Unsupported file type {mime}. See the supported media types."
        )));
    };
    if data.is_empty() {
        return Err(GraphError::media("The uploaded file is empty."));
    }
    if data.len() as u64 > max {
        return Err(GraphError::media(format!(
            "The file is {} bytes; {} files may be at most {} bytes.",
            data.len(),
            kind.as_str(),
            max
        )));
    }
    assets::check_content(&mime, &data).map_err(GraphError::media)?;
    let now = ctx.state.clock.now_ms();
    let id = store(
        &mut ctx.state.world.lock(),
        &phone.waba_id,
        &mime,
        data,
        filename,
        now,
        UPLOAD_LIFETIME_MS,
    );
    Ok(ok(json!({ "id": id })))
}

fn media_for(ctx: &Ctx, id: &str) -> GraphResult<Media> {
    let token = ctx.token()?;
    let now = ctx.state.clock.now_ms();
    let world = ctx.state.world.lock();
    let media = world
        .media
        .get(id)
        .filter(|m| token.waba_ids.contains(&m.waba_id) && m.alive(now))
        .cloned()
        .ok_or_else(|| GraphError::unknown_object(ctx.method.as_str(), id))?;
    if let Some(pid) = ctx.query.get("phone_number_id") {
        let same = world
            .phones
            .get(pid)
            .is_some_and(|p| p.waba_id == media.waba_id);
        if !same {
            return Err(GraphError::invalid_parameter(format!(
                "The media {id} does not belong to phone number {pid}."
            )));
        }
    }
    Ok(media)
}

fn url_hash(state: &AppState, mid: &str, ext: i64) -> String {
    // HMAC takes keys of any length: this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&state.url_key) else {
        return String::new();
    };
    mac.update(format!("{mid}|{ext}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// `GET /{media-id}`: the download URL (valid for `media.url_ttl_secs`) and the metadata.
pub fn retrieve(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let media = media_for(ctx, id)?;
    let ttl = i64::try_from(ctx.state.config.read().media.url_ttl_secs).unwrap_or(300);
    let ext = ctx.state.clock.now_secs() + ttl;
    let url = format!(
        "{}/whatsapp_business/attachments/?mid={}&ext={}&hash={}",
        ctx.state.base_url,
        media.id,
        ext,
        url_hash(&ctx.state, &media.id, ext)
    );
    Ok(ok(json!({
        "messaging_product": "whatsapp",
        "url": url,
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "file_size": media.bytes.len().to_string(),
        "id": media.id,
    })))
}

pub fn delete(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let media = media_for(ctx, id)?;
    ctx.state.world.lock().media.remove(&media.id);
    Ok(success())
}

fn plain_error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(GraphError::new(status, code, message).body()),
    )
        .into_response()
}

/// The download URL itself (Meta's lookaside host): needs `Authorization: Bearer` with a
/// token that may see the media, and an unexpired, untampered URL.
pub async fn download(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let Some(token) = token else {
        return plain_error(
            StatusCode::UNAUTHORIZED,
            104,
            "An access token is required to download this media.",
        );
    };
    let (Some(mid), Some(ext), Some(hash)) = (q.get("mid"), q.get("ext"), q.get("hash")) else {
        return plain_error(StatusCode::NOT_FOUND, 100, "Invalid media URL.");
    };
    let Ok(ext_n) = ext.parse::<i64>() else {
        return plain_error(StatusCode::NOT_FOUND, 100, "Invalid media URL.");
    };
    let expected = url_hash(&state, mid, ext_n);
    if !subtle_eq(expected.as_bytes(), hash.as_bytes()) {
        return plain_error(StatusCode::NOT_FOUND, 100, "Invalid media URL.");
    }
    let world = state.world.lock();
    let tok = match world.tokens.get(&token) {
        Some(t) if !t.revoked => t.clone(),
        Some(_) => {
            return GraphError::revoked_token().into_response();
        }
        None => return GraphError::invalid_token().into_response(),
    };
    if state.clock.now_secs() > ext_n {
        return plain_error(
            StatusCode::NOT_FOUND,
            100,
            "URL signature expired. Retrieve a new URL with GET /{media-id}.",
        );
    }
    let Some(media) = world.media.get(mid) else {
        return plain_error(StatusCode::NOT_FOUND, 100, "The media was deleted.");
    };
    if !tok.waba_ids.contains(&media.waba_id) {
        return plain_error(
            StatusCode::FORBIDDEN,
            200,
            "(#200) The token may not access this media.",
        );
    }
    let mut resp = (StatusCode::OK, media.bytes.clone()).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&media.mime_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if let Some(name) = &media.filename {
        if let Ok(v) = header::HeaderValue::from_str(&format!(
            "attachment; filename=\"{}\"",
            name.replace('"', "")
        )) {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
    }
    resp
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `{id, mime_type, sha256}` object of an inbound media message.
pub fn inbound_object(media: &Media) -> Value {
    json!({
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "id": media.id,
    })
}
