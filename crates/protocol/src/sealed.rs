//! Sealed envelopes: how event content travels through (and rests on) the relay.
//!
//! Every workspace has an X25519 key pair generated on the owner's device. The relay only ever
//! sees the public half; it seals each webhook entry to it, devices seal what they append to it,
//! and only devices holding the secret half can open either. The construction is libsodium's
//! sealed box (`crypto_box_seal`: an ephemeral X25519 key, XSalsa20-Poly1305), via `crypto_box`.
//!
//! Wire format (then base64, standard alphabet with padding, inside JSON):
//!
//! ```text
//! version (1 byte, = 1) | ephemeral public key (32) | ciphertext | Poly1305 tag (16)
//! ```
//!
//! The version byte lets us move to a per-workspace data key (issue 3 mentions it as the faster
//! alternative) without ambiguity for events already stored.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey, KEY_SIZE, SEALBYTES};

/// The only envelope version this crate writes and reads.
pub const ENVELOPE_V1: u8 = 1;

/// Bytes a sealed envelope adds to its plaintext.
pub const OVERHEAD: usize = 1 + SEALBYTES;

/// Why an envelope or a key could not be used. Deliberately coarse: telling a tampered envelope
/// from one sealed to another key would help nobody but an attacker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the envelope is too short or has an unknown version")]
    Malformed,
    #[error("the envelope could not be opened with this key (wrong key or tampered)")]
    Open,
    #[error("sealing failed")]
    Seal,
    #[error("a key must be {KEY_SIZE} bytes, base64 encoded")]
    BadKey,
    #[error("not valid base64")]
    Base64,
}

/// A workspace's public key: what the relay stores and seals to.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkspacePublicKey(PublicKey);

/// A workspace's secret key: lives only on the workspace's devices.
#[derive(Clone)]
pub struct WorkspaceSecretKey(SecretKey);

impl WorkspaceSecretKey {
    /// A fresh random key pair, made by the owner's device when it registers the workspace.
    pub fn generate() -> Self {
        Self(SecretKey::generate(&mut OsRng))
    }

    /// Rebuilds a key from its 32 raw bytes (e.g. derived by the relay from its own secret).
    pub fn from_bytes(bytes: [u8; KEY_SIZE]) -> Self {
        Self(SecretKey::from_bytes(bytes))
    }

    pub fn public_key(&self) -> WorkspacePublicKey {
        WorkspacePublicKey(self.0.public_key())
    }

    /// Raw key bytes, for the device's encrypted key store. Handle with care.
    pub fn to_bytes(&self) -> [u8; KEY_SIZE] {
        self.0.to_bytes()
    }
}

impl std::fmt::Debug for WorkspaceSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkspaceSecretKey(<redacted>)")
    }
}

impl WorkspacePublicKey {
    pub fn from_bytes(bytes: [u8; KEY_SIZE]) -> Self {
        Self(PublicKey::from_bytes(bytes))
    }

    /// Parses raw bytes of any length, refusing anything but exactly 32.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SealError> {
        let arr: [u8; KEY_SIZE] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self::from_bytes(arr))
    }

    /// Parses the base64 form used in JSON bodies.
    pub fn from_base64(s: &str) -> Result<Self, SealError> {
        let bytes = STANDARD.decode(s.trim()).map_err(|_| SealError::BadKey)?;
        Self::from_slice(&bytes)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; KEY_SIZE] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for WorkspacePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkspacePublicKey({})", self.to_base64())
    }
}

/// Seals `plaintext` so that only the holder of the matching secret key can read it.
pub fn seal(recipient: &WorkspacePublicKey, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let boxed = recipient
        .0
        .seal(&mut OsRng, plaintext)
        .map_err(|_| SealError::Seal)?;
    let mut out = Vec::with_capacity(1 + boxed.len());
    out.push(ENVELOPE_V1);
    out.extend_from_slice(&boxed);
    Ok(out)
}

/// Opens an envelope made by [`seal`]; fails on a wrong key or any flipped bit.
pub fn open(secret: &WorkspaceSecretKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let boxed = check_envelope(sealed)?;
    secret.0.unseal(boxed).map_err(|_| SealError::Open)
}

/// The relay's only check on envelopes devices append: right version, long enough. It cannot
/// check more without the secret key, which is the point.
pub fn is_well_formed(sealed: &[u8]) -> bool {
    check_envelope(sealed).is_ok()
}

fn check_envelope(sealed: &[u8]) -> Result<&[u8], SealError> {
    match sealed.split_first() {
        Some((&ENVELOPE_V1, rest)) if rest.len() >= SEALBYTES => Ok(rest),
        _ => Err(SealError::Malformed),
    }
}

/// Base64 (standard alphabet, padded) as used for envelopes and keys in JSON.
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn from_base64(s: &str) -> Result<Vec<u8>, SealError> {
    STANDARD.decode(s).map_err(|_| SealError::Base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let sk = WorkspaceSecretKey::generate();
        let pk = sk.public_key();
        let msg = "Olá, ¿qué tal? 👋".as_bytes();
        let sealed = seal(&pk, msg).unwrap();
        assert_eq!(sealed.len(), msg.len() + OVERHEAD);
        assert_eq!(sealed[0], ENVELOPE_V1);
        assert!(is_well_formed(&sealed));
        assert_eq!(open(&sk, &sealed).unwrap(), msg);
        // Sealing is randomised: the same plaintext never gives the same envelope.
        assert_ne!(seal(&pk, msg).unwrap(), sealed);
        // The plaintext does not appear in the envelope.
        assert!(!sealed.windows(msg.len()).any(|w| w == msg));
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let sk = WorkspaceSecretKey::generate();
        let sealed = seal(&sk.public_key(), b"").unwrap();
        assert_eq!(open(&sk, &sealed).unwrap(), b"");
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let sk = WorkspaceSecretKey::generate();
        let sealed = seal(&sk.public_key(), b"hello").unwrap();
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut t = sealed.clone();
                t[i] ^= 1 << bit;
                assert!(open(&sk, &t).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn wrong_key_truncation_and_version_are_refused() {
        let sk = WorkspaceSecretKey::generate();
        let other = WorkspaceSecretKey::generate();
        let sealed = seal(&sk.public_key(), b"hello").unwrap();
        assert_eq!(open(&other, &sealed), Err(SealError::Open));
        assert_eq!(
            open(&sk, &sealed[..OVERHEAD - 1]),
            Err(SealError::Malformed)
        );
        assert_eq!(open(&sk, &[]), Err(SealError::Malformed));
        let mut v2 = sealed.clone();
        v2[0] = 2;
        assert_eq!(open(&sk, &v2), Err(SealError::Malformed));
        assert!(!is_well_formed(&v2));
    }

    #[test]
    fn keys_round_trip_through_base64() {
        let sk = WorkspaceSecretKey::generate();
        let pk = sk.public_key();
        let parsed = WorkspacePublicKey::from_base64(&pk.to_base64()).unwrap();
        assert_eq!(parsed, pk);
        assert_eq!(
            WorkspaceSecretKey::from_bytes(sk.to_bytes()).public_key(),
            pk
        );
        assert_eq!(
            WorkspacePublicKey::from_base64("AAAA"),
            Err(SealError::BadKey)
        );
        assert_eq!(
            WorkspacePublicKey::from_base64("not base64!"),
            Err(SealError::BadKey)
        );
        assert!(!format!("{sk:?}").contains(&to_base64(&sk.to_bytes())));
    }
}
