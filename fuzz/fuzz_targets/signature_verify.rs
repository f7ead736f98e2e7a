//! `X-Hub-Signature-256`: a signature verifies with the secret and body it was made with and
//! nothing else, and no header the fuzzer writes passes unless it is that signature.
#![no_main]

use cloud_api::signature::{sign, verify, SignatureError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<u8>, Vec<u8>, String)| {
    let (secret, body, header) = input;
    let signed = sign(&secret, &body);
    let hex = signed
        .strip_prefix("sha256=")
        .expect("sign writes the sha256= prefix");
    assert_eq!(verify(&secret, &body, Some(&signed)), Ok(()));
    // Proxies have been seen to upper-case the hex and pad the value: still the same signature.
    let padded = format!(" sha256={}\t", hex.to_ascii_uppercase());
    assert_eq!(verify(&secret, &body, Some(&padded)), Ok(()));
    assert_eq!(verify(&secret, &body, None), Err(SignatureError::Missing));

    // Another secret. (Flipping a bit, not appending a zero byte: HMAC pads short keys with
    // zeros, so `k` and `k ‖ 0` are the same key by design.)
    let mut other = secret.clone();
    match other.last_mut() {
        Some(last) => *last ^= 0x01,
        None => other.push(0x01),
    }
    assert_eq!(
        verify(&other, &body, Some(&signed)),
        Err(SignatureError::Mismatch),
        "a signature verified under another secret"
    );

    // Another body: one flipped bit, or one byte more.
    let mut tampered = body.clone();
    match tampered.len() {
        0 => tampered.push(header.len() as u8),
        len => tampered[header.len() % len] ^= 1 << (header.len() % 8),
    }
    assert_eq!(
        verify(&secret, &tampered, Some(&signed)),
        Err(SignatureError::Mismatch),
        "a signature verified over another body"
    );

    // Whatever header the fuzzer wrote: accepted only if it is the signature itself.
    match verify(&secret, &body, Some(&header)) {
        Ok(()) => {
            let given = header
                .trim()
                .strip_prefix("sha256=")
                .map(str::to_ascii_lowercase);
            assert_eq!(given.as_deref(), Some(hex), "accepted a forged header");
        }
        Err(SignatureError::Missing) => panic!("a present header was reported missing"),
        Err(SignatureError::Malformed | SignatureError::Mismatch) => {}
    }
});
