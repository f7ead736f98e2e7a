//! The desktop shell: thin by design (DESIGN.md). It builds the app's state once in `setup()`,
//! registers the typed IPC commands, and leaves every decision to the Tauri-free crates.

pub mod commands;
pub mod ipc;

/// Starts the desktop app. Panics only if the window system cannot be initialised at all, which
/// Tauri reports itself before we could show anything.
pub fn run() {
    let builder = ipc::specta_builder();
    #[allow(clippy::expect_used)] // Nothing to recover to: without a runtime there is no window.
    tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"))
        .expect("the DataOptix window could not start");
}
