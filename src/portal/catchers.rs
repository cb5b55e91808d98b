//! What the portal answers when no page does: sign-in redirects and error pages.

use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{catch, Catcher, Either, Request};
use rocket_dyn_templates::Template;

use super::error::{page, refused};
use super::session::{self, Denied};
use super::MOUNT;

/// No session: go to the tenant's sign-in page, and come back afterwards.
#[catch(401)]
fn sign_in(req: &Request<'_>) -> Redirect {
    let tenant = req.uri().path().segments().get(1).unwrap_or("default").to_string();
    let next = req.uri().path().to_string();
    let next = super::auth::encode_query(&next);
    Redirect::to(format!("{MOUNT}/{tenant}/login?next={next}"))
}

/// Turned away by a session guard: a signed-in user without the permission
/// goes to My access; an ended session shows why, and its cookie is cleared.
#[catch(403)]
fn forbidden(req: &Request<'_>) -> Either<Redirect, (Status, Template)> {
    match req.local_cache(Denied::default) {
        Denied::ToMyAccess { href } => Either::Left(Redirect::to(href.clone())),
        Denied::Refused { reason, tenant_slug } => {
            session::clear_cookie(req.cookies());
            Either::Right(refused(Status::Forbidden, tenant_slug, "Your access has ended", reason))
        }
        Denied::Nothing => Either::Right(page(Status::Forbidden, "Forbidden", "You may not open this page.")),
    }
}

#[catch(404)]
fn not_found() -> (Status, Template) {
    page(Status::NotFound, "Not found", "There is no such page, or it belongs to another tenant.")
}

#[catch(422)]
fn unprocessable() -> (Status, Template) {
    page(
        Status::BadRequest,
        "The form could not be read",
        "Go back, check the form and try again. Nothing was changed.",
    )
}

#[catch(default)]
fn any(status: Status, _req: &Request<'_>) -> (Status, Template) {
    if status.code >= 500 {
        return page(status, "Something went wrong", "The server could not complete the request; it has been logged.");
    }
    page(status, status.reason().unwrap_or("Error"), "The request could not be completed.")
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![sign_in, forbidden, not_found, unprocessable, any]
}
