//! Files the user attaches: their real type, read from the bytes (never from the name, which
//! may lie), mapped to the message type Meta carries it in and checked against Meta's MIME list
//! and size limit (CLOUD-API-NOTES.md §4) BEFORE anything is queued, so a refusal is immediate
//! and names the limit instead of coming back as a 131053 after an upload.
//!
//! | detected | sent as | limit | caption | voice note |
//! |---|---|---|---|---|
//! | JPEG, PNG | `image` | 5 MB | yes | |
//! | MP4, 3GPP | `video` | 16 MB | yes | |
//! | OGG/Opus (mono), MP3, M4A, AAC, AMR | `audio` | 16 MB | no | OGG/Opus only |
//! | WebP | `sticker` | 100 KB static, 500 KB animated | no | |
//! | PDF, Office, plain text | `document` | 100 MB | yes | |
//!
//! Anything else (GIF, QuickTime, OGG with another codec, executables…) is refused with the
//! list of what WhatsApp takes.

use cloud_api::media::{check_media, MediaCheckError, MediaKind};
use cloud_api::messages::{Audio, Document, Image, MessageContent, Sticker, Video};

/// A caption is at most this many characters (Meta).
pub const CAPTION_MAX: usize = 1024;

/// What a file is, as WhatsApp will carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// The MIME type sent to Meta (its own spelling: `audio/ogg` for OGG/Opus, `audio/mp4` for
    /// M4A).
    pub mime_type: String,
    /// The message type carrying it.
    pub kind: MediaKind,
    /// An animated WebP sticker (the 500 KB limit instead of 100 KB).
    pub animated: bool,
    /// OGG with the Opus codec: the only audio WhatsApp plays as a voice note.
    pub opus: bool,
}

impl Detected {
    /// Whether Meta accepts a caption on this message type.
    pub fn caption_allowed(&self) -> bool {
        matches!(
            self.kind,
            MediaKind::Image | MediaKind::Video | MediaKind::Document
        )
    }

    /// Whether it may go out as a voice note (`audio` with `voice: true`).
    pub fn voice_allowed(&self) -> bool {
        self.kind == MediaKind::Audio && self.opus
    }
}

/// A file checked and ready to queue: its bytes, what it is, and the options sent with it.
pub struct Attachment {
    /// The file's content (wiped from memory when dropped).
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
    /// What it is.
    pub detected: Detected,
    /// The caption, where allowed (blank = none).
    pub caption: Option<String>,
    /// The file name shown with a document.
    pub filename: Option<String>,
    /// Send audio as a voice note.
    pub voice: bool,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The content may be a customer's private document: its size only.
        f.debug_struct("Attachment")
            .field("len", &self.bytes.len())
            .field("detected", &self.detected)
            .field("filename", &self.filename)
            .field("voice", &self.voice)
            .finish_non_exhaustive()
    }
}

impl Attachment {
    /// Detects and checks `bytes` with the options; the error says what Meta would refuse.
    pub fn new(
        bytes: Vec<u8>,
        caption: Option<String>,
        filename: Option<String>,
        voice: bool,
    ) -> Result<Self, String> {
        let bytes = zeroize::Zeroizing::new(bytes);
        let detected = detect(&bytes)?;
        check_options(&detected, caption.as_deref(), voice)?;
        Ok(Self {
            bytes,
            detected,
            caption: caption.filter(|c| !c.trim().is_empty()),
            filename: filename.filter(|n| !n.trim().is_empty()),
            voice,
        })
    }

    /// The message content naming the uploaded file `media_id`.
    pub fn content(&self, media_id: &str) -> MessageContent {
        content(
            &self.detected,
            media_id,
            self.caption.as_deref(),
            self.filename.as_deref(),
            self.voice,
        )
    }
}

/// Reads the type from the bytes and checks Meta's MIME list and size limit for it.
pub fn detect(bytes: &[u8]) -> Result<Detected, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let detected = sniff(bytes)?;
    check_media(
        detected.kind,
        &detected.mime_type,
        bytes.len() as u64,
        detected.animated,
    )
    .map_err(|e| refusal(&e, &detected))?;
    Ok(detected)
}

/// Checks the options against the detected type: a caption only where Meta shows one (and at
/// most [`CAPTION_MAX`] characters), a voice note only for OGG/Opus.
pub fn check_options(
    detected: &Detected,
    caption: Option<&str>,
    voice: bool,
) -> Result<(), String> {
    if let Some(caption) = caption.map(str::trim).filter(|c| !c.is_empty()) {
        if !detected.caption_allowed() {
            return Err(format!(
                "WhatsApp shows no caption on {} messages; send the text separately",
                kind_name(detected.kind)
            ));
        }
        if caption.chars().count() > CAPTION_MAX {
            return Err(format!("a caption is at most {CAPTION_MAX} characters"));
        }
    }
    if voice && !detected.voice_allowed() {
        return Err(
            "only OGG audio with the Opus codec can be sent as a voice note; send it as an \
             audio file instead"
                .into(),
        );
    }
    Ok(())
}

/// The message content for an uploaded file: `media_id` names it, the caption and (for a
/// document) the file name go where Meta allows them, `voice` marks a voice note.
pub fn content(
    detected: &Detected,
    media_id: &str,
    caption: Option<&str>,
    filename: Option<&str>,
    voice: bool,
) -> MessageContent {
    let caption = caption
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    match detected.kind {
        MediaKind::Image => {
            let image = Image::id(media_id);
            caption.map_or(image.clone(), |c| image.caption(c)).into()
        }
        MediaKind::Video => {
            let video = Video::id(media_id);
            caption.map_or(video.clone(), |c| video.caption(c)).into()
        }
        MediaKind::Audio => {
            let audio = Audio::id(media_id);
            if voice {
                audio.voice(true).into()
            } else {
                audio.into()
            }
        }
        MediaKind::Sticker => Sticker::id(media_id).into(),
        MediaKind::Document => {
            let mut document = Document::id(media_id);
            if let Some(name) = filename.map(str::trim).filter(|n| !n.is_empty()) {
                document = document.filename(name);
            }
            if let Some(c) = caption {
                document = document.caption(c);
            }
            document.into()
        }
    }
}

/// A plain name for a message type, for the user.
pub fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Document => "document",
        MediaKind::Image => "photo",
        MediaKind::Sticker => "sticker",
        MediaKind::Video => "video",
    }
}

fn refusal(error: &MediaCheckError, detected: &Detected) -> String {
    match error {
        MediaCheckError::TooLarge { size, max, .. } => {
            let what = match (detected.kind, detected.animated) {
                (MediaKind::Sticker, true) => "an animated sticker".to_string(),
                (MediaKind::Sticker, false) => "a static sticker".to_string(),
                (kind, _) => format!("a {}", kind_name(kind)),
            };
            format!(
                "the file is {}; WhatsApp accepts at most {} for {what}",
                human_size(*size),
                human_size(*max)
            )
        }
        MediaCheckError::Empty => "the file is empty".into(),
        MediaCheckError::UnsupportedType { mime_type, .. } => unsupported(mime_type),
    }
}

fn unsupported(what: &str) -> String {
    format!(
        "WhatsApp does not accept this file ({what}); it takes JPEG or PNG photos, MP4 or 3GPP \
         videos, OGG/Opus, MP3, M4A, AAC or AMR audio, WebP stickers, and PDF, Office or \
         plain-text documents"
    )
}

/// `5 MB`, `100 KB`, `812 bytes` (binary units, as Meta's limits are).
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    if bytes >= MB {
        let tenths = bytes * 10 / MB;
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else if bytes >= KB {
        format!("{} KB", bytes.div_ceil(KB))
    } else {
        format!("{bytes} bytes")
    }
}

/// The type from the content. `infer` knows the common signatures; the rest is what it does not
/// tell apart the way Meta needs: 3GPP (an ISO box brand), the Opus codec and channel count
/// inside an OGG stream, animated WebP, and plain text (no signature at all).
fn sniff(bytes: &[u8]) -> Result<Detected, String> {
    let plain = |mime: &str, kind: MediaKind| Detected {
        mime_type: mime.to_owned(),
        kind,
        animated: false,
        opus: false,
    };
    if is_3gpp(bytes) {
        return Ok(plain("video/3gpp", MediaKind::Video));
    }
    let Some(found) = infer::get(bytes) else {
        return if is_plain_text(bytes) {
            Ok(plain("text/plain", MediaKind::Document))
        } else {
            Err(unsupported("an unknown type"))
        };
    };
    let detected = match found.mime_type() {
        "audio/opus" => {
            if opus_channels(bytes) != Some(1) {
                return Err(
                    "WhatsApp takes OGG/Opus audio in mono only; this file has more than one \
                     channel"
                        .into(),
                );
            }
            Detected {
                opus: true,
                ..plain("audio/ogg", MediaKind::Audio)
            }
        }
        "audio/ogg" => {
            return Err(
                "WhatsApp takes OGG audio only with the Opus codec; this OGG file uses another"
                    .into(),
            )
        }
        "audio/m4a" => plain("audio/mp4", MediaKind::Audio),
        "image/webp" => Detected {
            animated: webp_is_animated(bytes),
            ..plain("image/webp", MediaKind::Sticker)
        },
        mime => match MediaKind::for_mime(mime) {
            Some(kind) => plain(mime, kind),
            None => return Err(unsupported(mime)),
        },
    };
    Ok(detected)
}

/// An ISO media file whose major brand is 3GPP (`ftyp3gp…`).
fn is_3gpp(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && bytes[8..11] == *b"3gp"
}

/// The channel count of the Opus identification header (`OpusHead`, version, channels), which
/// starts the first OGG page's payload.
fn opus_channels(bytes: &[u8]) -> Option<u8> {
    let head = bytes.windows(8).take(512).position(|w| w == b"OpusHead")?;
    bytes.get(head + 9).copied()
}

/// An extended WebP (`VP8X`) with its animation flag set.
fn webp_is_animated(bytes: &[u8]) -> bool {
    bytes.len() > 20 && &bytes[12..16] == b"VP8X" && bytes[20] & 0x02 != 0
}

/// UTF-8 without NUL or other control characters than whitespace: a text file.
fn is_plain_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        !s.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
    })
}

#[cfg(test)]
pub(crate) mod samples {
    //! Small real files of each type, built in memory (their headers are what detection reads).

    /// A PNG: signature, header and end chunks (detection reads the signature only).
    pub fn png() -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
        b.extend_from_slice(&[0x1f, 0x15, 0xc4, 0x89]);
        b.extend_from_slice(
            b"\0\0\0\nIDATx\x9cc\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xaeB`\x82",
        );
        b
    }

    /// A WebP of `len` bytes, animated (`VP8X` with the animation flag) or not (`VP8L`).
    pub fn webp(len: usize, animated: bool) -> Vec<u8> {
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&(len as u32 - 8).to_le_bytes());
        b.extend_from_slice(b"WEBP");
        if animated {
            b.extend_from_slice(b"VP8X\x0a\0\0\0\x02\0\0\0\0\0\0\0\0\0");
        } else {
            b.extend_from_slice(b"VP8L\x0a\0\0\0\x2f\0\0\0\0\0\0\0\0\0");
        }
        b.resize(len, 0);
        b
    }

    /// An OGG stream whose first page carries an Opus identification header with `channels`.
    pub fn ogg_opus(channels: u8) -> Vec<u8> {
        let mut b = b"OggS\0\x02".to_vec();
        b.extend_from_slice(&[0; 8]); // granule position
        b.extend_from_slice(&[1, 0, 0, 0]); // serial
        b.extend_from_slice(&[0; 4]); // sequence
        b.extend_from_slice(&[0; 4]); // checksum
        b.extend_from_slice(&[1, 19]); // one segment of 19 bytes
        b.extend_from_slice(b"OpusHead\x01");
        b.push(channels);
        b.extend_from_slice(&[0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0; 64]);
        b
    }

    /// An OGG stream with Vorbis (not Opus) inside.
    pub fn ogg_vorbis() -> Vec<u8> {
        let mut b = ogg_opus(1);
        let at = b.windows(8).position(|w| w == b"OpusHead").unwrap_or(28);
        b[at..at + 8].copy_from_slice(b"\x01vorbis\0");
        b
    }

    /// A one-page PDF.
    pub fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec()
    }

    /// An MP4 (`ftypisom`) of `len` bytes.
    pub fn mp4(len: usize) -> Vec<u8> {
        let mut b = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
        b.resize(len, 0);
        b
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::samples::*;
    use super::*;

    const KB: usize = 1024;
    const MB: usize = 1024 * KB;

    #[test]
    fn each_type_is_read_from_its_bytes() {
        let png = detect(&png()).unwrap();
        assert_eq!(
            (png.mime_type.as_str(), png.kind),
            ("image/png", MediaKind::Image)
        );
        let pdf = detect(&pdf()).unwrap();
        assert_eq!(pdf.kind, MediaKind::Document);
        assert_eq!(pdf.mime_type, "application/pdf");
        let voice = detect(&ogg_opus(1)).unwrap();
        assert_eq!(voice.mime_type, "audio/ogg");
        assert!(voice.voice_allowed() && !voice.caption_allowed());
        let sticker = detect(&webp(2 * KB, false)).unwrap();
        assert_eq!(sticker.kind, MediaKind::Sticker);
        assert!(!sticker.animated);
        assert!(detect(&webp(2 * KB, true)).unwrap().animated);
        let video = detect(&mp4(4 * KB)).unwrap();
        assert_eq!(
            (video.kind, video.mime_type.as_str()),
            (MediaKind::Video, "video/mp4")
        );
        let mut gp = mp4(4 * KB);
        gp[8..12].copy_from_slice(b"3gp5");
        assert_eq!(detect(&gp).unwrap().mime_type, "video/3gpp");
        let text = detect("Order #12, 3 croissants\nThanks!\n".as_bytes()).unwrap();
        assert_eq!(
            (text.kind, text.mime_type.as_str()),
            (MediaKind::Document, "text/plain")
        );
    }

    #[test]
    fn limits_are_meta_s_and_the_error_names_them() {
        let mut big_png = png();
        big_png.resize(5 * MB + 1, 0);
        let err = detect(&big_png).unwrap_err();
        assert!(err.contains("at most 5 MB for a photo"), "{err}");
        let mut ok_png = png();
        ok_png.resize(5 * MB, 0);
        assert!(detect(&ok_png).is_ok());

        let err = detect(&webp(100 * KB + 1, false)).unwrap_err();
        assert!(err.contains("at most 100 KB for a static sticker"), "{err}");
        assert!(detect(&webp(100 * KB, false)).is_ok());
        assert!(detect(&webp(400 * KB, true)).is_ok());
        let err = detect(&webp(500 * KB + 1, true)).unwrap_err();
        assert!(err.contains("500 KB for an animated sticker"), "{err}");

        let err = detect(&mp4(16 * MB + 1)).unwrap_err();
        assert!(err.contains("16 MB for a video"), "{err}");
        assert_eq!(detect(&[]).unwrap_err(), "the file is empty");
    }

    #[test]
    fn what_whatsapp_does_not_take_is_refused() {
        let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0";
        let err = detect(gif).unwrap_err();
        assert!(
            err.contains("image/gif") && err.contains("JPEG or PNG"),
            "{err}"
        );
        let err = detect(&ogg_vorbis()).unwrap_err();
        assert!(err.contains("Opus"), "{err}");
        let err = detect(&ogg_opus(2)).unwrap_err();
        assert!(err.contains("mono"), "{err}");
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0";
        assert!(detect(elf).is_err());
        assert!(detect(&[0u8, 1, 2, 3, 0xff, 0xfe]).is_err(), "binary junk");
    }

    #[test]
    fn captions_and_voice_only_where_meta_allows_them() {
        let image = detect(&png()).unwrap();
        let voice = detect(&ogg_opus(1)).unwrap();
        let sticker = detect(&webp(KB, false)).unwrap();
        assert!(check_options(&image, Some("Fresh today"), false).is_ok());
        assert!(check_options(&image, Some(&"x".repeat(1025)), false).is_err());
        assert!(check_options(&voice, Some("hi"), false)
            .unwrap_err()
            .contains("no caption"));
        assert!(check_options(&sticker, Some("hi"), false).is_err());
        assert!(
            check_options(&voice, Some("   "), true).is_ok(),
            "blank is no caption"
        );
        assert!(check_options(&image, None, true)
            .unwrap_err()
            .contains("voice note"));
        let mut mp3 = b"ID3\x04\0\0\0\0\0\0".to_vec();
        mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        mp3.resize(2 * KB, 0);
        let mp3 = detect(&mp3).unwrap();
        assert_eq!(
            (mp3.kind, mp3.mime_type.as_str()),
            (MediaKind::Audio, "audio/mpeg")
        );
        assert!(
            check_options(&mp3, None, true).is_err(),
            "voice notes are OGG/Opus only"
        );
        assert!(check_options(&mp3, None, false).is_ok());
    }

    #[test]
    fn content_carries_what_each_type_allows() {
        let doc = detect(&pdf()).unwrap();
        let v = serde_json::to_value(content(
            &doc,
            "m1",
            Some(" Invoice "),
            Some("inv.pdf"),
            false,
        ))
        .unwrap();
        assert_eq!(v["document"]["id"], "m1");
        assert_eq!(v["document"]["caption"], "Invoice");
        assert_eq!(v["document"]["filename"], "inv.pdf");
        let voice = detect(&ogg_opus(1)).unwrap();
        let v = serde_json::to_value(content(&voice, "m2", None, None, true)).unwrap();
        assert_eq!(v["audio"]["voice"], true);
        let image = detect(&png()).unwrap();
        let v = serde_json::to_value(content(&image, "m3", Some(""), None, false)).unwrap();
        assert!(v["image"].get("caption").is_none());
    }

    #[test]
    fn sizes_read_like_meta_s_limits() {
        assert_eq!(human_size(5 * MB as u64), "5 MB");
        assert_eq!(human_size(5 * MB as u64 + MB as u64 / 2), "5.5 MB");
        assert_eq!(human_size(100 * KB as u64), "100 KB");
        assert_eq!(human_size(812), "812 bytes");
    }
}
