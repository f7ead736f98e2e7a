//! Meta's webhook bodies: `WebhookPayload::from_slice` must accept every JSON object, refuse
//! everything else with an error, and be lossless (cloud-api's `webhook` module promises it:
//! the relay stores what Meta sent and the app re-reads it years later).
#![no_main]

use cloud_api::webhook::WebhookPayload;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let decoded = serde_json::from_slice::<Value>(body);
    match WebhookPayload::from_slice(body) {
        Ok(payload) => {
            let received = decoded.expect("a body that parses as a payload is JSON");
            let written = serde_json::to_value(&payload).expect("a payload always serializes");
            assert_eq!(
                written, received,
                "the payload does not re-serialize to what came in"
            );
            let reparsed =
                WebhookPayload::from_value(written).expect("a written payload re-parses");
            assert_eq!(
                reparsed, payload,
                "re-parsing the written payload gives another value"
            );
            // The helpers the relay and the app call on every delivery walk the same tree.
            let wabas = payload.waba_ids().len();
            assert!(wabas <= payload.entries().count());
            let _ = payload.messages().count() + payload.echoes().count();
            let _ = payload.statuses().count() + payload.media().len();
            let _ = payload.untyped_parts();
        }
        Err(_) => assert!(
            !matches!(decoded, Ok(Value::Object(_))),
            "a JSON object was refused"
        ),
    }
});
