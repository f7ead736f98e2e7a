//! Identifiers shaped like Meta's: numeric Graph ids, `wamid.` message ids, opaque tokens and
//! cursors, fbtrace ids.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;

/// A 15- or 16-digit Graph object id (WABA, phone number, template, media...).
pub fn graph_id() -> String {
    let mut rng = rand::thread_rng();
    let len = if rng.gen_bool(0.5) { 15 } else { 16 };
    let mut s = String::with_capacity(len);
    s.push(char::from(b'1' + rng.gen_range(0..9u8)));
    for _ in 1..len {
        s.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    s
}

/// A WhatsApp message id like Meta's: `wamid.` + base64 of a small binary record that embeds
/// the user's number and a random 20-hex-digit key, e.g.
/// `wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=`.
pub fn wamid(wa_id: &str, outbound: bool) -> String {
    let mut rng = rand::thread_rng();
    let digits: Vec<u8> = wa_id.bytes().filter(u8::is_ascii_digit).take(20).collect();
    let key: String = (0..20)
        .map(|_| {
            let n = rng.gen_range(0..16u8);
            char::from(if n < 10 { b'0' + n } else { b'A' + n - 10 })
        })
        .collect();
    let mut raw = vec![0x1c, 0x18, u8::try_from(digits.len()).unwrap_or(0)];
    raw.extend_from_slice(&digits);
    raw.extend_from_slice(&[0x15, 0x02, 0x00, if outbound { 0x11 } else { 0x12 }, 0x18]);
    raw.push(u8::try_from(key.len()).unwrap_or(0));
    raw.extend_from_slice(key.as_bytes());
    raw.push(0x00);
    format!("wamid.{}", STANDARD.encode(raw))
}

/// An opaque access token in the style of Meta's (`EAA...`).
pub fn access_token() -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(120)
        .map(char::from)
        .collect();
    format!("EAAK{tail}")
}

/// An exchangeable Embedded Signup code (opaque, URL-safe).
pub fn oauth_code() -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(180)
        .map(char::from)
        .collect();
    format!("AQB{tail}")
}

pub fn fbtrace_id() -> String {
    let bytes: [u8; 18] = rand::thread_rng().gen();
    URL_SAFE_NO_PAD.encode(bytes)[..23].to_string()
}

/// A random lowercase hex string of `n` bytes (`2n` characters).
pub fn hex_id(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| format!("{:02x}", rng.gen::<u8>())).collect()
}

/// A Graph paging cursor for an offset: opaque base64 like `MjQZD`.
pub fn cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sim:{offset}"))
}

/// The offset a cursor stands for, if it is one of ours.
pub fn parse_cursor(cursor: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    text.strip_prefix("sim:")?.parse().ok()
}

/// A business-scoped user id (`US.` + 20 digits) derived from the phone number, stable.
pub fn bsuid(wa_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(wa_id.as_bytes());
    let mut n: u128 = 0;
    for b in &digest[..8] {
        n = (n << 8) | u128::from(*b);
    }
    format!("US.{n:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wamid_looks_like_meta() {
        let id = wamid("16505551234", true);
        assert!(id.starts_with("wamid.HBgLMTY1MDU1NTEyMzQVAgAR"), "{id}");
        let raw = STANDARD.decode(&id[6..]).unwrap();
        assert_eq!(raw.len(), 3 + 11 + 5 + 1 + 20 + 1);
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(parse_cursor(&cursor(42)), Some(42));
        assert_eq!(parse_cursor("garbage!"), None);
    }

    #[test]
    fn graph_ids_are_numeric() {
        for _ in 0..20 {
            let id = graph_id();
            assert!(id.len() >= 15 && id.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
