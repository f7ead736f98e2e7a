//! Webhook delivery: Meta's envelope, `X-Hub-Signature-256` with the app secret, one ordered
//! queue per callback URL, retries with exponential backoff, and a delivery log.
//!
//! Callback URL precedence is Meta's: the number's override, then the WABA's override
//! (`subscribed_apps` with `override_callback_uri`), then the app's callback URL.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::state::{AppState, Attempt, Delivery};

/// The per-URL delivery queues.
#[derive(Default)]
pub struct WebhookHub {
    queues: Mutex<HashMap<String, mpsc::UnboundedSender<u64>>>,
}

/// Wraps a change value in Meta's envelope. `time` is present on every field but `messages`.
pub fn envelope(waba_id: &str, field: &str, value: Value, now_secs: i64) -> Value {
    let mut entry = json!({
        "id": waba_id,
        "changes": [{"value": value, "field": field}],
    });
    if field != "messages" {
        entry["time"] = json!(now_secs);
    }
    json!({"object": "whatsapp_business_account", "entry": [entry]})
}

/// Queues one notification for `waba_id` (and `phone_id`, for the number's override URL).
/// Returns the delivery id (see `GET /_sim/webhooks`).
pub fn emit(
    state: &AppState,
    waba_id: &str,
    phone_id: Option<&str>,
    field: &str,
    value: Value,
) -> u64 {
    let cfg = state.config.read().clone();
    let now = state.clock.now_secs();
    let body = envelope(waba_id, field, value, now);
    let (url, subscribed) = {
        let world = state.world.lock();
        let phone_override = phone_id
            .and_then(|p| world.phones.get(p))
            .and_then(|p| p.override_callback_uri.clone());
        let waba = world.wabas.get(waba_id);
        let waba_override = waba.and_then(|w| w.override_callback_uri.clone());
        let subscribed = waba.is_some_and(|w| w.subscribed);
        (
            phone_override.or(waba_override).or(cfg.webhook_url.clone()),
            subscribed,
        )
    };
    // account_update about a partner install goes to the partner app whether or not the
    // customer's WABA is subscribed yet.
    let must_subscribe = cfg.require_subscription && field != "account_update";
    let initial_state = if must_subscribe && !subscribed {
        "not_subscribed"
    } else if url.is_none() {
        "no_callback_url"
    } else {
        "pending"
    };
    let id = {
        let mut world = state.world.lock();
        let id = world.deliveries.len() as u64 + 1;
        world.deliveries.push(Delivery {
            id,
            url: url.clone(),
            field: field.into(),
            waba_id: waba_id.into(),
            state: initial_state.into(),
            body,
            attempts: Vec::new(),
            created: state.clock.now_ms(),
        });
        id
    };
    tracing::debug!(id, field, waba_id, state = initial_state, "webhook queued");
    if initial_state == "pending" {
        if let Some(url) = url {
            enqueue(state, &url, id);
        }
    }
    id
}

fn enqueue(state: &AppState, url: &str, id: u64) {
    let mut queues = state.webhooks.queues.lock();
    if let Some(tx) = queues.get(url) {
        if tx.send(id).is_ok() {
            return;
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    // A fresh channel: the send cannot fail while we hold the receiver.
    let _ = tx.send(id);
    queues.insert(url.to_string(), tx);
    tokio::spawn(worker(state.clone(), url.to_string(), rx));
}

/// Delivers the queue's notifications one at a time, in order: a notification that keeps
/// failing holds back the ones behind it until it is delivered or dropped. With
/// `webhooks.duplicate` each goes out twice; with `webhooks.shuffle_window` the queued ones go
/// out in a random order, window by window (Meta guarantees neither once nor order).
async fn worker(state: AppState, url: String, mut rx: mpsc::UnboundedReceiver<u64>) {
    let mut shutdown = state.shutdown.clone();
    loop {
        let first = tokio::select! {
            next = rx.recv() => match next { Some(id) => id, None => return },
            _ = shutdown.changed() => return,
        };
        let cfg = state.config.read().webhooks.clone();
        let mut window = vec![first];
        if cfg.shuffle_window > 1 {
            let until = tokio::time::Instant::now() + Duration::from_millis(cfg.shuffle_wait_ms);
            while window.len() < cfg.shuffle_window {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(id)) => window.push(id),
                    // Closed or waited long enough: deliver what we have.
                    Ok(None) | Err(_) => break,
                }
            }
        }
        for id in delivery_order(&window, cfg.duplicate, cfg.shuffle_window > 1) {
            if !deliver(&state, &url, id, &mut shutdown).await {
                return;
            }
        }
    }
}

/// The deliveries of one window: each id once or twice, in order or shuffled.
fn delivery_order(window: &[u64], duplicate: bool, shuffle: bool) -> Vec<u64> {
    use rand::seq::SliceRandom;
    let mut order: Vec<u64> = if duplicate {
        window.iter().flat_map(|&id| [id, id]).collect()
    } else {
        window.to_vec()
    };
    if shuffle {
        order.shuffle(&mut rand::thread_rng());
    }
    order
}

/// Returns false when the simulator is shutting down.
async fn deliver(
    state: &AppState,
    url: &str,
    id: u64,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    let Some(raw) = ({
        let world = state.world.lock();
        world
            .deliveries
            .get(id as usize - 1)
            .and_then(|d| serde_json::to_vec(&d.body).ok())
    }) else {
        return true;
    };
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let cfg = state.config.read().clone();
        let signature = cloud_api::signature::sign(cfg.app_secret.as_bytes(), &raw);
        let result = state
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "facebookexternalua")
            .header("x-hub-signature-256", signature)
            .body(raw.clone())
            .send()
            .await;
        let (status, error) = match &result {
            Ok(resp) => (Some(resp.status().as_u16()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let now = state.clock.now_ms();
        let done = ok || attempt >= cfg.webhooks.max_attempts.max(1);
        {
            let mut world = state.world.lock();
            if let Some(d) = world.deliveries.get_mut(id as usize - 1) {
                d.attempts.push(Attempt {
                    at: now,
                    status,
                    error,
                });
                if ok {
                    d.state = "delivered".into();
                } else if done {
                    d.state = "dropped".into();
                }
            }
        }
        if done {
            if !ok {
                tracing::warn!(id, url, attempt, "webhook dropped after retries");
            }
            return true;
        }
        let factor = 2u64.saturating_pow(attempt.saturating_sub(1).min(30));
        let backoff = cfg
            .webhooks
            .initial_backoff_ms
            .saturating_mul(factor)
            .min(cfg.webhooks.max_backoff_ms);
        tracing::debug!(id, url, attempt, backoff, "webhook failed; retrying");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(backoff)) => {}
            _ = shutdown.changed() => return false,
        }
    }
}

/// The `value` of a `messages` change: metadata plus `messages`/`statuses`/`errors`.
pub fn messages_value(
    display_phone_number: &str,
    phone_number_id: &str,
    contacts: Option<Value>,
    key: &str,
    items: Value,
) -> Value {
    let mut v = json!({
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": display_phone_number,
            "phone_number_id": phone_number_id,
        },
    });
    if let Some(c) = contacts {
        v["contacts"] = c;
    }
    v[key] = items;
    v
}

#[cfg(test)]
mod tests {
    use super::delivery_order;

    #[test]
    fn a_window_is_delivered_once_or_twice_in_order_or_not() {
        assert_eq!(delivery_order(&[1, 2, 3], false, false), [1, 2, 3]);
        assert_eq!(delivery_order(&[1, 2, 3], true, false), [1, 1, 2, 2, 3, 3]);
        let mut shuffled = delivery_order(&(1..=50).collect::<Vec<_>>(), true, true);
        assert_ne!(shuffled[..50], (1..=50).collect::<Vec<_>>()[..]);
        shuffled.sort_unstable();
        let twice: Vec<u64> = (1..=50).flat_map(|id| [id, id]).collect();
        assert_eq!(shuffled, twice);
    }
}
