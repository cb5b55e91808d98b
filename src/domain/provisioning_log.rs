//! The provisioning log: what each SCIM client changed, and what failed.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{format_time, now, parse_time, Result, TenantId};

const MAX_OUTCOME_CHARS: usize = 300;
const MAX_PATH_CHARS: usize = 300;

/// One logged request. Holds no secrets: the token is named by its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub token_label: Option<String>,
    pub method: String,
    pub path: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub status: u16,
    pub outcome: String,
}

impl Entry {
    /// A new entry stamped now.
    pub fn new(method: &str, path: &str, status: u16, outcome: impl Into<String>) -> Entry {
        Entry {
            at: now(),
            token_label: None,
            method: method.to_string(),
            path: path.to_string(),
            resource_type: None,
            resource_id: None,
            status,
            outcome: outcome.into(),
        }
    }
}

fn clip(s: &str, max: usize) -> String {
    let line = s.replace(['\r', '\n'], " ");
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// Appends an entry to a tenant's log.
pub fn record(conn: &Connection, tenant: TenantId, e: &Entry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO provisioning_log (tenant_id, at, token_label, method, path, resource_type,
                                       resource_id, status, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        tenant.0,
        format_time(&e.at),
        e.token_label,
        e.method,
        clip(&e.path, MAX_PATH_CHARS),
        e.resource_type,
        e.resource_id,
        e.status,
        clip(&e.outcome, MAX_OUTCOME_CHARS)
    ])?;
    Ok(())
}

/// The newest `limit` entries of a tenant, newest first.
pub fn recent(conn: &Connection, tenant: TenantId, limit: i64) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, token_label, method, path, resource_type, resource_id, status, outcome
         FROM provisioning_log WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![tenant.0, limit], entry_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn entry_from_row(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    Ok(Entry {
        at: parse_time(&r.get::<_, String>(0)?),
        token_label: r.get(1)?,
        method: r.get(2)?,
        path: r.get(3)?,
        resource_type: r.get(4)?,
        resource_id: r.get(5)?,
        status: r.get(6)?,
        outcome: r.get(7)?,
    })
}

/// Live figures of a tenant's provisioning, for the SCIM Config page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    pub users_active: i64,
    pub users_suspended: i64,
    pub groups: i64,
    pub last_request: Option<Entry>,
    pub last_error: Option<Entry>,
}

fn last(conn: &Connection, tenant: TenantId, errors_only: bool) -> Result<Option<Entry>> {
    let sql = if errors_only {
        "SELECT at, token_label, method, path, resource_type, resource_id, status, outcome
         FROM provisioning_log WHERE tenant_id = ?1 AND status >= 400 ORDER BY id DESC LIMIT 1"
    } else {
        "SELECT at, token_label, method, path, resource_type, resource_id, status, outcome
         FROM provisioning_log WHERE tenant_id = ?1 ORDER BY id DESC LIMIT 1"
    };
    Ok(conn.prepare_cached(sql)?.query_row([tenant.0], entry_from_row).optional()?)
}

/// Counts users and groups and finds the latest request and error.
pub fn figures(conn: &Connection, tenant: TenantId) -> Result<Figures> {
    let (users_active, users_suspended): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(active IS NOT 0), 0), COALESCE(SUM(active IS 0), 0) FROM users WHERE tenant_id = ?1",
        )?
        .query_row([tenant.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let groups = conn
        .prepare_cached("SELECT COUNT(*) FROM groups WHERE tenant_id = ?1")?
        .query_row([tenant.0], |r| r.get(0))?;
    Ok(Figures {
        users_active,
        users_suspended,
        groups,
        last_request: last(conn, tenant, false)?,
        last_error: last(conn, tenant, true)?,
    })
}
