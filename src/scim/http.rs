//! The SCIM surface's HTTP plumbing: bearer authentication, JSON bodies,
//! conditional-request headers and the `application/scim+json` responder.

use std::sync::Mutex;

use rocket::data::{Data, ToByteUnit};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder, Response};
use rocket::tokio::io::AsyncReadExt;
use rocket::Request;
use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use crate::app::App;
use crate::domain::TenantId;

/// Per-request facts the provisioning log needs, gathered as the request is served.
#[derive(Default)]
pub struct RequestLog {
    pub inner: Mutex<RequestLogInner>,
}

#[derive(Default, Clone)]
pub struct RequestLogInner {
    pub tenant: Option<TenantId>,
    pub token_label: Option<String>,
    /// Set when the handler already logged the request in its own transaction.
    pub logged: bool,
    /// The detail of the SCIM error sent, if any.
    pub error: Option<String>,
}

/// Updates this request's log facts.
pub fn note(req: &Request<'_>, f: impl FnOnce(&mut RequestLogInner)) {
    let log = req.local_cache(RequestLog::default);
    if let Ok(mut inner) = log.inner.lock() {
        f(&mut inner);
    }
}

/// An authenticated SCIM client: the bearer token was valid for the tenant in the URL.
#[derive(Debug, Clone)]
pub struct ScimClient {
    pub tenant: TenantId,
    pub token_label: String,
}

fn unauthorized(req: &Request<'_>, detail: &str) -> Outcome<ScimClient, ScimError> {
    let error = ScimError::unauthorized(detail);
    note(req, |l| l.error = Some(error.detail.clone()));
    Outcome::Error((Status::Unauthorized, error))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ScimClient {
    type Error = ScimError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ScimError::internal()));
        };
        let slug = req.routed_segment(0).unwrap_or_default().to_string();
        let header = req.headers().get_one("Authorization").unwrap_or_default();
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                token.trim().to_string()
            }
            _ if header.is_empty() => return unauthorized(req, "an Authorization: Bearer <token> header is required"),
            _ => return unauthorized(req, "the Authorization header must be \"Bearer <token>\""),
        };
        let owner = app.authenticate(&token).await;
        match owner {
            Ok(Some(owner)) if owner.tenant_slug == slug => {
                if let Some(limiter) = &app.scim_limiter {
                    if let Err(wait) = limiter.take(owner.key_id, std::time::Instant::now()) {
                        let error = ScimError::new(
                            Status::TooManyRequests,
                            None,
                            format!("too many requests for this token; retry after {} ms", wait.as_millis().max(1)),
                        );
                        note(req, |l| {
                            l.tenant = Some(owner.tenant);
                            l.token_label = Some(owner.label.clone());
                            l.error = Some(error.detail.clone());
                        });
                        return Outcome::Error((Status::TooManyRequests, error));
                    }
                }
                app.record_key_use(owner.key_id);
                note(req, |l| {
                    l.tenant = Some(owner.tenant);
                    l.token_label = Some(owner.label.clone());
                });
                Outcome::Success(ScimClient { tenant: owner.tenant, token_label: owner.label })
            }
            // A token of another tenant gets the same answer as a wrong one.
            Ok(_) => unauthorized(req, "the bearer token is not valid for this tenant (unknown, revoked or expired)"),
            Err(e) => {
                let error = ScimError::from(e);
                Outcome::Error((error.status, error))
            }
        }
    }
}

/// `If-Match` / `If-None-Match` (RFC 7644 §3.14).
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Preconditions {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let h = |name: &str| req.headers().get_one(name).map(str::to_string);
        Outcome::Success(Preconditions { if_match: h("If-Match"), if_none_match: h("If-None-Match") })
    }
}

/// The versions named by an ETag list header; `*` (any) is `None`.
fn versions(header: &str) -> Option<Vec<Option<i64>>> {
    if header.trim() == "*" {
        return None;
    }
    Some(header.split(',').map(super::lower::parse_version).collect())
}

impl Preconditions {
    /// The version a write must find, from `If-Match`: `Ok(None)` when there is
    /// no header or it is `*`. A tag that is not one of ours can never match.
    pub fn expected_version(&self) -> Option<i64> {
        let list = versions(self.if_match.as_deref()?)?;
        // A list of several tags is rare; the first one of ours decides.
        Some(list.into_iter().flatten().next().unwrap_or(-1))
    }

    /// True when `If-None-Match` names the current version (a GET answers 304).
    pub fn not_modified(&self, version: i64) -> bool {
        match self.if_none_match.as_deref() {
            None => false,
            Some(h) => versions(h).is_none_or(|l| l.contains(&Some(version))),
        }
    }
}

/// Room for a typical SCIM body (an Entra user is under 1 KiB); larger ones grow.
const BODY_CAPACITY_HINT: usize = 2048;

/// Reads a JSON object body: at most `limit` bytes, any JSON media type.
pub async fn read_json(req_type: Option<&ContentType>, data: Data<'_>, limit: u64) -> ScimResult<Map<String, Value>> {
    if let Some(ct) = req_type {
        let json_like = ct.top() == "application" && (ct.sub() == "json" || ct.sub().as_str().ends_with("+json"));
        if !json_like {
            return Err(ScimError::new(
                Status::UnsupportedMediaType,
                None,
                format!("send the body as application/scim+json or application/json, not {ct}"),
            ));
        }
    }
    // Read straight into a growing buffer: Rocket's `into_bytes` copies
    // through a zeroed 8 KiB buffer per request, whose page the allocator
    // handed back to the system and faulted in again on every POST.
    let mut bytes = Vec::with_capacity(BODY_CAPACITY_HINT);
    data.open(limit.saturating_add(1).bytes())
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ScimError::invalid_syntax(format!("could not read the body: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(ScimError::new(Status::PayloadTooLarge, None, format!("the body is larger than {limit} bytes")));
    }
    let value: Value = super::strict_json::from_slice(&bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))?;
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(ScimError::invalid_syntax("the body must be a JSON object")),
    }
}

/// A successful SCIM response.
#[derive(Debug)]
pub struct ScimResponse {
    pub status: Status,
    /// The JSON text of the body.
    pub body: Option<String>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        Self::ok_text(body.to_string())
    }
    /// A body already serialised (a list rendered resource by resource).
    pub fn ok_text(body: String) -> Self {
        ScimResponse { status: Status::Ok, body: Some(body), etag: None, location: None }
    }
    pub fn no_content() -> Self {
        ScimResponse { status: Status::NoContent, body: None, etag: None, location: None }
    }
    /// No body, only the resource's ETag: 304 Not Modified, or 204 after a write.
    pub fn etag_only(status: Status, version: i64) -> Self {
        ScimResponse { status, body: None, etag: Some(super::render::etag(version)), location: None }
    }
    /// A single resource already serialised, with its version and location.
    pub fn resource_text(status: Status, body: String, version: i64, location: String) -> Self {
        let location = (status == Status::Created).then_some(location);
        ScimResponse { status, body: Some(body), etag: Some(super::render::etag(version)), location }
    }
}

impl<'r> Responder<'r, 'static> for ScimResponse {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut res = Response::build();
        res.status(self.status);
        if let Some(text) = self.body {
            res.header(ContentType::new("application", "scim+json")).sized_body(text.len(), std::io::Cursor::new(text));
        }
        if let Some(etag) = self.etag {
            res.header(Header::new("ETag", etag));
        }
        if let Some(location) = self.location {
            res.header(Header::new("Location", location));
        }
        res.ok()
    }
}
