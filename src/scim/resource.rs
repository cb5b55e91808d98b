//! Validating incoming SCIM resources against the schema, and converting
//! between SCIM JSON and the domain's users and groups.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::schema::{self, Attribute, Mutability, Schema, Type};
use crate::domain::users::EmailEntry;

/// The resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn core(self) -> &'static Schema {
        match self {
            Kind::User => &schema::USER_SCHEMA,
            Kind::Group => &schema::GROUP_SCHEMA,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }
    pub fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
    /// Extension schemas this resource type accepts.
    pub fn extensions(self) -> &'static [&'static Schema] {
        match self {
            Kind::User => &USER_EXTENSIONS,
            Kind::Group => &[],
        }
    }
    /// The schema (core or extension) with URN `urn`, if this type has it.
    pub fn schema_for(self, urn: &str) -> Option<&'static Schema> {
        std::iter::once(self.core()).chain(self.extensions().iter().copied()).find(|s| s.id.eq_ignore_ascii_case(urn))
    }
}

static USER_EXTENSIONS: [&Schema; 1] = [&schema::ENTERPRISE_SCHEMA];

/// Longest string value accepted, in characters.
pub const MAX_STRING_CHARS: usize = 16 * 1024;
/// Most values accepted in one multi-valued attribute.
pub const MAX_VALUES: usize = 1_000;

/// Checks the `schemas` of a request body: it must name the core schema and
/// only schemas this resource type has (plus Entra's group URN, ignored).
pub fn check_schemas(kind: Kind, body: &Map<String, Value>) -> ScimResult<()> {
    let Some(schemas) = body.get("schemas") else {
        return Err(ScimError::invalid_value(format!(
            "\"schemas\" is required and must contain \"{}\"",
            kind.core().id
        )));
    };
    let Some(list) = schemas.as_array().filter(|l| l.iter().all(Value::is_string)) else {
        return Err(ScimError::invalid_value("\"schemas\" must be an array of strings"));
    };
    let mut has_core = false;
    for urn in list.iter().filter_map(Value::as_str) {
        if urn.eq_ignore_ascii_case(kind.core().id) {
            has_core = true;
        } else if kind.schema_for(urn).is_none() && !urn.eq_ignore_ascii_case(schema::MS_GROUP) {
            return Err(ScimError::invalid_value(format!("unknown schema {urn:?} for a {}", kind.name())));
        }
    }
    if !has_core {
        return Err(ScimError::invalid_value(format!("\"schemas\" must contain \"{}\"", kind.core().id)));
    }
    Ok(())
}

/// Validates and normalises the attributes of a resource body: canonical
/// attribute names, values coerced to their schema types, read-only and
/// unknown attributes dropped, empty values (null, "", [], {}) removed,
/// extension attributes gathered under their schema URN.
pub fn normalize(kind: Kind, body: &Map<String, Value>) -> ScimResult<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = kind.schema_for(key) {
            let Value::Object(obj) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!("{key:?} must be an object")));
            };
            for (name, v) in obj {
                if let Some(a) = schema::find(ext.attributes, name) {
                    put(&mut out, ext, a, normalize_value(a, v)?);
                }
            }
            continue;
        }
        let (schema, name) = match key.rfind(':') {
            // An attribute qualified with its schema URN, e.g. "urn:…:enterprise:2.0:User:department".
            Some(i) if key.len() > 4 && key[..4].eq_ignore_ascii_case("urn:") => match kind.schema_for(&key[..i]) {
                Some(s) => (s, &key[i + 1..]),
                None => continue,
            },
            _ => (kind.core(), key.as_str()),
        };
        if let Some(a) = schema::find(schema.attributes, name) {
            if a.mutability != Mutability::ReadOnly {
                put(&mut out, schema, a, normalize_value(a, value)?);
            }
        }
    }
    require(kind, &out)?;
    Ok(out)
}

/// Puts a normalised value at its place: core attributes at the top, extension ones under the URN.
pub fn put(doc: &mut Map<String, Value>, schema: &Schema, a: &Attribute, value: Option<Value>) {
    if schema.id == schema::USER || schema.id == schema::GROUP {
        set(doc, a.name, value);
        return;
    }
    let ext = doc.entry(schema.id.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = ext {
        set(m, a.name, value);
        if m.is_empty() {
            doc.remove(schema.id);
        }
    }
}

fn set(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            map.insert(key.to_string(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

/// Checks the attributes a resource cannot exist without.
pub fn require(kind: Kind, doc: &Map<String, Value>) -> ScimResult<()> {
    for a in kind.core().attributes.iter().filter(|a| a.required) {
        if !doc.contains_key(a.name) {
            return Err(ScimError::invalid_value(format!("{} is required for a {}", a.name, kind.name())));
        }
    }
    Ok(())
}

fn type_error(a: &Attribute, expected: &str) -> ScimError {
    ScimError::invalid_value(format!("{} must be {expected}", a.name))
}

/// Normalises one value of attribute `a`; `None` means "no value".
pub fn normalize_value(a: &Attribute, value: &Value) -> ScimResult<Option<Value>> {
    if a.multi {
        let items: Vec<&Value> = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        if items.len() > MAX_VALUES {
            return Err(ScimError::invalid_value(format!("{} has more than {MAX_VALUES} values", a.name)));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(a, item)? {
                out.push(v);
            }
        }
        let primaries = out.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!("at most one of {} can be primary", a.name)));
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    normalize_single(a, value)
}

fn normalize_single(a: &Attribute, value: &Value) -> ScimResult<Option<Value>> {
    Ok(match (a.kind, value) {
        (_, Value::Null) => None,
        (Type::Complex, Value::Object(obj)) => {
            let mut out = Map::new();
            for (name, v) in obj {
                let Some(sub) = a.sub_attr(name) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_single(sub, v)? {
                    out.insert(sub.name.to_string(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        // A complex value given as its bare "value" (Entra sends the manager as a plain id).
        (Type::Complex, Value::String(_)) if a.sub_attr("value").is_some() => {
            let mut obj = Map::new();
            obj.insert("value".into(), value.clone());
            normalize_single(a, &Value::Object(obj))?
        }
        // Older Entra: the manager as [{"value": …}].
        (Type::Complex, Value::Array(items)) if !a.multi && items.len() <= 1 => match items.first() {
            Some(item) => normalize_single(a, item)?,
            None => None,
        },
        (Type::Complex, _) => return Err(type_error(a, "an object")),
        (Type::String | Type::Reference | Type::Binary, Value::String(s)) => {
            if s.chars().count() > MAX_STRING_CHARS {
                return Err(ScimError::invalid_value(format!(
                    "{} is longer than {MAX_STRING_CHARS} characters",
                    a.name
                )));
            }
            (!s.is_empty()).then(|| value.clone())
        }
        (Type::String | Type::Reference | Type::Binary, _) => return Err(type_error(a, "a string")),
        (Type::Boolean, Value::Bool(_)) => Some(value.clone()),
        // Entra's default PATCH dialect sends booleans as "True"/"False".
        (Type::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        (Type::Boolean, Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        (Type::Boolean, _) => return Err(type_error(a, "a boolean")),
        (Type::Integer, Value::Number(n)) if n.is_i64() => Some(value.clone()),
        (Type::Integer, _) => return Err(type_error(a, "an integer")),
        (Type::Decimal, Value::Number(_)) => Some(value.clone()),
        (Type::Decimal, _) => return Err(type_error(a, "a number")),
        (Type::DateTime, Value::String(s)) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Some(value.clone()),
        (Type::DateTime, _) => return Err(type_error(a, "an RFC 3339 date-time")),
    })
}

fn take_string(doc: &mut Map<String, Value>, key: &str) -> Option<String> {
    match doc.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Splits a normalised user document into the domain's user data.
pub fn user_data(mut doc: Map<String, Value>) -> crate::domain::users::UserData {
    let user_name = take_string(&mut doc, "userName").unwrap_or_default();
    let external_id = take_string(&mut doc, "externalId");
    let display_name = take_string(&mut doc, "displayName");
    let active = doc.remove("active").and_then(|v| v.as_bool());
    // An e-mail without an address is no e-mail: keep the document and the
    // lookup index (which filters read) in agreement by dropping it from both.
    if let Some(Value::Array(items)) = doc.get_mut("emails") {
        items.retain(|e| e.get("value").is_some_and(Value::is_string));
        if items.is_empty() {
            doc.remove("emails");
        }
    }
    let emails = doc
        .get("emails")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|e| {
                    Some(EmailEntry {
                        value: e.get("value")?.as_str()?.to_string(),
                        kind: e.get("type").and_then(Value::as_str).map(str::to_string),
                        primary: e.get("primary") == Some(&Value::Bool(true)),
                        display: e.get("display").and_then(Value::as_str).map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let profile = crate::domain::users::Profile::from_map(doc);
    crate::domain::users::UserData { user_name, external_id, display_name, active, profile, emails }
}

/// Checks that no multi-valued attribute holds two values of one `type` (two
/// work e-mails, say): Entra addresses values as `emails[type eq "work"]`, and
/// with two of them a replace would write one address into both.
pub fn check_unique_types(kind: Kind, doc: &Map<String, Value>) -> ScimResult<()> {
    for a in kind.core().attributes.iter().filter(|a| a.is_multi_complex() && a.sub_attr("type").is_some()) {
        let Some(Value::Array(items)) = doc.get(a.name) else { continue };
        let mut seen: Vec<String> = Vec::new();
        for t in items.iter().filter_map(|i| i.get("type").and_then(Value::as_str)) {
            let t = t.to_lowercase();
            if seen.contains(&t) {
                return Err(ScimError::invalid_value(format!(
                    "{} has two values of type {t:?}; send at most one value of each type",
                    a.name
                )));
            }
            seen.push(t);
        }
    }
    Ok(())
}

/// The editable document of a user: the inverse of [`user_data`].
pub fn user_doc(user: &crate::domain::users::User) -> Map<String, Value> {
    let mut doc = Map::new();
    if let Some(e) = &user.external_id {
        doc.insert("externalId".into(), Value::String(e.clone()));
    }
    doc.insert("userName".into(), Value::String(user.user_name.clone()));
    if let Some(d) = &user.display_name {
        doc.insert("displayName".into(), Value::String(d.clone()));
    }
    if let Some(active) = user.active {
        doc.insert("active".into(), Value::Bool(active));
    }
    for (k, v) in user.profile.iter() {
        doc.insert(k.clone(), v.clone());
    }
    doc
}

/// The editable document of a group (members are handled separately).
pub fn group_doc(group: &crate::domain::groups::Group) -> Map<String, Value> {
    let mut doc = Map::new();
    if let Some(e) = &group.external_id {
        doc.insert("externalId".into(), Value::String(e.clone()));
    }
    doc.insert("displayName".into(), Value::String(group.display_name.clone()));
    doc
}

/// Splits a normalised group document into the domain's group data and member ids.
pub fn group_data(mut doc: Map<String, Value>) -> (crate::domain::groups::GroupData, Option<Vec<String>>) {
    let members = doc.remove("members").map(|m| member_ids(&m));
    let data = crate::domain::groups::GroupData {
        display_name: take_string(&mut doc, "displayName").unwrap_or_default(),
        external_id: take_string(&mut doc, "externalId"),
    };
    (data, members)
}

/// The `value`s of a normalised members array.
pub fn member_ids(members: &Value) -> Vec<String> {
    members
        .as_array()
        .map(|items| items.iter().filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn normalises_entra_create_body() {
        let body = obj(json!({
            "schemas": [schema::USER, schema::ENTERPRISE_USER],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "UserName": "Test_User@contoso.com",
            "active": "True",
            "emails": [{"primary": true, "type": "work", "value": "Test_User@contoso.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            "title": null,
            "nickName": "",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": "m-1"},
            "unknownThing": 5
        }));
        check_schemas(Kind::User, &body).unwrap();
        let doc = normalize(Kind::User, &body).unwrap();
        assert_eq!(doc["userName"], "Test_User@contoso.com");
        assert_eq!(doc["active"], true);
        assert!(!doc.contains_key("roles") && !doc.contains_key("title") && !doc.contains_key("nickName"));
        assert!(!doc.contains_key("meta") && !doc.contains_key("unknownThing"));
        assert_eq!(doc[schema::ENTERPRISE_USER]["manager"], json!({"value": "m-1"}));
    }

    #[test]
    fn rejects_bad_values() {
        let cases = [
            json!({"schemas": [schema::USER]}),
            json!({"schemas": [schema::USER], "userName": 5}),
            json!({"schemas": [schema::USER], "userName": "a", "active": "yes"}),
            json!({"schemas": [schema::USER], "userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
            json!({"schemas": [schema::USER], "userName": "a", "name": "x"}),
        ];
        for body in cases {
            assert!(normalize(Kind::User, &obj(body.clone())).is_err(), "{body}");
        }
        for body in [json!({}), json!({"schemas": "x"}), json!({"schemas": ["urn:x"]})] {
            assert!(check_schemas(Kind::User, &obj(body.clone())).is_err(), "{body}");
        }
        let entra_group = obj(json!({"schemas": [schema::GROUP, schema::MS_GROUP], "displayName": "g"}));
        check_schemas(Kind::Group, &entra_group).unwrap();
    }
}
