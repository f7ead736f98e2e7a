//! WhatsApp Business Accounts linked to a workspace: `POST /v1/wabas`, `GET /v1/wabas`.

use serde::{Deserialize, Serialize};

/// `POST /v1/wabas` (owner or admin): this workspace owns the WABA, route its webhooks here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimWabaRequest {
    pub waba_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimWabaResponse {
    pub waba_id: String,
    /// Webhook entries received before the claim and now appended to the workspace log.
    pub released_events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WabaList {
    pub waba_ids: Vec<String>,
}
