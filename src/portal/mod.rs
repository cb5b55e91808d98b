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
pub mod me;
pub mod paging;
pub mod roles;
pub mod scim_config;
pub mod session;
pub mod sso;
pub mod sso_config;
pub mod templates;
pub mod users;

use rocket::Route;
use serde::Serialize;

use session::{AdminSession, Principal, Who};

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
    ("sso", "SSO Config", "settings/sso"),
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
    /// Who is signed in: an administrator's e-mail or a provisioned user's userName.
    pub who: String,
    /// True for a provisioned (SSO) user, who has a My access page.
    pub provisioned: bool,
    pub csrf: String,
    /// `/admin/<tenant>`
    pub base: String,
    pub nav: Vec<NavItem>,
}

impl Layout {
    /// The layout of a System Settings page.
    pub fn new(session: &AdminSession, section: &'static str, title: impl Into<String>) -> Layout {
        Layout::of(&session.0, section, title)
    }

    /// The layout of any signed-in page; System Settings' navigation only for those who may use it.
    pub fn of(p: &Principal, section: &'static str, title: impl Into<String>) -> Layout {
        let base = format!("{MOUNT}/{}", p.tenant_slug);
        let nav = if p.manages_settings() {
            SECTIONS.iter().map(|(key, label, path)| NavItem { key, label, href: format!("{base}/{path}") }).collect()
        } else {
            Vec::new()
        };
        Layout {
            title: title.into(),
            section,
            tenant_slug: p.tenant_slug.clone(),
            tenant_name: p.tenant_name.clone(),
            who: p.name().to_string(),
            provisioned: matches!(p.who, Who::User { .. }),
            csrf: p.csrf_token.clone(),
            nav,
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
    all.extend(sso::routes());
    all.extend(sso_config::routes());
    all.extend(me::routes());
    all
}
