//! Sign-in, sign-out and the first administrator's set-up.

use rocket::form::{Form, FromForm};
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use std::time::{Duration, Instant};

use rocket::{get, post, uri, State};
use rocket_dyn_templates::{context, Template};

use super::error::{PortalError, PortalResult};
use super::session::{self, AdminSession, Signed, COOKIE, USER_PREFIX};
use super::MOUNT;
use crate::app::App;
use crate::db::Db;
use crate::domain::sign_in_events::{self, Method, Outcome};
use crate::domain::{admins, sso, tenants, Error};
use crate::throttle::Policy;

/// Percent-encodes a value for a query string.
pub fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: only a page of this tenant's portal.
pub fn safe_next(tenant: &str, next: Option<&str>) -> String {
    let home = format!("{MOUNT}/{tenant}/settings/scim");
    match next {
        Some(n) if n.starts_with(&format!("{MOUNT}/{tenant}/")) && !n.contains("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => home,
    }
}

/// True when the portal is served over HTTPS (cookies get the Secure flag).
pub fn secure(app: &App) -> bool {
    app.public_url.starts_with("https://")
}

#[get("/")]
pub fn root() -> Redirect {
    Redirect::to(format!("{MOUNT}/default/settings/scim"))
}

#[get("/<tenant>")]
pub fn home(tenant: &str, _session: AdminSession) -> Redirect {
    Redirect::to(format!("{MOUNT}/{tenant}/settings/scim"))
}

/// What the sign-in page needs to know of a tenant.
struct TenantInfo {
    tenant: tenants::Tenant,
    has_admin: bool,
    sso: bool,
}

async fn tenant_info(app: &App, slug: &str) -> PortalResult<TenantInfo> {
    let slug = slug.to_string();
    app.read(move |tx| {
        let tenant = tenants::get_by_slug(tx, &slug)?;
        let has_admin = admins::count(tx, tenant.id)? > 0;
        let sso = sso::enabled(tx, tenant.id)?;
        Ok::<_, Error>(TenantInfo { tenant, has_admin, sso })
    })
    .await
    .map_err(PortalError::from)
}

fn login_template(t: &TenantInfo, email: &str, next: &str, error: Option<&str>) -> Template {
    let sso_href = t.sso.then(|| format!("{MOUNT}/{}/sso/start?next={}", t.tenant.slug, encode_query(next)));
    Template::render(
        "portal/login.html",
        context! {
            tenant_slug: &t.tenant.slug, tenant_name: &t.tenant.name, has_admin: t.has_admin,
            sso_href, email, next, error, title: "Sign in",
        },
    )
}

#[get("/<tenant>/login?<next>")]
pub async fn login_page(tenant: &str, next: Option<&str>, app: &State<App>) -> PortalResult<Template> {
    let t = tenant_info(app, tenant).await?;
    Ok(login_template(&t, "", &safe_next(tenant, next), None))
}

/// Records a password sign-in attempt (never the password).
async fn record_attempt(app: &App, tenant: crate::domain::TenantId, email: &str, outcome: Outcome, reason: &str) {
    let (email, reason) = (email.to_string(), reason.to_string());
    let recorded =
        app.write(move |tx| sign_in_events::record(tx, tenant, Method::Password, &email, outcome, &reason)).await;
    if let Err(e) = recorded {
        rocket::warn!("could not record a sign-in attempt: {e}");
    }
}

#[derive(FromForm)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Per account: three free tries, then 1 s, 2 s, 4 s … up to 15 minutes.
const ACCOUNT_POLICY: Policy = Policy {
    free_failures: 3,
    first_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
    forget_after: Duration::from_secs(60 * 60),
};
/// Per client address: more room (several people behind one NAT), same shape.
const ADDRESS_POLICY: Policy = Policy {
    free_failures: 20,
    first_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(15 * 60),
    forget_after: Duration::from_secs(60 * 60),
};

/// A sign-in held back: 429 with Retry-After, the form again.
pub struct TooManyTries {
    page: Template,
    retry_after: u64,
}

impl<'r> rocket::response::Responder<'r, 'static> for TooManyTries {
    fn respond_to(self, req: &'r rocket::Request<'_>) -> rocket::response::Result<'static> {
        rocket::Response::build_from((Status::TooManyRequests, self.page).respond_to(req)?)
            .raw_header("Retry-After", self.retry_after.to_string())
            .ok()
    }
}

type LoginOutcome = Result<Redirect, Result<(Status, Template), TooManyTries>>;

#[post("/<tenant>/login", data = "<form>")]
pub async fn login(
    tenant: &str,
    form: Form<LoginForm>,
    app: &State<App>,
    jar: &CookieJar<'_>,
    client: Option<std::net::IpAddr>,
) -> PortalResult<LoginOutcome> {
    let t = tenant_info(app, tenant).await?;
    let form = form.into_inner();
    let next = safe_next(tenant, form.next.as_deref());
    let account_key = format!("account:{}:{}", t.tenant.id.0, crate::db::fold(form.email.trim()));
    let address_key = format!("address:{}", client.map(|a| a.to_string()).unwrap_or_default());
    let throttle = &app.sign_in_throttle;
    let now = Instant::now();
    let held = throttle.wait(&account_key, now).max(throttle.wait(&address_key, now));
    if let Some(wait) = held {
        let error = format!("Too many failed sign-ins. Wait {} seconds and try again.", wait.as_secs().max(1));
        record_attempt(app, t.tenant.id, &form.email, Outcome::Refused, "held back: too many failed sign-ins").await;
        let page = login_template(&t, &form.email, &next, Some(&error));
        return Ok(Err(Err(TooManyTries { page, retry_after: wait.as_secs().max(1) })));
    }
    let (tenant_id, email) = (t.tenant.id, form.email.clone());
    let found = app.read(move |tx| admins::find_for_sign_in(tx, tenant_id, &email)).await?;
    let password = form.password;
    let (admin, hash) = match found {
        Some((a, h)) => (Some(a), Some(h)),
        None => (None, None),
    };
    let verified = rocket::tokio::task::spawn_blocking(move || admins::verify_password(&password, hash.as_deref()))
        .await
        .unwrap_or(false);
    let Some(admin) = admin.filter(|_| verified) else {
        let now = Instant::now();
        throttle.fail(&account_key, ACCOUNT_POLICY, now);
        throttle.fail(&address_key, ADDRESS_POLICY, now);
        let error = "That e-mail address and password do not match an administrator of this tenant.";
        record_attempt(app, t.tenant.id, &form.email, Outcome::Refused, "e-mail address and password do not match")
            .await;
        return Ok(Err(Ok((Status::Unauthorized, login_template(&t, &form.email, &next, Some(error))))));
    };
    throttle.clear(&account_key);
    // A new session secret at every sign-in; the old one (if any) ends now.
    let old = jar.get_private(COOKIE).map(|c| c.value().to_string());
    let secret = app
        .write(move |tx| {
            if let Some(old) = &old {
                end_any_session(tx, old)?;
            }
            sign_in_events::record(tx, admin.tenant, Method::Password, &admin.email, Outcome::SignedIn, "")?;
            admins::start_session(tx, &admin)
        })
        .await?;
    jar.add_private(session::session_cookie(secret, secure(app)));
    Ok(Ok(Redirect::to(next)))
}

#[derive(FromForm)]
pub struct CsrfForm {
    /// Missing means forged: it fails the check (403) rather than the form parse.
    #[field(default = String::new())]
    csrf: String,
}

/// Ends the session a cookie secret names, an administrator's or a provisioned user's.
pub fn end_any_session(tx: &rusqlite::Connection, secret: &str) -> crate::domain::Result<()> {
    match secret.strip_prefix(USER_PREFIX) {
        Some(user_secret) => sso::end_session(tx, user_secret),
        None => admins::end_session(tx, secret),
    }
}

#[post("/<tenant>/logout", data = "<form>")]
pub async fn logout(
    tenant: &str,
    session: Signed,
    form: Form<CsrfForm>,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> PortalResult<Redirect> {
    session.0.check_csrf(&form.csrf)?;
    if let Some(secret) = jar.get_private(COOKIE).map(|c| c.value().to_string()) {
        app.write(move |tx| end_any_session(tx, &secret)).await?;
    }
    session::clear_cookie(jar);
    Ok(Redirect::to(uri!("/admin", login_page(tenant, Option::<&str>::None))))
}

fn setup_template(tenant: &tenants::Tenant, token: &str, email: &str, error: Option<&str>) -> Template {
    Template::render(
        "portal/setup.html",
        context! { tenant_slug: &tenant.slug, tenant_name: &tenant.name, token, email, error, title: "Set up the first administrator",
        min_password: admins::MIN_PASSWORD_CHARS },
    )
}

#[get("/<tenant>/setup?<token>")]
pub async fn setup_page(
    tenant: &str,
    token: Option<&str>,
    app: &State<App>,
) -> PortalResult<Result<Template, (Status, Template)>> {
    let t = tenant_info(app, tenant).await?.tenant;
    let token = token.unwrap_or_default().to_string();
    let (id, check) = (t.id, token.clone());
    let valid = app.read(move |tx| admins::setup_token_valid(tx, id, &check)).await?;
    if !valid {
        return Ok(Err(super::error::page(
            Status::NotFound,
            "This set-up link is not valid",
            "It has expired or was already used. Restart the server to print a new link, or run `scim-portal admin create`.",
        )));
    }
    Ok(Ok(setup_template(&t, &token, "", None)))
}

#[derive(FromForm)]
pub struct SetupForm {
    token: String,
    email: String,
    password: String,
    confirm: String,
}

#[post("/<tenant>/setup", data = "<form>")]
pub async fn setup(
    tenant: &str,
    form: Form<SetupForm>,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> PortalResult<Result<Redirect, (Status, Template)>> {
    let t = tenant_info(app, tenant).await?.tenant;
    let form = form.into_inner();
    let again = |error: &str| Ok(Err((Status::BadRequest, setup_template(&t, &form.token, &form.email, Some(error)))));
    if form.password != form.confirm {
        return again("The two passwords differ.");
    }
    if let Err(e) = admins::validate_email(&form.email) {
        return again(&e.to_string());
    }
    let password = form.password.clone();
    let hash = match rocket::tokio::task::spawn_blocking(move || admins::hash_password(&password)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return again(&e.to_string()),
        Err(_) => return Err(PortalError::Internal),
    };
    let (id, token, email) = (t.id, form.token.clone(), form.email.clone());
    let created = app
        .write(move |tx| {
            let admin = admins::complete_setup(tx, id, &token, &email, &hash)?;
            admins::start_session(tx, &admin)
        })
        .await;
    match created {
        Ok(secret) => {
            jar.add_private(session::session_cookie(secret, secure(app)));
            Ok(Ok(Redirect::to(format!("{MOUNT}/{tenant}/settings/scim"))))
        }
        Err(Error::Invalid(m) | Error::Conflict(m)) => again(&m),
        Err(e) => Err(e.into()),
    }
}

/// Creates set-up links for every tenant without an administrator; returns (tenant, URL) pairs.
pub fn setup_links(db: &Db, public_url: &str) -> Result<Vec<(String, String)>, Error> {
    db.write(|tx| {
        admins::tenants_without_admin(tx)?
            .into_iter()
            .map(|(id, slug)| {
                let token = admins::create_setup_token(tx, id)?;
                Ok((slug.clone(), format!("{public_url}{MOUNT}/{slug}/setup?token={token}")))
            })
            .collect()
    })
}
