//! Meta's webhook endpoint: `GET` verification, `POST` notifications.

pub mod commit;
pub mod ingest;
pub mod verify;

/// Meta sends up to 3 MB; leave headroom, refuse the rest with 413 before reading it all.
pub const MAX_WEBHOOK_BODY: usize = 4 * 1024 * 1024;
