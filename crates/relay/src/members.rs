//! The members of a workspace: everyone lists them; owners and admins change roles and remove
//! members (issue 3, "Accounts and access").
//!
//! Removal keeps the user's row, marked removed (see `migrations/0006_members.sql`): their
//! sessions are revoked, their pending invitations withdrawn and they can no longer sign in,
//! but what they did stays attributable. The one rule the relay cannot let a request break —
//! a workspace keeps at least one active owner — is checked inside the store's write
//! transaction, so two concurrent changes cannot both pass it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use protocol::auth::Role;
use protocol::members::{ChangeRoleRequest, MemberInfo, MemberList};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::{AppError, AppResult, Json};
use crate::store::MemberRecord;
use crate::AppState;

/// Whether `actor` may move a member from role `from` to role `to`. Owners may do anything
/// (the last-owner rule is the store's); admins manage admins and agents but can neither make
/// an owner nor touch one; agents manage no one.
fn may_change_role(actor: Role, from: Role, to: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => from != Role::Owner && to != Role::Owner,
        Role::Agent => false,
    }
}

/// Whether `actor` may remove a member whose role is `target`: owners may remove anyone
/// (another owner too, but never the last one), admins anyone but an owner.
fn may_remove(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => target != Role::Owner,
        Role::Agent => false,
    }
}

fn member_info(m: &MemberRecord) -> MemberInfo {
    MemberInfo {
        id: m.id,
        name: m.name.clone(),
        email: m.email.clone(),
        role: m.role,
        created_at: m.created_at,
        active: m.removed_at.is_none(),
        removed_at: m.removed_at,
    }
}

/// The active member `id` of the caller's workspace. A malformed id, another workspace's user
/// and a removed member all answer 404, like an unknown id.
async fn active_member(state: &AppState, auth: &Auth, id: &str) -> AppResult<MemberRecord> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .store
        .member(auth.workspace_id, id)
        .await?
        .filter(|m| m.removed_at.is_none())
        .ok_or(AppError::NotFound)
}

/// `GET /v1/members` (any role): everyone who is or was in the workspace, oldest first.
pub async fn list(State(state): State<AppState>, auth: Auth) -> AppResult<Json<MemberList>> {
    let members = state.store.list_members(auth.workspace_id).await?;
    Ok(Json(MemberList {
        members: members.iter().map(member_info).collect(),
    }))
}

/// `PATCH /v1/members/{id}` (owner, admin): `{"role"}`. 403 when the caller's role may not
/// make that change, 409 when it would leave no owner (or the member changed meanwhile).
pub async fn change_role(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(req): Json<ChangeRoleRequest>,
) -> AppResult<Json<MemberInfo>> {
    auth.require_manager()?;
    let member = active_member(&state, &auth, &id).await?;
    if !may_change_role(auth.role, member.role, req.role) {
        return Err(AppError::Forbidden);
    }
    // The store re-checks the role it was decided on, inside its transaction.
    let changed = state
        .store
        .change_role(auth.workspace_id, member.id, member.role, req.role)
        .await?;
    tracing::info!(
        workspace = %auth.workspace_id,
        member = %member.id,
        from = member.role.as_str(),
        to = changed.role.as_str(),
        "member role changed"
    );
    Ok(Json(member_info(&changed)))
}

/// `DELETE /v1/members/{id}` (owner, admin): the member leaves the workspace. 403 when the
/// caller's role may not remove them, 409 for the last owner (delete the account instead).
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    auth.require_manager()?;
    let member = active_member(&state, &auth, &id).await?;
    if !may_remove(auth.role, member.role) {
        return Err(AppError::Forbidden);
    }
    let removal = state
        .store
        .remove_member(
            auth.workspace_id,
            member.id,
            member.role,
            OffsetDateTime::now_utc(),
        )
        .await?;
    tracing::info!(
        workspace = %auth.workspace_id,
        member = %member.id,
        sessions = removal.sessions_revoked,
        invitations = removal.invitations_revoked,
        "member removed"
    );
    // Open streams re-check their session on every wake-up: wake them so the removed
    // member's devices are cut off now, not at the next event.
    state.notify_events(auth.workspace_id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [Role; 3] = [Role::Owner, Role::Admin, Role::Agent];

    #[test]
    fn role_change_permissions() {
        for from in ROLES {
            for to in ROLES {
                assert!(may_change_role(Role::Owner, from, to), "{from:?}->{to:?}");
                assert!(!may_change_role(Role::Agent, from, to), "{from:?}->{to:?}");
                let admin_may = from != Role::Owner && to != Role::Owner;
                assert_eq!(
                    may_change_role(Role::Admin, from, to),
                    admin_may,
                    "{from:?}->{to:?}"
                );
            }
        }
    }

    #[test]
    fn removal_permissions() {
        for target in ROLES {
            assert!(may_remove(Role::Owner, target));
            assert!(!may_remove(Role::Agent, target));
        }
        assert!(!may_remove(Role::Admin, Role::Owner));
        assert!(may_remove(Role::Admin, Role::Admin));
        assert!(may_remove(Role::Admin, Role::Agent));
    }
}
