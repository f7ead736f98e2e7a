//! Media files at rest: AES-256-GCM under the media file key, one file per download (rows
//! naming the same Meta media id share it: `media::fetch`).
//!
//! The key is a random 256-bit key kept as a sealed vault record ([`FILE_KEY_RECORD`]), so it
//! is as safe as every other secret and goes with the vault on erasure. Each file is
//! `v1 | nonce(12) | ciphertext+tag(16)` (the vault's envelope, [`MasterKey::seal`]): a fresh
//! random nonce per write, and the file's name (relative to the data directory) as the AAD, so
//! one file cannot be swapped in for another message's without failing authentication.
//! The plaintext never touches the disk: it is encrypted in memory and written to a temporary
//! file that is renamed into place.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::privacy::MEDIA_DIR;
use crate::vault::{MasterKey, Vault, VaultError};

/// Vault record holding the media file key.
pub const FILE_KEY_RECORD: &str = "media.file-key";

/// The media file key, created on first use. `create` false: `None` when there is none yet
/// (then no media file can exist either).
pub fn file_key(vault: &Vault, create: bool) -> Result<Option<MasterKey>, VaultError> {
    if let Some(bytes) = vault.get_record(FILE_KEY_RECORD)? {
        return MasterKey::from_bytes(&bytes, FILE_KEY_RECORD).map(Some);
    }
    if !create {
        return Ok(None);
    }
    let key = MasterKey::generate();
    vault.put_record(FILE_KEY_RECORD, key.expose())?;
    Ok(Some(key))
}

/// A new file for a download of media row `row_id` (Meta's `media_id`), relative to the data
/// directory: `media/<hex sha256>.enc`. Neither id is used as a path component (Meta's ids are
/// not ours to trust), and a random part makes every download's name new: SQLite reuses the
/// largest row id after a delete, so a name made of the ids alone could be the name of a file
/// an erasure has still to remove. Rows that share a file afterwards name it by the path stored
/// on the row, and a file goes only once no row names it (`privacy::retention::unshared`).
pub fn relative_path(row_id: i64, media_id: &str) -> String {
    let fresh = uuid::Uuid::new_v4();
    let digest = Sha256::digest(format!("{row_id}:{media_id}:{fresh}").as_bytes());
    format!("{MEDIA_DIR}/{}.enc", hex::encode(digest))
}

/// A fresh file name for an attachment the user sends, relative to the data directory
/// (`media/out-<random>.enc`): it is written before its row exists, so no row id can name it.
pub fn outbound_path() -> String {
    format!("{MEDIA_DIR}/out-{}.enc", uuid::Uuid::new_v4().simple())
}

/// Encrypts `plaintext` for the file `relative` (the AAD).
pub fn seal(key: &MasterKey, relative: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    key.seal(&aad(relative), plaintext)
}

/// Decrypts the bytes of the file `relative`; fails if they were altered or belong to another
/// file.
pub fn open(
    key: &MasterKey,
    relative: &str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    key.open(&aad(relative), sealed)
}

fn aad(relative: &str) -> String {
    format!("dataoptix-media:{relative}")
}

/// Encrypts and writes `plaintext` as `data_dir/relative` (through a temporary file renamed
/// into place, so a crash never leaves a half-written file under the final name). Flushed to
/// the disk, and its name with it, before it returns: the store records the file as there
/// once this returns, and the relay's copy does not wait for the device (it ages out).
pub fn write(
    data_dir: &Path,
    key: &MasterKey,
    relative: &str,
    plaintext: &[u8],
) -> std::io::Result<PathBuf> {
    let sealed = seal(key, relative, plaintext).map_err(std::io::Error::other)?;
    let path = data_dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("enc.tmp");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&sealed)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    // The rename lives in the directory: flush it too (Unix; Windows has no directory flush).
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn round_trip_and_no_plaintext_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let key = MasterKey::generate();
        let plain = b"\x89PNG\r\n\x1a\n a picture of a croissant, repeated ".repeat(20);
        let rel = relative_path(7, "1234567890");
        assert!(rel.starts_with("media/") && rel.ends_with(".enc"), "{rel}");
        let path = write(dir.path(), &key, &rel, &plain).unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert!(!contains(&on_disk, b"croissant"));
        assert!(!contains(&on_disk, &plain[..8]));
        assert_eq!(on_disk.len(), plain.len() + 1 + 12 + 16);
        assert_eq!(open(&key, &rel, &on_disk).unwrap().as_slice(), &plain[..]);
        // No temporary file left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn fresh_nonce_per_write() {
        let key = MasterKey::generate();
        let a = seal(&key, "media/a.enc", b"same bytes").unwrap();
        let b = seal(&key, "media/a.enc", b"same bytes").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[1..13], b[1..13], "nonces differ");
    }

    #[test]
    fn another_file_name_wrong_key_or_tampering_fail() {
        let key = MasterKey::generate();
        let sealed = seal(&key, "media/a.enc", b"secret").unwrap();
        assert!(open(&key, "media/b.enc", &sealed).is_err(), "swapped file");
        assert!(open(&MasterKey::generate(), "media/a.enc", &sealed).is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(open(&key, "media/a.enc", &flipped).is_err());
        assert!(open(&key, "media/a.enc", &sealed[..10]).is_err());
    }

    #[test]
    fn paths_never_come_from_the_media_id() {
        let rel = relative_path(1, "../../etc/passwd");
        assert!(!rel.contains(".."));
        assert_ne!(relative_path(1, "x"), relative_path(2, "x"));
        // The same row downloading again (its id reused after a delete) gets a new name.
        assert_ne!(relative_path(1, "x"), relative_path(1, "x"));
    }

    #[test]
    fn the_file_key_is_created_once_and_kept_in_the_vault() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(
            dir.path(),
            &crate::vault::MemoryStore::new(),
            &crate::vault::PassphraseSource::none(),
        )
        .unwrap();
        assert!(file_key(&vault, false).unwrap().is_none());
        let k1 = file_key(&vault, true).unwrap().unwrap();
        let k2 = file_key(&vault, false).unwrap().unwrap();
        assert_eq!(k1.expose(), k2.expose());
    }
}
