//! Distinct customer messages as signed-webhook bodies, for load.

use std::ops::Range;

use testkit::meta::CustomerText;

/// The business number the messages are addressed to.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// Distinct customers the messages come from.
const CUSTOMERS: usize = 25;

/// Messages number `range` to the WABA's number, each with its own wamid
/// (`wamid.<tag><n>`): the wamids and the webhook bodies.
pub fn customer_messages(
    tag: &str,
    waba_id: &str,
    range: Range<usize>,
) -> (Vec<String>, Vec<Vec<u8>>) {
    let wamids: Vec<String> = range
        .clone()
        .map(|i| format!("wamid.{tag}{i:08}"))
        .collect();
    let bodies = range
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
            .body()
        })
        .collect();
    (wamids, bodies)
}
