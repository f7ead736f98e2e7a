//! Fault-injection harness (issue #6): the relay and the desktop CLI as real child processes
//! on real data directories, a load generator that behaves like Meta's webhook sender (a
//! delivery not answered 200 is retried later), and a normalised dump of a device's store to
//! compare outcomes.
//!
//! The binaries come from the same target directory as the test (`scripts/test.sh` builds
//! them first), or from `DATAOPTIX_BIN_DIR`.

mod bins;
mod cli_device;
mod customers;
mod meta;
mod meta_sender;
mod relay_process;
mod store_dump;
mod tiny_disk;

pub use bins::binary;
pub use cli_device::CliDevice;
pub use customers::{customer_message_batches, customer_messages};
pub use meta::Meta;
pub use meta_sender::{DeliveryReport, MetaSender};
pub use relay_process::RelayProcess;
pub use store_dump::{dump, ensure_each_once, wamid_counts};
pub use tiny_disk::TinyDisk;

/// The Meta app secret shared by the relay, the simulator and the load generator.
pub const APP_SECRET: &str = "faults-app-secret";
/// The workspace owner's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// Where a test's logs go: `DATAOPTIX_ARTIFACTS/faults/<name>` (else `artifacts/faults/<name>`
/// in the repository), emptied first, kept after the run for a failure's post-mortem.
pub fn logs_dir(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let root = std::env::var_os("DATAOPTIX_ARTIFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../artifacts")
                .components()
                .collect()
        });
    let dir = root.join("faults").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A knob from the environment, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}
