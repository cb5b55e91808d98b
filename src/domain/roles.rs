//! Roles: named sets of permissions, owned by the portal. A predefined set is
//! seeded in every tenant; administrators add their own.

use rusqlite::{params, Connection, OptionalExtension};

use super::{format_time, is_unique_violation, now, Error, Page, Result, TenantId};
use crate::db::fold;

/// One permission of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub key: &'static str,
    pub label: &'static str,
}

/// Manage System Settings (API keys, SCIM, groups' access, roles, applications).
pub const MANAGE_SYSTEM_SETTINGS: &str = "system_settings.manage";

/// Every permission a role can carry.
pub const CATALOGUE: &[Permission] = &[
    Permission { key: MANAGE_SYSTEM_SETTINGS, label: "Manage System Settings" },
    Permission { key: "applications.manage", label: "Manage applications" },
    Permission { key: "branding.customize", label: "Customize themes and layouts" },
    Permission { key: "content.create", label: "Create and edit content" },
    Permission { key: "content.publish", label: "Publish content" },
    Permission { key: "content.approve", label: "Approve content for publishing" },
    Permission { key: "content.translate", label: "Translate content" },
    Permission { key: "dashboards.view", label: "View dashboards" },
    Permission { key: "analytics.manage", label: "Manage analytics and reports" },
    Permission { key: "schedules.manage", label: "Manage publishing schedules" },
];

/// The role a user gets when no group grants one.
pub const DEFAULT_ROLE: &str = "Content Creator";

/// The predefined roles: name, description, permissions.
pub const PREDEFINED: &[(&str, &str, &[&str])] = &[
    (
        "System Administrator",
        "Full control of the tenant, including System Settings.",
        &[
            MANAGE_SYSTEM_SETTINGS,
            "applications.manage",
            "branding.customize",
            "content.create",
            "content.publish",
            "content.approve",
            "content.translate",
            "dashboards.view",
            "analytics.manage",
            "schedules.manage",
        ],
    ),
    (
        "Application Administrator",
        "Manages applications and their content.",
        &["applications.manage", "content.create", "content.publish", "content.approve", "dashboards.view"],
    ),
    ("Customizer", "Customizes themes and layouts.", &["branding.customize", "content.create"]),
    ("Publisher", "Creates and publishes content.", &["content.create", "content.publish"]),
    ("Translator", "Translates content.", &["content.translate"]),
    (DEFAULT_ROLE, "Creates and edits content; the role of everyone no group gives another.", &["content.create"]),
    (
        "Content Creator (with Publish Access)",
        "Creates content and publishes it without approval.",
        &["content.create", "content.publish"],
    ),
    ("Content Approver", "Reviews and approves content for publishing.", &["content.approve", "dashboards.view"]),
    ("Dashboard Viewer", "Views dashboards.", &["dashboards.view"]),
    ("Analytics Manager", "Manages analytics and reports.", &["analytics.manage", "dashboards.view"]),
    ("Scheduler", "Manages publishing schedules.", &["schedules.manage", "content.publish"]),
];

/// A role with its permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub predefined: bool,
    pub permissions: Vec<String>,
}

/// What an administrator submits for a custom role.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
}

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// Seeds the predefined roles that `tenant` does not have yet.
pub fn seed(conn: &Connection, tenant: TenantId) -> Result<()> {
    let at = format_time(&now());
    for (name, description, permissions) in PREDEFINED {
        let inserted = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO roles (tenant_id, name, name_key, description, predefined, created, updated)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
            )?
            .execute(params![tenant.0, name, fold(name), description, at])?;
        if inserted == 1 {
            set_permissions(conn, conn.last_insert_rowid(), permissions.iter().copied())?;
        }
    }
    Ok(())
}

/// Seeds the predefined roles in every tenant (at start, after migrations).
pub fn seed_all(conn: &Connection) -> Result<()> {
    let tenants: Vec<i64> =
        conn.prepare("SELECT id FROM tenants")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for t in tenants {
        seed(conn, TenantId(t))?;
    }
    Ok(())
}

fn set_permissions<'a>(conn: &Connection, role: i64, permissions: impl Iterator<Item = &'a str>) -> Result<()> {
    conn.prepare_cached("DELETE FROM role_permissions WHERE role_id = ?1")?.execute([role])?;
    for p in permissions {
        conn.prepare_cached("INSERT OR IGNORE INTO role_permissions (role_id, permission) VALUES (?1, ?2)")?
            .execute(params![role, p])?;
    }
    Ok(())
}

fn validate(input: &RoleInput) -> Result<()> {
    match invalid_field(input) {
        Some((_, message)) => Err(Error::Invalid(message)),
        None => Ok(()),
    }
}

/// The first field of `input` that [`create`] or [`update`] would refuse, and
/// why: `("name" | "description" | "permissions", message)`. Forms use it to
/// show the message next to the field.
pub fn invalid_field(input: &RoleInput) -> Option<(&'static str, String)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Some(("name", format!("a role needs a name of 1 to {MAX_NAME} characters")));
    }
    if input.description.trim().chars().count() > MAX_DESCRIPTION {
        return Some(("description", format!("the description is longer than {MAX_DESCRIPTION} characters")));
    }
    if let Some(p) = input.permissions.iter().find(|p| !CATALOGUE.iter().any(|c| c.key == p.as_str())) {
        return Some(("permissions", format!("unknown permission {p:?}")));
    }
    None
}

fn taken(name: &str) -> Error {
    Error::Conflict(format!("a role named {:?} already exists", name.trim()))
}

fn permissions_of(conn: &Connection, role: i64) -> Result<Vec<String>> {
    let mut perms: Vec<String> = conn
        .prepare_cached("SELECT permission FROM role_permissions WHERE role_id = ?1")?
        .query_map([role], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // Catalogue order reads better than alphabetical.
    perms.sort_by_key(|p| CATALOGUE.iter().position(|c| c.key == p).unwrap_or(usize::MAX));
    Ok(perms)
}

fn row(conn: &Connection, tenant: TenantId, where_clause: &str, key: &dyn rusqlite::ToSql) -> Result<Option<Role>> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT id, name, description, predefined FROM roles WHERE tenant_id = ?1 AND {where_clause}"
        ))?
        .query_row(params![tenant.0, key], |r| {
            Ok(Role {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                predefined: r.get(3)?,
                permissions: Vec::new(),
            })
        })
        .optional()?;
    match found {
        Some(mut role) => {
            role.permissions = permissions_of(conn, role.id)?;
            Ok(Some(role))
        }
        None => Ok(None),
    }
}

/// Gets a role of `tenant` by id.
pub fn get(conn: &Connection, tenant: TenantId, id: i64) -> Result<Role> {
    row(conn, tenant, "id = ?2", &id)?.ok_or(Error::NotFound("role"))
}

/// Finds a role of `tenant` by name (case-insensitive).
pub fn find_by_name(conn: &Connection, tenant: TenantId, name: &str) -> Result<Option<Role>> {
    row(conn, tenant, "name_key = ?2", &fold(name.trim()))
}

/// Every role of the tenant, predefined first, then by name.
pub fn list(conn: &Connection, tenant: TenantId) -> Result<Vec<Role>> {
    let ids: Vec<i64> = conn
        .prepare_cached("SELECT id FROM roles WHERE tenant_id = ?1 ORDER BY predefined DESC, name_key")?
        .query_map([tenant.0], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.into_iter().map(|id| get(conn, tenant, id)).collect()
}

/// Creates a custom role.
pub fn create(conn: &Connection, tenant: TenantId, input: &RoleInput) -> Result<Role> {
    validate(input)?;
    let at = format_time(&now());
    let name = input.name.trim();
    conn.prepare_cached(
        "INSERT INTO roles (tenant_id, name, name_key, description, predefined, created, updated)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
    )?
    .execute(params![tenant.0, name, fold(name), input.description.trim(), at])
    .map_err(|e| if is_unique_violation(&e) { taken(name) } else { e.into() })?;
    let id = conn.last_insert_rowid();
    set_permissions(conn, id, input.permissions.iter().map(String::as_str))?;
    get(conn, tenant, id)
}

/// Edits a custom role. Predefined roles keep their fixed definition.
pub fn update(conn: &Connection, tenant: TenantId, id: i64, input: &RoleInput) -> Result<Role> {
    let role = get(conn, tenant, id)?;
    if role.predefined {
        return Err(Error::Invalid(format!("{} is a predefined role and cannot be changed", role.name)));
    }
    validate(input)?;
    let name = input.name.trim();
    conn.prepare_cached("UPDATE roles SET name = ?2, name_key = ?3, description = ?4, updated = ?5 WHERE id = ?1")?
        .execute(params![id, name, fold(name), input.description.trim(), format_time(&now())])
        .map_err(|e| if is_unique_violation(&e) { taken(name) } else { e.into() })?;
    set_permissions(conn, id, input.permissions.iter().map(String::as_str))?;
    get(conn, tenant, id)
}

/// Deletes a custom role that no group carries.
pub fn delete(conn: &Connection, tenant: TenantId, id: i64) -> Result<Role> {
    let role = get(conn, tenant, id)?;
    if role.predefined {
        return Err(Error::Invalid(format!("{} is a predefined role and cannot be deleted", role.name)));
    }
    let groups: Vec<String> = conn
        .prepare_cached(
            "SELECT g.display_name FROM group_roles gr JOIN groups g ON g.id = gr.group_id
             WHERE gr.role_id = ?1 ORDER BY g.display_name_key LIMIT 6",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !groups.is_empty() {
        let mut names = groups.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        if groups.len() > 5 {
            names.push_str(", …");
        }
        return Err(Error::Conflict(format!(
            "{} is still assigned to {}: {names}; assign those groups another role first",
            role.name,
            if groups.len() == 1 { "a group" } else { "groups" }
        )));
    }
    conn.prepare_cached("DELETE FROM roles WHERE id = ?1")?.execute([id])?;
    Ok(role)
}

/// A role as listed: with the number of groups that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSummary {
    pub role: Role,
    pub groups: i64,
}

/// The label of a permission key (the key itself when it is not in the catalogue).
pub fn permission_label(key: &str) -> &str {
    CATALOGUE.iter().find(|c| c.key == key).map_or(key, |c| c.label)
}

/// One page of the tenant's roles, predefined first, then by name, each with
/// the number of groups carrying it. `offset` rows are skipped, `limit` returned at most.
pub fn list_page(conn: &Connection, tenant: TenantId, offset: i64, limit: i64) -> Result<Page<RoleSummary>> {
    let total: i64 =
        conn.prepare_cached("SELECT COUNT(*) FROM roles WHERE tenant_id = ?1")?.query_row([tenant.0], |r| r.get(0))?;
    if limit <= 0 || offset >= total {
        return Ok(Page { total, items: Vec::new() });
    }
    let rows: Vec<RoleSummary> = conn
        .prepare_cached(
            "SELECT r.id, r.name, r.description, r.predefined,
                    (SELECT COUNT(*) FROM group_roles gr WHERE gr.role_id = r.id)
             FROM roles r WHERE r.tenant_id = ?1
             ORDER BY r.predefined DESC, r.name_key LIMIT ?2 OFFSET ?3",
        )?
        .query_map(params![tenant.0, limit, offset.max(0)], |r| {
            Ok(RoleSummary {
                role: Role {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    description: r.get(2)?,
                    predefined: r.get(3)?,
                    permissions: Vec::new(),
                },
                groups: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let items = rows
        .into_iter()
        .map(|mut s| {
            s.role.permissions = permissions_of(conn, s.role.id)?;
            Ok(s)
        })
        .collect::<Result<_>>()?;
    Ok(Page { total, items })
}

/// The number of groups carrying role `id` of `tenant`.
pub fn group_count(conn: &Connection, tenant: TenantId, id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM group_roles gr JOIN roles r ON r.id = gr.role_id
             WHERE gr.role_id = ?1 AND r.tenant_id = ?2",
        )?
        .query_row(params![id, tenant.0], |r| r.get(0))?)
}
