//! `GET /api/v1/<tenant>/users/<userName>/access`: a user's status, effective
//! role with its permissions, and applications, each with its provenance.

use rocket::{get, State};
use serde_json::{json, Value};

use super::auth::ApiClient;
use super::{ApiError, ApiJson};
use crate::app::App;
use crate::domain::access::{self, Access, RoleSource};
use crate::domain::users::{self, User};
use crate::domain::{format_time, Error};

/// The JSON of a user's effective access.
pub fn render(user: &User, access: &Access) -> Value {
    let role = access.role.as_ref().map(|r| {
        let source = match &r.source {
            RoleSource::Group { group_id, group_name, assigned_at, .. } => json!({
                "type": "group",
                "group": { "id": group_id, "displayName": group_name },
                "assignedAt": format_time(assigned_at),
            }),
            RoleSource::Default => json!({ "type": "default" }),
        };
        json!({ "name": r.role.name, "permissions": r.role.permissions, "source": source })
    });
    let applications: Vec<Value> = access
        .applications
        .iter()
        .map(|g| json!({ "name": g.application.name, "url": g.application.url, "grantedBy": g.via_groups }))
        .collect();
    json!({
        "userName": user.user_name,
        "id": user.id,
        "status": if access.suspended { "suspended" } else { "active" },
        "role": role,
        "applications": applications,
    })
}

/// `userName` matches case-insensitively, as in SCIM.
#[get("/<_tenant>/users/<user_name>/access")]
pub async fn user_access(
    _tenant: &str,
    user_name: &str,
    client: Result<ApiClient, ApiError>,
    app: &State<App>,
) -> Result<ApiJson, ApiError> {
    let client = client?;
    let (tenant, user_name) = (client.tenant, user_name.to_string());
    let found = app
        .read(move |tx| {
            let Some(user) = users::find_by_user_name(tx, tenant, &user_name)? else {
                return Ok(None);
            };
            let access = access::effective(tx, tenant, &user)?;
            Ok::<_, Error>(Some(render(&user, &access)))
        })
        .await?;
    match found {
        Some(body) => Ok(ApiJson { status: rocket::http::Status::Ok, body }),
        None => Err(ApiError::not_found("no user with this userName in this tenant")),
    }
}
