//! Invitations: an owner or admin invites a staff member; the new device joins the workspace
//! and receives the workspace secret key without the relay ever seeing it.
//!
//! The inviting device draws a 256-bit invitation secret and derives two things from it:
//!
//! - the **accept token** (SHA-256 with a domain label): the relay stores only its hash and
//!   asks for the token when the invitation is accepted, which proves the link was seen;
//! - the **wrapping key pair** (an X25519 secret from another label): the inviting device seals
//!   the workspace secret key to its public half and uploads that envelope.
//!
//! The link is `dataoptix://join?relay=<origin>&invitation=<id>#<secret>`; the secret sits in
//! the URL fragment, which browsers and deep-link handlers never send to a server. The relay
//! learns the accept token (a one-way hash of the secret) but not the secret, so it cannot
//! derive the wrapping key nor open the uploaded envelope.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{Role, SessionCreated};
use crate::sealed::{self, SealError};
use crate::WorkspaceSecretKey;

const ACCEPT_LABEL: &[u8] = b"dataoptix-invitation/accept/v1";
const WRAP_LABEL: &[u8] = b"dataoptix-invitation/wrap/v1";

/// The secret of one invitation link. Only the two devices ever hold it.
#[derive(Clone)]
pub struct InvitationSecret([u8; 32]);

impl std::fmt::Debug for InvitationSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InvitationSecret(<redacted>)")
    }
}

fn labelled(label: &[u8], secret: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(secret);
    h.finalize().into()
}

impl InvitationSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The form used in the link's fragment (base64url, no padding).
    pub fn to_fragment(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn from_fragment(s: &str) -> Result<Self, SealError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim().trim_start_matches('#'))
            .map_err(|_| SealError::Base64)?;
        Ok(Self(bytes.try_into().map_err(|_| SealError::BadKey)?))
    }

    /// Sent by the joining device with its accept request.
    pub fn accept_token(&self) -> String {
        URL_SAFE_NO_PAD.encode(labelled(ACCEPT_LABEL, &self.0))
    }

    fn wrapping_key(&self) -> WorkspaceSecretKey {
        WorkspaceSecretKey::from_bytes(labelled(WRAP_LABEL, &self.0))
    }

    /// The inviting device: the workspace secret key sealed for whoever holds this secret.
    pub fn wrap_workspace_key(&self, key: &WorkspaceSecretKey) -> Result<Vec<u8>, SealError> {
        sealed::seal(&self.wrapping_key().public_key(), &key.to_bytes())
    }

    /// The joining device: recovers the workspace secret key.
    pub fn unwrap_workspace_key(&self, wrapped: &[u8]) -> Result<WorkspaceSecretKey, SealError> {
        let bytes = sealed::open(&self.wrapping_key(), wrapped)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(WorkspaceSecretKey::from_bytes(arr))
    }
}

/// SHA-256 of an accept token: what the relay stores and compares.
pub fn accept_token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `POST /v1/invitations` (owner: admin or agent; admin: agent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInvitationRequest {
    pub email: String,
    pub role: Role,
    /// [`InvitationSecret::accept_token`].
    pub accept_token: String,
    /// Base64 of [`InvitationSecret::wrap_workspace_key`].
    pub wrapped_workspace_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationList {
    pub invitations: Vec<InvitationInfo>,
}

/// `POST /v1/invitations/{id}/accept` (no session: the accept token authenticates).
#[derive(Clone, Serialize, Deserialize)]
pub struct AcceptInvitationRequest {
    pub accept_token: String,
    pub name: String,
    pub password: String,
    pub device_name: String,
}

impl std::fmt::Debug for AcceptInvitationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptInvitationRequest")
            .field("name", &self.name)
            .field("device_name", &self.device_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvitationAccepted {
    /// The new member's first session (same shape as sign-in).
    #[serde(flatten)]
    pub session: SessionCreated,
    /// Base64 envelope; open with [`InvitationSecret::unwrap_workspace_key`].
    pub wrapped_workspace_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_key_travels_only_to_the_holder_of_the_secret() {
        let workspace = WorkspaceSecretKey::generate();
        let secret = InvitationSecret::generate();
        let wrapped = secret.wrap_workspace_key(&workspace).unwrap();
        let joined = InvitationSecret::from_fragment(&secret.to_fragment()).unwrap();
        assert_eq!(
            joined.unwrap_workspace_key(&wrapped).unwrap().public_key(),
            workspace.public_key()
        );
        assert!(InvitationSecret::generate()
            .unwrap_workspace_key(&wrapped)
            .is_err());
        // The accept token (which the relay sees) is not the secret, nor the wrapping key.
        let token = secret.accept_token();
        assert_ne!(token, secret.to_fragment());
        assert_ne!(
            URL_SAFE_NO_PAD.decode(&token).unwrap(),
            secret.wrapping_key().to_bytes()
        );
    }
}
