//! The admin portal: server-rendered pages under `/admin/<tenant>/`, signed-in
//! administrators only, every change behind a CSRF token.

pub mod api_keys;
pub mod applications;
pub mod assets;
pub mod auth;
pub mod catchers;
pub mod error;
pub mod groups;
pub mod headers;
pub mod log;
pub mod paging;
pub mod roles;
pub mod scim_config;
pub mod session;
pub mod templates;
pub mod users;

use rocket::Route;
use serde::Serialize;

use session::AdminSession;

pub const MOUNT: &str = "/admin";

/// The navigation of System Settings: (section key, label, path below the tenant).
pub const SECTIONS: &[(&str, &str, &str)] = &[
    ("scim", "SCIM Config", "settings/scim"),
    ("api_keys", "Open API", "settings/api-keys"),
    ("groups", "User Groups", "settings/groups"),
    ("users", "Users", "settings/users"),
    ("roles", "Roles", "settings/roles"),
    ("applications", "Applications", "settings/applications"),
    ("log", "Provisioning log", "settings/log"),
];

#[derive(Debug, Serialize)]
pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
}

/// What the base layout needs on every signed-in page.
#[derive(Debug, Serialize)]
pub struct Layout {
    pub title: String,
    pub section: &'static str,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub admin_email: String,
    pub csrf: String,
    /// `/admin/<tenant>`
    pub base: String,
    pub nav: Vec<NavItem>,
}

impl Layout {
    pub fn new(session: &AdminSession, section: &'static str, title: impl Into<String>) -> Layout {
        let s = &session.0;
        let base = format!("{MOUNT}/{}", s.tenant_slug);
        Layout {
            title: title.into(),
            section,
            tenant_slug: s.tenant_slug.clone(),
            tenant_name: s.tenant_name.clone(),
            admin_email: s.admin.email.clone(),
            csrf: s.csrf_token.clone(),
            nav: SECTIONS
                .iter()
                .map(|(key, label, path)| NavItem { key, label, href: format!("{base}/{path}") })
                .collect(),
            base,
        }
    }
}

/// Every portal route.
pub fn routes() -> Vec<Route> {
    let mut all = rocket::routes![
        auth::login_page,
        auth::login,
        auth::logout,
        auth::setup_page,
        auth::setup,
        auth::home,
        scim_config::page,
        api_keys::page,
        api_keys::create,
        api_keys::revoke,
    ];
    all.extend(groups::routes());
    all.extend(users::routes());
    all.extend(roles::routes());
    all.extend(applications::routes());
    all.extend(log::routes());
    all
}
