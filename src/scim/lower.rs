//! Lowering a parsed SCIM filter to the domain's filter, through the schema:
//! only attributes the schema defines become conditions; anything else is a
//! 400 invalidFilter.

use chrono::{DateTime, Utc};

use super::error::{ScimError, ScimResult};
use super::filter::{AttrPath, CompValue, CompareOp, Filter as Ast};
use super::paths::{resolve, MetaField, Target};
use super::resource::Kind;
use super::schema::{self, Attribute, Type};
use crate::domain::filter::{json_path, Collection, Column, Filter, Kind as ValueKind, Op, Operand, Sort, Value};

fn invalid(msg: impl Into<String>) -> ScimError {
    ScimError::invalid_filter(msg)
}

/// Lowers a filter over `kind` to a domain filter.
pub fn lower(kind: Kind, ast: &Ast) -> ScimResult<Filter> {
    Ok(match ast {
        Ast::And(a, b) => Filter::And(vec![lower(kind, a)?, lower(kind, b)?]),
        Ast::Or(a, b) => Filter::Or(vec![lower(kind, a)?, lower(kind, b)?]),
        Ast::Not(a) => Filter::Not(Box::new(lower(kind, a)?)),
        Ast::Present(path) => term(kind, path, None)?,
        Ast::Compare(path, op, value) => term(kind, path, Some((*op, value)))?,
        Ast::ValuePath(path, inner) => {
            let (collection, attr) = collection(kind, path)?;
            Filter::Any(collection, Box::new(lower_element(attr, inner)?))
        }
    })
}

fn target(kind: Kind, path: &AttrPath) -> ScimResult<Target> {
    resolve(kind, path).map_err(invalid)
}

/// The collection behind a multi-valued complex attribute.
fn collection(kind: Kind, path: &AttrPath) -> ScimResult<(Collection, &'static Attribute)> {
    match target(kind, path)? {
        Target::Attr { schema, attr, sub: None } if attr.is_multi_complex() => {
            let c = match (kind, attr.name) {
                (Kind::User, "emails") => Collection::Emails,
                (Kind::User, "groups") => Collection::UserGroups,
                (Kind::Group, "members") => Collection::Members,
                (Kind::User, _) => Collection::JsonArray(json_path_of(schema, attr, None)),
                _ => return Err(invalid(format!("cannot filter on {}", attr.name))),
            };
            Ok((c, attr))
        }
        _ => Err(invalid(format!("{path} is not a multi-valued attribute"))),
    }
}

fn json_path_of(schema: &schema::Schema, attr: &Attribute, sub: Option<&Attribute>) -> String {
    let mut keys = Vec::new();
    if schema.id != schema::USER {
        keys.push(schema.id);
    }
    keys.push(attr.name);
    if let Some(s) = sub {
        keys.push(s.name);
    }
    json_path(&keys)
}

fn value_kind(a: &Attribute) -> ValueKind {
    match a.kind {
        Type::Boolean => ValueKind::Bool,
        Type::Integer => ValueKind::Integer,
        Type::Decimal => ValueKind::Decimal,
        Type::DateTime => ValueKind::Time,
        _ => ValueKind::Text { case_exact: a.case_exact },
    }
}

/// One comparison (`op` given) or presence test (`op` None) on `path`.
fn term(kind: Kind, path: &AttrPath, op: Option<(CompareOp, &CompValue)>) -> ScimResult<Filter> {
    let column = |c: Column| Ok(Operand::Column(c));
    let operand: ScimResult<Operand> = match target(kind, path)? {
        Target::Id => column(Column::Id),
        Target::Schemas | Target::Extension(_) | Target::Ignored => Err(invalid(format!("cannot filter on {path}"))),
        Target::Meta(field) => match field {
            Some(MetaField::Created) => column(Column::Created),
            Some(MetaField::LastModified) => column(Column::LastModified),
            Some(MetaField::Version) => column(Column::Version),
            Some(MetaField::ResourceType) => return meta_constant(kind.name(), op, true),
            Some(MetaField::Location) => return location(kind, op),
            None => Err(invalid("filter on a sub-attribute of meta, e.g. meta.lastModified")),
        },
        Target::Attr { schema, attr, sub } => {
            if attr.is_multi_complex() {
                let (collection, attr) = collection(kind, &AttrPath { sub_attr: None, ..path.clone() })?;
                // `emails co "x"` means `emails.value co "x"`; `emails pr` means "has any".
                let field = match sub {
                    Some(s) => s,
                    None if op.is_none() => return Ok(Filter::Any(collection, Box::new(Filter::Const(true)))),
                    None => attr
                        .sub_attr("value")
                        .ok_or_else(|| invalid(format!("{} has no value to compare", attr.name)))?,
                };
                let inner = compare(
                    Operand::Field { name: field.name.to_string(), kind: value_kind(field) },
                    value_kind(field),
                    op,
                )?;
                return Ok(Filter::Any(collection, Box::new(inner)));
            }
            match (kind, attr.name, sub) {
                (_, "userName", None) => column(Column::UserName),
                (_, "externalId", None) => column(Column::ExternalId),
                (_, "displayName", None) if schema.id == kind.core().id => column(Column::DisplayName),
                (Kind::User, "active", None) => column(Column::Active),
                (Kind::User, _, _) => {
                    // A complex attribute compared as a whole compares its value (manager eq "id").
                    let sub = match (attr.kind, sub) {
                        (Type::Complex, None) if op.is_some() => Some(
                            attr.sub_attr("value")
                                .ok_or_else(|| invalid(format!("compare a sub-attribute of {}", attr.name)))?,
                        ),
                        _ => sub,
                    };
                    let leaf = sub.unwrap_or(attr);
                    Ok(Operand::Json { path: json_path_of(schema, attr, sub), kind: value_kind(leaf) })
                }
                _ => Err(invalid(format!("cannot filter on {path}"))),
            }
        }
    };
    let operand = operand?;
    let kind = match &operand {
        Operand::Column(Column::Active) => ValueKind::Bool,
        Operand::Column(Column::Created | Column::LastModified) => ValueKind::Time,
        Operand::Column(Column::Version) => ValueKind::Integer,
        Operand::Column(Column::UserName | Column::DisplayName) => ValueKind::Text { case_exact: false },
        Operand::Column(_) => ValueKind::Text { case_exact: true },
        Operand::Json { kind, .. } | Operand::Field { kind, .. } => *kind,
        Operand::PrimaryEmail => ValueKind::Text { case_exact: false },
    };
    compare(operand, kind, op)
}

/// Lowers the filter inside `attr[…]`: its paths name sub-attributes of `attr`.
pub fn lower_element(attr: &'static Attribute, ast: &Ast) -> ScimResult<Filter> {
    let field = |path: &AttrPath| -> ScimResult<&'static Attribute> {
        if path.urn.is_some() || path.sub_attr.is_some() {
            return Err(invalid(format!("{path} is not a sub-attribute of {}", attr.name)));
        }
        attr.sub_attr(&path.attr).ok_or_else(|| invalid(format!("{} has no sub-attribute {:?}", attr.name, path.attr)))
    };
    let operand = |a: &Attribute| Operand::Field { name: a.name.to_string(), kind: value_kind(a) };
    Ok(match ast {
        Ast::And(a, b) => Filter::And(vec![lower_element(attr, a)?, lower_element(attr, b)?]),
        Ast::Or(a, b) => Filter::Or(vec![lower_element(attr, a)?, lower_element(attr, b)?]),
        Ast::Not(a) => Filter::Not(Box::new(lower_element(attr, a)?)),
        Ast::Present(path) => {
            let f = field(path)?;
            compare(operand(f), value_kind(f), None)?
        }
        Ast::Compare(path, op, value) => {
            let f = field(path)?;
            compare(operand(f), value_kind(f), Some((*op, value)))?
        }
        Ast::ValuePath(..) => return Err(invalid("value filters cannot be nested")),
    })
}

fn compare(operand: Operand, kind: ValueKind, op: Option<(CompareOp, &CompValue)>) -> ScimResult<Filter> {
    let Some((op, value)) = op else {
        return Ok(Filter::Present(operand));
    };
    let value = match (kind, value) {
        (_, CompValue::Null) => Value::Null,
        (ValueKind::Time, CompValue::Str(s)) => Value::Time(parse_time(s)?),
        (ValueKind::Integer | ValueKind::Decimal, CompValue::Number(n)) => {
            Value::Number(n.as_f64().ok_or_else(|| invalid("number out of range"))?)
        }
        (ValueKind::Integer, CompValue::Str(s)) if matches!(operand, Operand::Column(Column::Version)) => {
            // meta.version is compared as the ETag the server handed out: W/"3".
            Value::Number(parse_version(s).ok_or_else(|| invalid(format!("{s:?} is not a version")))? as f64)
        }
        (ValueKind::Bool, CompValue::Bool(b)) => Value::Bool(*b),
        (ValueKind::Bool, CompValue::Str(s)) => Value::Text(s.clone()),
        (ValueKind::Text { .. }, CompValue::Str(s)) => Value::Text(s.clone()),
        (_, v) => return Err(invalid(format!("the value {v} does not fit the attribute"))),
    };
    let op = match op {
        CompareOp::Eq => Op::Eq,
        CompareOp::Ne => Op::Ne,
        CompareOp::Co => Op::Co,
        CompareOp::Sw => Op::Sw,
        CompareOp::Ew => Op::Ew,
        CompareOp::Gt => Op::Gt,
        CompareOp::Lt => Op::Lt,
        CompareOp::Ge => Op::Ge,
        CompareOp::Le => Op::Le,
    };
    // Type mismatches are reported by the domain when the filter is compiled.
    Ok(Filter::Compare(operand, op, value))
}

/// Parses the version out of an ETag (`W/"3"` or `"3"` or `3`).
pub fn parse_version(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.trim_matches('"').parse().ok()
}

fn parse_time(s: &str) -> ScimResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(format!("{s:?} is not an RFC 3339 date-time")))
}

/// `meta.resourceType` is the same for every resource of an endpoint.
fn meta_constant(actual: &str, op: Option<(CompareOp, &CompValue)>, _: bool) -> ScimResult<Filter> {
    Ok(Filter::Const(match op {
        None => true,
        Some((CompareOp::Eq, CompValue::Str(s))) => s.eq_ignore_ascii_case(actual),
        Some((CompareOp::Ne, CompValue::Str(s))) => !s.eq_ignore_ascii_case(actual),
        _ => return Err(invalid("meta.resourceType supports eq, ne and pr")),
    }))
}

/// `meta.location` is derived from the id: `… eq "<base>/Users/<id>"` compares the id.
fn location(kind: Kind, op: Option<(CompareOp, &CompValue)>) -> ScimResult<Filter> {
    match op {
        None => Ok(Filter::Const(true)),
        Some((CompareOp::Eq, CompValue::Str(s))) => {
            let marker = format!("/{}/", kind.endpoint());
            Ok(match s.rfind(&marker) {
                Some(i) => {
                    Filter::Compare(Operand::Column(Column::Id), Op::Eq, Value::Text(s[i + marker.len()..].to_string()))
                }
                None => Filter::Const(false),
            })
        }
        _ => Err(invalid("meta.location supports eq and pr")),
    }
}

/// Lowers `sortBy`: a singular attribute, or `emails` (sorted by the primary address).
pub fn lower_sort(kind: Kind, path: &str, descending: bool) -> ScimResult<Sort> {
    let target = super::paths::resolve_str(kind, path).map_err(ScimError::invalid_value)?;
    let by = match target {
        Target::Id => Operand::Column(Column::Id),
        Target::Meta(Some(MetaField::Created)) => Operand::Column(Column::Created),
        Target::Meta(Some(MetaField::LastModified)) => Operand::Column(Column::LastModified),
        Target::Meta(Some(MetaField::Version)) => Operand::Column(Column::Version),
        Target::Attr { attr, sub, .. }
            if kind == Kind::User && attr.name == "emails" && sub.is_none_or(|s| s.name == "value") =>
        {
            Operand::PrimaryEmail
        }
        Target::Attr { schema, attr, sub } if !attr.multi && (attr.kind != Type::Complex || sub.is_some()) => {
            match (attr.name, sub) {
                ("userName", None) => Operand::Column(Column::UserName),
                ("externalId", None) => Operand::Column(Column::ExternalId),
                ("displayName", None) if schema.id == kind.core().id => Operand::Column(Column::DisplayName),
                ("active", None) if kind == Kind::User => Operand::Column(Column::Active),
                _ if kind == Kind::User => {
                    Operand::Json { path: json_path_of(schema, attr, sub), kind: value_kind(sub.unwrap_or(attr)) }
                }
                _ => return Err(ScimError::invalid_value(format!("cannot sort by {path:?}"))),
            }
        }
        _ => return Err(ScimError::invalid_value(format!("cannot sort by {path:?}"))),
    };
    Ok(Sort { by, descending })
}
