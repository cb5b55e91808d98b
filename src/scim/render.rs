//! Rendering users, groups and lists as SCIM JSON, and the `attributes` /
//! `excludedAttributes` projection (RFC 7644 §3.9).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::paths::{resolve_str, Target};
use super::resource::Kind;
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
    serde_json::to_value(Meta::new(kind, location.to_string(), created, modified, version)).unwrap_or_default()
}

/// A user as a SCIM resource, serialised straight from the stored user:
/// no `Value` tree is built for it (a page of 100 users built ~100
/// allocations per user that way). `groups` when they were loaded.
pub struct UserResource<'a> {
    pub user: &'a User,
    pub groups: Option<&'a [GroupRef]>,
    pub base: &'a str,
}

/// Attributes kept in columns or computed here: never taken from the profile.
const USER_COLUMNS: [&str; 8] = ["schemas", "id", "externalId", "userName", "displayName", "active", "groups", "meta"];

/// A profile value: its stored JSON text, or (when the text could not be
/// split) the parsed value.
#[derive(Clone, Copy)]
enum Stored<'a> {
    Text(&'a RawValue),
    Parsed(&'a Value),
}

impl Serialize for Stored<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Stored::Text(raw) => raw.serialize(s),
            Stored::Parsed(value) => value.serialize(s),
        }
    }
}

impl Serialize for UserResource<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let entries: Vec<(&str, Stored)> = match user.profile.raw_entries() {
            Some(raw) => raw.into_iter().map(|(k, v)| (k, Stored::Text(v))).collect(),
            None => user.profile.iter().map(|(k, v)| (k.as_str(), Stored::Parsed(v))).collect(),
        };
        let extension = entries.iter().find(|(k, _)| *k == schema::ENTERPRISE_USER).map(|(_, v)| *v);
        let mut out = s.serialize_map(None)?;
        if extension.is_some() {
            out.serialize_entry("schemas", &[schema::USER, schema::ENTERPRISE_USER])?;
        } else {
            out.serialize_entry("schemas", &[schema::USER])?;
        }
        out.serialize_entry("id", &user.id)?;
        if let Some(e) = &user.external_id {
            out.serialize_entry("externalId", e)?;
        }
        out.serialize_entry("userName", &user.user_name)?;
        if let Some(d) = &user.display_name {
            out.serialize_entry("displayName", d)?;
        }
        if let Some(active) = user.active {
            out.serialize_entry("active", &active)?;
        }
        for (k, v) in &entries {
            if *k != schema::ENTERPRISE_USER && !USER_COLUMNS.contains(k) {
                out.serialize_entry(k, v)?;
            }
        }
        if let Some(groups) = self.groups.filter(|g| !g.is_empty()) {
            let refs: Vec<GroupLink> = groups.iter().map(|g| GroupLink { group: g, base: self.base }).collect();
            out.serialize_entry("groups", &refs)?;
        }
        if let Some(ext) = extension {
            out.serialize_entry(schema::ENTERPRISE_USER, &ext)?;
        }
        let location = format!("{}/Users/{}", self.base, user.id);
        out.serialize_entry(
            "meta",
            &Meta::new(Kind::User, location, &user.created, &user.last_modified, user.version),
        )?;
        out.end()
    }
}

/// One entry of a user's `groups`.
struct GroupLink<'a> {
    group: &'a GroupRef,
    base: &'a str,
}

impl Serialize for GroupLink<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(4))?;
        out.serialize_entry("value", &self.group.id)?;
        out.serialize_entry("$ref", &format!("{}/Groups/{}", self.base, self.group.id))?;
        out.serialize_entry("display", &self.group.display_name)?;
        out.serialize_entry("type", "direct")?;
        out.end()
    }
}

/// A resource's `meta` (RFC 7643 §3.1).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    resource_type: &'static str,
    created: String,
    last_modified: String,
    location: String,
    version: String,
}

impl Meta {
    fn new(
        kind: Kind,
        location: String,
        created: &chrono::DateTime<chrono::Utc>,
        modified: &chrono::DateTime<chrono::Utc>,
        version: i64,
    ) -> Meta {
        Meta {
            resource_type: kind.name(),
            created: format_time(created),
            last_modified: format_time(modified),
            location,
            version: etag(version),
        }
    }
}

/// The JSON text of a resource as the projection shows it. Without
/// `attributes`/`excludedAttributes` it is serialised directly.
pub fn projected<T: Serialize>(projection: &Projection, resource: &T) -> String {
    // A user is 1-2 KB: start there rather than growing from a few bytes.
    let mut out = Vec::with_capacity(2048);
    match write_projected(&mut out, projection, resource) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Appends `resource` to `out` as the projection shows it: straight from the
/// resource without one, through a `Value` with one.
fn write_projected<T: Serialize>(out: &mut Vec<u8>, projection: &Projection, resource: &T) -> serde_json::Result<()> {
    if projection.is_explicit() {
        serde_json::to_writer(out, &projection.apply(serde_json::to_value(resource)?))
    } else {
        serde_json::to_writer(out, resource)
    }
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

/// A ListResponse (RFC 7644 §3.4.2) of resources already serialised (see [`projected`]).
pub fn list_response_text(total: i64, start_index: i64, resources: &[String]) -> String {
    let mut list = ListBody::new(total, start_index, resources.len());
    for r in resources {
        list.push_text(r);
    }
    list.finish()
}

/// A ListResponse written as its resources are rendered. Its figures are
/// known before the resources are, so the header goes first and each
/// resource is serialised straight into the one buffer: a page of 100 users
/// (about 150 KB) is neither built in 100 pieces nor copied again to join them.
pub struct ListBody {
    out: Vec<u8>,
    items: usize,
}

impl ListBody {
    pub fn new(total: i64, start_index: i64, items_per_page: usize) -> ListBody {
        let mut out = Vec::with_capacity(160 + items_per_page * 2048);
        out.extend_from_slice(
            format!(
                "{{\"schemas\":[\"{}\"],\"totalResults\":{total},\"startIndex\":{start_index},\"itemsPerPage\":{items_per_page},\"Resources\":[",
                schema::LIST_RESPONSE
            )
            .as_bytes(),
        );
        ListBody { out, items: 0 }
    }

    fn separate(&mut self) {
        if self.items > 0 {
            self.out.push(b',');
        }
        self.items += 1;
    }

    /// Appends a resource, projected as [`projected`] does.
    pub fn push<T: Serialize>(&mut self, projection: &Projection, resource: &T) {
        self.separate();
        let start = self.out.len();
        if write_projected(&mut self.out, projection, resource).is_err() {
            // Never half an object in the list.
            self.out.truncate(start);
            self.out.extend_from_slice(b"{}");
        }
    }

    /// Appends a resource already serialised.
    pub fn push_text(&mut self, json: &str) {
        self.separate();
        self.out.extend_from_slice(json.as_bytes());
    }

    pub fn finish(mut self) -> String {
        self.out.extend_from_slice(b"]}");
        String::from_utf8(self.out).unwrap_or_default()
    }
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

#[cfg(test)]
mod user_resource_tests {
    use super::*;
    use crate::domain::parse_time;

    fn user() -> User {
        let profile = json!({
            "name": {"givenName": "Ada"},
            schema::ENTERPRISE_USER: {"department": "R&D"},
            // Kept in columns or computed: a stray copy in the profile must not be echoed.
            "userName": "stale",
            "meta": {"version": "W/\"0\""},
        });
        User {
            row_id: 7,
            id: "u-1".into(),
            user_name: "ada@example.com".into(),
            external_id: Some("e-1".into()),
            display_name: None,
            active: Some(false),
            profile: crate::domain::users::Profile::from_map(profile.as_object().unwrap().clone()),
            created: parse_time("2026-01-02T03:04:05.000Z"),
            last_modified: parse_time("2026-01-02T03:04:06.000Z"),
            version: 3,
        }
    }

    #[test]
    fn a_user_is_serialised_in_scim_order_without_duplicate_keys() {
        let u = user();
        let groups = [GroupRef { id: "g-1".into(), display_name: "Staff".into() }];
        let text =
            projected(&Projection::default(), &UserResource { user: &u, groups: Some(&groups), base: "https://h/s" });
        let keys: Vec<String> = serde_json::from_str::<Map<String, Value>>(&text).unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["schemas", "id", "externalId", "userName", "active", "name", "groups", schema::ENTERPRISE_USER, "meta"]
        );
        assert_eq!(text.matches("\"userName\"").count(), 1, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schemas"], json!([schema::USER, schema::ENTERPRISE_USER]));
        assert_eq!(v["userName"], "ada@example.com");
        assert_eq!(
            v["groups"],
            json!([{"value": "g-1", "$ref": "https://h/s/Groups/g-1", "display": "Staff", "type": "direct"}])
        );
        assert_eq!(
            v["meta"],
            json!({"resourceType": "User", "created": "2026-01-02T03:04:05.000Z", "lastModified": "2026-01-02T03:04:06.000Z",
                   "location": "https://h/s/Users/u-1", "version": "W/\"3\""})
        );
        // The Value form (what a projection starts from) is the same document.
        assert_eq!(
            serde_json::to_value(UserResource { user: &u, groups: Some(&groups), base: "https://h/s" }).unwrap(),
            v
        );
    }

    #[test]
    fn a_profile_that_cannot_be_split_is_rendered_from_its_parsed_form() {
        let mut u = user();
        u.profile =
            crate::domain::users::Profile::from_text(r#"{"ti\u0074le": "Eng", "name": {"givenName": "A"}}"#.into());
        let v: Value = serde_json::from_str(&projected(
            &Projection::default(),
            &UserResource { user: &u, groups: None, base: "b" },
        ))
        .unwrap();
        assert_eq!((&v["title"], &v["name"]), (&json!("Eng"), &json!({"givenName": "A"})));
        assert_eq!(v["schemas"], json!([schema::USER]));
    }

    #[test]
    fn a_projection_still_applies_to_the_direct_form() {
        let u = user();
        let p = Projection::new(Kind::User, Some("userName"), None);
        let v: Value =
            serde_json::from_str(&projected(&p, &UserResource { user: &u, groups: None, base: "b" })).unwrap();
        assert_eq!(
            v,
            json!({"schemas": [schema::USER, schema::ENTERPRISE_USER], "id": "u-1", "userName": "ada@example.com"})
        );
    }

    #[test]
    fn a_list_response_wraps_rendered_resources() {
        let text = list_response_text(5, 3, &["{\"id\":\"a\"}".to_string(), "{\"id\":\"b\"}".to_string()]);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"schemas": [schema::LIST_RESPONSE], "totalResults": 5, "startIndex": 3, "itemsPerPage": 2,
                   "Resources": [{"id": "a"}, {"id": "b"}]})
        );
        let empty: Value = serde_json::from_str(&list_response_text(0, 1, &[])).unwrap();
        assert_eq!(empty["Resources"], json!([]));
    }
}
