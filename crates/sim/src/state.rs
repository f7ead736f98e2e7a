//! The simulated world: businesses, WABAs, numbers, tokens, templates, media, WhatsApp users,
//! sent and received messages, signup codes and the webhook delivery log.
//!
//! It lives behind one `parking_lot::Mutex` (it is a simulator); no guard is ever held across
//! an `.await`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::config::SimConfig;
use crate::ids;
use crate::webhooks::WebhookHub;

/// The simulator's clock: real time plus an offset that tests move forward
/// (`POST /_sim/clock/advance`) instead of sleeping through 30 s code lifetimes or 24 h windows.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        real.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms() / 1000
    }

    pub fn advance_ms(&self, ms: i64) {
        // Saturating: a huge advance from the control API must not wrap (or overflow `now_ms`).
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                Some(o.saturating_add(ms))
            });
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// Shared state of one running simulator.
pub struct SimState {
    pub config: RwLock<SimConfig>,
    pub clock: Clock,
    pub world: Mutex<World>,
    /// Where clients reach the simulator (`http://127.0.0.1:PORT` or `public_url`).
    pub base_url: String,
    pub http: reqwest::Client,
    pub webhooks: WebhookHub,
    /// Flips to `true` when the server shuts down; background tasks watch it.
    pub shutdown: watch::Receiver<bool>,
    /// The key that signs media download URLs.
    pub url_key: [u8; 32],
    seq: AtomicU64,
}

pub type AppState = Arc<SimState>;

impl SimState {
    pub fn new(config: SimConfig, base_url: String, shutdown: watch::Receiver<bool>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(
                config.webhooks.request_timeout_ms,
            ))
            .build()
            .unwrap_or_default();
        let world = World::new(&config);
        Self {
            config: RwLock::new(config),
            clock: Clock::default(),
            world: Mutex::new(world),
            base_url,
            http,
            webhooks: WebhookHub::default(),
            shutdown,
            url_key: rand::random(),
            seq: AtomicU64::new(1),
        }
    }

    pub fn cfg(&self) -> SimConfig {
        self.config.read().clone()
    }

    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Business {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Waba {
    pub id: String,
    pub name: String,
    pub business_id: String,
    pub currency: String,
    pub timezone_id: String,
    pub message_template_namespace: String,
    pub account_review_status: String,
    /// Our app is subscribed to the WABA's webhooks (`POST /{waba}/subscribed_apps`).
    pub subscribed: bool,
    pub override_callback_uri: Option<String>,
    #[serde(skip)]
    pub management_calls: VecDeque<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phone {
    pub id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub registered: bool,
    pub pin: Option<String>,
    pub quality_rating: String,
    pub name_status: String,
    pub throughput_level: String,
    pub messaging_limit_tier: String,
    pub override_callback_uri: Option<String>,
    pub profile: Value,
    /// Sends refused with 130429 (throughput) since start: what a pacing measurement reads.
    pub throughput_rejections: u64,
    #[serde(skip)]
    pub sends: VecDeque<i64>,
    #[serde(skip)]
    pub register_attempts: VecDeque<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub token: String,
    pub waba_ids: Vec<String>,
    pub kind: String,
    pub user_id: String,
    pub issued_at: i64,
    /// Unix seconds; 0 = never.
    pub expires_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Template {
    pub id: String,
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub previous_category: Option<String>,
    pub status: String,
    pub parameter_format: String,
    pub components: Value,
    pub rejected_reason: String,
    pub rejection_info: Option<Value>,
    pub quality_score: String,
    pub seq: u64,
    #[serde(skip)]
    pub review_generation: u64,
}

impl Template {
    /// The full Graph representation; callers pick `fields` from it.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
            "rejected_reason": self.rejected_reason,
            "quality_score": {"score": self.quality_score, "date": 0},
        });
        if let Some(p) = &self.previous_category {
            v["previous_category"] = json!(p);
        }
        v
    }
}

#[derive(Debug, Clone)]
pub struct Media {
    pub id: String,
    pub waba_id: String,
    pub mime_type: String,
    pub bytes: Bytes,
    pub sha256: String,
    pub filename: Option<String>,
    pub created_ms: i64,
    /// After this the id is gone (Meta: 30 days for uploads, 7 for media ids in webhooks).
    pub expires_ms: i64,
}

impl Media {
    /// Whether the id still names the file at `now_ms`.
    pub fn alive(&self, now_ms: i64) -> bool {
        now_ms < self.expires_ms
    }
}

/// A simulated WhatsApp user (a customer).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub wa_id: String,
    pub name: String,
    pub user_id: String,
    /// Not on WhatsApp / cannot receive: sends are accepted, then fail with 131026.
    pub undeliverable: bool,
    /// Adopted a username: webhooks carry only the business-scoped user id.
    pub hide_phone: bool,
    /// Sent STOP to marketing messages: marketing templates fail with 131050.
    pub marketing_stopped: bool,
    /// Last inbound message per business number (unix ms): opens the 24-hour window.
    pub last_inbound: HashMap<String, i64>,
    pub persona: Option<String>,
    #[serde(skip)]
    pub pair_tokens: HashMap<String, (f64, i64)>,
}

impl User {
    pub fn new(wa_id: &str, name: &str) -> Self {
        Self {
            wa_id: wa_id.into(),
            name: name.into(),
            user_id: ids::bsuid(wa_id),
            undeliverable: false,
            hide_phone: false,
            marketing_stopped: false,
            last_inbound: HashMap::new(),
            persona: None,
            pair_tokens: HashMap::new(),
        }
    }
}

/// A message the business sent through `POST /{phone}/messages`.
#[derive(Debug, Clone, Serialize)]
pub struct SentMessage {
    pub id: String,
    pub phone_number_id: String,
    pub to: String,
    pub wa_id: String,
    #[serde(rename = "type")]
    pub msg_type: String,
    pub timestamp: i64,
    /// When the simulator accepted it (its clock, ms): pacing is measured below the second.
    pub accepted_at_ms: i64,
    pub request: Value,
    /// Statuses emitted so far (`sent`, `delivered`, `read`, `failed`...).
    pub statuses: Vec<String>,
    pub error_code: Option<i64>,
}

/// A message a user sent to the business.
#[derive(Debug, Clone, Serialize)]
pub struct Inbound {
    pub id: String,
    pub phone_number_id: String,
    pub from: String,
    pub timestamp: i64,
    pub message: Value,
    pub read: bool,
}

#[derive(Debug, Clone)]
pub struct SignupCode {
    pub app_id: String,
    pub business_id: String,
    pub waba_id: String,
    pub phone_number_id: String,
    pub created_ms: i64,
    pub used: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// One webhook notification and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: u64,
    pub url: Option<String>,
    pub field: String,
    pub waba_id: String,
    /// `pending`, `delivered`, `dropped` (retries exhausted), `no_callback_url`, `not_subscribed`.
    pub state: String,
    pub body: Value,
    pub attempts: Vec<Attempt>,
    pub created: i64,
}

/// A Resumable Upload session (`upload:<id>`): what was announced and what has arrived.
#[derive(Debug, Clone)]
pub struct UploadSession {
    pub file_name: String,
    pub file_type: String,
    pub file_length: u64,
    pub received: Vec<u8>,
    /// The token that opened it: only that token may continue it.
    pub token: String,
}

/// A finished upload, by its handle (`header_handle`, `profile_picture_handle`).
#[derive(Debug, Clone)]
pub struct UploadedAsset {
    pub file_type: String,
    pub size: u64,
    pub sha256: String,
}

/// Everything the simulator knows.
#[derive(Default)]
pub struct World {
    pub businesses: BTreeMap<String, Business>,
    pub wabas: BTreeMap<String, Waba>,
    pub phones: BTreeMap<String, Phone>,
    pub tokens: HashMap<String, Token>,
    pub templates: BTreeMap<String, Template>,
    pub media: HashMap<String, Media>,
    /// Resumable Upload sessions by id (without `upload:`), and the handles they produced.
    pub uploads: HashMap<String, UploadSession>,
    pub assets: HashMap<String, UploadedAsset>,
    pub users: HashMap<String, User>,
    pub sent: Vec<SentMessage>,
    pub inbound: Vec<Inbound>,
    pub codes: HashMap<String, SignupCode>,
    pub deliveries: Vec<Delivery>,
    /// Mark-as-read / typing-indicator calls, in order.
    pub read_marks: Vec<Value>,
    /// Conversation ids per (phone, user, category) with their expiry (unix s).
    pub conversations: HashMap<(String, String, String), (String, i64)>,
    /// Where each persona is in its script.
    pub persona_steps: HashMap<String, usize>,
    /// The pre-provisioned ids and token.
    pub default_waba: String,
    pub default_phone: String,
    pub default_token: String,
    template_seq: u64,
}

impl World {
    fn new(config: &SimConfig) -> Self {
        let mut w = World::default();
        let p = &config.provision;
        w.businesses.insert(
            p.business_id.clone(),
            Business {
                id: p.business_id.clone(),
                name: p.business_name.clone(),
            },
        );
        w.insert_waba(&p.waba_id, &p.waba_name, &p.business_id, true);
        w.insert_phone(
            &p.phone_number_id,
            &p.waba_id,
            &p.display_phone_number,
            &p.verified_name,
            true,
        );
        let token = p.access_token.clone().unwrap_or_else(ids::access_token);
        w.tokens.insert(
            token.clone(),
            Token {
                token: token.clone(),
                waba_ids: vec![p.waba_id.clone()],
                kind: "SYSTEM_USER".into(),
                user_id: ids::graph_id(),
                issued_at: 0,
                expires_at: 0,
                revoked: false,
            },
        );
        w.default_waba = p.waba_id.clone();
        w.default_phone = p.phone_number_id.clone();
        w.default_token = token;
        w.seed_demo_templates(&p.waba_id.clone());
        crate::personas::seed_users(&mut w);
        w
    }

    pub fn insert_waba(&mut self, id: &str, name: &str, business_id: &str, subscribed: bool) {
        self.wabas.insert(
            id.into(),
            Waba {
                id: id.into(),
                name: name.into(),
                business_id: business_id.into(),
                currency: "USD".into(),
                timezone_id: "1".into(),
                message_template_namespace: ids::hex_id(16).replace('-', "_"),
                account_review_status: "APPROVED".into(),
                subscribed,
                override_callback_uri: None,
                management_calls: VecDeque::new(),
            },
        );
        self.add_hello_world(id);
    }

    pub fn insert_phone(
        &mut self,
        id: &str,
        waba_id: &str,
        display: &str,
        verified_name: &str,
        registered: bool,
    ) {
        self.phones.insert(
            id.into(),
            Phone {
                id: id.into(),
                waba_id: waba_id.into(),
                display_phone_number: display.into(),
                verified_name: verified_name.into(),
                registered,
                pin: None,
                quality_rating: "GREEN".into(),
                name_status: "APPROVED".into(),
                throughput_level: "STANDARD".into(),
                messaging_limit_tier: "TIER_250".into(),
                override_callback_uri: None,
                profile: json!({
                    "about": "Fresh bread and cakes every morning.",
                    "address": "12 Baker Street, Springfield",
                    "description": "Neighbourhood bakery: bread, pastries and celebration cakes to order.",
                    "email": "hello@sweetcrumbs.example",
                    "websites": ["https://sweetcrumbs.example/"],
                    "vertical": "RESTAURANT",
                    "profile_picture_url": "",
                }),
                throughput_rejections: 0,
                sends: VecDeque::new(),
                register_attempts: VecDeque::new(),
            },
        );
    }

    fn next_template_seq(&mut self) -> u64 {
        self.template_seq += 1;
        self.template_seq
    }

    /// Inserts a template and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn insert_template(
        &mut self,
        waba_id: &str,
        name: &str,
        language: &str,
        category: &str,
        status: &str,
        parameter_format: &str,
        components: Value,
    ) -> String {
        let id = ids::graph_id();
        let seq = self.next_template_seq();
        self.templates.insert(
            id.clone(),
            Template {
                id: id.clone(),
                waba_id: waba_id.into(),
                name: name.into(),
                language: language.into(),
                category: category.into(),
                previous_category: None,
                status: status.into(),
                parameter_format: parameter_format.into(),
                components,
                rejected_reason: "NONE".into(),
                rejection_info: None,
                quality_score: "UNKNOWN".into(),
                seq,
                review_generation: 0,
            },
        );
        id
    }

    /// Every new WABA gets Meta's sample template, approved.
    fn add_hello_world(&mut self, waba_id: &str) {
        self.insert_template(
            waba_id,
            "hello_world",
            "en_US",
            "MARKETING",
            "APPROVED",
            "POSITIONAL",
            json!([
                {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us."},
                {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}
            ]),
        );
    }

    /// A few approved templates for the demo number (README "Pre-provisioned account").
    fn seed_demo_templates(&mut self, waba_id: &str) {
        self.insert_template(
            waba_id,
            "order_ready",
            "en_US",
            "UTILITY",
            "APPROVED",
            "POSITIONAL",
            json!([
                {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready for pickup. See you soon!",
                 "example": {"body_text": [["Maria", "#1042"]]}},
                {"type": "FOOTER", "text": "Sweet Crumbs Bakery"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "QUICK_REPLY", "text": "On my way"},
                    {"type": "QUICK_REPLY", "text": "Reschedule"}
                ]}
            ]),
        );
        self.insert_template(
            waba_id,
            "weekend_offer",
            "en_US",
            "MARKETING",
            "APPROVED",
            "NAMED",
            json!([
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvcG5n:sim"]}},
                {"type": "BODY", "text": "Hi {{first_name}}! This weekend only: {{discount}} off all celebration cakes.",
                 "example": {"body_text_named_params": [
                    {"param_name": "first_name", "example": "Maria"},
                    {"param_name": "discount", "example": "15%"}
                 ]}},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "URL", "text": "Order now", "url": "https://sweetcrumbs.example/order/{{1}}", "example": ["spring"]},
                    {"type": "QUICK_REPLY", "text": "Stop promotions"}
                ]}
            ]),
        );
        self.insert_template(
            waba_id,
            "hello_world",
            "de",
            "MARKETING",
            "APPROVED",
            "POSITIONAL",
            json!([
                {"type": "BODY", "text": "Willkommen! Diese Nachricht wurde über die Cloud API gesendet."}
            ]),
        );
    }

    /// Creates a new business portfolio, WABA and (unregistered) number, as Embedded Signup or
    /// the control API does. Returns `(business_id, waba_id, phone_number_id)`.
    pub fn provision(
        &mut self,
        business_name: &str,
        display: &str,
        registered: bool,
        subscribed: bool,
    ) -> (String, String, String) {
        let business_id = ids::graph_id();
        let waba_id = ids::graph_id();
        let phone_id = ids::graph_id();
        self.businesses.insert(
            business_id.clone(),
            Business {
                id: business_id.clone(),
                name: business_name.into(),
            },
        );
        self.insert_waba(&waba_id, business_name, &business_id, subscribed);
        self.insert_phone(&phone_id, &waba_id, display, business_name, registered);
        (business_id, waba_id, phone_id)
    }

    pub fn mint_token(&mut self, waba_ids: Vec<String>, kind: &str, now: i64) -> String {
        let token = ids::access_token();
        self.tokens.insert(
            token.clone(),
            Token {
                token: token.clone(),
                waba_ids,
                kind: kind.into(),
                user_id: ids::graph_id(),
                issued_at: now,
                expires_at: 0,
                revoked: false,
            },
        );
        token
    }

    /// The user with this number, created on first contact.
    pub fn user_mut(&mut self, wa_id: &str) -> &mut User {
        self.users
            .entry(wa_id.to_string())
            .or_insert_with(|| User::new(wa_id, "WhatsApp User"))
    }

    /// A conversation id for (phone, user, category), opened for 24 h on first use.
    /// Returns `(id, expiration, newly_opened)`.
    pub fn conversation(
        &mut self,
        phone: &str,
        wa_id: &str,
        category: &str,
        now: i64,
    ) -> (String, i64) {
        let key = (phone.to_string(), wa_id.to_string(), category.to_string());
        match self.conversations.get(&key) {
            Some((id, exp)) if *exp > now => (id.clone(), *exp),
            _ => {
                let id = ids::hex_id(16);
                let exp = now + 24 * 3600;
                self.conversations.insert(key, (id.clone(), exp));
                (id, exp)
            }
        }
    }
}

/// Normalises a `to` value the way Meta does for our purposes: digits only.
pub fn normalize_wa_id(to: &str) -> String {
    to.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_saturates_instead_of_overflowing() {
        let clock = Clock::default();
        clock.advance_ms(i64::MAX);
        clock.advance_ms(i64::MAX);
        assert_eq!(clock.now_ms(), i64::MAX);
        assert_eq!(clock.offset_ms(), i64::MAX);
        clock.advance_ms(i64::MIN);
        assert_eq!(clock.offset_ms(), -1);
    }
}
