//! The access API for other systems: `/api/v1/<tenant>/…`, bearer API keys.

use rocket::Route;

pub const MOUNT: &str = "/api/v1";

pub fn routes() -> Vec<Route> {
    Vec::new()
}
