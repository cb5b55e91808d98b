//! The SCIM 2.0 service provider (RFC 7643, RFC 7644).

pub mod catchers;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod groups;
pub mod http;
pub mod log;
pub mod lower;
pub mod patch;
pub mod paths;
pub mod query;
pub mod render;
pub mod resource;
pub mod root;
pub mod schema;
pub mod strict_json;
pub mod users;

use rocket::http::Method;
use rocket::Route;
use rusqlite::Connection;

use crate::app::App;
use crate::domain::provisioning_log::{self, Entry};
use error::ScimResult;
use http::ScimClient;
use resource::Kind;

/// Where the SCIM routes are mounted.
pub const MOUNT: &str = "/scim/v2";

/// The absolute base URL of a tenant's SCIM endpoint, used in `meta.location`.
pub fn base_url(app: &App, tenant: &str) -> String {
    format!("{}{MOUNT}/{tenant}", app.public_url)
}

/// Records a successful change in the provisioning log, inside the request's
/// own transaction, so that the log and the data cannot disagree.
pub fn log_write(
    tx: &Connection,
    client: &ScimClient,
    method: Method,
    kind: Kind,
    id: &str,
    status: u16,
    outcome: String,
) -> ScimResult<()> {
    let path =
        if method == Method::Post { format!("/{}", kind.endpoint()) } else { format!("/{}/{id}", kind.endpoint()) };
    let mut entry = Entry::new(method.as_str(), &path, status, outcome);
    entry.token_label = Some(client.token_label.clone());
    entry.resource_type = Some(kind.name().to_string());
    entry.resource_id = Some(id.to_string());
    provisioning_log::record(tx, client.tenant, &entry)?;
    Ok(())
}

/// Every SCIM route.
pub fn routes() -> Vec<Route> {
    rocket::routes![
        users::list,
        users::search_post,
        users::get,
        users::create,
        users::replace,
        users::modify,
        users::remove,
        groups::list,
        groups::search_post,
        groups::get,
        groups::create,
        groups::replace,
        groups::modify,
        groups::remove,
        discovery::get_service_provider_config,
        discovery::list_schemas,
        discovery::get_schema,
        discovery::list_resource_types,
        discovery::get_resource_type,
        discovery::bulk,
        root::list,
        root::search_post,
        root::post_fallback,
        root::put_fallback,
        root::patch_fallback,
        root::delete_fallback,
    ]
}
