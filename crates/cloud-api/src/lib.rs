//! Meta's WhatsApp Cloud API as Rust types, with no storage and no Tauri.
//!
//! - [`webhook`]: the notification envelope and typed values for every field we use; anything
//!   unknown is kept as raw JSON so a new field or message type never fails a batch.
//! - [`signature`]: `X-Hub-Signature-256` verification and the `hub.challenge` handshake.
//! - [`messages`]: builders for every outbound message (`POST /{phone-number-id}/messages`).
//! - [`media`], [`templates`], [`account`], [`oauth`]: the other Graph endpoints we call.
//! - [`error`]: Meta's error envelope, classified into what the app should do about it.
//! - [`client`]: a reqwest client with configurable base URL and Graph version.

pub mod account;
pub mod client;
pub mod error;
pub mod media;
pub mod messages;
pub mod oauth;
pub mod signature;
pub mod templates;
pub mod webhook;

/// The Graph API version the app pins by default (see CLOUD-API-NOTES.md §1.2).
pub const DEFAULT_GRAPH_VERSION: &str = "v23.0";
/// Meta's production Graph API origin.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
