//! The signed-in administrator: a session cookie looked up on every request,
//! bound to the tenant in the URL, and the CSRF token of that session.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::Request;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::domain::admins::{self, Session};

pub const COOKIE: &str = "scimp_session";

/// A request from a signed-in administrator of the tenant named in the URL.
pub struct AdminSession(pub Session);

/// Why there is no session: sign-in needed (401 → redirect) or another tenant (404).
#[derive(Debug)]
pub enum NoSession {
    SignInNeeded,
    OtherTenant,
    Unavailable,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminSession {
    type Error = NoSession;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, NoSession::Unavailable));
        };
        let Some(secret) = req.cookies().get_private(COOKIE).map(|c| c.value().to_string()) else {
            return Outcome::Error((Status::Unauthorized, NoSession::SignInNeeded));
        };
        let found = app.read(move |tx| admins::find_session(tx, &secret)).await;
        let session = match found {
            Ok(Some(s)) => s,
            Ok(None) => return Outcome::Error((Status::Unauthorized, NoSession::SignInNeeded)),
            Err(_) => return Outcome::Error((Status::ServiceUnavailable, NoSession::Unavailable)),
        };
        // <tenant>/… below the mount: an administrator sees only their own tenant; others' URLs do not exist.
        if req.routed_segment(0) != Some(session.tenant_slug.as_str()) {
            return Outcome::Error((Status::NotFound, NoSession::OtherTenant));
        }
        Outcome::Success(AdminSession(session))
    }
}

impl AdminSession {
    /// Refuses a form whose CSRF token is not this session's: nothing is changed.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), super::error::PortalError> {
        if self.csrf_ok(submitted) {
            Ok(())
        } else {
            Err(super::error::PortalError::BadCsrf)
        }
    }

    /// True when a submitted form's CSRF token is this session's (constant time).
    fn csrf_ok(&self, submitted: &str) -> bool {
        let expected = self.0.csrf_token.as_bytes();
        expected.len() == submitted.len() && bool::from(expected.ct_eq(submitted.as_bytes()))
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
