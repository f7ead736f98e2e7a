//! Checks on a downloaded file before it is kept: its SHA-256 and Meta's size limits.

use base64::Engine;
use cloud_api::media::MediaKind;
use sha2::{Digest, Sha256};

/// Whether `given` (Meta's SHA-256: base64 in webhooks and `GET /{media-id}`, sometimes hex;
/// the relay's header is lowercase hex) names `digest`. The same rule as the relay's.
pub fn sha256_matches(given: &str, digest: &[u8]) -> bool {
    let given = given.trim();
    if given.eq_ignore_ascii_case(&hex::encode(digest)) {
        return true;
    }
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    engines
        .iter()
        .any(|e| e.decode(given).is_ok_and(|d| d == digest))
        || base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(given.trim_end_matches('='))
            .is_ok_and(|d| d == digest)
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Checks `bytes` against every hash that was announced for it; the error names the first that
/// does not match.
pub fn check_sha256<'a>(
    bytes: &[u8],
    announced: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<[u8; 32], String> {
    let digest = sha256(bytes);
    for (who, given) in announced {
        if let Some(given) = given.filter(|g| !g.trim().is_empty()) {
            if !sha256_matches(given, &digest) {
                return Err(format!(
                    "the file's SHA-256 does not match the one {who} announced (the download \
                     was altered or incomplete)"
                ));
            }
        }
    }
    Ok(digest)
}

/// Largest file accepted for a message of type `kind` (Meta's limits: image 5 MB, audio and
/// video 16 MB, document 100 MB, sticker 500 KB animated / 100 KB static). Unknown kinds get
/// the largest limit: Meta would not have delivered anything bigger.
pub fn max_bytes(kind: Option<&str>, animated: bool) -> u64 {
    match kind.and_then(MediaKind::from_message_type) {
        // A sticker's `animated` flag may be missing: allow the animated limit rather than
        // refuse a sticker Meta delivered.
        Some(MediaKind::Sticker) => MediaKind::Sticker.max_bytes(true),
        Some(k) => k.max_bytes(animated),
        None => cloud_api::media::MAX_MEDIA_BYTES,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hex_and_base64_forms_match() {
        let d = sha256(b"hello");
        let b64 = base64::engine::general_purpose::STANDARD.encode(d);
        assert!(sha256_matches(&hex::encode(d), &d));
        assert!(sha256_matches(&hex::encode(d).to_uppercase(), &d));
        assert!(sha256_matches(&b64, &d));
        assert!(sha256_matches(b64.trim_end_matches('='), &d));
        assert!(!sha256_matches(&hex::encode(sha256(b"other")), &d));
        assert!(!sha256_matches("not a hash", &d));
    }

    #[test]
    fn check_names_who_announced_the_wrong_hash() {
        let good = hex::encode(sha256(b"x"));
        assert!(check_sha256(b"x", [("Meta", Some(good.as_str())), ("relay", None)]).is_ok());
        let err = check_sha256(b"x", [("the webhook", Some("AAAA"))]).unwrap_err();
        assert!(err.contains("the webhook"), "{err}");
    }

    #[test]
    fn limits_follow_meta() {
        const MB: u64 = 1024 * 1024;
        assert_eq!(max_bytes(Some("image"), false), 5 * MB);
        assert_eq!(max_bytes(Some("video"), false), 16 * MB);
        assert_eq!(max_bytes(Some("audio"), false), 16 * MB);
        assert_eq!(max_bytes(Some("document"), false), 100 * MB);
        assert_eq!(max_bytes(Some("sticker"), false), 500 * 1024);
        assert_eq!(max_bytes(None, false), 100 * MB);
    }
}
