//! Webhook authenticity: Meta signs every notification body with the app secret
//! (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`), and verifies a callback URL with a
//! `hub.challenge` handshake. Both checks run on the raw bytes / raw strings, in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The header Meta puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Why a signature was refused. The webhook route answers 403 for every variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header is not of the form sha256=<64 hex digits>")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(app_secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (long keys are hashed first), so this cannot fail.
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// The header value Meta would send for `body`: `sha256=` followed by lowercase hex.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(app_secret, body).finalize().into_bytes())
    )
}

/// Checks `header` (the value of `X-Hub-Signature-256`, if any) against the raw `body`.
///
/// The comparison of the MAC is constant-time; the hex prefix is matched case-insensitively
/// because Meta documents lowercase but proxies have been seen to upper-case hex.
pub fn verify(app_secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_part = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let given = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    let expected = mac(app_secret, body).finalize().into_bytes();
    if bool::from(expected.as_slice().ct_eq(&given)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `GET` verification request Meta sends when a callback URL is configured.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct VerificationQuery {
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Returns the challenge to echo when the request is a subscribe with the right verify token
/// (compared in constant time), `None` otherwise (answer 403). Fail-closed: an empty configured
/// verify token matches nothing, so a missing setting cannot accept an empty `hub.verify_token`.
pub fn verify_subscription<'q>(
    query: &'q VerificationQuery,
    verify_token: &str,
) -> Option<&'q str> {
    if verify_token.is_empty() || query.mode.as_deref() != Some("subscribe") {
        return None;
    }
    let given = query.verify_token.as_deref()?;
    if !bool::from(given.as_bytes().ct_eq(verify_token.as_bytes())) {
        return None;
    }
    query.challenge.as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = sign(b"secret", body);
        assert_eq!(verify(b"secret", body, Some(&header)), Ok(()));
        assert_eq!(
            verify(b"other", body, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", b"{}", Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(b"secret", body, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(b"secret", body, Some("sha1=abc")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"secret", body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let body = b"x";
        let header = sign(b"k", body);
        let upper = format!("sha256={}", header["sha256=".len()..].to_uppercase());
        assert_eq!(verify(b"k", body, Some(&upper)), Ok(()));
    }

    #[test]
    fn subscription_handshake() {
        let q = VerificationQuery {
            mode: Some("subscribe".into()),
            verify_token: Some("tok".into()),
            challenge: Some("1158201444".into()),
        };
        assert_eq!(verify_subscription(&q, "tok"), Some("1158201444"));
        assert_eq!(verify_subscription(&q, "tok2"), None);
        let q2 = VerificationQuery {
            mode: Some("unsubscribe".into()),
            ..q.clone()
        };
        assert_eq!(verify_subscription(&q2, "tok"), None);
        let empty = VerificationQuery {
            verify_token: Some(String::new()),
            ..q.clone()
        };
        assert_eq!(verify_subscription(&empty, ""), None);
    }
}
