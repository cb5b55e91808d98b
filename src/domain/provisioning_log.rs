//! The provisioning log: what each SCIM client changed, and what failed.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::{format_time, now, parse_time, Page, Result, TenantId};

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
    let rows = stmt.query_map(params![tenant.0, limit], entry_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
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
    let groups =
        conn.prepare_cached("SELECT COUNT(*) FROM groups WHERE tenant_id = ?1")?.query_row([tenant.0], |r| r.get(0))?;
    Ok(Figures {
        users_active,
        users_suspended,
        groups,
        last_request: last(conn, tenant, false)?,
        last_error: last(conn, tenant, true)?,
    })
}

/// Which entries of the log to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// `Some(true)`: failures only (status 400 and above); `Some(false)`: successes only.
    pub failed: Option<bool>,
    /// `User` or `Group`: entries about that resource type only.
    pub resource_type: Option<String>,
}

/// The WHERE clause of `filter` and its values, `?1` being the tenant.
/// Each combination reads an index of migrations 0001/0011 in id order:
/// failures their partial indexes, successes the unfiltered ones, skipping
/// failures. `status >= 400` is spelt out (rather than the generated
/// `failed`) so that it matches the partial indexes' WHERE clause.
fn condition(tenant: TenantId, filter: &LogFilter) -> (&'static str, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut values = vec![Value::Integer(tenant.0)];
    if let Some(kind) = &filter.resource_type {
        values.push(Value::Text(kind.clone()));
    }
    let clause = match (filter.failed, filter.resource_type.is_some()) {
        (None, false) => "tenant_id = ?1",
        (Some(true), false) => "tenant_id = ?1 AND status >= 400",
        (Some(false), false) => "tenant_id = ?1 AND status < 400",
        (None, true) => "tenant_id = ?1 AND resource_type = ?2",
        (Some(true), true) => "tenant_id = ?1 AND resource_type = ?2 AND status >= 400",
        (Some(false), true) => "tenant_id = ?1 AND resource_type = ?2 AND status < 400",
    };
    (clause, values)
}

/// The counts whose signed sum is the number of entries matching `filter`.
/// Successes are all entries less the failures: two index counts, where
/// counting them directly would read every entry's row.
fn count_terms(filter: &LogFilter) -> Vec<(i64, LogFilter)> {
    match filter.failed {
        Some(false) => vec![
            (1, LogFilter { failed: None, ..filter.clone() }),
            (-1, LogFilter { failed: Some(true), ..filter.clone() }),
        ],
        _ => vec![(1, filter.clone())],
    }
}

/// The SQL of one count of [`count_terms`] and its values.
fn count_query(tenant: TenantId, filter: &LogFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (clause, values) = condition(tenant, filter);
    (format!("SELECT COUNT(*) FROM provisioning_log WHERE {clause}"), values)
}

/// How many entries match `filter`.
fn count(conn: &Connection, tenant: TenantId, filter: &LogFilter) -> Result<i64> {
    let mut total = 0;
    for (sign, term) in count_terms(filter) {
        let (sql, values) = count_query(tenant, &term);
        let n: i64 = conn.prepare_cached(&sql)?.query_row(rusqlite::params_from_iter(values.iter()), |r| r.get(0))?;
        total += sign * n;
    }
    Ok(total)
}

/// The SQL of one page of the log, newest first, and its values.
fn page_query(tenant: TenantId, filter: &LogFilter, offset: i64, limit: i64) -> (String, Vec<rusqlite::types::Value>) {
    let (clause, mut values) = condition(tenant, filter);
    let n = values.len();
    values.push(limit.into());
    values.push(offset.max(0).into());
    let sql = format!(
        "SELECT at, token_label, method, path, resource_type, resource_id, status, outcome
         FROM provisioning_log WHERE {clause} ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
        n + 1,
        n + 2
    );
    (sql, values)
}

/// One page of a tenant's log, newest first: `offset` entries skipped, `limit` returned at most.
pub fn list(conn: &Connection, tenant: TenantId, filter: &LogFilter, offset: i64, limit: i64) -> Result<Page<Entry>> {
    let total = count(conn, tenant, filter)?;
    if limit <= 0 || offset >= total {
        return Ok(Page { total, items: Vec::new() });
    }
    let (sql, values) = page_query(tenant, filter, offset, limit);
    let items = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(values.iter()), entry_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page { total, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every filter combination counts from indexes alone and pages from an
    /// index in id order, without a sort or a table scan; failures read the
    /// partial indexes of migration 0011.
    #[test]
    fn every_filter_reads_an_index_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let tenant = TenantId(1);
        let plan_of = |sql: &str, values: &[rusqlite::types::Value]| -> String {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(rusqlite::params_from_iter(values.iter()), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            plan.join("; ")
        };
        for failed in [None, Some(true), Some(false)] {
            for kind in [None, Some("User".to_string())] {
                let filter = LogFilter { failed, resource_type: kind };
                for (_, term) in count_terms(&filter) {
                    let (sql, values) = count_query(tenant, &term);
                    let plan = plan_of(&sql, &values);
                    assert!(plan.contains("USING COVERING INDEX"), "count of {filter:?}: {plan}");
                    assert_eq!(term.failed == Some(true), plan.contains("failures"), "count of {filter:?}: {plan}");
                }
                let (sql, values) = page_query(tenant, &filter, 50, 50);
                let plan = plan_of(&sql, &values);
                assert!(plan.contains("USING INDEX") || plan.contains("USING COVERING INDEX"), "{filter:?}: {plan}");
                assert!(!plan.contains("TEMP B-TREE"), "{filter:?}: {plan}");
                assert_eq!(failed == Some(true), plan.contains("failures"), "{filter:?}: {plan}");
            }
        }
    }

    #[test]
    fn lists_newest_first_filtered_and_paged() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let tenant = TenantId(1);
        for i in 0..7 {
            let mut e = Entry::new("POST", &format!("/Users/{i}"), if i % 3 == 0 { 409 } else { 201 }, "x");
            e.resource_type = Some(if i % 2 == 0 { "User" } else { "Group" }.to_string());
            record(&conn, tenant, &e).unwrap();
        }
        let all = list(&conn, tenant, &LogFilter::default(), 0, 3).unwrap();
        assert_eq!(all.total, 7);
        assert_eq!(all.items.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["/Users/6", "/Users/5", "/Users/4"]);
        let failures = list(&conn, tenant, &LogFilter { failed: Some(true), resource_type: None }, 0, 50).unwrap();
        assert_eq!(failures.total, 3);
        assert!(failures.items.iter().all(|e| e.status >= 400));
        let user_ok = LogFilter { failed: Some(false), resource_type: Some("User".into()) };
        let page = list(&conn, tenant, &user_ok, 0, 50).unwrap();
        assert_eq!(page.items.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["/Users/4", "/Users/2"]);
        assert_eq!(page.total, 2, "all User entries (4) less the User failures (2)");
        assert_eq!(list(&conn, tenant, &user_ok, 2, 50).unwrap().items.len(), 0);
        assert_eq!(list(&conn, TenantId(2), &LogFilter::default(), 0, 50).unwrap().total, 0);
    }
}
