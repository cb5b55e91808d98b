//! The provisioning log: what each SCIM client changed, and what failed.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

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
        .query_map(params![tenant.0, limit], |r| {
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
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
