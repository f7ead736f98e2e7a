//! The workspace event log: `GET /v1/events`, `GET /v1/events/stream`, `POST /v1/events`,
//! `POST /v1/events/ack`.
//!
//! Every event's content is a sealed envelope ([`crate::sealed`]); the relay stores and forwards
//! it but cannot read it. What the plaintext is depends on [`EventKind`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Most events one page carries.
pub const MAX_PAGE: u32 = 1000;

/// Where an event came from, and so what its sealed plaintext is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// One `entry` object of a Meta webhook notification, byte for byte as Meta sent it
    /// (`{"id": "<WABA id>", "changes": [...]}`).
    MetaWebhook,
    /// Something a device of the workspace appended (a message it sent, a label, a note...);
    /// its plaintext format belongs to the desktop app.
    Device,
    /// Written by the relay: the outcome of fetching an inbound media file, a
    /// [`crate::media::MediaStatus`] as JSON.
    MediaStatus,
    /// Like [`EventKind::Device`], appended with `manager: true` by an owner's or an admin's
    /// device: the relay refuses that to agents, so a device applies what only managers may do
    /// (a customer erased on every device) from these events only. The relay still cannot read
    /// them.
    DeviceManager,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MetaWebhook => "meta_webhook",
            EventKind::Device => "device",
            EventKind::MediaStatus => "media_status",
            EventKind::DeviceManager => "device_manager",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "meta_webhook" => Some(EventKind::MetaWebhook),
            "device" => Some(EventKind::Device),
            "media_status" => Some(EventKind::MediaStatus),
            "device_manager" => Some(EventKind::DeviceManager),
            _ => None,
        }
    }
}

/// One event of the workspace log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the workspace's log, rising by one per event (gaps only where events were
    /// pruned, which the page reports as `resync_required`).
    pub seq: i64,
    /// Stable across redelivery: use it to deduplicate.
    pub id: Uuid,
    pub kind: EventKind,
    /// Base64 sealed envelope.
    pub sealed: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// For device events: the session that appended it and its client event id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_session: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_event_id: Option<String>,
}

/// Query of `GET /v1/events`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventsQuery {
    /// Return events with `seq > after` (0 = from the start).
    #[serde(default)]
    pub after: i64,
    /// At most this many (default and maximum [`MAX_PAGE`]).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Long-poll: when nothing is there yet, wait up to this many seconds (max 60) for events.
    #[serde(default)]
    pub wait: Option<u64>,
}

/// Answer of `GET /v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `after` next time (equals the request's `after` when the page is empty).
    pub next_after: i64,
    /// The cursor is older than the oldest event the relay still keeps: events were pruned
    /// (retention) and this device must rebuild its state another way. Never a silent gap.
    pub resync_required: bool,
}

/// `POST /v1/events/ack`: everything up to and including `seq` is safely stored on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRequest {
    pub seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckResponse {
    /// The device's cursor after the ack (cursors never move backwards).
    pub acked: i64,
}

/// `POST /v1/events`: a device appends an event it sealed itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEventRequest {
    /// Chosen by the device (a UUID is fine, 1 to 128 characters); a retry with the same id
    /// returns the first event instead of appending a second one.
    pub client_event_id: String,
    /// Base64 sealed envelope, sealed to the workspace public key.
    pub sealed: String,
    /// Something only owners and admins may do: stored as [`EventKind::DeviceManager`], and
    /// refused (403) to an agent's session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manager: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEventResponse {
    pub seq: i64,
    pub id: Uuid,
    /// False when this was a retry of an already appended event.
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_page_json_shape() {
        let page = EventPage {
            events: vec![Event {
                seq: 7,
                id: Uuid::nil(),
                kind: EventKind::MetaWebhook,
                sealed: "AQID".into(),
                created_at: time::macros::datetime!(2026-01-02 03:04:05 UTC),
                origin_session: None,
                client_event_id: None,
            }],
            next_after: 7,
            resync_required: false,
        };
        let v = serde_json::to_value(&page).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "events": [{"seq": 7, "id": "00000000-0000-0000-0000-000000000000",
                    "kind": "meta_webhook", "sealed": "AQID",
                    "created_at": "2026-01-02T03:04:05Z"}],
                "next_after": 7, "resync_required": false
            })
        );
        let back: EventPage = serde_json::from_value(v).unwrap();
        assert_eq!(back, page);
    }
}
