//! A thin reqwest client for the relay's device API (`crates/relay/API.md`).

use std::time::Duration;

use protocol::auth::{RegisterRequest, SessionCreated, SignInRequest};
use protocol::error::ErrorBody;
use protocol::events::{
    AckRequest, AckResponse, AppendEventRequest, AppendEventResponse, EventPage, MAX_PAGE,
};
use protocol::wabas::{ClaimWabaRequest, ClaimWabaResponse};
use serde::de::DeserializeOwned;

use super::stream::EventStream;
use super::SyncError;

/// How long a request may take beyond the long-poll wait it asked for.
const REQUEST_SLACK: Duration = Duration::from_secs(15);

/// The longest a media download from the relay may take (100 MB over a slow line).
const MEDIA_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The relay's sealed copy of a media file (`GET /v1/media/{id}`).
#[derive(Debug, Clone)]
pub struct RelayMedia {
    /// The sealed envelope: open with the workspace secret key.
    pub sealed: Vec<u8>,
    /// Meta's MIME type.
    pub mime_type: Option<String>,
    /// The plaintext size in bytes.
    pub size: Option<u64>,
    /// The plaintext SHA-256, lowercase hex.
    pub sha256: Option<String>,
}

/// The relay's device API. Cheap to clone (a `reqwest::Client` handle and two strings).
#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

// The session token must never reach a log through `{:?}`.
impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl RelayClient {
    /// A client of the relay at `base_url` (e.g. `https://relay.example.com`), without a session.
    pub fn new(base_url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base_url.trim_end_matches('/').to_string(),
            token: None,
        }
    }

    /// The same client, authenticated with a session token (kept sealed in the vault by the
    /// caller between runs).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The relay's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /v1/accounts`: registers a workspace (the caller generated the workspace key pair
    /// and puts only the public half in `request`). The answer holds the session token.
    pub async fn register(&self, request: &RegisterRequest) -> Result<SessionCreated, SyncError> {
        let resp = self
            .http
            .post(self.url("/v1/accounts"))
            .json(request)
            .send()
            .await?;
        decode(resp).await
    }

    /// `POST /v1/sessions`: signs in; the answer holds the session token.
    pub async fn sign_in(&self, request: &SignInRequest) -> Result<SessionCreated, SyncError> {
        let resp = self
            .http
            .post(self.url("/v1/sessions"))
            .json(request)
            .send()
            .await?;
        decode(resp).await
    }

    /// `POST /v1/wabas`: claims a WhatsApp Business Account for the workspace. The relay asks
    /// Meta first: `access_token` must grant the WABA, and `phone_number_id`, when given, must
    /// be one of its numbers.
    pub async fn claim_waba(
        &self,
        waba_id: &str,
        access_token: &str,
        phone_number_id: Option<&str>,
    ) -> Result<ClaimWabaResponse, SyncError> {
        let resp = self
            .authed(self.http.post(self.url("/v1/wabas")))?
            .json(&ClaimWabaRequest {
                waba_id: waba_id.to_string(),
                access_token: access_token.to_string(),
                phone_number_id: phone_number_id.map(str::to_string),
            })
            .send()
            .await?;
        decode(resp).await
    }

    /// `GET /v1/events?after=&limit=&wait=`: one page of events with `seq > after`, oldest
    /// first. With `wait` > 0 the relay holds the request until an event arrives (long-poll).
    pub async fn events(
        &self,
        after: i64,
        limit: u32,
        wait: Duration,
    ) -> Result<EventPage, SyncError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let wait_s = wait.as_secs().min(60);
        let resp = self
            .authed(self.http.get(self.url(&format!(
                "/v1/events?after={after}&limit={limit}&wait={wait_s}"
            ))))?
            .timeout(Duration::from_secs(wait_s) + REQUEST_SLACK)
            .send()
            .await?;
        decode(resp).await
    }

    /// `GET /v1/events/stream` with `Last-Event-ID: after`: the log's events with `seq > after`
    /// as Server-Sent Events, kept open for new ones. `None` when the relay has no such route
    /// (404/405: a relay older than the stream), so the caller long-polls instead.
    ///
    /// No overall timeout (the stream is meant to stay open): a relay that does not answer
    /// within `idle`, or a stream silent for `idle` — longer than the relay's keep-alive
    /// interval — fails instead.
    pub(crate) async fn event_stream(
        &self,
        after: i64,
        idle: Duration,
    ) -> Result<Option<EventStream>, SyncError> {
        let request = self
            .authed(self.http.get(self.url("/v1/events/stream")))?
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header("Last-Event-ID", after.to_string())
            .send();
        let resp = tokio::time::timeout(idle, request).await.map_err(|_| {
            SyncError::StreamBroken(format!("no answer to the stream request within {idle:?}"))
        })??;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND
            || status == reqwest::StatusCode::METHOD_NOT_ALLOWED
        {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(error_of(resp).await);
        }
        Ok(Some(EventStream::new(resp.bytes_stream(), idle)))
    }

    /// `POST /v1/events/ack`: everything up to `seq` is committed on this device.
    pub async fn ack(&self, seq: i64) -> Result<AckResponse, SyncError> {
        let resp = self
            .authed(self.http.post(self.url("/v1/events/ack")))?
            .json(&AckRequest { seq })
            .send()
            .await?;
        decode(resp).await
    }

    /// `GET /v1/config`: the Graph API this workspace sends through.
    pub async fn device_config(&self) -> Result<protocol::config::DeviceConfig, SyncError> {
        let resp = self
            .authed(self.http.get(self.url("/v1/config")))?
            .send()
            .await?;
        decode(resp).await
    }

    /// `DELETE /v1/sessions/current`: signs this device out at the relay.
    pub async fn sign_out(&self) -> Result<(), SyncError> {
        let resp = self
            .authed(self.http.delete(self.url("/v1/sessions/current")))?
            .send()
            .await?;
        decode_empty(resp).await
    }

    /// `DELETE /v1/accounts/current` (owner): the workspace and everything the relay holds
    /// for it are deleted; every session of it ends.
    pub async fn delete_account(&self) -> Result<(), SyncError> {
        let resp = self
            .authed(self.http.delete(self.url("/v1/accounts/current")))?
            .send()
            .await?;
        decode_empty(resp).await
    }

    /// `POST /v1/invitations/{id}/accept`: joins a workspace with an invitation (no session).
    pub async fn accept_invitation(
        &self,
        invitation_id: &str,
        request: &protocol::invitations::AcceptInvitationRequest,
    ) -> Result<protocol::invitations::InvitationAccepted, SyncError> {
        let resp = self
            .http
            .post(self.url(&format!("/v1/invitations/{invitation_id}/accept")))
            .json(request)
            .send()
            .await?;
        decode(resp).await
    }

    /// `POST /v1/invitations` (owner, admin): registers an invitation whose secret stays with
    /// the caller.
    pub async fn create_invitation(
        &self,
        request: &protocol::invitations::CreateInvitationRequest,
    ) -> Result<protocol::invitations::InvitationInfo, SyncError> {
        let resp = self
            .authed(self.http.post(self.url("/v1/invitations")))?
            .json(request)
            .send()
            .await?;
        decode(resp).await
    }

    /// `GET /v1/members`: everyone in the workspace, removed members included (inactive).
    pub async fn members(&self) -> Result<protocol::members::MemberList, SyncError> {
        let resp = self
            .authed(self.http.get(self.url("/v1/members")))?
            .send()
            .await?;
        decode(resp).await
    }

    /// `PATCH /v1/members/{id}` (owner, admin).
    pub async fn change_member_role(
        &self,
        member_id: uuid::Uuid,
        role: protocol::auth::Role,
    ) -> Result<protocol::members::MemberInfo, SyncError> {
        let resp = self
            .authed(
                self.http
                    .patch(self.url(&format!("/v1/members/{}", member_id))),
            )?
            .json(&protocol::members::ChangeRoleRequest { role })
            .send()
            .await?;
        decode(resp).await
    }

    /// `DELETE /v1/members/{id}` (owner, admin): their sessions end, they cannot sign in.
    pub async fn remove_member(&self, member_id: uuid::Uuid) -> Result<(), SyncError> {
        let resp = self
            .authed(
                self.http
                    .delete(self.url(&format!("/v1/members/{}", member_id))),
            )?
            .send()
            .await?;
        decode_empty(resp).await
    }

    /// `GET /v1/sessions`: the workspace's signed-in devices (an agent sees its own).
    pub async fn sessions(&self) -> Result<protocol::auth::SessionList, SyncError> {
        let resp = self
            .authed(self.http.get(self.url("/v1/sessions")))?
            .send()
            .await?;
        decode(resp).await
    }

    /// `DELETE /v1/sessions/{id}`: signs that device out.
    pub async fn revoke_session(&self, session_id: uuid::Uuid) -> Result<(), SyncError> {
        let resp = self
            .authed(
                self.http
                    .delete(self.url(&format!("/v1/sessions/{}", session_id))),
            )?
            .send()
            .await?;
        decode_empty(resp).await
    }

    /// `GET /v1/invitations` (owner, admin): pending invitations.
    pub async fn invitations(&self) -> Result<protocol::invitations::InvitationList, SyncError> {
        let resp = self
            .authed(self.http.get(self.url("/v1/invitations")))?
            .send()
            .await?;
        decode(resp).await
    }

    /// `DELETE /v1/invitations/{id}` (owner, admin): the link stops working.
    pub async fn revoke_invitation(&self, invitation_id: uuid::Uuid) -> Result<(), SyncError> {
        let resp = self
            .authed(
                self.http
                    .delete(self.url(&format!("/v1/invitations/{}", invitation_id))),
            )?
            .send()
            .await?;
        decode_empty(resp).await
    }

    /// `POST /v1/onboarding` (owner, admin): starts an Embedded Signup session.
    pub async fn start_onboarding(
        &self,
    ) -> Result<protocol::onboarding::OnboardingCreated, SyncError> {
        let resp = self
            .authed(self.http.post(self.url("/v1/onboarding")))?
            .send()
            .await?;
        decode(resp).await
    }

    /// `GET /v1/onboarding/{id}`: where an Embedded Signup session stands.
    pub async fn onboarding_result(
        &self,
        session_id: &str,
    ) -> Result<protocol::onboarding::OnboardingResult, SyncError> {
        let resp = self
            .authed(
                self.http
                    .get(self.url(&format!("/v1/onboarding/{session_id}"))),
            )?
            .send()
            .await?;
        decode(resp).await
    }

    /// `POST /v1/events`: appends a device event `sealed` (base64 envelope, sealed to the
    /// workspace public key). A retry with the same `client_event_id` appends nothing and
    /// answers the first event (`created: false`).
    pub async fn append_event(
        &self,
        client_event_id: &str,
        sealed: &str,
        manager: bool,
    ) -> Result<AppendEventResponse, SyncError> {
        let resp = self
            .authed(self.http.post(self.url("/v1/events")))?
            .json(&AppendEventRequest {
                client_event_id: client_event_id.to_string(),
                sealed: sealed.to_string(),
                manager,
            })
            .send()
            .await?;
        decode(resp).await
    }

    /// `GET /v1/media/{media_id}`: the relay's sealed copy of an inbound media file, with
    /// the plaintext's MIME type, size and SHA-256 from its headers; `None` when the relay does
    /// not hold it (unknown, another workspace's, not stored yet, or pruned). Reads at most
    /// `max_plain` plaintext bytes (plus the envelope's overhead): a bigger file is refused
    /// with [`SyncError::Api`] status 413 before its body is read in full.
    pub async fn media(
        &self,
        media_id: &str,
        max_plain: u64,
    ) -> Result<Option<RelayMedia>, SyncError> {
        let id: String = url::form_urlencoded::byte_serialize(media_id.as_bytes()).collect();
        let mut resp = self
            .authed(self.http.get(self.url(&format!("/v1/media/{id}"))))?
            .timeout(MEDIA_TIMEOUT)
            .send()
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(error_of(resp).await);
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let mime_type = header(protocol::media::MIME_HEADER);
        let sha256 = header(protocol::media::SHA256_HEADER);
        let size = header(protocol::media::SIZE_HEADER).and_then(|s| s.parse::<u64>().ok());
        let too_large = || SyncError::Api {
            status: 413,
            kind: "too_large".into(),
            message: format!("the file is larger than {max_plain} bytes"),
        };
        // A sealed envelope adds at most a version byte, a sealed data key, a nonce and a tag.
        let max_sealed = max_plain + 1024;
        if size.is_some_and(|n| n > max_plain)
            || resp.content_length().is_some_and(|n| n > max_sealed)
        {
            return Err(too_large());
        }
        let mut sealed = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if (sealed.len() + chunk.len()) as u64 > max_sealed {
                return Err(too_large());
            }
            sealed.extend_from_slice(&chunk);
        }
        Ok(Some(RelayMedia {
            sealed,
            mime_type,
            size,
            sha256,
        }))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authed(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, SyncError> {
        let token = self.token.as_deref().ok_or(SyncError::NotSignedIn)?;
        Ok(req.bearer_auth(token))
    }
}

async fn decode_empty(resp: reqwest::Response) -> Result<(), SyncError> {
    if resp.status().is_success() {
        return Ok(());
    }
    Err(error_of(resp).await)
}

async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, SyncError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp.json().await?);
    }
    Err(error_of(resp).await)
}

async fn error_of(resp: reqwest::Response) -> SyncError {
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    let (kind, message) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(e) => (
            serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            e.message,
        ),
        Err(_) => (String::new(), String::new()),
    };
    SyncError::Api {
        status: status.as_u16(),
        kind,
        message,
    }
}
