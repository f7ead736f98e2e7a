/// The app's own commands (kept in step with `ipc::specta_builder`; a test checks it).
const COMMANDS: [&str; 50] = [
    "app_info",
    "session_state",
    "unlock_with_passphrase",
    "register",
    "sign_in",
    "join_workspace",
    "sign_out",
    "start_onboarding",
    "onboarding_status",
    "setup_manual",
    "list_conversations",
    "conversation",
    "list_messages",
    "search",
    "sync_state",
    "send_message",
    "mark_read",
    "set_labels",
    "assign",
    "outbox_count",
    "list_templates",
    "sync_templates",
    "render_template",
    "template_detail",
    "lint_template",
    "create_template",
    "edit_template",
    "delete_template",
    "set_open_conversation",
    "team",
    "invite_member",
    "change_member_role",
    "remove_member",
    "revoke_device",
    "revoke_invitation",
    "save_media",
    "list_contacts",
    "contact_detail",
    "rename_contact",
    "set_contact_restricted",
    "export_contact",
    "export_everything",
    "reveal_export",
    "erase_contact",
    "retention",
    "set_retention",
    "apply_retention",
    "list_activity",
    "verify_activity",
    "delete_account",
];

fn main() {
    // Permissions are generated for the app's own commands, so capabilities can grant them one
    // by one (least privilege) instead of allowing every command.
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(&COMMANDS));
    #[allow(clippy::expect_used)] // A broken tauri.conf.json must stop the build loudly.
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
