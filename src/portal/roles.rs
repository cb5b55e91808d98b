//! System Settings › roles.

use rocket::Route;

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[];

pub fn routes() -> Vec<Route> {
    Vec::new()
}
