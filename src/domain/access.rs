//! What groups grant, and the effective access of a user, computed in one
//! place and explained.
//!
//! Rules: a suspended user (`active=false`) has no access. Otherwise the role
//! comes from the user's groups that carry one, the most recently assigned
//! winning (ties, which the per-tenant sequence rules out, fall to the older
//! group); with none, the default role. Applications are the union over all
//! the user's groups. Membership changes from Entra never reorder role
//! assignments, so re-provisioning the same memberships changes no one's role.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::applications::{self, Application};
use super::groups::Group;
use super::roles::{self, Role, DEFAULT_ROLE};
use super::users::User;
use super::{format_time, now, parse_time, Error, Result, TenantId};

/// The role a group carries, and when it was assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedRole {
    pub role_id: i64,
    pub role_name: String,
    pub assigned_at: DateTime<Utc>,
}

/// What a group grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupGrant {
    pub role: Option<AssignedRole>,
    pub applications: Vec<Application>,
}

/// Where a user's role comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleSource {
    /// Granted by this group; `other_groups` more of the user's groups carry a
    /// role, assigned earlier.
    Group { group_id: String, group_name: String, assigned_at: DateTime<Utc>, other_groups: usize },
    /// No group of the user carries a role.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveRole {
    pub role: Role,
    pub source: RoleSource,
}

/// An application and the groups of the user that grant it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationGrant {
    pub application: Application,
    pub via_groups: Vec<String>,
}

/// A user's effective access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub suspended: bool,
    /// None when suspended.
    pub role: Option<EffectiveRole>,
    pub applications: Vec<ApplicationGrant>,
}

impl Access {
    /// True when the user's effective role carries permission `key` (never when suspended).
    pub fn has_permission(&self, key: &str) -> bool {
        self.role.as_ref().is_some_and(|r| r.role.permissions.iter().any(|p| p == key))
    }
}

/// What `group` grants.
pub fn group_grant(conn: &Connection, tenant: TenantId, group: &Group) -> Result<GroupGrant> {
    let role = conn
        .prepare_cached(
            "SELECT r.id, r.name, gr.assigned_at FROM group_roles gr JOIN roles r ON r.id = gr.role_id
             WHERE gr.group_id = ?1",
        )?
        .query_row([group.row_id], |r| {
            Ok(AssignedRole {
                role_id: r.get(0)?,
                role_name: r.get(1)?,
                assigned_at: parse_time(&r.get::<_, String>(2)?),
            })
        })
        .optional()?;
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT a.id FROM group_applications ga JOIN applications a ON a.id = ga.application_id
             WHERE ga.group_id = ?1 ORDER BY a.name_key",
        )?
        .query_map([group.row_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let applications = ids.into_iter().map(|id| applications::get(conn, tenant, id)).collect::<Result<_>>()?;
    Ok(GroupGrant { role, applications })
}

/// Gives `group` a role (None removes it). Assigning the role it already has
/// changes nothing, so saving a form twice does not make it "more recent".
pub fn assign_role(conn: &Connection, tenant: TenantId, group: &Group, role_id: Option<i64>) -> Result<()> {
    let Some(role_id) = role_id else {
        conn.prepare_cached("DELETE FROM group_roles WHERE group_id = ?1")?.execute([group.row_id])?;
        return Ok(());
    };
    roles::get(conn, tenant, role_id)?;
    let current: Option<i64> = conn
        .prepare_cached("SELECT role_id FROM group_roles WHERE group_id = ?1")?
        .query_row([group.row_id], |r| r.get(0))
        .optional()?;
    if current == Some(role_id) {
        return Ok(());
    }
    let seq: i64 = conn
        .prepare_cached("UPDATE tenants SET role_seq = role_seq + 1 WHERE id = ?1 RETURNING role_seq")?
        .query_row([tenant.0], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO group_roles (group_id, role_id, assigned_seq, assigned_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (group_id) DO UPDATE SET role_id = ?2, assigned_seq = ?3, assigned_at = ?4",
    )?
    .execute(params![group.row_id, role_id, seq, format_time(&now())])?;
    Ok(())
}

/// Sets the applications `group` grants to exactly `application_ids`.
pub fn set_applications(conn: &Connection, tenant: TenantId, group: &Group, application_ids: &[i64]) -> Result<()> {
    for &id in application_ids {
        applications::get(conn, tenant, id)?;
    }
    conn.prepare_cached("DELETE FROM group_applications WHERE group_id = ?1")?.execute([group.row_id])?;
    let at = format_time(&now());
    for &id in application_ids {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO group_applications (group_id, application_id, added) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![group.row_id, id, at])?;
    }
    Ok(())
}

/// The effective access of `user`.
pub fn effective(conn: &Connection, tenant: TenantId, user: &User) -> Result<Access> {
    if user.active == Some(false) {
        return Ok(Access { suspended: true, role: None, applications: Vec::new() });
    }
    // The user's role-bearing groups, most recent assignment first.
    let mut stmt = conn.prepare_cached(
        "SELECT gr.role_id, g.scim_id, g.display_name, gr.assigned_at
         FROM group_members m
         JOIN group_roles gr ON gr.group_id = m.group_id
         JOIN groups g ON g.id = m.group_id
         WHERE m.user_id = ?1
         ORDER BY gr.assigned_seq DESC, g.id ASC",
    )?;
    let bearing: Vec<(i64, String, String, String)> = stmt
        .query_map([user.row_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let role = match bearing.first() {
        Some((role_id, group_id, group_name, at)) => EffectiveRole {
            role: roles::get(conn, tenant, *role_id)?,
            source: RoleSource::Group {
                group_id: group_id.clone(),
                group_name: group_name.clone(),
                assigned_at: parse_time(at),
                other_groups: bearing.len() - 1,
            },
        },
        None => EffectiveRole {
            role: roles::find_by_name(conn, tenant, DEFAULT_ROLE)?.ok_or(Error::NotFound("default role"))?,
            source: RoleSource::Default,
        },
    };

    let rows: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT ga.application_id, g.display_name
             FROM group_members m
             JOIN group_applications ga ON ga.group_id = m.group_id
             JOIN groups g ON g.id = m.group_id
             WHERE m.user_id = ?1
             ORDER BY ga.application_id, g.display_name_key",
        )?
        .query_map([user.row_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut applications: Vec<ApplicationGrant> = Vec::new();
    for (app_id, group_name) in rows {
        match applications.last_mut() {
            Some(last) if last.application.id == app_id => last.via_groups.push(group_name),
            _ => applications.push(ApplicationGrant {
                application: applications::get(conn, tenant, app_id)?,
                via_groups: vec![group_name],
            }),
        }
    }
    applications.sort_by_key(|a| a.application.name.to_lowercase());
    Ok(Access { suspended: false, role: Some(role), applications })
}
