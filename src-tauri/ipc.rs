//! The IPC boundary: the one error type the UI sees, and the tauri-specta builder that both
//! registers the commands and generates `ui/src/lib/ipc/bindings.ts` (checked for drift by a test).

use serde::Serialize;
use specta::Type;
use tauri_specta::{collect_commands, Builder};

use dataoptix_core::device::{DeviceError, LintIssueView};
use specta_typescript::BigIntExportBehavior;
use tauri_specta::collect_events;

use crate::{commands, events};

/// Where the generated TypeScript bindings live, relative to the repository root.
pub const BINDINGS_PATH: &str = "ui/src/lib/ipc/bindings.ts";

/// The only error type that crosses IPC. The UI switches on `kind`; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{kind:?}: {message}")]
pub struct IpcError {
    pub kind: IpcErrorKind,
    pub message: String,
    /// For `lint`: the template draft's issues, on the editor's fields. Empty otherwise.
    pub issues: Vec<LintIssueView>,
}

impl IpcError {
    /// An error without lint issues.
    pub fn new(kind: IpcErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            issues: Vec::new(),
        }
    }
}

/// Closed set of error kinds the UI knows how to present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum IpcErrorKind {
    /// The input was refused; the message says what to change.
    InvalidInput,
    /// Something unexpected happened inside the app; details are in the log.
    Internal,
    /// Not signed in, wrong email or password, or the session ended: sign in again.
    Unauthenticated,
    /// The relay cannot be reached (the message names it).
    RelayUnreachable,
    /// The role of the signed-in user does not allow this.
    Forbidden,
    /// Not found (or not this workspace's).
    NotFound,
    /// Conflicts with what exists (e.g. the email is taken).
    Conflict,
    /// The data is locked: a passphrase is needed (no OS keyring).
    NeedsPassphrase,
    /// The passphrase is wrong.
    WrongPassphrase,
    /// The OS keyring is unavailable or locked.
    KeyringUnavailable,
    /// This device lacks the workspace key: join with an invitation link.
    KeyMissing,
    /// The relay or Meta refused; the message explains.
    Remote,
    /// Free-form messages are not allowed outside the 24-hour window: send a template.
    WindowClosed,
    /// The contact is restricted or opted out.
    Restricted,
    /// A template draft breaks Meta's rules; `issues` says where.
    Lint,
}

impl From<DeviceError> for IpcError {
    fn from(error: DeviceError) -> Self {
        let kind = match error.kind() {
            "invalidInput" => IpcErrorKind::InvalidInput,
            "unauthenticated" => IpcErrorKind::Unauthenticated,
            "relayUnreachable" => IpcErrorKind::RelayUnreachable,
            "forbidden" => IpcErrorKind::Forbidden,
            "notFound" => IpcErrorKind::NotFound,
            "conflict" => IpcErrorKind::Conflict,
            "needsPassphrase" => IpcErrorKind::NeedsPassphrase,
            "wrongPassphrase" => IpcErrorKind::WrongPassphrase,
            "keyringUnavailable" => IpcErrorKind::KeyringUnavailable,
            "keyMissing" => IpcErrorKind::KeyMissing,
            "remote" => IpcErrorKind::Remote,
            "windowClosed" => IpcErrorKind::WindowClosed,
            "restricted" => IpcErrorKind::Restricted,
            "lint" => IpcErrorKind::Lint,
            _ => IpcErrorKind::Internal,
        };
        if kind == IpcErrorKind::Internal {
            // The details go to the log; the UI gets a calm sentence plus the cause.
            tracing::error!(error = %error, "command failed");
        }
        Self {
            kind,
            message: error.to_string(),
            issues: error.lint_issues().to_vec(),
        }
    }
}

/// The command set, shared by the running app and the bindings export.
pub fn specta_builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            commands::app_info,
            commands::session_state,
            commands::first_screen_painted,
            commands::unlock_with_passphrase,
            commands::register,
            commands::sign_in,
            commands::join_workspace,
            commands::sign_out,
            commands::start_onboarding,
            commands::onboarding_status,
            commands::setup_manual,
            commands::list_conversations,
            commands::conversation,
            commands::list_messages,
            commands::list_messages_after,
            commands::search,
            commands::sync_state,
            commands::send_message,
            commands::pick_attachment,
            commands::check_attachment,
            commands::send_attachment,
            commands::send_voice_note,
            commands::mark_read,
            commands::show_typing,
            commands::conversation_changes,
            commands::set_labels,
            commands::assign,
            commands::notes,
            commands::add_note,
            commands::quick_replies,
            commands::save_quick_reply,
            commands::delete_quick_reply,
            commands::outbox_count,
            commands::list_templates,
            commands::sync_templates,
            commands::render_template,
            commands::template_detail,
            commands::lint_template,
            commands::create_template,
            commands::edit_template,
            commands::delete_template,
            commands::preview_broadcast,
            commands::create_broadcast,
            commands::broadcasts,
            commands::broadcast,
            commands::broadcast_recipients,
            commands::pause_broadcast,
            commands::resume_broadcast,
            commands::cancel_broadcast,
            commands::business_profile,
            commands::business_profile_problems,
            commands::account_notices,
            commands::update_business_profile,
            commands::choose_profile_photo,
            commands::choose_header_sample,
            commands::set_open_conversation,
            commands::team,
            commands::invite_member,
            commands::change_member_role,
            commands::remove_member,
            commands::revoke_device,
            commands::revoke_invitation,
            commands::save_media,
            commands::list_contacts,
            commands::contact_detail,
            commands::rename_contact,
            commands::set_contact_restricted,
            commands::export_contact,
            commands::export_everything,
            commands::reveal_export,
            commands::erase_contact,
            commands::retention,
            commands::set_retention,
            commands::apply_retention,
            commands::list_activity,
            commands::verify_activity,
            commands::delete_account,
            commands::erase_deleted_workspace,
        ])
        .events(collect_events![
            events::InboxChanged,
            events::SyncStateChanged,
            events::OnboardingLink,
            events::JoinLink,
            events::DeepLinkRejected,
            events::TemplatesChanged,
            events::ExportProgress,
            events::BroadcastProgress,
        ])
        .typ::<IpcError>()
}

/// Renders the TypeScript bindings exactly as they are committed.
pub fn render_bindings() -> Result<String, specta_typescript::ExportError> {
    // One directory per call: tests render concurrently in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("dataoptix-bindings-{}-{call}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("bindings.ts");
    specta_builder().export(
        specta_typescript::Typescript::default()
            // Ids and Unix-second timestamps stay far below 2^53: plain numbers in TypeScript.
            .bigint(BigIntExportBehavior::Number)
            .header("// Generated by tauri-specta from src-tauri/ipc.rs. Do not edit: run\n// `DATAOPTIX_UPDATE_BINDINGS=1 cargo test -p dataoptix bindings` instead.\n"),
        &path,
    )?;
    let text = std::fs::read_to_string(&path).map_err(specta_typescript::ExportError::Io)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(type_only_imports(&text))
}

/// Turns `import { type A as B } from "m";` (every name a type) into `import type { A as B }
/// from "m";`. With `verbatimModuleSyntax` the first form still imports `m` for its side
/// effects, and for tauri-specta's `WebviewWindow` type that pulled `@tauri-apps/api/window`,
/// `webview`, `dpi` and `image` (~140 KB of the UI's 350 KB bundle) into every start-up.
fn type_only_imports(bindings: &str) -> String {
    let mut out = String::with_capacity(bindings.len());
    for line in bindings.split_inclusive('\n') {
        let names = line
            .strip_prefix("import { ")
            .and_then(|rest| rest.split_once(" } from "));
        match names {
            Some((names, from))
                if names
                    .split(',')
                    .all(|name| name.trim().starts_with("type ")) =>
            {
                let names: Vec<&str> = names
                    .split(',')
                    .map(|name| name.trim().trim_start_matches("type ").trim())
                    .collect();
                out.push_str(&format!(
                    "import type {{ {} }} from {from}",
                    names.join(", ")
                ));
            }
            _ => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when the committed bindings no longer match the Rust commands; regenerate with
    /// `DATAOPTIX_UPDATE_BINDINGS=1`.
    #[test]
    fn bindings_are_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
        let fresh = render_bindings().expect("bindings render");
        if std::env::var_os("DATAOPTIX_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).expect("write bindings");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{BINDINGS_PATH} is stale: run `DATAOPTIX_UPDATE_BINDINGS=1 cargo test -p dataoptix bindings`"
        );
    }

    #[test]
    fn type_only_imports_are_erased_from_the_bundle() {
        let fresh = render_bindings().expect("bindings render");
        assert!(
            !fresh.contains("import { type "),
            "a type-only import would still load its module at run time"
        );
        assert!(
            fresh.contains(
                "import type { WebviewWindow as __WebviewWindow__ } from \"@tauri-apps/api/webviewWindow\";"
            ),
            "tauri-specta's output changed: check what the UI bundle imports"
        );
        assert_eq!(
            type_only_imports(
                "import { type A, type B as C } from \"m\";\nimport { d, type E } from \"n\";\n"
            ),
            "import type { A, B as C } from \"m\";\nimport { d, type E } from \"n\";\n"
        );
    }

    /// Every command the UI can call has exactly one permission in the window's capability,
    /// and the capability grants nothing for commands that do not exist.
    #[test]
    fn the_capability_grants_exactly_the_app_commands() {
        let fresh = render_bindings().expect("bindings render");
        let mut invoked: Vec<String> = fresh
            .split("TAURI_INVOKE(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(|name| format!("allow-{}", name.replace('_', "-")))
            .collect();
        invoked.sort();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let capability: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("capabilities/main-window.json")).expect("read"),
        )
        .expect("json");
        let mut granted: Vec<String> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| p.starts_with("allow-"))
            .map(str::to_owned)
            .collect();
        granted.sort();
        assert_eq!(invoked, granted);
        // No plugin permission reaches the webview except listening to events.
        let others: Vec<&str> = capability["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| !p.starts_with("allow-"))
            .collect();
        assert_eq!(others, ["core:event:default"]);
    }

    #[test]
    fn app_info_names_the_product_and_version() {
        let info = commands::app_info();
        assert_eq!(info.name, "DataOptix");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert!(info.graph_version.starts_with('v'));
    }
}
