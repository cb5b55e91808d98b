//! Lock contention from outside the server (another process holding a write
//! lock past the busy timeout) is a 503 with Retry-After that changes
//! nothing, never a 500; the retry then succeeds.

mod common;
use common::*;

#[test]
fn a_locked_database_answers_503_then_the_retry_succeeds() {
    let app = TestApp::new();
    let path = app.dir.path().join("data/test.db");
    // Use the token once first, so its (background, once a minute) last-used
    // bookkeeping is not what waits for the lock.
    app.get("/Users").expect(200);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let res = app.post("/Users", &entra_user_body("patient@example.com"));
    let waited = started.elapsed();
    let res = res.expect_error(503, None);
    assert!(res.retry_after.is_some(), "Retry-After tells the client when to come back");
    assert!(waited >= std::time::Duration::from_secs(4), "it waited for the lock first ({waited:?})");
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(app.count("users"), 0, "nothing half-written");
    app.post("/Users", &entra_user_body("patient@example.com")).expect(201);
}
