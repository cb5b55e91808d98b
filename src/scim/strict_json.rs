//! JSON bodies read strictly: a duplicated object key or a NUL character is a
//! client error, not something to resolve silently (serde_json keeps the last
//! duplicate, which would let two readers of one body disagree).

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// A `Value` that refuses duplicate keys and NUL characters while parsing.
struct Strict(Value);

fn checked<E: de::Error>(s: String) -> Result<String, E> {
    if s.contains('\0') {
        Err(E::custom("strings must not contain NUL characters"))
    } else {
        Ok(s)
    }
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strict;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
                Ok(Strict(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
                Ok(Strict(Value::Number(v.into())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
                Ok(Strict(Value::Number(v.into())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
                Number::from_f64(v).map(|n| Strict(Value::Number(n))).ok_or_else(|| E::custom("numbers must be finite"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Strict, E> {
                checked(v.to_string()).map(|s| Strict(Value::String(s)))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Strict, E> {
                checked(v).map(|s| Strict(Value::String(s)))
            }
            fn visit_unit<E>(self) -> Result<Strict, E> {
                Ok(Strict(Value::Null))
            }
            fn visit_none<E>(self) -> Result<Strict, E> {
                Ok(Strict(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
                let mut items = Vec::new();
                while let Some(Strict(v)) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Strict(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
                let mut out = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    let key = checked(key)?;
                    let Strict(value) = map.next_value()?;
                    // One hash per key: the check and the insert share the lookup.
                    match out.entry(key) {
                        serde_json::map::Entry::Occupied(seen) => {
                            let key = seen.key();
                            return Err(de::Error::custom(format!("the key {key:?} appears twice in one object")));
                        }
                        serde_json::map::Entry::Vacant(slot) => {
                            slot.insert(value);
                        }
                    }
                }
                Ok(Strict(Value::Object(out)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a body strictly.
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing_table() {
        let cases: &[(&str, bool)] = &[
            (r#"{"a":1,"b":[1,2,{"c":null}]}"#, true),
            (r#"{"a":1,"a":2}"#, false),
            (r#"{"o":{"x":1,"x":1}}"#, false),
            (r#"{"a":"x\u0000y"}"#, false),
            (r#"{"a\u0000":1}"#, false),
            (r#"{"n":1e999}"#, false),
            (r#"{"n":123456789012345678901234567890}"#, true),
            (r#"{"s":"caf\u00e9"}"#, true),
            ("{\"a\":1", false),
        ];
        for (input, ok) in cases {
            assert_eq!(from_slice(input.as_bytes()).is_ok(), *ok, "{input}");
        }
        assert_eq!(from_slice(br#"{"a":[true]}"#).unwrap(), serde_json::json!({"a":[true]}));
        assert!(from_slice(b"{\"a\":\"\xff\"}").is_err(), "invalid UTF-8");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(from_slice(deep.as_bytes()).is_err(), "nesting deeper than serde_json's limit");
    }
}
