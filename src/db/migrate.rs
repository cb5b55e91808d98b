//! Numbered, append-only migrations from `migrations/`, applied at start and
//! recorded in `schema_migrations`.

use rusqlite::{params, Connection, OptionalExtension};

use super::DbError;

/// Every migration this binary knows, in order. Never edit or reorder a released one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    ("0002_access", include_str!("../../migrations/0002_access.sql")),
    ("0003_admins", include_str!("../../migrations/0003_admins.sql")),
    ("0004_log_filters", include_str!("../../migrations/0004_log_filters.sql")),
    ("0005_planner_stats", include_str!("../../migrations/0005_planner_stats.sql")),
    ("0006_tenant_order", include_str!("../../migrations/0006_tenant_order.sql")),
    ("0007_sso", include_str!("../../migrations/0007_sso.sql")),
    ("0008_resource_counts", include_str!("../../migrations/0008_resource_counts.sql")),
    ("0009_deletions", include_str!("../../migrations/0009_deletions.sql")),
    ("0010_counted_on_insert", include_str!("../../migrations/0010_counted_on_insert.sql")),
    ("0011_log_failure_indexes", include_str!("../../migrations/0011_log_failure_indexes.sql")),
];

/// Brings the database up to date, one transaction per migration.
/// Refuses a database written by a newer version of scim-portal.
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name    TEXT NOT NULL,
             applied TEXT NOT NULL
         )",
    )?;
    let current: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(0);
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(DbError::Migration(format!(
            "the database is at schema version {current}, but this scim-portal only knows \
             versions up to {known}: it was written by a newer release. Run that release, \
             or restore a backup made by this one."
        )));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql).map_err(|e| DbError::Migration(format!("migration {name} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied)
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            params![version, name],
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_all_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0)).unwrap();
        assert_eq!(n, MIGRATIONS.len() as i64);
        let slug: String = conn.query_row("SELECT slug FROM tenants", [], |r| r.get(0)).unwrap();
        assert_eq!(slug, "default");
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (?1, 'future', 'now')", [MIGRATIONS.len() as i64 + 1])
            .unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer release"), "{err}");
    }
}
