//! Fixed strings on the wire.
//!
//! Several members of Meta's bodies can only ever hold one value (`messaging_product` is always
//! `"whatsapp"`, a reply button's `type` is always `"reply"`, a CTA action's `name` is always
//! `"cta_url"`, …). Modelling each as a zero-sized type means the value cannot be misspelled when
//! building, is always written when serializing, and is checked when deserializing (the simulator
//! rejects a body Meta would reject) — without a `String` field nobody should ever set.

/// Declares a zero-sized type that serializes to one fixed string and only deserializes from it.
macro_rules! fixed_str {
    ($(#[$meta:meta])* $name:ident = $value:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name;

        impl $name {
            /// The only value this member can take on the wire.
            pub const VALUE: &'static str = $value;
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($value)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let found = String::deserialize(deserializer)?;
                if found == $value {
                    Ok($name)
                } else {
                    Err(serde::de::Error::invalid_value(
                        serde::de::Unexpected::Str(&found),
                        &concat!("\"", $value, "\""),
                    ))
                }
            }
        }
    };
}

fixed_str!(
    /// `messaging_product: "whatsapp"`, required on every Cloud API body.
    WhatsApp = "whatsapp"
);
fixed_str!(
    /// `status: "read"` of a mark-as-read request.
    Read = "read"
);
fixed_str!(
    /// `type: "reply"` of an interactive reply button.
    Reply = "reply"
);
fixed_str!(
    /// `action.name` of an interactive `cta_url` message.
    CtaUrl = "cta_url"
);
fixed_str!(
    /// `action.name` of an interactive `flow` message.
    Flow = "flow"
);
fixed_str!(
    /// `action.name` of an interactive `catalog_message`.
    CatalogMessage = "catalog_message"
);
fixed_str!(
    /// `action.name` of an interactive `order_details` message.
    ReviewAndPay = "review_and_pay"
);
fixed_str!(
    /// `action.name` of an interactive `order_status` message.
    ReviewOrder = "review_order"
);
fixed_str!(
    /// `action.name` of an interactive `location_request_message`.
    SendLocation = "send_location"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_strings_round_trip_and_reject_others() {
        assert_eq!(serde_json::to_value(WhatsApp).unwrap(), "whatsapp");
        assert_eq!(
            serde_json::from_value::<WhatsApp>("whatsapp".into()).unwrap(),
            WhatsApp
        );
        let err = serde_json::from_value::<WhatsApp>("sms".into()).unwrap_err();
        assert!(err.to_string().contains("\"whatsapp\""), "{err}");
    }
}
