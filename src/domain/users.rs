//! Users as provisioned by the identity provider.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::filter::Resource;
pub use super::profile::Profile;
use super::{format_time, is_unique_violation, now, parse_time, select_page, Error, ListQuery, Page, Result, TenantId};
use crate::db::fold;

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub row_id: i64,
    /// The stable public id (a UUID), as given to the provisioning client.
    pub id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// `Some(false)` is a suspended user; `None` means the client never said.
    pub active: Option<bool>,
    /// Every other attribute, as the client sent it (after validation).
    pub profile: Profile,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub version: i64,
}

/// What a create or a full replace writes.
#[derive(Debug, Clone, Default)]
pub struct UserData {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: Option<bool>,
    /// Serialised when the data is built, so that the single writer thread
    /// only copies the text.
    pub profile: Profile,
    /// The e-mail addresses in `profile`, for the lookup index.
    pub emails: Vec<EmailEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailEntry {
    pub value: String,
    pub kind: Option<String>,
    pub primary: bool,
    pub display: Option<String>,
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
}

const COLUMNS: &str = "r.id, r.scim_id, r.user_name, r.external_id, r.display_name, r.active, \
                       r.profile, r.created, r.last_modified, r.version";

fn from_row(r: &Row) -> rusqlite::Result<User> {
    let profile: String = r.get(6)?;
    Ok(User {
        row_id: r.get(0)?,
        id: r.get(1)?,
        user_name: r.get(2)?,
        external_id: r.get(3)?,
        display_name: r.get(4)?,
        active: r.get(5)?,
        profile: Profile::from_text(profile),
        created: parse_time(&r.get::<_, String>(7)?),
        last_modified: parse_time(&r.get::<_, String>(8)?),
        version: r.get(9)?,
    })
}

fn taken(data: &UserData) -> Error {
    Error::Conflict(format!("userName {:?} is already taken in this tenant", data.user_name))
}

fn validate(data: &UserData) -> Result<()> {
    if data.user_name.trim().is_empty() {
        return Err(Error::Invalid("userName is required".into()));
    }
    Ok(())
}

/// Creates a user with a new id.
pub fn create(conn: &Connection, tenant: TenantId, data: &UserData) -> Result<User> {
    validate(data)?;
    // Time-ordered (UUIDv7): new ids go to the end of the (tenant_id, scim_id)
    // index instead of a random page of it, one page fewer per create.
    let id = uuid::Uuid::now_v7().to_string();
    let at = now();
    let profile = data.profile.stored_copy();
    conn.prepare_cached(
        "INSERT INTO users (tenant_id, scim_id, user_name, user_name_key, external_id,
                            display_name, active, profile, created, last_modified, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1)",
    )?
    .execute(params![
        tenant.0,
        id,
        data.user_name,
        fold(&data.user_name),
        data.external_id,
        data.display_name,
        data.active,
        profile.text(),
        format_time(&at)
    ])
    .map_err(|e| if is_unique_violation(&e) { taken(data) } else { e.into() })?;
    let row_id = conn.last_insert_rowid();
    // Counted here rather than by a trigger (migration 0010).
    conn.prepare_cached("UPDATE tenants SET user_count = user_count + 1 WHERE id = ?1")?.execute([tenant.0])?;
    write_emails(conn, tenant, row_id, &data.emails)?;
    Ok(User {
        row_id,
        id,
        user_name: data.user_name.clone(),
        external_id: data.external_id.clone(),
        display_name: data.display_name.clone(),
        active: data.active,
        profile,
        created: at,
        last_modified: at,
        version: 1,
    })
}

fn write_emails(conn: &Connection, tenant: TenantId, row_id: i64, emails: &[EmailEntry]) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO user_emails (user_id, position, tenant_id, value, value_key, type, is_primary, display)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (position, e) in emails.iter().enumerate() {
        insert.execute(params![
            row_id,
            position as i64,
            tenant.0,
            e.value,
            fold(&e.value),
            e.kind,
            e.primary,
            e.display
        ])?;
    }
    Ok(())
}

/// Finds a user by id.
pub fn find(conn: &Connection, tenant: TenantId, id: &str) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users r WHERE r.tenant_id = ?1 AND r.scim_id = ?2"))?
        .query_row(params![tenant.0, id], from_row)
        .optional()?)
}

/// Gets a user by id or fails with NotFound.
pub fn get(conn: &Connection, tenant: TenantId, id: &str) -> Result<User> {
    find(conn, tenant, id)?.ok_or(Error::NotFound("user"))
}

/// Finds a user by userName (case-insensitive).
pub fn find_by_user_name(conn: &Connection, tenant: TenantId, user_name: &str) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users r WHERE r.tenant_id = ?1 AND r.user_name_key = ?2"))?
        .query_row(params![tenant.0, fold(user_name)], from_row)
        .optional()?)
}

/// Finds a user by row id.
pub fn find_by_row(conn: &Connection, tenant: TenantId, row_id: i64) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM users r WHERE r.id = ?1 AND r.tenant_id = ?2"))?
        .query_row(params![row_id, tenant.0], from_row)
        .optional()?)
}

/// Users whose externalId is exactly `external_id`, oldest first, at most `limit`.
pub fn find_by_external_id(conn: &Connection, tenant: TenantId, external_id: &str, limit: i64) -> Result<Vec<User>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users r WHERE r.tenant_id = ?1 AND r.external_id = ?2 ORDER BY r.id LIMIT ?3"
        ))?
        .query_map(params![tenant.0, external_id, limit], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Users with the e-mail address `email` (case-insensitive), oldest first, at most `limit`.
pub fn find_by_email(conn: &Connection, tenant: TenantId, email: &str, limit: i64) -> Result<Vec<User>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users r WHERE r.tenant_id = ?1 AND r.id IN (
                 SELECT e.user_id FROM user_emails e WHERE e.tenant_id = ?1 AND e.value_key = ?2)
             ORDER BY r.id LIMIT ?3"
        ))?
        .query_map(params![tenant.0, fold(email), limit], from_row)?
        .collect::<rusqlite::Result<_>>()?)
}

pub fn check_version(user: &User, expected: Option<i64>) -> Result<()> {
    match expected {
        Some(v) if v != user.version => Err(Error::VersionMismatch),
        _ => Ok(()),
    }
}

/// Replaces every attribute of a user, keeping its id and creation time.
/// With `expected_version`, fails unless the stored version is that one.
pub fn replace(
    conn: &Connection,
    tenant: TenantId,
    id: &str,
    data: &UserData,
    expected_version: Option<i64>,
) -> Result<User> {
    validate(data)?;
    let current = get(conn, tenant, id)?;
    check_version(&current, expected_version)?;
    write(conn, tenant, current, data)
}

/// Writes `data` over a user already read in this transaction (a PATCH has
/// it in hand: no second read of the row).
pub fn update(conn: &Connection, tenant: TenantId, current: User, data: &UserData) -> Result<User> {
    validate(data)?;
    write(conn, tenant, current, data)
}

/// The UPDATE itself, for validated data. Only what changed is written: a
/// typical Entra PATCH (a title, `active`) then leaves the userName and
/// externalId indexes and the e-mail index alone, which halves the pages it
/// dirties (and so the WAL the writer produces).
fn write(conn: &Connection, tenant: TenantId, current: User, data: &UserData) -> Result<User> {
    let at = now();
    let profile = data.profile.stored_copy();
    if data.user_name != current.user_name || data.external_id != current.external_id {
        conn.prepare_cached(
            "UPDATE users SET user_name = ?2, user_name_key = ?3, external_id = ?4, display_name = ?5,
                              active = ?6, profile = ?7, last_modified = ?8, version = version + 1
             WHERE id = ?1",
        )?
        .execute(params![
            current.row_id,
            data.user_name,
            fold(&data.user_name),
            data.external_id,
            data.display_name,
            data.active,
            profile.text(),
            format_time(&at)
        ])
        .map_err(|e| if is_unique_violation(&e) { taken(data) } else { e.into() })?;
    } else {
        conn.prepare_cached(
            "UPDATE users SET display_name = ?2, active = ?3, profile = ?4, last_modified = ?5, version = version + 1
             WHERE id = ?1",
        )?
        .execute(params![current.row_id, data.display_name, data.active, profile.text(), format_time(&at)])?;
    }
    // The e-mail index is derived from the profile's `emails`.
    if current.profile.get("emails") != data.profile.get("emails") {
        conn.prepare_cached("DELETE FROM user_emails WHERE user_id = ?1")?.execute([current.row_id])?;
        write_emails(conn, tenant, current.row_id, &data.emails)?;
    }
    Ok(User {
        user_name: data.user_name.clone(),
        external_id: data.external_id.clone(),
        display_name: data.display_name.clone(),
        active: data.active,
        profile,
        last_modified: at,
        version: current.version + 1,
        ..current
    })
}

/// Deletes a user and, by cascade, its memberships and e-mail index rows.
pub fn delete(conn: &Connection, tenant: TenantId, id: &str, expected_version: Option<i64>) -> Result<User> {
    let user = get(conn, tenant, id)?;
    check_version(&user, expected_version)?;
    // Groups that lose a member change too: their version and lastModified move.
    conn.prepare_cached(
        "UPDATE groups SET version = version + 1, last_modified = ?2
         WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?1)",
    )?
    .execute(params![user.row_id, format_time(&now())])?;
    conn.prepare_cached("DELETE FROM users WHERE id = ?1")?.execute([user.row_id])?;
    Ok(user)
}

/// Lists users matching `query`, one page at a time.
pub fn list(conn: &Connection, tenant: TenantId, query: &ListQuery) -> Result<Page<User>> {
    select_page(conn, Resource::User, COLUMNS, tenant, query, from_row)
}

/// The groups of each of `users` (by row id), ordered by group name.
///
/// A page in id order holds users with nearby row ids: their memberships are
/// then read in one walk over the member index, from the lowest row id to
/// the highest, and rows of users not asked for are skipped. That walk reads
/// at most [`DENSE_SPREAD`] times as many users' memberships as were asked
/// for; a sparser set (a sorted page, one user) takes one cached statement
/// per user instead. Either way the member index is read, never the table,
/// and the names are sorted here: SQLite's sorter cost more than the lookup
/// for a user in one or two groups.
pub fn groups_of(conn: &Connection, users: &[i64]) -> Result<HashMap<i64, Vec<GroupRef>>> {
    let (Some(&low), Some(&high)) = (users.iter().min(), users.iter().max()) else { return Ok(HashMap::new()) };
    let mut keyed: HashMap<i64, Vec<(String, GroupRef)>> = users.iter().map(|&u| (u, Vec::new())).collect();
    let mut add = |r: &rusqlite::Row| -> rusqlite::Result<()> {
        if let Some(groups) = keyed.get_mut(&r.get(0)?) {
            groups.push((r.get(3)?, GroupRef { id: r.get(1)?, display_name: r.get(2)? }));
        }
        Ok(())
    };
    if users.len() >= 8 && high - low < DENSE_SPREAD * users.len() as i64 {
        let mut stmt = conn.prepare_cached(
            "SELECT m.user_id, g.scim_id, g.display_name, g.display_name_key
             FROM group_members m JOIN groups g ON g.id = m.group_id
             WHERE m.user_id BETWEEN ?1 AND ?2",
        )?;
        let mut rows = stmt.query([low, high])?;
        while let Some(r) = rows.next()? {
            add(r)?;
        }
    } else {
        let mut stmt = conn.prepare_cached(
            "SELECT m.user_id, g.scim_id, g.display_name, g.display_name_key
             FROM group_members m JOIN groups g ON g.id = m.group_id
             WHERE m.user_id = ?1",
        )?;
        for &user in users {
            let mut rows = stmt.query([user])?;
            while let Some(r) = rows.next()? {
                add(r)?;
            }
        }
    }
    Ok(keyed
        .into_iter()
        .map(|(user, mut groups)| {
            // BINARY collation, as `ORDER BY g.display_name_key` would sort.
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            (user, groups.into_iter().map(|(_, g)| g).collect())
        })
        .collect())
}

/// How much wider than the set of users asked for the one-walk read of
/// [`groups_of`] may be (in row ids per user asked for).
const DENSE_SPREAD: i64 = 4;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    const T: TenantId = TenantId(1);

    fn data(user_name: &str, external_id: &str, emails: &[&str], title: &str) -> UserData {
        let list: Vec<Value> = emails.iter().map(|e| json!({"value": e, "type": "work"})).collect();
        let mut profile = Map::new();
        profile.insert("title".into(), json!(title));
        if !list.is_empty() {
            profile.insert("emails".into(), Value::Array(list));
        }
        UserData {
            user_name: user_name.into(),
            external_id: Some(external_id.into()),
            profile: Profile::from_map(profile),
            emails: emails
                .iter()
                .map(|e| EmailEntry { value: e.to_string(), kind: Some("work".into()), primary: false, display: None })
                .collect(),
            ..UserData::default()
        }
    }

    fn names(users: Vec<User>) -> Vec<String> {
        users.into_iter().map(|u| u.user_name).collect()
    }

    /// Both ways of reading groups give what SQLite's own ORDER BY gives for
    /// each user: the same groups in the same order, nothing of users not
    /// asked for (another tenant's among them), and empty lists for users in
    /// no group.
    #[test]
    fn groups_of_a_page_match_one_lookup_per_user() {
        use crate::domain::groups::{self, GroupData};
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let other = crate::domain::tenants::create(&conn, "other", "Other").unwrap().id;
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for i in 0..60 {
            ours.push(create(&conn, T, &data(&format!("u{i}"), &format!("e{i}"), &[], "")).unwrap());
            if i % 3 == 0 {
                theirs.push(create(&conn, other, &data(&format!("o{i}"), &format!("x{i}"), &[], "")).unwrap());
            }
        }
        // Names whose folded order differs from their creation order.
        let names = ["zeta", "Alpha", "beta", "Mu", "alpha two"];
        let groups: Vec<_> = names
            .iter()
            .map(|n| groups::create(&conn, T, &GroupData { display_name: n.to_string(), external_id: None }).unwrap())
            .collect();
        for (i, user) in ours.iter().enumerate() {
            let wanted: Vec<String> = vec![user.id.clone()];
            for (j, group) in groups.iter().enumerate() {
                if i % (j + 2) == 0 {
                    groups::add_members(&conn, T, group, &wanted).unwrap();
                }
            }
        }
        let shared = groups::create(&conn, other, &GroupData { display_name: "Theirs".into(), external_id: None });
        let their_ids: Vec<String> = theirs.iter().map(|u| u.id.clone()).collect();
        groups::add_members(&conn, other, &shared.unwrap(), &their_ids).unwrap();

        // What SQLite gives for one user, sorted by the database.
        let one_by_one = |ids: &[i64]| -> HashMap<i64, Vec<GroupRef>> {
            let mut stmt = conn
                .prepare(
                    "SELECT g.scim_id, g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id
                     WHERE m.user_id = ?1 ORDER BY g.display_name_key",
                )
                .unwrap();
            ids.iter()
                .map(|&id| {
                    let rows = stmt.query_map([id], |r| Ok(GroupRef { id: r.get(0)?, display_name: r.get(1)? }));
                    (id, rows.unwrap().collect::<rusqlite::Result<Vec<_>>>().unwrap())
                })
                .collect()
        };
        let row_ids: Vec<i64> = ours.iter().map(|u| u.row_id).collect();
        let every_other: Vec<i64> = row_ids.iter().copied().step_by(2).collect();
        let sparse: Vec<i64> = row_ids.iter().copied().step_by(9).collect();
        for set in [&row_ids[..], &row_ids[10..30], &every_other[..], &sparse[..], &row_ids[..1], &row_ids[3..5]] {
            let together = groups_of(&conn, set).unwrap();
            assert_eq!(together, one_by_one(set));
            assert_eq!(together.len(), set.len());
        }
        let all = groups_of(&conn, &row_ids).unwrap();
        assert!(all.values().any(|g| g.len() >= 3) && all.values().any(Vec::is_empty), "{all:?}");
        assert!(all.values().flatten().all(|g| g.display_name != "Theirs"));
        let first = &all[&ours[0].row_id];
        let shown: Vec<&str> = first.iter().map(|g| g.display_name.as_str()).collect();
        assert_eq!(shown, ["Alpha", "alpha two", "beta", "Mu", "zeta"], "user 0 is in every group, by folded name");
    }

    #[test]
    fn updates_keep_every_index_in_step_whichever_columns_change() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let ada = create(&conn, T, &data("ada", "e1", &["ada@x.org"], "Eng")).unwrap();
        // Only the profile changes: the indexes stay as they were.
        let ada = update(&conn, T, ada, &data("ada", "e1", &["ada@x.org"], "Lead")).unwrap();
        assert_eq!(get(&conn, T, &ada.id).unwrap().profile["title"], "Lead");
        assert_eq!(names(find_by_email(&conn, T, "ADA@x.org", 5).unwrap()), ["ada"]);
        assert_eq!(names(find_by_external_id(&conn, T, "e1", 5).unwrap()), ["ada"]);
        // New addresses replace the old ones in the e-mail index.
        let ada = update(&conn, T, ada, &data("ada", "e1", &["ada@y.org"], "Lead")).unwrap();
        assert!(find_by_email(&conn, T, "ada@x.org", 5).unwrap().is_empty());
        assert_eq!(names(find_by_email(&conn, T, "ada@y.org", 5).unwrap()), ["ada"]);
        // A new userName and externalId move in their indexes; the old name is free again.
        let ada = update(&conn, T, ada, &data("ada.l", "e2", &["ada@y.org"], "Lead")).unwrap();
        assert!(find_by_user_name(&conn, T, "ada").unwrap().is_none());
        assert_eq!(find_by_user_name(&conn, T, "ADA.L").unwrap().map(|u| u.id), Some(ada.id.clone()));
        assert!(find_by_external_id(&conn, T, "e1", 5).unwrap().is_empty());
        assert_eq!(names(find_by_external_id(&conn, T, "e2", 5).unwrap()), ["ada.l"]);
        create(&conn, T, &data("ada", "e3", &[], "New")).unwrap();
        // Taking a name in use is refused and changes nothing.
        assert!(matches!(update(&conn, T, ada.clone(), &data("ada", "e2", &[], "X")), Err(Error::Conflict(_))));
        assert_eq!(get(&conn, T, &ada.id).unwrap().version, 4);
    }
}
