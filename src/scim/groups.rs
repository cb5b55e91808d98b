//! `/Groups` (RFC 7644 §3.3–§3.6).
//!
//! Members are read only when the response returns them, and changed one row
//! at a time, so a member PATCH costs the same for a group of 50 or 50,000.

use rocket::http::{ContentType, Method, Status};
use rocket::{delete, get, patch, post, put, Data, State};
use rusqlite::Connection;

use super::error::{ScimError, ScimResult};
use super::http::{read_json, Preconditions, ScimClient, ScimResponse};
use super::patch::{apply, parse_request, MemberChange};
use super::query::{filter_error, list_response_for, read_search_request, ListParams, ListRequest, ProjectionParams};
use super::render::{group_json, ListBody, Projection};
use super::resource::{check_schemas, group_data, group_doc, normalize, Kind};
use super::{base_url, log_write};
use crate::app::App;
use crate::domain::groups::{self, Group};
use crate::domain::{Page, TenantId};

/// Renders groups, loading members only when `with_members`.
pub fn render(
    conn: &Connection,
    page: &[Group],
    projection: &Projection,
    with_members: bool,
    base: &str,
    list: &mut ListBody,
) -> ScimResult<()> {
    let members = if with_members {
        let ids: Vec<i64> = page.iter().map(|g| g.row_id).collect();
        Some(groups::members_of(conn, &ids)?)
    } else {
        None
    };
    for g in page {
        let m = members.as_ref().map(|m| m.get(&g.row_id).map(Vec::as_slice).unwrap_or(&[]));
        list.push_text(&projection.apply(group_json(g, m, base)).to_string());
    }
    Ok(())
}

/// One group as a response shows it: the group and, when shown, its members,
/// read in one transaction. A write renders it after its transaction, so that
/// JSON work stays off the single writer thread (Entra's first sync echoes a
/// group per member add).
struct GroupReply {
    group: Group,
    members: Option<Vec<groups::Member>>,
}

impl GroupReply {
    fn read(conn: &Connection, group: Group, projection: &Projection) -> ScimResult<GroupReply> {
        let members = if projection.wants("members") {
            Some(groups::members_of(conn, &[group.row_id])?.remove(&group.row_id).unwrap_or_default())
        } else {
            None
        };
        Ok(GroupReply { group, members })
    }

    fn respond(&self, status: Status, projection: &Projection, base: &str) -> ScimResponse {
        let group = &self.group;
        let body = projection.apply(group_json(group, self.members.as_deref(), base)).to_string();
        ScimResponse::resource_text(status, body, group.version, format!("{base}/Groups/{}", group.id))
    }
}

/// Runs a list query for groups and renders the page.
pub fn search(conn: &Connection, tenant: TenantId, params: &ListRequest, base: &str) -> ScimResult<String> {
    let query = params.query(Kind::Group)?;
    let Page { total, items } = groups::list(conn, tenant, &query).map_err(filter_error)?;
    let projection = params.projection(Kind::Group);
    let with_members = projection.wants("members");
    let mut list = ListBody::new(total, params.start_index()?, items.len());
    render(conn, &items, &projection, with_members, base, &mut list)?;
    Ok(list.finish())
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The part of a log line that says which member ids were not users here.
fn skipped_note(skipped: &[String]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = skipped.iter().take(3).map(String::as_str).collect();
    format!(
        "; ignored {} that {} not a user of this tenant ({}{})",
        plural(skipped.len(), "member id"),
        if skipped.len() == 1 { "is" } else { "are" },
        shown.join(", "),
        if skipped.len() > 3 { ", …" } else { "" }
    )
}

#[get("/<tenant>/Groups?<params..>")]
pub async fn list(tenant: &str, client: ScimClient, app: &State<App>, params: ListParams) -> ScimResult<ScimResponse> {
    list_response_for(app, tenant, client, params, Some(Kind::Group), search).await
}

#[post("/<tenant>/Groups/.search", data = "<data>")]
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

#[get("/<tenant>/Groups/<id>?<p..>")]
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
    let projection = p.projection(Kind::Group);
    let with_members = projection.wants("members");
    let run = move |tx: &rusqlite::Connection| {
        let group = groups::get(tx, client.tenant, &id)?;
        // A 304 needs no body: do not read members for it.
        if pre.not_modified(group.version) {
            return Ok::<_, ScimError>((group.version, None));
        }
        // Rendered here, on the blocking thread: the member list may be long.
        let version = group.version;
        Ok((version, Some(GroupReply::read(tx, group, &projection)?.respond(Status::Ok, &projection, &base))))
    };
    // A member list may be long: read it on a blocking thread.
    let (version, body) = if with_members { app.read(run).await? } else { app.lookup(run).await? };
    match body {
        None => Ok(ScimResponse::etag_only(Status::NotModified, version)),
        Some(response) => Ok(response),
    }
}

#[post("/<tenant>/Groups?<p..>", data = "<data>")]
pub async fn create(
    tenant: &str,
    client: ScimClient,
    app: &State<App>,
    p: ProjectionParams,
    ct: Option<&ContentType>,
    data: Data<'_>,
) -> ScimResult<ScimResponse> {
    let body = read_json(ct, data, app.config.max_body_bytes).await?;
    check_schemas(Kind::Group, &body)?;
    let (data, members) = group_data(normalize(Kind::Group, &body)?);
    let base = base_url(app, tenant);
    let projection = p.projection(Kind::Group);
    let wanted = projection.clone();
    let written = app
        .write(move |tx| {
            let group = groups::create(tx, client.tenant, &data)?;
            let added = groups::add_members(tx, client.tenant, &group, members.as_deref().unwrap_or(&[]))?;
            let outcome = format!(
                "created group {} with {}{}",
                group.display_name,
                plural(added.added, "member"),
                skipped_note(&added.skipped)
            );
            log_write(tx, &client, Method::Post, Kind::Group, &group.id, 201, outcome)?;
            GroupReply::read(tx, group, &wanted)
        })
        .await?;
    Ok(written.respond(Status::Created, &projection, &base))
}

#[put("/<tenant>/Groups/<id>?<p..>", data = "<data>")]
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
    check_schemas(Kind::Group, &body)?;
    let (data, members) = group_data(normalize(Kind::Group, &body)?);
    let base = base_url(app, tenant);
    let id = id.to_string();
    let projection = p.projection(Kind::Group);
    let wanted = projection.clone();
    let written = app
        .write(move |tx| {
            let current = groups::get(tx, client.tenant, &id)?;
            groups::check_version(&current, pre.expected_version())?;
            let group = groups::update(tx, &current, &data)?;
            // PUT replaces the whole resource: members not sent are removed.
            let removed = groups::remove_all_members(tx, &group)?;
            let added = groups::add_members(tx, client.tenant, &group, members.as_deref().unwrap_or(&[]))?;
            let outcome = format!(
                "replaced group {} ({} before, {} now){}",
                group.display_name,
                plural(removed, "member"),
                plural(added.added, "member"),
                skipped_note(&added.skipped)
            );
            log_write(tx, &client, Method::Put, Kind::Group, &group.id, 200, outcome)?;
            GroupReply::read(tx, group, &wanted)
        })
        .await?;
    Ok(written.respond(Status::Ok, &projection, &base))
}

/// Counts of what a PATCH did to the members.
#[derive(Default)]
struct MemberDelta {
    added: usize,
    removed: usize,
    skipped: Vec<String>,
}

impl MemberDelta {
    fn count(&mut self, added: groups::Added) {
        self.added += added.added;
        self.skipped.extend(added.skipped);
    }
}

fn apply_member_changes(
    tx: &Connection,
    tenant: TenantId,
    group: &Group,
    changes: Vec<MemberChange>,
) -> ScimResult<MemberDelta> {
    let mut delta = MemberDelta::default();
    for change in changes {
        match change {
            MemberChange::Add(ids) => delta.count(groups::add_members(tx, tenant, group, &ids)?),
            MemberChange::Remove(ids) => delta.removed += groups::remove_members(tx, tenant, group, &ids)?,
            MemberChange::RemoveWhere(filter) => {
                delta.removed += groups::remove_members_where(tx, tenant, group, &filter).map_err(|e| match e {
                    crate::domain::Error::Invalid(m) => ScimError::invalid_path(m),
                    e => e.into(),
                })?
            }
            MemberChange::RemoveAll => delta.removed += groups::remove_all_members(tx, group)?,
            MemberChange::Replace(ids) => {
                delta.removed += groups::remove_all_members(tx, group)?;
                delta.count(groups::add_members(tx, tenant, group, &ids)?);
            }
        }
    }
    Ok(delta)
}

/// PATCH answers 204 with the new ETag, as Entra documents for groups and
/// RFC 7644 §3.5.2 allows. A client that wants the result says so with
/// `attributes` / `excludedAttributes` and gets 200 with that projection.
/// Why not always echo: Entra adds members one PATCH at a time during its
/// first sync, and reading every member back on each add put a member-list
/// read inside the single writer's transaction for a third of its requests.
#[patch("/<tenant>/Groups/<id>?<p..>", data = "<data>")]
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
    let projection = p.projection(Kind::Group);
    let wanted = projection.clone();
    let body = app
        .write(move |tx| {
            let current = groups::get(tx, client.tenant, &id)?;
            groups::check_version(&current, pre.expected_version())?;
            let before = group_doc(&current);
            let mut doc = before.clone();
            let changes = apply(Kind::Group, &mut doc, &ops)?;
            let renamed = doc != before;
            let mut group = if renamed {
                let (data, _) = group_data(doc);
                groups::update(tx, &current, &data)?
            } else {
                current
            };
            let delta = apply_member_changes(tx, client.tenant, &group, changes)?;
            if (delta.added > 0 || delta.removed > 0) && !renamed {
                group = groups::touch(tx, &group)?;
            }
            let outcome = format!(
                "patched group {}: {} added, {} removed{}",
                group.display_name,
                plural(delta.added, "member"),
                plural(delta.removed, "member"),
                skipped_note(&delta.skipped)
            );
            let echo = wanted.is_explicit();
            log_write(tx, &client, Method::Patch, Kind::Group, &group.id, if echo { 200 } else { 204 }, outcome)?;
            if !echo {
                return Ok::<_, ScimError>(Err(group.version));
            }
            Ok(Ok(GroupReply::read(tx, group, &wanted)?))
        })
        .await?;
    Ok(match body {
        Ok(written) => written.respond(Status::Ok, &projection, &base),
        Err(version) => ScimResponse::etag_only(Status::NoContent, version),
    })
}

#[delete("/<_tenant>/Groups/<id>")]
pub async fn remove(
    _tenant: &str,
    id: &str,
    client: ScimClient,
    app: &State<App>,
    pre: Preconditions,
) -> ScimResult<ScimResponse> {
    let id = id.to_string();
    app.write(move |tx| {
        let group = groups::delete(tx, client.tenant, &id, pre.expected_version())?;
        log_write(
            tx,
            &client,
            Method::Delete,
            Kind::Group,
            &group.id,
            204,
            format!("deleted group {}", group.display_name),
        )?;
        Ok::<_, ScimError>(())
    })
    .await?;
    Ok(ScimResponse::no_content())
}
