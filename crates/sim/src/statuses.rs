//! The status webhooks that follow every accepted send: `sent` → `delivered` → `read`
//! (→ `played` for audio), with `conversation` and `pricing` objects as Meta sends them, or one
//! `failed` status with `errors`. Optionally duplicated and/or reordered (config `statuses`).

use std::time::Duration;

use serde_json::{json, Value};

use crate::error::GraphError;
use crate::state::AppState;
use crate::webhooks::{self, messages_value};

/// What the status task needs to know about a send.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub wamid: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub wa_id: String,
    /// `service`, `marketing`, `utility` or `authentication`.
    pub category: String,
    /// `regular`, `free_customer_service` or `free_entry_point`.
    pub pricing_type: String,
    pub biz_opaque_callback_data: Option<String>,
    pub voice: bool,
    pub persona: Option<String>,
    pub request: Value,
}

/// Whether status webhooks of this version carry the `conversation` object (dropped in v24.0).
pub fn conversation_included(version: &str) -> bool {
    version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .is_some_and(|major| major < 24)
}

/// Spawns the task that emits the statuses of one send.
pub fn schedule(state: AppState, out: Outbound, failure: Option<GraphError>) {
    tokio::spawn(async move {
        let cfg = state.cfg();
        let mut shutdown = state.shutdown.clone();
        macro_rules! pause {
            ($ms:expr) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis($ms)) => {}
                    _ = shutdown.changed() => return,
                }
            };
        }
        pause!(cfg.statuses.sent_delay_ms);
        if let Some(err) = failure {
            let status = status_object(&state, &out, "failed", Some(&err));
            emit(&state, &out, status, cfg.statuses.duplicate);
            return;
        }
        let sent = status_object(&state, &out, "sent", None);
        emit(&state, &out, sent, cfg.statuses.duplicate);
        pause!(cfg.statuses.delivered_delay_ms);
        let read_delay = if out.persona.is_some() {
            Some(cfg.statuses.read_delay_ms.unwrap_or(1_000))
        } else {
            cfg.statuses.read_delay_ms
        };
        if cfg.statuses.reorder {
            // read overtakes delivered
            let delivered = status_object(&state, &out, "delivered", None);
            if read_delay.is_some() {
                let read = status_object(&state, &out, "read", None);
                emit(&state, &out, read, cfg.statuses.duplicate);
            }
            emit(&state, &out, delivered, cfg.statuses.duplicate);
        } else {
            let delivered = status_object(&state, &out, "delivered", None);
            emit(&state, &out, delivered, cfg.statuses.duplicate);
            if let Some(ms) = read_delay {
                pause!(ms);
                let read = status_object(&state, &out, "read", None);
                emit(&state, &out, read, cfg.statuses.duplicate);
            }
        }
        if read_delay.is_some() && out.voice && is_voice(&out.request) {
            pause!(cfg.statuses.delivered_delay_ms);
            let played = status_object(&state, &out, "played", None);
            emit(&state, &out, played, cfg.statuses.duplicate);
        }
        if let Some(persona) = &out.persona {
            if cfg.personas.replies && read_delay.is_some() {
                pause!(cfg.personas.reply_delay_ms);
                crate::personas::on_business_message(&state, persona, &out);
            }
        }
    });
}

fn is_voice(request: &Value) -> bool {
    request
        .get("audio")
        .and_then(|a| a.get("voice"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// One `statuses[]` item, Meta-shaped.
fn status_object(
    state: &AppState,
    out: &Outbound,
    status: &str,
    err: Option<&GraphError>,
) -> Value {
    let now = state.clock.now_secs();
    let webhook_version = state.config.read().webhook_version.clone();
    let mut s = json!({
        "id": out.wamid,
        "status": status,
        "timestamp": now.to_string(),
        "recipient_id": out.wa_id,
    });
    if let Some(err) = err {
        s["errors"] = json!([err.webhook_error()]);
    }
    if matches!(status, "sent" | "delivered") {
        if conversation_included(&webhook_version) {
            let (id, exp) = state.world.lock().conversation(
                &out.phone_number_id,
                &out.wa_id,
                &out.category,
                now,
            );
            let mut conv = json!({"id": id, "origin": {"type": out.category}});
            if status == "sent" {
                conv["expiration_timestamp"] = json!(exp.to_string());
            }
            s["conversation"] = conv;
        }
        s["pricing"] = json!({
            "billable": out.pricing_type == "regular",
            "pricing_model": "PMP",
            "type": out.pricing_type,
            "category": out.category,
        });
    }
    if let Some(data) = &out.biz_opaque_callback_data {
        s["biz_opaque_callback_data"] = json!(data);
    }
    s
}

fn emit(state: &AppState, out: &Outbound, status: Value, duplicate: bool) {
    let name = status
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    {
        let mut world = state.world.lock();
        if let Some(m) = world.sent.iter_mut().rev().find(|m| m.id == out.wamid) {
            m.statuses.push(name);
        }
    }
    let value = messages_value(
        &out.display_phone_number,
        &out.phone_number_id,
        None,
        "statuses",
        json!([status]),
    );
    let times = if duplicate { 2 } else { 1 };
    for _ in 0..times {
        webhooks::emit(
            state,
            &out.waba_id,
            Some(&out.phone_number_id),
            "messages",
            value.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_by_version() {
        assert!(conversation_included("v23.0"));
        assert!(!conversation_included("v24.0"));
        assert!(!conversation_included("v25.0"));
    }
}
