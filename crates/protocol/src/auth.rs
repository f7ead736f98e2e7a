//! Accounts and device sessions: `POST /v1/accounts`, `POST|GET /v1/sessions`,
//! `DELETE /v1/sessions/{id}`, `DELETE /v1/sessions/current`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Shortest password the relay accepts at registration.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A staff member's role in a workspace; the permission table is in the relay's API.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    /// Owners and admins manage the workspace: numbers, sessions of others, (later) invitations.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            _ => Err(UnknownRole),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

/// `POST /v1/accounts`: the owner registers a workspace from their device.
#[derive(Clone, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub name: String,
    pub email: String,
    pub company: String,
    pub password: String,
    /// The workspace's X25519 public key (base64, 32 bytes), generated on this device. The
    /// secret half never leaves the workspace's devices.
    pub workspace_public_key: String,
    /// A label for this device in session lists ("Reception PC").
    pub device_name: String,
}

/// `POST /v1/sessions`.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    pub device_name: String,
}

// Passwords must never reach a log through `{:?}`.
impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("email", &self.email)
            .field("company", &self.company)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Answer to register and sign-in: the bearer token for this device, shown once.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionCreated {
    /// `Authorization: Bearer <token>` on every other request. The relay keeps only its hash.
    pub token: String,
    pub session: SessionInfo,
    pub workspace: WorkspaceInfo,
    pub user: UserInfo,
}

impl std::fmt::Debug for SessionCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCreated")
            .field("token", &"<redacted>")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    pub id: Uuid,
    pub company: String,
    /// Base64 X25519 public key that events are sealed to.
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
}

/// One device session as listed by `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub device_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// True for the session making the request.
    #[serde(default)]
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}
