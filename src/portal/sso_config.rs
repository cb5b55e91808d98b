//! System Settings › SSO Config: the redirect URL to register in Entra, the
//! OpenID Connect client (issuer, client id, client secret, the identifying
//! claim, on/off), and the recent sign-in attempts.

use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, Route, State};
use rocket_dyn_templates::{context, Template};
use serde::Serialize;

use super::error::{PortalError, PortalResult};
use super::session::AdminSession;
use super::sso::redirect_url;
use super::{Layout, MOUNT};
use crate::app::App;
use crate::domain::sso::{self, Claim, SecretState, SsoConfig, SsoInput};
use crate::domain::{format_time, sign_in_events, Error};

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] =
    &[("portal/sso_config.html", include_str!("../../templates/portal/sso_config.html.tera"))];

pub fn routes() -> Vec<Route> {
    rocket::routes![page, save]
}

/// The kind of this section's flash notice.
const NOTICE: &str = "sso";
/// Sign-in attempts listed.
const EVENTS_SHOWN: i64 = 20;

/// The form, as typed. The secret is never echoed back.
#[derive(Debug, Default, FromForm)]
pub struct SsoForm {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    issuer: String,
    #[field(default = String::new())]
    client_id: String,
    #[field(default = String::new())]
    client_secret: String,
    #[field(default = String::new())]
    claim: String,
    /// The checkbox: `on` when ticked, absent otherwise.
    #[field(default = false)]
    enabled: bool,
}

impl SsoForm {
    fn input(&self) -> SsoInput {
        SsoInput {
            enabled: self.enabled,
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            claim: self.claim.clone(),
        }
    }

    fn of(c: &SsoConfig) -> SsoForm {
        SsoForm {
            issuer: c.issuer.clone(),
            client_id: c.client_id.clone(),
            claim: c.claim.as_str().to_string(),
            enabled: c.enabled,
            ..<SsoForm as Default>::default()
        }
    }
}

/// Field errors: each message goes next to its field.
#[derive(Debug, Default, Serialize)]
struct FieldErrors {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
}

impl FieldErrors {
    fn one(field: &str, message: String) -> FieldErrors {
        let mut e = FieldErrors::default();
        match field {
            "client_id" => e.client_id = Some(message),
            "client_secret" => e.client_secret = Some(message),
            "claim" => e.claim = Some(message),
            _ => e.issuer = Some(message),
        }
        e
    }
}

/// The page, with `form` as the values shown (the stored ones, or the typed ones after a refusal).
async fn render(
    session: &AdminSession,
    app: &App,
    form: Option<&SsoForm>,
    errors: Option<FieldErrors>,
    notice: Option<String>,
) -> PortalResult<Template> {
    let (tenant, secrets) = (session.0.tenant, app.secrets.clone());
    let (config, events) = app
        .read(move |tx| {
            let config = sso::get(tx, tenant, &secrets)?;
            let events = sign_in_events::recent(tx, tenant, EVENTS_SHOWN)?;
            Ok::<_, Error>((config, events))
        })
        .await?;
    let stored = SsoForm::of(&config);
    let shown = form.unwrap_or(&stored);
    let (state, last4) = match &config.secret {
        SecretState::Missing => ("missing", ""),
        SecretState::Stored { last4 } => ("stored", last4.as_str()),
        SecretState::Unreadable => ("unreadable", ""),
    };
    let secret = context! { state, last4 };
    let claims: Vec<_> = Claim::ALL
        .iter()
        .map(|c| context! { value: c.as_str(), matched_to: c.matched_to(), selected: shown.claim == c.as_str() })
        .collect();
    let events: Vec<_> = events
        .iter()
        .map(|e| {
            context! {
                at: format_time(&e.at), method: &e.method, identity: &e.identity,
                outcome: &e.outcome, reason: &e.reason,
            }
        })
        .collect();
    let layout = Layout::new(session, "sso", "SSO Config");
    Ok(Template::render(
        "portal/sso_config.html",
        context! {
            layout: &layout,
            redirect_url: redirect_url(&app.public_url, &session.0.tenant_slug),
            https: super::auth::secure(app),
            issuer: &shown.issuer, client_id: &shown.client_id, enabled: shown.enabled, claims,
            secret, active: config.enabled, updated: config.updated.as_ref().map(format_time),
            errors: errors.unwrap_or_default(), refused: form.is_some(), notice, events,
        },
    ))
}

#[get("/<_tenant>/settings/sso")]
pub async fn page(
    _tenant: &str,
    session: AdminSession,
    flash: Option<FlashMessage<'_>>,
    app: &State<App>,
) -> PortalResult<Template> {
    let notice = flash.filter(|f| f.kind() == NOTICE).map(|f| f.message().to_string());
    render(&session, app, None, None, notice).await
}

/// Saves the configuration. Turning sign-in on first fetches the provider's
/// discovery document and keys: a configuration that cannot work is not saved.
#[post("/<tenant>/settings/sso", data = "<form>")]
pub async fn save(
    tenant: &str,
    session: AdminSession,
    form: Form<SsoForm>,
    app: &State<App>,
) -> PortalResult<Result<Flash<Redirect>, (Status, Template)>> {
    session.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let (owner, secrets) = (session.0.tenant, app.secrets.clone());
    let current = app.read(move |tx| sso::get(tx, owner, &secrets)).await?;
    let input = form.input();
    let usable = matches!(current.secret, SecretState::Stored { .. });
    let refused = |field: &str, message: String| Some(FieldErrors::one(field, message));
    let mut errors = sso::invalid_field(&input, usable).and_then(|(field, message)| refused(field, message));
    if errors.is_none() && input.enabled {
        let (oidc, issuer) = (app.oidc.clone(), input.issuer.trim().to_string());
        match rocket::tokio::task::spawn_blocking(move || oidc.discover(&issuer, true)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                errors =
                    refused("issuer", format!("{e}. Check the issuer URL; sign-in with Microsoft was not turned on."))
            }
            Err(_) => return Err(PortalError::Internal),
        }
    }
    if let Some(errors) = errors {
        return Ok(Err((Status::BadRequest, render(&session, app, Some(&form), Some(errors), None).await?)));
    }
    let secrets = app.secrets.clone();
    match app.write(move |tx| sso::save(tx, owner, &input, &secrets)).await {
        Ok(saved) => {
            let message = if saved.enabled {
                "Saved. Sign-in with Microsoft is on."
            } else {
                "Saved. Sign-in with Microsoft is off."
            };
            Ok(Ok(Flash::new(Redirect::to(format!("{MOUNT}/{tenant}/settings/sso")), NOTICE, message)))
        }
        // Only if the stored secret changed since it was read: the message says which field.
        Err(Error::Invalid(message)) => {
            let field = if message.contains("secret") { "client_secret" } else { "issuer" };
            let errors = FieldErrors::one(field, message);
            Ok(Err((Status::BadRequest, render(&session, app, Some(&form), Some(errors), None).await?)))
        }
        Err(e) => Err(e.into()),
    }
}
