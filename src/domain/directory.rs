//! What the portal lists of the identity data Entra provisions: searches
//! over users and groups, paged in SQL, with what each group grants.

use rusqlite::{params, Connection};

use super::access::{self, GroupGrant};
use super::filter::{Collection, Filter, Kind, Op, Operand, Value};
use super::groups::{self, Group, Member};
use super::users::{self, User};
use super::{ListQuery, Page, Result, TenantId};

/// Which users a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Active,
    Suspended,
}

impl StatusFilter {
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

fn insensitive() -> Kind {
    Kind::Text { case_exact: false }
}

/// Users whose userName or e-mail starts with `q`, or whose display name or
/// family name contains it (case-insensitively), in the given status.
pub fn user_search(q: &str, status: StatusFilter) -> Filter {
    let mut terms = Vec::new();
    let q = q.trim();
    if !q.is_empty() {
        let text = || Value::Text(q.to_string());
        terms.push(Filter::Or(vec![
            Filter::Compare(Operand::Column(super::filter::Column::UserName), Op::Sw, text()),
            Filter::Compare(Operand::Column(super::filter::Column::DisplayName), Op::Co, text()),
            Filter::Compare(
                Operand::Json { path: super::filter::json_path(&["name", "familyName"]), kind: insensitive() },
                Op::Co,
                text(),
            ),
            Filter::Any(
                Collection::Emails,
                Box::new(Filter::Compare(Operand::Field { name: "value".into(), kind: insensitive() }, Op::Sw, text())),
            ),
        ]));
    }
    let active = || Filter::Compare(Operand::Column(super::filter::Column::Active), Op::Eq, Value::Bool(false));
    match status {
        StatusFilter::All => {}
        StatusFilter::Suspended => terms.push(active()),
        StatusFilter::Active => terms.push(Filter::Not(Box::new(active()))),
    }
    match terms.len() {
        0 => Filter::Const(true),
        _ => Filter::And(terms),
    }
}

/// One page of a tenant's users.
pub fn users_page(
    conn: &Connection,
    tenant: TenantId,
    q: &str,
    status: StatusFilter,
    offset: i64,
    limit: i64,
) -> Result<Page<User>> {
    let query = ListQuery { filter: user_search(q, status), sort: None, offset, limit };
    users::list(conn, tenant, &query)
}

/// A group as the portal lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub group: Group,
    pub member_count: i64,
    pub grant: GroupGrant,
}

/// Number of members of a group (an index range count).
pub fn member_count(conn: &Connection, group: &Group) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM group_members WHERE group_id = ?1")?
        .query_row([group.row_id], |r| r.get(0))?)
}

/// One page of a tenant's groups whose name contains `q`, with counts and grants.
pub fn groups_page(
    conn: &Connection,
    tenant: TenantId,
    q: &str,
    offset: i64,
    limit: i64,
) -> Result<Page<GroupSummary>> {
    let q = q.trim();
    let filter = if q.is_empty() {
        Filter::Const(true)
    } else {
        Filter::Compare(Operand::Column(super::filter::Column::DisplayName), Op::Co, Value::Text(q.to_string()))
    };
    let page = groups::list(conn, tenant, &ListQuery { filter, sort: None, offset, limit })?;
    let items = page
        .items
        .into_iter()
        .map(|group| {
            Ok(GroupSummary {
                member_count: member_count(conn, &group)?,
                grant: access::group_grant(conn, tenant, &group)?,
                group,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Page { total: page.total, items })
}

/// One page of a group's members, in the order they were added.
pub fn members_page(conn: &Connection, group: &Group, offset: i64, limit: i64) -> Result<Page<(Member, Option<bool>)>> {
    let total = member_count(conn, group)?;
    let items = conn
        .prepare_cached(
            "SELECT u.scim_id, u.display_name, u.user_name, u.active FROM users u WHERE u.id IN (
                 SELECT m.user_id FROM group_members m WHERE m.group_id = ?1 ORDER BY m.user_id LIMIT ?2 OFFSET ?3)
             ORDER BY u.id",
        )?
        .query_map(params![group.row_id, limit, offset], |r| {
            let display: Option<String> = r.get(1)?;
            let user_name: String = r.get(2)?;
            Ok((Member { id: r.get(0)?, display: Some(display.unwrap_or(user_name)) }, r.get::<_, Option<bool>>(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Page { total, items })
}
