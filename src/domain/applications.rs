//! Applications the portal grants access to, through groups.

use rusqlite::{params, Connection, OptionalExtension};

use super::{format_time, is_unique_violation, now, Error, Result, TenantId};
use crate::db::fold;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub name: String,
    pub url: Option<String>,
    pub description: String,
}

/// What an administrator submits.
#[derive(Debug, Clone, Default)]
pub struct ApplicationInput {
    pub name: String,
    pub url: String,
    pub description: String,
}

const MAX_NAME: usize = 100;
const MAX_URL: usize = 2000;
const MAX_DESCRIPTION: usize = 500;

/// The checked fields: trimmed name, optional http(s) URL, description.
fn validate(input: &ApplicationInput) -> Result<(String, Option<String>, String)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::Invalid(format!("an application needs a name of 1 to {MAX_NAME} characters")));
    }
    let url = input.url.trim();
    let url = if url.is_empty() {
        None
    } else {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.len() > MAX_URL || url.contains(char::is_whitespace) {
            return Err(Error::Invalid("the URL must start with https:// or http:// and contain no spaces".into()));
        }
        Some(url.to_string())
    };
    let description = input.description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(Error::Invalid(format!("the description is longer than {MAX_DESCRIPTION} characters")));
    }
    Ok((name.to_string(), url, description.to_string()))
}

fn taken(name: &str) -> Error {
    Error::Conflict(format!("an application named {name:?} already exists"))
}

/// Gets an application of `tenant`.
pub fn get(conn: &Connection, tenant: TenantId, id: i64) -> Result<Application> {
    conn.prepare_cached("SELECT id, name, url, description FROM applications WHERE tenant_id = ?1 AND id = ?2")?
        .query_row(params![tenant.0, id], |r| {
            Ok(Application { id: r.get(0)?, name: r.get(1)?, url: r.get(2)?, description: r.get(3)? })
        })
        .optional()?
        .ok_or(Error::NotFound("application"))
}

/// Every application of the tenant, by name.
pub fn list(conn: &Connection, tenant: TenantId) -> Result<Vec<Application>> {
    Ok(conn
        .prepare_cached("SELECT id, name, url, description FROM applications WHERE tenant_id = ?1 ORDER BY name_key")?
        .query_map([tenant.0], |r| {
            Ok(Application { id: r.get(0)?, name: r.get(1)?, url: r.get(2)?, description: r.get(3)? })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn create(conn: &Connection, tenant: TenantId, input: &ApplicationInput) -> Result<Application> {
    let (name, url, description) = validate(input)?;
    let at = format_time(&now());
    conn.prepare_cached(
        "INSERT INTO applications (tenant_id, name, name_key, url, description, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![tenant.0, name, fold(&name), url, description, at])
    .map_err(|e| if is_unique_violation(&e) { taken(&name) } else { e.into() })?;
    get(conn, tenant, conn.last_insert_rowid())
}

/// Renames or edits an application.
pub fn update(conn: &Connection, tenant: TenantId, id: i64, input: &ApplicationInput) -> Result<Application> {
    get(conn, tenant, id)?;
    let (name, url, description) = validate(input)?;
    conn.prepare_cached(
        "UPDATE applications SET name = ?2, name_key = ?3, url = ?4, description = ?5, updated = ?6 WHERE id = ?1",
    )?
    .execute(params![id, name, fold(&name), url, description, format_time(&now())])
    .map_err(|e| if is_unique_violation(&e) { taken(&name) } else { e.into() })?;
    get(conn, tenant, id)
}

/// Deletes an application; every group loses it (cascade).
pub fn delete(conn: &Connection, tenant: TenantId, id: i64) -> Result<Application> {
    let app = get(conn, tenant, id)?;
    conn.prepare_cached("DELETE FROM applications WHERE id = ?1")?.execute([id])?;
    Ok(app)
}
