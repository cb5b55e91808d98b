//! Rendering users, groups and lists as SCIM JSON, and the `attributes` /
//! `excludedAttributes` projection (RFC 7644 §3.9).

use serde_json::{json, Map, Value};

use super::paths::{resolve_str, Target};
use super::resource::{user_doc, Kind};
use super::schema;
use crate::domain::format_time;
use crate::domain::groups::{Group, Member};
use crate::domain::users::{GroupRef, User};

/// The ETag of a resource version (weak: the representation may vary with projection).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn meta(
    kind: Kind,
    location: &str,
    created: &chrono::DateTime<chrono::Utc>,
    modified: &chrono::DateTime<chrono::Utc>,
    version: i64,
) -> Value {
    json!({
        "resourceType": kind.name(),
        "created": format_time(created),
        "lastModified": format_time(modified),
        "location": location,
        "version": etag(version),
    })
}

/// A user as a SCIM resource; `groups` when they were loaded.
pub fn user_json(user: &User, groups: Option<&[GroupRef]>, base: &str) -> Value {
    let mut out = Map::new();
    let doc = user_doc(user);
    let mut schemas = vec![json!(schema::USER)];
    if doc.contains_key(schema::ENTERPRISE_USER) {
        schemas.push(json!(schema::ENTERPRISE_USER));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(user.id));
    let mut extension = None;
    for (k, v) in doc {
        if k == schema::ENTERPRISE_USER {
            extension = Some(v);
        } else {
            out.insert(k, v);
        }
    }
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        let list: Vec<Value> = groups
            .iter()
            .map(|g| {
                json!({
                    "value": g.id,
                    "$ref": format!("{base}/Groups/{}", g.id),
                    "display": g.display_name,
                    "type": "direct",
                })
            })
            .collect();
        out.insert("groups".into(), Value::Array(list));
    }
    if let Some(ext) = extension {
        out.insert(schema::ENTERPRISE_USER.into(), ext);
    }
    let location = format!("{base}/Users/{}", user.id);
    out.insert("meta".into(), meta(Kind::User, &location, &user.created, &user.last_modified, user.version));
    Value::Object(out)
}

/// A group as a SCIM resource; `members` when they were loaded.
pub fn group_json(group: &Group, members: Option<&[Member]>, base: &str) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([schema::GROUP]));
    out.insert("id".into(), json!(group.id));
    if let Some(e) = &group.external_id {
        out.insert("externalId".into(), json!(e));
    }
    out.insert("displayName".into(), json!(group.display_name));
    if let Some(members) = members {
        let list: Vec<Value> = members
            .iter()
            .map(|m| {
                // No computed "display": clients compare members with what they sent.
                json!({
                    "value": m.id,
                    "$ref": format!("{base}/Users/{}", m.id),
                    "type": "User",
                })
            })
            .collect();
        out.insert("members".into(), Value::Array(list));
    }
    let location = format!("{base}/Groups/{}", group.id);
    out.insert("meta".into(), meta(Kind::Group, &location, &group.created, &group.last_modified, group.version));
    Value::Object(out)
}

/// A ListResponse (RFC 7644 §3.4.2).
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// One selected attribute: `attr` (or `attr.sub`) of the core schema or of an extension.
#[derive(Debug, Clone, PartialEq)]
struct Selection {
    extension: Option<&'static str>,
    /// None selects the whole extension object.
    attr: Option<&'static str>,
    sub: Option<&'static str>,
}

/// What the client asked to see (`attributes`) or not to see (`excludedAttributes`).
#[derive(Debug, Clone, Default)]
pub struct Projection {
    include: Option<Vec<Selection>>,
    exclude: Vec<Selection>,
}

fn selections(kind: Kind, list: &str) -> Vec<Selection> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        // Names this server does not have select nothing (RFC 7644 does not make them an error).
        .filter_map(|s| match resolve_str(kind, s).ok()? {
            Target::Extension(ext) => Some(Selection { extension: Some(ext.id), attr: None, sub: None }),
            Target::Attr { schema, attr, sub } => Some(Selection {
                extension: (schema.id != kind.core().id).then_some(schema.id),
                attr: Some(attr.name),
                sub: sub.map(|s| s.name),
            }),
            Target::Meta(field) => Some(Selection {
                extension: None,
                attr: Some("meta"),
                sub: field.map(|f| match f {
                    super::paths::MetaField::ResourceType => "resourceType",
                    super::paths::MetaField::Created => "created",
                    super::paths::MetaField::LastModified => "lastModified",
                    super::paths::MetaField::Location => "location",
                    super::paths::MetaField::Version => "version",
                }),
            }),
            Target::Id | Target::Schemas | Target::Ignored => None,
        })
        .collect()
}

impl Projection {
    /// Parses the two query parameters; `attributes` wins when both are given.
    pub fn new(kind: Kind, attributes: Option<&str>, excluded: Option<&str>) -> Projection {
        match attributes.filter(|a| !a.trim().is_empty()) {
            Some(a) => Projection { include: Some(selections(kind, a)), exclude: Vec::new() },
            None => Projection { include: None, exclude: excluded.map(|e| selections(kind, e)).unwrap_or_default() },
        }
    }

    /// True when the client gave either parameter.
    pub fn is_explicit(&self) -> bool {
        self.include.is_some() || !self.exclude.is_empty()
    }

    /// Whether the core attribute `name` (e.g. `members`) will be returned at all.
    pub fn wants(&self, name: &str) -> bool {
        let named = |s: &Selection| s.extension.is_none() && s.attr == Some(name);
        match &self.include {
            Some(list) => list.iter().any(named),
            None => !self.exclude.iter().any(|s| named(s) && s.sub.is_none()),
        }
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: Value) -> Value {
        let Value::Object(obj) = resource else { return resource };
        let mut out = Map::new();
        for (key, value) in obj {
            if key == "schemas" || key == "id" {
                out.insert(key, value);
                continue;
            }
            let (extension, attr_key) =
                if key.starts_with("urn:") { (Some(key.as_str()), None) } else { (None, Some(key.as_str())) };
            let relevant = |s: &&Selection| match extension {
                Some(urn) => s.extension == Some(urn_static(urn)),
                None => s.extension.is_none() && s.attr == attr_key,
            };
            let kept = match &self.include {
                Some(list) => {
                    let chosen: Vec<&Selection> = list.iter().filter(relevant).collect();
                    keep_only(value, extension.is_some(), &chosen)
                }
                None => {
                    let chosen: Vec<&Selection> = self.exclude.iter().filter(relevant).collect();
                    drop_some(value, extension.is_some(), &chosen)
                }
            };
            if let Some(v) = kept {
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }
}

fn urn_static(urn: &str) -> &'static str {
    schema::ALL.iter().find(|s| s.id == urn).map_or("", |s| s.id)
}

/// For `attributes=`: the value reduced to the chosen parts, or None.
fn keep_only(value: Value, is_extension: bool, chosen: &[&Selection]) -> Option<Value> {
    if chosen.is_empty() {
        return None;
    }
    if is_extension {
        if chosen.iter().any(|s| s.attr.is_none()) {
            return Some(value);
        }
        let Value::Object(obj) = value else { return None };
        let mut out = Map::new();
        for (k, v) in obj {
            let subs: Vec<&Selection> = chosen.iter().copied().filter(|s| s.attr == Some(k.as_str())).collect();
            if let Some(v) = keep_subs(v, &subs) {
                out.insert(k, v);
            }
        }
        return (!out.is_empty()).then_some(Value::Object(out));
    }
    keep_subs(value, chosen)
}

fn keep_subs(value: Value, chosen: &[&Selection]) -> Option<Value> {
    if chosen.is_empty() {
        return None;
    }
    if chosen.iter().any(|s| s.sub.is_none()) {
        return Some(value);
    }
    let pick = |o: Map<String, Value>| -> Map<String, Value> {
        o.into_iter().filter(|(k, _)| chosen.iter().any(|s| s.sub == Some(k.as_str()))).collect()
    };
    match value {
        Value::Object(o) => Some(Value::Object(pick(o))),
        Value::Array(items) => Some(Value::Array(
            items
                .into_iter()
                .map(|i| match i {
                    Value::Object(o) => Value::Object(pick(o)),
                    other => other,
                })
                .collect(),
        )),
        other => Some(other),
    }
}

/// For `excludedAttributes=`: the value without the excluded parts, or None.
fn drop_some(value: Value, is_extension: bool, chosen: &[&Selection]) -> Option<Value> {
    if chosen.is_empty() {
        return Some(value);
    }
    if is_extension {
        if chosen.iter().any(|s| s.attr.is_none()) {
            return None;
        }
        let Value::Object(obj) = value else { return Some(value) };
        let out: Map<String, Value> = obj
            .into_iter()
            .filter_map(|(k, v)| {
                let subs: Vec<&Selection> = chosen.iter().copied().filter(|s| s.attr == Some(k.as_str())).collect();
                drop_subs(v, &subs).map(|v| (k, v))
            })
            .collect();
        return (!out.is_empty()).then_some(Value::Object(out));
    }
    drop_subs(value, chosen)
}

fn drop_subs(value: Value, chosen: &[&Selection]) -> Option<Value> {
    if chosen.is_empty() {
        return Some(value);
    }
    if chosen.iter().any(|s| s.sub.is_none()) {
        return None;
    }
    let strip = |o: Map<String, Value>| -> Map<String, Value> {
        o.into_iter().filter(|(k, _)| !chosen.iter().any(|s| s.sub == Some(k.as_str()))).collect()
    };
    Some(match value {
        Value::Object(o) => Value::Object(strip(o)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| match i {
                    Value::Object(o) => Value::Object(strip(o)),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        json!({
            "schemas": [schema::USER, schema::ENTERPRISE_USER],
            "id": "1",
            "userName": "a",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}],
            schema::ENTERPRISE_USER: {"department": "D", "employeeNumber": "7"},
            "meta": {"resourceType": "User", "created": "t"},
        })
    }

    #[test]
    fn attributes_keep_only_what_was_asked_plus_id() {
        let p = Projection::new(Kind::User, Some("userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None);
        let v = p.apply(sample());
        assert_eq!(
            v,
            json!({
                "schemas": [schema::USER, schema::ENTERPRISE_USER],
                "id": "1",
                "userName": "a",
                "name": {"givenName": "A"},
                "emails": [{"value": "a@x"}],
                schema::ENTERPRISE_USER: {"department": "D"},
            })
        );
    }

    #[test]
    fn excluded_attributes_drop_parts() {
        let p = Projection::new(
            Kind::User,
            None,
            Some("name.familyName,emails,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,meta,id"),
        );
        let v = p.apply(sample());
        assert_eq!(v["id"], "1");
        assert_eq!(v["name"], json!({"givenName": "A"}));
        assert!(v.get("emails").is_none() && v.get("meta").is_none() && v.get(schema::ENTERPRISE_USER).is_none());
        assert!(!Projection::new(Kind::Group, None, Some("members")).wants("members"));
        assert!(Projection::new(Kind::Group, None, Some("displayName")).wants("members"));
        assert!(!Projection::new(Kind::Group, Some("displayName"), None).wants("members"));
    }
}
