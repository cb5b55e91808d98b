//! Bearer authentication of the access API: an API key of the tenant named in
//! the URL (the same keys as SCIM), live (not revoked, not expired).

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::Request;

use super::ApiError;
use crate::app::App;
use crate::domain::TenantId;

/// A caller whose bearer key belongs to the tenant in the URL.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub tenant: TenantId,
    pub key_label: String,
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(header: &str) -> Result<String, ApiError> {
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_string())
        }
        _ if header.is_empty() => Err(ApiError::unauthorized("an Authorization: Bearer <API key> header is required")),
        _ => Err(ApiError::unauthorized("the Authorization header must be \"Bearer <API key>\"")),
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiClient {
    type Error = ApiError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ApiError::internal()));
        };
        let token = match bearer(req.headers().get_one("Authorization").unwrap_or_default()) {
            Ok(t) => t,
            Err(e) => return Outcome::Error((e.status, e)),
        };
        let slug = req.routed_segment(0).unwrap_or_default().to_string();
        // Hashed and compared in constant time by the domain.
        let owner = app.authenticate(&token).await;
        match owner {
            Ok(Some(owner)) if owner.tenant_slug == slug => {
                app.record_key_use(owner.key_id);
                Outcome::Success(ApiClient { tenant: owner.tenant, key_label: owner.label })
            }
            // Another tenant's key gets the same answer as a wrong one.
            Ok(_) => {
                let e =
                    ApiError::unauthorized("the API key is not valid for this tenant (unknown, revoked or expired)");
                Outcome::Error((e.status, e))
            }
            Err(e) => {
                let e = ApiError::from(e);
                Outcome::Error((e.status, e))
            }
        }
    }
}
