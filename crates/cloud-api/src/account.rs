//! The business's WhatsApp assets: the WABA, its phone numbers, the business profile, the app's
//! webhook subscription (`subscribed_apps`) and number registration (CLOUD-API-NOTES.md §2.6–2.7).
//!
//! These are the calls of onboarding (subscribe, register) and of the settings screens (number
//! health, profile). Enumerated values (`quality_rating`, `status`, …) stay strings: Meta's own
//! examples already use values outside the spec's enums (`UNKNOWN`, `NOT_VERIFIED`), and an
//! unexpected value must never make the settings screen fail.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The constant `"messaging_product": "whatsapp"` several request bodies require.
pub use crate::messages::tags::WhatsApp;

/// A business phone number (`GET /{waba}/phone_numbers`, `GET /{phone-id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumber {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED`, `NA`, `UNKNOWN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_rating: Option<String>,
    /// `VERIFIED`, `UNVERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verification_status: Option<String>,
    /// Display-name review: `APPROVED`, `AVAILABLE_WITHOUT_REVIEW`, `DECLINED`, `PENDING_REVIEW`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_status: Option<String>,
    /// `PENDING`, `LINKED`, `UNLINKED`, `DELETED`, `MIGRATED`, `BANNED`, `RESTRICTED`, `CONNECTED`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Deprecated by Meta in favour of `whatsapp_business_manager_messaging_limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_business_manager_messaging_limit: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    /// `CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_platform: Option<String>,
    /// `LIVE` or `SANDBOX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_dial_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_official_business_account: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `throughput: {"level": "STANDARD"}` (80 msg/s) or `HIGH` (up to 1000).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The fields the settings screen shows for a number. Meta returns only `id`,
/// `display_phone_number`, `verified_name` and `quality_rating` when no fields are asked for.
pub const PHONE_NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,quality_rating,code_verification_status,name_status,status,messaging_limit_tier,throughput,platform_type,account_mode";

/// A WhatsApp Business Account (`GET /{waba}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessAccount {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_review_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_verification_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_business_location: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A number's public WhatsApp business profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// Up to 139 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_picture_url: Option<String>,
    /// At most two.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub websites: Vec<String>,
    /// `RETAIL`, `RESTAURANT`, `PROF_SERVICES`, … (see [`VERTICALS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The business categories Meta accepts for `vertical`.
pub const VERTICALS: &[&str] = &[
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "ALCOHOL",
    "ONLINE_GAMBLING",
    "PHYSICAL_GAMBLING",
    "OTC_DRUGS",
];

/// The fields asked for when reading the profile (Meta returns few without them).
pub const BUSINESS_PROFILE_FIELDS: &str =
    "about,address,description,email,profile_picture_url,websites,vertical";

/// `GET /{phone}/whatsapp_business_profile` → `{"data": [...]}`. The spec wraps each entry in
/// `business_profile`; the live API has been seen to return the fields directly. Both parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfileResponse {
    #[serde(default)]
    pub data: Vec<BusinessProfileEntry>,
}

/// One entry of [`BusinessProfileResponse::data`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BusinessProfileEntry {
    Wrapped { business_profile: BusinessProfile },
    Flat(BusinessProfile),
}

impl BusinessProfileResponse {
    /// The profile (an empty one when Meta returned none).
    pub fn into_profile(self) -> BusinessProfile {
        match self.data.into_iter().next() {
            Some(BusinessProfileEntry::Wrapped { business_profile }) => business_profile,
            Some(BusinessProfileEntry::Flat(profile)) => profile,
            None => BusinessProfile::default(),
        }
    }
}

/// The body of `POST /{phone}/whatsapp_business_profile`: only the fields that are set change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfileUpdate {
    pub messaging_product: WhatsApp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A handle from the Resumable Upload API for a new profile photo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_picture_handle: Option<String>,
    /// Replaces the list; at most two URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websites: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<String>,
}

/// The body of `POST /{phone}/register`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub messaging_product: WhatsApp,
    /// The number's 6-digit two-step verification PIN (set by this call if none exists).
    pub pin: String,
    /// Local storage region for message data at rest, e.g. `DE`, `IN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_localization_region: Option<String>,
}

impl fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("pin", &"<redacted>")
            .field("data_localization_region", &self.data_localization_region)
            .finish()
    }
}

impl RegisterRequest {
    pub fn new(pin: impl Into<String>) -> Self {
        Self {
            messaging_product: WhatsApp,
            pin: pin.into(),
            data_localization_region: None,
        }
    }

    /// True when the PIN is exactly six ASCII digits, as Meta requires.
    pub fn pin_is_valid(&self) -> bool {
        self.pin.len() == 6 && self.pin.bytes().all(|b| b.is_ascii_digit())
    }
}

/// The optional body of `POST /{waba}/subscribed_apps`: a WABA-level callback URL override.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookOverride {
    pub override_callback_uri: String,
    pub verify_token: String,
}

impl fmt::Debug for WebhookOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookOverride")
            .field("override_callback_uri", &self.override_callback_uri)
            .field("verify_token", &"<redacted>")
            .finish()
    }
}

/// `POST`/`DELETE /{waba}/subscribed_apps` → `{"success": true[, "data": [...]]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionResult {
    pub success: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<SubscribedApp>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /{waba}/subscribed_apps` → `{"data": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscribedAppsList {
    #[serde(default)]
    pub data: Vec<SubscribedApp>,
}

/// An app subscribed to a WABA's webhooks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscribedApp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_business_api_data: Option<SubscribedAppData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_callback_uri: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `whatsapp_business_api_data`: the app's id, name and link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscribedAppData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SubscribedApp {
    /// The subscribed app's id, if Meta said.
    pub fn app_id(&self) -> Option<&str> {
        self.whatsapp_business_api_data.as_ref()?.id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_response_parses_both_shapes() {
        let wrapped = r#"{"data": [{"business_profile": {"messaging_product": "whatsapp",
            "about": "Hi", "websites": ["https://a.example"], "vertical": "RESTAURANT"}}]}"#;
        let flat = r#"{"data": [{"messaging_product": "whatsapp", "about": "Hi",
            "websites": ["https://a.example"], "vertical": "RESTAURANT"}]}"#;
        for body in [wrapped, flat] {
            let p = serde_json::from_str::<BusinessProfileResponse>(body)
                .unwrap()
                .into_profile();
            assert_eq!(p.about.as_deref(), Some("Hi"));
            assert_eq!(p.vertical.as_deref(), Some("RESTAURANT"));
            assert!(p.extra.is_empty(), "{:?}", p.extra);
        }
    }

    #[test]
    fn messaging_product_is_checked() {
        assert!(serde_json::from_str::<RegisterRequest>(
            r#"{"messaging_product": "sms", "pin": "123456"}"#
        )
        .is_err());
        let r = RegisterRequest::new("123456");
        assert!(r.pin_is_valid());
        assert!(!format!("{r:?}").contains("123456"));
        assert!(!RegisterRequest::new("12345a").pin_is_valid());
    }
}
