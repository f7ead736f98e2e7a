//! IPC commands. Each one parses its input, calls the core's [`Device`], and maps errors to
//! [`IpcError`] — no decisions here.

use dataoptix_core::broadcast::{BroadcastSummary, RecipientView};
use dataoptix_core::device::views::{
    ConversationFilter, ConversationSummary, MessageView, PageCursor, SearchView, ViewPage,
};
use dataoptix_core::device::{
    Account, AccountNoticeView, ActivityIntegrity, ActivityPageView, AttachmentCheck,
    AttachmentInput, BroadcastForm, BroadcastPreview, BusinessProfileView, ContactCursor,
    ContactDetail, ContactPage, Device, EraseResult, ExportResult, FieldChangeView,
    HeaderMediaInput, HeaderSample, JoinInput, ManualSetupInput, NoteView, OnboardingOutcome,
    OnboardingStart, Outgoing, PhoneNumberView, ProfileUpdate, QuickReplyView, RegisterInput,
    RenderedPreview, RetentionResult, RetentionSettings, SignInInput, SyncState, TeamView,
    TemplateDetailView, TemplateForm, TemplateLintView, TemplateView, VoiceRecording,
};
use serde::Serialize;
use specta::Type;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

use crate::ipc::{IpcError, IpcErrorKind};
use crate::startup::Step;
use crate::state::AppState;

type Result<T> = std::result::Result<T, IpcError>;

/// What the welcome screen shows about this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The product name, "DataOptix".
    pub name: String,
    /// The app's version (the workspace version in Cargo.toml).
    pub version: String,
    /// The Graph API version the app calls by default.
    pub graph_version: String,
}

/// The product name and version, read by the UI through typed IPC.
#[tauri::command]
#[specta::specta]
pub fn app_info() -> AppInfo {
    AppInfo {
        name: "DataOptix".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        graph_version: cloud_api::DEFAULT_GRAPH_VERSION.to_owned(),
    }
}

/// What the app shows at start: the passphrase prompt, sign-in/up, or the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SessionState {
    /// No OS keyring: choose (first run) or enter the passphrase.
    #[serde(rename_all = "camelCase")]
    NeedsPassphrase { first_run: bool },
    /// Not signed in.
    #[serde(rename_all = "camelCase")]
    SignedOut {
        last_relay_url: Option<String>,
        default_relay_url: Option<String>,
    },
    /// Signed in.
    SignedIn { account: Account },
}

async fn session_of(state: &AppState, device: &Device) -> Result<SessionState> {
    Ok(match device.account().await? {
        Some(account) => SessionState::SignedIn { account },
        None => SessionState::SignedOut {
            last_relay_url: device.last_relay_url().await?,
            default_relay_url: state.default_relay.clone(),
        },
    })
}

/// Where the app stands.
#[tauri::command]
#[specta::specta]
pub async fn session_state(state: State<'_, AppState>) -> Result<SessionState> {
    state.startup.mark(Step::FirstCall);
    state.started_up().await;
    if let Some(first_run) = *state.needs_passphrase.read().await {
        return Ok(SessionState::NeedsPassphrase { first_run });
    }
    let device = state.device().await?;
    let session = session_of(&state, &device).await;
    state.startup.mark(Step::SessionAnswered);
    session
}

/// The first screen the window painted after launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub enum FirstScreen {
    /// The passphrase prompt (no OS keyring).
    Passphrase,
    /// Sign in / sign up.
    SignedOut,
    /// The inbox with its first page of conversations (or its error state).
    Inbox,
    /// The start-up error notice.
    Error,
}

/// The UI painted its first screen: logs, once per launch, which one and how long after the
/// launch — the start-up time a person waits, kept in the app's log, and the signal
/// `scripts/bench.sh app` times cold starts by. A later call comes from the page loaded again
/// (after its web process ended, `web_process`): one line says it is back.
#[tauri::command]
#[specta::specta]
pub fn first_screen_painted(state: State<'_, AppState>, screen: FirstScreen) {
    if let Some((elapsed, steps)) = state.startup.first_paint() {
        log::info!(
            "{FIRST_PAINT_LOG} {screen:?} {} ms after launch ({steps})",
            elapsed.as_millis()
        );
    } else {
        log::info!("{REPAINT_LOG} {screen:?}");
    }
}

/// How the line of a page painted again starts.
pub const REPAINT_LOG: &str = "the page was loaded again and painted:";

/// How the first-paint log line starts (the benchmark looks for it).
pub const FIRST_PAINT_LOG: &str = "first screen painted:";

/// Unlocks (or, on first run, creates) the data protected by a passphrase.
#[tauri::command]
#[specta::specta]
pub async fn unlock_with_passphrase(
    app: AppHandle,
    state: State<'_, AppState>,
    passphrase: String,
) -> Result<SessionState> {
    if passphrase.chars().count() < 8 {
        return Err(IpcError::new(
            IpcErrorKind::InvalidInput,
            "the passphrase needs at least 8 characters",
        ));
    }
    let device = state.open(Some(passphrase)).await?;
    crate::background::start(&app, &device).await;
    session_of(&state, &device).await
}

/// Registers a new workspace (this device becomes the owner's).
#[tauri::command]
#[specta::specta]
pub async fn register(
    app: AppHandle,
    state: State<'_, AppState>,
    input: RegisterInput,
) -> Result<Account> {
    let device = state.device().await?;
    let account = device.register(input).await?;
    crate::background::start(&app, &device).await;
    Ok(account)
}

/// Signs in on a device that holds the workspace key.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    input: SignInInput,
) -> Result<Account> {
    let device = state.device().await?;
    let account = device.sign_in(input).await?;
    crate::background::start(&app, &device).await;
    Ok(account)
}

/// Joins a workspace with an invitation link.
#[tauri::command]
#[specta::specta]
pub async fn join_workspace(
    app: AppHandle,
    state: State<'_, AppState>,
    input: JoinInput,
) -> Result<Account> {
    let device = state.device().await?;
    let account = device.join(input).await?;
    crate::background::start(&app, &device).await;
    Ok(account)
}

/// Signs out (the local history stays).
#[tauri::command]
#[specta::specta]
pub async fn sign_out(
    state: State<'_, AppState>,
    attention: State<'_, crate::attention::Attention>,
) -> Result<()> {
    state.device().await?.sign_out().await?;
    // Nobody's unread messages stay in the title after signing out.
    attention.changed();
    Ok(())
}

/// Starts Embedded Signup and opens the relay's page in the system browser.
#[tauri::command]
#[specta::specta]
pub async fn start_onboarding(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<OnboardingStart> {
    let start = state.device().await?.start_onboarding().await?;
    if let Err(e) = app.opener().open_url(start.url.as_str(), None::<&str>) {
        // The screen shows the URL to open by hand.
        tracing::warn!(error = %e, "could not open the system browser");
    }
    Ok(start)
}

/// Where an Embedded Signup session stands.
#[tauri::command]
#[specta::specta]
pub async fn onboarding_status(
    state: State<'_, AppState>,
    session_id: String,
) -> Result<OnboardingOutcome> {
    Ok(state.device().await?.onboarding_status(&session_id).await?)
}

/// Connects a number with ids and a system-user token.
#[tauri::command]
#[specta::specta]
pub async fn setup_manual(
    state: State<'_, AppState>,
    input: ManualSetupInput,
) -> Result<PhoneNumberView> {
    Ok(state.device().await?.setup_manual(input).await?)
}

/// One page of the inbox.
#[tauri::command]
#[specta::specta]
pub async fn list_conversations(
    state: State<'_, AppState>,
    filter: ConversationFilter,
    after: Option<PageCursor>,
    limit: u32,
) -> Result<ViewPage<ConversationSummary>> {
    state.startup.mark(Step::ListAsked);
    let page = state
        .device()
        .await?
        .conversations(&filter, after, limit)
        .await?;
    state.startup.mark(Step::ListAnswered);
    Ok(page)
}

/// One conversation's inbox row.
#[tauri::command]
#[specta::specta]
pub async fn conversation(state: State<'_, AppState>, id: i64) -> Result<ConversationSummary> {
    Ok(state.device().await?.conversation(id).await?)
}

/// One page of a thread, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_messages(
    state: State<'_, AppState>,
    conversation_id: i64,
    before: Option<PageCursor>,
    limit: u32,
) -> Result<ViewPage<MessageView>> {
    Ok(state
        .device()
        .await?
        .messages(conversation_id, before, limit)
        .await?)
}

/// The page of a thread just newer than `after`, oldest first (scrolling back down a long
/// history).
#[tauri::command]
#[specta::specta]
pub async fn list_messages_after(
    state: State<'_, AppState>,
    conversation_id: i64,
    after: PageCursor,
    limit: u32,
) -> Result<ViewPage<MessageView>> {
    Ok(state
        .device()
        .await?
        .messages_after(conversation_id, after, limit)
        .await?)
}

/// Full-text search over the whole history.
#[tauri::command]
#[specta::specta]
pub async fn search(state: State<'_, AppState>, query: String, limit: u32) -> Result<SearchView> {
    Ok(state.device().await?.search(&query, limit).await?)
}

/// The sync state now (then follow `SyncStateChanged`).
#[tauri::command]
#[specta::specta]
pub async fn sync_state(state: State<'_, AppState>) -> Result<SyncState> {
    Ok(state.device().await?.sync_state())
}

/// Sends a message (queued in the durable outbox; the returned message is `pending`).
#[tauri::command]
#[specta::specta]
pub async fn send_message(
    state: State<'_, AppState>,
    conversation_id: i64,
    message: Outgoing,
    reply_to: Option<String>,
) -> Result<MessageView> {
    if let Outgoing::Template {
        header_media: Some(media),
        ..
    } = &message
    {
        header_file_chosen(&state, media)?;
    }
    Ok(state
        .device()
        .await?
        .send(conversation_id, message, reply_to)
        .await?)
}

/// Opens the system's file picker to attach a file; resolves to its path, or `None` when the
/// picker was cancelled. The path is then allowed for [`check_attachment`] and
/// [`send_attachment`].
#[tauri::command]
#[specta::specta]
pub async fn pick_attachment(app: AppHandle, state: State<'_, AppState>) -> Result<Option<String>> {
    let Some(path) = pick_file(&app, None).await? else {
        return Ok(None);
    };
    state.allow_files([path.clone()]);
    Ok(Some(path.to_string_lossy().into_owned()))
}

/// The system file dialog, opened by Rust so the webview never names a path; `None` when the
/// user cancels. `filter`: a label and the extensions it shows.
async fn pick_file(
    app: &AppHandle,
    filter: Option<(&str, &[&str])>,
) -> Result<Option<std::path::PathBuf>> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file();
    if let Some((name, extensions)) = filter {
        dialog = dialog.add_filter(name, extensions);
    }
    dialog.pick_file(move |path| {
        let _ = tx.send(path);
    });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    path.into_path().map(Some).map_err(|e| {
        IpcError::new(
            IpcErrorKind::InvalidInput,
            format!("cannot use this file: {e}"),
        )
    })
}

/// Asks for a photo (JPEG or PNG) and makes it the number's profile photo through Meta's
/// Resumable Upload API; `None` when the user cancels the dialog.
#[tauri::command]
#[specta::specta]
pub async fn choose_profile_photo(
    app: AppHandle,
    state: State<'_, AppState>,
    phone_number_id: Option<String>,
) -> Result<Option<BusinessProfileView>> {
    let Some(path) = pick_file(&app, Some(("Photo", &["jpg", "jpeg", "png"]))).await? else {
        return Ok(None);
    };
    Ok(Some(
        state
            .device()
            .await?
            .set_profile_photo(phone_number_id.as_deref(), &path)
            .await?,
    ))
}

/// Asks for the sample file of a media template header (`IMAGE`, `VIDEO` or `DOCUMENT`) and
/// uploads it; the handle goes in the header's example. `None` when the user cancels.
#[tauri::command]
#[specta::specta]
pub async fn choose_header_sample(
    app: AppHandle,
    state: State<'_, AppState>,
    format: String,
) -> Result<Option<HeaderSample>> {
    let filter: (&str, &[&str]) = match format.to_ascii_uppercase().as_str() {
        "IMAGE" => ("Image", &["jpg", "jpeg", "png"]),
        "VIDEO" => ("Video", &["mp4"]),
        "DOCUMENT" => ("PDF", &["pdf"]),
        _ => {
            return Err(IpcError::new(
                IpcErrorKind::InvalidInput,
                format!("a {format} header takes no file"),
            ))
        }
    };
    let Some(path) = pick_file(&app, Some(filter)).await? else {
        return Ok(None);
    };
    Ok(Some(
        state
            .device()
            .await?
            .upload_header_sample(&format, &path)
            .await?,
    ))
}

/// What a picked or dropped file is and whether WhatsApp takes it (for the preview sheet).
#[tauri::command]
#[specta::specta]
pub async fn check_attachment(state: State<'_, AppState>, path: String) -> Result<AttachmentCheck> {
    chosen(&state, &path)?;
    Ok(state.device().await?.check_attachment(&path).await?)
}

/// Sends a picked or dropped file (queued in the durable outbox; the returned message is
/// `pending` and shows the file at once).
#[tauri::command]
#[specta::specta]
pub async fn send_attachment(
    state: State<'_, AppState>,
    conversation_id: i64,
    attachment: AttachmentInput,
    reply_to: Option<String>,
) -> Result<MessageView> {
    chosen(&state, &attachment.path)?;
    Ok(state
        .device()
        .await?
        .send_attachment(conversation_id, attachment, reply_to)
        .await?)
}

/// Sends a voice note recorded in the composer: the samples are encoded as OGG/Opus and
/// queued like a file (the returned message is `pending`).
#[tauri::command]
#[specta::specta]
pub async fn send_voice_note(
    state: State<'_, AppState>,
    conversation_id: i64,
    recording: VoiceRecording,
    reply_to: Option<String>,
) -> Result<MessageView> {
    Ok(state
        .device()
        .await?
        .send_voice_note(conversation_id, recording, reply_to)
        .await?)
}

/// Only files the person picked or dropped may be read for sending.
fn chosen(state: &AppState, path: &str) -> Result<()> {
    if state.file_allowed(std::path::Path::new(path)) {
        Ok(())
    } else {
        Err(IpcError::new(
            IpcErrorKind::InvalidInput,
            "choose the file with “Photo or file” or drop it on the conversation",
        ))
    }
}

/// A template header's file, like an attachment, must be one the person picked or dropped.
fn header_file_chosen(state: &AppState, media: &HeaderMediaInput) -> Result<()> {
    match media {
        HeaderMediaInput::File { path, .. } => chosen(state, path),
        HeaderMediaInput::Link { .. } | HeaderMediaInput::Location { .. } => Ok(()),
    }
}

/// Marks a conversation read (every device, and a read receipt to the customer).
#[tauri::command]
#[specta::specta]
pub async fn mark_read(state: State<'_, AppState>, conversation_id: i64) -> Result<()> {
    state.device().await?.mark_read(conversation_id).await?;
    Ok(())
}

/// Shows the customer "typing…" while the member writes a reply (at most every 20 s).
#[tauri::command]
#[specta::specta]
pub async fn show_typing(state: State<'_, AppState>, conversation_id: i64) -> Result<()> {
    state.device().await?.show_typing(conversation_id).await?;
    Ok(())
}

/// Who last set the conversation's labels and its assignee.
#[tauri::command]
#[specta::specta]
pub async fn conversation_changes(
    state: State<'_, AppState>,
    conversation_id: i64,
) -> Result<Vec<FieldChangeView>> {
    Ok(state
        .device()
        .await?
        .conversation_changes(conversation_id)
        .await?)
}

/// Sets a conversation's labels (every device).
#[tauri::command]
#[specta::specta]
pub async fn set_labels(
    state: State<'_, AppState>,
    conversation_id: i64,
    labels: Vec<String>,
) -> Result<()> {
    state
        .device()
        .await?
        .set_labels(conversation_id, &labels)
        .await?;
    Ok(())
}

/// Assigns a conversation to a staff member (user id), or unassigns it.
#[tauri::command]
#[specta::specta]
pub async fn assign(
    state: State<'_, AppState>,
    conversation_id: i64,
    user_id: Option<String>,
) -> Result<()> {
    state
        .device()
        .await?
        .assign(conversation_id, user_id.as_deref())
        .await?;
    Ok(())
}

/// The conversation's private notes, oldest first.
#[tauri::command]
#[specta::specta]
pub async fn notes(state: State<'_, AppState>, conversation_id: i64) -> Result<Vec<NoteView>> {
    Ok(state.device().await?.notes(conversation_id).await?)
}

/// Adds a private note to a conversation (every device; never sent to the customer).
#[tauri::command]
#[specta::specta]
pub async fn add_note(
    state: State<'_, AppState>,
    conversation_id: i64,
    text: String,
) -> Result<NoteView> {
    Ok(state
        .device()
        .await?
        .add_note(conversation_id, &text)
        .await?)
}

/// The workspace's quick replies.
#[tauri::command]
#[specta::specta]
pub async fn quick_replies(state: State<'_, AppState>) -> Result<Vec<QuickReplyView>> {
    Ok(state.device().await?.quick_replies().await?)
}

/// Creates (no id) or changes a quick reply for the whole workspace.
#[tauri::command]
#[specta::specta]
pub async fn save_quick_reply(
    state: State<'_, AppState>,
    id: Option<String>,
    shortcut: String,
    text: String,
) -> Result<QuickReplyView> {
    Ok(state
        .device()
        .await?
        .save_quick_reply(id.as_deref(), &shortcut, &text)
        .await?)
}

/// Deletes a quick reply for the whole workspace.
#[tauri::command]
#[specta::specta]
pub async fn delete_quick_reply(state: State<'_, AppState>, id: String) -> Result<()> {
    state.device().await?.delete_quick_reply(&id).await?;
    Ok(())
}

/// Messages waiting in the outbox.
#[tauri::command]
#[specta::specta]
pub async fn outbox_count(state: State<'_, AppState>) -> Result<i64> {
    Ok(state.device().await?.outbox_count().await?)
}

/// The workspace's templates (approved only for the picker).
#[tauri::command]
#[specta::specta]
pub async fn list_templates(
    state: State<'_, AppState>,
    approved_only: bool,
) -> Result<Vec<TemplateView>> {
    Ok(state.device().await?.templates(approved_only).await?)
}

/// Fetches the templates from Meta; returns how many Meta listed.
#[tauri::command]
#[specta::specta]
pub async fn sync_templates(state: State<'_, AppState>) -> Result<u32> {
    let n = state.device().await?.sync_templates().await?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A template filled with the form's values, as text (live preview); `header_media_chosen`
/// says whether the media or place of its header is chosen (the preview shows its kind).
#[tauri::command]
#[specta::specta]
pub async fn render_template(
    state: State<'_, AppState>,
    template_id: i64,
    params: Vec<String>,
    header_params: Vec<String>,
    button_params: Vec<String>,
    header_media_chosen: bool,
) -> Result<RenderedPreview> {
    Ok(state
        .device()
        .await?
        .render_template(
            template_id,
            &params,
            &header_params,
            &button_params,
            header_media_chosen,
        )
        .await?)
}

/// A template opened in the studio: its form, whether Meta allows editing it, its history.
#[tauri::command]
#[specta::specta]
pub async fn template_detail(state: State<'_, AppState>, id: i64) -> Result<TemplateDetailView> {
    Ok(state.device().await?.template_detail(id).await?)
}

/// The studio's live check of a draft: lint issues on its fields and a preview.
#[tauri::command]
#[specta::specta]
pub async fn lint_template(
    state: State<'_, AppState>,
    form: TemplateForm,
) -> Result<TemplateLintView> {
    Ok(state.device().await?.lint_template(&form))
}

/// Submits a new template for Meta's review (refused with `lint` issues when it breaks a rule).
#[tauri::command]
#[specta::specta]
pub async fn create_template(
    state: State<'_, AppState>,
    form: TemplateForm,
) -> Result<TemplateView> {
    Ok(state.device().await?.create_template(&form).await?)
}

/// Edits an approved, rejected or paused template; it goes back to review.
#[tauri::command]
#[specta::specta]
pub async fn edit_template(
    state: State<'_, AppState>,
    id: i64,
    form: TemplateForm,
) -> Result<TemplateView> {
    Ok(state.device().await?.edit_template(id, &form).await?)
}

/// Deletes a template (this language) at Meta and here.
#[tauri::command]
#[specta::specta]
pub async fn delete_template(state: State<'_, AppState>, id: i64) -> Result<()> {
    state.device().await?.delete_template(id).await?;
    Ok(())
}

/// Who a broadcast would reach, who is excluded and why, CSV issues and a sample message.
/// Stores nothing.
#[tauri::command]
#[specta::specta]
pub async fn preview_broadcast(
    state: State<'_, AppState>,
    form: BroadcastForm,
) -> Result<BroadcastPreview> {
    if let Some(media) = &form.header_media {
        header_file_chosen(&state, media)?;
    }
    Ok(state.device().await?.preview_broadcast(&form).await?)
}

/// Creates a broadcast and queues every sendable recipient (the outbox sends them, paced).
#[tauri::command]
#[specta::specta]
pub async fn create_broadcast(
    state: State<'_, AppState>,
    form: BroadcastForm,
) -> Result<BroadcastSummary> {
    if let Some(media) = &form.header_media {
        header_file_chosen(&state, media)?;
    }
    Ok(state.device().await?.create_broadcast(form).await?)
}

/// The workspace's broadcasts with their progress, newest first.
#[tauri::command]
#[specta::specta]
pub async fn broadcasts(state: State<'_, AppState>) -> Result<Vec<BroadcastSummary>> {
    Ok(state.device().await?.broadcasts().await?)
}

/// One broadcast with its progress.
#[tauri::command]
#[specta::specta]
pub async fn broadcast(state: State<'_, AppState>, id: i64) -> Result<BroadcastSummary> {
    Ok(state.device().await?.broadcast(id).await?)
}

/// A page of a broadcast's recipients with their state (after recipient id `after`, 0 first).
#[tauri::command]
#[specta::specta]
pub async fn broadcast_recipients(
    state: State<'_, AppState>,
    id: i64,
    after: i64,
    limit: u32,
) -> Result<Vec<RecipientView>> {
    Ok(state
        .device()
        .await?
        .broadcast_recipients(id, after, limit)
        .await?)
}

/// Holds what a broadcast has not sent yet.
#[tauri::command]
#[specta::specta]
pub async fn pause_broadcast(state: State<'_, AppState>, id: i64) -> Result<BroadcastSummary> {
    Ok(state.device().await?.pause_broadcast(id).await?)
}

/// Releases a paused broadcast.
#[tauri::command]
#[specta::specta]
pub async fn resume_broadcast(state: State<'_, AppState>, id: i64) -> Result<BroadcastSummary> {
    Ok(state.device().await?.resume_broadcast(id).await?)
}

/// Cancels what a broadcast has not sent yet.
#[tauri::command]
#[specta::specta]
pub async fn cancel_broadcast(state: State<'_, AppState>, id: i64) -> Result<BroadcastSummary> {
    Ok(state.device().await?.cancel_broadcast(id).await?)
}

/// The number's business profile as Meta has it (the first number when `None`).
#[tauri::command]
#[specta::specta]
pub async fn business_profile(
    state: State<'_, AppState>,
    phone_number_id: Option<String>,
) -> Result<BusinessProfileView> {
    Ok(state
        .device()
        .await?
        .business_profile(phone_number_id.as_deref())
        .await?)
}

/// What Meta said about the account and its numbers (bans, reviews, alerts, limits, quality
/// and name decisions), newest first, at most `limit`.
#[tauri::command]
#[specta::specta]
pub async fn account_notices(
    state: State<'_, AppState>,
    limit: u32,
) -> Result<Vec<AccountNoticeView>> {
    Ok(state.device().await?.account_notices(limit).await?)
}

/// What is wrong with a profile change, one `field: problem` each (empty when valid): the
/// form's live check, with the same rules the update applies.
#[tauri::command]
#[specta::specta]
pub fn business_profile_problems(update: ProfileUpdate) -> Vec<String> {
    update.problems()
}

/// Changes the business profile at Meta; returns it as Meta now has it.
#[tauri::command]
#[specta::specta]
pub async fn update_business_profile(
    state: State<'_, AppState>,
    phone_number_id: Option<String>,
    update: ProfileUpdate,
) -> Result<BusinessProfileView> {
    Ok(state
        .device()
        .await?
        .update_business_profile(phone_number_id.as_deref(), update)
        .await?)
}

/// The conversation on screen (`None`: none), so its messages raise no notification while the
/// window has focus.
#[tauri::command]
#[specta::specta]
pub fn set_open_conversation(state: State<'_, AppState>, id: Option<i64>) {
    state
        .open_conversation
        .store(id.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

/// The workspace's members, devices and pending invitations.
#[tauri::command]
#[specta::specta]
pub async fn team(state: State<'_, AppState>) -> Result<TeamView> {
    Ok(state.device().await?.team().await?)
}

/// Invites someone (owner, admin); returns the `dataoptix://join` link to send them. Its
/// secret part unlocks the workspace key, so the link is shown once and never stored.
#[tauri::command]
#[specta::specta]
pub async fn invite_member(
    state: State<'_, AppState>,
    email: String,
    role: String,
) -> Result<String> {
    let role = dataoptix_core::device::parse_role(&role)?;
    Ok(state.device().await?.invite(&email, role).await?)
}

/// Gives a member another role (owner, admin).
#[tauri::command]
#[specta::specta]
pub async fn change_member_role(
    state: State<'_, AppState>,
    member_id: String,
    role: String,
) -> Result<()> {
    Ok(state.device().await?.change_role(&member_id, &role).await?)
}

/// Removes a member (owner, admin): their devices are signed out.
#[tauri::command]
#[specta::specta]
pub async fn remove_member(state: State<'_, AppState>, member_id: String) -> Result<()> {
    Ok(state.device().await?.remove_member(&member_id).await?)
}

/// Signs another device of the workspace out.
#[tauri::command]
#[specta::specta]
pub async fn revoke_device(state: State<'_, AppState>, session_id: String) -> Result<()> {
    Ok(state.device().await?.revoke_device(&session_id).await?)
}

/// Withdraws a pending invitation.
#[tauri::command]
#[specta::specta]
pub async fn revoke_invitation(state: State<'_, AppState>, invitation_id: String) -> Result<()> {
    Ok(state
        .device()
        .await?
        .revoke_invitation(&invitation_id)
        .await?)
}

/// One page of the workspace's contacts by name; `query` matches a name or a number.
#[tauri::command]
#[specta::specta]
pub async fn list_contacts(
    state: State<'_, AppState>,
    query: String,
    after: Option<ContactCursor>,
    limit: u32,
) -> Result<ContactPage> {
    Ok(state.device().await?.contacts(&query, after, limit).await?)
}

/// One contact: name, number, restricted, opted out, conversation, last seen, messages.
#[tauri::command]
#[specta::specta]
pub async fn contact_detail(state: State<'_, AppState>, id: i64) -> Result<ContactDetail> {
    Ok(state.device().await?.contact(id).await?)
}

/// Sets the business's name for a contact (`None` or blank: the profile name shows again).
#[tauri::command]
#[specta::specta]
pub async fn rename_contact(
    state: State<'_, AppState>,
    id: i64,
    display_name: Option<String>,
) -> Result<ContactDetail> {
    Ok(state
        .device()
        .await?
        .rename_contact(id, display_name.as_deref())
        .await?)
}

/// Restricts (no sends, no broadcasts) or unrestricts a contact.
#[tauri::command]
#[specta::specta]
pub async fn set_contact_restricted(
    state: State<'_, AppState>,
    id: i64,
    restricted: bool,
) -> Result<ContactDetail> {
    Ok(state
        .device()
        .await?
        .set_contact_restricted(id, restricted)
        .await?)
}

/// Exports everything about one contact as a zip into the export folder (no dialog).
#[tauri::command]
#[specta::specta]
pub async fn export_contact(
    app: AppHandle,
    state: State<'_, AppState>,
    id: i64,
) -> Result<ExportResult> {
    let dir = crate::exports::export_dir(&app)?;
    Ok(state.device().await?.export_contact(id, &dir).await?)
}

/// Exports every contact of the workspace as one zip into the export folder.
#[tauri::command]
#[specta::specta]
pub async fn export_everything(app: AppHandle, state: State<'_, AppState>) -> Result<ExportResult> {
    let dir = crate::exports::export_dir(&app)?;
    Ok(state.device().await?.export_everything(&dir).await?)
}

/// Shows an export in the system's file manager (only files in the export folder).
#[tauri::command]
#[specta::specta]
pub fn reveal_export(app: AppHandle, path: String) -> Result<()> {
    let file = crate::exports::exported_file(&app, &path)?;
    app.opener().reveal_item_in_dir(&file).map_err(|e| {
        IpcError::new(
            IpcErrorKind::Internal,
            format!("could not open the folder: {e}"),
        )
    })
}

/// Erases a contact and everything about them on this device.
#[tauri::command]
#[specta::specta]
pub async fn erase_contact(state: State<'_, AppState>, id: i64) -> Result<EraseResult> {
    Ok(state.device().await?.erase_contact(id).await?)
}

/// The retention policy.
#[tauri::command]
#[specta::specta]
pub async fn retention(state: State<'_, AppState>) -> Result<RetentionSettings> {
    Ok(state.device().await?.retention().await?)
}

/// Sets the retention policy (each limit at least one day, `None` keeps forever).
#[tauri::command]
#[specta::specta]
pub async fn set_retention(
    state: State<'_, AppState>,
    settings: RetentionSettings,
) -> Result<RetentionSettings> {
    Ok(state.device().await?.set_retention(settings).await?)
}

/// Applies the retention policy now.
#[tauri::command]
#[specta::specta]
pub async fn apply_retention(state: State<'_, AppState>) -> Result<RetentionResult> {
    Ok(state.device().await?.apply_retention().await?)
}

/// One page of the activity log, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_activity(
    state: State<'_, AppState>,
    before: Option<i64>,
    limit: u32,
) -> Result<ActivityPageView> {
    Ok(state.device().await?.activity(before, limit).await?)
}

/// Checks the activity log's hash chain.
#[tauri::command]
#[specta::specta]
pub async fn verify_activity(state: State<'_, AppState>) -> Result<ActivityIntegrity> {
    Ok(state.device().await?.verify_activity().await?)
}

/// Deletes the workspace at the relay (owner), then all of the app's data on this device;
/// `confirmation` is the company's name or the owner's email. Returns where the app stands
/// now: a first run (signed out, or the passphrase prompt).
#[tauri::command]
#[specta::specta]
pub async fn delete_account(
    app: AppHandle,
    state: State<'_, AppState>,
    confirmation: String,
) -> Result<SessionState> {
    let device = state.device().await?;
    device
        .delete_account(
            &confirmation,
            &dataoptix_core::vault::KeyringStore::default(),
        )
        .await?;
    start_over(&app, &state, device).await
}

/// Erases this device's copy of a workspace its owner deleted at the relay (the sync state is
/// `workspaceDeleted`; refused otherwise). Returns where the app stands now: a first run.
#[tauri::command]
#[specta::specta]
pub async fn erase_deleted_workspace(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<SessionState> {
    let device = state.device().await?;
    device
        .erase_deleted_workspace(&dataoptix_core::vault::KeyringStore::default())
        .await?;
    start_over(&app, &state, device).await
}

/// After this device's data was erased: a new device handle on the empty data directory.
async fn start_over(
    app: &AppHandle,
    state: &State<'_, AppState>,
    device: dataoptix_core::device::Device,
) -> Result<SessionState> {
    state.forget_device().await;
    drop(device);
    match state.open(None).await {
        Ok(device) => {
            crate::background::start(app, &device).await;
            session_of(state, &device).await
        }
        Err(dataoptix_core::device::DeviceError::NeedsPassphrase { first_run }) => {
            Ok(SessionState::NeedsPassphrase { first_run })
        }
        Err(e) => Err(e.into()),
    }
}

/// Saves a downloaded media file (a document, photo, video or voice note) where the person
/// chooses in the system's save dialog: the one place a decrypted copy leaves the app, and
/// only by an explicit choice. `file_name` is only a suggestion for the dialog (reduced to a
/// bare file name). Resolves to false when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_media(
    app: AppHandle,
    state: State<'_, AppState>,
    message_id: i64,
    file_name: String,
) -> Result<bool> {
    use tauri_plugin_dialog::DialogExt;
    let (_mime, bytes) = state.device().await?.media(message_id).await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(suggested_file_name(&file_name))
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(path) = rx.await.ok().flatten() else {
        return Ok(false);
    };
    let path = path.into_path().map_err(|e| {
        IpcError::new(
            IpcErrorKind::InvalidInput,
            format!("cannot save there: {e}"),
        )
    })?;
    tokio::fs::write(&path, &bytes).await.map_err(|e| {
        IpcError::new(
            IpcErrorKind::Internal,
            format!("could not write {}: {e}", path.display()),
        )
    })?;
    Ok(true)
}

/// A name for the save dialog from one a customer chose: its last path component only, no
/// control characters, never empty.
fn suggested_file_name(name: &str) -> String {
    let base = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    let base = base.trim().trim_start_matches('.').trim();
    if base.is_empty() {
        "attachment".to_owned()
    } else {
        base.chars().take(200).collect()
    }
}

#[cfg(test)]
mod save_tests {
    use super::suggested_file_name;

    #[test]
    fn suggested_names_are_bare_file_names() {
        assert_eq!(suggested_file_name("invoice 42.pdf"), "invoice 42.pdf");
        assert_eq!(suggested_file_name("../../etc/passwd"), "passwd");
        assert_eq!(suggested_file_name("C:\\Users\\x\\a.txt"), "a.txt");
        assert_eq!(suggested_file_name(".bashrc"), "bashrc");
        assert_eq!(suggested_file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(suggested_file_name("../"), "attachment");
        assert_eq!(suggested_file_name(""), "attachment");
    }
}

#[cfg(test)]
mod header_file_tests {
    use super::{header_file_chosen, AppState, HeaderMediaInput};

    #[test]
    fn a_template_header_file_must_have_been_picked_or_dropped() {
        let state = AppState::new(std::env::temp_dir(), std::time::Instant::now());
        let file = |path: &str| HeaderMediaInput::File {
            path: path.into(),
            filename: None,
        };
        // The webview cannot name a file of its own choosing (e.g. the user's SSH key).
        assert!(header_file_chosen(&state, &file("/root/.ssh/id_ed25519")).is_err());
        state.allow_files([std::path::PathBuf::from("/home/ana/cake.png")]);
        assert!(header_file_chosen(&state, &file("/home/ana/cake.png")).is_ok());
        // A link or a place names no file on this computer.
        let link = HeaderMediaInput::Link {
            url: "https://b.example/cake.png".into(),
            filename: None,
        };
        assert!(header_file_chosen(&state, &link).is_ok());
    }
}
