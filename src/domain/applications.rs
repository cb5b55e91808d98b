//! Applications the portal grants access to, through groups.

use rusqlite::{params, Connection, OptionalExtension};

use super::{format_time, is_unique_violation, now, Error, Page, Result, TenantId};
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
    checked(input).map_err(|(_, message)| Error::Invalid(message))
}

/// The checked fields, or the first field refused and why.
fn checked(input: &ApplicationInput) -> std::result::Result<(String, Option<String>, String), (&'static str, String)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(("name", format!("an application needs a name of 1 to {MAX_NAME} characters")));
    }
    let url = input.url.trim();
    let url = if url.is_empty() {
        None
    } else {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://"))
            || url.len() > MAX_URL
            || url.contains(char::is_whitespace)
        {
            return Err(("url", "the URL must start with https:// or http:// and contain no spaces".into()));
        }
        Some(url.to_string())
    };
    let description = input.description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(("description", format!("the description is longer than {MAX_DESCRIPTION} characters")));
    }
    Ok((name.to_string(), url, description.to_string()))
}

/// The first field of `input` that [`create`] or [`update`] would refuse, and
/// why: `("name" | "url" | "description", message)`. Forms use it to show
/// the message next to the field.
pub fn invalid_field(input: &ApplicationInput) -> Option<(&'static str, String)> {
    checked(input).err()
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

/// An application as listed: with the number of groups that grant it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSummary {
    pub application: Application,
    pub groups: i64,
}

/// One page of the tenant's applications, by name, each with the number of
/// groups granting it. `offset` rows are skipped, `limit` returned at most.
pub fn list_page(conn: &Connection, tenant: TenantId, offset: i64, limit: i64) -> Result<Page<ApplicationSummary>> {
    let total: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM applications WHERE tenant_id = ?1")?
        .query_row([tenant.0], |r| r.get(0))?;
    if limit <= 0 || offset >= total {
        return Ok(Page { total, items: Vec::new() });
    }
    let items = conn
        .prepare_cached(
            "SELECT a.id, a.name, a.url, a.description,
                    (SELECT COUNT(*) FROM group_applications ga WHERE ga.application_id = a.id)
             FROM applications a WHERE a.tenant_id = ?1
             ORDER BY a.name_key LIMIT ?2 OFFSET ?3",
        )?
        .query_map(params![tenant.0, limit, offset.max(0)], |r| {
            Ok(ApplicationSummary {
                application: Application { id: r.get(0)?, name: r.get(1)?, url: r.get(2)?, description: r.get(3)? },
                groups: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Page { total, items })
}

/// The number of groups granting application `id` of `tenant`.
pub fn group_count(conn: &Connection, tenant: TenantId, id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM group_applications ga JOIN applications a ON a.id = ga.application_id
             WHERE ga.application_id = ?1 AND a.tenant_id = ?2",
        )?
        .query_row(params![id, tenant.0], |r| r.get(0))?)
}
