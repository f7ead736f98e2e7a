//! Sealed envelopes: whatever bytes arrive, opening never panics and never succeeds without the
//! sealer's key; an envelope we sealed opens to its plaintext, and once mutated (one byte,
//! truncated, extended, or moved under another data key) it never opens again.
//!
//! Input: the first byte picks the case. Even: the rest is an envelope from an attacker.
//! Odd: bytes 1–3 are a mutation (position, xor mask) and the rest is a plaintext to seal; bit 1
//! picks v1 (sealed box per envelope) instead of v2 (AES-GCM under a data key).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use protocol::sealed::{self, DataKey, Opener, SealError, WorkspacePublicKey, WorkspaceSecretKey};

/// Fixed keys: the secret is a constant so that a crash reproduces; data keys are random (the
/// API has no other way to make one), which does not matter to any assertion below.
struct Keys {
    secret: WorkspaceSecretKey,
    public: WorkspacePublicKey,
    opener: Opener,
    data_key: DataKey,
    other_data_key: DataKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let secret = WorkspaceSecretKey::from_bytes([0x5e; 32]);
        let public = secret.public_key();
        Keys {
            opener: Opener::new(WorkspaceSecretKey::from_bytes(secret.to_bytes())),
            data_key: DataKey::generate(&public).expect("a data key seals to a valid public key"),
            other_data_key: DataKey::generate(&public)
                .expect("a data key seals to a valid public key"),
            secret,
            public,
        }
    })
}

/// Opens with the caching opener (the app's path) and, for v1 or a failure, with `sealed::open`
/// too: both must agree.
fn open_both(keys: &Keys, envelope: &[u8]) -> Result<Vec<u8>, SealError> {
    let cached = keys.opener.open(envelope);
    if envelope.first() == Some(&sealed::ENVELOPE_V1) || cached.is_err() {
        assert_eq!(
            cached,
            sealed::open(&keys.secret, envelope),
            "the two openers disagree"
        );
    }
    assert_eq!(
        sealed::is_well_formed(envelope),
        cached != Err(SealError::Malformed),
        "is_well_formed disagrees with the opener"
    );
    cached
}

/// Refused by the caching opener (the app's path; `sealed::open` is compared with it in
/// `open_both`, and each comparison costs an X25519 operation, which bounds executions/s).
fn assert_refused(keys: &Keys, envelope: &[u8], what: &str) {
    let opened = keys.opener.open(envelope);
    assert!(
        matches!(opened, Err(SealError::Malformed | SealError::Open)),
        "{what}: {opened:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    let Some((&case, rest)) = data.split_first() else {
        return;
    };
    if case & 1 == 0 {
        let opened = open_both(keys, rest);
        assert!(
            matches!(opened, Err(SealError::Malformed | SealError::Open)),
            "an envelope nobody sealed was opened: {opened:?}"
        );
        return;
    }
    let [hi, lo, mask, plaintext @ ..] = rest else {
        return;
    };
    let v1 = case & 2 != 0;
    let envelope = if v1 {
        sealed::seal(&keys.public, plaintext)
    } else {
        keys.data_key.seal(plaintext)
    }
    .expect("sealing to a valid key succeeds");
    let overhead = if v1 {
        sealed::OVERHEAD
    } else {
        sealed::OVERHEAD_V2
    };
    assert_eq!(envelope.len(), plaintext.len() + overhead);
    assert_eq!(open_both(keys, &envelope).as_deref(), Ok(plaintext));

    let mut mutated = envelope.clone();
    let at = usize::from(u16::from_be_bytes([*hi, *lo])) % mutated.len();
    mutated[at] ^= if *mask == 0 { 0x80 } else { *mask };
    assert_refused(keys, &mutated, "a mutated envelope was opened");
    assert_refused(
        keys,
        &envelope[..envelope.len() - 1],
        "a truncated envelope was opened",
    );
    let mut extended = envelope.clone();
    extended.push(*mask);
    assert_refused(keys, &extended, "an extended envelope was opened");
    if !v1 {
        // The AAD binds the ciphertext to its sealed data key: moved under another one (which
        // the opener can open), it must not decrypt.
        let other = keys.other_data_key.seal(b"").expect("sealing succeeds");
        let key_end = sealed::OVERHEAD_V2 - 12 - 16;
        let mut moved = envelope.clone();
        moved[..key_end].copy_from_slice(&other[..key_end]);
        assert_refused(
            keys,
            &moved,
            "an envelope moved under another data key was opened",
        );
    }
});
