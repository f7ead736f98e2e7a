//! What the DataOptix relay and the desktop say to each other.
//!
//! Both sides depend on this crate and nothing else of each other: the device API's request and
//! response bodies ([`auth`], [`events`], [`members`], [`wabas`], [`error`]) and the sealed-envelope format
//! ([`sealed`]) that keeps message content unreadable to the relay.

pub mod auth;
pub mod config;
pub mod device_events;
pub mod error;
pub mod events;
pub mod invitations;
pub mod media;
pub mod members;
pub mod onboarding;
pub mod sealed;
pub mod wabas;

pub use sealed::{open, seal, SealError, WorkspacePublicKey, WorkspaceSecretKey};
