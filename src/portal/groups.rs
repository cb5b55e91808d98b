//! System Settings › User Groups: every provisioned group, and the role and
//! applications each grants. Names and members belong to Entra: read-only.

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, Route, State};
use rocket_dyn_templates::{context, Template};
use serde_json::{json, Value};

use super::error::{PortalError, PortalResult};
use super::paging::{Paging, PAGE_SIZE};
use super::session::AdminSession;
use super::{auth::encode_query, Layout, MOUNT};
use crate::app::App;
use crate::domain::{access, applications, directory, format_time, groups, roles, Error};

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("portal/groups.html", include_str!("../../templates/portal/groups.html.tera")),
    ("portal/group.html", include_str!("../../templates/portal/group.html.tera")),
];

pub fn routes() -> Vec<Route> {
    rocket::routes![list, show, assign]
}

fn grant_json(grant: &access::GroupGrant) -> Value {
    json!({
        "role": grant.role.as_ref().map(|r| json!({"id": r.role_id, "name": r.role_name, "assigned_at": format_time(&r.assigned_at)})),
        "applications": grant.applications.iter().map(|a| json!({"id": a.id, "name": a.name})).collect::<Vec<_>>(),
    })
}

#[get("/<_tenant>/settings/groups?<q>&<page>")]
pub async fn list(
    _tenant: &str,
    q: Option<String>,
    page: Option<i64>,
    session: AdminSession,
    app: &State<App>,
) -> PortalResult<Template> {
    let tenant = session.0.admin.tenant;
    let q = q.unwrap_or_default();
    let (page, offset) = Paging::offset(page);
    let search = q.clone();
    let found = app.read(move |tx| directory::groups_page(tx, tenant, &search, offset, PAGE_SIZE)).await?;
    let rows: Vec<Value> = found
        .items
        .iter()
        .map(|g| {
            json!({"id": g.group.id, "name": g.group.display_name, "members": g.member_count, "grant": grant_json(&g.grant)})
        })
        .collect();
    let layout = Layout::new(&session, "groups", "User Groups");
    let paging = Paging::new(page, found.total, rows.len());
    Ok(Template::render(
        "portal/groups.html",
        context! { layout: &layout, groups: rows, q: &q, paging, href: format!("{}/settings/groups?q={}&", layout.base, encode_query(&q)) },
    ))
}

async fn render_group(
    session: &AdminSession,
    app: &App,
    id: &str,
    page: Option<i64>,
    error: Option<String>,
    notice: Option<String>,
) -> PortalResult<Template> {
    let tenant = session.0.admin.tenant;
    let (page, offset) = Paging::offset(page);
    let id = id.to_string();
    let (group, grant, members, all_roles, all_apps) = app
        .read(move |tx| {
            let group = groups::get(tx, tenant, &id)?;
            let grant = access::group_grant(tx, tenant, &group)?;
            let members = directory::members_page(tx, &group, offset, PAGE_SIZE)?;
            Ok::<_, Error>((group, grant, members, roles::list(tx, tenant)?, applications::list(tx, tenant)?))
        })
        .await?;
    let layout = Layout::new(session, "groups", group.display_name.clone());
    let granted: Vec<i64> = grant.applications.iter().map(|a| a.id).collect();
    let member_rows: Vec<Value> = members
        .items
        .iter()
        .map(|(m, active)| json!({"id": m.id, "name": m.display, "suspended": *active == Some(false)}))
        .collect();
    let paging = Paging::new(page, members.total, member_rows.len());
    Ok(Template::render(
        "portal/group.html",
        context! {
            layout: &layout,
            group: json!({"id": group.id, "name": group.display_name, "external_id": group.external_id,
                          "created": format_time(&group.created), "last_modified": format_time(&group.last_modified)}),
            grant: grant_json(&grant),
            roles: all_roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
            applications: all_apps.iter().map(|a| json!({"id": a.id, "name": a.name, "checked": granted.contains(&a.id)})).collect::<Vec<_>>(),
            members: member_rows,
            paging,
            href: format!("{}/settings/groups/{}?", layout.base, group.id),
            error,
            notice,
        },
    ))
}

#[get("/<_tenant>/settings/groups/<id>?<page>")]
pub async fn show(
    _tenant: &str,
    id: &str,
    page: Option<i64>,
    session: AdminSession,
    flash: Option<rocket::request::FlashMessage<'_>>,
    app: &State<App>,
) -> PortalResult<Template> {
    let notice = flash.map(|f| f.message().to_string());
    render_group(&session, app, id, page, None, notice).await
}

#[derive(Debug, FromForm)]
pub struct AccessForm {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
    /// A role id, or empty for no role.
    #[field(default = String::new())]
    role: String,
    #[field(default = Vec::new())]
    applications: Vec<i64>,
}

/// Assigns the group's role and applications in one transaction.
#[post("/<tenant>/settings/groups/<id>/access", data = "<form>")]
pub async fn assign(
    tenant: &str,
    id: &str,
    session: AdminSession,
    form: Form<AccessForm>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    if !session.csrf_ok(&form.csrf) {
        return Err(PortalError::BadCsrf);
    }
    let form = form.into_inner();
    let role = match form.role.trim() {
        "" => None,
        r => match r.parse::<i64>() {
            Ok(r) => Some(r),
            Err(_) => {
                let page =
                    render_group(&session, app, id, None, Some("Choose a role from the list.".into()), None).await?;
                return Ok(Err((Status::BadRequest, page)));
            }
        },
    };
    let owner = session.0.admin.tenant;
    let group_id = id.to_string();
    let apps = form.applications.clone();
    let result = app
        .write(move |tx| {
            let group = groups::get(tx, owner, &group_id)?;
            access::assign_role(tx, owner, &group, role)?;
            access::set_applications(tx, owner, &group, &apps)?;
            Ok::<_, Error>(group.display_name)
        })
        .await;
    match result {
        Ok(name) => Ok(Ok(Flash::success(
            Redirect::to(format!("{MOUNT}/{tenant}/settings/groups/{id}")),
            format!("Saved what {name} grants. Its members' access is updated now."),
        ))),
        // The group itself missing is a 404; a role or application that is not this tenant's is bad input.
        Err(Error::NotFound("group")) => Err(PortalError::NotFound("group")),
        Err(Error::NotFound(what)) => {
            let page = render_group(
                &session,
                app,
                id,
                None,
                Some(format!("That {what} does not exist (any more); reload and choose again.")),
                None,
            )
            .await?;
            Ok(Err((Status::BadRequest, page)))
        }
        Err(e) => Err(e.into()),
    }
}
