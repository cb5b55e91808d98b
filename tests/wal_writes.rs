//! The WAL-writing VFS: one write per commit, and a WAL that SQLite can
//! still recover from on its own (checksums, frame order, commit markers).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};
use scim_portal::db::wal_writes::{register, wal_writes_on_this_thread};

fn open(path: &Path) -> Connection {
    assert!(register(), "the VFS registers over SQLite's default");
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    // No automatic checkpoint: the frames must stay in the WAL to be checked.
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB NOT NULL, k TEXT NOT NULL UNIQUE)",
    )
    .unwrap();
    conn
}

/// Inserts `n` rows from `first`, each about 1 KiB, in one transaction.
fn insert(conn: &mut Connection, first: i64, n: i64) {
    let tx = conn.transaction().unwrap();
    for i in first..first + n {
        tx.execute("INSERT INTO t (id, body, k) VALUES (?1, ?2, ?3)", params![i, body(i), key(i)]).unwrap();
    }
    tx.commit().unwrap();
}

fn body(i: i64) -> Vec<u8> {
    (0..1000).map(|j| ((i * 31 + j) % 251) as u8).collect()
}

fn key(i: i64) -> String {
    // Spread over the index so that a commit dirties pages all over it.
    format!("{:016x}", (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn wal_frames(conn: &Connection) -> i64 {
    let wal = PathBuf::from(format!("{}-wal", conn.path().unwrap()));
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    (std::fs::metadata(wal).unwrap().len() as i64 - 32) / (page + 24)
}

/// A new database in its own folder (kept as long as the folder is).
fn fresh() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = open(&dir.path().join("t.db"));
    (dir, conn)
}

/// Checks the rows of a crash copy of `conn`'s files (see `crash_copy`).
fn check_recovered(conn: &Connection, ids: impl Iterator<Item = i64>) {
    let copy_dir = tempfile::tempdir().unwrap();
    check_rows(&crash_copy(conn, copy_dir.path()), ids);
}

/// What a crash leaves: the database and WAL files as they are, no shared
/// memory, so that opening the copy makes SQLite recover from the WAL alone.
fn crash_copy(conn: &Connection, to: &Path) -> Connection {
    let from = PathBuf::from(conn.path().unwrap());
    let db = to.join("copy.db");
    std::fs::copy(&from, &db).unwrap();
    std::fs::copy(format!("{}-wal", from.display()), format!("{}-wal", db.display())).unwrap();
    Connection::open(db).unwrap()
}

fn check_rows(conn: &Connection, ids: impl Iterator<Item = i64>) {
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(ok, "ok");
    let mut expected = 0;
    for i in ids {
        let (b, k): (Vec<u8>, String) =
            conn.query_row("SELECT body, k FROM t WHERE id = ?1", [i], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!((b, k), (body(i), key(i)), "row {i}");
        expected += 1;
    }
    let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    assert_eq!(n, expected);
}

#[test]
fn a_commit_of_many_pages_is_one_write() {
    let (_dir, mut conn) = fresh();
    insert(&mut conn, 0, 1); // writes the WAL header as well
    let frames_before = wal_frames(&conn);
    let writes_before = wal_writes_on_this_thread();
    insert(&mut conn, 1, 40);
    let frames = wal_frames(&conn) - frames_before;
    assert!(frames >= 15, "the commit wrote {frames} frames");
    // Without the VFS: two writes per frame.
    assert_eq!(wal_writes_on_this_thread() - writes_before, 1);

    // Another connection sees the commit at once, and so does recovery.
    let reader = Connection::open(conn.path().unwrap()).unwrap();
    check_rows(&reader, 0..41);
    check_recovered(&conn, 0..41);
}

#[test]
fn many_commits_recover_from_the_wal_alone() {
    let (_dir, mut conn) = fresh();
    for batch in 0..50 {
        insert(&mut conn, batch * 8, 8);
    }
    conn.execute("UPDATE t SET k = k || '-x' WHERE id % 3 = 0", []).unwrap();
    conn.execute("UPDATE t SET k = substr(k, 1, 16) WHERE id % 3 = 0", []).unwrap();
    conn.execute("DELETE FROM t WHERE id >= 390", []).unwrap();
    check_recovered(&conn, 0..390);
}

#[test]
fn a_transaction_larger_than_the_cache_spills_and_still_commits() {
    let (_dir, mut conn) = fresh();
    // A tiny page cache makes SQLite write frames mid-transaction and then
    // overwrite some of them (rewriting their checksums at commit).
    conn.pragma_update(None, "cache_size", 10).unwrap();
    insert(&mut conn, 0, 2000);
    {
        let tx = conn.transaction().unwrap();
        tx.execute("UPDATE t SET body = zeroblob(1000) WHERE id % 2 = 0", []).unwrap();
        tx.execute("UPDATE t SET body = ?1 WHERE id % 2 = 0", [body(7)]).unwrap();
        tx.rollback().unwrap();
    }
    insert(&mut conn, 2000, 10);
    // The copy first: reading through the live connection would write
    // anything still buffered, hiding a commit the file lacks.
    check_recovered(&conn, 0..2010);
    check_rows(&conn, 0..2010);
}

#[test]
fn a_commit_larger_than_the_buffer_is_written_in_pieces() {
    let (_dir, mut conn) = fresh();
    insert(&mut conn, 0, 1);
    let (frames_before, writes_before) = (wal_frames(&conn), wal_writes_on_this_thread());
    insert(&mut conn, 1, 12_000); // about 12 MiB of frames
    let frames = wal_frames(&conn) - frames_before;
    let writes = wal_writes_on_this_thread() - writes_before;
    // Several writes (the unix VFS takes at most 128 KiB at once), each of many frames.
    assert!(writes >= 2 && writes as i64 * 20 <= frames, "{writes} writes for {frames} frames");
    check_recovered(&conn, 0..12_001);
}

#[test]
fn full_durability_syncs_what_it_wrote() {
    let (_dir, mut conn) = fresh();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    for batch in 0..5 {
        insert(&mut conn, batch * 20, 20);
    }
    check_recovered(&conn, 0..100);
}

#[test]
fn a_restarted_wal_starts_over_cleanly() {
    let (_dir, mut conn) = fresh();
    insert(&mut conn, 0, 100);
    conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())).unwrap();
    // The next commit writes a new WAL header over the old frames.
    insert(&mut conn, 100, 5);
    check_recovered(&conn, 0..105);
}
