//! Sending files: photos, videos, audio and voice notes, documents and stickers.
//!
//! [`Device::check_attachment`] tells the composer's preview sheet what a file is and whether
//! WhatsApp takes it, before Send is offered; [`Device::send_attachment`] checks again (the
//! file may have changed since), copies it into the encrypted media store and queues it in the
//! outbox, which uploads and sends it (`send::upload`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::views::MessageView;
use super::{Device, DeviceError};
use crate::send::attachment::{detect, human_size, kind_name};
use crate::send::{voice_note, Attachment};

/// A file to send from the composer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentInput {
    /// The file on this computer (from the file picker or a drop).
    pub path: String,
    /// Shown under a photo, video or document; refused for audio and stickers.
    pub caption: Option<String>,
    /// The name shown with a document (default: the file's own name).
    pub filename: Option<String>,
    /// Send OGG/Opus audio as a voice note.
    pub voice: bool,
}

/// A voice note recorded in the composer: the microphone's samples, encoded here as OGG/Opus
/// ([`crate::send::voice_note`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct VoiceRecording {
    /// Mono 16-bit little-endian samples, base64.
    pub samples: String,
    /// Samples per second: 8,000, 12,000, 16,000, 24,000 or 48,000.
    pub sample_rate: u32,
}

/// What a file is and whether WhatsApp takes it, for the preview sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentCheck {
    /// The file's name (without its folder).
    pub file_name: String,
    /// Bytes.
    pub size_bytes: i64,
    /// The type read from the content (`None` when it is not one WhatsApp takes).
    pub mime_type: Option<String>,
    /// How it goes out: `image`, `video`, `audio`, `document` or `sticker`.
    pub kind: Option<String>,
    /// A plain name of the kind for the user (`photo`, `video`, ...).
    pub kind_label: Option<String>,
    /// Meta's size limit for it, readable (`5 MB`).
    pub limit: Option<String>,
    /// A caption may go with it.
    pub caption_allowed: bool,
    /// It may go out as a voice note (OGG/Opus).
    pub voice_allowed: bool,
    /// Why WhatsApp would refuse it; `None` when it can be sent.
    pub error: Option<String>,
    /// A photo as a `data:` URL for the preview's thumbnail (photos only: at most 5 MB).
    pub preview: Option<String>,
}

/// The largest file read at all: Meta's largest limit (documents).
const MAX_READ: u64 = cloud_api::media::MAX_MEDIA_BYTES;

impl Device {
    /// What the file at `path` is and whether WhatsApp takes it. A file WhatsApp refuses is an
    /// answer (with `error`), not an error; an unreadable path is [`DeviceError::InvalidInput`].
    pub async fn check_attachment(&self, path: &str) -> Result<AttachmentCheck, DeviceError> {
        let (file_name, size, bytes) = read_file(path).await?;
        let mut check = AttachmentCheck {
            file_name,
            size_bytes: size as i64,
            mime_type: None,
            kind: None,
            kind_label: None,
            limit: None,
            caption_allowed: false,
            voice_allowed: false,
            error: None,
            preview: None,
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(refusal) => {
                check.error = Some(refusal);
                return Ok(check);
            }
        };
        match detect(&bytes) {
            Ok(d) => {
                if d.kind == cloud_api::media::MediaKind::Image {
                    use base64::Engine;
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
                    check.preview = Some(format!("data:{};base64,{encoded}", d.mime_type));
                }
                check.mime_type = Some(d.mime_type.clone());
                check.kind = Some(d.kind.as_str().to_owned());
                check.kind_label = Some(kind_name(d.kind).to_owned());
                check.limit = Some(human_size(d.kind.max_bytes(d.animated)));
                check.caption_allowed = d.caption_allowed();
                check.voice_allowed = d.voice_allowed();
            }
            Err(e) => check.error = Some(e),
        }
        Ok(check)
    }

    /// Queues the file for the conversation (checked against Meta's types and limits first)
    /// and returns the message as the thread shows it: `pending`, with its media viewable at
    /// once. The outbox uploads and sends it, now or when Meta can be reached.
    pub async fn send_attachment(
        &self,
        conversation_id: i64,
        input: AttachmentInput,
        reply_to: Option<String>,
    ) -> Result<MessageView, DeviceError> {
        let session = self.acting_session().await?;
        self.check_conversation(conversation_id).await?;
        let (file_name, _, bytes) = read_file(&input.path).await?;
        let bytes = bytes.map_err(DeviceError::InvalidInput)?;
        let filename = input
            .filename
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(file_name);
        let attachment = Attachment::new(bytes, input.caption, Some(filename), input.voice)
            .map_err(DeviceError::InvalidInput)?;
        self.queue_attachment(&session, conversation_id, &attachment, reply_to)
            .await
    }

    /// Encodes a recording as an OGG/Opus voice note and queues it like a file
    /// ([`Self::send_attachment`] with `voice: true`).
    pub async fn send_voice_note(
        &self,
        conversation_id: i64,
        recording: VoiceRecording,
        reply_to: Option<String>,
    ) -> Result<MessageView, DeviceError> {
        use base64::Engine;
        let session = self.acting_session().await?;
        self.check_conversation(conversation_id).await?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(recording.samples.as_bytes())
            .map_err(|_| DeviceError::InvalidInput("the recording is not base64".into()))?;
        let invalid = |e: voice_note::VoiceNoteError| DeviceError::InvalidInput(e.to_string());
        let samples = voice_note::samples_from_le_bytes(&bytes).map_err(invalid)?;
        drop(bytes);
        let rate = recording.sample_rate;
        // Minutes of audio take a noticeable while to encode: not on the async threads.
        let note = tokio::task::spawn_blocking(move || voice_note::encode(&samples, rate))
            .await
            .map_err(|e| DeviceError::Internal(format!("encoding the voice note: {e}")))?
            .map_err(invalid)?;
        let attachment = Attachment::new(note.bytes, None, Some("voice-note.ogg".into()), true)
            .map_err(DeviceError::InvalidInput)?;
        self.queue_attachment(&session, conversation_id, &attachment, reply_to)
            .await
    }

    async fn queue_attachment(
        &self,
        session: &super::Session,
        conversation_id: i64,
        attachment: &Attachment,
        reply_to: Option<String>,
    ) -> Result<MessageView, DeviceError> {
        let key = uuid::Uuid::new_v4().to_string();
        let item_id = session
            .outbox
            .enqueue_attachment(conversation_id, attachment, reply_to, &key)
            .await?;
        self.queued_message(session, conversation_id, item_id).await
    }
}

/// The file's name, size and content; the inner error is a refusal for size (the file is not
/// read then). An unreadable path is an error.
pub(super) async fn read_file(
    path: &str,
) -> Result<(String, u64, Result<Vec<u8>, String>), DeviceError> {
    let path = PathBuf::from(path);
    let unreadable =
        |e: std::io::Error| DeviceError::InvalidInput(format!("cannot read the file: {e}"));
    let file_name = file_name(&path);
    let meta = tokio::fs::metadata(&path).await.map_err(unreadable)?;
    if !meta.is_file() {
        return Err(DeviceError::InvalidInput(format!(
            "{file_name} is not a file"
        )));
    }
    let size = meta.len();
    if size > MAX_READ {
        let refusal = format!(
            "the file is {}; WhatsApp accepts at most {} for any file",
            human_size(size),
            human_size(MAX_READ)
        );
        return Ok((file_name, size, Err(refusal)));
    }
    let bytes = tokio::fs::read(&path).await.map_err(unreadable)?;
    Ok((file_name, size, Ok(bytes)))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into())
}
