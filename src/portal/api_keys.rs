//! System Settings › Open API: generate API keys (shown once), list and revoke them.

use chrono::{NaiveDate, TimeZone, Utc};
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{get, post, State};
use rocket_dyn_templates::{context, Template};

use super::error::PortalResult;
use super::session::AdminSession;
use super::Layout;
use crate::app::App;
use crate::domain::{api_keys, format_time, now, Error};

#[derive(Debug, Default, FromForm)]
pub struct NewKey {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
    label: String,
    /// yyyy-mm-dd, optional: the key stops working at the end of that day (UTC).
    expires: String,
}

async fn render(
    session: &AdminSession,
    app: &App,
    form: &NewKey,
    error: Option<String>,
    created: Option<(String, String)>,
) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let keys = app.read(move |tx| api_keys::list(tx, tenant)).await?;
    let at = now();
    let rows: Vec<_> = keys
        .iter()
        .map(|k| {
            let status = if k.revoked.is_some() {
                "revoked"
            } else if k.expires.is_some_and(|e| e <= at) {
                "expired"
            } else {
                "active"
            };
            context! {
                id: k.id, label: &k.label, prefix: &k.prefix, status,
                created: format_time(&k.created),
                expires: k.expires.as_ref().map(format_time),
                last_used: k.last_used.as_ref().map(format_time),
            }
        })
        .collect();
    let layout = Layout::new(session, "api_keys", "Open API");
    Ok(Template::render(
        "portal/api_keys.html",
        context! {
            layout: &layout, keys: rows, label: &form.label, expires: &form.expires,
            // Each message goes next to the field it is about.
            expires_error: error.as_deref().filter(|m| m.contains("expir")),
            label_error: error.as_deref().filter(|m| !m.contains("expir")),
            created_secret: created.as_ref().map(|c| &c.0), created_label: created.as_ref().map(|c| &c.1),
            tenant_url: format!("{}{}/{}", app.public_url, crate::scim::MOUNT, session.0.tenant_slug),
        },
    ))
}

#[get("/<_tenant>/settings/api-keys")]
pub async fn page(_tenant: &str, session: AdminSession, app: &State<App>) -> PortalResult<Template> {
    render(&session, app, &<NewKey as Default>::default(), None, None).await
}

fn parse_expiry(text: &str) -> Result<Option<chrono::DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "enter the expiry as a date (yyyy-mm-dd) or leave it empty".to_string())?;
    let end = day.and_hms_opt(23, 59, 59).ok_or("invalid expiry date")?;
    Ok(Some(Utc.from_utc_datetime(&end)))
}

/// Creates a key and shows its secret on this one response; only its hash is kept.
#[post("/<_tenant>/settings/api-keys", data = "<form>")]
pub async fn create(
    _tenant: &str,
    session: AdminSession,
    form: Form<NewKey>,
    app: &State<App>,
) -> PortalResult<(Status, Template)> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let expires = match parse_expiry(&form.expires) {
        Ok(e) => e,
        Err(m) => return Ok((Status::BadRequest, render(&session, app, &form, Some(m), None).await?)),
    };
    let (tenant, label) = (session.0.tenant, form.label.clone());
    match app.write(move |tx| api_keys::create(tx, tenant, &label, expires)).await {
        Ok((key, secret)) => {
            let page = render(&session, app, &<NewKey as Default>::default(), None, Some((secret, key.label))).await?;
            Ok((Status::Created, page))
        }
        Err(Error::Invalid(m) | Error::Conflict(m)) => {
            Ok((Status::BadRequest, render(&session, app, &form, Some(m), None).await?))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(FromForm)]
pub struct CsrfOnly {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
}

#[post("/<tenant>/settings/api-keys/<id>/revoke", data = "<form>")]
pub async fn revoke(
    tenant: &str,
    id: i64,
    session: AdminSession,
    form: Form<CsrfOnly>,
    app: &State<App>,
) -> PortalResult<Redirect> {
    session.check_csrf(&form.csrf)?;
    let owner = session.0.tenant;
    app.revoke_api_key(owner, id).await?;
    Ok(Redirect::to(format!("{}/{tenant}/settings/api-keys", super::MOUNT)))
}
