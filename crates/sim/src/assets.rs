//! Real small media files shipped in `crates/sim/assets/` (how they were made: README
//! "Media fixtures"), Meta's supported media types and limits, and content sniffing.

/// One shipped file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub key: &'static str,
    pub mime_type: &'static str,
    pub filename: &'static str,
    pub bytes: &'static [u8],
}

pub const PNG: Asset = Asset {
    key: "png",
    mime_type: "image/png",
    filename: "cake.png",
    bytes: include_bytes!("../assets/cake.png"),
};
pub const JPEG: Asset = Asset {
    key: "jpeg",
    mime_type: "image/jpeg",
    filename: "photo.jpg",
    bytes: include_bytes!("../assets/photo.jpg"),
};
/// A spoken voice note, OGG container with the Opus codec (mono), as WhatsApp records them.
pub const VOICE: Asset = Asset {
    key: "voice",
    mime_type: "audio/ogg; codecs=opus",
    filename: "voice.ogg",
    bytes: include_bytes!("../assets/voice.ogg"),
};
pub const PDF: Asset = Asset {
    key: "pdf",
    mime_type: "application/pdf",
    filename: "invoice-1042.pdf",
    bytes: include_bytes!("../assets/invoice.pdf"),
};
/// H.264 + AAC in MP4, one second.
pub const VIDEO: Asset = Asset {
    key: "video",
    mime_type: "video/mp4",
    filename: "clip.mp4",
    bytes: include_bytes!("../assets/clip.mp4"),
};
/// A static lossless WebP sticker, 64x64.
pub const STICKER: Asset = Asset {
    key: "sticker",
    mime_type: "image/webp",
    filename: "sticker.webp",
    bytes: include_bytes!("../assets/sticker.webp"),
};

pub const ALL: [Asset; 6] = [PNG, JPEG, VOICE, PDF, VIDEO, STICKER];

/// Meta's media kinds, types and size limits (CLOUD-API-NOTES §4) are cloud-api's: the app
/// refuses a file before upload by the same rules the simulator enforces.
pub use cloud_api::media::MediaKind as Kind;

/// The kind and size limit of a supported MIME type (parameters such as `; codecs=opus` are
/// ignored for the lookup), or `None` when Meta does not accept the type. Stickers get the
/// animated limit here; see [`STATIC_STICKER_MAX`].
pub fn supported(mime: &str) -> Option<(Kind, u64)> {
    Kind::for_mime(mime).map(|kind| (kind, kind.max_bytes(true)))
}

/// Static stickers are limited to 100 KB, animated ones to 500 KB.
pub const STATIC_STICKER_MAX: u64 = Kind::Sticker.max_bytes(false);

/// Whether a WebP file is animated (has an `ANIM` chunk).
pub fn webp_is_animated(bytes: &[u8]) -> bool {
    bytes.len() > 16 && bytes.windows(4).take(64).any(|w| w == b"ANIM")
}

/// Checks that the bytes really are of the declared MIME type, for the formats whose magic
/// numbers are unambiguous. Returns a Meta-style reason when they are not.
pub fn check_content(mime: &str, bytes: &[u8]) -> Result<(), String> {
    let base = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = match base.as_str() {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        "audio/ogg" => {
            if !bytes.starts_with(b"OggS") {
                false
            } else if !bytes.windows(8).take(200).any(|w| w == b"OpusHead") {
                return Err(
                    "Audio file is not encoded with the Opus codec; only OPUS codecs are supported for audio/ogg."
                        .into(),
                );
            } else {
                true
            }
        }
        "video/mp4" | "audio/mp4" | "video/3gpp" => bytes.len() >= 12 && &bytes[4..8] == b"ftyp",
        "audio/mpeg" => bytes.starts_with(b"ID3") || bytes.starts_with(&[0xff, 0xfb]),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "The uploaded file's content does not match the MIME type {base}."
        ))
    }
}

/// SHA-256 of the bytes, base64 — the form Meta uses in webhooks and `GET /{media-id}`.
pub fn sha256_b64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PNG: signature, then every chunk's CRC-32 is right and IEND ends the file.
    #[test]
    fn png_is_valid() {
        let b = PNG.bytes;
        assert!(b.starts_with(b"\x89PNG\r\n\x1a\n"));
        let mut i = 8;
        let mut last = [0u8; 4];
        while i < b.len() {
            let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
            let ty_and_data = &b[i + 4..i + 8 + len];
            let crc = u32::from_be_bytes([
                b[i + 8 + len],
                b[i + 9 + len],
                b[i + 10 + len],
                b[i + 11 + len],
            ]);
            assert_eq!(crc32(ty_and_data), crc);
            last.copy_from_slice(&b[i + 4..i + 8]);
            i += 12 + len;
        }
        assert_eq!(&last, b"IEND");
        assert_eq!(i, b.len());
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn ogg_crc(data: &[u8]) -> u32 {
        let mut crc = 0u32;
        for &byte in data {
            crc ^= u32::from(byte) << 24;
            for _ in 0..8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04c1_1db7
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    /// OGG: every page has a correct CRC, the first packet is `OpusHead` (mono), the second
    /// `OpusTags`, and the last page has the end-of-stream flag.
    #[test]
    fn ogg_opus_is_valid() {
        let b = VOICE.bytes;
        let mut i = 0;
        let mut pages = 0;
        let mut last_flags = 0;
        while i < b.len() {
            assert_eq!(&b[i..i + 4], b"OggS", "page {pages}");
            let nseg = b[i + 26] as usize;
            let body: usize = b[i + 27..i + 27 + nseg].iter().map(|&s| s as usize).sum();
            let end = i + 27 + nseg + body;
            let mut page = b[i..end].to_vec();
            let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
            page[22..26].fill(0);
            assert_eq!(ogg_crc(&page), stored, "crc of page {pages}");
            if pages == 0 {
                let head = &b[i + 27 + nseg..end];
                assert!(head.starts_with(b"OpusHead"));
                assert_eq!(head[9], 1, "mono");
            }
            if pages == 1 {
                assert!(b[i + 27 + nseg..end].starts_with(b"OpusTags"));
            }
            last_flags = b[i + 5];
            pages += 1;
            i = end;
        }
        assert!(pages >= 3);
        assert_eq!(last_flags & 0x04, 0x04, "end of stream");
        assert!(check_content(VOICE.mime_type, b).is_ok());
    }

    /// PDF: header, the xref offsets point at the objects, trailer and %%EOF. (Bytes, not
    /// text: the second line is the customary binary comment.)
    #[test]
    fn pdf_is_valid() {
        let b = PDF.bytes;
        let find = |needle: &[u8]| b.windows(needle.len()).rposition(|w| w == needle);
        assert!(b.starts_with(b"%PDF-1."));
        let eof = find(b"%%EOF").unwrap();
        assert!(b[eof + 5..].iter().all(u8::is_ascii_whitespace));
        let sx = find(b"startxref").unwrap();
        let after = std::str::from_utf8(&b[sx + 9..eof]).unwrap();
        let xref: usize = after.trim().parse().unwrap();
        assert!(b[xref..].starts_with(b"xref"));
        let table = std::str::from_utf8(&b[xref..sx]).unwrap();
        assert!(table.contains("trailer"));
        for (n, line) in table.lines().skip(3).take(5).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            let head = format!("{} 0 obj", n + 1);
            assert!(b[off..].starts_with(head.as_bytes()), "object {}", n + 1);
        }
    }

    #[test]
    fn containers_have_their_magic() {
        for a in ALL {
            assert!(check_content(a.mime_type, a.bytes).is_ok(), "{}", a.key);
            let (kind, max) = supported(a.mime_type).unwrap();
            assert!((a.bytes.len() as u64) < max, "{} {:?}", a.key, kind);
        }
        assert!(!webp_is_animated(STICKER.bytes));
        assert!(check_content("image/png", PDF.bytes).is_err());
        assert!(supported("image/gif").is_none());
    }
}
