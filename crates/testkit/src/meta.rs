//! Webhook bodies as Meta sends them, for load generators and fault-injection tests that play
//! Meta's part (the relay's ingest benchmark, `tests/faults`).

use serde_json::{json, Value};

/// One customer's text message to the business, as a `messages` webhook with a single entry.
#[derive(Debug, Clone)]
pub struct CustomerText<'a> {
    pub waba_id: &'a str,
    pub phone_number_id: &'a str,
    pub display_phone_number: &'a str,
    /// The customer's wa_id.
    pub from: &'a str,
    pub profile_name: &'a str,
    pub wamid: &'a str,
    /// Unix seconds.
    pub timestamp: i64,
    pub text: &'a str,
}

impl CustomerText<'_> {
    /// The envelope as JSON.
    pub fn envelope(&self) -> Value {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": self.waba_id,
                "changes": [{
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": self.display_phone_number,
                            "phone_number_id": self.phone_number_id
                        },
                        "contacts": [{"profile": {"name": self.profile_name}, "wa_id": self.from}],
                        "messages": [{
                            "from": self.from,
                            "id": self.wamid,
                            // Meta sends the timestamp as a string of seconds.
                            "timestamp": self.timestamp.to_string(),
                            "type": "text",
                            "text": {"body": self.text}
                        }]
                    }
                }]
            }]
        })
    }

    /// The exact bytes of the POST body (what the signature covers).
    pub fn body(&self) -> Vec<u8> {
        // Serialising a `Value` cannot fail: every key is a string.
        serde_json::to_vec(&self.envelope()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_messages_entry_of_the_waba() {
        let body = CustomerText {
            waba_id: "900",
            phone_number_id: "106",
            display_phone_number: "15550783881",
            from: "16505551234",
            profile_name: "Sheena",
            wamid: "wamid.X1",
            timestamp: 1_749_416_383,
            text: "hola",
        }
        .body();
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(v["entry"][0]["id"], "900");
        let value = &v["entry"][0]["changes"][0]["value"];
        assert_eq!(value["messages"][0]["id"], "wamid.X1");
        assert_eq!(value["messages"][0]["timestamp"], "1749416383");
        assert_eq!(value["metadata"]["phone_number_id"], "106");
        assert_eq!(value["contacts"][0]["wa_id"], "16505551234");
    }
}
