//! WhatsApp Business Accounts linked to a workspace: `POST /v1/wabas`, `GET /v1/wabas`.

use serde::{Deserialize, Serialize};

/// `POST /v1/wabas` (owner or admin, manual setup): this workspace owns the WABA, route its
/// webhooks here. The relay believes it only when Meta does: `access_token` (a system-user token
/// the business already has) must be valid and grant the WABA (`debug_token`), and
/// `phone_number_id`, when given, must be one of the WABA's numbers. The relay keeps the token
/// encrypted, to fetch the WABA's inbound media.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimWabaRequest {
    pub waba_id: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
}

impl std::fmt::Debug for ClaimWabaRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimWabaRequest")
            .field("waba_id", &self.waba_id)
            .field("access_token", &"<redacted>")
            .field("phone_number_id", &self.phone_number_id)
            .finish()
    }
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
