//! `/metrics` in Prometheus' text format. Counters only carry totals, never workspace ids,
//! WABA ids or anything from a payload, so the page may be scraped without a session (keep it
//! off the public internet at the reverse proxy anyway).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::AppState;

#[derive(Debug, Default)]
pub struct Metrics {
    pub webhooks_received: AtomicU64,
    pub webhooks_rejected: AtomicU64,
    pub webhooks_failed: AtomicU64,
    pub webhook_entries_stored: AtomicU64,
    pub webhook_entries_held: AtomicU64,
    pub webhook_entries_duplicate: AtomicU64,
    pub webhook_bodies_invalid: AtomicU64,
    pub device_events_appended: AtomicU64,
    /// Transactions the group-commit writer ran, and the write requests they carried: their
    /// ratio is the batching factor.
    pub group_commits: AtomicU64,
    pub group_commit_requests: AtomicU64,
    /// Time spent in those transactions (statements and fsync), in microseconds.
    pub group_commit_micros: AtomicU64,
    pub streams_connected: AtomicI64,
    /// Inbound media: files fetched and stored sealed, failed attempts, fetches given up.
    pub media_stored: AtomicU64,
    pub media_attempts_failed: AtomicU64,
    pub media_failed: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 14] = [
            (
                "dataoptix_relay_webhooks_received_total",
                "Webhook POSTs with a valid signature",
                &self.webhooks_received,
            ),
            (
                "dataoptix_relay_webhooks_rejected_total",
                "Webhook POSTs refused for a missing or wrong signature",
                &self.webhooks_rejected,
            ),
            (
                "dataoptix_relay_webhooks_failed_total",
                "Signed webhook POSTs answered 5xx, not stored (Meta retries them)",
                &self.webhooks_failed,
            ),
            (
                "dataoptix_relay_webhook_entries_stored_total",
                "Webhook entries appended to a workspace log",
                &self.webhook_entries_stored,
            ),
            (
                "dataoptix_relay_webhook_entries_held_total",
                "Webhook entries held for an unclaimed WABA",
                &self.webhook_entries_held,
            ),
            (
                "dataoptix_relay_webhook_entries_duplicate_total",
                "Webhook entries recognised as replays",
                &self.webhook_entries_duplicate,
            ),
            (
                "dataoptix_relay_webhook_bodies_invalid_total",
                "Signed webhook bodies kept for inspection",
                &self.webhook_bodies_invalid,
            ),
            (
                "dataoptix_relay_device_events_appended_total",
                "Events appended by devices",
                &self.device_events_appended,
            ),
            (
                "dataoptix_relay_group_commits_total",
                "Durable transactions run by the group-commit writer",
                &self.group_commits,
            ),
            (
                "dataoptix_relay_group_commit_requests_total",
                "Write requests carried by those transactions",
                &self.group_commit_requests,
            ),
            (
                "dataoptix_relay_group_commit_microseconds_total",
                "Time spent in those transactions, statements and fsync included",
                &self.group_commit_micros,
            ),
            (
                "dataoptix_relay_media_stored_total",
                "Inbound media files fetched and stored sealed",
                &self.media_stored,
            ),
            (
                "dataoptix_relay_media_attempts_failed_total",
                "Failed inbound media fetch attempts",
                &self.media_attempts_failed,
            ),
            (
                "dataoptix_relay_media_failed_total",
                "Inbound media fetches given up (media_status failed)",
                &self.media_failed,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "dataoptix_relay_streams_connected";
        let _ = writeln!(out, "# HELP {name} Open Server-Sent Events streams");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(
            out,
            "{name} {}",
            self.streams_connected.load(Ordering::Relaxed)
        );
        out
    }
}

/// Counts an open stream for as long as it lives.
pub struct StreamGuard(Arc<Metrics>);

impl StreamGuard {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        metrics.streams_connected.fetch_add(1, Ordering::Relaxed);
        Self(metrics)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams_connected.fetch_sub(1, Ordering::Relaxed);
    }
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
