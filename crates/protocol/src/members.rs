//! The members of a workspace: `GET /v1/members`, `PATCH /v1/members/{id}`,
//! `DELETE /v1/members/{id}`. Who may do what is in the relay's API.md.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Role;

/// One member as listed. Removed members stay listed (`active: false`) so that devices can
/// still name the author of what they did while they were in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// False once the member was removed: they can no longer sign in.
    pub active: bool,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub removed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    pub members: Vec<MemberInfo>,
}

/// `PATCH /v1/members/{id}` (owner, admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRoleRequest {
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_member_round_trips_and_an_active_one_omits_removed_at() {
        let active = MemberInfo {
            id: Uuid::nil(),
            name: "Ana".into(),
            email: "ana@example.com".into(),
            role: Role::Admin,
            created_at: OffsetDateTime::UNIX_EPOCH,
            active: true,
            removed_at: None,
        };
        let json = serde_json::to_value(&active).unwrap_or_default();
        assert_eq!(json["role"], "admin");
        assert_eq!(json["created_at"], "1970-01-01T00:00:00Z");
        assert!(json.get("removed_at").is_none());
        let removed = MemberInfo {
            active: false,
            removed_at: Some(OffsetDateTime::UNIX_EPOCH),
            ..active
        };
        let text = serde_json::to_string(&removed).unwrap_or_default();
        let back: MemberInfo = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, removed);
        let req: ChangeRoleRequest =
            serde_json::from_str(r#"{"role":"agent"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.role, Role::Agent);
    }
}
