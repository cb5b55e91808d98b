//! `/Users` (RFC 7644 §3.3–§3.6).

use rocket::http::{ContentType, Method, Status};
use rocket::{delete, get, patch, post, put, Data, State};
use rusqlite::Connection;

use super::error::{ScimError, ScimResult};
use super::http::{read_json, Preconditions, ScimClient, ScimResponse};
use super::patch::{apply, parse_request};
use super::query::{filter_error, list_response_for, read_search_request, ListParams, ListRequest, ProjectionParams};
use super::render::{projected, ListBody, Projection, UserResource};
use super::resource::{check_schemas, check_unique_types, normalize, user_data, user_doc, Kind};
use super::{base_url, log_write};
use crate::app::App;
use crate::domain::users::{self, GroupRef, User};
use crate::domain::{Page, TenantId};

/// Renders users into `list`, loading their groups only when the projection returns them.
pub fn render(
    conn: &Connection,
    page: &[User],
    projection: &Projection,
    base: &str,
    list: &mut ListBody,
) -> ScimResult<()> {
    let groups = if projection.wants("groups") {
        let ids: Vec<i64> = page.iter().map(|u| u.row_id).collect();
        Some(users::groups_of(conn, &ids)?)
    } else {
        None
    };
    for u in page {
        let groups = groups.as_ref().and_then(|g| g.get(&u.row_id)).map(Vec::as_slice);
        list.push(projection, &UserResource { user: u, groups, base });
    }
    Ok(())
}

/// One user as a response shows it: the user and, when shown, its groups,
/// read in one transaction. A write renders it after its transaction, so
/// that JSON work stays off the single writer thread.
pub struct UserReply {
    user: User,
    groups: Option<Vec<GroupRef>>,
}

impl UserReply {
    fn read(conn: &Connection, user: User, projection: &Projection) -> ScimResult<UserReply> {
        let groups = if projection.wants("groups") {
            Some(users::groups_of(conn, &[user.row_id])?.remove(&user.row_id).unwrap_or_default())
        } else {
            None
        };
        Ok(UserReply { user, groups })
    }

    fn respond(&self, status: Status, projection: &Projection, base: &str) -> ScimResponse {
        let user = &self.user;
        let body = projected(projection, &UserResource { user, groups: self.groups.as_deref(), base });
        ScimResponse::resource_text(status, body, user.version, format!("{base}/Users/{}", user.id))
    }
}

/// Runs a list query for users and renders the page.
pub fn search(conn: &Connection, tenant: TenantId, params: &ListRequest, base: &str) -> ScimResult<String> {
    let query = params.query(Kind::User)?;
    let Page { total, items } = users::list(conn, tenant, &query).map_err(filter_error)?;
    let mut list = ListBody::new(total, params.start_index()?, items.len());
    render(conn, &items, &params.projection(Kind::User), base, &mut list)?;
    Ok(list.finish())
}

#[get("/<tenant>/Users?<params..>")]
pub async fn list(tenant: &str, client: ScimClient, app: &State<App>, params: ListParams) -> ScimResult<ScimResponse> {
    list_response_for(app, tenant, client, params, Some(Kind::User), search).await
}

#[post("/<tenant>/Users/.search", data = "<data>")]
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

#[get("/<tenant>/Users/<id>?<p..>")]
pub async fn get(
    tenant: &str,
    id: &str,
    client: ScimClient,
    app: &State<App>,
    p: ProjectionParams,
    pre: Preconditions,
) -> ScimResult<ScimResponse> {
    let base = base_url(app, tenant);
    let id = id.to_string();
    let projection = p.projection(Kind::User);
    let found = app
        .lookup(move |tx| {
            let user = users::get(tx, client.tenant, &id)?;
            // A 304 needs no body: do not render one for it.
            if pre.not_modified(user.version) {
                return Ok::<_, ScimError>(Err(user.version));
            }
            Ok(Ok(UserReply::read(tx, user, &projection)?.respond(Status::Ok, &projection, &base)))
        })
        .await?;
    Ok(match found {
        Ok(response) => response,
        Err(version) => ScimResponse::etag_only(Status::NotModified, version),
    })
}

#[post("/<tenant>/Users?<p..>", data = "<data>")]
pub async fn create(
    tenant: &str,
    client: ScimClient,
    app: &State<App>,
    p: ProjectionParams,
    ct: Option<&ContentType>,
    data: Data<'_>,
) -> ScimResult<ScimResponse> {
    let body = read_json(ct, data, app.config.max_body_bytes).await?;
    check_schemas(Kind::User, &body)?;
    let doc = normalize(Kind::User, &body)?;
    check_unique_types(Kind::User, &doc)?;
    let data = user_data(doc);
    let base = base_url(app, tenant);
    let projection = p.projection(Kind::User);
    let written = app
        .write(move |tx| {
            let user = users::create(tx, client.tenant, &data)?;
            log_write(
                tx,
                &client,
                Method::Post,
                Kind::User,
                &user.id,
                201,
                format!("created user {}", user.user_name),
            )?;
            // A new user is in no group yet.
            Ok::<_, ScimError>(UserReply { user, groups: Some(Vec::new()) })
        })
        .await?;
    Ok(written.respond(Status::Created, &projection, &base))
}

#[put("/<tenant>/Users/<id>?<p..>", data = "<data>")]
#[allow(clippy::too_many_arguments)]
pub async fn replace(
    tenant: &str,
    id: &str,
    client: ScimClient,
    app: &State<App>,
    p: ProjectionParams,
    pre: Preconditions,
    ct: Option<&ContentType>,
    data: Data<'_>,
) -> ScimResult<ScimResponse> {
    let body = read_json(ct, data, app.config.max_body_bytes).await?;
    check_schemas(Kind::User, &body)?;
    let doc = normalize(Kind::User, &body)?;
    check_unique_types(Kind::User, &doc)?;
    let data = user_data(doc);
    let base = base_url(app, tenant);
    let id = id.to_string();
    let projection = p.projection(Kind::User);
    let wanted = projection.clone();
    let written = app
        .write(move |tx| {
            let user = users::replace(tx, client.tenant, &id, &data, pre.expected_version())?;
            log_write(
                tx,
                &client,
                Method::Put,
                Kind::User,
                &user.id,
                200,
                format!("replaced user {}", user.user_name),
            )?;
            UserReply::read(tx, user, &wanted)
        })
        .await?;
    Ok(written.respond(Status::Ok, &projection, &base))
}

#[patch("/<tenant>/Users/<id>?<p..>", data = "<data>")]
#[allow(clippy::too_many_arguments)]
pub async fn modify(
    tenant: &str,
    id: &str,
    client: ScimClient,
    app: &State<App>,
    p: ProjectionParams,
    pre: Preconditions,
    ct: Option<&ContentType>,
    data: Data<'_>,
) -> ScimResult<ScimResponse> {
    let body = read_json(ct, data, app.config.max_body_bytes).await?;
    let ops = parse_request(&body)?;
    let base = base_url(app, tenant);
    let id = id.to_string();
    let projection = p.projection(Kind::User);
    let wanted = projection.clone();
    let written = app
        .write(move |tx| {
            let current = users::get(tx, client.tenant, &id)?;
            users::check_version(&current, pre.expected_version())?;
            let before = user_doc(&current);
            let mut doc = before.clone();
            apply(Kind::User, &mut doc, &ops)?;
            check_unique_types(Kind::User, &doc)?;
            // Re-sending what is already there (Entra does, every cycle) changes nothing.
            let user =
                if doc == before { current } else { users::update(tx, client.tenant, current, &user_data(doc))? };
            let n = ops.len();
            log_write(
                tx,
                &client,
                Method::Patch,
                Kind::User,
                &user.id,
                200,
                format!("patched user {} ({n} operation{})", user.user_name, if n == 1 { "" } else { "s" }),
            )?;
            UserReply::read(tx, user, &wanted)
        })
        .await?;
    Ok(written.respond(Status::Ok, &projection, &base))
}

#[delete("/<_tenant>/Users/<id>")]
pub async fn remove(
    _tenant: &str,
    id: &str,
    client: ScimClient,
    app: &State<App>,
    pre: Preconditions,
) -> ScimResult<ScimResponse> {
    let id = id.to_string();
    app.write(move |tx| {
        let user = users::delete(tx, client.tenant, &id, pre.expected_version())?;
        log_write(tx, &client, Method::Delete, Kind::User, &user.id, 204, format!("deleted user {}", user.user_name))?;
        Ok::<_, ScimError>(())
    })
    .await?;
    Ok(ScimResponse::no_content())
}
