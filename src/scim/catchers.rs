//! Error answers Rocket produces itself under `/scim` (no route, a failed
//! guard, an unreadable body), rendered in the SCIM Error schema like every
//! other SCIM error.

use rocket::http::Status;
use rocket::{catch, Catcher, Request};

use super::error::ScimError;
use super::http::RequestLog;

/// The detail a guard already noted for this request, if any.
fn noted(req: &Request<'_>) -> Option<String> {
    req.local_cache(RequestLog::default).inner.lock().ok().and_then(|l| l.error.clone())
}

fn error(status: Status, req: &Request<'_>, fallback: &str) -> ScimError {
    ScimError::new(status, None, noted(req).unwrap_or_else(|| fallback.to_string()))
}

#[catch(400)]
fn bad_request(req: &Request<'_>) -> ScimError {
    let mut e = error(Status::BadRequest, req, "the request could not be read");
    e.scim_type = Some("invalidSyntax");
    e
}

#[catch(401)]
fn unauthorized(req: &Request<'_>) -> ScimError {
    error(Status::Unauthorized, req, "an Authorization: Bearer <token> header is required")
}

#[catch(404)]
fn not_found(req: &Request<'_>) -> ScimError {
    error(Status::NotFound, req, &format!("there is no SCIM resource at {}", req.uri().path()))
}

/// Rocket's 422 (a body or query it could not parse into a guard) is a SCIM 400.
#[catch(422)]
fn unprocessable(req: &Request<'_>) -> ScimError {
    let mut e = error(Status::BadRequest, req, "the request parameters could not be read");
    e.scim_type = Some("invalidSyntax");
    e
}

#[catch(default)]
fn any(status: Status, req: &Request<'_>) -> ScimError {
    if status.code >= 500 {
        return ScimError::internal();
    }
    error(status, req, status.reason().unwrap_or("the request failed"))
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![bad_request, unauthorized, not_found, unprocessable, any]
}
