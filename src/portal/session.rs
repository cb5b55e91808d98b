//! Who is signed in: a local administrator (password, the break-glass
//! account) or a provisioned user (SSO). One session cookie serves both; a
//! user session's secret carries a prefix. It is looked up on every request,
//! bound to the tenant in the URL, and for a provisioned user re-checked
//! against the directory as it is now: suspended, deleted or demoted in Entra
//! takes effect on the next request.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::domain::access::Access;
use crate::domain::admins::{self, Admin};
use crate::domain::sign_in_events::{self, Method, Outcome as Attempt};
use crate::domain::sso::{self, SessionLookup};
use crate::domain::users::User;
use crate::domain::{roles, TenantId};

pub const COOKIE: &str = "scimp_session";
/// Marks the cookie secret of a provisioned user's (SSO) session.
pub const USER_PREFIX: &str = "u.";

/// The signed-in person.
#[derive(Debug, Clone)]
pub enum Who {
    /// A local administrator, signed in with a password.
    Admin(Admin),
    /// A provisioned user signed in with SSO, with their effective access as of this request.
    User { user: Box<User>, access: Box<Access> },
}

/// A signed-in person of the tenant in the URL, and the CSRF token of their session.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: TenantId,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub csrf_token: String,
    pub who: Who,
}

impl Principal {
    /// How the top bar names them: e-mail for administrators, userName for users.
    pub fn name(&self) -> &str {
        match &self.who {
            Who::Admin(a) => &a.email,
            Who::User { user, .. } => &user.user_name,
        }
    }

    /// True when they may use System Settings: local administrators, and users
    /// whose effective role carries [`roles::MANAGE_SYSTEM_SETTINGS`].
    pub fn manages_settings(&self) -> bool {
        match &self.who {
            Who::Admin(_) => true,
            Who::User { access, .. } => access.has_permission(roles::MANAGE_SYSTEM_SETTINGS),
        }
    }

    /// Refuses a form whose CSRF token is not this session's: nothing is changed.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), super::error::PortalError> {
        let expected = self.csrf_token.as_bytes();
        if expected.len() == submitted.len() && bool::from(expected.ct_eq(submitted.as_bytes())) {
            Ok(())
        } else {
            Err(super::error::PortalError::BadCsrf)
        }
    }
}

/// A request that may use System Settings: a local administrator, or a
/// provisioned user whose role allows it. Other signed-in users are sent to
/// their My access page.
pub struct AdminSession(pub Principal);

/// A request from anyone signed in to the tenant in the URL (My access, sign-out).
pub struct Signed(pub Principal);

/// Why there is no principal: sign-in needed (401 → sign-in page), another
/// tenant (404), turned away (403: see [`Denied`]), or the database is unavailable.
#[derive(Debug)]
pub enum NoSession {
    SignInNeeded,
    OtherTenant,
    Denied,
    Unavailable,
}

/// What the portal's 403 catcher does for a request a guard turned away.
#[derive(Debug, Clone, Default)]
pub enum Denied {
    #[default]
    Nothing,
    /// Signed in, but without the permission: go to My access.
    ToMyAccess { href: String },
    /// The session ended because of the directory (suspended, deleted): the
    /// refused page with this reason, and the cookie cleared.
    Refused { reason: String, tenant_slug: String },
}

type Resolved = Result<Principal, (Status, NoSession)>;

fn deny(req: &Request<'_>, denied: Denied) -> (Status, NoSession) {
    let _ = req.local_cache(|| denied);
    (Status::Forbidden, NoSession::Denied)
}

/// The signed-in principal of the tenant in the URL.
async fn resolve(req: &Request<'_>) -> Resolved {
    let Some(app) = req.rocket().state::<App>() else {
        return Err((Status::InternalServerError, NoSession::Unavailable));
    };
    let Some(secret) = req.cookies().get_private(COOKIE).map(|c| c.value().to_string()) else {
        return Err((Status::Unauthorized, NoSession::SignInNeeded));
    };
    // <tenant>/… below the mount: a principal sees only their own tenant; others' URLs do not exist.
    let url_tenant = req.routed_segment(0).unwrap_or_default().to_string();
    if let Some(user_secret) = secret.strip_prefix(USER_PREFIX) {
        return resolve_user(req, app, user_secret.to_string(), &url_tenant).await;
    }
    let session = match app.read(move |tx| admins::find_session(tx, &secret)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err((Status::Unauthorized, NoSession::SignInNeeded)),
        Err(_) => return Err((Status::ServiceUnavailable, NoSession::Unavailable)),
    };
    if session.tenant_slug != url_tenant {
        return Err((Status::NotFound, NoSession::OtherTenant));
    }
    Ok(Principal {
        tenant: session.admin.tenant,
        tenant_slug: session.tenant_slug,
        tenant_name: session.tenant_name,
        csrf_token: session.csrf_token,
        who: Who::Admin(session.admin),
    })
}

/// A provisioned user's session, re-checked in one read transaction: it
/// exists and is live, the user exists and is active; their access is as of now.
async fn resolve_user(req: &Request<'_>, app: &App, secret: String, url_tenant: &str) -> Resolved {
    let session = match app.read(move |tx| sso::find_session(tx, &secret)).await {
        Ok(SessionLookup::Live(s)) => s,
        Ok(SessionLookup::Expired) => return Err((Status::Unauthorized, NoSession::SignInNeeded)),
        Ok(SessionLookup::Missing) => {
            rocket::warn!("portal: a provisioned user's session no longer exists (user deleted, or session ended)");
            let reason = "Your session has ended: your account is no longer provisioned for this tenant \
                          (it was deleted in Microsoft Entra ID), or the session was ended. Sign in again if you still have access.";
            return Err(deny(req, Denied::Refused { reason: reason.into(), tenant_slug: url_tenant.to_string() }));
        }
        Err(_) => return Err((Status::ServiceUnavailable, NoSession::Unavailable)),
    };
    if session.tenant.slug != url_tenant {
        return Err((Status::NotFound, NoSession::OtherTenant));
    }
    if session.access.suspended {
        let (tenant, row, name) = (session.tenant.id, session.user.row_id, session.user.user_name.clone());
        let reason = format!("The account “{name}” is suspended in Microsoft Entra ID, so its session has ended.");
        rocket::warn!("portal: tenant {}: session of {name} ended: suspended in Entra", session.tenant.slug);
        let recorded = reason.clone();
        let ended = app
            .write(move |tx| {
                sso::end_sessions_of(tx, row)?;
                sign_in_events::record(tx, tenant, Method::Sso, &name, Attempt::Refused, &recorded)
            })
            .await;
        if ended.is_err() {
            return Err((Status::ServiceUnavailable, NoSession::Unavailable));
        }
        return Err(deny(req, Denied::Refused { reason, tenant_slug: session.tenant.slug }));
    }
    let s = *session;
    Ok(Principal {
        tenant: s.tenant.id,
        tenant_slug: s.tenant.slug,
        tenant_name: s.tenant.name,
        csrf_token: s.csrf_token,
        who: Who::User { user: Box::new(s.user), access: Box::new(s.access) },
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Signed {
    type Error = NoSession;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match resolve(req).await {
            Ok(p) => Outcome::Success(Signed(p)),
            Err(e) => Outcome::Error(e),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminSession {
    type Error = NoSession;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match resolve(req).await {
            Ok(p) if p.manages_settings() => Outcome::Success(AdminSession(p)),
            Ok(p) => {
                let href = format!("{}/{}/me", super::MOUNT, p.tenant_slug);
                Outcome::Error(deny(req, Denied::ToMyAccess { href }))
            }
            Err(e) => Outcome::Error(e),
        }
    }
}

impl AdminSession {
    /// Refuses a form whose CSRF token is not this session's: nothing is changed.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), super::error::PortalError> {
        self.0.check_csrf(submitted)
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure behind HTTPS, path-scoped to the portal.
pub fn session_cookie(secret: String, secure: bool) -> Cookie<'static> {
    Cookie::build((COOKIE, secret))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(rocket::time::Duration::hours(admins::SESSION_HOURS))
        .build()
}

/// Removes the session cookie.
pub fn clear_cookie(jar: &CookieJar<'_>) {
    jar.remove_private(Cookie::build(COOKIE).path("/"));
}
