//! Simulator configuration: every delay, limit and switch, loadable from TOML or JSON.
//!
//! [`SimConfig::default`] is tuned for the demo (human-scale delays, realistic limits);
//! [`SimConfig::for_tests`] is tuned for tests (millisecond delays, fast retries, no
//! unprompted personas). Every field has a default, so a config file only names what it changes.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The whole configuration. Durations are in milliseconds unless the name says otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// The Meta app id the simulator pretends to be (FB.init `appId`, OAuth `client_id`).
    pub app_id: String,
    /// The app secret: signs webhooks and authenticates the OAuth code exchange.
    pub app_secret: String,
    /// A display name for the app (`debug_token.application`, `subscribed_apps`).
    pub app_name: String,
    /// The app's callback URL (App Dashboard > WhatsApp > Configuration). `None`: webhooks are
    /// logged as undeliverable until a WABA or number sets an override.
    pub webhook_url: Option<String>,
    /// The URL clients reach the simulator at (used in media URLs and paging links).
    /// `None`: `http://<actual listen address>`.
    pub public_url: Option<String>,
    /// The version the webhooks are "subscribed" with. Before v24.0, status webhooks carry the
    /// `conversation` object; from v24.0 on it is omitted (CLOUD-API-NOTES §1.2).
    pub webhook_version: String,
    /// When true (Meta's behaviour), a WABA only gets webhooks after
    /// `POST /{waba}/subscribed_apps`. The pre-provisioned WABA is subscribed at start.
    pub require_subscription: bool,
    /// Include business-scoped user ids (`contacts[].user_id`, `messages[].from_user_id`) in
    /// inbound webhooks, as Meta does since 2026.
    pub bsuid: bool,
    /// How long a send takes to be accepted and answered, drawn uniformly from `[min, max]`
    /// per request (Meta's Cloud API answers in roughly 100–500 ms). Concurrent sends then
    /// reach "Meta" in a different order than they left, as on the real network. `[0, 0]`:
    /// at once.
    pub send_latency_ms: [u64; 2],
    /// The pre-provisioned business, WABA and number (like a Meta test number).
    pub provision: ProvisionConfig,
    pub statuses: StatusConfig,
    pub limits: LimitsConfig,
    pub webhooks: WebhookConfig,
    pub templates: TemplateReviewConfig,
    pub media: MediaConfig,
    pub signup: SignupConfig,
    pub personas: PersonaConfig,
}

/// The business, WABA and number that exist at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvisionConfig {
    pub business_id: String,
    pub business_name: String,
    pub waba_id: String,
    pub waba_name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// The access token printed at start. `None`: a fresh random one.
    pub access_token: Option<String>,
}

/// Delays of the status webhooks that follow every accepted send.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    /// From the API response to the `sent` webhook.
    pub sent_delay_ms: u64,
    /// From `sent` to `delivered`.
    pub delivered_delay_ms: u64,
    /// From `delivered` to `read` (`None` disables read receipts for non-persona users).
    pub read_delay_ms: Option<u64>,
    /// Send every status webhook twice (exercises idempotency).
    pub duplicate: bool,
    /// Send `read` before `delivered` (exercises monotonic status handling).
    pub reorder: bool,
    /// Where a free-form send outside the 24-hour window fails: `"webhook"` (Meta's
    /// behaviour: the API accepts it, then a `failed` status carries 131047), `"sync"` (the API
    /// answers 131047 at once) or `"off"` (no window check).
    pub window_enforcement: WindowEnforcement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowEnforcement {
    Webhook,
    Sync,
    Off,
}

/// Meta's rate limits (CLOUD-API-NOTES §8).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Messages per second per business number (130429).
    pub throughput_mps: u32,
    /// Pair rate: one message to the same user every `pair_interval_ms` (131056)...
    pub pair_interval_ms: u64,
    /// ...with bursts of up to this many messages borrowed from the future.
    pub pair_burst: u32,
    /// Management calls per hour per WABA without a registered number (80007).
    pub management_calls_per_hour: u32,
    /// Management calls per hour per WABA with at least one registered number.
    pub management_calls_per_hour_active: u32,
    /// Register requests per number per 72 hours (133016).
    pub register_per_72h: u32,
}

/// Delivery of webhooks: retries with exponential backoff, in order per callback URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Attempts before a notification is dropped (Meta retries for 7 days).
    pub max_attempts: u32,
    pub request_timeout_ms: u64,
    /// Deliver every notification twice (Meta's at-least-once delivery).
    pub duplicate: bool,
    /// Deliver notifications out of order: up to this many queued ones (waiting up to
    /// `shuffle_wait_ms` for the window to fill) go out in a random order. 0 or 1: in order.
    pub shuffle_window: usize,
    pub shuffle_wait_ms: u64,
}

/// Template review (see README "Template review rules").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplateReviewConfig {
    /// Review automatically after `review_delay_ms`; when false, templates stay PENDING until
    /// the control API decides.
    pub auto_review: bool,
    pub review_delay_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Lifetime of a download URL returned by `GET /{media-id}` (Meta: 5 minutes).
    pub url_ttl_secs: u64,
}

/// The Embedded Signup stand-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignupConfig {
    /// Where the FB JS SDK stand-in is served.
    pub sdk_path: String,
    /// Lifetime of an exchangeable code (Meta: 30 seconds).
    pub code_ttl_secs: u64,
    /// What `FB.login` does when the page does not choose: `dialog` (a simulated Meta dialog
    /// with Finish / Cancel / Error buttons), `finish`, `cancel` or `error`.
    pub default_mode: String,
    /// The origin the synthetic `message` event claims (pages check `endsWith('facebook.com')`).
    pub event_origin: String,
}

/// Simulated customers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonaConfig {
    /// Personas answer the business's messages (only messages sent to a persona's number).
    pub replies: bool,
    /// Personas write to the business unprompted every `interval_secs`.
    pub unprompted: bool,
    pub interval_secs: u64,
    /// Delay before the first unprompted message.
    pub first_delay_secs: u64,
    /// Delay between reading a business message and answering it.
    pub reply_delay_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_id: "730912845561834".into(),
            app_secret: String::new(),
            app_name: "DataOptix".into(),
            webhook_url: None,
            public_url: None,
            webhook_version: "v23.0".into(),
            require_subscription: true,
            bsuid: true,
            send_latency_ms: [0, 0],
            provision: ProvisionConfig::default(),
            statuses: StatusConfig::default(),
            limits: LimitsConfig::default(),
            webhooks: WebhookConfig::default(),
            templates: TemplateReviewConfig::default(),
            media: MediaConfig::default(),
            signup: SignupConfig::default(),
            personas: PersonaConfig::default(),
        }
    }
}

impl Default for ProvisionConfig {
    fn default() -> Self {
        Self {
            business_id: "102290129340101".into(),
            business_name: "Sweet Crumbs Bakery".into(),
            waba_id: "102290129340398".into(),
            waba_name: "Sweet Crumbs Bakery".into(),
            phone_number_id: "106540352242922".into(),
            display_phone_number: "15550783881".into(),
            verified_name: "Sweet Crumbs Bakery".into(),
            access_token: None,
        }
    }
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            sent_delay_ms: 300,
            delivered_delay_ms: 700,
            read_delay_ms: Some(2_500),
            duplicate: false,
            reorder: false,
            window_enforcement: WindowEnforcement::Webhook,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            throughput_mps: 80,
            pair_interval_ms: 6_000,
            pair_burst: 45,
            management_calls_per_hour: 200,
            management_calls_per_hour_active: 5_000,
            register_per_72h: 10,
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
            max_attempts: 50,
            request_timeout_ms: 10_000,
            duplicate: false,
            shuffle_window: 0,
            shuffle_wait_ms: 50,
        }
    }
}

impl Default for TemplateReviewConfig {
    fn default() -> Self {
        Self {
            auto_review: true,
            review_delay_ms: 5_000,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self { url_ttl_secs: 300 }
    }
}

impl Default for SignupConfig {
    fn default() -> Self {
        Self {
            sdk_path: "/sdk.js".into(),
            code_ttl_secs: 30,
            default_mode: "dialog".into(),
            event_origin: "https://www.facebook.com".into(),
        }
    }
}

impl Default for PersonaConfig {
    fn default() -> Self {
        Self {
            replies: true,
            unprompted: false,
            interval_secs: 45,
            first_delay_secs: 8,
            reply_delay_ms: 2_000,
        }
    }
}

/// Errors loading a config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid TOML in {path}: {source}")]
    Toml {
        path: String,
        source: toml::de::Error,
    },
    #[error("invalid JSON in {path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
}

impl SimConfig {
    /// Fast settings for tests: millisecond delays and retries, no unprompted personas,
    /// templates reviewed after 50 ms.
    pub fn for_tests(app_secret: &str) -> Self {
        Self {
            app_secret: app_secret.into(),
            provision: ProvisionConfig {
                access_token: None,
                ..ProvisionConfig::default()
            },
            statuses: StatusConfig {
                sent_delay_ms: 5,
                delivered_delay_ms: 10,
                read_delay_ms: Some(10),
                ..StatusConfig::default()
            },
            webhooks: WebhookConfig {
                initial_backoff_ms: 10,
                max_backoff_ms: 100,
                max_attempts: 10,
                request_timeout_ms: 5_000,
                ..WebhookConfig::default()
            },
            templates: TemplateReviewConfig {
                auto_review: true,
                review_delay_ms: 50,
            },
            personas: PersonaConfig {
                replies: true,
                unprompted: false,
                interval_secs: 3_600,
                first_delay_secs: 3_600,
                reply_delay_ms: 20,
            },
            ..Self::default()
        }
    }

    /// Reads a TOML (`.toml`) or JSON (anything else) file; missing keys keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            toml::from_str(&text).map_err(|source| ConfigError::Toml {
                path: shown,
                source,
            })
        } else {
            serde_json::from_str(&text).map_err(|source| ConfigError::Json {
                path: shown,
                source,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_toml_keeps_defaults() {
        let cfg: SimConfig = toml::from_str(
            "app_id = \"1\"\n[limits]\nthroughput_mps = 5\n[statuses]\nwindow_enforcement = \"sync\"\n",
        )
        .unwrap();
        assert_eq!(cfg.app_id, "1");
        assert_eq!(cfg.limits.throughput_mps, 5);
        assert_eq!(cfg.limits.pair_burst, 45);
        assert_eq!(cfg.statuses.window_enforcement, WindowEnforcement::Sync);
    }

    #[test]
    fn partial_json_keeps_defaults() {
        let cfg: SimConfig = serde_json::from_str(r#"{"personas": {"unprompted": true}}"#).unwrap();
        assert!(cfg.personas.unprompted);
        assert_eq!(cfg.media.url_ttl_secs, 300);
    }

    #[test]
    fn example_file_is_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sim.example.toml");
        let cfg = SimConfig::from_file(&path).unwrap();
        let defaults = SimConfig::default();
        assert_eq!(
            serde_json::to_value(&cfg).unwrap(),
            serde_json::to_value(&defaults).unwrap()
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<SimConfig>("nope = 1").is_err());
    }
}
