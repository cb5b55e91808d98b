//! `GET /healthz`: 200 once the server can reach its database, 503 otherwise.

use rocket::http::Status;
use rocket::{get, State};

use crate::app::App;

#[get("/healthz")]
pub async fn healthz(app: &State<App>) -> (Status, &'static str) {
    let db = app.db.clone();
    let ok = rocket::tokio::task::spawn_blocking(move || db.is_reachable()).await.unwrap_or(false);
    if ok {
        (Status::Ok, "ok\n")
    } else {
        (Status::ServiceUnavailable, "database unreachable\n")
    }
}
