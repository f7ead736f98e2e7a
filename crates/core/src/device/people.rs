//! The team screen: who is in the workspace, on which devices, who is invited — and the
//! owner's and admins' changes to it. Everything here lives at the relay (roles are enforced
//! there, see its API.md); this module reads it for display and forwards the changes.

use std::str::FromStr;

use protocol::auth::Role;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{Device, DeviceError};

/// The workspace's people and devices, as the signed-in member may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct TeamView {
    /// The signed-in member's role as the relay knows it now (it may have changed since
    /// sign-in): `owner`, `admin` or `agent`.
    pub my_role: String,
    /// May invite, change roles and remove members (owner or admin).
    pub can_manage: bool,
    /// Active members first, then removed ones, each by name.
    pub members: Vec<MemberView>,
    /// Signed-in devices (an agent sees only its own).
    pub devices: Vec<DeviceSessionView>,
    /// Pending invitations (empty for agents, who cannot see them).
    pub invitations: Vec<InvitationView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    /// The signed-in member.
    pub is_me: bool,
    /// RFC 3339.
    pub joined_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct DeviceSessionView {
    pub id: String,
    pub device_name: String,
    /// Whose device it is (the member's name, or "" if unknown).
    pub member_name: String,
    /// RFC 3339.
    pub signed_in_at: String,
    /// RFC 3339.
    pub last_seen_at: String,
    /// This device.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: String,
    /// RFC 3339.
    pub expires_at: String,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Ids come from the UI: only a UUID may reach a relay URL.
fn parse_id(id: &str, what: &str) -> Result<Uuid, DeviceError> {
    Uuid::parse_str(id.trim()).map_err(|_| DeviceError::InvalidInput(format!("not a valid {what}")))
}

/// A role named by the UI.
pub fn parse_role(role: &str) -> Result<Role, DeviceError> {
    Role::from_str(role.trim()).map_err(|_| {
        DeviceError::InvalidInput(format!(
            "unknown role {:?}: choose owner, admin or agent",
            role.trim()
        ))
    })
}

impl Device {
    /// The team as the relay knows it now.
    pub async fn team(&self) -> Result<TeamView, DeviceError> {
        let session = self.session().await?;
        let relay = &session.account.relay_url;
        let err = |e| DeviceError::from_sync(e, relay);
        let mut members = session.client.members().await.map_err(err)?.members;
        let me = session.account.user_id.as_str();
        let my_role = members.iter().find(|m| m.id.to_string() == me).map_or_else(
            || session.account.role.clone(),
            |m| m.role.as_str().to_owned(),
        );
        let can_manage = matches!(my_role.as_str(), "owner" | "admin");
        let sessions = session.client.sessions().await.map_err(err)?.sessions;
        let invitations = if can_manage {
            session.client.invitations().await.map_err(err)?.invitations
        } else {
            Vec::new()
        };
        members.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        let name_of = |user: Uuid| {
            members
                .iter()
                .find(|m| m.id == user)
                .map(|m| m.name.clone())
                .unwrap_or_default()
        };
        let devices = sessions
            .iter()
            .map(|s| DeviceSessionView {
                id: s.id.to_string(),
                device_name: s.device_name.clone(),
                member_name: name_of(s.user_id),
                signed_in_at: rfc3339(s.created_at),
                last_seen_at: rfc3339(s.last_seen_at),
                current: s.current,
            })
            .collect();
        Ok(TeamView {
            members: members
                .iter()
                .map(|m| MemberView {
                    id: m.id.to_string(),
                    name: m.name.clone(),
                    email: m.email.clone(),
                    role: m.role.as_str().to_owned(),
                    active: m.active,
                    is_me: m.id.to_string() == me,
                    joined_at: rfc3339(m.created_at),
                })
                .collect(),
            devices,
            invitations: invitations
                .iter()
                .map(|i| InvitationView {
                    id: i.id.to_string(),
                    email: i.email.clone(),
                    role: i.role.as_str().to_owned(),
                    expires_at: rfc3339(i.expires_at),
                })
                .collect(),
            my_role,
            can_manage,
        })
    }

    /// Gives a member another role (owner or admin; the relay enforces who may do what).
    pub async fn change_role(&self, member_id: &str, role: &str) -> Result<(), DeviceError> {
        let (id, role) = (parse_id(member_id, "member id")?, parse_role(role)?);
        let session = self.session().await?;
        session
            .client
            .change_member_role(id, role)
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))?;
        Ok(())
    }

    /// Removes a member: their devices are signed out and they cannot sign in again.
    pub async fn remove_member(&self, member_id: &str) -> Result<(), DeviceError> {
        let id = parse_id(member_id, "member id")?;
        let session = self.session().await?;
        if session.account.user_id == id.to_string() {
            return Err(DeviceError::InvalidInput(
                "you cannot remove yourself; sign out, or ask another owner".into(),
            ));
        }
        session
            .client
            .remove_member(id)
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))
    }

    /// Signs another device out (this one signs out with [`Device::sign_out`]).
    pub async fn revoke_device(&self, session_id: &str) -> Result<(), DeviceError> {
        let id = parse_id(session_id, "device id")?;
        let session = self.session().await?;
        if session.account.session_id == id.to_string() {
            return Err(DeviceError::InvalidInput(
                "this is the device you are using: sign out instead".into(),
            ));
        }
        session
            .client
            .revoke_session(id)
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))
    }

    /// Withdraws an invitation: its link stops working.
    pub async fn revoke_invitation(&self, invitation_id: &str) -> Result<(), DeviceError> {
        let id = parse_id(invitation_id, "invitation id")?;
        let session = self.session().await?;
        session
            .client
            .revoke_invitation(id)
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_and_known_roles_pass() {
        assert!(parse_id("../sessions/current", "id").is_err());
        assert!(parse_id("", "id").is_err());
        let id = Uuid::new_v4();
        assert_eq!(parse_id(&format!(" {id} "), "id").unwrap(), id);
        assert_eq!(parse_role("admin").unwrap(), Role::Admin);
        assert!(parse_role("superuser").is_err());
    }
}
