//! System Settings › Roles: the predefined roles (read-only) and the tenant's
//! custom roles, which administrators create, edit and delete.

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, Route, State};
use rocket_dyn_templates::{context, Template};
use serde::Serialize;

use super::error::{PortalError, PortalResult};
use super::session::AdminSession;
use super::{Layout, MOUNT};
use crate::app::App;
use crate::domain::roles::{self, Role, RoleInput, CATALOGUE};
use crate::domain::Error;

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("portal/roles.html", include_str!("../../templates/portal/roles.html.tera")),
    ("portal/roles_form.html", include_str!("../../templates/portal/roles_form.html.tera")),
];

pub fn routes() -> Vec<Route> {
    rocket::routes![list, new, create, edit, update, delete]
}

/// The kind of this section's flash notices: a notice of another section is not shown here.
const NOTICE: &str = "roles";

/// Roles per page of the list.
pub const PER_PAGE: i64 = 50;

/// A custom role's form, as typed.
#[derive(Debug, Default, FromForm)]
pub struct RoleForm {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    description: String,
    /// Catalogue keys of the ticked checkboxes.
    #[field(default = Vec::new())]
    permissions: Vec<String>,
}

impl RoleForm {
    fn input(&self) -> RoleInput {
        RoleInput {
            name: self.name.clone(),
            description: self.description.clone(),
            permissions: self.permissions.clone(),
        }
    }

    fn of(role: &Role) -> RoleForm {
        RoleForm {
            csrf: String::new(),
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.clone(),
        }
    }
}

#[derive(FromForm)]
pub struct CsrfOnly {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
}

#[derive(Debug, Serialize)]
struct PermissionRow {
    key: &'static str,
    label: &'static str,
    checked: bool,
}

/// The catalogue as checkboxes, ticked where `chosen` has them.
fn checkboxes(chosen: &[String]) -> Vec<PermissionRow> {
    CATALOGUE
        .iter()
        .map(|p| PermissionRow { key: p.key, label: p.label, checked: chosen.iter().any(|c| c == p.key) })
        .collect()
}

fn labels(permissions: &[String]) -> Vec<&str> {
    permissions.iter().map(|p| roles::permission_label(p)).collect()
}

fn list_href(tenant: &str) -> String {
    format!("{MOUNT}/{tenant}/settings/roles")
}

/// The list, with an optional error (a refused deletion) and the notice of the last change.
async fn render_list(
    session: &AdminSession,
    app: &App,
    page: Option<i64>,
    error: Option<String>,
    notice: Option<String>,
) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let page = page.unwrap_or(1).max(1);
    let found = app.read(move |tx| roles::list_page(tx, tenant, (page - 1).saturating_mul(PER_PAGE), PER_PAGE)).await?;
    let rows: Vec<_> = found
        .items
        .iter()
        .map(|s| {
            context! {
                id: s.role.id, name: &s.role.name, description: &s.role.description,
                predefined: s.role.predefined, permissions: labels(&s.role.permissions), groups: s.groups,
            }
        })
        .collect();
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let layout = Layout::new(session, "roles", "Roles");
    Ok(Template::render(
        "portal/roles.html",
        context! { layout: &layout, roles: rows, total: found.total, page, pages, error, notice },
    ))
}

/// Field errors of the form: name, description, permissions.
#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<String>,
}

impl FieldErrors {
    fn one(field: &str, message: String) -> FieldErrors {
        let mut e = FieldErrors::default();
        match field {
            "description" => e.description = Some(message),
            "permissions" => e.permissions = Some(message),
            _ => e.name = Some(message),
        }
        e
    }
}

/// The new-role form (`role` None), a custom role's edit form, or a predefined role's read-only page.
fn render_form(
    session: &AdminSession,
    role: Option<&Role>,
    groups: i64,
    form: &RoleForm,
    errors: FieldErrors,
    error: Option<String>,
) -> Template {
    let title = match role {
        None => "New role".to_string(),
        Some(r) if r.predefined => r.name.clone(),
        Some(r) => format!("Edit role “{}”", r.name),
    };
    let layout = Layout::new(session, "roles", title);
    Template::render(
        "portal/roles_form.html",
        context! {
            layout: &layout,
            role: role.map(|r| context! { id: r.id, name: &r.name, predefined: r.predefined, permissions: labels(&r.permissions), description: &r.description }),
            groups,
            name: &form.name, description: &form.description, permissions: checkboxes(&form.permissions),
            errors, error,
        },
    )
}

#[get("/<_tenant>/settings/roles?<page>")]
pub async fn list(
    _tenant: &str,
    page: Option<i64>,
    session: AdminSession,
    flash: Option<FlashMessage<'_>>,
    app: &State<App>,
) -> PortalResult<Template> {
    render_list(&session, app, page, None, flash.filter(|f| f.kind() == NOTICE).map(|f| f.message().to_string())).await
}

#[get("/<_tenant>/settings/roles/new")]
pub fn new(_tenant: &str, session: AdminSession) -> Template {
    render_form(&session, None, 0, &<RoleForm as Default>::default(), FieldErrors::default(), None)
}

/// Maps a refused save to the form again, with the message next to its field.
fn refused(e: Error) -> Result<(Status, FieldErrors, Option<String>), PortalError> {
    match e {
        // Name taken.
        Error::Conflict(m) => Ok((Status::Conflict, FieldErrors::one("name", m), None)),
        Error::Invalid(m) => Ok((Status::BadRequest, FieldErrors::default(), Some(m))),
        e => Err(e.into()),
    }
}

#[post("/<tenant>/settings/roles", data = "<form>")]
pub async fn create(
    tenant: &str,
    session: AdminSession,
    form: Form<RoleForm>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let input = form.input();
    if let Some((field, message)) = roles::invalid_field(&input) {
        return Ok(Err((
            Status::BadRequest,
            render_form(&session, None, 0, &form, FieldErrors::one(field, message), None),
        )));
    }
    let owner = session.0.tenant;
    match app.write(move |tx| roles::create(tx, owner, &input)).await {
        Ok(role) => {
            Ok(Ok(Flash::new(Redirect::to(list_href(tenant)), NOTICE, format!("Role “{}” created.", role.name))))
        }
        Err(e) => {
            let (status, errors, error) = refused(e)?;
            Ok(Err((status, render_form(&session, None, 0, &form, errors, error))))
        }
    }
}

async fn load(session: &AdminSession, app: &App, id: i64) -> PortalResult<(Role, i64)> {
    let tenant = session.0.tenant;
    Ok(app
        .read(move |tx| {
            let role = roles::get(tx, tenant, id)?;
            let groups = roles::group_count(tx, tenant, id)?;
            Ok::<_, Error>((role, groups))
        })
        .await?)
}

#[get("/<_tenant>/settings/roles/<id>", rank = 2)]
pub async fn edit(_tenant: &str, id: i64, session: AdminSession, app: &State<App>) -> PortalResult<Template> {
    let (role, groups) = load(&session, app, id).await?;
    Ok(render_form(&session, Some(&role), groups, &RoleForm::of(&role), FieldErrors::default(), None))
}

#[post("/<tenant>/settings/roles/<id>", data = "<form>")]
pub async fn update(
    tenant: &str,
    id: i64,
    session: AdminSession,
    form: Form<RoleForm>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let (role, groups) = load(&session, app, id).await?;
    if role.predefined {
        let message =
            format!("{} is a predefined role: it cannot be changed. Create a custom role instead.", role.name);
        return Ok(Err((
            Status::BadRequest,
            render_form(&session, Some(&role), groups, &RoleForm::of(&role), FieldErrors::default(), Some(message)),
        )));
    }
    let input = form.input();
    if let Some((field, message)) = roles::invalid_field(&input) {
        return Ok(Err((
            Status::BadRequest,
            render_form(&session, Some(&role), groups, &form, FieldErrors::one(field, message), None),
        )));
    }
    let owner = session.0.tenant;
    match app.write(move |tx| roles::update(tx, owner, id, &input)).await {
        Ok(saved) => {
            Ok(Ok(Flash::new(Redirect::to(list_href(tenant)), NOTICE, format!("Role “{}” saved.", saved.name))))
        }
        Err(e) => {
            let (status, errors, error) = refused(e)?;
            Ok(Err((status, render_form(&session, Some(&role), groups, &form, errors, error))))
        }
    }
}

/// Deletes a custom role no group carries; otherwise the list again, saying why not.
#[post("/<tenant>/settings/roles/<id>/delete", data = "<form>")]
pub async fn delete(
    tenant: &str,
    id: i64,
    session: AdminSession,
    form: Form<CsrfOnly>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    session.check_csrf(&form.csrf)?;
    let owner = session.0.tenant;
    match app.write(move |tx| roles::delete(tx, owner, id)).await {
        Ok(role) => {
            Ok(Ok(Flash::new(Redirect::to(list_href(tenant)), NOTICE, format!("Role “{}” deleted.", role.name))))
        }
        Err(Error::Conflict(m)) => Ok(Err((Status::Conflict, render_list(&session, app, None, Some(m), None).await?))),
        Err(Error::Invalid(m)) => Ok(Err((Status::BadRequest, render_list(&session, app, None, Some(m), None).await?))),
        Err(e) => Err(e.into()),
    }
}
