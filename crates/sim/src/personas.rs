//! Simulated customers for the demo: four scripted personas of a bakery's clientele who write
//! to the business unprompted (when `personas.unprompted` is on) and answer what the business
//! sends them: they tap the first button of interactive messages and templates, pick the first
//! row of lists, and otherwise follow their script (texts, reactions, media, location...).

use std::time::Duration;

use serde_json::{json, Value};

use crate::inbound;
use crate::state::{AppState, User, World};
use crate::statuses::Outbound;

/// One scripted persona.
pub struct Persona {
    pub key: &'static str,
    pub wa_id: &'static str,
    pub name: &'static str,
    /// What the persona says first (inbound specs, see [`inbound::deliver`]).
    pub opener: fn() -> Vec<Value>,
    /// What it answers to the business's n-th message; past the end it stays quiet.
    pub replies: fn() -> Vec<Vec<Value>>,
}

fn text(body: &str) -> Value {
    json!({"type": "text", "text": {"body": body}})
}

fn react(emoji: &str) -> Value {
    json!({"type": "reaction", "reaction": {"emoji": emoji}})
}

pub const PERSONAS: [Persona; 4] = [
    Persona {
        key: "maria",
        wa_id: "15551230001",
        name: "Maria Lopez",
        opener: || {
            vec![text(
                "Hi! Is my order #1042 (the chocolate cake) ready for pickup tomorrow?",
            )]
        },
        replies: || {
            vec![
                vec![
                    text("Perfect, I'll come by around 10 🙂"),
                    json!({"type": "image", "image": {"caption": "Could the lettering look like this?"}}),
                ],
                vec![react("❤️"), text("thanks!")],
                vec![react("👍")],
            ]
        },
    },
    Persona {
        key: "tom",
        wa_id: "15551230002",
        name: "Tom Becker",
        opener: || vec![json!({"type": "voice"})],
        replies: || {
            vec![
                vec![text("Great! Where exactly are you? I'm new in town.")],
                vec![
                    text("Found it on the map, see you Sunday!"),
                    json!({"type": "sticker"}),
                ],
                vec![react("🙏")],
            ]
        },
    },
    Persona {
        key: "aisha",
        wa_id: "15551230003",
        name: "Aisha Khan",
        opener: || {
            vec![json!({"type": "document", "document": {
                "caption": "Hi, I think invoice 1042 charged me twice?",
            }})]
        },
        replies: || {
            vec![
                vec![
                    text("Thank you for checking! 🙏 Here is my accountant, in case you need her:"),
                    json!({"type": "contacts"}),
                ],
                vec![react("👍")],
            ]
        },
    },
    Persona {
        key: "kenji",
        wa_id: "15551230004",
        name: "Kenji Sato",
        opener: || vec![json!({"type": "order"})],
        replies: || {
            vec![
                vec![text("Pickup at 9 works. Do you take cards?")],
                vec![
                    text("I'm parked right outside"),
                    json!({"type": "location", "location": {
                        "latitude": 37.483912, "longitude": -122.149455, "name": "Parking lot"
                    }}),
                ],
                vec![react("👍")],
            ]
        },
    },
];

pub fn find(key: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.key == key || p.wa_id == key)
}

/// Registers the personas as known WhatsApp users.
pub fn seed_users(world: &mut World) {
    for p in &PERSONAS {
        let mut u = User::new(p.wa_id, p.name);
        u.persona = Some(p.key.into());
        world.users.insert(p.wa_id.into(), u);
    }
}

/// Sends a sequence of inbound messages from a persona, a short pause between them.
fn send_sequence(state: &AppState, persona: &'static Persona, phone_id: String, specs: Vec<Value>) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let gap = state.config.read().personas.reply_delay_ms.min(800);
        for (i, spec) in specs.into_iter().enumerate() {
            if i > 0 {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(gap)) => {}
                    _ = shutdown.changed() => return,
                }
            }
            if let Err(e) =
                inbound::deliver(&state, &phone_id, persona.wa_id, Some(persona.name), &spec)
            {
                tracing::debug!(persona = persona.key, error = %e, "persona message not sent");
            }
        }
    });
}

/// Starts a persona's conversation now: resets its script and sends its opener to `phone_id`.
pub fn start(state: &AppState, key: &str, phone_id: &str) -> Result<&'static str, String> {
    let persona = find(key).ok_or_else(|| format!("unknown persona {key}"))?;
    state
        .world
        .lock()
        .persona_steps
        .insert(persona.key.into(), 0);
    send_sequence(state, persona, phone_id.to_string(), (persona.opener)());
    Ok(persona.key)
}

/// The first quick-reply button of a template message, from the stored template.
fn template_quick_reply(state: &AppState, waba_id: &str, request: &Value) -> Option<String> {
    let name = request.get("template")?.get("name")?.as_str()?;
    let world = state.world.lock();
    let t = world
        .templates
        .values()
        .find(|t| t.waba_id == waba_id && t.name == name)?;
    t.components
        .as_array()?
        .iter()
        .filter_map(|c| c.get("buttons").and_then(Value::as_array))
        .flatten()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("QUICK_REPLY"))
        .and_then(|b| b.get("text"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Called once a persona has read a business message: answers it.
pub fn on_business_message(state: &AppState, key: &str, out: &Outbound) {
    let Some(persona) = find(key) else { return };
    let ty = out
        .request
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("text");
    if ty == "reaction" {
        return;
    }
    let interactive = out
        .request
        .get("interactive")
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str);
    let context = json!({"id": out.wamid});
    let specs = match (ty, interactive) {
        ("interactive", Some("button")) => {
            vec![json!({"type": "button_reply", "context": context})]
        }
        ("interactive", Some("list")) => vec![json!({"type": "list_reply", "context": context})],
        ("template", _) => match template_quick_reply(state, &out.waba_id, &out.request) {
            Some(label) => vec![json!({
                "type": "button",
                "button": {"payload": label, "text": label},
                "context": context,
            })],
            None => next_step(state, persona),
        },
        _ => next_step(state, persona),
    };
    if !specs.is_empty() {
        send_sequence(state, persona, out.phone_number_id.clone(), specs);
    }
}

fn next_step(state: &AppState, persona: &'static Persona) -> Vec<Value> {
    let step = {
        let mut world = state.world.lock();
        let step = world.persona_steps.entry(persona.key.into()).or_insert(0);
        let current = *step;
        *step += 1;
        current
    };
    (persona.replies)()
        .into_iter()
        .nth(step)
        .unwrap_or_default()
}

/// The unprompted loop: every `personas.interval_secs`, the next persona starts a conversation
/// with the pre-provisioned number.
pub fn spawn_unprompted(state: AppState) {
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        let first = state.config.read().personas.first_delay_secs;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(first)) => {}
            _ = shutdown.changed() => return,
        }
        let mut next = 0usize;
        loop {
            let (enabled, interval) = {
                let c = state.config.read();
                (c.personas.unprompted, c.personas.interval_secs.max(1))
            };
            if enabled {
                let phone = state.world.lock().default_phone.clone();
                let persona = &PERSONAS[next % PERSONAS.len()];
                next += 1;
                if let Err(e) = start(&state, persona.key, &phone) {
                    tracing::debug!(error = %e, "persona start failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(interval)) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
}
