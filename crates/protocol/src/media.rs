//! Inbound media kept by the relay: `GET /v1/media/{media_id}` and the `media_status` events.
//!
//! The relay fetches each inbound media file with the WABA's business token, seals the bytes
//! to the workspace public key ([`crate::seal`]) and serves the sealed bytes; a device opens
//! them with [`crate::open`] and the workspace secret key.

use serde::{Deserialize, Serialize};

/// Response header of `GET /v1/media/{id}`: the file's MIME type (as Meta gave it).
pub const MIME_HEADER: &str = "x-dataoptix-media-mime";
/// Response header: the plaintext size in bytes.
pub const SIZE_HEADER: &str = "x-dataoptix-media-size";
/// Response header: the plaintext SHA-256, lowercase hex.
pub const SHA256_HEADER: &str = "x-dataoptix-media-sha256";

/// Outcome of a media fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaFetchStatus {
    /// The relay holds the file sealed: download it from `GET /v1/media/{media_id}`.
    Stored,
    /// The relay gave up: fetch from Meta directly while the media id lives, or show
    /// "media unavailable".
    Failed,
}

/// The sealed plaintext of a `media_status` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaStatus {
    pub media_id: String,
    pub status: MediaFetchStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let s = MediaStatus {
            media_id: "1".into(),
            status: MediaFetchStatus::Failed,
            error: Some("gone".into()),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"media_id":"1","status":"failed","error":"gone"}"#);
        assert_eq!(serde_json::from_str::<MediaStatus>(&json).unwrap(), s);
    }
}
