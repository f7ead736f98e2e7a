//! The relay's own keys, all derived from the configured encryption key so that the
//! database alone never suffices to read anything.
//!
//! - the held-event key: an X25519 key pair; entries of WABAs nobody owns yet are sealed to it
//!   (same envelope as workspace events) and re-sealed to the workspace when it claims the WABA;
//! - the inspection key: AES-256-GCM for signed bodies that were not a webhook envelope.
//!
//! Derivation is SHA-256 over a domain label and the master key: each label gives an
//! independent key, and the master key is uniformly random (checked length in config).

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use protocol::sealed::{DataKey, SealError};
use protocol::{WorkspacePublicKey, WorkspaceSecretKey};
use sha2::{Digest, Sha256};

use crate::config::EncryptionKey;

const ENVELOPE_V1: u8 = 1;
const HELD_LABEL: &[u8] = b"dataoptix-relay/held-events/v1";
const INSPECT_LABEL: &[u8] = b"dataoptix-relay/invalid-bodies/v1";
const TOKEN_LABEL: &[u8] = b"dataoptix-relay/business-tokens/v1";
/// AAD prefix binding a business-token ciphertext to its WABA id.
const TOKEN_AAD: &[u8] = b"business_tokens:";
/// AAD binding inspection ciphertexts to their table, so one cannot pass for another record.
const INSPECT_AAD: &[u8] = b"invalid_bodies";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("encryption failed")]
    Encrypt,
    #[error("decryption failed")]
    Decrypt,
}

fn derive(master: &EncryptionKey, label: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(master.0);
    h.finalize().into()
}

#[derive(Clone)]
pub struct RelayKeys {
    held: WorkspaceSecretKey,
    /// Derived once: computing it is an X25519 base-point multiplication (~30 µs), which every
    /// webhook request paid while routing (perf, BENCHMARKS.md).
    held_public: WorkspacePublicKey,
    inspect: [u8; 32],
    tokens: [u8; 32],
}

impl std::fmt::Debug for RelayKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelayKeys(<redacted>)")
    }
}

impl RelayKeys {
    pub fn derive(master: &EncryptionKey) -> Self {
        let held = WorkspaceSecretKey::from_bytes(derive(master, HELD_LABEL));
        Self {
            held_public: held.public_key(),
            held,
            inspect: derive(master, INSPECT_LABEL),
            tokens: derive(master, TOKEN_LABEL),
        }
    }

    pub fn held_secret(&self) -> WorkspaceSecretKey {
        self.held.clone()
    }

    pub fn held_public(&self) -> &WorkspacePublicKey {
        &self.held_public
    }

    /// A business token at rest (for media fetching): AES-256-GCM under its own derived key,
    /// bound to the WABA id it was granted for.
    pub fn encrypt_business_token(
        &self,
        waba_id: &str,
        token: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        let aad = [TOKEN_AAD, waba_id.as_bytes()].concat();
        gcm_encrypt(&self.tokens, token.as_bytes(), &aad)
    }

    pub fn decrypt_business_token(
        &self,
        waba_id: &str,
        data: &[u8],
    ) -> Result<String, CryptoError> {
        let aad = [TOKEN_AAD, waba_id.as_bytes()].concat();
        let bytes = gcm_decrypt(&self.tokens, data, &aad)?;
        String::from_utf8(bytes).map_err(|_| CryptoError::Decrypt)
    }

    /// `v1 | nonce(12) | AES-256-GCM ciphertext+tag`, fresh random nonce each time.
    pub fn encrypt_for_inspection(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        gcm_encrypt(&self.inspect, plaintext, INSPECT_AAD)
    }

    /// For an operator inspecting stored bodies (and the tests).
    pub fn decrypt_inspection(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        gcm_decrypt(&self.inspect, data, INSPECT_AAD)
    }
}

/// `v1 | nonce(12) | AES-256-GCM ciphertext+tag`, fresh random nonce each time.
fn gcm_encrypt(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(1 + nonce.len() + ct.len());
        out.push(ENVELOPE_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }
}

fn gcm_decrypt(key: &[u8; 32], data: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    {
        let (&version, rest) = data.split_first().ok_or(CryptoError::Decrypt)?;
        if version != ENVELOPE_V1 || rest.len() < 12 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = rest.split_at(12);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| CryptoError::Decrypt)
    }
}

/// The relay's current data key for each workspace key it seals webhooks to (v2 envelopes,
/// see `protocol::sealed`): AES-GCM per event instead of two X25519 operations. A key is
/// used for at most [`DATA_KEY_LIFETIME`] or [`DATA_KEY_USES`] envelopes, then replaced and
/// dropped (zeroed): the relay can read back nothing it sealed, as with a sealed box, and a
/// copy of its memory exposes at most the current window.
pub struct DataKeys {
    current: Mutex<HashMap<[u8; 32], Current>>,
    lifetime: Duration,
    max_uses: u64,
}

impl Default for DataKeys {
    fn default() -> Self {
        Self::with_limits(DATA_KEY_LIFETIME, DATA_KEY_USES)
    }
}

struct Current {
    key: Arc<DataKey>,
    made: Instant,
    uses: u64,
}

pub const DATA_KEY_LIFETIME: Duration = Duration::from_secs(60 * 60);
pub const DATA_KEY_USES: u64 = 100_000;

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKeys(<redacted>)")
    }
}

impl DataKeys {
    pub fn with_limits(lifetime: Duration, max_uses: u64) -> Self {
        Self {
            current: Mutex::default(),
            lifetime,
            max_uses,
        }
    }

    /// Seals `plaintext` for the holder of `recipient`'s secret key.
    pub fn seal(
        &self,
        recipient: &WorkspacePublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let key = {
            let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = |c: &Current| c.made.elapsed() < self.lifetime && c.uses < self.max_uses;
            match current.get_mut(recipient.as_bytes()) {
                Some(c) if fresh(c) => {
                    c.uses += 1;
                    c.key.clone()
                }
                _ => {
                    let key = Arc::new(DataKey::generate(recipient)?);
                    current.insert(
                        *recipient.as_bytes(),
                        Current {
                            key: key.clone(),
                            made: Instant::now(),
                            uses: 1,
                        },
                    );
                    key
                }
            }
        };
        // Sealing outside the lock: concurrent requests only share the map lookup.
        key.seal(plaintext)
    }

    /// Drops (zeroes) the keys past their lifetime, also of workspaces that received
    /// nothing since: run periodically, so no key outlives its window in memory.
    pub fn drop_expired(&self) {
        let lifetime = self.lifetime;
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, c| c.made.elapsed() < lifetime);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspection_round_trip_and_tamper() {
        let keys = RelayKeys::derive(&EncryptionKey([1; 32]));
        let ct = keys.encrypt_for_inspection(b"not json {").unwrap();
        assert_eq!(keys.decrypt_inspection(&ct).unwrap(), b"not json {");
        let mut bad = ct.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(keys.decrypt_inspection(&bad).is_err());
        let other = RelayKeys::derive(&EncryptionKey([2; 32]));
        assert!(other.decrypt_inspection(&ct).is_err());
    }

    #[test]
    fn business_tokens_round_trip_bound_to_their_waba() {
        let keys = RelayKeys::derive(&EncryptionKey([1; 32]));
        let ct = keys.encrypt_business_token("123", "EAAtoken").unwrap();
        assert_eq!(keys.decrypt_business_token("123", &ct).unwrap(), "EAAtoken");
        assert!(keys.decrypt_business_token("124", &ct).is_err());
        assert!(keys.decrypt_inspection(&ct).is_err());
    }

    #[test]
    fn derived_keys_are_distinct_and_stable() {
        let a = RelayKeys::derive(&EncryptionKey([1; 32]));
        let b = RelayKeys::derive(&EncryptionKey([1; 32]));
        assert_eq!(a.held_public(), b.held_public());
        assert_ne!(a.held.to_bytes(), a.inspect);
        let sealed = protocol::seal(a.held_public(), b"x").unwrap();
        assert_eq!(protocol::open(&b.held_secret(), &sealed).unwrap(), b"x");
    }

    #[test]
    fn data_keys_are_shared_per_workspace_rotated_and_open_only_with_its_key() {
        let (a, b) = (
            WorkspaceSecretKey::generate(),
            WorkspaceSecretKey::generate(),
        );
        let keys = DataKeys::with_limits(DATA_KEY_LIFETIME, 3);
        // The sealed data key is the 80 bytes after the version byte.
        let key_of = |sealed: &[u8]| sealed[1..81].to_vec();
        let sealed: Vec<Vec<u8>> = (0..4)
            .map(|i| {
                keys.seal(&a.public_key(), format!("event {i}").as_bytes())
                    .unwrap()
            })
            .collect();
        assert_eq!(key_of(&sealed[0]), key_of(&sealed[1]));
        assert_eq!(key_of(&sealed[1]), key_of(&sealed[2]));
        assert_ne!(
            key_of(&sealed[2]),
            key_of(&sealed[3]),
            "rotated after 3 uses"
        );
        for (i, s) in sealed.iter().enumerate() {
            assert_eq!(
                protocol::open(&a, s).unwrap(),
                format!("event {i}").as_bytes()
            );
            assert!(protocol::open(&b, s).is_err());
        }
        let other = keys.seal(&b.public_key(), b"x").unwrap();
        assert_ne!(key_of(&other), key_of(&sealed[3]));
        assert_eq!(protocol::open(&b, &other).unwrap(), b"x");
        let expiring = DataKeys::with_limits(Duration::ZERO, DATA_KEY_USES);
        let one = expiring.seal(&b.public_key(), b"y").unwrap();
        let two = expiring.seal(&b.public_key(), b"z").unwrap();
        assert_ne!(key_of(&one), key_of(&two), "rotated after its lifetime");
        expiring.drop_expired();
        assert!(expiring.current.lock().unwrap().is_empty());
    }
}
