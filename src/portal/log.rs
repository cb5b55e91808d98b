//! System Settings › Provisioning log: every SCIM request that changed data or
//! failed, newest first, filterable by outcome and resource type, paged in SQL.

use rocket::{get, Route, State};
use rocket_dyn_templates::{context, Template};

use super::error::PortalResult;
use super::session::AdminSession;
use super::Layout;
use crate::app::App;
use crate::domain::format_time;
use crate::domain::provisioning_log::{self, LogFilter};

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[("portal/log.html", include_str!("../../templates/portal/log.html.tera"))];

pub fn routes() -> Vec<Route> {
    rocket::routes![page]
}

/// Entries per page.
pub const PER_PAGE: i64 = 50;

/// The outcome filter's value, normalised: `all`, `success` or `failure`.
fn outcome_of(text: Option<&str>) -> &'static str {
    match text.map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("success") => "success",
        Some(t) if t.eq_ignore_ascii_case("failure") => "failure",
        _ => "all",
    }
}

/// The resource filter's value, normalised: `all`, `User` or `Group`.
fn resource_of(text: Option<&str>) -> &'static str {
    match text.map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("user") => "User",
        Some(t) if t.eq_ignore_ascii_case("group") => "Group",
        _ => "all",
    }
}

#[get("/<_tenant>/settings/log?<outcome>&<resource>&<page>")]
pub async fn page(
    _tenant: &str,
    outcome: Option<&str>,
    resource: Option<&str>,
    page: Option<i64>,
    session: AdminSession,
    app: &State<App>,
) -> PortalResult<Template> {
    let (outcome, resource) = (outcome_of(outcome), resource_of(resource));
    let filter = LogFilter {
        failed: match outcome {
            "success" => Some(false),
            "failure" => Some(true),
            _ => None,
        },
        resource_type: (resource != "all").then(|| resource.to_string()),
    };
    let filtered = filter != LogFilter::default();
    let page = page.unwrap_or(1).max(1);
    let tenant = session.0.tenant;
    let found = app
        .read(move |tx| provisioning_log::list(tx, tenant, &filter, (page - 1).saturating_mul(PER_PAGE), PER_PAGE))
        .await?;
    let entries: Vec<_> = found
        .items
        .iter()
        .map(|e| {
            context! {
                at: format_time(&e.at), shown_at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(), method: &e.method, path: &e.path,
                resource_type: &e.resource_type, resource_id: &e.resource_id,
                status: e.status, failed: e.status >= 400, outcome: &e.outcome, token: &e.token_label,
            }
        })
        .collect();
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let layout = Layout::new(&session, "log", "Provisioning log");
    let href = format!("{}/settings/log?outcome={outcome}&resource={resource}&", layout.base);
    Ok(Template::render(
        "portal/log.html",
        context! {
            layout: &layout, entries, total: found.total, page, pages, href, filtered,
            outcome, resource,
            outcomes: [("all", "All outcomes"), ("success", "Successes"), ("failure", "Failures")],
            resources: [("all", "All resources"), ("User", "Users"), ("Group", "Groups")],
        },
    ))
}
