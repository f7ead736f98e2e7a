//! What each workspace log already holds, by dedupe key (SHA-256 of a webhook entry's bytes,
//! or of a device's client event id), kept in memory.
//!
//! Why in memory: a random 32-byte key inserted into a B-tree dirties a random page per event
//! and cost ~40 % of every commit. Durably the keys are appended, one row per workspace and
//! commit, to `delivery_runs` (rowid order: sequential writes); this index is rebuilt from
//! those rows when the store opens and trimmed with them, so it holds at most the dedupe
//! window (Meta retries for 7 days; the store keeps 8 or the retention, whichever is longer).
//! Memory: ~100 bytes per remembered event.
//!
//! The keys are spread over 64 maps by their first byte (a SHA-256: uniform). A hash map
//! grows by moving every entry at once, under the log lock: with a week of events in one map
//! (millions) that is a stall of tens to hundreds of milliseconds for every webhook of the
//! commit that crossed the size; in a 64th of the map, a 64th of it.

use std::collections::HashMap;

use uuid::Uuid;

use super::{StoreError, StoreResult};

/// Bytes per key in a `delivery_runs.keys` blob: dedupe key (32) then event id (16).
pub const KEY_RECORD: usize = 48;

/// Where the first copy of an event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub seq: i64,
    pub id: Uuid,
    /// Unix ms when it was stored: entries older than the window are forgotten.
    pub seen_at: i64,
}

/// How many maps the keys are spread over (by their first byte).
const SHARDS: usize = 64;

/// Keyed by workspace and key, hashed with foldhash (seeded per process; only "minimally"
/// DoS-resistant, which suffices: the keys are SHA-256 digests, of Meta-signed entries or of
/// client event ids, that nobody can aim at a bucket without the seed). SipHash over the 48
/// bytes was ~1 % of the ingest's CPU.
type Shard = HashMap<(Uuid, [u8; 32]), Seen, KeyHasher>;

/// The hasher of maps keyed by dedupe key.
pub type KeyHasher = foldhash::fast::RandomState;

#[derive(Debug)]
pub struct DedupeIndex {
    shards: Vec<Shard>,
}

impl Default for DedupeIndex {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl DedupeIndex {
    fn shard(&self, key: &[u8; 32]) -> &Shard {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    pub fn get(&self, workspace: Uuid, key: &[u8; 32]) -> Option<Seen> {
        self.shard(key).get(&(workspace, *key)).copied()
    }

    pub fn insert(&mut self, workspace: Uuid, key: [u8; 32], seen: Seen) {
        self.shards[usize::from(key[0]) % SHARDS].insert((workspace, key), seen);
    }

    /// Adds a stored run: `keys` as in `delivery_runs.keys`, the i-th with seq `first_seq + i`.
    pub fn insert_run(
        &mut self,
        workspace: Uuid,
        first_seq: i64,
        seen_at: i64,
        keys: &[u8],
    ) -> StoreResult<()> {
        if !keys.len().is_multiple_of(KEY_RECORD) {
            return Err(StoreError::Corrupt("bad delivery run".into()));
        }
        for (seq, record) in (first_seq..).zip(keys.chunks_exact(KEY_RECORD)) {
            let (key, id) = record.split_at(32);
            let mut k = [0u8; 32];
            k.copy_from_slice(key);
            let id =
                Uuid::from_slice(id).map_err(|_| StoreError::Corrupt("bad event id".into()))?;
            self.insert(workspace, k, Seen { seq, id, seen_at });
        }
        Ok(())
    }

    pub fn forget_workspace(&mut self, workspace: Uuid) {
        for shard in &mut self.shards {
            shard.retain(|(w, _), _| *w != workspace);
        }
    }

    /// Forgets what was stored before `cutoff_ms` (its `delivery_runs` rows go too).
    pub fn forget_before(&mut self, cutoff_ms: i64) {
        for shard in &mut self.shards {
            shard.retain(|_, s| s.seen_at >= cutoff_ms);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }
}

/// The `delivery_runs.keys` blob of a run of appended events.
pub fn run_blob<'a>(keys: impl Iterator<Item = (&'a [u8; 32], Uuid)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, id) in keys {
        out.extend_from_slice(key);
        out.extend_from_slice(id.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip_and_are_forgotten_by_age_and_workspace() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ids = [Uuid::now_v7(), Uuid::now_v7()];
        let blob = run_blob([(&[1u8; 32], ids[0]), (&[2u8; 32], ids[1])].into_iter());
        let mut index = DedupeIndex::default();
        index.insert_run(a, 10, 1_000, &blob).unwrap();
        index.insert_run(b, 3, 2_000, &blob[..KEY_RECORD]).unwrap();
        assert_eq!(
            index.get(a, &[2; 32]),
            Some(Seen {
                seq: 11,
                id: ids[1],
                seen_at: 1_000
            })
        );
        assert_eq!(index.get(b, &[1; 32]).map(|s| s.seq), Some(3));
        assert_eq!(index.get(b, &[2; 32]), None);
        assert!(index.insert_run(a, 1, 1, &blob[..5]).is_err());

        index.forget_before(1_500);
        assert_eq!(index.get(a, &[1; 32]), None);
        assert_eq!(index.len(), 1);
        index.forget_workspace(b);
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn keys_of_every_shard_are_found_and_kept_apart() {
        let ws = Uuid::new_v4();
        let mut index = DedupeIndex::default();
        // Every first byte: 0 and 64 share a shard, so do 1 and 65, and so on.
        for (seq, first) in (1..).zip(0..=255u8) {
            let mut key = [7u8; 32];
            key[0] = first;
            let seen = Seen {
                seq,
                id: Uuid::now_v7(),
                seen_at: 0,
            };
            index.insert(ws, key, seen);
        }
        assert_eq!(index.len(), 256);
        for (seq, first) in (1..).zip(0..=255u8) {
            let mut key = [7u8; 32];
            key[0] = first;
            assert_eq!(index.get(ws, &key).map(|s| s.seq), Some(seq));
            key[31] = 8;
            assert_eq!(index.get(ws, &key), None);
        }
    }
}
