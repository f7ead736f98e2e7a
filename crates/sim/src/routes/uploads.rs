//! Meta's Resumable Upload API, which yields the asset handles of template header examples and
//! of the business profile photo (CLOUD-API-NOTES.md §5.5):
//! `POST /{app-id}/uploads?file_name&file_length&file_type` opens a session
//! (`{"id": "upload:<session>"}`); `POST /upload:<session>` with a `file_offset` header appends
//! the body and, once every announced byte is there, answers the handle `{"h": "4::…"}`;
//! `GET /upload:<session>` answers `{"file_offset": n}`, where an interrupted upload resumes.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{GraphError, GraphResult};
use crate::ids;
use crate::routes::{ok, Ctx};
use crate::state::{UploadSession, UploadedAsset};

/// The file types the API takes (Meta's guide lists exactly these).
pub const FILE_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "video/mp4",
];

/// Larger than any template sample Meta takes (video headers: 16 MB).
pub const MAX_FILE_LENGTH: u64 = 100 * 1024 * 1024;

fn text(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `POST /{app-id}/uploads`: opens a session for a file announced by name, length and type.
pub fn open(ctx: &Ctx, body: &Value) -> GraphResult<Response> {
    let token = ctx.token()?;
    let file_type = text(body, "file_type")
        .ok_or_else(|| GraphError::required_parameter("file_type is required"))?;
    if !FILE_TYPES.contains(&file_type.as_str()) {
        return Err(GraphError::invalid_parameter(format!(
            "file_type must be one of {}",
            FILE_TYPES.join(", ")
        )));
    }
    let file_length: u64 = text(body, "file_length")
        .ok_or_else(|| GraphError::required_parameter("file_length is required"))?
        .parse()
        .map_err(|_| GraphError::invalid_parameter("file_length must be a number of bytes"))?;
    if file_length == 0 || file_length > MAX_FILE_LENGTH {
        return Err(GraphError::invalid_parameter(format!(
            "file_length must be between 1 and {MAX_FILE_LENGTH} bytes"
        )));
    }
    let id = ids::hex_id(24);
    ctx.state.world.lock().uploads.insert(
        id.clone(),
        UploadSession {
            file_name: text(body, "file_name").unwrap_or_default(),
            file_type,
            file_length,
            received: Vec::new(),
            token: token.token,
        },
    );
    Ok(ok(json!({"id": format!("upload:{id}")})))
}

/// `POST /upload:<session>`: appends the body at `file_offset` (which must be where the session
/// stands); the handle once the file is complete.
pub fn append(ctx: &Ctx, id: &str, bytes: &[u8]) -> GraphResult<Response> {
    let token = ctx.token()?;
    let offset: u64 = ctx
        .headers
        .get("file_offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| GraphError::required_parameter("the file_offset header is required"))?;
    let mut world = ctx.state.world.lock();
    let session = session(&mut world.uploads, id, &token.token)?;
    let have = session.received.len() as u64;
    if offset != have {
        return Err(GraphError::invalid_parameter(format!(
            "file_offset {offset} does not match the {have} bytes received; resume from {have}"
        )));
    }
    if have + bytes.len() as u64 > session.file_length {
        return Err(GraphError::invalid_parameter(format!(
            "more bytes than the announced file_length {}",
            session.file_length
        )));
    }
    session.received.extend_from_slice(bytes);
    if (session.received.len() as u64) < session.file_length {
        return Ok(ok(
            json!({"id": format!("upload:{id}"), "file_offset": session.received.len()}),
        ));
    }
    let Some(done) = world.uploads.remove(id) else {
        return Err(GraphError::unknown_object("POST", &format!("upload:{id}")));
    };
    let type_b64 = base64::engine::general_purpose::STANDARD.encode(done.file_type.as_bytes());
    let handle = format!("4::{type_b64}:{}", ids::hex_id(32));
    world.assets.insert(
        handle.clone(),
        UploadedAsset {
            file_type: done.file_type,
            size: done.file_length,
            sha256: hex::encode(Sha256::digest(&done.received)),
        },
    );
    Ok(ok(json!({"h": handle})))
}

/// `GET /upload:<session>`: how many bytes arrived.
pub fn progress(ctx: &Ctx, id: &str) -> GraphResult<Response> {
    let token = ctx.token()?;
    let mut world = ctx.state.world.lock();
    let session = session(&mut world.uploads, id, &token.token)?;
    Ok(ok(
        json!({"id": format!("upload:{id}"), "file_offset": session.received.len()}),
    ))
}

fn session<'a>(
    uploads: &'a mut std::collections::HashMap<String, UploadSession>,
    id: &str,
    token: &str,
) -> GraphResult<&'a mut UploadSession> {
    uploads
        .get_mut(id)
        .filter(|s| s.token == token)
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                100,
                format!("Unsupported request: upload session upload:{id} does not exist"),
            )
        })
}

/// The asset behind `handle` when it is one this simulator issued for one of `types`, else a
/// clear error naming `field`.
pub fn check_handle(
    assets: &std::collections::HashMap<String, UploadedAsset>,
    handle: &str,
    types: &[&str],
    field: &str,
) -> GraphResult<UploadedAsset> {
    let asset = assets.get(handle).ok_or_else(|| {
        GraphError::invalid_parameter(format!(
            "{field}: not a handle from the Resumable Upload API"
        ))
    })?;
    if !types.contains(&asset.file_type.as_str()) {
        return Err(GraphError::invalid_parameter(format!(
            "{field}: a {} file cannot be used here ({} expected)",
            asset.file_type,
            types.join(" or ")
        )));
    }
    Ok(asset.clone())
}
