//! The portal's one error type, rendered once as an HTML error page.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::Request;
use rocket_dyn_templates::{context, Template};

use crate::domain;

#[derive(Debug)]
pub enum PortalError {
    NotFound(&'static str),
    /// A state-changing form without this session's CSRF token: nothing was changed.
    BadCsrf,
    Internal,
}

impl From<domain::Error> for PortalError {
    fn from(e: domain::Error) -> Self {
        match e {
            domain::Error::NotFound(what) => PortalError::NotFound(what),
            other => {
                rocket::error!("portal: {other}");
                PortalError::Internal
            }
        }
    }
}

impl From<crate::db::DbError> for PortalError {
    fn from(e: crate::db::DbError) -> Self {
        domain::Error::Db(e).into()
    }
}

/// Renders the error page.
pub fn page(status: Status, heading: &str, message: &str) -> (Status, Template) {
    (status, Template::render("error.html", context! { status: status.code, heading, message }))
}

/// The page of a refused sign-in or an ended session: why, in `#sign-in-refused`.
pub fn refused(status: Status, tenant_slug: &str, heading: &str, reason: &str) -> (Status, Template) {
    (
        status,
        Template::render(
            "portal/refused.html",
            context! { status: status.code, heading, reason, tenant_slug, title: heading },
        ),
    )
}

impl<'r> Responder<'r, 'static> for PortalError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            PortalError::NotFound(what) => page(Status::NotFound, "Not found", &format!("This {what} does not exist, or it belongs to another tenant.")),
            PortalError::BadCsrf => page(
                Status::Forbidden,
                "The form expired",
                "The form was missing its security token or it no longer matches your session, so nothing was changed. Go back, reload the page and try again.",
            ),
            PortalError::Internal => page(Status::InternalServerError, "Something went wrong", "The server could not complete the request; it has been logged. Nothing was changed."),
        }
        .respond_to(req)
    }
}

pub type PortalResult<T> = Result<T, PortalError>;
