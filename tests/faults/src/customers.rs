//! Distinct customer messages as signed-webhook bodies, for load.

use std::ops::Range;

use testkit::meta::CustomerText;

/// The business number the messages are addressed to.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// Distinct customers the messages come from.
const CUSTOMERS: usize = 25;

/// Messages number `range` to the WABA's number, each with its own wamid
/// (`wamid.<tag><n>`): the wamids and the webhook bodies, one message per webhook.
pub fn customer_messages(
    tag: &str,
    waba_id: &str,
    range: Range<usize>,
) -> (Vec<String>, Vec<Vec<u8>>) {
    customer_message_batches(tag, waba_id, range, 1)
}

/// Like [`customer_messages`], with up to `per_body` messages in each webhook, one `entry`
/// each, as Meta batches deliveries under load: the relay logs one event per entry.
pub fn customer_message_batches(
    tag: &str,
    waba_id: &str,
    range: Range<usize>,
    per_body: usize,
) -> (Vec<String>, Vec<Vec<u8>>) {
    let wamids: Vec<String> = range
        .clone()
        .map(|i| format!("wamid.{tag}{i:08}"))
        .collect();
    let envelopes: Vec<serde_json::Value> = range
        .zip(&wamids)
        .map(|(i, wamid)| {
            let from = format!("1555000{:04}", i % CUSTOMERS);
            CustomerText {
                waba_id,
                phone_number_id: PHONE_NUMBER_ID,
                display_phone_number: "15550783881",
                from: &from,
                profile_name: "Customer",
                wamid,
                timestamp: 1_764_000_000 + i as i64,
                text: &format!("order #{i}: two croissants, please"),
            }
            .envelope()
        })
        .collect();
    let bodies = envelopes
        .chunks(per_body.max(1))
        .map(|chunk| {
            let entries: Vec<serde_json::Value> = chunk
                .iter()
                .flat_map(|e| e["entry"].as_array().cloned().unwrap_or_default())
                .collect();
            let body = serde_json::json!({"object": "whatsapp_business_account", "entry": entries});
            // Serialising a `Value` cannot fail: every key is a string.
            serde_json::to_vec(&body).unwrap_or_default()
        })
        .collect();
    (wamids, bodies)
}
