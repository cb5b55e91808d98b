//! System Settings › User Groups: every provisioned group, and the role and
//! applications each grants. Names and members belong to Entra: read-only,
//! with no route that changes them.

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, Route, State};
use rocket_dyn_templates::{context, Template};
use serde_json::{json, Value};

use super::error::{PortalError, PortalResult};
use super::paging::{Paging, PAGE_SIZE};
use super::session::AdminSession;
use super::users::access_json;
use super::{auth::encode_query, Layout, MOUNT};
use crate::app::App;
use crate::domain::{access, applications, directory, format_time, groups, roles, Error};

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("portal/groups.html", include_str!("../../templates/portal/groups.html.tera")),
    ("portal/groups_detail.html", include_str!("../../templates/portal/groups_detail.html.tera")),
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
    let tenant = session.0.tenant;
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
    let href = format!("{}/settings/groups?q={}&", layout.base, encode_query(q.trim()));
    Ok(Template::render("portal/groups.html", context! { layout: &layout, groups: rows, q: &q, paging, href }))
}

/// The access form as submitted, shown again when it is refused.
struct Typed {
    role: String,
    applications: Vec<String>,
}

async fn render_group(
    session: &AdminSession,
    app: &App,
    id: &str,
    page: Option<i64>,
    typed: Option<Typed>,
    error: Option<String>,
    notice: Option<String>,
) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let (page, offset) = Paging::offset(page);
    let id = id.to_string();
    let (group, grant, members, all_roles, all_apps) = app
        .read(move |tx| {
            let group = groups::get(tx, tenant, &id)?;
            let grant = access::group_grant(tx, tenant, &group)?;
            let found = directory::members_page(tx, tenant, &group, offset, PAGE_SIZE)?;
            let members = directory::with_access(tx, tenant, found)?;
            Ok::<_, Error>((group, grant, members, roles::list(tx, tenant)?, applications::list(tx, tenant)?))
        })
        .await?;
    let layout = Layout::new(session, "groups", group.display_name.clone());
    // What the form shows: what was typed when it is refused, else what the group grants now.
    let (role, checked): (String, Vec<String>) = match typed {
        Some(t) => (t.role.trim().to_string(), t.applications.iter().map(|a| a.trim().to_string()).collect()),
        None => (
            grant.role.as_ref().map(|r| r.role_id.to_string()).unwrap_or_default(),
            grant.applications.iter().map(|a| a.id.to_string()).collect(),
        ),
    };
    let member_rows: Vec<Value> = members
        .items
        .iter()
        .map(|(user, a)| {
            let from_here = a.role.as_ref().is_some_and(
                |r| matches!(&r.source, access::RoleSource::Group { group_id, .. } if *group_id == group.id),
            );
            json!({"id": user.id, "user_name": user.user_name, "display_name": user.display_name,
                   "suspended": a.suspended, "access": access_json(a), "from_here": from_here})
        })
        .collect();
    let paging = Paging::new(page, members.total, member_rows.len());
    Ok(Template::render(
        "portal/groups_detail.html",
        context! {
            layout: &layout,
            group: json!({"id": group.id, "name": group.display_name, "external_id": group.external_id,
                          "created": format_time(&group.created), "last_modified": format_time(&group.last_modified)}),
            grant: grant_json(&grant),
            roles: all_roles.iter().map(|r| json!({"id": r.id, "name": r.name, "selected": r.id.to_string() == role})).collect::<Vec<_>>(),
            no_role: role.is_empty(),
            applications: all_apps.iter().map(|a| json!({"id": a.id, "name": a.name, "checked": checked.contains(&a.id.to_string())})).collect::<Vec<_>>(),
            members: member_rows,
            paging,
            href: format!("{}/settings/groups/{}?", layout.base, encode_query(&group.id)),
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
    flash: Option<FlashMessage<'_>>,
    app: &State<App>,
) -> PortalResult<Template> {
    let notice = flash.map(|f| f.message().to_string());
    render_group(&session, app, id, page, None, None, notice).await
}

#[derive(Debug, FromForm)]
pub struct AccessForm {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
    /// A role id, or empty for no role.
    #[field(default = String::new())]
    role: String,
    /// Application ids; text, so that a bad value is shown with the form rather than refused unread.
    #[field(default = Vec::new())]
    applications: Vec<String>,
}

/// Reads the form's ids, or says what is wrong with them.
fn parse_ids(form: &AccessForm) -> Result<(Option<i64>, Vec<i64>), String> {
    let role = match form.role.trim() {
        "" => None,
        r => Some(r.parse::<i64>().map_err(|_| "Choose a role from the list, or “No role”.".to_string())?),
    };
    let applications = form
        .applications
        .iter()
        .map(|a| a.trim().parse::<i64>().map_err(|_| "Choose applications from the list.".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((role, applications))
}

/// The group's page again, with the refused form as it was typed and why: 400.
async fn refuse(
    session: &AdminSession,
    app: &App,
    id: &str,
    message: String,
    form: AccessForm,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    let typed = Typed { role: form.role, applications: form.applications };
    let page = render_group(session, app, id, None, Some(typed), Some(message), None).await?;
    Ok(Err((Status::BadRequest, page)))
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
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let (role, apps) = match parse_ids(&form) {
        Ok(ids) => ids,
        Err(message) => return refuse(&session, app, id, message, form).await,
    };
    let owner = session.0.tenant;
    let group_id = id.to_string();
    let result = app
        .write(move |tx| {
            let group = directory::set_group_access(tx, owner, &group_id, role, &apps)?;
            let grant = access::group_grant(tx, owner, &group)?;
            Ok::<_, Error>((group.display_name, grant))
        })
        .await;
    match result {
        Ok((name, grant)) => {
            let role = grant.role.map_or_else(|| "no role".to_string(), |r| format!("the role {}", r.role_name));
            let apps = match grant.applications.len() {
                0 => "no applications".to_string(),
                _ => grant.applications.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
            };
            Ok(Ok(Flash::success(
                Redirect::to(format!("{MOUNT}/{tenant}/settings/groups/{}", encode_query(id))),
                format!("Saved what {name} grants: {role}; {apps}. Its members' access has changed accordingly."),
            )))
        }
        // The group itself missing is a 404; a role or application that is not this tenant's is bad input.
        Err(Error::NotFound("group")) => Err(PortalError::NotFound("group")),
        Err(Error::NotFound(what)) => {
            let message = format!("That {what} does not exist (any more). Reload the page and choose again.");
            refuse(&session, app, id, message, form).await
        }
        Err(e) => Err(e.into()),
    }
}
