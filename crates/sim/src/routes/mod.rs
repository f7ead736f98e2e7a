//! The Graph API surface: `/{version}/...` for any `vNN.N`, dispatched by hand because Graph
//! ids are global (`GET /{id}` is a number, a WABA, a template or a media object depending on
//! what the id names).

pub mod account;
pub mod media;
pub mod messages;
pub mod oauth;
pub mod templates;
pub mod uploads;

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::error::{GraphError, GraphResult};
use crate::ids;
use crate::state::{AppState, Phone, Token};

/// Largest body accepted on Graph routes (documents may be 100 MB).
pub const MAX_BODY: usize = 110 * 1024 * 1024;

/// One Graph request, parsed.
pub struct Ctx {
    pub state: AppState,
    pub method: Method,
    pub version: String,
    pub segments: Vec<String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
}

impl Ctx {
    /// The access token from `Authorization: Bearer|OAuth` or `?access_token=`.
    pub fn raw_token(&self) -> Option<String> {
        if let Some(h) = self.headers.get("authorization") {
            // Lossy: an app token `APP_ID|APP_SECRET` may carry non-ASCII secret bytes.
            let h = String::from_utf8_lossy(h.as_bytes());
            let h = h.trim();
            for scheme in ["Bearer ", "bearer ", "OAuth ", "oauth "] {
                if let Some(t) = h.strip_prefix(scheme) {
                    return Some(t.trim().to_string());
                }
            }
        }
        self.query.get("access_token").cloned()
    }

    /// The caller's token, checked: 104 when missing, 190 when unknown, revoked or expired.
    pub fn token(&self) -> GraphResult<Token> {
        let raw = self.raw_token().ok_or_else(GraphError::missing_token)?;
        let world = self.state.world.lock();
        let token = world
            .tokens
            .get(&raw)
            .cloned()
            .ok_or_else(GraphError::invalid_token)?;
        if token.revoked {
            return Err(GraphError::revoked_token());
        }
        if token.expires_at != 0 && token.expires_at <= self.state.clock.now_secs() {
            return Err(GraphError::expired_token());
        }
        Ok(token)
    }

    /// The number `id`, if the token may use it.
    pub fn phone(&self, token: &Token, id: &str) -> GraphResult<Phone> {
        let world = self.state.world.lock();
        world
            .phones
            .get(id)
            .filter(|p| token.waba_ids.contains(&p.waba_id))
            .cloned()
            .ok_or_else(|| GraphError::unknown_object(self.method.as_str(), id))
    }

    /// Checks the token may manage WABA `id`.
    pub fn waba_access(&self, token: &Token, id: &str) -> GraphResult<()> {
        let world = self.state.world.lock();
        if world.wabas.contains_key(id) && token.waba_ids.iter().any(|w| w == id) {
            Ok(())
        } else {
            Err(GraphError::unknown_object(self.method.as_str(), id))
        }
    }

    /// Counts a management call (80007) and returns the usage header value.
    pub fn management_call(&self, waba_id: &str) -> GraphResult<String> {
        let limits = self.state.config.read().limits.clone();
        let now = self.state.clock.now_ms();
        let mut world = self.state.world.lock();
        let active = world
            .phones
            .values()
            .any(|p| p.waba_id == waba_id && p.registered);
        let waba = world
            .wabas
            .get_mut(waba_id)
            .ok_or_else(|| GraphError::unknown_object("GET", waba_id))?;
        let pct = crate::rules::count_management_call(waba, active, &limits, now)?;
        Ok(json!({
            waba_id: [{
                "type": "whatsapp_business_management",
                "call_count": pct,
                "total_cputime": 1,
                "total_time": 1,
                "estimated_time_to_regain_access": 0,
            }]
        })
        .to_string())
    }

    /// The base of paging links: `{base_url}/{version}`.
    pub fn graph_base(&self) -> String {
        format!("{}/{}", self.state.base_url, self.version)
    }
}

/// A JSON `200 OK`.
pub fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

pub fn success() -> Response {
    ok(json!({"success": true}))
}

/// A 200 with the `x-business-use-case-usage` header of a management call.
pub fn ok_with_usage(v: Value, usage: &str) -> Response {
    let mut resp = ok(v);
    if let Ok(h) = HeaderValue::from_str(usage) {
        resp.headers_mut().insert("x-business-use-case-usage", h);
    }
    resp
}

/// Keeps the requested `fields` (comma-separated, nested `{...}` selections ignored) of an
/// object, always with `id`; with no `fields`, keeps `default` (all keys when empty).
pub fn select_fields(obj: Value, fields: Option<&str>, default: &[&str]) -> Value {
    let Value::Object(map) = obj else { return obj };
    let wanted: Vec<String> = match fields {
        Some(f) if !f.trim().is_empty() => {
            let mut depth = 0usize;
            let mut cleaned = String::new();
            for ch in f.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth = depth.saturating_sub(1),
                    _ if depth == 0 => cleaned.push(ch),
                    _ => {}
                }
            }
            cleaned
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        }
        _ if default.is_empty() => return Value::Object(map),
        _ => default.iter().map(|s| s.to_string()).collect(),
    };
    let mut out = Map::new();
    for (k, v) in map {
        if k == "id" || wanted.contains(&k) {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// Parses a request body as JSON, or as form fields (`a=b&c={"json":1}`), or an empty object.
pub fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> GraphResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/x-www-form-urlencoded") {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(bytes) {
            let value = serde_json::from_str::<Value>(&v)
                .ok()
                .filter(|j| j.is_object() || j.is_array())
                .unwrap_or(Value::String(v.to_string()));
            map.insert(k.to_string(), value);
        }
        return Ok(Value::Object(map));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        GraphError::invalid_parameter(format!("The request body is not valid JSON: {e}"))
    })
}

/// Adds the query parameters (but the token) to a JSON object body where absent: Graph takes
/// parameters from either place.
pub fn merge_query(body: &mut Value, query: &HashMap<String, String>) {
    if let Value::Object(map) = body {
        for (k, v) in query {
            if k == "access_token" || map.contains_key(k) {
                continue;
            }
            let value = serde_json::from_str::<Value>(v)
                .ok()
                .filter(|j| j.is_object() || j.is_array())
                .unwrap_or(Value::String(v.clone()));
            map.insert(k.clone(), value);
        }
    }
}

fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !a.is_empty()
        && !b.is_empty()
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_digit())
}

/// The kind of object a Graph id names.
enum Object {
    Phone,
    Waba,
    Template,
    Media,
    Business,
    None,
}

fn object_kind(state: &AppState, id: &str) -> Object {
    let world = state.world.lock();
    if world.phones.contains_key(id) {
        Object::Phone
    } else if world.wabas.contains_key(id) {
        Object::Waba
    } else if world.templates.contains_key(id) {
        Object::Template
    } else if world.media.contains_key(id) {
        Object::Media
    } else if world.businesses.contains_key(id) {
        Object::Business
    } else {
        Object::None
    }
}

/// The single entry point of every `/{version}/...` request.
pub async fn graph(State(state): State<AppState>, req: Request) -> Response {
    let mut resp = match dispatch(state, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    let h = resp.headers_mut();
    let trace = ids::fbtrace_id();
    if let Ok(v) = HeaderValue::from_str(&trace) {
        h.insert("x-fb-trace-id", v.clone());
        h.insert("x-fb-request-id", v);
    }
    resp
}

async fn dispatch(state: AppState, req: Request) -> GraphResult<Response> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().trim_matches('/').to_string();
    let mut segs = path.split('/').map(percent_decode);
    let version = segs.next().unwrap_or_default();
    if !is_version(&version) {
        return Err(GraphError::unknown_path(&path));
    }
    let segments: Vec<String> = segs.filter(|s| !s.is_empty()).collect();
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let ctx = Ctx {
        state: state.clone(),
        method: parts.method.clone(),
        version: version.clone(),
        segments: segments.clone(),
        query,
        headers: parts.headers.clone(),
    };
    let m = parts.method.clone();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();

    // Media upload needs the multipart body itself.
    if m == Method::POST && segs.len() == 2 && segs[1] == "media" {
        let req = Request::from_parts(parts, body);
        return media::upload(&ctx, segs[0], req).await;
    }

    let bytes = axum::body::to_bytes(Body::new(body), MAX_BODY)
        .await
        .map_err(|e| GraphError::invalid_parameter(format!("cannot read the body: {e}")))?;
    // The upload step's body is the file itself, not parameters.
    if let [session] = segs.as_slice() {
        if let Some(id) = session.strip_prefix("upload:") {
            return match m {
                Method::POST => uploads::append(&ctx, id, &bytes),
                Method::GET => uploads::progress(&ctx, id),
                _ => Err(GraphError::unknown_path(&path)),
            };
        }
    }
    let mut body = parse_body(&parts.headers, &bytes)?;
    if m != Method::GET {
        merge_query(&mut body, &ctx.query);
    }

    let method = m.as_str().to_string();
    match (method.as_str(), segs.as_slice()) {
        (_, ["oauth", "access_token"]) => oauth::exchange(&ctx, &body),
        ("GET", ["debug_token"]) => oauth::debug_token(&ctx),
        ("GET", ["me"]) => oauth::me(&ctx),
        ("POST", [app, "uploads"]) if *app == state.cfg().app_id => uploads::open(&ctx, &body),
        (_, [id, rest @ ..]) => {
            let id = *id;
            match (object_kind(&state, id), method.as_str(), rest) {
                (Object::Phone, "POST", ["messages"]) => messages::send(&ctx, id, &body).await,
                (Object::Phone, "GET", []) => account::get_phone(&ctx, id),
                (Object::Phone, "POST", []) => account::update_phone(&ctx, id, &body).await,
                (Object::Phone, "POST", ["register"]) => account::register(&ctx, id, &body),
                (Object::Phone, "POST", ["deregister"]) => account::deregister(&ctx, id),
                (Object::Phone, "GET", ["whatsapp_business_profile"]) => {
                    account::get_profile(&ctx, id)
                }
                (Object::Phone, "POST", ["whatsapp_business_profile"]) => {
                    account::update_profile(&ctx, id, &body)
                }
                (Object::Phone, "POST", ["request_code" | "verify_code"]) => {
                    let token = ctx.token()?;
                    ctx.phone(&token, id)?;
                    Ok(success())
                }
                (Object::Waba, "GET", []) => account::get_waba(&ctx, id),
                (Object::Waba, "GET", ["phone_numbers"]) => account::list_phones(&ctx, id),
                (Object::Waba, "GET", ["subscribed_apps"]) => account::list_subscriptions(&ctx, id),
                (Object::Waba, "POST", ["subscribed_apps"]) => {
                    account::subscribe(&ctx, id, &body).await
                }
                (Object::Waba, "DELETE", ["subscribed_apps"]) => account::unsubscribe(&ctx, id),
                (Object::Waba, "GET", ["message_templates"]) => templates::list(&ctx, id),
                (Object::Waba, "POST", ["message_templates"]) => templates::create(&ctx, id, &body),
                (Object::Waba, "DELETE", ["message_templates"]) => {
                    templates::delete(&ctx, id, &body)
                }
                (Object::Template, "GET", []) => templates::get(&ctx, id),
                (Object::Template, "POST", []) => templates::edit(&ctx, id, &body),
                (Object::Media, "GET", []) => media::retrieve(&ctx, id),
                (Object::Media, "DELETE", []) => media::delete(&ctx, id),
                (Object::Business, "GET", []) => account::get_business(&ctx, id),
                (
                    Object::Business,
                    "GET",
                    ["owned_whatsapp_business_accounts" | "client_whatsapp_business_accounts"],
                ) => account::business_wabas(&ctx, id),
                (_, m, _) => {
                    // Token problems come first, as on Graph.
                    ctx.token()?;
                    Err(GraphError::unknown_object(m, id))
                }
            }
        }
        _ => Err(GraphError::unknown_path(&path)),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_version("v23.0"));
        assert!(is_version("v9.10"));
        assert!(!is_version("23.0"));
        assert!(!is_version("v23"));
        assert!(!is_version("v23.0.1"));
        assert!(!is_version("_sim"));
    }

    #[test]
    fn field_selection() {
        let obj = json!({"id": "1", "a": 1, "b": 2, "c": 3});
        assert_eq!(
            select_fields(obj.clone(), Some("a,c{x,y}"), &[]),
            json!({"id": "1", "a": 1, "c": 3})
        );
        assert_eq!(
            select_fields(obj.clone(), None, &["b"]),
            json!({"id": "1", "b": 2})
        );
        assert_eq!(select_fields(obj.clone(), None, &[]), obj);
    }
}
