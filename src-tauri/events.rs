//! Typed events from the Rust side to the UI (generated into `bindings.ts` with the commands).

use dataoptix_core::broadcast::BroadcastCounts;
use dataoptix_core::device::SyncState;
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri_specta::Event;

/// Messages, statuses or conversation fields changed: refetch these conversations (all
/// visible ones when the list is empty).
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct InboxChanged {
    pub conversation_ids: Vec<i64>,
}

/// The sync with the relay changed state (offline banner).
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
pub struct SyncStateChanged(pub SyncState);

/// `dataoptix://onboarding/complete?session=…` arrived for a session this app started.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingLink {
    pub session_id: String,
}

/// An invitation link arrived: the UI opens the join form with it.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct JoinLink {
    pub invite_link: String,
}

/// Templates changed (created, edited, deleted, synced, or a status/quality/category update
/// from Meta such as APPROVED after review): the studio and the picker refetch.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct TemplatesChanged {}

/// A deep link was refused (shown as a notice; the link itself is not echoed).
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct DeepLinkRejected {
    pub reason: String,
}

/// A privacy export is being written: `done` of `total` in `stage` (`data`: contacts,
/// `media`: files, `transcript`: contacts, then `done`).
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct ExportProgress {
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

/// A broadcast's per-state counts changed (sends, statuses), or it was paused, resumed or
/// cancelled: the list and the detail update their progress.
#[derive(Debug, Clone, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastProgress {
    pub broadcast_id: i64,
    pub counts: BroadcastCounts,
}
