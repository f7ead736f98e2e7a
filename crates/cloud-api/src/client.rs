//! A typed client for the Graph API endpoints DataOptix calls, over reqwest with rustls.
//!
//! Why a client of our own rather than raw reqwest calls at each site: one place decides the URL
//! layout (`{base}/{version}/{id}/{edge}`, ids percent-encoded as single path segments so an id
//! can never smuggle a path), the Bearer header, the timeouts, and how a failure is reported —
//! Meta's error envelope becomes [`CloudApiError::Meta`], classified by [`crate::error`], while
//! network and decoding trouble get their own variants. Tokens are never logged: the client's
//! `Debug` redacts them, reqwest marks the Authorization header sensitive, and transport errors
//! are stripped of their URL (some URLs carry `client_secret`, `input_token` or signed media
//! parameters).
//!
//! The base URL and Graph version are configurable so the same client talks to Meta, to the
//! `dataoptix-sim` simulator, or to a test server on 127.0.0.1.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::account::{
    BusinessAccount, BusinessProfile, BusinessProfileResponse, BusinessProfileUpdate, PhoneNumber,
    RegisterRequest, SubscribedApp, SubscribedAppsList, SubscriptionResult, WebhookOverride,
    BUSINESS_PROFILE_FIELDS,
};
use crate::error::{ErrorClass, ErrorEnvelope, MetaError, THROUGHPUT_BACKOFF, TRANSIENT_BACKOFF};
use crate::media::{
    MediaInfo, MediaUpload, MediaUploaded, UploadProgress, UploadSession, UploadedHandle,
    MAX_MEDIA_BYTES, RESUMABLE_UPLOAD_TYPES,
};
use crate::messages::{MarkRead, MarkReadResponse, SendMessage, SendResponse};
use crate::oauth::{AccessToken, AccessTokenResponse, CodeExchange, DebugTokenResponse, TokenInfo};
use crate::templates::{
    MessageTemplate, NewTemplate, TemplateCreated, TemplateEdit, TemplateQuery,
};

pub use crate::{DEFAULT_BASE_URL, DEFAULT_GRAPH_VERSION};

/// Largest number of pages [`CloudApiClient::list_all_templates`] follows (a safety net against a
/// server that keeps returning a `next` link).
pub const MAX_PAGES: usize = 1000;

/// How much of a non-JSON error body is kept in [`CloudApiError::Http`].
const ERROR_BODY_SNIPPET: usize = 1024;

/// Everything that can go wrong calling the Graph API.
#[derive(Debug, thiserror::Error)]
pub enum CloudApiError {
    /// Meta answered with its error envelope; see [`MetaError::class`]. Boxed to keep
    /// `Result<_, CloudApiError>` small.
    #[error(transparent)]
    Meta(Box<MetaError>),
    /// A non-2xx answer without Meta's envelope (a proxy, a load balancer, an outage page).
    #[error("the Graph API answered HTTP {status} without an error body")]
    Http { status: u16, body: String },
    /// No answer within the configured timeout.
    #[error("the Graph API did not answer in time")]
    Timeout,
    /// The request could not be sent or the answer not read (DNS, TLS, connection reset…).
    #[error("could not reach the Graph API: {0}")]
    Transport(#[source] reqwest::Error),
    /// A 2xx answer that is not the JSON expected.
    #[error("unexpected answer from the Graph API: {0}")]
    Decode(#[source] serde_json::Error),
    /// Meta answered `{"success": false}`.
    #[error("the Graph API answered success: false")]
    Unsuccessful,
    /// The call needs a token and the client has none ([`CloudApiClient::with_token`]).
    #[error("no access token is configured")]
    MissingToken,
    /// A request refused before sending (bad id, bad PIN, bad MIME type…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The media exceeds the download cap.
    #[error("the media is larger than {max} bytes")]
    MediaTooLarge { max: u64 },
    /// A media URL that is neither HTTPS nor on the configured Graph host: the access token is
    /// not sent there.
    #[error("refusing to send the access token to the media host {host}")]
    UntrustedMediaUrl { host: String },
    /// The configured base URL cannot be used.
    #[error("invalid base URL: {0}")]
    InvalidBaseUrl(String),
}

impl From<MetaError> for CloudApiError {
    fn from(err: MetaError) -> Self {
        Self::Meta(Box::new(err))
    }
}

impl CloudApiError {
    /// Meta's error, when Meta sent one.
    pub fn meta(&self) -> Option<&MetaError> {
        match self {
            Self::Meta(e) => Some(e),
            _ => None,
        }
    }

    /// The Meta error code, when Meta sent one.
    pub fn code(&self) -> Option<i64> {
        self.meta().map(|e| e.code)
    }

    /// What a machine should do about the error. Network failures and timeouts are retryable;
    /// note that a send that timed out may still have been accepted by Meta.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Meta(e) => e.class(),
            Self::Http { status, .. } => match StatusCode::from_u16(*status) {
                Ok(StatusCode::UNAUTHORIZED) => ErrorClass::TokenInvalid,
                Ok(StatusCode::TOO_MANY_REQUESTS) => ErrorClass::RateLimited {
                    backoff: THROUGHPUT_BACKOFF,
                },
                Ok(s) if s.is_server_error() => ErrorClass::Retryable {
                    backoff: TRANSIENT_BACKOFF,
                },
                _ => ErrorClass::Permanent,
            },
            Self::Timeout | Self::Transport(_) => ErrorClass::Retryable {
                backoff: TRANSIENT_BACKOFF,
            },
            Self::MissingToken => ErrorClass::TokenInvalid,
            Self::InvalidRequest(_) | Self::MediaTooLarge { .. } => ErrorClass::FixableByUser,
            Self::Decode(_)
            | Self::Unsuccessful
            | Self::UntrustedMediaUrl { .. }
            | Self::InvalidBaseUrl(_) => ErrorClass::Permanent,
        }
    }

    /// How long to wait before retry number `attempt` (0-based), if retrying makes sense.
    pub fn backoff(&self, attempt: u32) -> Option<Duration> {
        self.class().backoff(attempt)
    }

    fn from_reqwest(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else {
            // URLs may carry secrets (client_secret, input_token, signed media parameters).
            Self::Transport(err.without_url())
        }
    }
}

/// `{"success": true}`, the answer of most write calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuccessResponse {
    pub success: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One page of a Graph API list: `{"data": [...], "paging": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<T> Page<T> {
    /// The cursor of the next page, when there is one (Meta omits `next` on the last page).
    pub fn next_cursor(&self) -> Option<&str> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.as_deref()
    }
}

/// `paging` of a list answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Paging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursors: Option<Cursors>,
    /// URL of the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// `paging.cursors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursors {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// How to reach the Graph API.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Origin (and optional path prefix) of the Graph API, [`DEFAULT_BASE_URL`] by default.
    pub base_url: String,
    /// Pinned Graph version, [`DEFAULT_GRAPH_VERSION`] by default.
    pub graph_version: String,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole API call.
    pub timeout: Duration,
    /// Time allowed for a whole media upload or download (documents go up to 100 MB).
    pub media_timeout: Duration,
    /// Largest media download accepted.
    pub max_media_bytes: u64,
    /// Hosts (and their subdomains) that may receive the access token with a media download,
    /// besides the Graph origin itself. Meta serves media from its own CDNs; a webhook or a
    /// compromised response naming any other host must not collect the business token.
    pub media_hosts: Vec<String>,
}

/// Meta's media CDN domains (`lookaside.fbsbx.com` and friends), trusted by default.
pub const META_MEDIA_HOSTS: &[&str] = &["fbsbx.com", "facebook.com", "whatsapp.net", "fbcdn.net"];

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            graph_version: DEFAULT_GRAPH_VERSION.to_owned(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            media_timeout: Duration::from_secs(300),
            max_media_bytes: MAX_MEDIA_BYTES,
            media_hosts: META_MEDIA_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
        }
    }
}

/// The Graph API client. Cheap to clone (the connection pool is shared); give each workspace
/// its token with [`CloudApiClient::with_token`].
#[derive(Clone)]
pub struct CloudApiClient {
    http: reqwest::Client,
    base: Url,
    version: String,
    token: Option<AccessToken>,
    timeout: Duration,
    media_timeout: Duration,
    max_media_bytes: u64,
    media_hosts: std::sync::Arc<[String]>,
}

impl fmt::Debug for CloudApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudApiClient")
            .field("base", &self.base.as_str())
            .field("version", &self.version)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("media_timeout", &self.media_timeout)
            .finish()
    }
}

impl CloudApiClient {
    /// A client with its own connection pool (rustls, the configured connect timeout).
    pub fn new(config: ClientConfig) -> Result<Self, CloudApiError> {
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("dataoptix-cloud-api/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(CloudApiError::from_reqwest)?;
        Self::with_http(http, config)
    }

    /// A client over an existing reqwest client (its connect timeout applies).
    pub fn with_http(http: reqwest::Client, config: ClientConfig) -> Result<Self, CloudApiError> {
        let base = Url::parse(&config.base_url)
            .map_err(|e| CloudApiError::InvalidBaseUrl(format!("{}: {e}", config.base_url)))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(CloudApiError::InvalidBaseUrl(config.base_url));
        }
        let version = config.graph_version.trim_matches('/').to_owned();
        if !is_graph_version(&version) {
            return Err(CloudApiError::InvalidBaseUrl(format!(
                "graph version {version:?} is not of the form v23.0"
            )));
        }
        Ok(Self {
            http,
            base,
            version,
            token: None,
            timeout: config.timeout,
            media_timeout: config.media_timeout,
            max_media_bytes: config.max_media_bytes,
            media_hosts: config.media_hosts.into(),
        })
    }

    /// The same client, authenticating its calls with `token`.
    #[must_use]
    pub fn with_token(&self, token: impl Into<AccessToken>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The configured Graph version, e.g. `v23.0`.
    pub fn graph_version(&self) -> &str {
        &self.version
    }

    /// The configured base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    // ----- Messages ----------------------------------------------------------------------

    /// `POST /{phone}/messages`: sends a message. Success means Meta *accepted* it; delivery is
    /// reported by status webhooks keyed by [`SendResponse::message_id`]. A [`Timeout`] here
    /// does not prove the message was not accepted.
    ///
    /// [`Timeout`]: CloudApiError::Timeout
    pub async fn send_message(
        &self,
        phone_number_id: &str,
        message: &SendMessage,
    ) -> Result<SendResponse, CloudApiError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        self.json(self.request(Method::POST, url)?.json(message))
            .await
    }

    /// `POST /{phone}/messages` with `status: "read"`: marks a message (and every earlier one)
    /// read, optionally showing "typing…" ([`MarkRead::with_typing_indicator`]).
    pub async fn mark_as_read(
        &self,
        phone_number_id: &str,
        read: &MarkRead,
    ) -> Result<(), CloudApiError> {
        let url = self.url(&[phone_number_id, "messages"])?;
        let response: MarkReadResponse = self
            .json(self.request(Method::POST, url)?.json(read))
            .await?;
        if response.success {
            Ok(())
        } else {
            Err(CloudApiError::Unsuccessful)
        }
    }

    // ----- Media -------------------------------------------------------------------------

    /// `POST /{phone}/media` (multipart `file`, `type`, `messaging_product`) → the media id.
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        upload: MediaUpload,
    ) -> Result<MediaUploaded, CloudApiError> {
        let url = self.url(&[phone_number_id, "media"])?;
        let len = upload.bytes.len() as u64;
        let file = reqwest::multipart::Part::stream_with_length(upload.bytes, len)
            .file_name(upload.filename)
            .mime_str(&upload.mime_type)
            .map_err(|_| {
                CloudApiError::InvalidRequest(format!("invalid MIME type {:?}", upload.mime_type))
            })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", upload.mime_type)
            .part("file", file);
        let req = self
            .request(Method::POST, url)?
            .timeout(self.media_timeout)
            .multipart(form);
        self.json(req).await
    }

    /// Meta's Resumable Upload API: uploads `bytes` as an asset of app `app_id` and returns its
    /// handle (`components[].example.header_handle` of a media template header, or the business
    /// profile's `profile_picture_handle`). `POST /{app-id}/uploads` opens a session; the bytes
    /// go to `POST /upload:<session>` with `file_offset` (`Authorization: OAuth`, as Meta's
    /// guide says). When a step fails in transit, `GET /upload:<session>` tells how much Meta
    /// has and the rest is sent from there (at most three tries); Meta's own refusals are
    /// returned at once.
    pub async fn resumable_upload(
        &self,
        app_id: &str,
        file_name: &str,
        file_type: &str,
        bytes: Bytes,
    ) -> Result<String, CloudApiError> {
        if !RESUMABLE_UPLOAD_TYPES.contains(&file_type) {
            return Err(CloudApiError::InvalidRequest(format!(
                "{file_type} cannot be uploaded as an asset (PDF, JPEG, PNG or MP4)"
            )));
        }
        if bytes.is_empty() {
            return Err(CloudApiError::InvalidRequest("the file is empty".into()));
        }
        let mut url = self.url(&[app_id, "uploads"])?;
        let length = bytes.len().to_string();
        append_query(
            &mut url,
            [
                ("file_name", file_name),
                ("file_length", length.as_str()),
                ("file_type", file_type),
            ],
        );
        let session: UploadSession = self.json(self.request(Method::POST, url)?).await?;
        let Some(session_id) = session.id.strip_prefix("upload:") else {
            return Err(CloudApiError::InvalidRequest(format!(
                "unexpected upload session id {:?}",
                session.id
            )));
        };
        let step = self.url(&[&format!("upload:{session_id}")])?;
        let mut offset = 0_u64;
        let mut tries = 0;
        loop {
            let rest = bytes.slice(
                usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len())..,
            );
            let req = self
                .upload_step(Method::POST, step.clone())?
                .header("file_offset", offset.to_string())
                .timeout(self.media_timeout)
                .body(rest);
            match self.json::<UploadedHandle>(req).await {
                Ok(handle) => return Ok(handle.h),
                Err(e @ (CloudApiError::Timeout | CloudApiError::Transport(_))) if tries < 2 => {
                    tries += 1;
                    tracing::debug!(error = %e, "upload step interrupted; asking where to resume");
                    let progress: UploadProgress = self
                        .json(self.upload_step(Method::GET, step.clone())?)
                        .await?;
                    offset = progress.file_offset.min(bytes.len() as u64);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A request of the upload step: `Authorization: OAuth <token>`.
    fn upload_step(&self, method: Method, url: Url) -> Result<RequestBuilder, CloudApiError> {
        let token = self.token.as_ref().ok_or(CloudApiError::MissingToken)?;
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("OAuth {}", token.expose())).map_err(
                |_| CloudApiError::InvalidRequest("the token is not a valid header".into()),
            )?;
        value.set_sensitive(true);
        Ok(self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, value)
            .timeout(self.timeout))
    }

    /// `GET /{media-id}` → a download URL valid for 5 minutes, with type, hash and size.
    pub async fn media_info(
        &self,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<MediaInfo, CloudApiError> {
        let mut url = self.url(&[media_id])?;
        if let Some(phone) = phone_number_id {
            url.query_pairs_mut().append_pair("phone_number_id", phone);
        }
        self.json(self.request(Method::GET, url)?).await
    }

    /// Downloads media from a URL returned by [`CloudApiClient::media_info`] (or a webhook),
    /// with the Bearer token. The token is only sent to the configured Graph origin or over
    /// HTTPS to one of `media_hosts`, and at most `max_media_bytes` are read.
    pub async fn download_media(&self, media_url: &str) -> Result<Bytes, CloudApiError> {
        let url = Url::parse(media_url)
            .map_err(|e| CloudApiError::InvalidRequest(format!("invalid media URL: {e}")))?;
        if !self.may_receive_token(&url) {
            return Err(CloudApiError::UntrustedMediaUrl {
                host: url.host_str().unwrap_or_default().to_owned(),
            });
        }
        let req = self.request(Method::GET, url)?.timeout(self.media_timeout);
        let mut resp = self.send(req).await?;
        let max = self.max_media_bytes;
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(CloudApiError::MediaTooLarge { max });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(CloudApiError::from_reqwest)? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(CloudApiError::MediaTooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// Whether a media URL may be sent the access token: the Graph origin itself, or HTTPS on
    /// one of the configured media hosts or their subdomains.
    fn may_receive_token(&self, url: &Url) -> bool {
        if url.origin() == self.base.origin() {
            return true;
        }
        url.scheme() == "https"
            && url.host_str().is_some_and(|host| {
                self.media_hosts.iter().any(|allowed| {
                    host == allowed.as_str()
                        || host
                            .strip_suffix(allowed.as_str())
                            .is_some_and(|sub| sub.ends_with('.'))
                })
            })
    }

    /// `DELETE /{media-id}`.
    pub async fn delete_media(
        &self,
        media_id: &str,
        phone_number_id: Option<&str>,
    ) -> Result<(), CloudApiError> {
        let mut url = self.url(&[media_id])?;
        if let Some(phone) = phone_number_id {
            url.query_pairs_mut().append_pair("phone_number_id", phone);
        }
        self.success(self.request(Method::DELETE, url)?).await
    }

    // ----- Templates ---------------------------------------------------------------------

    /// `GET /{waba}/message_templates` — one page.
    pub async fn list_templates(
        &self,
        waba_id: &str,
        query: &TemplateQuery,
    ) -> Result<Page<MessageTemplate>, CloudApiError> {
        let mut url = self.url(&[waba_id, "message_templates"])?;
        append_query(
            &mut url,
            query.pairs().iter().map(|(k, v)| (*k, v.as_str())),
        );
        self.json(self.request(Method::GET, url)?).await
    }

    /// Every template of the WABA, following `paging.cursors.after` until the last page.
    pub async fn list_all_templates(
        &self,
        waba_id: &str,
        query: TemplateQuery,
    ) -> Result<Vec<MessageTemplate>, CloudApiError> {
        let mut query = query;
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.list_templates(waba_id, &query).await?;
            let next = page.next_cursor().map(str::to_owned);
            all.extend(page.data);
            match next {
                Some(cursor) if query.after.as_deref() != Some(cursor.as_str()) => {
                    query.after = Some(cursor);
                }
                _ => break,
            }
        }
        Ok(all)
    }

    /// `POST /{waba}/message_templates` → id, review status and category.
    pub async fn create_template(
        &self,
        waba_id: &str,
        template: &NewTemplate,
    ) -> Result<TemplateCreated, CloudApiError> {
        let url = self.url(&[waba_id, "message_templates"])?;
        self.json(self.request(Method::POST, url)?.json(template))
            .await
    }

    /// `POST /{template-id}`: replaces the category, components or time-to-live.
    pub async fn edit_template(
        &self,
        template_id: &str,
        edit: &TemplateEdit,
    ) -> Result<(), CloudApiError> {
        let url = self.url(&[template_id])?;
        self.success(self.request(Method::POST, url)?.json(edit))
            .await
    }

    /// `DELETE /{waba}/message_templates?name=…[&hsm_id=…]`: all languages of the name, or only
    /// the template with id `hsm_id`.
    pub async fn delete_template(
        &self,
        waba_id: &str,
        name: &str,
        hsm_id: Option<&str>,
    ) -> Result<(), CloudApiError> {
        let mut url = self.url(&[waba_id, "message_templates"])?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(id) = hsm_id {
                q.append_pair("hsm_id", id);
            }
            q.append_pair("name", name);
        }
        self.success(self.request(Method::DELETE, url)?).await
    }

    // ----- Account -----------------------------------------------------------------------

    /// `GET /{waba}/phone_numbers` — every number of the WABA (all pages).
    pub async fn list_phone_numbers(
        &self,
        waba_id: &str,
        fields: Option<&str>,
    ) -> Result<Vec<PhoneNumber>, CloudApiError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.url(&[waba_id, "phone_numbers"])?;
            let pairs = [("fields", fields), ("after", after.as_deref())];
            append_query(
                &mut url,
                pairs.into_iter().filter_map(|(k, v)| Some((k, v?))),
            );
            let page: Page<PhoneNumber> = self.json(self.request(Method::GET, url)?).await?;
            let next = page.next_cursor().map(str::to_owned);
            all.extend(page.data);
            match next {
                Some(cursor) if after.as_deref() != Some(cursor.as_str()) => after = Some(cursor),
                _ => break,
            }
        }
        Ok(all)
    }

    /// `GET /{phone-id}[?fields=…]` (see [`crate::account::PHONE_NUMBER_FIELDS`]).
    pub async fn phone_number(
        &self,
        phone_number_id: &str,
        fields: Option<&str>,
    ) -> Result<PhoneNumber, CloudApiError> {
        self.get_with_fields(&[phone_number_id], fields).await
    }

    /// `GET /{waba}[?fields=…]`.
    pub async fn business_account(
        &self,
        waba_id: &str,
        fields: Option<&str>,
    ) -> Result<BusinessAccount, CloudApiError> {
        self.get_with_fields(&[waba_id], fields).await
    }

    /// `GET /{phone}/whatsapp_business_profile` with every profile field.
    pub async fn business_profile(
        &self,
        phone_number_id: &str,
    ) -> Result<BusinessProfile, CloudApiError> {
        let response: BusinessProfileResponse = self
            .get_with_fields(
                &[phone_number_id, "whatsapp_business_profile"],
                Some(BUSINESS_PROFILE_FIELDS),
            )
            .await?;
        Ok(response.into_profile())
    }

    /// `POST /{phone}/whatsapp_business_profile`: changes the fields that are set.
    pub async fn update_business_profile(
        &self,
        phone_number_id: &str,
        update: &BusinessProfileUpdate,
    ) -> Result<(), CloudApiError> {
        let url = self.url(&[phone_number_id, "whatsapp_business_profile"])?;
        self.success(self.request(Method::POST, url)?.json(update))
            .await
    }

    /// `POST /{waba}/subscribed_apps`: subscribes this app to the WABA's webhooks, optionally
    /// with a WABA-level callback URL.
    pub async fn subscribe_app(
        &self,
        waba_id: &str,
        webhook_override: Option<&WebhookOverride>,
    ) -> Result<SubscriptionResult, CloudApiError> {
        let url = self.url(&[waba_id, "subscribed_apps"])?;
        let mut req = self.request(Method::POST, url)?;
        if let Some(body) = webhook_override {
            req = req.json(body);
        }
        let result: SubscriptionResult = self.json(req).await?;
        if result.success {
            Ok(result)
        } else {
            Err(CloudApiError::Unsuccessful)
        }
    }

    /// `GET /{waba}/subscribed_apps`.
    pub async fn subscribed_apps(
        &self,
        waba_id: &str,
    ) -> Result<Vec<SubscribedApp>, CloudApiError> {
        let url = self.url(&[waba_id, "subscribed_apps"])?;
        let list: SubscribedAppsList = self.json(self.request(Method::GET, url)?).await?;
        Ok(list.data)
    }

    /// `DELETE /{waba}/subscribed_apps`.
    pub async fn unsubscribe_app(&self, waba_id: &str) -> Result<(), CloudApiError> {
        let url = self.url(&[waba_id, "subscribed_apps"])?;
        self.success(self.request(Method::DELETE, url)?).await
    }

    /// `POST /{phone}/register` with the 6-digit PIN (checked before sending).
    pub async fn register(
        &self,
        phone_number_id: &str,
        request: &RegisterRequest,
    ) -> Result<(), CloudApiError> {
        if !request.pin_is_valid() {
            return Err(CloudApiError::InvalidRequest(
                "the PIN must be exactly 6 digits".to_owned(),
            ));
        }
        let url = self.url(&[phone_number_id, "register"])?;
        self.success(self.request(Method::POST, url)?.json(request))
            .await
    }

    /// `POST /{phone}/deregister`.
    pub async fn deregister(&self, phone_number_id: &str) -> Result<(), CloudApiError> {
        let url = self.url(&[phone_number_id, "deregister"])?;
        self.success(self.request(Method::POST, url)?).await
    }

    // ----- OAuth -------------------------------------------------------------------------

    /// `GET /{version}/oauth/access_token?client_id&client_secret&code`: the Embedded Signup
    /// code exchange (relay only; needs no Bearer token).
    pub async fn exchange_code(
        &self,
        exchange: &CodeExchange,
    ) -> Result<AccessTokenResponse, CloudApiError> {
        let mut url = self.url(&["oauth", "access_token"])?;
        url.query_pairs_mut().extend_pairs(exchange.query_pairs());
        let req = self.http.request(Method::GET, url).timeout(self.timeout);
        self.json(req).await
    }

    /// `GET /{version}/debug_token?input_token=…`, authenticated with the client's token (an
    /// app token `APP_ID|APP_SECRET`, see [`AccessToken::app_token`]).
    pub async fn debug_token(&self, input_token: &AccessToken) -> Result<TokenInfo, CloudApiError> {
        let mut url = self.url(&["debug_token"])?;
        url.query_pairs_mut()
            .append_pair("input_token", input_token.expose());
        let response: DebugTokenResponse = self.json(self.request(Method::GET, url)?).await?;
        Ok(response.data)
    }

    // ----- Plumbing ----------------------------------------------------------------------

    /// `{base}/{version}/{segments…}`, each segment percent-encoded on its own.
    fn url(&self, segments: &[&str]) -> Result<Url, CloudApiError> {
        for segment in segments {
            if segment.is_empty() || *segment == "." || *segment == ".." {
                return Err(CloudApiError::InvalidRequest(format!(
                    "invalid id {segment:?}"
                )));
            }
        }
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| CloudApiError::InvalidBaseUrl(self.base.to_string()))?
            .pop_if_empty()
            .push(&self.version)
            .extend(segments);
        Ok(url)
    }

    /// A request with the Bearer token and the API timeout.
    fn request(&self, method: Method, url: Url) -> Result<RequestBuilder, CloudApiError> {
        let token = self.token.as_ref().ok_or(CloudApiError::MissingToken)?;
        Ok(self
            .http
            .request(method, url)
            .bearer_auth(token.expose())
            .timeout(self.timeout))
    }

    async fn get_with_fields<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        fields: Option<&str>,
    ) -> Result<T, CloudApiError> {
        let mut url = self.url(segments)?;
        if let Some(fields) = fields {
            url.query_pairs_mut().append_pair("fields", fields);
        }
        self.json(self.request(Method::GET, url)?).await
    }

    /// Sends the request; a non-2xx answer becomes an error (Meta's envelope when present).
    async fn send(&self, req: RequestBuilder) -> Result<Response, CloudApiError> {
        let req = req.build().map_err(CloudApiError::from_reqwest)?;
        // Log the path only: queries may carry secrets.
        tracing::debug!(method = %req.method(), path = req.url().path(), "graph api request");
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(CloudApiError::from_reqwest)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.bytes().await.map_err(CloudApiError::from_reqwest)?;
        let err = match serde_json::from_slice::<ErrorEnvelope>(&body) {
            Ok(envelope) => CloudApiError::from(envelope.error),
            Err(_) => CloudApiError::Http {
                status: status.as_u16(),
                body: snippet(&body),
            },
        };
        tracing::debug!(status = status.as_u16(), code = ?err.code(), "graph api error");
        Err(err)
    }

    async fn json<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, CloudApiError> {
        let resp = self.send(req).await?;
        let body = resp.bytes().await.map_err(CloudApiError::from_reqwest)?;
        serde_json::from_slice(&body).map_err(CloudApiError::Decode)
    }

    async fn success(&self, req: RequestBuilder) -> Result<(), CloudApiError> {
        let response: SuccessResponse = self.json(req).await?;
        if response.success {
            Ok(())
        } else {
            Err(CloudApiError::Unsuccessful)
        }
    }
}

/// Appends query pairs, leaving the URL without `?` when there are none.
fn append_query<'a>(url: &mut Url, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let mut pairs = pairs.into_iter().peekable();
    if pairs.peek().is_some() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
}

fn is_graph_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(ERROR_BODY_SNIPPET) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> CloudApiClient {
        CloudApiClient::new(ClientConfig {
            base_url: base.to_owned(),
            ..ClientConfig::default()
        })
        .unwrap()
        .with_token("EAAsecret")
    }

    #[test]
    fn urls_encode_ids_as_single_segments() {
        let c = client("https://graph.facebook.com");
        assert_eq!(
            c.url(&["123", "messages"]).unwrap().as_str(),
            "https://graph.facebook.com/v23.0/123/messages"
        );
        assert_eq!(
            c.url(&["12/../x?y"]).unwrap().as_str(),
            "https://graph.facebook.com/v23.0/12%2F..%2Fx%3Fy"
        );
        assert!(c.url(&[".."]).is_err());
        let prefixed = client("http://127.0.0.1:9/graph/");
        assert_eq!(
            prefixed.url(&["1"]).unwrap().as_str(),
            "http://127.0.0.1:9/graph/v23.0/1"
        );
    }

    #[test]
    fn debug_redacts_token() {
        let dbg = format!("{:?}", client("https://graph.facebook.com"));
        assert!(!dbg.contains("EAAsecret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn bad_config_is_refused() {
        for (base, version) in [
            ("not a url", "v23.0"),
            ("mailto:x@y", "v23.0"),
            ("https://graph.facebook.com", "23.0"),
            ("https://graph.facebook.com", "v23"),
        ] {
            let config = ClientConfig {
                base_url: base.to_owned(),
                graph_version: version.to_owned(),
                ..ClientConfig::default()
            };
            assert!(CloudApiClient::new(config).is_err(), "{base} {version}");
        }
    }

    #[test]
    fn media_token_goes_only_to_graph_or_meta_cdns() {
        let c = client("https://graph.facebook.com");
        let ok = |u: &str| c.may_receive_token(&Url::parse(u).unwrap());
        assert!(ok(
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
        ));
        assert!(ok("https://graph.facebook.com/v23.0/123"));
        assert!(ok("https://scontent.whatsapp.net/x"));
        assert!(!ok("https://evil.example/steal"));
        assert!(
            !ok("https://evilfbsbx.com/x"),
            "suffix must match at a label boundary"
        );
        assert!(!ok("https://fbsbx.com.evil.example/x"));
        assert!(
            !ok("http://lookaside.fbsbx.com/x"),
            "plain HTTP never gets the token"
        );
    }
}
