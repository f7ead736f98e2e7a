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
        Self {
            held: WorkspaceSecretKey::from_bytes(derive(master, HELD_LABEL)),
            inspect: derive(master, INSPECT_LABEL),
            tokens: derive(master, TOKEN_LABEL),
        }
    }

    pub fn held_secret(&self) -> WorkspaceSecretKey {
        self.held.clone()
    }

    pub fn held_public(&self) -> WorkspacePublicKey {
        self.held.public_key()
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
        let sealed = protocol::seal(&a.held_public(), b"x").unwrap();
        assert_eq!(protocol::open(&b.held_secret(), &sealed).unwrap(), b"x");
    }
}
