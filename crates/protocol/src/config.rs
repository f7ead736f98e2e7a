//! `GET /v1/config`: what a signed-in device needs to know about the relay's deployment.

use serde::{Deserialize, Serialize};

/// The Graph API this relay talks to. Devices send messages to the same Graph API (with the
/// business token they hold), so that one setting — the relay's — points a whole workspace at
/// Meta, or at `dataoptix-sim` in the demo and the tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// e.g. `https://graph.facebook.com`.
    pub graph_base_url: String,
    /// e.g. `v23.0`.
    pub graph_version: String,
    /// The Meta app's id, which names the Resumable Upload endpoint (`/{app-id}/uploads`) that
    /// template header samples and the profile photo go through. Absent from relays older than
    /// this field and from relays not configured for Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}
