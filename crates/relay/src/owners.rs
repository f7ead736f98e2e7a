//! Which workspace owns which WABA, remembered for a moment: every webhook needs the answer
//! before it is sealed, and asking SQLite on each request cost a database round trip on the
//! hot path for a mapping that changes only when a WABA is claimed or a workspace deleted.
//!
//! Correctness does not rest on this cache: the group commit checks ownership again under
//! the log lock, which every claim and deletion holds (an entry sealed for the wrong owner is
//! `Stale` and answered 5xx, so Meta retries; one sealed for the relay's key is re-sealed). Claims and deletions clear it, and
//! an entry lives [`TTL`] at most, so even a change made elsewhere heals within seconds.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::store::{Store, StoreResult, WorkspaceRecord};

/// Longest an answer is reused.
const TTL: Duration = Duration::from_secs(5);
/// WABAs remembered before the cache starts over (a relay serves far fewer).
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct OwnerCache {
    entries: RwLock<HashMap<String, (Option<WorkspaceRecord>, Instant)>>,
}

impl OwnerCache {
    /// The owners of `wabas` (those without one are absent), from the cache where fresh.
    pub async fn owners(
        &self,
        store: &dyn Store,
        wabas: &[String],
    ) -> StoreResult<HashMap<String, WorkspaceRecord>> {
        let now = Instant::now();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            for waba in wabas {
                match entries.get(waba) {
                    Some((owner, at)) if now.duration_since(*at) < TTL => {
                        if let Some(owner) = owner {
                            found.insert(waba.clone(), owner.clone());
                        }
                    }
                    _ => missing.push(waba.clone()),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let looked_up: HashMap<String, WorkspaceRecord> =
            store.waba_owners(&missing).await?.into_iter().collect();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() + missing.len() > MAX_ENTRIES {
            entries.clear();
        }
        for waba in missing {
            let owner = looked_up.get(&waba).cloned();
            if let Some(owner) = &owner {
                found.insert(waba.clone(), owner.clone());
            }
            entries.insert(waba, (owner, now));
        }
        Ok(found)
    }

    /// Forgets everything: a WABA was claimed or a workspace deleted.
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
