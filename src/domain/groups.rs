//! Groups as provisioned by the identity provider, and their members.
//!
//! Membership lives in its own table indexed both ways, so adding or removing
//! one member touches one row, whatever the size of the group.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::filter::{self, Filter, Resource};
use super::{format_time, is_unique_violation, now, parse_time, select_page, Error, ListQuery, Page, Result, TenantId};
use crate::db::fold;

/// A stored group (without its members).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub row_id: i64,
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: i64,
}

/// What a create or a full replace writes (members are changed separately).
#[derive(Debug, Clone, Default)]
pub struct GroupData {
    pub display_name: String,
    pub external_id: Option<String>,
}

/// A member of a group, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub display: Option<String>,
}

const COLUMNS: &str = "r.id, r.scim_id, r.display_name, r.external_id, r.created, r.last_modified, r.version";

fn from_row(r: &Row) -> rusqlite::Result<Group> {
    Ok(Group {
        row_id: r.get(0)?,
        id: r.get(1)?,
        display_name: r.get(2)?,
        external_id: r.get(3)?,
        created: parse_time(&r.get::<_, String>(4)?),
        last_modified: parse_time(&r.get::<_, String>(5)?),
        version: r.get(6)?,
    })
}

fn taken(data: &GroupData) -> Error {
    Error::Conflict(format!("displayName {:?} is already taken by another group in this tenant", data.display_name))
}

fn validate(data: &GroupData) -> Result<()> {
    if data.display_name.trim().is_empty() {
        return Err(Error::Invalid("displayName is required".into()));
    }
    Ok(())
}

/// Creates a group with a new id and no members.
pub fn create(conn: &Connection, tenant: TenantId, data: &GroupData) -> Result<Group> {
    validate(data)?;
    // Time-ordered (UUIDv7): new ids go to the end of the (tenant_id, scim_id)
    // index instead of a random page of it, one page fewer per create.
    let id = uuid::Uuid::now_v7().to_string();
    let at = now();
    conn.prepare_cached(
        "INSERT INTO groups (tenant_id, scim_id, display_name, display_name_key, external_id,
                             created, last_modified, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1)",
    )?
    .execute(params![tenant.0, id, data.display_name, fold(&data.display_name), data.external_id, format_time(&at)])
    .map_err(|e| if is_unique_violation(&e) { taken(data) } else { e.into() })?;
    let row_id = conn.last_insert_rowid();
    // Counted here rather than by a trigger (migration 0010).
    conn.prepare_cached("UPDATE tenants SET group_count = group_count + 1 WHERE id = ?1")?.execute([tenant.0])?;
    Ok(Group {
        row_id,
        id,
        display_name: data.display_name.clone(),
        external_id: data.external_id.clone(),
        created: at,
        last_modified: at,
        version: 1,
    })
}

/// Finds a group by id.
pub fn find(conn: &Connection, tenant: TenantId, id: &str) -> Result<Option<Group>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM groups r WHERE r.tenant_id = ?1 AND r.scim_id = ?2"))?
        .query_row(params![tenant.0, id], from_row)
        .optional()?)
}

/// Gets a group by id or fails with NotFound.
pub fn get(conn: &Connection, tenant: TenantId, id: &str) -> Result<Group> {
    find(conn, tenant, id)?.ok_or(Error::NotFound("group"))
}

/// Fails with VersionMismatch unless `group` is at `expected` (when given).
pub fn check_version(group: &Group, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != group.version => Err(Error::VersionMismatch),
        _ => Ok(()),
    }
}

/// Writes a group's own attributes and marks it changed (members untouched).
pub fn update(conn: &Connection, group: &Group, data: &GroupData) -> Result<Group> {
    validate(data)?;
    let at = now();
    conn.prepare_cached(
        "UPDATE groups SET display_name = ?2, display_name_key = ?3, external_id = ?4,
                           last_modified = ?5, version = version + 1
         WHERE id = ?1",
    )?
    .execute(params![group.row_id, data.display_name, fold(&data.display_name), data.external_id, format_time(&at)])
    .map_err(|e| if is_unique_violation(&e) { taken(data) } else { e.into() })?;
    Ok(Group {
        display_name: data.display_name.clone(),
        external_id: data.external_id.clone(),
        last_modified: at,
        version: group.version + 1,
        ..group.clone()
    })
}

/// Marks a group changed after its members changed.
pub fn touch(conn: &Connection, group: &Group) -> Result<Group> {
    let at = now();
    conn.prepare_cached("UPDATE groups SET last_modified = ?2, version = version + 1 WHERE id = ?1")?
        .execute(params![group.row_id, format_time(&at)])?;
    Ok(Group { last_modified: at, version: group.version + 1, ..group.clone() })
}

/// Deletes a group and its memberships.
pub fn delete(conn: &Connection, tenant: TenantId, id: &str, expected_version: Option<i64>) -> Result<Group> {
    let group = get(conn, tenant, id)?;
    check_version(&group, expected_version)?;
    conn.prepare_cached("DELETE FROM groups WHERE id = ?1")?.execute([group.row_id])?;
    Ok(group)
}

/// Lists groups matching `query`, one page at a time.
pub fn list(conn: &Connection, tenant: TenantId, query: &ListQuery) -> Result<Page<Group>> {
    select_page(conn, Resource::Group, COLUMNS, tenant, query, from_row)
}

/// What adding members did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Added {
    /// Users that became members.
    pub added: usize,
    /// Ids that are not users of this tenant (unknown ids, or groups: groups
    /// cannot contain groups here). They are not stored.
    pub skipped: Vec<String>,
}

/// Adds users (by id) to a group; members already there are left as they are.
pub fn add_members(conn: &Connection, tenant: TenantId, group: &Group, user_ids: &[String]) -> Result<Added> {
    let at = format_time(&now());
    let mut result = Added::default();
    for user_id in user_ids {
        let user: Option<i64> = conn
            .prepare_cached("SELECT id FROM users WHERE tenant_id = ?1 AND scim_id = ?2")?
            .query_row(params![tenant.0, user_id], |r| r.get(0))
            .optional()?;
        match user {
            Some(user) => {
                result.added += conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO group_members (group_id, user_id, added) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![group.row_id, user, at])?;
            }
            None => result.skipped.push(user_id.clone()),
        }
    }
    Ok(result)
}

/// Removes users (by id) from a group; ids that are not members are ignored.
pub fn remove_members(conn: &Connection, tenant: TenantId, group: &Group, user_ids: &[String]) -> Result<usize> {
    let mut removed = 0;
    for user_id in user_ids {
        removed += conn
            .prepare_cached(
                "DELETE FROM group_members WHERE group_id = ?1
                 AND user_id = (SELECT id FROM users WHERE tenant_id = ?2 AND scim_id = ?3)",
            )?
            .execute(params![group.row_id, tenant.0, user_id])?;
    }
    Ok(removed)
}

/// Removes the members for which `member_filter` (over fields `value`, `display`, `type`) holds.
/// The candidates are found from the tenant's users (by indexed id for
/// `value eq "…"`), then checked for membership: the member list is not read.
pub fn remove_members_where(
    conn: &Connection,
    tenant: TenantId,
    group: &Group,
    member_filter: &Filter,
) -> Result<usize> {
    let sql = filter::compile_element(
        Resource::Group,
        &filter::Collection::Members,
        "u",
        member_filter,
        vec![rusqlite::types::Value::Integer(group.row_id), rusqlite::types::Value::Integer(tenant.0)],
    )?;
    let text = format!(
        "DELETE FROM group_members WHERE group_id = ?1 AND user_id IN (
             SELECT u.id FROM users u
             WHERE u.tenant_id = ?2
               AND EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = ?1 AND m.user_id = u.id)
               AND {})",
        sql.text
    );
    Ok(conn.execute(&text, rusqlite::params_from_iter(sql.params.iter()))?)
}

/// Removes every member of a group.
pub fn remove_all_members(conn: &Connection, group: &Group) -> Result<usize> {
    Ok(conn.prepare_cached("DELETE FROM group_members WHERE group_id = ?1")?.execute([group.row_id])?)
}

/// True when the user is a member of the group.
pub fn has_member(conn: &Connection, tenant: TenantId, group: &Group, user_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM group_members WHERE group_id = ?1
             AND user_id = (SELECT id FROM users WHERE tenant_id = ?2 AND scim_id = ?3)",
        )?
        .query_row(params![group.row_id, tenant.0, user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The members of each of `groups` (by row id), in the order they were added.
pub fn members_of(conn: &Connection, groups: &[i64]) -> Result<HashMap<i64, Vec<Member>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.scim_id, u.display_name FROM group_members m JOIN users u ON u.id = m.user_id
         WHERE m.group_id = ?1 ORDER BY m.added, u.id",
    )?;
    let mut out = HashMap::new();
    for &group in groups {
        let members = stmt
            .query_map([group], |r| Ok(Member { id: r.get(0)?, display: r.get(1)? }))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.insert(group, members);
    }
    Ok(out)
}
