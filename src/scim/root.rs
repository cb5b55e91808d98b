//! Searching every resource type at once: `GET /` and `POST /.search` on the
//! tenant root (RFC 7644 §3.4.3). Users come first, then groups; one page
//! spans both, with paging done in SQL for each.

use rocket::http::ContentType;
use rocket::{get, post, Data, State};
use rusqlite::Connection;

use super::error::{ScimError, ScimResult};
use super::http::{ScimClient, ScimResponse};
use super::lower::lower;
use super::query::{filter_error, list_response_for, read_search_request, ListParams, ListRequest};
use super::render::ListBody;
use super::resource::Kind;
use super::{groups, users};
use crate::app::App;
use crate::domain::filter::Filter;
use crate::domain::{self, TenantId};

/// The filter for each kind: an attribute one type lacks makes that type
/// match nothing, and the filter is an error only when no type has it.
fn filters(request: &ListRequest) -> ScimResult<(Filter, Filter)> {
    let Some(ast) = &request.filter else {
        return Ok((Filter::Const(true), Filter::Const(true)));
    };
    match (lower(Kind::User, ast), lower(Kind::Group, ast)) {
        (Err(e), Err(_)) => Err(e),
        (u, g) => Ok((u.unwrap_or(Filter::Const(false)), g.unwrap_or(Filter::Const(false)))),
    }
}

fn search(conn: &Connection, tenant: TenantId, params: &ListRequest, base: &str) -> ScimResult<String> {
    let (user_filter, group_filter) = filters(params)?;
    let user_query = params.query_with(Kind::User, user_filter)?;
    let mut group_query = params.query_with(Kind::Group, group_filter)?;
    let (offset, limit) = (user_query.offset, user_query.limit);

    let user_page = domain::users::list(conn, tenant, &user_query).map_err(filter_error)?;
    let taken = user_page.items.len() as i64;
    group_query.offset = (offset - user_page.total).max(0);
    group_query.limit = limit - taken;
    let group_page = domain::groups::list(conn, tenant, &group_query).map_err(filter_error)?;

    let total = user_page.total + group_page.total;
    let mut list = ListBody::new(total, params.start_index()?, user_page.items.len() + group_page.items.len());
    users::render(conn, &user_page.items, &params.projection(Kind::User), base, &mut list)?;
    let group_projection = params.projection(Kind::Group);
    let with_members = group_projection.wants("members");
    groups::render(conn, &group_page.items, &group_projection, with_members, base, &mut list)?;
    Ok(list.finish())
}

#[get("/<tenant>?<params..>", rank = 2)]
pub async fn list(tenant: &str, client: ScimClient, app: &State<App>, params: ListParams) -> ScimResult<ScimResponse> {
    list_response_for(app, tenant, client, params, None, search).await
}

#[post("/<tenant>/.search", data = "<data>")]
pub async fn search_post(
    tenant: &str,
    client: ScimClient,
    app: &State<App>,
    ct: Option<&ContentType>,
    data: Data<'_>,
) -> ScimResult<ScimResponse> {
    let params = read_search_request(app, ct, data).await?;
    list(tenant, client, app, params).await
}

/// Methods a SCIM path does not have: 405 for the endpoints this server serves, 404 otherwise.
fn not_allowed(path: &std::path::Path) -> ScimError {
    let first = path.iter().next().and_then(|s| s.to_str()).unwrap_or("");
    let allowed = match first {
        "ServiceProviderConfig" | "Schemas" | "ResourceTypes" => Some("GET"),
        "Users" | "Groups" if path.iter().count() == 1 => Some("GET, POST"),
        "Users" | "Groups" => Some("GET, PUT, PATCH, DELETE"),
        ".search" => Some("POST"),
        "" => Some("GET"),
        _ => None,
    };
    match allowed {
        Some(methods) => {
            ScimError::new(rocket::http::Status::MethodNotAllowed, None, format!("this endpoint allows {methods} only"))
        }
        None => ScimError::not_found(format!("there is no SCIM endpoint /{}", path.display())),
    }
}

#[post("/<_tenant>/<path..>", rank = 50)]
pub fn post_fallback(_tenant: &str, path: std::path::PathBuf) -> ScimError {
    not_allowed(&path)
}
#[rocket::put("/<_tenant>/<path..>", rank = 50)]
pub fn put_fallback(_tenant: &str, path: std::path::PathBuf) -> ScimError {
    not_allowed(&path)
}
#[rocket::patch("/<_tenant>/<path..>", rank = 50)]
pub fn patch_fallback(_tenant: &str, path: std::path::PathBuf) -> ScimError {
    not_allowed(&path)
}
#[rocket::delete("/<_tenant>/<path..>", rank = 50)]
pub fn delete_fallback(_tenant: &str, path: std::path::PathBuf) -> ScimError {
    not_allowed(&path)
}
