//! Group commit for the server's writes.
//!
//! SQLite has one writer, so concurrent write requests queue anyway. Here they
//! queue on one thread that runs whatever has arrived as one transaction, and
//! the batch shares one COMMIT. A request's result is delivered only after
//! that COMMIT, so nothing is acknowledged that a crash could lose. Pages
//! touched by many requests (the tables' last leaves, the log) are then
//! written to the WAL once per batch rather than once per request.
//!
//! A request that fails must change nothing. Most failures (not found, a
//! stale ETag, a uniqueness conflict, which SQLite undoes statement by
//! statement) happen before the request has written anything, so a batch
//! first runs its requests one after another with no savepoint between them:
//! a savepoint per request copied every page it touched into the statement
//! journal, 18 % of the time of a create. When a request fails after it has
//! written (SQLite's change counter moved), or panics, the batch is rolled
//! back and run again with each request in its own savepoint, which undoes
//! exactly that request. Requests are therefore closures that can run twice;
//! only the run that commits is answered.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{Db, DbError};

/// The most requests one transaction carries: bounds how long a batch holds
/// the write lock and how much one failed COMMIT can turn into errors.
const MAX_BATCH: usize = 64;

/// One queued write: runs in the batch's transaction (again, if the batch is
/// rerun), then learns whether the batch committed.
trait Job: Send {
    /// Runs the work, replacing any earlier run's result; true when it succeeded.
    fn run(&mut self, tx: &Transaction) -> bool;
    /// Sends the outcome: the work's own error, else `failed` when the batch
    /// could not begin or commit, else the work's result.
    fn finish(self: Box<Self>, failed: Option<&DbError>);
}

struct Pending<F, T, E> {
    work: F,
    result: Option<Result<T, E>>,
    reply: rocket::tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Pending<F, T, E>
where
    F: FnMut(&Transaction) -> Result<T, E> + Send,
    T: Send,
    E: From<DbError> + Send,
{
    fn run(&mut self, tx: &Transaction) -> bool {
        // A rerun that panics must not leave the first run's result behind.
        self.result = None;
        let result = (self.work)(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, failed: Option<&DbError>) {
        let outcome = match (self.result, failed) {
            // The work's own error stands: its savepoint was rolled back.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(_)), Some(e)) | (None, Some(e)) => Err(E::from(duplicate(e))),
            (Some(Ok(value)), None) => Ok(value),
            (None, None) => Err(E::from(DbError::Migration("database task failed".into()))),
        };
        // The requester may have gone (client disconnected): nothing to tell.
        let _ = self.reply.send(outcome);
    }
}

/// A copy of a batch-wide error for each request in the batch, keeping what
/// `is_busy` needs (SQLite's error code) so that callers answer 503, not 500.
fn duplicate(e: &DbError) -> DbError {
    match e {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        DbError::Pool(p) => DbError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some(p.to_string()),
        )),
        other => DbError::Migration(other.to_string()),
    }
}

/// The queue of the server's writes, drained by one thread.
#[derive(Clone)]
pub struct WriteQueue {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl WriteQueue {
    /// Starts the writer thread; it ends when every clone of the queue is dropped.
    pub fn start(db: Db) -> std::io::Result<WriteQueue> {
        Self::start_tuned(db, CHECKPOINT_EVERY, CATCH_UP_FRAMES)
    }

    fn start_tuned(db: Db, every: Duration, catch_up_frames: i64) -> std::io::Result<WriteQueue> {
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let (stop, stopped) = mpsc::channel::<()>();
        let path = db.path().to_path_buf();
        let catch_up = Arc::new(AtomicBool::new(false));
        let asked = catch_up.clone();
        std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || checkpoints(&path, &stopped, every, catch_up_frames, &asked))?;
        std::thread::Builder::new().name("db-writer".into()).spawn(move || {
            // Dropped when the queue closes: the checkpointer stops too.
            let _stop = stop;
            while let Ok(first) = queue.recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                run_batch(&db, batch);
                // Between batches, after their results went out: nothing is
                // appended while this runs, so it copies the last frames, and
                // RESTART waits for the readers still on older frames (reads
                // take well under a millisecond) so that the next transaction
                // starts the WAL from its beginning. PASSIVE stopped at the
                // oldest reader, and under Entra's mix of lookups and writes
                // there always was one: the WAL never restarted.
                if catch_up.swap(false, Ordering::AcqRel) {
                    if let Ok(conn) = db.writer.get() {
                        let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                    }
                }
            }
        })?;
        Ok(WriteQueue { jobs })
    }

    /// Runs `f` as one request's write and waits for the batch's COMMIT.
    /// `f` may run more than once (see the module comment): it must only
    /// read and write through the transaction it is given.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&Transaction) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = rocket::tokio::sync::oneshot::channel();
        let job = Box::new(Pending { work: f, result: None, reply });
        if self.jobs.send(job).is_err() {
            return Err(E::from(DbError::Migration("the database writer has stopped".into())));
        }
        answer.await.unwrap_or_else(|_| Err(E::from(DbError::Migration("database task failed".into()))))
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// WAL frames (4 KiB pages, so 32 MB) past which the writer is asked to finish a
/// checkpoint between two batches (see [`checkpoints`]).
const CATCH_UP_FRAMES: i64 = 8_000;

/// Copies committed WAL frames into the database file on this thread, not in
/// the writer's COMMIT: a checkpoint (with its fsync) was ~9 % of the writer's
/// time. PASSIVE never blocks readers or the writer.
///
/// Under a steady stream of writes this never catches up: frames arrive while
/// it copies, so the WAL is never fully copied and never starts over. It then
/// grew to SQLite's own limit, where the writer checkpointed inside a COMMIT
/// (with two fsyncs) about twice a second, holding up that batch's requests:
/// the p99 of POST and PATCH was 50-60 ms against a p50 of 5 ms. Instead,
/// once the WAL is long, the writer is asked to copy the few frames left
/// between batches (`catch_up`).
fn checkpoints(
    path: &Path,
    stopped: &mpsc::Receiver<()>,
    every: Duration,
    catch_up_frames: i64,
    catch_up: &AtomicBool,
) {
    let Ok(conn) = Connection::open(path) else { return };
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
        // Busy or failed: the next round (or the writer's backstop) catches up.
        // The row is (busy, frames in the WAL, frames copied).
        let frames = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
        if frames.is_ok_and(|n| n >= catch_up_frames) {
            catch_up.store(true, Ordering::Release);
        }
    }
}

fn run_batch(db: &Db, mut batch: Vec<Box<dyn Job>>) {
    let mut conn = match db.writer.get() {
        Ok(c) => c,
        Err(e) => return fail_all(batch, &DbError::from(e)),
    };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &DbError::from(e)),
    };
    if run_without_savepoints(&tx, &mut batch) {
        return commit(tx, batch);
    }
    // Someone wrote and then failed: start the batch over, one savepoint each.
    if let Err(e) = tx.rollback() {
        return fail_all(batch, &DbError::from(e));
    }
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch, &DbError::from(e)),
    };
    run_in_savepoints(tx, batch);
}

/// Runs every job in `tx`; false as soon as one fails after writing (or
/// panics, or its failure ended the transaction), when `tx` must be rolled back.
fn run_without_savepoints(tx: &Transaction, batch: &mut [Box<dyn Job>]) -> bool {
    for job in batch.iter_mut() {
        let before = tx.total_changes();
        let ok = catch_unwind(AssertUnwindSafe(|| job.run(tx)));
        match ok {
            Ok(true) => {}
            // It changed nothing: the batch is as it was before the job.
            Ok(false) if tx.total_changes() == before && !tx.is_autocommit() => {}
            _ => return false,
        }
    }
    true
}

/// Commits `tx` and answers every job: its own result, or the COMMIT's error
/// for those that succeeded (a job's own error always stands).
fn commit(tx: Transaction, batch: Vec<Box<dyn Job>>) {
    match tx.commit() {
        Ok(()) => batch.into_iter().for_each(|job| job.finish(None)),
        Err(e) => fail_all(batch, &DbError::from(e)),
    }
}

/// Runs each job in its own savepoint, so that a failing job is undone alone.
fn run_in_savepoints(tx: Transaction, batch: Vec<Box<dyn Job>>) {
    let mut done = Vec::with_capacity(batch.len());
    let mut queue = batch.into_iter();
    while let Some(mut job) = queue.next() {
        if let Err(e) = savepoint(&tx, "SAVEPOINT job") {
            job.finish(Some(&e));
            continue;
        }
        // A panicking request must not take the writer thread (and every later write) with it.
        let ok = catch_unwind(AssertUnwindSafe(|| job.run(&tx))).unwrap_or(false);
        let ended = if ok {
            savepoint(&tx, "RELEASE job")
        } else {
            savepoint(&tx, "ROLLBACK TO job").and_then(|()| savepoint(&tx, "RELEASE job"))
        };
        if let Err(e) = ended {
            // The transaction's state is unknown: undo all of it.
            drop(tx);
            let all = done.into_iter().chain(std::iter::once(job)).chain(queue).collect();
            return fail_all(all, &e);
        }
        done.push(job);
    }
    commit(tx, done);
}

fn savepoint(tx: &Transaction, sql: &str) -> Result<(), DbError> {
    tx.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn fail_all(batch: Vec<Box<dyn Job>>, error: &DbError) {
    for job in batch {
        job.finish(Some(error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Durability;

    fn queue() -> (tempfile::TempDir, Db, WriteQueue) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
        db.write(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)").map_err(DbError::from)).unwrap();
        let q = WriteQueue::start(db.clone()).unwrap();
        (dir, db, q)
    }

    fn rows(db: &Db) -> Vec<i64> {
        db.read(|tx| {
            let mut s = tx.prepare("SELECT x FROM t ORDER BY x")?;
            let v = s.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok::<_, DbError>(v)
        })
        .unwrap()
    }

    /// Runs 200 concurrent writes (so that they share batches); write `i`
    /// inserts `i` and then fails if `fails_after_writing(i)`, or fails before
    /// writing if `fails_before_writing(i)`. Returns each write's result and
    /// how many times its closure ran.
    fn concurrent_writes(
        q: &WriteQueue,
        fails_before_writing: fn(i64) -> bool,
        fails_after_writing: fn(i64) -> bool,
    ) -> Vec<(Result<i64, DbError>, usize)> {
        use std::sync::atomic::AtomicUsize;
        let rt = rocket::tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..200i64)
                .map(|i| {
                    let q = q.clone();
                    rocket::tokio::spawn(async move {
                        let runs = Arc::new(AtomicUsize::new(0));
                        let counted = runs.clone();
                        let result = q
                            .write(move |tx| {
                                counted.fetch_add(1, Ordering::SeqCst);
                                if fails_before_writing(i) {
                                    return Err(DbError::Migration(format!("refused {i}")));
                                }
                                tx.execute("INSERT INTO t (x) VALUES (?1)", [i])?;
                                if fails_after_writing(i) {
                                    return Err(DbError::Migration(format!("refused {i}")));
                                }
                                Ok(i)
                            })
                            .await;
                        (result, runs.load(Ordering::SeqCst))
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        })
    }

    #[test]
    fn writes_that_fail_before_writing_run_once_and_change_nothing() {
        let (_dir, db, q) = queue();
        let results = concurrent_writes(&q, |i| i % 3 == 0, |_| false);
        for (i, (result, runs)) in results.iter().enumerate() {
            assert_eq!(*runs, 1, "write {i} ran {runs} times: nothing failed after writing");
            match result {
                Ok(v) => assert_eq!(*v, i as i64),
                Err(e) => assert!(i % 3 == 0 && e.to_string() == format!("refused {i}"), "{i}: {e}"),
            }
        }
        assert_eq!(rows(&db), (0..200).filter(|i| i % 3 != 0).collect::<Vec<i64>>());
    }

    #[test]
    fn a_write_that_fails_after_writing_reruns_its_batch_and_is_undone_alone() {
        let (_dir, db, q) = queue();
        let results = concurrent_writes(&q, |i| i % 5 == 1, |i| i % 7 == 0);
        for (i, (result, runs)) in results.iter().enumerate() {
            let i = i as i64;
            if i % 5 == 1 || i % 7 == 0 {
                assert_eq!(result.as_ref().unwrap_err().to_string(), format!("refused {i}"));
            } else {
                assert_eq!(result.as_ref().unwrap(), &i);
            }
            assert!((1..=2).contains(runs), "write {i} ran {runs} times");
        }
        // The first write of a batch to fail after writing ran twice: first
        // without a savepoint, then again when its batch was rerun with them.
        assert!(results.iter().any(|(_, runs)| *runs == 2), "no batch was rerun");
        assert_eq!(rows(&db), (0..200).filter(|i| i % 5 != 1 && i % 7 != 0).collect::<Vec<i64>>());
    }

    #[test]
    fn a_panicking_write_fails_alone_and_the_writer_keeps_going() {
        let (_dir, db, q) = queue();
        let rt = rocket::tokio::runtime::Builder::new_current_thread().build().unwrap();
        let panicked: Result<(), DbError> = rt.block_on(q.write(|tx| {
            tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
            panic!("a bug in one request");
        }));
        assert!(panicked.is_err());
        let after: Result<(), DbError> = rt.block_on(q.write(|tx| {
            tx.execute("INSERT INTO t (x) VALUES (2)", [])?;
            Ok(())
        }));
        assert!(after.is_ok());
        assert_eq!(rows(&db), vec![2]);
    }

    #[test]
    fn under_a_steady_stream_of_writes_the_wal_still_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let db = Db::open(&path, Durability::Normal).unwrap();
        db.write(|tx| tx.execute_batch("CREATE TABLE t (x INTEGER NOT NULL, pad TEXT)").map_err(DbError::from))
            .unwrap();
        let q = WriteQueue::start_tuned(db.clone(), Duration::from_millis(2), 40).unwrap();
        let rt = rocket::tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        // 2,000 rows of 8 KB queued at once: back-to-back batches of 64, a WAL
        // of about 17 MB if it never started over.
        rt.block_on(async {
            let writes: Vec<_> = (0..2000)
                .map(|i| {
                    let q = q.clone();
                    rocket::tokio::spawn(async move {
                        q.write(move |tx| {
                            tx.execute("INSERT INTO t (x, pad) VALUES (?1, ?2)", rusqlite::params![i, "p".repeat(8000)])
                                .map_err(DbError::from)
                        })
                        .await
                    })
                })
                .collect();
            for w in writes {
                w.await.unwrap().unwrap();
            }
        });
        assert_eq!(rows(&db).len(), 2000);
        let wal = std::fs::metadata(path.with_extension("db-wal")).unwrap().len();
        assert!(wal < 8 * 1024 * 1024, "the WAL grew to {wal} bytes: the writer never caught up");
    }
}
