//! Where a group commit's time goes, phase by phase, as `tracing` events at DEBUG level under
//! the target [`TARGET`]: off (one cached level check per event) unless a subscriber enables
//! that target. The ingest bench (`benches/ingest.rs`) does, to find the phases behind its p99.
//!
//! Events (their `message` names them):
//! - `request`, per webhook on the server's runtime: sealing before the submit, and the wait
//!   for the commit;
//! - per commit, on the group-commit thread and in this order: `segment` (chunk encoding,
//!   segment placement, where a rotation opens a new file; the statement batch's round trip;
//!   the blocking thread's start delay, `pwrite` and `fdatasync`, measured there), `commit`
//!   (the COMMIT round trip of a commit of events alone), `log` (the log lock wait, owner and
//!   seq lookups, the write and commit above, the bookkeeping after it) and `group_commit`
//!   (how long the batch's first request waited in the queue, the store's whole commit,
//!   answering the waiters).
//!
//! The WAL checkpointer reports each checkpoint as `checkpoint`.

use std::time::{Duration, Instant};

/// The `tracing` target of every timing event.
pub const TARGET: &str = "dataoptix_relay::timing";

/// Microseconds, saturating (a field value).
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// Microseconds since `since`, and restarts the clock: consecutive phases in one line each.
pub fn lap(since: &mut Instant) -> u64 {
    let now = Instant::now();
    let us = micros(now.duration_since(*since));
    *since = now;
    us
}
