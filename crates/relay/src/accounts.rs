//! Workspace registration, sign-in and device sessions.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use ipnet::IpNet;
use protocol::auth::{
    RegisterRequest, Role, SessionCreated, SessionInfo, SessionList, SignInRequest, UserInfo,
    WorkspaceInfo, MIN_PASSWORD_CHARS,
};
use protocol::WorkspacePublicKey;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{self, Auth};
use crate::error::{AppError, AppResult, Json};
use crate::store::{NewSession, NewUser, NewWorkspace, SessionRecord, UserRecord};
use crate::AppState;

const MAX_FIELD_CHARS: usize = 200;
pub(crate) const MAX_PASSWORD_CHARS: usize = 1024;

/// The client's address: the peer's, or — when the peer is a trusted reverse proxy — the one
/// the proxies recorded in `X-Forwarded-For` (see [`client_ip`]). `None` when the server was
/// started without connect info (tests calling the router directly).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(client_ip(
            peer,
            &forwarded,
            &state.config.trusted_proxies,
        )))
    }
}

/// Each proxy appends the address it received the request from, so `X-Forwarded-For` reads
/// "client, proxy1, proxy2" and only its right end is vouched for: walking from the right, the
/// first address that is not a trusted proxy is the client. Anything left of it could have been
/// written by the client itself, and a header from an untrusted peer is ignored entirely.
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    forwarded: &[&str],
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = forwarded
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    // The nearest hop first.
    for hop in hops.iter().rev() {
        // A garbled entry ends the trusted chain: the last address vouched for stands.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

pub(crate) fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if valid {
        Ok(email)
    } else {
        Err(AppError::BadRequest("email is not a valid address".into()))
    }
}

pub(crate) fn required(field: &'static str, value: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_FIELD_CHARS {
        return Err(AppError::BadRequest(format!(
            "{field} is required (at most {MAX_FIELD_CHARS} characters)"
        )));
    }
    Ok(v.to_owned())
}

pub(crate) async fn hash_password(state: &AppState, password: String) -> AppResult<String> {
    let cost = state.config.password_hashing;
    tokio::task::spawn_blocking(move || auth::hash_password(&password, cost))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)
}

pub(crate) fn session_info(s: &SessionRecord, current: Uuid) -> SessionInfo {
    SessionInfo {
        id: s.id,
        user_id: s.user_id,
        device_name: s.device_name.clone(),
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        current: s.id == current,
    }
}

pub(crate) fn user_info(u: &UserRecord) -> UserInfo {
    UserInfo {
        id: u.id,
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role,
    }
}

/// `POST /v1/accounts`: a new workspace, its owner, and the owner's first device session.
pub async fn register(
    State(state): State<AppState>,
    Json(req): Json<RegisterRequest>,
) -> AppResult<(StatusCode, Json<SessionCreated>)> {
    let email = normalize_email(&req.email)?;
    let name = required("name", &req.name)?;
    let company = required("company", &req.company)?;
    let device_name = required("device_name", &req.device_name)?;
    let chars = req.password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AppError::BadRequest(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let public_key = WorkspacePublicKey::from_base64(&req.workspace_public_key).map_err(|_| {
        AppError::BadRequest("workspace_public_key must be 32 bytes, base64".into())
    })?;
    let password_hash = hash_password(&state, req.password).await?;

    let now = OffsetDateTime::now_utc();
    let token = auth::new_token();
    let (workspace_id, user_id) = (Uuid::new_v4(), Uuid::new_v4());
    let new = NewWorkspace {
        workspace_id,
        company: company.clone(),
        public_key: public_key.clone(),
        owner: NewUser {
            id: user_id,
            email,
            name,
            password_hash,
            role: Role::Owner,
        },
        session: NewSession {
            id: Uuid::new_v4(),
            user_id,
            workspace_id,
            token_hash: auth::hash_token(&token),
            device_name,
            now,
        },
    };
    state.store.create_workspace(new.clone()).await?;
    tracing::info!(workspace = %new.workspace_id, "workspace registered");

    let session = SessionRecord {
        id: new.session.id,
        user_id: new.owner.id,
        device_name: new.session.device_name.clone(),
        created_at: now,
        last_seen_at: now,
    };
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            token,
            session: session_info(&session, session.id),
            workspace: WorkspaceInfo {
                id: new.workspace_id,
                company,
                public_key: public_key.to_base64(),
            },
            user: UserInfo {
                id: new.owner.id,
                name: new.owner.name,
                email: new.owner.email,
                role: Role::Owner,
            },
        }),
    ))
}

/// `POST /v1/sessions`: sign in with email and password, get a session for this device.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(req): Json<SignInRequest>,
) -> AppResult<(StatusCode, Json<SessionCreated>)> {
    let email = req.email.trim().to_lowercase();
    let device_name = required("device_name", &req.device_name)?;
    state.limiter.check(&email, ip)?;
    if req.password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::InvalidCredentials);
    }

    let user = state.store.user_by_email(&email).await?;
    let phc = match &user {
        Some(u) => u.password_hash.clone(),
        // Verify against a hash of a password nobody has, so an unknown email takes as long
        // as a known one (no account enumeration by timing).
        None => state.dummy_hash.clone(),
    };
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let user = match user {
        Some(u) if ok => u,
        _ => {
            state.limiter.record_failure(&email, ip);
            tracing::info!("failed sign-in");
            return Err(AppError::InvalidCredentials);
        }
    };
    state.limiter.record_success(&email);

    let workspace = state
        .store
        .workspace(user.workspace_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let token = auth::new_token();
    let session = NewSession {
        id: Uuid::new_v4(),
        user_id: user.id,
        workspace_id: user.workspace_id,
        token_hash: auth::hash_token(&token),
        device_name,
        now,
    };
    state.store.create_session(session.clone()).await?;
    tracing::info!(workspace = %workspace.id, session = %session.id, "signed in");
    let record = SessionRecord {
        id: session.id,
        user_id: user.id,
        device_name: session.device_name,
        created_at: now,
        last_seen_at: now,
    };
    Ok((
        StatusCode::CREATED,
        Json(SessionCreated {
            token,
            session: session_info(&record, record.id),
            workspace: WorkspaceInfo {
                id: workspace.id,
                company: workspace.company,
                public_key: workspace.public_key.to_base64(),
            },
            user: user_info(&user),
        }),
    ))
}

/// `GET /v1/sessions`: owners and admins see every live session of the workspace, agents
/// their own.
pub async fn list_sessions(
    State(state): State<AppState>,
    auth: Auth,
) -> AppResult<Json<SessionList>> {
    let only = (!auth.role.can_manage()).then_some(auth.user_id);
    let sessions = state.store.list_sessions(auth.workspace_id, only).await?;
    Ok(Json(SessionList {
        sessions: sessions
            .iter()
            .map(|s| session_info(s, auth.session_id))
            .collect(),
    }))
}

/// `DELETE /v1/sessions/{id}`: revoke one's own session, or (owner/admin) anyone's in the
/// workspace. Another workspace's session id answers 404 like an unknown one.
pub async fn revoke_session(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let id = if id == "current" {
        auth.session_id
    } else {
        Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?
    };
    let only = (!auth.role.can_manage()).then_some(auth.user_id);
    let done = state
        .store
        .revoke_session(auth.workspace_id, id, only, OffsetDateTime::now_utc())
        .await?;
    if done {
        tracing::info!(workspace = %auth.workspace_id, session = %id, "session revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}

/// `DELETE /v1/accounts/current` (owner): the workspace and all it holds leave the relay.
/// Devices keep their local copies; that is theirs to erase.
pub async fn delete_account(State(state): State<AppState>, auth: Auth) -> AppResult<StatusCode> {
    if auth.role != Role::Owner {
        return Err(AppError::Forbidden);
    }
    if state.store.delete_workspace(auth.workspace_id).await? {
        state.owners.clear();
        // The media rows went with the workspace; its sealed files go now.
        crate::media::delete_workspace_media(&state.config.data_dir, auth.workspace_id).await;
        // Its open event streams re-check their session when woken: they end now, and their
        // devices reconnect to be told the workspace is gone (410).
        state.notify_events(auth.workspace_id);
        tracing::info!(workspace = %auth.workspace_id, "workspace deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email(" Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        assert!(normalize_email("no-at-sign").is_err());
        assert!(normalize_email("@example.com").is_err());
        assert!(normalize_email("a@localhost").is_err());
    }

    #[test]
    fn the_client_address_comes_from_trusted_proxies_only() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let proxy = Some(ip("127.0.0.1"));
        // No proxies configured: the header is ignored, whoever sends it.
        assert_eq!(client_ip(proxy, &["203.0.113.9"], &[]), proxy);
        // An untrusted peer cannot choose its address.
        let stranger = Some(ip("198.51.100.7"));
        assert_eq!(client_ip(stranger, &["203.0.113.9"], &trusted), stranger);
        // Behind the proxy: the address the proxy saw.
        assert_eq!(
            client_ip(proxy, &["203.0.113.9"], &trusted),
            Some(ip("203.0.113.9"))
        );
        // A client-written prefix is skipped: the right-most untrusted hop is the client,
        // across several headers and through a chain of trusted proxies.
        assert_eq!(
            client_ip(proxy, &["1.2.3.4, 203.0.113.9", "10.1.2.3"], &trusted),
            Some(ip("203.0.113.9"))
        );
        // A garbled hop ends the chain at the last address vouched for.
        assert_eq!(
            client_ip(proxy, &["203.0.113.9, not-an-ip, 10.1.2.3"], &trusted),
            Some(ip("10.1.2.3"))
        );
        // Proxies all the way: the left-most one.
        assert_eq!(
            client_ip(proxy, &["10.9.9.9"], &trusted),
            Some(ip("10.9.9.9"))
        );
        // IPv6 clients too.
        assert_eq!(
            client_ip(proxy, &["2001:db8::1"], &trusted),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(client_ip(None, &["203.0.113.9"], &trusted), None);
    }
}
