//! Discovery endpoints (RFC 7644 §4): what this server supports, built from
//! the same schema data that drives validation, so they cannot drift apart.

use rocket::http::Status;
use rocket::{get, State};
use serde_json::{json, Value};

use super::base_url;
use super::error::{ScimError, ScimResult};
use super::http::{ScimClient, ScimResponse};
use super::query::MAX_RESULTS;
use super::render::list_response_text;
use super::schema::{self, schema_json};
use crate::app::App;

/// Discovery lists take no filter (RFC 7644 §4: 403 when one is sent).
fn no_filter(filter: Option<&str>) -> ScimResult<()> {
    match filter {
        Some(_) => Err(ScimError::new(Status::Forbidden, None, "discovery endpoints do not support filtering")),
        None => Ok(()),
    }
}

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [schema::SERVICE_PROVIDER_CONFIG],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a secret token generated in scim-portal (System Settings › Open API) or with `scim-portal token create`.",
            "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

fn resource_type(id: &str, base: &str) -> Option<Value> {
    let (endpoint, schema_id, description, extensions) = match id {
        "User" => (
            "/Users",
            schema::USER,
            "User account",
            vec![json!({"schema": schema::ENTERPRISE_USER, "required": false})],
        ),
        "Group" => ("/Groups", schema::GROUP, "Group", vec![]),
        _ => return None,
    };
    let mut v = json!({
        "schemas": [schema::RESOURCE_TYPE],
        "id": id,
        "name": id,
        "endpoint": endpoint,
        "description": description,
        "schema": schema_id,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{id}")},
    });
    if !extensions.is_empty() {
        v["schemaExtensions"] = Value::Array(extensions);
    }
    Some(v)
}

#[get("/<tenant>/ServiceProviderConfig")]
pub fn get_service_provider_config(tenant: &str, _client: ScimClient, app: &State<App>) -> ScimResponse {
    ScimResponse::ok(service_provider_config(&base_url(app, tenant)))
}

#[get("/<tenant>/Schemas?<filter>")]
pub fn list_schemas(
    tenant: &str,
    _client: ScimClient,
    app: &State<App>,
    filter: Option<&str>,
) -> ScimResult<ScimResponse> {
    no_filter(filter)?;
    let base = base_url(app, tenant);
    let all: Vec<String> = schema::ALL.iter().map(|s| schema_json(s, &base).to_string()).collect();
    Ok(ScimResponse::ok_text(list_response_text(all.len() as i64, 1, &all)))
}

#[get("/<tenant>/Schemas/<id>")]
pub fn get_schema(tenant: &str, id: &str, _client: ScimClient, app: &State<App>) -> ScimResult<ScimResponse> {
    let schema = schema::by_id(id).ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))?;
    Ok(ScimResponse::ok(schema_json(schema, &base_url(app, tenant))))
}

#[get("/<tenant>/ResourceTypes?<filter>")]
pub fn list_resource_types(
    tenant: &str,
    _client: ScimClient,
    app: &State<App>,
    filter: Option<&str>,
) -> ScimResult<ScimResponse> {
    no_filter(filter)?;
    let base = base_url(app, tenant);
    let all: Vec<String> =
        ["User", "Group"].iter().filter_map(|id| resource_type(id, &base)).map(|r| r.to_string()).collect();
    Ok(ScimResponse::ok_text(list_response_text(all.len() as i64, 1, &all)))
}

#[get("/<tenant>/ResourceTypes/<id>")]
pub fn get_resource_type(tenant: &str, id: &str, _client: ScimClient, app: &State<App>) -> ScimResult<ScimResponse> {
    resource_type(id, &base_url(app, tenant))
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id:?}")))
}

/// Bulk is advertised as unsupported; say so rather than 404.
#[rocket::post("/<_tenant>/Bulk")]
pub fn bulk(_tenant: &str, _client: ScimClient) -> ScimError {
    ScimError::new(Status::NotImplemented, None, "bulk operations are not supported (see ServiceProviderConfig)")
}
