//! The sealed-record envelope: `v1 | nonce(12) | ciphertext+tag(16)`.
//!
//! The version byte lets a later build change the algorithm while still opening old records.
//! The nonce is fresh from the OS RNG for every seal (96-bit random nonces are safe for far more
//! seals than a desktop ever makes under one key). The record name is the AAD, so a record
//! cannot be moved under another name without failing authentication.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::VaultError;

/// The first byte of every envelope this build writes.
pub const ENVELOPE_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A 256-bit key, zeroized on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    /// A fresh key from the OS random number generator.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// Wraps raw key bytes; fails unless there are exactly 32.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self, VaultError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| VaultError::MalformedKey(what.to_owned()))?;
        Ok(Self(key))
    }

    /// The raw bytes (for storing the key in the keyring or handing it to SQLCipher).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 64 lowercase hex digits (zeroized when dropped).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// Seals `plaintext` as the record `record`.
    pub fn seal(&self, record: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: record.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Tampered {
                record: record.to_owned(),
            })?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(ENVELOPE_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens an envelope sealed as `record`; any alteration, truncation or another record name
    /// gives [`VaultError::Tampered`].
    pub fn open(&self, record: &str, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let tampered = || VaultError::Tampered {
            record: record.to_owned(),
        };
        let (&version, rest) = envelope.split_first().ok_or_else(tampered)?;
        if version != ENVELOPE_VERSION {
            return Err(VaultError::UnknownVersion {
                record: record.to_owned(),
                version,
            });
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(tampered());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: record.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| tampered())
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let key = MasterKey::generate();
        let sealed = key.seal("token.waba", b"EAAG secret token").unwrap();
        assert_eq!(sealed[0], ENVELOPE_VERSION);
        assert_eq!(sealed.len(), 1 + 12 + 17 + 16);
        assert_eq!(
            key.open("token.waba", &sealed).unwrap().as_slice(),
            b"EAAG secret token"
        );
        assert_eq!(
            key.open("empty", &key.seal("empty", b"").unwrap())
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn fresh_nonce_each_seal() {
        let key = MasterKey::generate();
        let a = key.seal("r", b"same").unwrap();
        let b = key.seal("r", b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[1..13], b[1..13]);
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let key = MasterKey::generate();
        let sealed = key.seal("device-key", b"private key bytes").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            let err = key.open("device-key", &bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    VaultError::Tampered { .. } | VaultError::UnknownVersion { .. }
                ),
                "byte {i}: {err:?}"
            );
        }
    }

    #[test]
    fn wrong_aad_truncation_and_wrong_key_are_rejected() {
        let key = MasterKey::generate();
        let sealed = key.seal("token.a", b"secret").unwrap();
        assert!(matches!(
            key.open("token.b", &sealed),
            Err(VaultError::Tampered { .. })
        ));
        for len in 0..sealed.len() {
            assert!(key.open("token.a", &sealed[..len]).is_err(), "len {len}");
        }
        let other = MasterKey::generate();
        assert!(matches!(
            other.open("token.a", &sealed),
            Err(VaultError::Tampered { .. })
        ));
        let mut v2 = sealed.clone();
        v2[0] = 2;
        let err = key.open("token.a", &v2).unwrap_err();
        assert!(matches!(err, VaultError::UnknownVersion { version: 2, .. }));
        assert!(err.to_string().contains("update the app"));
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let key = MasterKey::from_bytes(&[0xab; 32], "k").unwrap();
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert!(MasterKey::from_bytes(&[1; 31], "k").is_err());
    }
}
