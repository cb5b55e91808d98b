//! The optional per-token SCIM rate limit: off by default, 429 + Retry-After when on.

mod common;
use common::*;

#[test]
fn no_limit_by_default() {
    let app = TestApp::new();
    for _ in 0..200 {
        app.get("/Users?count=1").expect(200);
    }
}

#[test]
fn a_token_over_its_rate_gets_429_with_retry_after_and_others_do_not() {
    let app = TestApp::with(|f| f.merge(("scim_rate_limit", 1.0)).merge(("scim_rate_burst", 5.0)));
    for _ in 0..5 {
        app.get("/Users").expect(200);
    }
    let limited = app.get("/Users").expect_error(429, None);
    let retry: u64 = limited.retry_after.as_deref().expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);
    let other = app.new_token("default", "second client");
    assert_eq!(app.raw("GET", "/scim/v2/default/Users", Some(&other), &[], None).status, 200);
    // A rejected write stores nothing.
    let before = app.count("users");
    app.post("/Users", &entra_user_body("late@example.com")).expect_error(429, None);
    assert_eq!(app.count("users"), before);
}
