//! System Settings › Applications: what groups can grant access to. Created,
//! renamed and deleted here; deleting one removes it from every group.

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
use crate::domain::applications::{self, Application, ApplicationInput};
use crate::domain::Error;

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("portal/applications.html", include_str!("../../templates/portal/applications.html.tera")),
    ("portal/applications_form.html", include_str!("../../templates/portal/applications_form.html.tera")),
];

pub fn routes() -> Vec<Route> {
    rocket::routes![list, new, create, edit, update, delete]
}

/// The kind of this section's flash notices: a notice of another section is not shown here.
const NOTICE: &str = "applications";

/// Applications per page of the list.
pub const PER_PAGE: i64 = 50;

/// An application's form, as typed.
#[derive(Debug, Default, FromForm)]
pub struct ApplicationForm {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    url: String,
    #[field(default = String::new())]
    description: String,
}

impl ApplicationForm {
    fn input(&self) -> ApplicationInput {
        ApplicationInput { name: self.name.clone(), url: self.url.clone(), description: self.description.clone() }
    }

    fn of(a: &Application) -> ApplicationForm {
        ApplicationForm {
            csrf: String::new(),
            name: a.name.clone(),
            url: a.url.clone().unwrap_or_default(),
            description: a.description.clone(),
        }
    }
}

#[derive(FromForm)]
pub struct CsrfOnly {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
}

/// Field errors of the form: name, url, description.
#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl FieldErrors {
    fn one(field: &str, message: String) -> FieldErrors {
        let mut e = FieldErrors::default();
        match field {
            "url" => e.url = Some(message),
            "description" => e.description = Some(message),
            _ => e.name = Some(message),
        }
        e
    }
}

fn list_href(tenant: &str) -> String {
    format!("{MOUNT}/{tenant}/settings/applications")
}

#[get("/<_tenant>/settings/applications?<page>")]
pub async fn list(
    _tenant: &str,
    page: Option<i64>,
    session: AdminSession,
    flash: Option<FlashMessage<'_>>,
    app: &State<App>,
) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let page = page.unwrap_or(1).max(1);
    let found =
        app.read(move |tx| applications::list_page(tx, tenant, (page - 1).saturating_mul(PER_PAGE), PER_PAGE)).await?;
    let rows: Vec<_> = found
        .items
        .iter()
        .map(|s| {
            let a = &s.application;
            context! { id: a.id, name: &a.name, url: &a.url, description: &a.description, groups: s.groups }
        })
        .collect();
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let layout = Layout::new(&session, "applications", "Applications");
    Ok(Template::render(
        "portal/applications.html",
        context! { layout: &layout, applications: rows, total: found.total, page, pages, notice: flash.filter(|f| f.kind() == NOTICE).map(|f| f.message().to_string()) },
    ))
}

/// The new-application form (`existing` None) or an application's edit form.
fn render_form(
    session: &AdminSession,
    existing: Option<(&Application, i64)>,
    form: &ApplicationForm,
    errors: FieldErrors,
) -> Template {
    let title = match existing {
        None => "New application".to_string(),
        Some((a, _)) => format!("Edit application “{}”", a.name),
    };
    let layout = Layout::new(session, "applications", title);
    Template::render(
        "portal/applications_form.html",
        context! {
            layout: &layout,
            application: existing.map(|(a, groups)| context! { id: a.id, name: &a.name, groups }),
            name: &form.name, url: &form.url, description: &form.description,
            errors,
        },
    )
}

#[get("/<_tenant>/settings/applications/new")]
pub fn new(_tenant: &str, session: AdminSession) -> Template {
    render_form(&session, None, &<ApplicationForm as Default>::default(), FieldErrors::default())
}

/// Maps a refused save to the status and the message next to its field.
fn refused(e: Error) -> Result<(Status, FieldErrors), PortalError> {
    match e {
        // Name taken.
        Error::Conflict(m) => Ok((Status::Conflict, FieldErrors::one("name", m))),
        Error::Invalid(m) => Ok((Status::BadRequest, FieldErrors::one("name", m))),
        e => Err(e.into()),
    }
}

#[post("/<tenant>/settings/applications", data = "<form>")]
pub async fn create(
    tenant: &str,
    session: AdminSession,
    form: Form<ApplicationForm>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let input = form.input();
    if let Some((field, message)) = applications::invalid_field(&input) {
        return Ok(Err((Status::BadRequest, render_form(&session, None, &form, FieldErrors::one(field, message)))));
    }
    let owner = session.0.tenant;
    match app.write(move |tx| applications::create(tx, owner, &input)).await {
        Ok(a) => {
            Ok(Ok(Flash::new(Redirect::to(list_href(tenant)), NOTICE, format!("Application “{}” created.", a.name))))
        }
        Err(e) => {
            let (status, errors) = refused(e)?;
            Ok(Err((status, render_form(&session, None, &form, errors))))
        }
    }
}

async fn load(session: &AdminSession, app: &App, id: i64) -> PortalResult<(Application, i64)> {
    let tenant = session.0.tenant;
    Ok(app
        .read(move |tx| {
            let a = applications::get(tx, tenant, id)?;
            let groups = applications::group_count(tx, tenant, id)?;
            Ok::<_, Error>((a, groups))
        })
        .await?)
}

#[get("/<_tenant>/settings/applications/<id>", rank = 2)]
pub async fn edit(_tenant: &str, id: i64, session: AdminSession, app: &State<App>) -> PortalResult<Template> {
    let (a, groups) = load(&session, app, id).await?;
    Ok(render_form(&session, Some((&a, groups)), &ApplicationForm::of(&a), FieldErrors::default()))
}

#[post("/<tenant>/settings/applications/<id>", data = "<form>")]
pub async fn update(
    tenant: &str,
    id: i64,
    session: AdminSession,
    form: Form<ApplicationForm>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let (existing, groups) = load(&session, app, id).await?;
    let input = form.input();
    if let Some((field, message)) = applications::invalid_field(&input) {
        return Ok(Err((
            Status::BadRequest,
            render_form(&session, Some((&existing, groups)), &form, FieldErrors::one(field, message)),
        )));
    }
    let owner = session.0.tenant;
    match app.write(move |tx| applications::update(tx, owner, id, &input)).await {
        Ok(a) => {
            Ok(Ok(Flash::new(Redirect::to(list_href(tenant)), NOTICE, format!("Application “{}” saved.", a.name))))
        }
        Err(e) => {
            let (status, errors) = refused(e)?;
            Ok(Err((status, render_form(&session, Some((&existing, groups)), &form, errors))))
        }
    }
}

/// Deletes an application; every group that granted it stops granting it.
#[post("/<tenant>/settings/applications/<id>/delete", data = "<form>")]
pub async fn delete(
    tenant: &str,
    id: i64,
    session: AdminSession,
    form: Form<CsrfOnly>,
    app: &State<App>,
) -> PortalResult<Flash<Redirect>> {
    session.check_csrf(&form.csrf)?;
    let owner = session.0.tenant;
    let a = app.write(move |tx| applications::delete(tx, owner, id)).await?;
    Ok(Flash::new(
        Redirect::to(list_href(tenant)),
        NOTICE,
        format!("Application “{}” deleted; no group grants it any more.", a.name),
    ))
}
