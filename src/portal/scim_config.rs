//! System Settings › SCIM Config: the Tenant URL, how the Secret Token relates
//! to API keys, Entra's set-up steps, and live provisioning figures.

use rocket::{get, State};
use rocket_dyn_templates::{context, Template};

use super::error::PortalResult;
use super::session::AdminSession;
use super::Layout;
use crate::app::App;
use crate::domain::provisioning_log;

#[get("/<_tenant>/settings/scim")]
pub async fn page(_tenant: &str, session: AdminSession, app: &State<App>) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let figures = app.read(move |tx| provisioning_log::figures(tx, tenant)).await?;
    let layout = Layout::new(&session, "scim", "SCIM Config");
    let tenant_url = format!("{}{}/{}", app.public_url, crate::scim::MOUNT, session.0.tenant_slug);
    fn show(e: &Option<provisioning_log::Entry>) -> Option<serde_json::Value> {
        e.as_ref().map(|e| {
            serde_json::json!({
                "at": crate::domain::format_time(&e.at),
                "method": e.method, "path": e.path, "status": e.status, "outcome": e.outcome,
                "token": e.token_label.as_deref().unwrap_or("—"),
            })
        })
    }
    Ok(Template::render(
        "portal/scim.html",
        context! {
            layout: &layout,
            tenant_url,
            https: super::auth::secure(app),
            users_active: figures.users_active,
            users_suspended: figures.users_suspended,
            groups: figures.groups,
            last_request: show(&figures.last_request),
            last_error: show(&figures.last_error),
        },
    ))
}
