//! The tools that make webhook parsing lossless.
//!
//! Meta adds fields, message types and keys without notice, and a webhook it could not deliver
//! is retried for days and then dropped. So a parse must never lose data and never fail a batch:
//!
//! - every struct keeps the keys it does not know in an [`Extra`] map (`#[serde(flatten)]`);
//! - array items that do not fit their type are kept verbatim as [`Lenient::Raw`];
//! - enums keyed by a tag (`field`, message `type`) have a raw fallback variant;
//! - a typed value is only accepted if serializing it gives back *exactly* the JSON it came from
//!   ([`typed`]). That catches what serde would silently normalise (`null` for an optional key,
//!   `30` read into an `f64` and written back as `30.0`, ...): such a value stays raw instead.
//!
//! Together these guarantee that serializing a parsed payload yields a JSON value equal to the
//! one received.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

use super::round_trip::{self, Checked};

/// The keys of a JSON object that the typed struct around it does not know, kept verbatim.
pub type Extra = serde_json::Map<String, Value>;

/// Parses `raw` as a `T`, but only if `T` serializes back to exactly `raw`.
pub(crate) fn typed<T: DeserializeOwned + Serialize>(raw: &Value) -> Option<T> {
    let parsed = T::deserialize(raw).ok()?;
    // Compared as it serializes, nothing rebuilt; parts checked already are not walked again.
    round_trip::matches(&parsed, raw).then_some(parsed)
}

/// `deserialize_with` for `Option<Option<T>>` fields where Meta documents an explicit `null`:
/// absent is `None`, `null` is `Some(None)`, a value is `Some(Some(v))`. Use together with
/// `default` and `skip_serializing_if = "Option::is_none"`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// An item of a webhook array: typed when it fits `T` exactly, otherwise the raw JSON.
///
/// A malformed item (say a message without an `id`) therefore never fails the whole batch, and
/// is still written back unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum Lenient<T> {
    /// The item parsed as `T` and round-trips exactly.
    Typed(T),
    /// The item as received, because it did not fit `T`.
    Raw(Value),
}

impl<T> Lenient<T> {
    /// The typed item, if it parsed.
    pub fn typed(&self) -> Option<&T> {
        match self {
            Self::Typed(item) => Some(item),
            Self::Raw(_) => None,
        }
    }

    /// The typed item by value, if it parsed.
    pub fn into_typed(self) -> Option<T> {
        match self {
            Self::Typed(item) => Some(item),
            Self::Raw(_) => None,
        }
    }

    /// The raw JSON, if the item did not fit `T`.
    pub fn raw(&self) -> Option<&Value> {
        match self {
            Self::Typed(_) => None,
            Self::Raw(raw) => Some(raw),
        }
    }
}

impl<T: DeserializeOwned + Serialize> Lenient<T> {
    /// Types `raw` if it fits `T` exactly, keeps it raw otherwise.
    pub fn from_value(raw: Value) -> Self {
        match typed(&raw) {
            Some(item) => Self::Typed(item),
            None => Self::Raw(raw),
        }
    }
}

impl<T> From<T> for Lenient<T> {
    fn from(item: T) -> Self {
        Self::Typed(item)
    }
}

/// Marked [`Checked`]: a parsed item is typed only when it round-trips exactly, and kept as it
/// came otherwise, so the round-trip check of the level around it need not walk it again.
impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Typed(item) => Checked(item).serialize(serializer),
            Self::Raw(raw) => Checked(raw).serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned + Serialize> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from_value)
    }
}

/// A scalar Meta sends sometimes as a JSON string and sometimes as a number (timestamps,
/// template ids, limits), kept in the form it came in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NumberOrString {
    /// Sent as a JSON string, e.g. `"1749416383"`.
    String(String),
    /// Sent as a JSON number, e.g. `1749416383`.
    Number(Number),
}

impl NumberOrString {
    /// The value as an integer, parsing it if it was sent as a string.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::String(text) => text.trim().parse().ok(),
            Self::Number(number) => number.as_i64(),
        }
    }

    /// The value as an unsigned integer, parsing it if it was sent as a string.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::String(text) => text.trim().parse().ok(),
            Self::Number(number) => number.as_u64(),
        }
    }

    /// The string, if it was sent as one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            Self::Number(_) => None,
        }
    }
}

impl fmt::Display for NumberOrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(text) => f.write_str(text),
            Self::Number(number) => fmt::Display::fmt(number, f),
        }
    }
}

impl From<&str> for NumberOrString {
    fn from(text: &str) -> Self {
        Self::String(text.to_owned())
    }
}

impl From<String> for NumberOrString {
    fn from(text: String) -> Self {
        Self::String(text)
    }
}

impl From<i64> for NumberOrString {
    fn from(number: i64) -> Self {
        Self::Number(number.into())
    }
}

impl From<u64> for NumberOrString {
    fn from(number: u64) -> Self {
        Self::Number(number.into())
    }
}

/// Declares a string enum that is open: the documented values get variants, anything else is
/// kept as `Other(String)` and written back verbatim.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A value this crate does not know (yet), kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as Meta spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $( $text => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                match Self::from(text.as_str()) {
                    Self::Other(_) => Self::Other(text),
                    known => known,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::from)
            }
        }
    };
}

pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(flatten)]
        extra: Extra,
    }

    #[test]
    fn typed_refuses_what_would_not_round_trip() {
        assert!(typed::<Sample>(&json!({"name": "a", "x": 1})).is_some());
        // `null` would be dropped on the way back.
        assert!(typed::<Sample>(&json!({"name": null})).is_none());
        assert!(typed::<f64>(&json!(30)).is_none());
        assert!(typed::<Number>(&json!(30)).is_some());
    }

    #[test]
    fn lenient_keeps_misfits_raw() {
        let items: Vec<Lenient<Sample>> =
            serde_json::from_value(json!([{"name": "a"}, {"name": 3}, "text"])).unwrap();
        assert!(items[0].typed().is_some());
        assert_eq!(items[1].raw(), Some(&json!({"name": 3})));
        assert_eq!(items[2].raw(), Some(&json!("text")));
        assert_eq!(
            serde_json::to_value(&items).unwrap(),
            json!([{"name": "a"}, {"name": 3}, "text"])
        );
    }

    #[test]
    fn number_or_string() {
        let s: NumberOrString = serde_json::from_value(json!("1749416383")).unwrap();
        let n: NumberOrString = serde_json::from_value(json!(1749416383)).unwrap();
        assert_eq!(s.as_i64(), n.as_i64());
        assert_eq!(s.to_string(), n.to_string());
        assert_eq!(serde_json::to_value(&s).unwrap(), json!("1749416383"));
        assert_eq!(serde_json::to_value(&n).unwrap(), json!(1749416383));
    }
}
