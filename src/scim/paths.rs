//! Resolving attribute paths (`userName`, `name.givenName`,
//! `urn:…:enterprise:2.0:User:manager.value`, `meta.created`) against a
//! resource type's schemas.

use super::filter::{parse_attr_path, AttrPath};
use super::resource::Kind;
use super::schema::{Attribute, Schema};

/// The `meta` sub-attributes (RFC 7643 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaField {
    ResourceType,
    Created,
    LastModified,
    Location,
    Version,
}

/// What an attribute path designates.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Id,
    Schemas,
    /// `meta` itself (None) or one of its fields.
    Meta(Option<MetaField>),
    /// A whole extension object, e.g. the enterprise User URN.
    Extension(&'static Schema),
    Attr {
        schema: &'static Schema,
        attr: &'static Attribute,
        sub: Option<&'static Attribute>,
    },
    /// An attribute accepted but not kept (a user's `password`).
    Ignored,
}

/// Resolves a parsed path. Errors are messages for the caller to wrap.
pub fn resolve(kind: Kind, path: &AttrPath) -> Result<Target, String> {
    let unknown = || {
        let mut name = String::new();
        if let Some(urn) = &path.urn {
            name.push_str(urn);
            name.push(':');
        }
        name.push_str(&path.attr);
        if let Some(sub) = &path.sub_attr {
            name.push('.');
            name.push_str(sub);
        }
        format!("unknown attribute {name:?} for a {}", kind.name())
    };
    let schema = match &path.urn {
        Some(urn) => kind.schema_for(urn).ok_or_else(|| format!("unknown schema {urn:?} for a {}", kind.name()))?,
        None => kind.core(),
    };
    let core = std::ptr::eq(schema, kind.core());
    if core {
        if path.attr.eq_ignore_ascii_case("id") && path.sub_attr.is_none() {
            return Ok(Target::Id);
        }
        if path.attr.eq_ignore_ascii_case("schemas") && path.sub_attr.is_none() {
            return Ok(Target::Schemas);
        }
        // Accepted and never stored or returned (RFC 7643 §4.1.1: returned "never").
        if kind == Kind::User && path.attr.eq_ignore_ascii_case("password") && path.sub_attr.is_none() {
            return Ok(Target::Ignored);
        }
        if path.attr.eq_ignore_ascii_case("meta") {
            let field = match path.sub_attr.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => None,
                Some("resourcetype") => Some(MetaField::ResourceType),
                Some("created") => Some(MetaField::Created),
                Some("lastmodified") => Some(MetaField::LastModified),
                Some("location") => Some(MetaField::Location),
                Some("version") => Some(MetaField::Version),
                Some(_) => return Err(unknown()),
            };
            return Ok(Target::Meta(field));
        }
    }
    let (schema, attr) = match super::schema::find(schema.attributes, &path.attr) {
        Some(attr) => (schema, attr),
        // Without a URN, an attribute only one extension has is that one's
        // (`manager eq "…"`, as Entra probes references; RFC 7644 §3.10).
        None if path.urn.is_none() => {
            let mut found = kind
                .extensions()
                .iter()
                .filter_map(|ext| super::schema::find(ext.attributes, &path.attr).map(|a| (*ext, a)));
            match (found.next(), found.next()) {
                (Some(only), None) => only,
                _ => return Err(unknown()),
            }
        }
        None => return Err(unknown()),
    };
    let sub = match &path.sub_attr {
        Some(name) => Some(attr.sub_attr(name).ok_or_else(unknown)?),
        None => None,
    };
    Ok(Target::Attr { schema, attr, sub })
}

/// Resolves a path given as text; a bare schema URN designates the whole extension.
pub fn resolve_str(kind: Kind, text: &str) -> Result<Target, String> {
    let text = text.trim();
    if let Some(schema) = kind.schema_for(text) {
        if !std::ptr::eq(schema, kind.core()) {
            return Ok(Target::Extension(schema));
        }
    }
    let path = parse_attr_path(text).map_err(|e| format!("invalid attribute path {text:?}: {e}"))?;
    resolve(kind, &path)
}
