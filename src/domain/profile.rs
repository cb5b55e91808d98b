//! A user's attributes beyond the indexed columns, kept as the JSON text that
//! is stored. Parsed into a map only when something reads an attribute: a list
//! that re-serialises users copies each stored value as it is (parsing every
//! profile into a map was a quarter of a page of 100 users).

use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Profile {
    text: String,
    map: OnceLock<Map<String, Value>>,
}

impl Default for Profile {
    /// No attributes: the text `{}`.
    fn default() -> Profile {
        Profile::from_text("{}".into())
    }
}

impl Profile {
    /// A profile as read from the database.
    pub fn from_text(text: String) -> Profile {
        Profile { text, map: OnceLock::new() }
    }

    /// A profile about to be stored.
    pub fn from_map(map: Map<String, Value>) -> Profile {
        let text = serde_json::to_string(&map).unwrap_or_else(|_| "{}".into());
        Profile { text, map: OnceLock::from(map) }
    }

    /// The stored JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same profile as stored text only: what a write returns, without
    /// copying the map (the response is rendered from the text).
    pub fn stored_copy(&self) -> Profile {
        Profile::from_text(self.text.clone())
    }

    /// The top-level attributes in stored order, each value as its stored JSON
    /// text; None if the text is not a plain JSON object (then use the map).
    pub fn raw_entries(&self) -> Option<Vec<(&str, &RawValue)>> {
        serde_json::from_str::<RawEntries>(&self.text).ok().map(|e| e.0)
    }
}

impl Deref for Profile {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        // Stored text is always written from a map; unreadable text reads as empty.
        self.map.get_or_init(|| serde_json::from_str(&self.text).unwrap_or_default())
    }
}

impl PartialEq for Profile {
    fn eq(&self, other: &Profile) -> bool {
        **self == **other
    }
}

/// Top-level entries borrowed from the text (keys with escapes fail: none of
/// the schema's attribute names has one).
struct RawEntries<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawEntries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = RawEntries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntries<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(RawEntries(out))
            }
        }
        d.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_entries_keep_stored_order_and_text() {
        let map = json!({"name": {"givenName": "Ada"}, "title": "Eng", "emails": [{"value": "a@x"}]});
        let p = Profile::from_map(map.as_object().unwrap().clone());
        let stored = Profile::from_text(p.text().to_string());
        let entries = stored.raw_entries().unwrap();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["name", "title", "emails"]);
        assert_eq!(entries[0].1.get(), r#"{"givenName":"Ada"}"#);
        assert_eq!(stored, p);
        assert_eq!(stored["title"], "Eng");
    }

    #[test]
    fn unreadable_or_escaped_text_falls_back_to_the_map() {
        assert!(Profile::from_text("not json".into()).raw_entries().is_none());
        assert!(Profile::from_text("not json".into()).is_empty());
        let escaped = Profile::from_text(r#"{"ti\u0074le": "x"}"#.into());
        assert!(escaped.raw_entries().is_none());
        assert_eq!(escaped["title"], "x");
    }
}
