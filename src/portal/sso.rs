//! Sign in with Microsoft Entra ID (OpenID Connect, authorization code flow
//! with PKCE): `start` sends the browser to the provider, `callback` takes it
//! back, verifies what the provider says, and lets in the provisioned, active
//! user it names. Every outcome is recorded in the tenant's sign-in events.
//!
//! Between the two, the flow's secrets (state, nonce, PKCE verifier) and where
//! to go afterwards live in a short-lived private (encrypted) cookie scoped to
//! `/admin/<tenant>/sso`, used once.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::Redirect;
use rocket::{get, Route, State};
use rocket_dyn_templates::Template;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::auth::{end_any_session, safe_next, secure};
use super::error::{page, refused, PortalError, PortalResult};
use super::session::{self, COOKIE, USER_PREFIX};
use super::MOUNT;
use crate::app::App;
use crate::domain::sign_in_events::{self, Method, Outcome};
use crate::domain::sso::{self, Claim, Provider, SignIn, SignInWith};
use crate::domain::{tenants, Error};
use crate::oidc::{Identity, OidcError, Registration};

pub fn routes() -> Vec<Route> {
    rocket::routes![start, callback]
}

/// The cookie carrying one sign-in's secrets from `start` to `callback`.
pub const FLOW_COOKIE: &str = "scimp_oidc";
/// How long a sign-in at the provider may take.
const FLOW_MINUTES: i64 = 10;
const REFUSED: &str = "You cannot sign in here";

/// One sign-in in progress.
#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    /// Unix time after which the callback refuses it (the cookie's max-age is only a hint to the browser).
    expires: i64,
}

type Page = (Status, Template);

/// The URL Entra sends the browser back to; it must be registered there exactly.
pub fn redirect_url(public_url: &str, tenant: &str) -> String {
    format!("{public_url}{MOUNT}/{tenant}/sso/callback")
}

fn flow_path(tenant: &str) -> String {
    format!("{MOUNT}/{tenant}/sso")
}

fn not_set_up() -> Page {
    page(
        Status::NotFound,
        "Sign-in with Microsoft is not set up",
        "This tenant has not turned on sign-in with Microsoft Entra ID. Sign in with a local administrator \
         account, or ask an administrator to set it up in System Settings › SSO Config.",
    )
}

/// The tenant and what sign-in with SSO can do for it.
async fn provider(app: &App, slug: &str) -> PortalResult<(tenants::Tenant, SignInWith)> {
    let (slug, secrets) = (slug.to_string(), app.secrets.clone());
    Ok(app
        .read(move |tx| {
            let t = tenants::get_by_slug(tx, &slug)?;
            let with = sso::provider(tx, t.id, &secrets)?;
            Ok::<_, Error>((t, with))
        })
        .await?)
}

/// SSO is on, and the sign-in page offers it, but it cannot work: refused
/// with why, and recorded where administrators look (SSO Config).
async fn secret_unreadable(app: &App, t: &tenants::Tenant) -> PortalResult<Page> {
    let reason = "Sign-in with Microsoft is turned on, but this server can no longer read its client secret \
                  (the server's secret_key changed since it was saved). An administrator must enter the client \
                  secret again in System Settings › SSO Config; until then, sign in with a local administrator account.";
    refuse(app, t, Status::ServiceUnavailable, "", reason.into()).await
}

fn registration(app: &App, tenant: &str, p: &Provider) -> Registration {
    Registration {
        issuer: p.issuer.clone(),
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
        redirect_url: redirect_url(&app.public_url, tenant),
    }
}

/// Records and logs a refused attempt, and renders why.
async fn refuse(app: &App, t: &tenants::Tenant, status: Status, identity: &str, reason: String) -> PortalResult<Page> {
    rocket::warn!("sso: tenant {}: sign-in of {:?} refused: {reason}", t.slug, identity);
    let (tenant, who, why) = (t.id, identity.to_string(), reason.clone());
    app.write(move |tx| sign_in_events::record(tx, tenant, Method::Sso, &who, Outcome::Refused, &why)).await?;
    Ok(refused(status, &t.slug, REFUSED, &reason))
}

/// Sends the browser to the provider's authorization endpoint.
#[get("/<tenant>/sso/start?<next>")]
pub async fn start(
    tenant: &str,
    next: Option<&str>,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> PortalResult<Result<Redirect, Page>> {
    let (t, provider) = match provider(app, tenant).await? {
        (_, SignInWith::Off) => return Ok(Err(not_set_up())),
        (t, SignInWith::SecretUnreadable) => return Ok(Err(secret_unreadable(app, &t).await?)),
        (t, SignInWith::Provider(p)) => (t, p),
    };
    let (oidc, reg) = (app.oidc.clone(), registration(app, tenant, &provider));
    let request = match rocket::tokio::task::spawn_blocking(move || oidc.authorization(&reg)).await {
        Ok(Ok(request)) => request,
        Ok(Err(e)) => {
            let reason = format!("Microsoft Entra ID could not be reached: {e}. Try again in a moment.");
            return Ok(Err(refuse(app, &t, Status::BadGateway, "", reason).await?));
        }
        Err(_) => return Err(PortalError::Internal),
    };
    let flow = Flow {
        state: request.state,
        nonce: request.nonce,
        verifier: request.pkce_verifier,
        next: safe_next(tenant, next),
        expires: crate::domain::now().timestamp() + FLOW_MINUTES * 60,
    };
    let value = serde_json::to_string(&flow).map_err(|_| PortalError::Internal)?;
    jar.add_private(
        Cookie::build((FLOW_COOKIE, value))
            .http_only(true)
            // Lax: sent on the top-level redirect back from the provider.
            .same_site(SameSite::Lax)
            .secure(secure(app))
            .path(flow_path(tenant))
            .max_age(rocket::time::Duration::minutes(FLOW_MINUTES))
            .build(),
    );
    Ok(Ok(Redirect::to(request.url)))
}

/// The claim the tenant identifies people by, from a verified identity.
fn claimed(identity: Identity, claim: Claim) -> Option<String> {
    match claim {
        Claim::PreferredUsername => identity.preferred_username,
        Claim::Email => identity.email,
        Claim::Oid => identity.oid,
    }
}

/// Takes the browser back from the provider: checks the state, exchanges the
/// code, verifies the ID token, and lets in the provisioned, active user it names.
#[get("/<tenant>/sso/callback?<code>&<state>&<error>&<error_description>")]
pub async fn callback(
    tenant: &str,
    code: Option<&str>,
    state: Option<&str>,
    error: Option<&str>,
    error_description: Option<&str>,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> PortalResult<Result<Redirect, Page>> {
    let (t, with) = provider(app, tenant).await?;
    if let SignInWith::Off = with {
        return Ok(Err(not_set_up()));
    }
    // Used once: whatever happens next, this sign-in's secrets are gone.
    let flow = jar.get_private(FLOW_COOKIE).and_then(|c| serde_json::from_str::<Flow>(c.value()).ok());
    jar.remove_private(Cookie::build(FLOW_COOKIE).path(flow_path(tenant)));
    let SignInWith::Provider(provider) = with else { return Ok(Err(secret_unreadable(app, &t).await?)) };
    let now = crate::domain::now().timestamp();
    let Some(flow) = flow.filter(|f| f.expires > now) else {
        let reason = "This sign-in was not started in this browser, took longer than 10 minutes, or was already \
                      used. Start again from the sign-in page.";
        return Ok(Err(refuse(app, &t, Status::BadRequest, "", reason.into()).await?));
    };
    let state = state.unwrap_or_default();
    if !(flow.state.len() == state.len() && bool::from(flow.state.as_bytes().ct_eq(state.as_bytes()))) {
        let reason = "The answer from Microsoft Entra ID does not belong to the sign-in started in this browser \
                      (state mismatch), so it was not accepted. Start again from the sign-in page.";
        return Ok(Err(refuse(app, &t, Status::BadRequest, "", reason.into()).await?));
    }
    if let Some(error) = error {
        let detail = error_description.map(|d| format!(": {d}")).unwrap_or_default();
        let reason = format!("Microsoft Entra ID did not sign you in ({error}{detail}).");
        return Ok(Err(refuse(app, &t, Status::Forbidden, "", reason).await?));
    }
    let Some(code) = code.filter(|c| !c.is_empty()).map(str::to_string) else {
        let reason = "The answer from Microsoft Entra ID carries no authorization code. Start again.";
        return Ok(Err(refuse(app, &t, Status::BadRequest, "", reason.into()).await?));
    };
    let (oidc, reg, claim) = (app.oidc.clone(), registration(app, tenant, &provider), provider.claim);
    let (verifier, nonce) = (flow.verifier, flow.nonce);
    let identity = match rocket::tokio::task::spawn_blocking(move || oidc.sign_in(&reg, &code, &verifier, &nonce)).await
    {
        Ok(Ok(identity)) => identity,
        Ok(Err(e)) => {
            let status = if matches!(e, OidcError::Discovery(_)) { Status::BadGateway } else { Status::Forbidden };
            let reason = format!("The sign-in could not be completed: {e}.");
            return Ok(Err(refuse(app, &t, status, "", reason).await?));
        }
        Err(_) => return Err(PortalError::Internal),
    };
    let value = claimed(identity, claim);
    let old = jar.get_private(COOKIE).map(|c| c.value().to_string());
    let tenant_id = t.id;
    let outcome = app
        .write(move |tx| {
            let outcome = sso::sign_in(tx, tenant_id, claim, value.as_deref())?;
            if let (SignIn::Started { .. }, Some(old)) = (&outcome, &old) {
                end_any_session(tx, old)?;
            }
            Ok::<_, Error>(outcome)
        })
        .await?;
    match outcome {
        SignIn::Started { secret, user, manages_settings } => {
            rocket::info!("sso: tenant {}: {} signed in", t.slug, user.user_name);
            jar.add_private(session::session_cookie(format!("{USER_PREFIX}{secret}"), secure(app)));
            let to = if manages_settings { flow.next } else { format!("{MOUNT}/{tenant}/me") };
            Ok(Ok(Redirect::to(to)))
        }
        SignIn::Refused { reason } => {
            rocket::warn!("sso: tenant {}: sign-in refused: {reason}", t.slug);
            Ok(Err(refused(Status::Forbidden, &t.slug, REFUSED, &reason)))
        }
    }
}
