//! Accounts on this device: register a workspace, sign in, join by invitation, sign out.
//!
//! What is kept where: the session token and the workspace secret key sealed in the vault
//! (`sync::TOKEN_RECORD`, `sync::WORKSPACE_KEY_RECORD`); the relay URL and workspace id in the
//! store's `relay` setting; who is signed in (name, email, role — not secret) in the `account`
//! setting; the relay's Graph configuration in the `graph` setting.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use protocol::auth::{RegisterRequest, SessionCreated, SignInRequest};
use protocol::invitations::{AcceptInvitationRequest, InvitationSecret};
use protocol::WorkspaceSecretKey;

use super::{Device, DeviceError, DeviceEvent, SyncState};
use crate::sync::{self, RelayClient};

/// Store setting with the signed-in user.
const ACCOUNT_SETTING: &str = "account";
/// Store setting with the relay's Graph configuration (`protocol::config::DeviceConfig`).
pub(crate) const GRAPH_SETTING: &str = "graph";
/// Store setting remembering the last relay URL, kept after sign-out for the sign-in form.
const LAST_RELAY_SETTING: &str = "last_relay_url";

/// The signed-in user and workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub user_id: String,
    pub user_name: String,
    pub email: String,
    /// `owner`, `admin` or `agent`.
    pub role: String,
    pub workspace_id: String,
    pub company: String,
    pub relay_url: String,
    /// This device's session id at the relay (the tie-breaker of team-inbox clocks).
    #[serde(default)]
    pub session_id: String,
    /// Connected WhatsApp numbers (filled when read; stored empty with the account).
    pub numbers: Vec<PhoneNumberView>,
}

/// A connected WhatsApp number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumberView {
    pub id: String,
    pub waba_id: String,
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub quality_rating: Option<String>,
    pub messaging_limit: Option<String>,
    pub name_status: Option<String>,
    /// Meta refused the token: connect again.
    pub reconnect_required: bool,
}

#[derive(sqlx::FromRow)]
struct NumberRow {
    id: String,
    waba_id: String,
    display_phone_number: Option<String>,
    verified_name: Option<String>,
    quality_rating: Option<String>,
    messaging_limit: Option<String>,
    name_status: Option<String>,
}

/// Registration of a new workspace.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct RegisterInput {
    pub relay_url: String,
    pub name: String,
    pub email: String,
    pub company: String,
    pub password: String,
}

/// Signing in.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct SignInInput {
    pub relay_url: String,
    pub email: String,
    pub password: String,
}

/// Joining with an invitation link.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct JoinInput {
    pub invite_link: String,
    pub name: String,
    pub password: String,
}

// Passwords must never reach a log through `{:?}`.
macro_rules! redacted_debug {
    ($t:ty, $($field:ident),*) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($field), &self.$field))*
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(RegisterInput, relay_url, name, email, company);
redacted_debug!(SignInInput, relay_url, email);
redacted_debug!(JoinInput, name);

/// Checks and normalises a relay URL typed by a person.
fn relay_url(input: &str) -> Result<String, DeviceError> {
    let trimmed = input.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|_| {
        DeviceError::InvalidInput(format!(
            "{trimmed:?} is not a server address; use the full address, e.g. https://relay.example.com"
        ))
    })?;
    // Passwords and session tokens travel to it: never in clear beyond this computer.
    if !super::links::secure_or_local(&url) {
        return Err(DeviceError::InvalidInput(
            "the server address must start with https:// (http:// only for this computer)".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// `local@domain.tld`, at most 254 characters, no spaces: what an email looks like.
fn looks_like_email(text: &str) -> bool {
    text.len() <= 254
        && !text.contains(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.contains('@') && domain.contains('.')
        })
}

fn non_empty(value: &str, what: &str) -> Result<String, DeviceError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(DeviceError::InvalidInput(format!("{what} is required")));
    }
    Ok(v.to_owned())
}

impl Device {
    /// Who is signed in, with the connected numbers; `None` when signed out.
    pub async fn account(&self) -> Result<Option<Account>, DeviceError> {
        let Some(session) = self.inner.session.read().await.clone() else {
            return Ok(None);
        };
        let mut account = session.account;
        account.numbers = self.numbers(&account.workspace_id).await?;
        Ok(Some(account))
    }

    /// The relay URL last used on this device (for the sign-in form).
    pub async fn last_relay_url(&self) -> Result<Option<String>, DeviceError> {
        Ok(self
            .inner
            .store
            .setting(LAST_RELAY_SETTING)
            .await?
            .and_then(|v| v.as_str().map(str::to_owned)))
    }

    /// The workspace's numbers.
    pub async fn numbers(&self, workspace_id: &str) -> Result<Vec<PhoneNumberView>, DeviceError> {
        let rows: Vec<NumberRow> = sqlx::query_as(
            "SELECT id, waba_id, display_phone_number, verified_name, quality_rating,
                    messaging_limit, name_status
             FROM phone_numbers WHERE workspace_id = ? ORDER BY display_phone_number, id",
        )
        .bind(workspace_id)
        .fetch_all(self.inner.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        let mut numbers = Vec::with_capacity(rows.len());
        for row in rows {
            let reconnect_required = self.reconnect_required(&row.id).await?;
            numbers.push(PhoneNumberView {
                id: row.id,
                waba_id: row.waba_id,
                display_phone_number: row.display_phone_number,
                verified_name: row.verified_name,
                quality_rating: row.quality_rating,
                messaging_limit: row.messaging_limit,
                name_status: row.name_status,
                reconnect_required,
            });
        }
        Ok(numbers)
    }

    /// Registers a new workspace at the relay; this device becomes its owner's first device and
    /// generates the workspace key pair (the relay only ever gets the public half).
    pub async fn register(&self, input: RegisterInput) -> Result<Account, DeviceError> {
        let relay = relay_url(&input.relay_url)?;
        let password = Zeroizing::new(input.password);
        if password.chars().count() < protocol::auth::MIN_PASSWORD_CHARS {
            return Err(DeviceError::InvalidInput(format!(
                "the password needs at least {} characters",
                protocol::auth::MIN_PASSWORD_CHARS
            )));
        }
        let key = WorkspaceSecretKey::generate();
        let client = RelayClient::new(&relay);
        let created = client
            .register(&RegisterRequest {
                name: non_empty(&input.name, "your name")?,
                email: non_empty(&input.email, "the email")?,
                company: non_empty(&input.company, "the company name")?,
                password: password.to_string(),
                workspace_public_key: key.public_key().to_base64(),
                device_name: self.inner.device_name.clone(),
            })
            .await
            .map_err(|e| DeviceError::from_sync(e, &relay))?;
        let account = self.adopt(&relay, created, key).await?;
        self.log_session("account.register", &account).await;
        Ok(account)
    }

    /// Signs in on a device that already holds the workspace key (it was registered or joined
    /// here before). A new device joins with an invitation link instead ([`Device::join`]).
    pub async fn sign_in(&self, input: SignInInput) -> Result<Account, DeviceError> {
        let relay = relay_url(&input.relay_url)?;
        let password = Zeroizing::new(input.password);
        let client = RelayClient::new(&relay);
        let email = non_empty(&input.email, "the email")?;
        let created = match client
            .sign_in(&SignInRequest {
                email: email.clone(),
                password: password.to_string(),
                device_name: self.inner.device_name.clone(),
            })
            .await
        {
            Ok(created) => created,
            Err(e) => {
                let error = DeviceError::from_sync(e, &relay);
                self.log_failed_sign_in(&email, &relay, &error).await;
                return Err(error);
            }
        };
        let key = self
            .inner
            .vault
            .get_record(sync::WORKSPACE_KEY_RECORD)?
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .map(WorkspaceSecretKey::from_bytes)
            .filter(|k| k.public_key().to_base64() == created.workspace.public_key);
        let Some(key) = key else {
            // Do not keep a session this device cannot use.
            let _ = client.with_token(created.token).sign_out().await;
            return Err(DeviceError::KeyMissing);
        };
        let account = self.adopt(&relay, created, key).await?;
        self.log_session("account.sign_in", &account).await;
        Ok(account)
    }

    /// Joins a workspace with an invitation link (`dataoptix://join?…#secret`): the link's
    /// secret unwraps the workspace key the inviting device left at the relay.
    pub async fn join(&self, input: JoinInput) -> Result<Account, DeviceError> {
        let link = super::DeepLink::parse(input.invite_link.trim())
            .map_err(|e| DeviceError::InvalidInput(e.to_string()))?;
        let super::DeepLink::Join {
            relay_url,
            invitation_id,
            secret,
        } = link
        else {
            return Err(DeviceError::InvalidInput(
                "this is not an invitation link".into(),
            ));
        };
        let secret = InvitationSecret::from_fragment(&secret)
            .map_err(|_| DeviceError::InvalidInput("the invitation link is damaged".into()))?;
        let password = Zeroizing::new(input.password);
        let client = RelayClient::new(&relay_url);
        let accepted = client
            .accept_invitation(
                &invitation_id,
                &AcceptInvitationRequest {
                    accept_token: secret.accept_token(),
                    name: non_empty(&input.name, "your name")?,
                    password: password.to_string(),
                    device_name: self.inner.device_name.clone(),
                },
            )
            .await
            .map_err(|e| match DeviceError::from_sync(e, &relay_url) {
                DeviceError::NotFound(_) => DeviceError::NotFound(
                    "this invitation is unknown, expired, revoked or already used; ask for a new one"
                        .into(),
                ),
                other => other,
            })?;
        let wrapped = protocol::sealed::from_base64(&accepted.wrapped_workspace_key)
            .map_err(|_| DeviceError::Internal("the relay sent a damaged workspace key".into()))?;
        let key = secret
            .unwrap_workspace_key(&wrapped)
            .map_err(|_| DeviceError::Internal("the workspace key does not open".into()))?;
        let account = self.adopt(&relay_url, accepted.session, key).await?;
        self.log_session("account.join", &account).await;
        Ok(account)
    }

    /// Creates an invitation for a staff member and returns the link to give them (its secret
    /// never reaches the relay).
    pub async fn invite(
        &self,
        email: &str,
        role: protocol::auth::Role,
    ) -> Result<String, DeviceError> {
        let session = self.session().await?;
        let secret = InvitationSecret::generate();
        let wrapped = secret
            .wrap_workspace_key(&session.key)
            .map_err(|e| DeviceError::Internal(e.to_string()))?;
        let info = session
            .client
            .create_invitation(&protocol::invitations::CreateInvitationRequest {
                email: non_empty(email, "the email")?,
                role,
                accept_token: secret.accept_token(),
                wrapped_workspace_key: protocol::sealed::to_base64(&wrapped),
            })
            .await
            .map_err(|e| DeviceError::from_sync(e, &session.account.relay_url))?;
        let relay: String =
            url::form_urlencoded::byte_serialize(session.account.relay_url.as_bytes()).collect();
        Ok(format!(
            "dataoptix://join?relay={relay}&invitation={}#{}",
            info.id,
            secret.to_fragment()
        ))
    }

    /// Signs out: ends the session at the relay (best effort when offline), forgets the token,
    /// stops syncing. The local history stays (erasing it is a separate, explicit action).
    pub async fn sign_out(&self) -> Result<(), DeviceError> {
        // Signed out, the device would forget the deletion (and offer no erasing), and a
        // session of another workspace would start the outbox over what is queued here.
        self.refuse_if_workspace_deleted()?;
        // Logged first, while the member is still known (nothing when already signed out).
        if let Ok(session) = self.session().await {
            self.log_session("account.sign_out", &session.account).await;
        }
        self.stop_background().await;
        let session = self.inner.session.write().await.take();
        if let Some(session) = session {
            if let Err(e) = session.client.sign_out().await {
                tracing::warn!(error = %e, "sign-out: the relay was not told");
            }
        }
        self.inner.vault.delete_record(sync::TOKEN_RECORD)?;
        self.inner
            .store
            .set_setting(sync::RELAY_SETTING, &serde_json::json!({}))
            .await?;
        self.set_sync_state(SyncState::SignedOut);
        Ok(())
    }

    /// Logs a sign-in the relay refused (a wrong password, too many attempts, a lockout) on
    /// this device, under the email typed: nobody is signed in to name. An unreachable relay
    /// is no attempt and is not logged. The password never is, and neither is an "email" that
    /// is not one: people type their password into the wrong field, and the log is forever.
    async fn log_failed_sign_in(&self, email: &str, relay: &str, error: &DeviceError) {
        let reason = match error {
            DeviceError::Unauthenticated(_) => "wrong email or password",
            DeviceError::Forbidden => "refused",
            DeviceError::Relay { status: 429, .. } => "too many attempts",
            _ => return,
        };
        let host = url::Url::parse(relay)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let who = if looks_like_email(email) {
            email
        } else {
            "someone"
        };
        let recorded = crate::privacy::activity::record(
            &self.inner.store,
            &format!("{who} (not signed in)"),
            "account.sign_in_failed",
            Some(&format!("relay:{host}")),
            &serde_json::json!({ "device": self.inner.device_name, "reason": reason }),
        )
        .await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "a failed sign-in was not recorded");
        }
    }

    /// Logs a session starting or ending on this device (the actor is the member): on the
    /// workspace, with this device's name and its session id at the relay (to match against
    /// the devices list and revocations), and the member's role.
    async fn log_session(&self, action: &str, account: &Account) {
        self.log_activity(
            action,
            &format!("workspace:{}", account.workspace_id),
            serde_json::json!({
                "device": self.inner.device_name,
                "session_id": account.session_id,
                "role": account.role,
            }),
        )
        .await;
    }

    /// Keeps a new session: secrets sealed in the vault, the rest in the store; fetches the
    /// relay's Graph configuration.
    async fn adopt(
        &self,
        relay: &str,
        created: SessionCreated,
        key: WorkspaceSecretKey,
    ) -> Result<Account, DeviceError> {
        let store = &self.inner.store;
        // This device holds a copy of a workspace its owner deleted: it is erased before the
        // device serves another one (whose outbox would send what is queued for the old).
        let deleted_elsewhere: Option<String> =
            sqlx::query_scalar("SELECT key FROM settings WHERE key LIKE ? || '%' AND key != ?")
                .bind(super::WORKSPACE_DELETED_PREFIX)
                .bind(super::workspace_deleted_key(
                    &created.workspace.id.to_string(),
                ))
                .fetch_optional(store.pool())
                .await
                .map_err(crate::store::StoreError::from)?;
        if deleted_elsewhere.is_some() {
            let client = RelayClient::new(relay).with_token(created.token);
            if let Err(e) = client.sign_out().await {
                tracing::warn!(error = %e, "the session just made could not be ended at the relay");
            }
            return Err(DeviceError::WorkspaceDeleted);
        }
        sync::save_session(&self.inner.vault, store, relay, &created, &key)
            .await
            .map_err(|e| DeviceError::from_sync(e, relay))?;
        let account = Account {
            user_id: created.user.id.to_string(),
            user_name: created.user.name.clone(),
            email: created.user.email.clone(),
            role: created.user.role.as_str().to_owned(),
            workspace_id: created.workspace.id.to_string(),
            company: created.workspace.company.clone(),
            relay_url: relay.to_owned(),
            session_id: created.session.id.to_string(),
            numbers: Vec::new(),
        };
        store
            .set_setting(
                ACCOUNT_SETTING,
                &serde_json::to_value(&account)
                    .map_err(|e| DeviceError::Internal(e.to_string()))?,
            )
            .await?;
        store
            .set_setting(LAST_RELAY_SETTING, &serde_json::json!(relay))
            .await?;
        // The relay just took a session of this workspace: a deletion noted earlier (a relay
        // restored from a backup, say) no longer holds.
        let cleared = sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(super::workspace_deleted_key(&account.workspace_id))
            .execute(store.pool())
            .await
            .map_err(crate::store::StoreError::from)?;
        if cleared.rows_affected() > 0 {
            // A note coming back after a power cut would hold a live workspace as deleted.
            store.sync_to_disk_or_log("the cleared deletion note").await;
        }
        let client = RelayClient::new(relay).with_token(created.token);
        match client.device_config().await {
            // The business token is sent there: https only (or this computer).
            Ok(config)
                if !url::Url::parse(&config.graph_base_url)
                    .is_ok_and(|u| super::links::secure_or_local(&u)) =>
            {
                tracing::warn!("the relay's Graph API address is not https; the default is kept");
            }
            Ok(config) => {
                store
                    .set_setting(
                        GRAPH_SETTING,
                        &serde_json::json!({
                            "base_url": config.graph_base_url,
                            "version": config.graph_version,
                        }),
                    )
                    .await?
            }
            Err(e) => tracing::warn!(error = %e, "the relay's Graph configuration is unavailable"),
        }
        let session = self.session_for(account.clone(), client, key).await?;
        *self.inner.session.write().await = Some(session);
        // A new session starts afresh: no state of an earlier one (a workspace deleted, a
        // session expired) may carry over, least of all one that allows erasing this device.
        self.set_sync_state(SyncState::Connecting);
        self.emit(DeviceEvent::NumbersChanged);
        Ok(self.account().await?.unwrap_or(account))
    }

    /// Restores the session saved by an earlier run, if any.
    pub(super) async fn restore_session(&self) -> Result<(), DeviceError> {
        let store = &self.inner.store;
        let Some(syncer) = sync::saved_syncer(&self.inner.vault, store)
            .await
            .map_err(|e| DeviceError::from_sync(e, ""))?
        else {
            return Ok(());
        };
        let Some(account) = store
            .setting(ACCOUNT_SETTING)
            .await?
            .and_then(|v| serde_json::from_value::<Account>(v).ok())
        else {
            return Ok(());
        };
        let key = self
            .inner
            .vault
            .get_record(sync::WORKSPACE_KEY_RECORD)?
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .map(WorkspaceSecretKey::from_bytes)
            .ok_or(DeviceError::KeyMissing)?;
        let deleted = store
            .setting(&super::workspace_deleted_key(&account.workspace_id))
            .await?
            .is_some();
        let session = self
            .session_for(account, syncer.client().clone(), key)
            .await?;
        *self.inner.session.write().await = Some(session);
        self.set_sync_state(if deleted {
            SyncState::WorkspaceDeleted
        } else {
            SyncState::Connecting
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_is_reached_over_https_or_on_this_computer_only() {
        for ok in [
            "https://relay.example.com",
            "https://relay.example.com/dataoptix/",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(relay_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            relay_url(" https://relay.example.com/ ").unwrap(),
            "https://relay.example.com"
        );
        for refused in [
            "http://relay.example.com",
            "http://192.168.1.20:8080",
            "ftp://relay.example.com",
            "relay.example.com",
            "https://",
        ] {
            assert!(
                matches!(relay_url(refused), Err(DeviceError::InvalidInput(_))),
                "{refused}"
            );
        }
    }
}
