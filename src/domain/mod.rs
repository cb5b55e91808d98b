//! The identity store and its rules: tenants, API keys, users, groups,
//! memberships and the provisioning log. Plain Rust over SQLite; nothing here
//! knows about HTTP, HTML or the SCIM wire format.

pub mod access;
pub mod admins;
pub mod api_keys;
pub mod applications;
pub mod directory;
pub mod filter;
pub mod groups;
pub mod paging;
pub mod profile;
pub mod provisioning_log;
pub mod roles;
pub mod sign_in_events;
pub mod sso;
pub mod tenants;
pub mod users;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::db::DbError;

/// Errors of the domain layer; each web surface maps them to responses in one place.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the resource was changed by someone else (version mismatch)")]
    VersionMismatch,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Db(DbError::Sqlite(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A tenant's row id. Every query of tenant data is scoped by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(pub i64);

/// The current time, at the precision stored.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    // Millisecond precision: what is stored is what is compared and returned.
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// The stored form of a timestamp; lexicographic order equals time order.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a stored timestamp.
pub fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// True when `e` is a UNIQUE constraint violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// Which part of a filtered list to return.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: filter::Filter,
    pub sort: Option<filter::Sort>,
    /// Rows to skip (0-based).
    pub offset: i64,
    /// Rows to return at most.
    pub limit: i64,
}

/// One page of a list and the number of matches in all.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub total: i64,
    pub items: Vec<T>,
}

/// Runs COUNT and a paged SELECT for `query` over `table` (aliased `r`) of `tenant`.
pub(crate) fn select_page<T>(
    conn: &rusqlite::Connection,
    resource: filter::Resource,
    columns: &str,
    tenant: TenantId,
    query: &ListQuery,
    map: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> Result<Page<T>> {
    let table = match resource {
        filter::Resource::User => "users",
        filter::Resource::Group => "groups",
    };
    let mut sql = filter::compile(resource, &query.filter, vec![rusqlite::types::Value::Integer(tenant.0)])?;
    let unfiltered = matches!(query.filter, filter::Filter::Const(true));
    let condition = format!("FROM {table} r WHERE r.tenant_id = ?1 AND {}", sql.text);
    let count_params = sql.params.clone();
    let count = || -> Result<i64> {
        Ok(conn
            .prepare_cached(&format!("SELECT COUNT(*) {condition}"))?
            .query_row(rusqlite::params_from_iter(count_params.iter()), |r| r.get(0))?)
    };
    // Unfiltered: the count the triggers keep (migration 0008), and the
    // deletion count that tells whether remembered page positions still hold.
    let (known_total, deletions): (Option<i64>, i64) = if unfiltered {
        let counted = match resource {
            filter::Resource::User => "SELECT user_count, user_deletions FROM tenants WHERE id = ?1",
            filter::Resource::Group => "SELECT group_count, group_deletions FROM tenants WHERE id = ?1",
        };
        conn.prepare_cached(counted)?.query_row([tenant.0], |r| Ok((Some(r.get(0)?), r.get(1)?)))?
    } else {
        (None, 0)
    };
    match known_total {
        Some(total) if query.limit <= 0 || query.offset >= total => return Ok(Page { total, items: Vec::new() }),
        None if query.limit <= 0 => return Ok(Page { total: count()?, items: Vec::new() }),
        _ => {}
    }
    let order = match &query.sort {
        Some(sort) => {
            let expr = filter::compile_sort(resource, sort, &mut sql)?;
            let dir = if sort.descending { "DESC" } else { "ASC" };
            format!("{expr} {dir} NULLS LAST, r.id {dir}")
        }
        None => "r.id".to_string(),
    };
    // A deep page of the plain id order starts from a remembered position.
    let (condition, offset) = match (unfiltered && query.sort.is_none())
        .then(|| paging::seek(conn, resource, tenant, deletions, query.offset))
        .transpose()?
        .flatten()
    {
        Some((row_id, rest)) => {
            sql.params.push(row_id.into());
            (format!("{condition} AND r.id >= ?{}", sql.params.len()), rest)
        }
        None => (condition.clone(), query.offset),
    };
    let limit = sql.params.len() + 1;
    sql.params.push(query.limit.into());
    sql.params.push(offset.into());
    // With rows to skip, the page's row ids are found first, walking only an
    // index past the offset; whole rows are read for the page alone. Walking
    // the table itself past a deep offset would read every skipped row's
    // data. With nothing to skip (Entra's lookups, first pages) the rows are
    // read directly, without the subquery's temporary list of ids.
    let text = if offset == 0 {
        format!("SELECT {columns} {condition} ORDER BY {order} LIMIT ?{limit} OFFSET ?{}", limit + 1)
    } else {
        format!(
            "SELECT {columns} FROM {table} r WHERE r.id IN (
                 SELECT r.id {condition} ORDER BY {order} LIMIT ?{limit} OFFSET ?{})
             ORDER BY {order}",
            limit + 1
        )
    };
    let items = conn
        .prepare_cached(&text)?
        .query_map(rusqlite::params_from_iter(sql.params.iter()), map)?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    let found = items.len() as i64;
    let total = match known_total {
        Some(total) => total,
        // A page that ends before its limit tells the total (same snapshot): an
        // existence check such as Entra's `userName eq` is then one statement.
        None if found < query.limit && (query.offset == 0 || found > 0) => query.offset + found,
        None => count()?,
    };
    Ok(Page { total, items })
}
