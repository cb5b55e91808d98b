//! The access API for other systems: `/api/v1/<tenant>/…`, bearer API keys.
//!
//! The keys are the tenant's API keys (the same as SCIM's Secret Token). Every
//! answer is JSON, errors included: `{"error": <code>, "message": <text>}`.

pub mod access;
pub mod auth;

use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder, Response};
use rocket::{catch, Catcher, Request, Route};
use serde_json::{json, Value};

pub const MOUNT: &str = "/api/v1";

pub fn routes() -> Vec<Route> {
    rocket::routes![access::user_access]
}

/// JSON errors for whatever no route answers below the mount (register with
/// `.register(api::MOUNT, api::catchers())`).
pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![any]
}

#[catch(default)]
fn any(status: Status, _req: &Request<'_>) -> ApiError {
    match status.code {
        404 => ApiError::not_found("there is no such API endpoint"),
        401 => ApiError::unauthorized("an Authorization: Bearer <API key> header is required"),
        c if c >= 500 => ApiError::internal(),
        _ => ApiError::new(status, "bad_request", status.reason().unwrap_or("the request could not be completed")),
    }
}

/// A JSON response: a body and a status, never cached.
#[derive(Debug)]
pub struct ApiJson {
    pub status: Status,
    pub body: Value,
}

impl<'r> Responder<'r, 'static> for ApiJson {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let text = self.body.to_string();
        Response::build()
            .status(self.status)
            .header(ContentType::JSON)
            .header(Header::new("Cache-Control", "no-store"))
            .sized_body(text.len(), std::io::Cursor::new(text))
            .ok()
    }
}

/// An error of the access API, rendered as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(Status::Unauthorized, "unauthorized", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(Status::NotFound, "not_found", message)
    }
    pub fn internal() -> ApiError {
        ApiError::new(
            Status::InternalServerError,
            "internal",
            "the server could not complete the request; it has been logged",
        )
    }
}

impl From<crate::domain::Error> for ApiError {
    fn from(e: crate::domain::Error) -> Self {
        match e {
            crate::domain::Error::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            crate::domain::Error::Db(e) if e.is_busy() => {
                ApiError::new(Status::ServiceUnavailable, "unavailable", "the database is busy; retry shortly")
            }
            other => {
                rocket::error!("access API: {other}");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        crate::domain::Error::Db(e).into()
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let unauthorized = self.status == Status::Unauthorized;
        let mut res = ApiJson { status: self.status, body: json!({ "error": self.code, "message": self.message }) }
            .respond_to(req)?;
        if unauthorized {
            res.set_header(Header::new("WWW-Authenticate", "Bearer realm=\"scim-portal\""));
        }
        Ok(res)
    }
}
