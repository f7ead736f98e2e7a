fn main() {
    // Permissions are generated for the app's own commands, so capabilities can grant them one
    // by one (least privilege) instead of allowing every command.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(&["app_info"]));
    #[allow(clippy::expect_used)] // A broken tauri.conf.json must stop the build loudly.
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
