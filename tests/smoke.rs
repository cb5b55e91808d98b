mod common;
use common::*;

#[test]
fn harness_creates_and_reads_a_user() {
    let app = TestApp::new();
    let id = app.entra_user("ada@example.com");
    let got = app.get(&format!("/Users/{id}")).expect(200);
    assert_eq!(got.body["userName"], "ada@example.com");
    assert_eq!(got.etag.as_deref(), got.body["meta"]["version"].as_str());
}
