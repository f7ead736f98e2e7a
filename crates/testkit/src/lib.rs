//! Test helpers shared by the workspace's integration tests (a dev-dependency only).
//!
//! Tests that touch the OS keyring must never use the developer's desktop session: they start a
//! private D-Bus session bus ([`DbusSession`]) in a throwaway home directory and an unlocked
//! gnome-keyring on it ([`Keyring`]), exactly as a Linux desktop provides the Secret Service.
//! Every process runs in its own process group and is stopped with its children when its handle
//! drops ([`Guarded`]), so a failing test leaves nothing behind. [`TcpProxy`] plays the network
//! between two parts going down and coming back.

mod dbus;
#[cfg(target_os = "linux")]
mod immutable;
mod logs;
pub mod meta;
mod net;
mod perf;
mod processes;

pub use dbus::{DbusSession, Keyring};
#[cfg(target_os = "linux")]
pub use immutable::Immutable;
pub use logs::CapturedLog;
pub use net::TcpProxy;
pub use perf::perf_control;
pub use processes::{free_port, port_open, wait_until, Guarded};
