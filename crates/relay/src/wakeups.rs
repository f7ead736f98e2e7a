//! Who to wake when events are appended: one watch channel per workspace with waiting readers,
//! so a commit for one workspace does not wake every long-poll and stream of the relay.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct Wakeups {
    channels: Mutex<HashMap<Uuid, watch::Sender<u64>>>,
}

impl Wakeups {
    /// A receiver that changes whenever `workspace` gets new events (or retention ran).
    /// Subscribe *before* reading, so nothing committed in between is missed.
    pub fn subscribe(&self, workspace: Uuid) -> watch::Receiver<u64> {
        let mut map = match self.channels.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(workspace)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    pub fn wake(&self, workspace: Uuid) {
        let mut map = match self.channels.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(tx) = map.get(&workspace) {
            if tx.receiver_count() == 0 {
                // Nobody waits any more: forget the channel instead of keeping it forever.
                map.remove(&workspace);
            } else {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }

    /// After retention: every waiting reader re-reads (some may now need `resync_required`).
    pub fn wake_all(&self) {
        let mut map = match self.channels.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.retain(|_, tx| tx.receiver_count() > 0);
        for tx in map.values() {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_workspace_concerned_is_woken() {
        let w = Wakeups::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut ra = w.subscribe(a);
        let rb = w.subscribe(b);
        w.wake(a);
        assert!(ra.has_changed().unwrap());
        assert!(!rb.has_changed().unwrap());
        ra.mark_unchanged();
        w.wake_all();
        assert!(ra.has_changed().unwrap() && rb.has_changed().unwrap());
        drop((ra, rb));
        w.wake(a);
        w.wake_all();
        assert!(w.channels.lock().unwrap().is_empty());
    }
}
