//! PATCH (RFC 7644 §3.5.2) applied to a resource document, including the
//! forms Microsoft Entra ID sends by default: capitalised ops, booleans as
//! "True"/"False", path-less replace with dotted and URN keys, members removed
//! by a value array, the manager as a plain id, and `[type eq "work"]` paths
//! that create the element when it is missing.
//!
//! The engine is pure: it edits a JSON document in memory. Group members are
//! never loaded: operations on `members` come out as [`MemberChange`]s for the
//! domain to apply with one indexed statement each.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::filter::{parse_path, CompValue, CompareOp, Filter as Ast};
use super::paths::{resolve, resolve_str, Target};
use super::resource::{self, Kind};
use super::schema::{self, Attribute, Mutability, Schema, Type};
use crate::db::fold;
use crate::domain::filter::Filter;

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One PATCH operation as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// A change to a group's members, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveWhere(Filter),
    RemoveAll,
    Replace(Vec<String>),
}

/// Reads a PatchOp request body.
pub fn parse_request(body: &Map<String, Value>) -> ScimResult<Vec<Operation>> {
    let has_schema = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema::PATCH_OP))));
    if !has_schema {
        return Err(ScimError::invalid_value(format!(
            "a PATCH body must have \"schemas\": [\"{}\"]",
            schema::PATCH_OP
        )));
    }
    let ops = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| ScimError::invalid_value("a PATCH body needs a non-empty \"Operations\" array"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!("at most {MAX_OPERATIONS} operations per PATCH")));
    }
    ops.iter().map(parse_operation).collect()
}

fn parse_operation(v: &Value) -> ScimResult<Operation> {
    let obj = v.as_object().ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
    let field = |name: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let op = match field("op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => return Err(ScimError::invalid_value("\"op\" must be add, replace or remove")),
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = field("value").cloned();
    if op != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!("{op:?} needs a \"value\"").to_lowercase()));
    }
    Ok(Operation { op, path, value })
}

/// Applies `ops` in order to `doc`, atomically: on error the caller discards
/// the document. Returns the member changes (groups only).
pub fn apply(kind: Kind, doc: &mut Map<String, Value>, ops: &[Operation]) -> ScimResult<Vec<MemberChange>> {
    let mut members = Vec::new();
    for op in ops {
        match &op.path {
            Some(path) => apply_path(kind, doc, op.op, path, op.value.as_ref(), &mut members)?,
            None => apply_pathless(kind, doc, op.op, op.value.as_ref(), &mut members)?,
        }
    }
    resource::require(kind, doc)?;
    Ok(members)
}

/// add/replace without a path: each key of the value object is a path.
fn apply_pathless(
    kind: Kind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    value: Option<&Value>,
    members: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    if op == OpKind::Remove {
        return Err(ScimError::no_target("remove needs a \"path\""));
    }
    let Some(Value::Object(obj)) = value else {
        return Err(ScimError::invalid_value("without a \"path\", the value must be an object"));
    };
    for (key, v) in obj {
        match resolve_str(kind, key) {
            Ok(Target::Extension(ext)) => {
                let Value::Object(inner) = v else {
                    return Err(ScimError::invalid_value(format!("{key:?} must be an object")));
                };
                for (name, v) in inner {
                    if let Some(a) = schema::find(ext.attributes, name) {
                        if a.mutability != Mutability::ReadOnly {
                            set_attr(doc, ext, a, op, v)?;
                        }
                    }
                }
            }
            Ok(Target::Attr { attr, sub, .. })
                if attr.mutability == Mutability::ReadOnly
                    || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) => {}
            Ok(Target::Attr { .. }) => apply_path(kind, doc, op, key, Some(v), members)?,
            // id, meta, schemas and attributes this server does not have are ignored, as in POST bodies.
            Ok(_) | Err(_) => {}
        }
    }
    Ok(())
}

fn read_only(what: &str) -> ScimError {
    ScimError::mutability(format!("{what} is read-only"))
}

fn apply_path(
    kind: Kind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    path_text: &str,
    value: Option<&Value>,
    members: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    if let Ok(Target::Extension(ext)) = resolve_str(kind, path_text) {
        return match (op, value) {
            (OpKind::Remove, _) => {
                doc.remove(ext.id);
                Ok(())
            }
            (_, Some(Value::Object(_))) => {
                let mut wrapped = Map::new();
                wrapped.insert(ext.id.to_string(), value.cloned().unwrap_or_default());
                apply_pathless(kind, doc, op, Some(&Value::Object(wrapped)), members)
            }
            _ => Err(ScimError::invalid_value(format!("the value for {} must be an object", ext.id))),
        };
    }
    let path =
        parse_path(path_text).map_err(|e| ScimError::invalid_path(format!("invalid path {path_text:?}: {e}")))?;
    let (schema, attr, sub) = match resolve(kind, &path.attr).map_err(ScimError::invalid_path)? {
        Target::Attr { schema, attr, sub } => (schema, attr, sub),
        // A password is accepted and not kept: nothing to change.
        Target::Ignored => return Ok(()),
        Target::Id => return Err(read_only("id")),
        Target::Meta(_) => return Err(read_only("meta")),
        Target::Schemas | Target::Extension(_) => {
            return Err(ScimError::invalid_path(format!("{path_text:?} cannot be patched")))
        }
    };
    let sub = match (&path.sub_attr, sub) {
        (Some(name), None) => Some(
            attr.sub_attr(name)
                .ok_or_else(|| ScimError::invalid_path(format!("{} has no sub-attribute {name:?}", attr.name)))?,
        ),
        (_, sub) => sub,
    };
    if attr.mutability == Mutability::ReadOnly || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return Err(read_only(path_text));
    }
    if kind == Kind::Group && attr.name == "members" {
        members.push(member_change(attr, op, path.filter.as_ref(), sub, value)?);
        return Ok(());
    }
    match (&path.filter, sub) {
        (None, None) => set_attr(doc, schema, attr, op, value.unwrap_or(&Value::Null)),
        (None, Some(sub)) if !attr.multi => set_sub(doc, schema, attr, sub, op, value),
        (None, Some(_)) => Err(ScimError::invalid_path(format!(
            "{path_text:?}: select the values with a filter, e.g. {}[type eq \"work\"].{}",
            attr.name,
            sub.map_or("value", |s| s.name)
        ))),
        (Some(filter), sub) => {
            if !attr.is_multi_complex() {
                return Err(ScimError::invalid_path(format!("{} is not multi-valued", attr.name)));
            }
            set_filtered(doc, schema, attr, filter, sub, op, value)
        }
    }
}

/// The container of `schema`'s attributes in `doc`: the document itself, or its extension object.
fn container<'d>(doc: &'d mut Map<String, Value>, schema: &Schema, create: bool) -> Option<&'d mut Map<String, Value>> {
    if schema.id == schema::USER || schema.id == schema::GROUP {
        return Some(doc);
    }
    if create && !doc.contains_key(schema.id) {
        doc.insert(schema.id.to_string(), Value::Object(Map::new()));
    }
    doc.get_mut(schema.id).and_then(Value::as_object_mut)
}

/// Drops an extension object left empty by a removal.
fn tidy(doc: &mut Map<String, Value>, schema: &Schema) {
    if doc.get(schema.id).and_then(Value::as_object).is_some_and(Map::is_empty) {
        doc.remove(schema.id);
    }
}

/// add/replace/remove of a whole attribute.
fn set_attr(
    doc: &mut Map<String, Value>,
    schema: &Schema,
    attr: &Attribute,
    op: OpKind,
    value: &Value,
) -> ScimResult<()> {
    let Some(map) = container(doc, schema, op != OpKind::Remove) else {
        // Removing from an extension the resource does not have: nothing to do.
        return Ok(());
    };
    if op == OpKind::Remove {
        match (attr.multi, value) {
            // Entra removes members/values by a value array: drop just those.
            (true, Value::Array(items)) if !items.is_empty() => {
                let drop: Vec<String> =
                    items.iter().filter_map(|i| i.get("value").and_then(Value::as_str).map(str::to_string)).collect();
                if let Some(Value::Array(existing)) = map.get_mut(attr.name) {
                    existing.retain(|e| {
                        !e.get("value").and_then(Value::as_str).is_some_and(|v| drop.iter().any(|d| d == v))
                    });
                    if existing.is_empty() {
                        map.remove(attr.name);
                    }
                }
            }
            _ => {
                map.remove(attr.name);
            }
        }
        tidy(doc, schema);
        return Ok(());
    }
    let new = resource::normalize_value(attr, value)?;
    match (new, attr.multi, attr.kind) {
        // "" and null clear a value.
        (None, _, _) => {
            if op == OpKind::Replace || !attr.multi {
                map.remove(attr.name);
            }
        }
        (Some(Value::Array(new)), true, _) => {
            let existing = match (op, map.remove(attr.name)) {
                (OpKind::Add, Some(Value::Array(existing))) => existing,
                _ => Vec::new(),
            };
            let first_new = existing.len();
            let mut all = existing;
            for v in new {
                if !all.contains(&v) {
                    all.push(v);
                }
            }
            let touched: Vec<usize> = (first_new..all.len()).collect();
            single_primary(&mut all, &touched);
            map.insert(attr.name.to_string(), Value::Array(all));
        }
        // A complex attribute takes the given sub-attributes and keeps the others (RFC 7644 §3.5.2.1, §3.5.2.3).
        (Some(Value::Object(new)), false, Type::Complex) => {
            let merged = match map.remove(attr.name) {
                Some(Value::Object(mut old)) => {
                    old.extend(new);
                    old
                }
                _ => new,
            };
            map.insert(attr.name.to_string(), Value::Object(merged));
        }
        (Some(v), _, _) => {
            map.insert(attr.name.to_string(), v);
        }
    }
    tidy(doc, schema);
    Ok(())
}

/// add/replace/remove of a sub-attribute of a singular complex attribute (`name.givenName`).
fn set_sub(
    doc: &mut Map<String, Value>,
    schema: &Schema,
    attr: &Attribute,
    sub: &Attribute,
    op: OpKind,
    value: Option<&Value>,
) -> ScimResult<()> {
    let new = match op {
        OpKind::Remove => None,
        _ => resource::normalize_value(sub, value.unwrap_or(&Value::Null))?,
    };
    let Some(map) = container(doc, schema, new.is_some()) else {
        // Clearing a sub-attribute of an extension the resource does not have.
        return Ok(());
    };
    let mut obj = match map.remove(attr.name) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    match new {
        Some(v) => {
            obj.insert(sub.name.to_string(), v);
        }
        None => {
            obj.remove(sub.name);
        }
    }
    if !obj.is_empty() {
        map.insert(attr.name.to_string(), Value::Object(obj));
    }
    tidy(doc, schema);
    Ok(())
}

/// Operations on the values of a multi-valued attribute selected by a filter.
fn set_filtered(
    doc: &mut Map<String, Value>,
    schema: &Schema,
    attr: &Attribute,
    filter: &Ast,
    sub: Option<&Attribute>,
    op: OpKind,
    value: Option<&Value>,
) -> ScimResult<()> {
    let map = container(doc, schema, op != OpKind::Remove);
    let Some(map) = map else { return Ok(()) };
    let mut items = match map.remove(attr.name) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let mut matched = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if matches(attr, item, filter)? {
            matched.push(i);
        }
    }
    match op {
        OpKind::Remove => match sub {
            None => {
                let mut i = 0;
                items.retain(|_| {
                    i += 1;
                    !matched.contains(&(i - 1))
                });
            }
            Some(sub) => {
                for &i in &matched {
                    if let Some(o) = items[i].as_object_mut() {
                        o.remove(sub.name);
                    }
                }
            }
        },
        OpKind::Add | OpKind::Replace => {
            let value = value.unwrap_or(&Value::Null);
            let patch: Map<String, Value> = match sub {
                Some(sub) => {
                    let mut m = Map::new();
                    m.insert(sub.name.to_string(), resource::normalize_value(sub, value)?.unwrap_or(Value::Null));
                    m
                }
                None => match resource::normalize_value(&Attribute { multi: false, ..*attr }, value)? {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                },
            };
            if matched.is_empty() && patch.values().all(Value::is_null) {
                // Clearing a value nobody has: nothing to do (and no empty element to create).
            } else if matched.is_empty() {
                // Entra replaces `emails[type eq "work"].value` on users that have no work
                // e-mail yet: create the element the filter describes.
                let Some(mut element) = eq_terms(attr, filter) else {
                    return Err(ScimError::no_target(format!("no value of {} matches the filter", attr.name)));
                };
                element.extend(patch);
                element.retain(|_, v| !v.is_null());
                if !element.is_empty() {
                    items.push(Value::Object(element));
                    matched.push(items.len() - 1);
                }
            } else {
                for &i in &matched {
                    if let Some(o) = items[i].as_object_mut() {
                        for (k, v) in &patch {
                            if v.is_null() {
                                o.remove(k);
                            } else {
                                o.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
            single_primary(&mut items, &matched);
        }
    }
    items.retain(|i| !i.as_object().is_some_and(Map::is_empty));
    if !items.is_empty() {
        map.insert(attr.name.to_string(), Value::Array(items));
    }
    tidy(doc, schema);
    Ok(())
}

/// Keeps at most one `primary: true`: the values just written win over older ones.
fn single_primary(items: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    let touched_primary = touched.iter().any(|&i| items.get(i).is_some_and(is_primary));
    if !touched_primary {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if !touched.contains(&i) && is_primary(item) {
            item["primary"] = Value::Bool(false);
        }
    }
}

/// The element a filter of `eq` terms joined by `and` describes, e.g. `{"type": "work"}`.
fn eq_terms(attr: &Attribute, f: &Ast) -> Option<Map<String, Value>> {
    match f {
        Ast::Compare(path, CompareOp::Eq, value) if path.urn.is_none() && path.sub_attr.is_none() => {
            let sub = attr.sub_attr(&path.attr)?;
            let v = match value {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                _ => return None,
            };
            let mut m = Map::new();
            m.insert(sub.name.to_string(), v);
            Some(m)
        }
        Ast::And(a, b) => {
            let mut m = eq_terms(attr, a)?;
            m.extend(eq_terms(attr, b)?);
            Some(m)
        }
        _ => None,
    }
}

/// Evaluates a value filter against one element of `attr`.
pub fn matches(attr: &Attribute, element: &Value, f: &Ast) -> ScimResult<bool> {
    let field = |path: &super::filter::AttrPath| -> ScimResult<&'static Attribute> {
        if path.urn.is_some() || path.sub_attr.is_some() {
            return Err(ScimError::invalid_filter(format!("{path} is not a sub-attribute of {}", attr.name)));
        }
        attr.sub_attr(&path.attr)
            .ok_or_else(|| ScimError::invalid_filter(format!("{} has no sub-attribute {:?}", attr.name, path.attr)))
    };
    Ok(match f {
        Ast::And(a, b) => matches(attr, element, a)? && matches(attr, element, b)?,
        Ast::Or(a, b) => matches(attr, element, a)? || matches(attr, element, b)?,
        Ast::Not(a) => !matches(attr, element, a)?,
        Ast::Present(path) => {
            let sub = field(path)?;
            element.get(sub.name).is_some_and(|v| !v.is_null() && v != "")
        }
        Ast::Compare(path, op, value) => {
            let sub = field(path)?;
            compare(sub, element.get(sub.name), *op, value)?
        }
        Ast::ValuePath(..) => return Err(ScimError::invalid_filter("value filters cannot be nested")),
    })
}

fn compare(sub: &Attribute, actual: Option<&Value>, op: CompareOp, expected: &CompValue) -> ScimResult<bool> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (actual, expected) {
        (None | Some(Value::Null), CompValue::Null) => return Ok(op == CompareOp::Eq),
        (_, CompValue::Null) => return Ok(op == CompareOp::Ne),
        (None | Some(Value::Null), _) => return Ok(op == CompareOp::Ne),
        (Some(Value::String(a)), CompValue::Str(b)) => {
            let (a, b) = if sub.case_exact { (a.clone(), b.clone()) } else { (fold(a), fold(b)) };
            match op {
                CompareOp::Co => return Ok(a.contains(&b)),
                CompareOp::Sw => return Ok(a.starts_with(&b)),
                CompareOp::Ew => return Ok(a.ends_with(&b)),
                _ => Some(a.cmp(&b)),
            }
        }
        (Some(Value::Bool(a)), CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => Some(a.cmp(b)),
        (Some(Value::Number(a)), CompValue::Number(b)) => {
            a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        _ => return Err(ScimError::invalid_filter(format!("cannot compare {} with {expected} using {op}", sub.name))),
    };
    if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
        return Err(ScimError::invalid_filter(format!("{op} applies to strings only")));
    }
    let Some(o) = ordering else { return Ok(false) };
    Ok(match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => unreachable!("handled above"),
    })
}

/// Translates an operation on `members` into a change of the membership table.
fn member_change(
    attr: &'static Attribute,
    op: OpKind,
    filter: Option<&Ast>,
    sub: Option<&Attribute>,
    value: Option<&Value>,
) -> ScimResult<MemberChange> {
    if sub.is_some() {
        return Err(ScimError::invalid_path("members are added or removed whole, by value"));
    }
    let ids = |v: Option<&Value>| -> ScimResult<Vec<String>> {
        let normalized = resource::normalize_value(attr, v.unwrap_or(&Value::Null))?;
        let given = normalized.as_ref().and_then(Value::as_array).map_or(0, Vec::len);
        let ids = normalized.as_ref().map(resource::member_ids).unwrap_or_default();
        if ids.len() != given {
            return Err(ScimError::invalid_value("every member needs a \"value\" (the user's id)"));
        }
        Ok(ids)
    };
    Ok(match (op, filter) {
        (OpKind::Add, None) => MemberChange::Add(ids(value)?),
        (OpKind::Replace, None) => MemberChange::Replace(ids(value)?),
        (OpKind::Remove, None) => match value {
            None | Some(Value::Null) => MemberChange::RemoveAll,
            v => MemberChange::Remove(ids(v)?),
        },
        (OpKind::Remove, Some(f)) => MemberChange::RemoveWhere(super::lower::lower_element(attr, f)?),
        (_, Some(_)) => {
            return Err(ScimError::invalid_path(
                "members are added by value: use \"path\": \"members\" with a value array",
            ))
        }
    })
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod patch_tests;
