//! The desktop shell: thin by design (DESIGN.md). It builds the app's state once in `setup()`,
//! registers the plugins and the typed IPC commands, and leaves every decision to the
//! Tauri-free `dataoptix-core` (through its `Device`).

pub mod attention;
mod background;
pub mod commands;
mod deep_links;
pub mod events;
pub mod exports;
pub mod ipc;
pub mod media_protocol;
mod microphone;
pub mod startup;
pub mod state;
mod web_process;

use tauri::Manager;
use tauri_plugin_deep_link::DeepLinkExt;

/// Starts the desktop app. Panics only if the window system cannot be initialised at all, which
/// Tauri reports itself before we could show anything.
pub fn run() {
    let launched = std::time::Instant::now();
    let builder = ipc::specta_builder();
    #[allow(clippy::expect_used)] // Nothing to recover to: without a runtime there is no window.
    tauri::Builder::default()
        // First: a second launch (e.g. the browser opening dataoptix://…) hands its arguments
        // to this instance and exits; with `deep-link`, the URL reaches on_open_url below.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .invoke_handler(builder.invoke_handler())
        // Files dropped on the window may be attached (and only those, or picked ones).
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                window.state::<state::AppState>().allow_files(paths.clone());
            }
        })
        .on_webview_event(|webview, event| {
            if let tauri::WebviewEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                webview
                    .state::<state::AppState>()
                    .allow_files(paths.clone());
            }
        })
        // Decrypted media for the thread (`media://localhost/<message id>`), see media_protocol.
        .register_asynchronous_uri_scheme_protocol(media_protocol::SCHEME, media_protocol::handle)
        .setup(move |app| {
            builder.mount_events(app);
            let data_dir = match std::env::var_os(state::DATA_DIR_ENV) {
                Some(dir) => std::path::PathBuf::from(dir),
                None => app.path().app_data_dir()?,
            };
            app.manage(state::AppState::new(data_dir, launched));
            let startup = &app.state::<state::AppState>().startup;
            startup.mark(startup::Step::Setup);
            app.manage(attention::start(app.handle())?);
            if let Some(window) = app.get_webview_window("main") {
                microphone::allow_voice_notes(&window);
                web_process::reload_when_it_ends(&window);
            }

            // Open the data (keyring, encrypted store) and resume the session — a passphrase
            // prompt otherwise — while the window loads the UI, instead of before the window
            // exists: the first screen waits for whichever is slower, not for both in turn.
            // Commands that need the device wait for this (`AppState::device`).
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<state::AppState>();
                match state.open(None).await {
                    Ok(device) => {
                        state.startup.mark(startup::Step::DataOpen);
                        // Commands waiting for the device go on before the background work
                        // (sync, outbox, media) is started.
                        state.start_up_finished();
                        background::start(&handle, &device).await;
                        state.startup.mark(startup::Step::Background);
                    }
                    Err(e) => {
                        state.startup.mark(startup::Step::DataOpen);
                        tracing::warn!(error = %e, "the data is not open yet");
                    }
                }
                state.start_up_finished();
            });

            // Registering the scheme writes a .desktop file and runs `xdg-mime` (a shell
            // script): off the main thread, which would otherwise wait for it before the
            // window's first frame. A link can still arrive meanwhile: this instance handles
            // it through single-instance, and cold starts get it in their arguments.
            #[cfg(any(target_os = "linux", all(debug_assertions, windows)))]
            {
                let handle = app.handle().clone();
                std::thread::spawn(move || {
                    if let Err(e) = handle.deep_link().register_all() {
                        tracing::warn!(error = %e, "the dataoptix:// scheme could not be registered");
                    }
                });
            }
            let handle = app.handle().clone();
            app.deep_link().on_open_url(move |event| {
                let urls = event.urls().iter().map(|u| u.to_string()).collect();
                deep_links::handle(&handle, urls);
            });
            // A cold start by a link: the URL is in the launch arguments.
            if let Ok(Some(urls)) = app.deep_link().get_current() {
                deep_links::handle(app.handle(), urls.iter().map(|u| u.to_string()).collect());
            }
            app.state::<state::AppState>()
                .startup
                .mark(startup::Step::SetupDone);
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"))
        .expect("the DataOptix window could not start");
}
