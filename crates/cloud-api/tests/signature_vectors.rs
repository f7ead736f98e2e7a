//! `X-Hub-Signature-256` test vectors.
//!
//! The expected MACs were computed independently of this crate, with Python's `hmac` module and
//! cross-checked with `openssl dgst -sha256 -hmac`, e.g.
//! `python3 -c 'import hmac,hashlib;print(hmac.new(b"test_app_secret", BODY, hashlib.sha256).hexdigest())'`.
//!
//! They show that the MAC is over the raw request bytes: Meta sends non-ASCII text as
//! `\uXXXX` escapes, and the escaped body, the same body in raw UTF-8 and a re-serialization of
//! the parsed JSON all decode to the same value but have different signatures. Verifying
//! anything but the bytes received would reject genuine webhooks (or accept forged ones).

use cloud_api::signature::{sign, verify, SignatureError, SIGNATURE_HEADER};
use cloud_api::webhook::{MessageContent, WebhookPayload};
use serde_json::Value;

const SECRET: &[u8] = b"test_app_secret";

/// The same text, `Olá 👋 café`, three ways.
const RAW_UTF8: &str = r#"{"text":{"body":"Olá 👋 café"}}"#;
const ESCAPED_LOWER: &[u8] = br#"{"text":{"body":"Ol\u00e1 \ud83d\udc4b caf\u00e9"}}"#;
const ESCAPED_UPPER: &[u8] = br#"{"text":{"body":"Ol\u00E1 \uD83D\uDC4B caf\u00E9"}}"#;

/// `(secret, body, lowercase hex HMAC-SHA256)`.
const VECTORS: &[(&[u8], &[u8], &str)] = &[
    (
        SECRET,
        br#"{"object":"whatsapp_business_account","entry":[]}"#,
        "dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756",
    ),
    (
        SECRET,
        RAW_UTF8.as_bytes(),
        "1004be2247ff541218841c63aaf0731aac14e31b0560a747daa152f0c0dc2043",
    ),
    (
        SECRET,
        ESCAPED_LOWER,
        "b6a9de2c0bf836685cc15a228204575916de0f53258de55543c5ed2d423a5ee8",
    ),
    (
        SECRET,
        ESCAPED_UPPER,
        "da419ac6442788d2119dad04b5f2417ddeca133b50f8583329a77ae9cc0130b9",
    ),
    (
        SECRET,
        b"{\n  \"object\": \"whatsapp_business_account\",\n  \"entry\": []\n}",
        "1dacc3fd3c027cd9199be20341c3cd841adf092d64a2d2e4ae0a6817d40136e0",
    ),
    (
        SECRET,
        b"",
        "517bc4c7d1d8d400868e0ad6f64b77098b818a2f2595004253a1922302a602c0",
    ),
    // A key longer than the SHA-256 block (64 bytes) is hashed first by HMAC.
    (
        &[b'k'; 100],
        br#"{"object":"whatsapp_business_account","entry":[]}"#,
        "63d5fdf39fd814c3d5f63757dd1d7afeec7375075665b0a77097b1e493a8d750",
    ),
];

/// A whole `messages` notification as Meta sends it (non-ASCII escaped), with its signature
/// under the app secret `6f1c3b0e9a2d4c5b8e7f6a5d4c3b2a19`.
const WEBHOOK_SECRET: &[u8] = b"6f1c3b0e9a2d4c5b8e7f6a5d4c3b2a19";
const WEBHOOK_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Jos\u00e9 Mu\u00f1oz"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Ol\u00e1 \ud83d\udc4b caf\u00e9"}}]},"field":"messages"}]}]}"#;
const WEBHOOK_SIGNATURE: &str =
    "sha256=dcb303e221352d16aec5186e437473bb0115d87138a63fd896fb15711180d76a";

fn header(hex: &str) -> String {
    format!("sha256={hex}")
}

#[test]
fn header_name() {
    assert_eq!(SIGNATURE_HEADER, "X-Hub-Signature-256");
}

#[test]
fn sign_matches_independently_computed_vectors() {
    for (secret, body, hex) in VECTORS {
        assert_eq!(
            sign(secret, body),
            header(hex),
            "body {:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn verify_accepts_every_vector_and_rejects_any_change() {
    for (secret, body, hex) in VECTORS {
        let good = header(hex);
        assert_eq!(verify(secret, body, Some(&good)), Ok(()));

        // Another body.
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        assert_eq!(
            verify(secret, &tampered, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        // Another secret.
        assert_eq!(
            verify(b"another_secret", body, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        // Another MAC (last hex digit changed).
        let mut wrong = good.clone();
        let last = if wrong.ends_with('0') { "1" } else { "0" };
        wrong.replace_range(wrong.len() - 1.., last);
        assert_eq!(
            verify(secret, body, Some(&wrong)),
            Err(SignatureError::Mismatch)
        );
    }
}

#[test]
fn escaped_and_raw_unicode_are_the_same_json_but_not_the_same_bytes() {
    let raw: Value = serde_json::from_str(RAW_UTF8).expect("raw");
    let lower: Value = serde_json::from_slice(ESCAPED_LOWER).expect("escaped");
    let upper: Value = serde_json::from_slice(ESCAPED_UPPER).expect("escaped");
    assert_eq!(raw, lower);
    assert_eq!(raw, upper);
    assert_eq!(raw["text"]["body"], "Olá 👋 café");

    // Three different MACs for one JSON value.
    let signatures = [
        sign(SECRET, RAW_UTF8.as_bytes()),
        sign(SECRET, ESCAPED_LOWER),
        sign(SECRET, ESCAPED_UPPER),
    ];
    assert_ne!(signatures[0], signatures[1]);
    assert_ne!(signatures[1], signatures[2]);
    assert_ne!(signatures[0], signatures[2]);

    // The signature of the escaped body does not verify the raw-UTF-8 one, and vice versa.
    assert_eq!(
        verify(SECRET, RAW_UTF8.as_bytes(), Some(&signatures[1])),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(SECRET, ESCAPED_LOWER, Some(&signatures[0])),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_real_shaped_webhook_verifies_on_its_bytes_and_not_after_reserialization() {
    // What the relay does: verify the raw bytes, then parse.
    assert_eq!(
        verify(WEBHOOK_SECRET, WEBHOOK_BODY, Some(WEBHOOK_SIGNATURE)),
        Ok(())
    );
    assert_eq!(sign(WEBHOOK_SECRET, WEBHOOK_BODY), WEBHOOK_SIGNATURE);
    let payload = WebhookPayload::from_slice(WEBHOOK_BODY).expect("parses");
    let found = payload.messages().next().expect("a message");
    assert!(
        matches!(&found.message.content, MessageContent::Text(text) if text.body == "Olá 👋 café")
    );
    assert_eq!(
        found.contact.and_then(|contact| contact.name()),
        Some("José Muñoz")
    );

    // Re-serializing gives the same JSON value but other bytes (serde_json writes raw UTF-8),
    // so the signature no longer verifies: never verify a re-serialization.
    let original: Value = serde_json::from_slice(WEBHOOK_BODY).expect("json");
    for reserialized in [
        serde_json::to_vec(&payload).expect("payload bytes"),
        serde_json::to_vec(&original).expect("value bytes"),
    ] {
        let again: Value = serde_json::from_slice(&reserialized).expect("json");
        assert_eq!(again, original);
        assert_ne!(reserialized, WEBHOOK_BODY);
        assert_eq!(
            verify(WEBHOOK_SECRET, &reserialized, Some(WEBHOOK_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
    }
}

#[test]
fn header_forms() {
    let (secret, body, hex) = VECTORS[1];
    // Upper-case hex (seen behind some proxies) and surrounding whitespace are accepted.
    assert_eq!(
        verify(secret, body, Some(&header(&hex.to_uppercase()))),
        Ok(())
    );
    assert_eq!(
        verify(secret, body, Some(&format!("  {}\t", header(hex)))),
        Ok(())
    );
    // Anything else is refused.
    assert_eq!(verify(secret, body, None), Err(SignatureError::Missing));
    for malformed in [
        hex.to_owned(),                 // no prefix
        format!("sha1={hex}"),          // wrong algorithm
        format!("SHA256={hex}"),        // prefix is case-sensitive
        header(&hex[..63]),             // too short
        header(&format!("{hex}0")),     // too long
        header(&hex.replace('a', "g")), // not hex
        String::new(),                  // empty
    ] {
        assert_eq!(
            verify(secret, body, Some(&malformed)),
            Err(SignatureError::Malformed),
            "{malformed:?}"
        );
    }
}
