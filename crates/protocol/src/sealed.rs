//! Sealed envelopes: how event content travels through (and rests on) the relay.
//!
//! Every workspace has an X25519 key pair generated on the owner's device. The relay only ever
//! sees the public half; it seals each webhook entry to it, devices seal what they append to it,
//! and only devices holding the secret half can open either.
//!
//! Two envelope versions, told apart by their first byte (then base64, standard alphabet with
//! padding, inside JSON):
//!
//! ```text
//! v1: 1 | ephemeral public key (32) | ciphertext | Poly1305 tag (16)
//! v2: 2 | sealed data key (80) | nonce (12) | AES-256-GCM ciphertext | tag (16)
//! ```
//!
//! - **v1** is libsodium's sealed box (`crypto_box_seal`: an ephemeral X25519 key,
//!   XSalsa20-Poly1305) via `crypto_box`: two X25519 operations per envelope.
//! - **v2** is for the relay's hot path (issue 3): a random 256-bit *data key* is sealed once
//!   to the workspace key (a v1 sealed box without the version byte), and many envelopes are
//!   encrypted under it with AES-256-GCM, each carrying the sealed data key. The AAD is the
//!   version byte and the sealed data key, so a ciphertext cannot be moved under another key.
//!   The relay keeps the data key in memory only, rotates it (see [`DataKey`]) and forgets
//!   it: what rests on its disk stays readable only with the workspace's secret key, as with
//!   v1. Devices open the sealed data key once and cache it ([`Opener`]), so a page of a
//!   thousand events costs one X25519 operation instead of a thousand.
//!
//! AES-256-GCM is `ring`'s (BoringSSL's assembly): the `aes-gcm` crate's GHASH takes one
//! carry-less multiplication and reduction per block, and sealing 2 KB webhooks with it was ~5 %
//! of the relay's ingest CPU (BENCHMARKS.md, relay round 11). The bytes are the same standard
//! AES-256-GCM; a test opens an envelope made with `aes-gcm`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey, KEY_SIZE, SEALBYTES};
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use zeroize::Zeroizing;

/// A sealed box per envelope.
pub const ENVELOPE_V1: u8 = 1;
/// A sealed data key and AES-256-GCM under it.
pub const ENVELOPE_V2: u8 = 2;

/// Bytes a v1 envelope adds to its plaintext.
pub const OVERHEAD: usize = 1 + SEALBYTES;

/// A data key sealed to a workspace key (a sealed box of 32 bytes).
const SEALED_KEY_LEN: usize = SEALBYTES + 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Bytes a v2 envelope adds to its plaintext.
pub const OVERHEAD_V2: usize = 1 + SEALED_KEY_LEN + NONCE_LEN + TAG_LEN;

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

/// Opens an envelope of either version; fails on a wrong key or any flipped bit.
pub fn open(secret: &WorkspaceSecretKey, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    match parse(sealed)? {
        Envelope::V1(boxed) => secret.0.unseal(boxed).map_err(|_| SealError::Open),
        Envelope::V2 { sealed_key, .. } => {
            let key = open_data_key(secret, sealed_key)?;
            decrypt_v2(&key, sealed)
        }
    }
}

/// The relay's only check on envelopes devices append: known version, long enough. It cannot
/// check more without the secret key, which is the point.
pub fn is_well_formed(sealed: &[u8]) -> bool {
    parse(sealed).is_ok()
}

enum Envelope<'a> {
    V1(&'a [u8]),
    V2 { sealed_key: &'a [u8] },
}

fn parse(sealed: &[u8]) -> Result<Envelope<'_>, SealError> {
    match sealed.split_first() {
        Some((&ENVELOPE_V1, rest)) if rest.len() >= SEALBYTES => Ok(Envelope::V1(rest)),
        Some((&ENVELOPE_V2, rest)) if rest.len() >= OVERHEAD_V2 - 1 => Ok(Envelope::V2 {
            sealed_key: &rest[..SEALED_KEY_LEN],
        }),
        _ => Err(SealError::Malformed),
    }
}

fn open_data_key(
    secret: &WorkspaceSecretKey,
    sealed_key: &[u8],
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let bytes = Zeroizing::new(secret.0.unseal(sealed_key).map_err(|_| SealError::Open)?);
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SealError::Open)?;
    Ok(Zeroizing::new(key))
}

/// An AES-256-GCM key for one envelope, made per envelope rather than kept beside the data
/// key: `ring` does not zero its key schedule on drop, and a schedule kept in `DataKey` would
/// be freed with it unzeroed. On the stack it is not zeroed either (nor was `aes-gcm`'s,
/// built without its `zeroize` feature), but the next frames overwrite it.
fn aes_key(key: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Seal)
}

/// Decrypts a v2 envelope (already parsed) with its opened data key.
fn decrypt_v2(key: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let aad_end = 1 + SEALED_KEY_LEN;
    let (aad, rest) = sealed.split_at(aad_end);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
    let mut message = ciphertext.to_vec();
    let len = aes_key(key)
        .map_err(|_| SealError::Open)?
        .open_in_place(nonce, Aad::from(aad), &mut message)
        .map_err(|_| SealError::Open)?
        .len();
    message.truncate(len);
    Ok(message)
}

/// A data key of one workspace: seals many envelopes with AES-256-GCM (v2). Made by the
/// relay, which rotates it and drops it; the key itself is zeroed when dropped.
pub struct DataKey {
    key: Zeroizing<[u8; 32]>,
    sealed_key: Vec<u8>,
    recipient: WorkspacePublicKey,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    /// A fresh random data key, sealed to `recipient`.
    pub fn generate(recipient: &WorkspacePublicKey) -> Result<Self, SealError> {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut_slice());
        let sealed_key = recipient
            .0
            .seal(&mut OsRng, key.as_slice())
            .map_err(|_| SealError::Seal)?;
        Ok(Self {
            key,
            sealed_key,
            recipient: recipient.clone(),
        })
    }

    /// Whom the key was sealed to.
    pub fn recipient(&self) -> &WorkspacePublicKey {
        &self.recipient
    }

    /// A v2 envelope of `plaintext`, with a fresh random nonce. (Random 96-bit nonces are safe
    /// for far more envelopes than a key ever seals before rotation.) The relay seals every
    /// webhook with this: the nonce comes from the thread's CSPRNG (ChaCha, reseeded from the
    /// OS) rather than a `getrandom` call each, and the plaintext is encrypted in place in the
    /// envelope, one allocation and no copy of the ciphertext.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD_V2);
        out.push(ENVELOPE_V2);
        out.extend_from_slice(&self.sealed_key);
        let aad_len = out.len();
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        let body = out.len();
        out.extend_from_slice(plaintext);
        let (head, message) = out.split_at_mut(body);
        let tag = aes_key(&self.key)?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&head[..aad_len]),
                message,
            )
            .map_err(|_| SealError::Seal)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }
}

/// Opens envelopes for one workspace, remembering the data keys it has opened so that the
/// X25519 operation is paid once per data key, not once per envelope.
pub struct Opener {
    secret: WorkspaceSecretKey,
    keys: Mutex<HashMap<Vec<u8>, Zeroizing<[u8; 32]>>>,
}

/// Data keys an [`Opener`] remembers; the relay rotates keys rarely, so a handful suffices.
const OPENER_CACHE: usize = 64;

impl Opener {
    pub fn new(secret: WorkspaceSecretKey) -> Self {
        Self {
            secret,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Like [`open`], with the data key cache.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        match parse(sealed)? {
            Envelope::V1(boxed) => self.secret.0.unseal(boxed).map_err(|_| SealError::Open),
            Envelope::V2 { sealed_key } => {
                let cached = self
                    .keys
                    .lock()
                    .ok()
                    .and_then(|keys| keys.get(sealed_key).map(|k| Zeroizing::new(**k)));
                let key = match cached {
                    Some(key) => key,
                    None => {
                        let key = open_data_key(&self.secret, sealed_key)?;
                        if let Ok(mut keys) = self.keys.lock() {
                            if keys.len() >= OPENER_CACHE {
                                keys.clear();
                            }
                            keys.insert(sealed_key.to_vec(), Zeroizing::new(*key));
                        }
                        key
                    }
                };
                decrypt_v2(&key, sealed)
            }
        }
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
        let mut v3 = sealed.clone();
        v3[0] = 3;
        assert_eq!(open(&sk, &v3), Err(SealError::Malformed));
        assert!(!is_well_formed(&v3));
        // A v1 envelope relabelled v2 is too short to be one.
        let mut v2 = sealed.clone();
        v2[0] = ENVELOPE_V2;
        assert_eq!(open(&sk, &v2), Err(SealError::Malformed));
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

    /// Envelopes the relay sealed before 2026-11-28 were made with the `aes-gcm` crate; they
    /// must still open, and what `ring` seals must open with `aes-gcm`: the same standard
    /// AES-256-GCM, byte for byte.
    #[test]
    fn data_key_envelopes_are_the_standard_aes_gcm_both_ways() {
        use aes_gcm::aead::{Aead, Payload};
        use aes_gcm::{Aes256Gcm, KeyInit};
        let sk = WorkspaceSecretKey::generate();
        let data_key = [7u8; 32];
        let sealed_key = sk.public_key().0.seal(&mut OsRng, &data_key).unwrap();
        let mut aad = vec![ENVELOPE_V2];
        aad.extend_from_slice(&sealed_key);
        let nonce = [9u8; NONCE_LEN];
        let msg = "Olá, ¿qué tal? 👋 <b>not html</b>".as_bytes();
        let theirs = Aes256Gcm::new(&data_key.into())
            .encrypt(&nonce.into(), Payload { msg, aad: &aad })
            .unwrap();
        let mut envelope = aad.clone();
        envelope.extend_from_slice(&nonce);
        envelope.extend_from_slice(&theirs);
        assert_eq!(open(&sk, &envelope).unwrap(), msg);
        assert_eq!(Opener::new(sk.clone()).open(&envelope).unwrap(), msg);

        let ours = DataKey {
            key: Zeroizing::new(data_key),
            sealed_key: sealed_key.clone(),
            recipient: sk.public_key(),
        }
        .seal(msg)
        .unwrap();
        let (head, ciphertext) = ours.split_at(aad.len() + NONCE_LEN);
        assert_eq!(&head[..aad.len()], &aad[..]);
        let opened = Aes256Gcm::new(&data_key.into())
            .decrypt(
                head[aad.len()..].into(),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(opened, msg);
    }

    #[test]
    fn data_key_envelopes_round_trip_and_open_with_the_workspace_key_only() {
        let sk = WorkspaceSecretKey::generate();
        let dk = DataKey::generate(&sk.public_key()).unwrap();
        let msg = "Olá, ¿qué tal? 👋".as_bytes();
        let a = dk.seal(msg).unwrap();
        let b = dk.seal(msg).unwrap();
        assert_eq!(a[0], ENVELOPE_V2);
        assert_eq!(a.len(), msg.len() + OVERHEAD_V2);
        assert!(is_well_formed(&a));
        assert_ne!(a, b, "fresh nonce per envelope");
        assert!(!a.windows(msg.len()).any(|w| w == msg));
        assert_eq!(open(&sk, &a).unwrap(), msg);
        let opener = Opener::new(sk.clone());
        assert_eq!(opener.open(&a).unwrap(), msg);
        assert_eq!(opener.open(&b).unwrap(), msg);
        assert_eq!(opener.open(&dk.seal(b"").unwrap()).unwrap(), b"");
        // v1 still opens through the opener.
        assert_eq!(
            opener.open(&seal(&sk.public_key(), msg).unwrap()).unwrap(),
            msg
        );
        let other = WorkspaceSecretKey::generate();
        assert_eq!(open(&other, &a), Err(SealError::Open));
        assert_eq!(Opener::new(other).open(&a), Err(SealError::Open));
        assert!(!format!("{dk:?}").contains(&to_base64(&dk.key[..])));
    }

    #[test]
    fn every_flipped_bit_of_a_data_key_envelope_is_refused_even_with_the_key_cached() {
        let sk = WorkspaceSecretKey::generate();
        let dk = DataKey::generate(&sk.public_key()).unwrap();
        let sealed = dk.seal(b"hello").unwrap();
        let opener = Opener::new(sk.clone());
        opener.open(&sealed).unwrap();
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut t = sealed.clone();
                t[i] ^= 1 << bit;
                assert!(open(&sk, &t).is_err(), "byte {i} bit {bit}");
                assert!(opener.open(&t).is_err(), "cached, byte {i} bit {bit}");
            }
        }
        assert_eq!(
            open(&sk, &sealed[..OVERHEAD_V2 - 1]),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn a_ciphertext_cannot_be_moved_under_another_data_key() {
        let sk = WorkspaceSecretKey::generate();
        let one = DataKey::generate(&sk.public_key()).unwrap();
        let two = DataKey::generate(&sk.public_key()).unwrap();
        let a = one.seal(b"first").unwrap();
        let b = two.seal(b"second").unwrap();
        // a's sealed key with b's nonce and ciphertext.
        let mut mixed = a[..1 + SEALED_KEY_LEN].to_vec();
        mixed.extend_from_slice(&b[1 + SEALED_KEY_LEN..]);
        assert_eq!(open(&sk, &mixed), Err(SealError::Open));
    }
}
