//! SCIM errors (RFC 7644 §3.12): one type for the SCIM surface, rendered in
//! one place as `application/scim+json`.

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::Request;
use serde_json::json;

use super::schema;
use crate::domain;

/// A SCIM error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimError {
    pub status: Status,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: Status, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }
    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(Status::BadRequest, Some(scim_type), detail)
    }
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad("invalidSyntax", detail)
    }
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad("invalidFilter", detail)
    }
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad("invalidPath", detail)
    }
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad("noTarget", detail)
    }
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad("mutability", detail)
    }
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad("tooMany", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Status::NotFound, None, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(Status::Unauthorized, None, detail)
    }
    pub fn internal() -> Self {
        Self::new(Status::InternalServerError, None, "the server could not complete the request; it has been logged")
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [schema::ERROR],
            "status": self.status.code.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl From<domain::Error> for ScimError {
    fn from(e: domain::Error) -> Self {
        match e {
            domain::Error::NotFound(what) => ScimError::not_found(format!("{what} not found")),
            domain::Error::Conflict(detail) => ScimError::new(Status::Conflict, Some("uniqueness"), detail),
            domain::Error::Invalid(detail) => ScimError::invalid_value(detail),
            domain::Error::VersionMismatch => ScimError::new(
                Status::PreconditionFailed,
                None,
                "the resource has changed since the version given in If-Match",
            ),
            domain::Error::Db(e) if e.is_busy() => {
                rocket::warn!("database busy: {e}");
                ScimError::new(
                    Status::ServiceUnavailable,
                    None,
                    "the server is busy; retry the request shortly (nothing was changed)",
                )
            }
            domain::Error::Db(e) => {
                rocket::error!("database error: {e}");
                ScimError::internal()
            }
        }
    }
}

impl<'r> Responder<'r, 'static> for ScimError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        super::http::note(req, |l| l.error = Some(self.detail.clone()));
        let body = self.body().to_string();
        let mut res = Response::build();
        res.status(self.status)
            .header(ContentType::new("application", "scim+json"))
            .sized_body(body.len(), std::io::Cursor::new(body));
        if self.status == Status::Unauthorized {
            res.header(Header::new("WWW-Authenticate", "Bearer realm=\"scim\""));
        }
        if self.status == Status::ServiceUnavailable || self.status == Status::TooManyRequests {
            res.header(Header::new("Retry-After", "1"));
        }
        res.ok()
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

impl From<crate::db::DbError> for ScimError {
    fn from(e: crate::db::DbError) -> Self {
        domain::Error::Db(e).into()
    }
}
