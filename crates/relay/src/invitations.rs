//! Invitations: owners invite admins or agents, admins invite agents; the invited person's
//! device accepts with the token derived from the link's secret (see `protocol::invitations`
//! for why the relay never sees the workspace key).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use protocol::auth::{Role, SessionCreated, WorkspaceInfo, MIN_PASSWORD_CHARS};
use protocol::invitations::{
    accept_token_hash, AcceptInvitationRequest, CreateInvitationRequest, InvitationAccepted,
    InvitationInfo, InvitationList,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{
    hash_password, normalize_email, required, session_info, user_info, MAX_PASSWORD_CHARS,
};
use crate::auth::{self, Auth};
use crate::error::{AppError, AppResult, Json};
use crate::store::{NewInvitation, NewSession, NewUser, SessionRecord};
use crate::AppState;

/// How long an invitation link stays valid.
pub const INVITATION_TTL: time::Duration = time::Duration::days(7);
const MAX_WRAPPED_KEY: usize = 1024;

/// Who may invite whom: owners invite admins and agents, admins invite agents.
fn may_invite(inviter: Role, invitee: Role) -> bool {
    matches!(
        (inviter, invitee),
        (Role::Owner, Role::Admin | Role::Agent) | (Role::Admin, Role::Agent)
    )
}

/// `POST /v1/invitations`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    Json(req): Json<CreateInvitationRequest>,
) -> AppResult<(StatusCode, Json<InvitationInfo>)> {
    if !may_invite(auth.role, req.role) {
        return Err(AppError::Forbidden);
    }
    let email = normalize_email(&req.email)?;
    let token = req.accept_token.trim();
    if token.len() < 32 || token.len() > 128 {
        return Err(AppError::BadRequest(
            "accept_token must be derived from a 256-bit invitation secret".into(),
        ));
    }
    let wrapped_key = protocol::sealed::from_base64(&req.wrapped_workspace_key)
        .ok()
        .filter(|w| w.len() <= MAX_WRAPPED_KEY && protocol::sealed::is_well_formed(w))
        .ok_or_else(|| {
            AppError::BadRequest("wrapped_workspace_key must be a base64 sealed envelope".into())
        })?;
    let now = OffsetDateTime::now_utc();
    let new = NewInvitation {
        id: Uuid::new_v4(),
        workspace_id: auth.workspace_id,
        email: email.clone(),
        role: req.role,
        accept_hash: accept_token_hash(token),
        wrapped_key,
        invited_by: auth.user_id,
        created_at: now,
        expires_at: now + INVITATION_TTL,
    };
    state.store.create_invitation(new.clone()).await?;
    tracing::info!(workspace = %auth.workspace_id, invitation = %new.id, role = new.role.as_str(), "invitation created");
    Ok((
        StatusCode::CREATED,
        Json(InvitationInfo {
            id: new.id,
            email,
            role: new.role,
            invited_by: auth.user_id,
            created_at: now,
            expires_at: new.expires_at,
        }),
    ))
}

/// `GET /v1/invitations` (owner/admin): pending invitations.
pub async fn list(State(state): State<AppState>, auth: Auth) -> AppResult<Json<InvitationList>> {
    auth.require_manager()?;
    let records = state
        .store
        .list_invitations(auth.workspace_id, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(InvitationList {
        invitations: records
            .into_iter()
            .map(|r| InvitationInfo {
                id: r.id,
                email: r.email,
                role: r.role,
                invited_by: r.invited_by,
                created_at: r.created_at,
                expires_at: r.expires_at,
            })
            .collect(),
    }))
}

/// `DELETE /v1/invitations/{id}` (owner/admin).
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<Uuid>,
) -> AppResult<StatusCode> {
    auth.require_manager()?;
    if state
        .store
        .revoke_invitation(auth.workspace_id, id, OffsetDateTime::now_utc())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}

/// `POST /v1/invitations/{id}/accept`: no session; the accept token authenticates. Unknown,
/// expired, revoked, used and wrong-token invitations all answer the same 404.
pub async fn accept(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(req): Json<AcceptInvitationRequest>,
) -> AppResult<(StatusCode, Json<InvitationAccepted>)> {
    let name = required("name", &req.name)?;
    let device_name = required("device_name", &req.device_name)?;
    let chars = req.password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(AppError::BadRequest(format!(
            "password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    let accept_hash = accept_token_hash(req.accept_token.trim());
    let password_hash = hash_password(&state, req.password).await?;
    let now = OffsetDateTime::now_utc();
    let token = auth::new_token();
    let user_id = Uuid::new_v4();
    let session = NewSession {
        id: Uuid::new_v4(),
        user_id,
        // Filled from the invitation by the store.
        workspace_id: Uuid::nil(),
        token_hash: auth::hash_token(&token),
        device_name,
        now,
    };
    let user = NewUser {
        id: user_id,
        // Email and role come from the invitation, set by the store.
        email: String::new(),
        name,
        password_hash,
        role: Role::Agent,
    };
    let accepted = state
        .store
        .accept_invitation(id, accept_hash, user, session.clone())
        .await?;
    tracing::info!(workspace = %accepted.workspace.id, invitation = %id, "invitation accepted");
    let record = SessionRecord {
        id: session.id,
        user_id,
        device_name: session.device_name,
        created_at: now,
        last_seen_at: now,
    };
    Ok((
        StatusCode::CREATED,
        Json(InvitationAccepted {
            session: SessionCreated {
                token,
                session: session_info(&record, record.id),
                workspace: WorkspaceInfo {
                    id: accepted.workspace.id,
                    company: accepted.workspace.company,
                    public_key: accepted.workspace.public_key.to_base64(),
                },
                user: user_info(&accepted.user),
            },
            wrapped_workspace_key: protocol::sealed::to_base64(&accepted.wrapped_key),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_permissions() {
        assert!(may_invite(Role::Owner, Role::Admin));
        assert!(may_invite(Role::Owner, Role::Agent));
        assert!(may_invite(Role::Admin, Role::Agent));
        assert!(!may_invite(Role::Admin, Role::Admin));
        assert!(!may_invite(Role::Agent, Role::Agent));
        assert!(!may_invite(Role::Owner, Role::Owner));
    }
}
