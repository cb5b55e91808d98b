//! Tenants: the unit of isolation. Every other row belongs to exactly one.

use rusqlite::{params, Connection, OptionalExtension};

use super::{format_time, is_unique_violation, now, Error, Result, TenantId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
}

/// Checks a tenant slug: 1–63 characters of lowercase letters, digits and `-`,
/// not starting or ending with `-` (it appears in URLs).
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("invalid tenant slug {slug:?}: use 1-63 lowercase letters, digits and '-'")))
    }
}

/// Creates a tenant.
pub fn create(conn: &Connection, slug: &str, name: &str) -> Result<Tenant> {
    validate_slug(slug)?;
    let name = name.trim();
    let name = if name.is_empty() { slug } else { name };
    conn.execute(
        "INSERT INTO tenants (slug, name, created) VALUES (?1, ?2, ?3)",
        params![slug, name, format_time(&now())],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("a tenant named {slug:?} already exists"))
        } else {
            e.into()
        }
    })?;
    let tenant = Tenant { id: TenantId(conn.last_insert_rowid()), slug: slug.to_string(), name: name.to_string() };
    super::roles::seed(conn, tenant.id)?;
    Ok(tenant)
}

/// Finds a tenant by its slug.
pub fn find_by_slug(conn: &Connection, slug: &str) -> Result<Option<Tenant>> {
    Ok(conn
        .prepare_cached("SELECT id, slug, name FROM tenants WHERE slug = ?1")?
        .query_row([slug], |r| Ok(Tenant { id: TenantId(r.get(0)?), slug: r.get(1)?, name: r.get(2)? }))
        .optional()?)
}

/// Finds a tenant by slug or fails with NotFound.
pub fn get_by_slug(conn: &Connection, slug: &str) -> Result<Tenant> {
    find_by_slug(conn, slug)?.ok_or(Error::NotFound("tenant"))
}
