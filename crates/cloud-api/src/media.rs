//! Media: upload (`POST /{phone}/media`), retrieve a download URL (`GET /{media-id}`), download
//! (`GET <url>` with the Bearer token) and delete (`DELETE /{media-id}`) — CLOUD-API-NOTES.md §4.
//!
//! Also Meta's supported types and size limits, so that the app refuses a file *before* uploading
//! it (instead of a 131053 after the upload) and the simulator enforces the same rules.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A file to upload as multipart `file`, with its MIME type (sent as the `type` field too).
#[derive(Clone)]
pub struct MediaUpload {
    pub bytes: Bytes,
    pub filename: String,
    pub mime_type: String,
}

impl fmt::Debug for MediaUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The content may be a customer's private document: show only its size.
        f.debug_struct("MediaUpload")
            .field("len", &self.bytes.len())
            .field("filename", &self.filename)
            .field("mime_type", &self.mime_type)
            .finish()
    }
}

impl MediaUpload {
    pub fn new(
        bytes: impl Into<Bytes>,
        filename: impl Into<String>,
        mime_type: impl Into<String>,
    ) -> Self {
        Self {
            bytes: bytes.into(),
            filename: filename.into(),
            mime_type: mime_type.into(),
        }
    }
}

/// `POST /{phone}/media` → `{"id": "<MEDIA_ID>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUploaded {
    pub id: String,
}

/// File types the Resumable Upload API takes (template header examples, profile photos).
pub const RESUMABLE_UPLOAD_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "video/mp4",
];

/// `POST /{app-id}/uploads` → `{"id": "upload:<session>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSession {
    /// `upload:<session id>`, the path of the upload step.
    pub id: String,
}

/// `GET /upload:<session>` → how many bytes Meta has; the upload resumes from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadProgress {
    pub file_offset: u64,
}

/// `POST /upload:<session>` once every byte arrived → the asset handle (`header_handle`,
/// `profile_picture_handle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedHandle {
    pub h: String,
}

/// `GET /{media-id}` → where to download the media, valid for 5 minutes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// Download URL; needs the Bearer token and expires after 5 minutes.
    pub url: String,
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Bytes. The spec types it as a string (`"303833"`); numbers are accepted too. Serialized
    /// as a string, like the spec.
    #[serde(
        default,
        deserialize_with = "size_from_string_or_number",
        serialize_with = "size_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_size: Option<u64>,
    pub id: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn size_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Number(u64),
        String(String),
    }
    match Option::<Size>::deserialize(d)? {
        None => Ok(None),
        Some(Size::Number(n)) => Ok(Some(n)),
        Some(Size::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("file_size is not a number: {s:?}"))),
    }
}

fn size_as_string<S: Serializer>(size: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match size {
        Some(n) => s.serialize_str(&n.to_string()),
        None => s.serialize_none(),
    }
}

/// The kinds of media WhatsApp accepts, each with its own types and size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Document,
    Image,
    Sticker,
    Video,
}

const MB: u64 = 1024 * 1024;
const KB: u64 = 1024;

const AUDIO_TYPES: &[&str] = &[
    "audio/aac",
    "audio/amr",
    "audio/mpeg",
    "audio/mp4",
    "audio/ogg",
];
const DOCUMENT_TYPES: &[&str] = &[
    "text/plain",
    "application/pdf",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png"];
const STICKER_TYPES: &[&str] = &["image/webp"];
const VIDEO_TYPES: &[&str] = &["video/3gpp", "video/mp4"];

impl MediaKind {
    /// The MIME types Meta accepts for this kind (CLOUD-API-NOTES.md §4). For `audio/ogg` only
    /// the Opus codec works; that cannot be checked from the type alone.
    pub fn mime_types(self) -> &'static [&'static str] {
        match self {
            Self::Audio => AUDIO_TYPES,
            Self::Document => DOCUMENT_TYPES,
            Self::Image => IMAGE_TYPES,
            Self::Sticker => STICKER_TYPES,
            Self::Video => VIDEO_TYPES,
        }
    }

    /// The kind's name, which is also the message `type` that carries it (`"image"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Image => "image",
            Self::Sticker => "sticker",
            Self::Video => "video",
        }
    }

    /// The kind a message `type` carries (`"image"` → [`MediaKind::Image`]); `None` for
    /// non-media types.
    pub fn from_message_type(message_type: &str) -> Option<Self> {
        [
            Self::Audio,
            Self::Document,
            Self::Image,
            Self::Sticker,
            Self::Video,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == message_type)
    }

    /// Largest accepted size in bytes. Stickers: 500 KB when animated, 100 KB when static.
    pub const fn max_bytes(self, animated_sticker: bool) -> u64 {
        match self {
            Self::Audio | Self::Video => 16 * MB,
            Self::Document => 100 * MB,
            Self::Image => 5 * MB,
            Self::Sticker if animated_sticker => 500 * KB,
            Self::Sticker => 100 * KB,
        }
    }

    /// The kind a MIME type belongs to when sent as a normal message (`image/webp` is a sticker).
    pub fn for_mime(mime_type: &str) -> Option<Self> {
        let essence = essence(mime_type);
        [
            Self::Image,
            Self::Audio,
            Self::Video,
            Self::Document,
            Self::Sticker,
        ]
        .into_iter()
        .find(|kind| kind.mime_types().contains(&essence.as_str()))
    }
}

/// The largest media Meta accepts at all (documents): the default cap for downloads.
pub const MAX_MEDIA_BYTES: u64 = 100 * MB;

/// Why a file cannot be sent as the chosen kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaCheckError {
    #[error("WhatsApp does not accept {mime_type} as {kind:?}")]
    UnsupportedType { kind: MediaKind, mime_type: String },
    #[error("the file is {size} bytes; WhatsApp accepts at most {max} bytes for {kind:?}")]
    TooLarge {
        kind: MediaKind,
        size: u64,
        max: u64,
    },
    #[error("the file is empty")]
    Empty,
}

/// Checks a file against Meta's limits for `kind` before it is uploaded.
pub fn check_media(
    kind: MediaKind,
    mime_type: &str,
    size: u64,
    animated_sticker: bool,
) -> Result<(), MediaCheckError> {
    if !kind.mime_types().contains(&essence(mime_type).as_str()) {
        return Err(MediaCheckError::UnsupportedType {
            kind,
            mime_type: mime_type.to_owned(),
        });
    }
    if size == 0 {
        return Err(MediaCheckError::Empty);
    }
    let max = kind.max_bytes(animated_sticker);
    if size > max {
        return Err(MediaCheckError::TooLarge { kind, size, max });
    }
    Ok(())
}

/// `"audio/ogg; codecs=opus"` → `"audio/ogg"`, lowercased.
fn essence(mime_type: &str) -> String {
    mime_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_info_from_spec_example_round_trips() {
        let body = r#"{"file_size": "303833", "id": "2621233374848975",
            "messaging_product": "whatsapp", "mime_type": "image/jpeg", "sha256": "<HASH>",
            "url": "<URL>"}"#;
        let info: MediaInfo = serde_json::from_str(body).unwrap();
        assert_eq!(info.file_size, Some(303_833));
        let back = serde_json::to_value(&info).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(body).unwrap());
        let numeric: MediaInfo =
            serde_json::from_str(r#"{"url":"u","mime_type":"m","id":"1","file_size":12}"#).unwrap();
        assert_eq!(numeric.file_size, Some(12));
    }

    #[test]
    fn limits() {
        assert_eq!(
            check_media(MediaKind::Image, "image/jpeg", 5 * MB, false),
            Ok(())
        );
        assert!(matches!(
            check_media(MediaKind::Image, "image/jpeg", 5 * MB + 1, false),
            Err(MediaCheckError::TooLarge { .. })
        ));
        assert!(matches!(
            check_media(MediaKind::Image, "image/gif", 10, false),
            Err(MediaCheckError::UnsupportedType { .. })
        ));
        assert_eq!(
            check_media(MediaKind::Audio, "audio/ogg; codecs=opus", 1000, false),
            Ok(())
        );
        assert_eq!(
            check_media(MediaKind::Sticker, "image/webp", 200 * KB, true),
            Ok(())
        );
        assert!(check_media(MediaKind::Sticker, "image/webp", 200 * KB, false).is_err());
        assert_eq!(
            MediaKind::for_mime("application/pdf"),
            Some(MediaKind::Document)
        );
        assert_eq!(MediaKind::for_mime("image/webp"), Some(MediaKind::Sticker));
    }

    #[test]
    fn names_match_message_types_and_serde() {
        for kind in [
            MediaKind::Audio,
            MediaKind::Document,
            MediaKind::Image,
            MediaKind::Sticker,
            MediaKind::Video,
        ] {
            assert_eq!(MediaKind::from_message_type(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(MediaKind::from_message_type("text"), None);
    }
}
