//! Deep pages of an unfiltered list without walking every row before them.
//!
//! A page at offset 50,000 used to step through 50,000 index entries (about
//! 2 ms). Instead each connection remembers the row id found at every
//! [`STEP`]th position of a tenant's id order, in a temporary table of its own,
//! and starts from the nearest one. A position stays right as long as no row
//! of the tenant was deleted: new rows always take the highest id and so come
//! last. The tenant's deletion count (migration 0009) is kept with each
//! remembered position; a different count makes them all stale.

use rusqlite::{params, Connection, OptionalExtension};

use super::filter::Resource;
use super::{Result, TenantId};

/// Positions remembered: every STEP-th row. A page then walks fewer than STEP
/// index entries to reach its offset.
pub const STEP: i64 = 1000;

/// Where to start a page at `offset` (0-based, unfiltered, in id order):
/// the id of a row at or before it and how many rows remain to skip from
/// that row. None when the offset is close enough to the start.
/// `deletions` is the tenant's deletion count for `resource` (migration 0009),
/// read by the caller in this transaction.
pub fn seek(
    conn: &Connection,
    resource: Resource,
    tenant: TenantId,
    deletions: i64,
    offset: i64,
) -> Result<Option<(i64, i64)>> {
    if offset < STEP {
        return Ok(None);
    }
    conn.prepare_cached(
        "CREATE TEMP TABLE IF NOT EXISTS page_anchors (
             tenant_id  INTEGER NOT NULL,
             resource   INTEGER NOT NULL,
             position   INTEGER NOT NULL,
             row_id     INTEGER NOT NULL,
             deletions  INTEGER NOT NULL,
             PRIMARY KEY (tenant_id, resource, position)
         ) WITHOUT ROWID",
    )?
    .execute([])?;
    let (kind, table) = match resource {
        Resource::User => (0, "users"),
        Resource::Group => (1, "groups"),
    };
    let target = offset / STEP * STEP;
    let nearest: Option<(i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT position, row_id, deletions FROM temp.page_anchors
             WHERE tenant_id = ?1 AND resource = ?2 AND position <= ?3 ORDER BY position DESC LIMIT 1",
        )?
        .query_row(params![tenant.0, kind, target], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    // Position -1 is the virtual row before the first.
    let (mut position, mut row_id) = match nearest {
        Some((position, row_id, seen)) if seen == deletions => (position, row_id),
        Some(_) => {
            conn.prepare_cached("DELETE FROM temp.page_anchors WHERE tenant_id = ?1 AND resource = ?2")?
                .execute(params![tenant.0, kind])?;
            (-1, i64::MIN)
        }
        None => (-1, i64::MIN),
    };
    let mut next = conn.prepare_cached(&format!(
        "SELECT id FROM {table} WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT 1 OFFSET ?3"
    ))?;
    let mut remember = conn.prepare_cached(
        "INSERT OR REPLACE INTO temp.page_anchors (tenant_id, resource, position, row_id, deletions)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    while position < target {
        let wanted = (position / STEP + 1) * STEP;
        let Some(found) =
            next.query_row(params![tenant.0, row_id, wanted - position - 1], |r| r.get::<_, i64>(0)).optional()?
        else {
            break;
        };
        remember.execute(params![tenant.0, kind, wanted, found, deletions])?;
        (position, row_id) = (wanted, found);
    }
    Ok((position >= 0).then_some((row_id, offset - position)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbError;
    use crate::domain::filter::Filter;
    use crate::domain::groups::{self, GroupData};
    use crate::domain::users::{self, UserData};
    use crate::domain::{tenants, ListQuery};

    fn db() -> (Connection, TenantId, TenantId) {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut conn).unwrap();
        let other = tenants::create(&conn, "other", "Other").unwrap().id;
        (conn, TenantId(1), other)
    }

    fn add_users(conn: &Connection, tenant: TenantId, other: TenantId, from: usize, to: usize) {
        let tx = conn.unchecked_transaction().unwrap();
        for i in from..to {
            let data = |t: &str| UserData { user_name: format!("{t}{i}"), ..UserData::default() };
            users::create(&tx, tenant, &data("u")).unwrap();
            // The other tenant's rows interleave with this one's ids.
            if i % 3 == 0 {
                users::create(&tx, other, &data("o")).unwrap();
            }
        }
        tx.commit().unwrap();
    }

    /// A page as the list returns it (using remembered positions when deep).
    fn page(conn: &Connection, tenant: TenantId, offset: i64) -> Vec<String> {
        let query = ListQuery { filter: Filter::Const(true), sort: None, offset, limit: 7 };
        users::list(conn, tenant, &query).unwrap().items.into_iter().map(|u| u.user_name).collect()
    }

    /// The same page by walking every row before it.
    fn walked(conn: &Connection, tenant: TenantId, offset: i64) -> Vec<String> {
        let mut stmt =
            conn.prepare("SELECT user_name FROM users WHERE tenant_id = ?1 ORDER BY id LIMIT 7 OFFSET ?2").unwrap();
        stmt.query_map(params![tenant.0, offset], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    fn check(conn: &Connection, tenant: TenantId, offsets: &[i64]) {
        for &offset in offsets {
            assert_eq!(page(conn, tenant, offset), walked(conn, tenant, offset), "offset {offset}");
        }
    }

    #[test]
    fn deep_pages_match_a_full_walk_through_inserts_and_deletes() {
        let (conn, t, other) = db();
        add_users(&conn, t, other, 0, 3_500);
        let offsets = [0, 999, 1_000, 1_001, 1_999, 2_000, 2_345, 3_000, 3_493, 3_499, 3_500, 9_000];
        check(&conn, t, &offsets);
        let remembered = |conn: &Connection| -> i64 {
            conn.query_row("SELECT COUNT(*) FROM temp.page_anchors", [], |r| r.get(0)).unwrap()
        };
        assert_eq!(remembered(&conn), 3, "positions 1000, 2000 and 3000");
        // Appended rows leave earlier positions where they were.
        add_users(&conn, t, other, 3_500, 4_200);
        check(&conn, t, &[3_000, 3_999, 4_000, 4_150]);
        assert_eq!(remembered(&conn), 4);
        // A delete before a remembered position moves every later row up one.
        for name in ["u10", "u1500", "u4100"] {
            let id = users::find_by_user_name(&conn, t, name).unwrap().unwrap().id;
            users::delete(&conn, t, &id, None).unwrap();
        }
        check(&conn, t, &offsets);
        check(&conn, t, &[4_000, 4_190]);
        // The other tenant's deletions and pages are its own.
        let id = users::find_by_user_name(&conn, other, "o3").unwrap().unwrap().id;
        users::delete(&conn, other, &id, None).unwrap();
        check(&conn, other, &[0, 1_000, 1_350, 1_399]);
        check(&conn, t, &offsets);
    }

    #[test]
    fn deep_group_pages_match_a_full_walk() {
        let (conn, t, _) = db();
        for i in 0..2_100 {
            groups::create(&conn, t, &GroupData { display_name: format!("g{i}"), external_id: None }).unwrap();
        }
        let names = |offset: i64| -> Vec<String> {
            let query = ListQuery { filter: Filter::Const(true), sort: None, offset, limit: 3 };
            groups::list(&conn, t, &query).unwrap().items.into_iter().map(|g| g.display_name).collect()
        };
        assert_eq!(names(2_050), ["g2050", "g2051", "g2052"]);
        let id = groups::list(&conn, t, &ListQuery { filter: Filter::Const(true), sort: None, offset: 5, limit: 1 })
            .unwrap()
            .items[0]
            .id
            .clone();
        groups::delete(&conn, t, &id, None).unwrap();
        assert_eq!(names(2_050), ["g2051", "g2052", "g2053"]);
        assert_eq!(names(1_000), ["g1001", "g1002", "g1003"]);
    }

    #[test]
    fn positions_outlive_the_read_transaction_that_found_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("p.db"), crate::db::Durability::Normal).unwrap();
        let t = TenantId(1);
        db.write(|tx| {
            for i in 0..2_600 {
                users::create(tx, t, &UserData { user_name: format!("u{i}"), ..UserData::default() })?;
            }
            Ok::<_, crate::domain::Error>(())
        })
        .unwrap();
        let query = ListQuery { filter: Filter::Const(true), sort: None, offset: 2_550, limit: 2 };
        let names: Vec<String> =
            db.read(|tx| users::list(tx, t, &query)).unwrap().items.into_iter().map(|u| u.user_name).collect();
        assert_eq!(names, ["u2550", "u2551"]);
        // The next request on this connection starts from them instead of walking again.
        let remembered: i64 = db
            .read(|tx| tx.query_row("SELECT COUNT(*) FROM temp.page_anchors", [], |r| r.get(0)).map_err(DbError::from))
            .unwrap();
        assert_eq!(remembered, 2);
    }
}
