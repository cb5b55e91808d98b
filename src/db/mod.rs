//! SQLite access: one writer connection, a small pool of readers, and one
//! transaction per unit of work.
//!
//! SQLite has a single writer. Funnelling every write through one pooled
//! connection keeps writers from fighting over the lock (a pool of writers made
//! the busy handler back off for seconds under load); readers run in parallel
//! on WAL snapshots.

mod group_commit;
mod migrate;
pub mod wal_writes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};

pub use group_commit::WriteQueue;
pub use migrate::{migrate, MIGRATIONS};

/// How much a commit must survive: a process crash (`Normal`) or a power cut (`Full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    Normal,
    Full,
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot create the database folder {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Migration(String),
}

impl DbError {
    /// True when the database was only momentarily unavailable (locked by
    /// another process past the busy timeout, or no pooled connection free in
    /// time): the client should retry, and it is not a server fault.
    pub fn is_busy(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            }
            DbError::Pool(_) => true,
            _ => false,
        }
    }
}

/// The database: a single-connection writer pool and a reader pool on one file.
#[derive(Clone)]
pub struct Db {
    writer: Pool<SqliteConnectionManager>,
    readers: Pool<SqliteConnectionManager>,
    path: PathBuf,
}

const BUSY_TIMEOUT_MS: u32 = 5_000;
const READERS: u32 = 4;

impl Db {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path, durability: Durability) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::Folder { path: dir.to_path_buf(), source })?;
        }
        // Before the first connection, so that every connection writes its WAL through it.
        wal_writes::register();
        let manager = |read_only: bool| {
            SqliteConnectionManager::file(path).with_init(move |c| configure(c, durability, read_only))
        };
        let writer = Pool::builder()
            .max_size(1)
            .connection_timeout(Duration::from_secs(30))
            .test_on_check_out(false)
            .build(manager(false))?;
        {
            let mut conn = writer.get()?;
            migrate(&mut conn)?;
        }
        // No health check on each checkout: r2d2's default runs a statement
        // (4 % of a lookup) to test a connection to a local file that cannot drop.
        let readers =
            Pool::builder().max_size(READERS).min_idle(Some(1)).test_on_check_out(false).build(manager(true))?;
        Ok(Db { writer, readers, path: path.to_path_buf() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one IMMEDIATE write transaction: committed if `f` returns
    /// `Ok`, rolled back otherwise, so a failed request changes nothing.
    pub fn write<T, E>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let mut conn = self.writer.get().map_err(DbError::from)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(DbError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(DbError::from)?;
        Ok(value)
    }

    /// Runs `f` in one read transaction, so that a page and its total agree.
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let mut conn = self.readers.get().map_err(DbError::from)?;
        in_read_transaction(&mut conn, f)
    }

    /// Like [`Db::read`], but only if a reader connection is free right now;
    /// otherwise hands `f` back unrun. Lets a short lookup run where it is.
    pub fn try_read<T, E, F>(&self, f: F) -> Result<Result<T, E>, F>
    where
        E: From<DbError>,
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        match self.readers.try_get() {
            Some(mut conn) => Ok(in_read_transaction(&mut conn, f)),
            None => Err(f),
        }
    }

    /// Like [`Db::try_read`] for `f` that runs exactly one statement: it runs
    /// without BEGIN and COMMIT, as SQLite gives a lone statement a read
    /// transaction of its own. Saves two statements on every SCIM request's
    /// token check.
    pub fn try_read_one<T, E, F>(&self, f: F) -> Result<Result<T, E>, F>
    where
        F: FnOnce(&Connection) -> Result<T, E>,
    {
        match self.readers.try_get() {
            Some(conn) => Ok(f(&conn)),
            None => Err(f),
        }
    }

    /// Copies the database to `target` with SQLite's online backup: a
    /// consistent snapshot taken while the server keeps serving. Returns the
    /// number of pages copied. `target` must not exist.
    pub fn backup(&self, target: &Path) -> Result<i32, DbError> {
        if target.exists() {
            return Err(DbError::Migration(format!("{} already exists; choose a new file", target.display())));
        }
        let source = self.readers.get()?;
        let mut copy = rusqlite::Connection::open(target)?;
        let pages = {
            let backup = rusqlite::backup::Backup::new(&source, &mut copy)?;
            // Small steps with short pauses let writers proceed; a step restarts if a write intervenes.
            backup.run_to_completion(256, Duration::from_millis(5), None)?;
            backup.progress().pagecount
        };
        let ok: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(DbError::Migration(format!("the backup failed its integrity check: {ok}")));
        }
        Ok(pages)
    }

    /// True when a reader can run a query (used by /healthz).
    pub fn is_reachable(&self) -> bool {
        self.readers.get().ok().and_then(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).ok()) == Some(1)
    }
}

/// Runs `f` in one read transaction on `conn`, so that a page and its total agree.
///
/// BEGIN and COMMIT are cached statements: rusqlite's `Transaction` compiles
/// both anew each time, which was 9 % of a GET by id. COMMIT rather than
/// ROLLBACK: nothing in the database file changes, and what the connection
/// remembers in its TEMP tables (domain::paging's positions) is kept.
fn in_read_transaction<T, E>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
where
    E: From<DbError>,
{
    run_cached(conn, "BEGIN")?;
    let open = OpenRead(conn);
    let value = f(open.0)?;
    // Ending the transaction releases the snapshot.
    run_cached(open.0, "COMMIT")?;
    Ok(value)
}

fn run_cached(conn: &Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Ends a read transaction that `f` left early (an error or a panic), so the
/// pooled connection is not handed out again inside it.
struct OpenRead<'c>(&'c Connection);

impl Drop for OpenRead<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() && run_cached(self.0, "COMMIT").is_err() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

fn configure(conn: &mut Connection, durability: Durability, read_only: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS.into()))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // The server checkpoints from its own thread and, when the WAL is
        // long, between two batches (group_commit); this is only the backstop
        // (100 MB), so commits seldom pay for a checkpoint and its fsyncs.
        conn.pragma_update(None, "wal_autocheckpoint", 25_000)?;
    }
    // Each request's savepoint journals the pages it touches: keep that in memory.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    let sync = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.set_prepared_statement_cache_capacity(64);
    // Plans must not depend on bound values: otherwise every statement with a
    // `LIMIT ?` is compiled again each time it runs with new values (SQLite
    // treats a bound integer LIMIT as plan-relevant). Our plans rest on the
    // seeded statistics, not on the values.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    register_functions(conn)
}

/// `scim_fold(text)`: the case folding used for caseExact=false attributes,
/// the same as [`fold`] so that stored keys and query values agree.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "scim_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(t) => Some(fold(&String::from_utf8_lossy(t))),
                _ => None,
            })
        },
    )
}

/// Case folding for case-insensitive comparison and uniqueness (full Unicode lowercase).
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_fails_or_panics_leaves_its_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("r.db"), Durability::Normal).unwrap();
        let failed: Result<(), DbError> = db.read(|_| Err(DbError::Migration("no".into())));
        assert!(failed.is_err());
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            db.read(|_| -> Result<(), DbError> { panic!("in a read") })
        }));
        assert!(panicked.is_err());
        // Every pooled reader must begin a new transaction cleanly.
        for _ in 0..READERS * 2 {
            let autocommit_inside: bool = db.read(|c| Ok::<_, DbError>(c.is_autocommit())).unwrap();
            assert!(!autocommit_inside, "the read runs inside its own transaction");
            let outside = db.readers.get().unwrap();
            assert!(outside.is_autocommit(), "a pooled reader was returned inside a transaction");
        }
    }

    /// A one-statement read runs with no transaction of its own around it,
    /// and gives its closure back when no reader is free.
    #[test]
    fn a_one_statement_read_runs_outside_a_transaction_and_waits_for_no_reader() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("o.db"), Durability::Normal).unwrap();
        let (autocommit, one): (bool, i64) = db
            .try_read_one(|c| Ok::<_, DbError>((c.is_autocommit(), c.query_row("SELECT 1", [], |r| r.get(0))?)))
            .unwrap_or_else(|_| panic!("a reader is free"))
            .unwrap();
        assert!(autocommit && one == 1);
        let held: Vec<_> = (0..READERS).map(|_| db.readers.get().unwrap()).collect();
        assert!(db.try_read_one(|_| Ok::<_, DbError>(())).is_err(), "no reader free: the closure comes back");
        drop(held);
    }
}
