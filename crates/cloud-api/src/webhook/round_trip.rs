//! The round-trip check of [`super::lossless::typed`], without building the JSON back.
//!
//! A typed value is accepted only if it serializes to exactly the JSON it came from. Done as
//! `serde_json::to_value(&parsed) == raw`, every string, map and array of the value is
//! allocated again only to be compared and dropped; and because every level of a webhook
//! (entry, change, message, content) is checked on its own and again inside each level around
//! it, a message was rebuilt four times. [`matches`] instead walks `raw` alongside the
//! serialization and stops at the first difference, allocating nothing; and a part that was
//! already checked when it was parsed ([`Checked`]: an array item of [`super::Lenient`]) is not
//! walked again by the level around it.
//!
//! What counts as equal is exactly what `to_value` then `==` decides (numbers as serde_json's
//! [`Number`], maps whatever their key order, a repeated key counted once); the only
//! differences are on the safe side — where `to_value` would accept something odd (a key
//! written twice with different values, a map key that is a boolean or a float), this refuses
//! it, and the part stays raw: still lossless.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// Whether `value` serializes to exactly `raw`.
pub(crate) fn matches<T: Serialize + ?Sized>(value: &T, raw: &Value) -> bool {
    value.serialize(Compare(raw)).is_ok()
}

/// The name that marks a part already checked ([`Checked`]). Serializers other than
/// [`Compare`] see an ordinary newtype struct and write its content.
const CHECKED: &str = "$dataoptix::round_trip::Checked";

/// A part that was checked against its own JSON when it was parsed: serialized as its content,
/// but not compared again by [`matches`] on the level around it.
///
/// Only for parts whose every *parsed* instance was checked (or is kept raw): within
/// [`matches`] on a value just parsed from `raw`, such a part sits where its JSON was.
pub(crate) struct Checked<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Serialize + ?Sized> Serialize for Checked<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(CHECKED, self.0)
    }
}

/// The first difference (its content does not matter: the part stays raw).
#[derive(Debug)]
pub(crate) struct Differs;

impl fmt::Display for Differs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the typed value does not serialize to the JSON it came from")
    }
}

impl std::error::Error for Differs {}

impl ser::Error for Differs {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Self
    }
}

fn same(equal: bool) -> Result<(), Differs> {
    if equal {
        Ok(())
    } else {
        Err(Differs)
    }
}

/// Serializes into a comparison with the JSON at hand.
struct Compare<'a>(&'a Value);

impl<'a> Compare<'a> {
    fn number(self, number: Number) -> Result<(), Differs> {
        same(matches!(self.0, Value::Number(n) if *n == number))
    }

    fn float(self, v: f64) -> Result<(), Differs> {
        // serde_json writes a non-finite float as null.
        match Number::from_f64(v) {
            Some(number) => self.number(number),
            None => self.serialize_unit(),
        }
    }

    fn string(self, text: &str) -> Result<(), Differs> {
        same(matches!(self.0, Value::String(s) if s == text))
    }

    /// An array, item by item; its length is checked at its end (serde_json ignores the
    /// length hints too).
    fn seq(self) -> Result<CompareSeq<'a>, Differs> {
        match self.0 {
            Value::Array(items) => Ok(CompareSeq {
                items: items.iter(),
            }),
            _ => Err(Differs),
        }
    }

    fn object(self) -> Result<CompareMap<'a>, Differs> {
        match self.0 {
            Value::Object(map) => Ok(CompareMap {
                map,
                seen: Vec::new(),
                next: None,
            }),
            _ => Err(Differs),
        }
    }

    /// `{variant: ...}`: the value under the only key `variant`.
    fn variant(self, variant: &str) -> Result<&'a Value, Differs> {
        match self.0 {
            Value::Object(map) if map.len() == 1 => map.get(variant).ok_or(Differs),
            _ => Err(Differs),
        }
    }
}

impl<'a> Serializer for Compare<'a> {
    type Ok = ();
    type Error = Differs;
    type SerializeSeq = CompareSeq<'a>;
    type SerializeTuple = CompareSeq<'a>;
    type SerializeTupleStruct = CompareSeq<'a>;
    type SerializeTupleVariant = CompareSeq<'a>;
    type SerializeMap = CompareMap<'a>;
    type SerializeStruct = CompareMap<'a>;
    type SerializeStructVariant = CompareMap<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Differs> {
        same(matches!(self.0, Value::Bool(b) if *b == v))
    }

    fn serialize_i8(self, v: i8) -> Result<(), Differs> {
        self.number(i64::from(v).into())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Differs> {
        self.number(i64::from(v).into())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Differs> {
        self.number(i64::from(v).into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Differs> {
        self.number(v.into())
    }

    fn serialize_i128(self, v: i128) -> Result<(), Differs> {
        // As serde_json: a u64 if it fits, else an i64, else not JSON.
        match (u64::try_from(v), i64::try_from(v)) {
            (Ok(v), _) => self.number(v.into()),
            (_, Ok(v)) => self.number(v.into()),
            _ => Err(Differs),
        }
    }

    fn serialize_u8(self, v: u8) -> Result<(), Differs> {
        self.number(u64::from(v).into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Differs> {
        self.number(u64::from(v).into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Differs> {
        self.number(u64::from(v).into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Differs> {
        self.number(v.into())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Differs> {
        u64::try_from(v).map_or(Err(Differs), |v| self.number(v.into()))
    }

    fn serialize_f32(self, v: f32) -> Result<(), Differs> {
        // As serde_json: widened to an f64.
        self.float(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Differs> {
        self.float(v)
    }

    fn serialize_char(self, v: char) -> Result<(), Differs> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<(), Differs> {
        self.string(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Differs> {
        match self.0 {
            Value::Array(items) if items.len() == v.len() => items
                .iter()
                .zip(v)
                .try_for_each(|(item, byte)| Compare(item).serialize_u8(*byte)),
            _ => Err(Differs),
        }
    }

    fn serialize_none(self) -> Result<(), Differs> {
        same(self.0.is_null())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Differs> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Differs> {
        same(self.0.is_null())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Differs> {
        same(self.0.is_null())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Differs> {
        self.string(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        if name == CHECKED {
            // Checked against this very JSON when it was parsed.
            return Ok(());
        }
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        value.serialize(Compare(self.variant(variant)?))
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<CompareSeq<'a>, Differs> {
        self.seq()
    }

    fn serialize_tuple(self, _len: usize) -> Result<CompareSeq<'a>, Differs> {
        self.seq()
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<CompareSeq<'a>, Differs> {
        self.seq()
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<CompareSeq<'a>, Differs> {
        Compare(self.variant(variant)?).seq()
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<CompareMap<'a>, Differs> {
        self.object()
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<CompareMap<'a>, Differs> {
        // serde_json's own raw-value and number tokens are written differently by it: never
        // accepted here (stays raw).
        if name.starts_with("$serde_json::private::") {
            return Err(Differs);
        }
        self.object()
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<CompareMap<'a>, Differs> {
        Compare(self.variant(variant)?).object()
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Differs> {
        self.string(&value.to_string())
    }
}

/// The items of an array, compared in order.
struct CompareSeq<'a> {
    items: std::slice::Iter<'a, Value>,
}

impl CompareSeq<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        value.serialize(Compare(self.items.next().ok_or(Differs)?))
    }

    fn end(self) -> Result<(), Differs> {
        same(self.items.len() == 0)
    }
}

impl ser::SerializeSeq for CompareSeq<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.item(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareSeq::end(self)
    }
}

impl ser::SerializeTuple for CompareSeq<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.item(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for CompareSeq<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.item(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for CompareSeq<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.item(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareSeq::end(self)
    }
}

/// The entries of an object: each key written must be in it with an equal value, and every
/// key of it written (a key written twice is counted once, as a map would).
struct CompareMap<'a> {
    map: &'a Map<String, Value>,
    /// The keys written so far (objects here hold a few dozen keys at most).
    seen: Vec<&'a str>,
    /// The value under the key just written.
    next: Option<&'a Value>,
}

impl<'a> CompareMap<'a> {
    fn key(&mut self, key: &str) -> Result<(), Differs> {
        let found = self.map.get_key_value(key).ok_or(Differs)?;
        self.found(found)
    }

    fn found(&mut self, (key, value): (&'a String, &'a Value)) -> Result<(), Differs> {
        if !self.seen.contains(&key.as_str()) {
            self.seen.push(key);
        }
        self.next = Some(value);
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        value.serialize(Compare(self.next.take().ok_or(Differs)?))
    }

    fn end(self) -> Result<(), Differs> {
        same(self.seen.len() == self.map.len())
    }
}

impl ser::SerializeMap for CompareMap<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Differs> {
        let found = key.serialize(MapKey(self.map))?;
        self.found(found)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Differs> {
        self.value(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareMap::end(self)
    }
}

impl ser::SerializeStruct for CompareMap<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        self.key(key)?;
        self.value(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareMap::end(self)
    }
}

impl ser::SerializeStructVariant for CompareMap<'_> {
    type Ok = ();
    type Error = Differs;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Differs> {
        self.key(key)?;
        self.value(value)
    }

    fn end(self) -> Result<(), Differs> {
        CompareMap::end(self)
    }
}

/// Finds a map key, as serde_json writes it (a string, or an integer written as its digits), in
/// the object at hand, with its value. Other keys (booleans, floats) are refused: the part
/// stays raw.
struct MapKey<'a>(&'a Map<String, Value>);

impl<'a> MapKey<'a> {
    fn find(self, key: &str) -> Result<(&'a String, &'a Value), Differs> {
        self.0.get_key_value(key).ok_or(Differs)
    }
}

impl<'a> Serializer for MapKey<'a> {
    type Ok = (&'a String, &'a Value);
    type Error = Differs;
    type SerializeSeq = Impossible<Self::Ok, Differs>;
    type SerializeTuple = Impossible<Self::Ok, Differs>;
    type SerializeTupleStruct = Impossible<Self::Ok, Differs>;
    type SerializeTupleVariant = Impossible<Self::Ok, Differs>;
    type SerializeMap = Impossible<Self::Ok, Differs>;
    type SerializeStruct = Impossible<Self::Ok, Differs>;
    type SerializeStructVariant = Impossible<Self::Ok, Differs>;

    fn serialize_bool(self, _: bool) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_f32(self, _: f32) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_f64(self, _: f64) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok, Differs> {
        self.find(&v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok, Differs> {
        self.find(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_none(self) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_unit(self) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Differs> {
        self.find(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Differs> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Self::Ok, Differs> {
        Err(Differs)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Differs> {
        Err(Differs)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Differs> {
        Err(Differs)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Differs> {
        Err(Differs)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Differs> {
        Err(Differs)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Differs> {
        Err(Differs)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Differs> {
        Err(Differs)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Differs> {
        Err(Differs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Values that differ in every way `to_value` then `==` can tell apart.
    fn samples() -> Vec<Value> {
        vec![
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(30),
            json!(30.0),
            json!(-30),
            json!(u64::MAX),
            json!(1.5),
            json!(""),
            json!("30"),
            json!("a"),
            json!([]),
            json!([1]),
            json!([1, 2]),
            json!([2, 1]),
            json!([[1], 2]),
            json!({}),
            json!({"a": 1}),
            json!({"a": 1, "b": 2}),
            json!({"b": 2, "a": 1}),
            json!({"a": 1, "b": null}),
            json!({"a": {"b": [1, {"c": "d"}]}}),
            json!({"a": {"b": [1, {"c": "e"}]}}),
            json!({"a": {"b": [1, {"c": "d", "x": 0}]}}),
        ]
    }

    #[test]
    fn decides_as_to_value_then_equality() {
        for written in samples() {
            for raw in samples() {
                assert_eq!(
                    matches(&written, &raw),
                    serde_json::to_value(&written).unwrap() == raw,
                    "{written} against {raw}"
                );
            }
        }
    }

    #[derive(serde::Serialize)]
    struct Typed {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        count: u32,
        ratio: f64,
        tags: Vec<String>,
        #[serde(flatten)]
        extra: Map<String, Value>,
    }

    fn typed() -> Typed {
        let mut extra = Map::new();
        extra.insert("unknown".into(), json!({"kept": [1, 2]}));
        Typed {
            name: Some("n".into()),
            count: 3,
            ratio: 0.5,
            tags: vec!["x".into()],
            extra,
        }
    }

    #[test]
    fn compares_structs_flattened_keys_and_numbers_exactly() {
        let raw = json!({"name": "n", "count": 3, "ratio": 0.5, "tags": ["x"], "unknown": {"kept": [1, 2]}});
        assert!(matches(&typed(), &raw));
        assert_eq!(serde_json::to_value(typed()).unwrap(), raw);
        for differs in [
            // A key the value does not write.
            json!({"name": "n", "count": 3, "ratio": 0.5, "tags": ["x"], "unknown": {"kept": [1, 2]}, "more": 1}),
            // A key missing.
            json!({"count": 3, "ratio": 0.5, "tags": ["x"], "unknown": {"kept": [1, 2]}}),
            // 3.0 is not 3; 1 is not 0.5 written back.
            json!({"name": "n", "count": 3.0, "ratio": 0.5, "tags": ["x"], "unknown": {"kept": [1, 2]}}),
            // An explicit null the value would drop.
            json!({"name": null, "count": 3, "ratio": 0.5, "tags": ["x"], "unknown": {"kept": [1, 2]}}),
            // A longer array.
            json!({"name": "n", "count": 3, "ratio": 0.5, "tags": ["x", "y"], "unknown": {"kept": [1, 2]}}),
            json!({"name": "n", "count": 3, "ratio": 0.5, "tags": ["x"], "unknown": {"kept": [1]}}),
        ] {
            assert!(!matches(&typed(), &differs), "{differs}");
        }
    }

    #[test]
    fn a_checked_part_is_not_walked_again_but_still_needs_its_key() {
        #[derive(serde::Serialize)]
        struct Outer<'a> {
            inner: Checked<'a, Value>,
        }
        // What the marked part holds is not compared: it was, when it was parsed.
        let inner = json!({"a": 1});
        let outer = Outer {
            inner: Checked(&inner),
        };
        assert!(matches(&outer, &json!({"inner": {"something": "else"}})));
        // Its key must still be there, and nothing else beside it.
        assert!(!matches(&outer, &json!({"other": {"a": 1}})));
        assert!(!matches(&outer, &json!({"inner": {"a": 1}, "more": 2})));
        // Other serializers write the content as is.
        assert_eq!(
            serde_json::to_value(&outer).unwrap(),
            json!({"inner": {"a": 1}})
        );
        assert_eq!(
            serde_json::to_string(&outer).unwrap(),
            r#"{"inner":{"a":1}}"#
        );
    }
}
