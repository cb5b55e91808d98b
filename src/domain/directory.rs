//! What the portal lists of the identity data Entra provisions: users and
//! groups, searched and paged in SQL, with what each group grants.
//!
//! Every list runs two statements in the caller's (read) transaction: a COUNT
//! and a page of at most `limit` row ids, found through an index and only then
//! read in full. The statements are built by [`users_statements`] and
//! [`groups_statements`] so that tests can check their query plans.
//!
//! How each search reads the database (a tenant of 100,000 users):
//! - no search: the `users_user_name` index `(tenant_id, user_name_key)`, in
//!   order; a deep page skips index entries, not rows;
//! - userName and e-mail prefixes: two index ranges, `users_user_name` and
//!   `user_emails_value` `(tenant_id, value_key)`; text with an `@` is only
//!   ever a userName or an address, so that is all it reads;
//! - display names: there is no index on them, so text without an `@` is also
//!   matched against every display name of the tenant, a scan of the tenant's
//!   rows with a case-insensitive comparison done in SQLite's C code (`LIKE`)
//!   whenever the text is ASCII;
//! - status: `active` is not indexed either; the status filter is a
//!   condition checked on each row the walk visits;
//! - groups: names are matched inside the `groups_display_name` index
//!   `(tenant_id, display_name_key)`, which holds the folded name: a walk of
//!   the tenant's index entries, never of the group rows.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection};

use super::access::{self, Access, GroupGrant};
use super::groups::{self, Group};
use super::users::{self, User};
use super::{Page, Result, TenantId};
use crate::db::fold;

/// Which users a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Active,
    Suspended,
}

impl StatusFilter {
    /// `active` or `suspended`; anything else is all users.
    pub fn parse(s: Option<&str>) -> StatusFilter {
        match s {
            Some("active") => StatusFilter::Active,
            Some("suspended") => StatusFilter::Suspended,
            _ => StatusFilter::All,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::All => "all",
            StatusFilter::Active => "active",
            StatusFilter::Suspended => "suspended",
        }
    }
}

/// One SQL statement and its parameters.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// The two statements of a paged list: how many match, and one page of ids.
#[derive(Debug, Clone)]
pub struct PagedStatements {
    pub count: Statement,
    /// Returns the SCIM ids of one page, in list order.
    pub page: Statement,
}

/// The upper bound of an index range holding every string that starts with `prefix`
/// (U+10FFFF sorts after every other character in SQLite's binary collation).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// `text` as a LIKE pattern matching any value that contains it.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Builds the COUNT and the page over `table` (aliased `r`) for `condition`, ordered by `order`.
fn paged(table: &str, condition: &str, order: &str, params: Vec<SqlValue>, offset: i64, limit: i64) -> PagedStatements {
    let count = Statement { sql: format!("SELECT COUNT(*) FROM {table} r WHERE {condition}"), params: params.clone() };
    let n = params.len();
    let mut page_params = params;
    page_params.push(limit.into());
    page_params.push(offset.max(0).into());
    let page = Statement {
        sql: format!(
            "SELECT r.scim_id FROM {table} r WHERE r.id IN (
                 SELECT r.id FROM {table} r WHERE {condition} ORDER BY {order} LIMIT ?{} OFFSET ?{})
             ORDER BY {order}",
            n + 1,
            n + 2
        ),
        params: page_params,
    };
    PagedStatements { count, page }
}

/// The statements behind [`users_page`]: users whose userName or an e-mail
/// address starts with `q`, or (when `q` has no `@`) whose display name
/// contains it, all case-insensitively, in the given status, by userName.
pub fn users_statements(tenant: TenantId, q: &str, status: StatusFilter, offset: i64, limit: i64) -> PagedStatements {
    let mut params: Vec<SqlValue> = vec![tenant.0.into()];
    let mut condition = String::from("r.tenant_id = ?1");
    let q = fold(q.trim());
    if !q.is_empty() {
        params.push(SqlValue::Text(q.clone()));
        params.push(SqlValue::Text(prefix_end(&q)));
        let prefixes = "r.id IN (
            SELECT u.id FROM users u WHERE u.tenant_id = ?1 AND u.user_name_key >= ?2 AND u.user_name_key < ?3
            UNION ALL
            SELECT e.user_id FROM user_emails e WHERE e.tenant_id = ?1 AND e.value_key >= ?2 AND e.value_key < ?3)";
        if q.contains('@') {
            condition.push_str(&format!(" AND {prefixes}"));
        } else {
            let name = if q.is_ascii() {
                params.push(SqlValue::Text(contains_pattern(&q)));
                "r.display_name LIKE ?4 ESCAPE '\\'"
            } else {
                "instr(scim_fold(r.display_name), ?2) > 0"
            };
            condition.push_str(&format!(" AND ({prefixes} OR {name})"));
        }
    }
    match status {
        StatusFilter::All => {}
        StatusFilter::Active => condition.push_str(" AND r.active IS NOT 0"),
        StatusFilter::Suspended => condition.push_str(" AND r.active IS 0"),
    }
    paged("users", &condition, "r.user_name_key", params, offset, limit)
}

fn count(conn: &Connection, s: &Statement) -> Result<i64> {
    Ok(conn.prepare_cached(&s.sql)?.query_row(rusqlite::params_from_iter(s.params.iter()), |r| r.get(0))?)
}

fn ids(conn: &Connection, s: &Statement) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(&s.sql)?
        .query_map(rusqlite::params_from_iter(s.params.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// One page of a tenant's users (see [`users_statements`]).
pub fn users_page(
    conn: &Connection,
    tenant: TenantId,
    q: &str,
    status: StatusFilter,
    offset: i64,
    limit: i64,
) -> Result<Page<User>> {
    let statements = users_statements(tenant, q, status, offset, limit);
    let total = count(conn, &statements.count)?;
    if limit <= 0 || offset >= total {
        return Ok(Page { total, items: Vec::new() });
    }
    let items = ids(conn, &statements.page)?.iter().map(|id| users::get(conn, tenant, id)).collect::<Result<_>>()?;
    Ok(Page { total, items })
}

/// A group as the portal lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub group: Group,
    pub member_count: i64,
    pub grant: GroupGrant,
}

/// The statements behind [`groups_page`]: groups whose name contains `q`
/// (case-insensitively), by name.
pub fn groups_statements(tenant: TenantId, q: &str, offset: i64, limit: i64) -> PagedStatements {
    let mut params: Vec<SqlValue> = vec![tenant.0.into()];
    let mut condition = String::from("r.tenant_id = ?1");
    let q = fold(q.trim());
    if !q.is_empty() {
        params.push(SqlValue::Text(q));
        condition.push_str(" AND instr(r.display_name_key, ?2) > 0");
    }
    paged("groups", &condition, "r.display_name_key", params, offset, limit)
}

/// Number of members of a group: a count of the group's range of the
/// membership key `(group_id, user_id)`, which reads no user rows.
pub fn member_count(conn: &Connection, group: &Group) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM group_members WHERE group_id = ?1")?
        .query_row([group.row_id], |r| r.get(0))?)
}

/// One page of a tenant's groups, by name, with member counts and grants.
pub fn groups_page(
    conn: &Connection,
    tenant: TenantId,
    q: &str,
    offset: i64,
    limit: i64,
) -> Result<Page<GroupSummary>> {
    let statements = groups_statements(tenant, q, offset, limit);
    let total = count(conn, &statements.count)?;
    if limit <= 0 || offset >= total {
        return Ok(Page { total, items: Vec::new() });
    }
    let items = ids(conn, &statements.page)?
        .iter()
        .map(|id| {
            let group = groups::get(conn, tenant, id)?;
            Ok(GroupSummary {
                member_count: member_count(conn, &group)?,
                grant: access::group_grant(conn, tenant, &group)?,
                group,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Page { total, items })
}

/// The SQL of [`members_page`]: one page of a group's members, in the order
/// of the membership key, skipping index entries rather than user rows.
pub const MEMBERS_PAGE_SQL: &str = "SELECT u.scim_id FROM users u WHERE u.tenant_id = ?4 AND u.id IN (
         SELECT m.user_id FROM group_members m WHERE m.group_id = ?1 ORDER BY m.user_id LIMIT ?2 OFFSET ?3)
     ORDER BY u.id";

/// One page of a group's members (oldest accounts first).
pub fn members_page(conn: &Connection, tenant: TenantId, group: &Group, offset: i64, limit: i64) -> Result<Page<User>> {
    let total = member_count(conn, group)?;
    if limit <= 0 || offset >= total {
        return Ok(Page { total, items: Vec::new() });
    }
    let ids: Vec<String> = conn
        .prepare_cached(MEMBERS_PAGE_SQL)?
        .query_map(params![group.row_id, limit, offset.max(0), tenant.0], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let items = ids.iter().map(|id| users::get(conn, tenant, id)).collect::<Result<_>>()?;
    Ok(Page { total, items })
}

/// Each user of a page with their effective access (see [`access::effective`]).
pub fn with_access(conn: &Connection, tenant: TenantId, page: Page<User>) -> Result<Page<(User, Access)>> {
    let items = page
        .items
        .into_iter()
        .map(|user| {
            let a = access::effective(conn, tenant, &user)?;
            Ok((user, a))
        })
        .collect::<Result<_>>()?;
    Ok(Page { total: page.total, items })
}

/// Sets what a group grants — its role (None: no role) and exactly these
/// applications — in the caller's transaction. Fails with NotFound("group"),
/// NotFound("role") or NotFound("application") for ids not of `tenant`; the
/// caller's transaction then rolls back, so nothing is half-changed.
pub fn set_group_access(
    conn: &Connection,
    tenant: TenantId,
    group_id: &str,
    role: Option<i64>,
    applications: &[i64],
) -> Result<Group> {
    let group = groups::get(conn, tenant, group_id)?;
    access::assign_role(conn, tenant, &group, role)?;
    access::set_applications(conn, tenant, &group, applications)?;
    Ok(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
    }

    #[test]
    fn searches_with_an_at_sign_use_indexes_only() {
        let s = users_statements(TenantId(1), "Ada@", StatusFilter::All, 0, 50);
        assert!(!s.count.sql.contains("display_name"), "{}", s.count.sql);
        assert_eq!(s.count.params[1], SqlValue::Text("ada@".into()));
        let s = users_statements(TenantId(1), "Ada", StatusFilter::Suspended, 0, 50);
        assert!(s.count.sql.contains("LIKE ?4") && s.count.sql.ends_with("r.active IS 0"), "{}", s.count.sql);
        let s = users_statements(TenantId(1), "Ängström", StatusFilter::All, 0, 50);
        assert!(s.count.sql.contains("instr(scim_fold(r.display_name), ?2)"), "{}", s.count.sql);
    }
}
