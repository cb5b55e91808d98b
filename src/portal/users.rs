//! System Settings › Users: every provisioned user with status, and the role
//! and applications they end up with, and why. Identity is Entra's: read-only.

use rocket::{get, Route, State};
use rocket_dyn_templates::{context, Template};
use serde_json::{json, Map, Value};

use super::error::PortalResult;
use super::paging::{Paging, PAGE_SIZE};
use super::session::AdminSession;
use super::{auth::encode_query, Layout};
use crate::app::App;
use crate::domain::access::{self, Access, RoleSource};
use crate::domain::directory::{self, StatusFilter};
use crate::domain::users::{self, User};
use crate::domain::{format_time, Error};

/// The schema URN of the enterprise user extension (department, manager, …).
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Templates of this section: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("portal/users.html", include_str!("../../templates/portal/users.html.tera")),
    ("portal/users_detail.html", include_str!("../../templates/portal/users_detail.html.tera")),
];

pub fn routes() -> Vec<Route> {
    rocket::routes![list, show]
}

/// A user's effective access, with its provenance, for templates.
pub fn access_json(a: &Access) -> Value {
    let role = a.role.as_ref().map(|r| {
        let source = match &r.source {
            RoleSource::Group { group_id, group_name, assigned_at, other_groups } => json!({
                "type": "group", "group_id": group_id, "group_name": group_name,
                "assigned_at": format_time(assigned_at), "other_groups": other_groups,
            }),
            RoleSource::Default => json!({"type": "default"}),
        };
        let permissions: Vec<&str> =
            r.role.permissions.iter().map(|p| crate::domain::roles::permission_label(p)).collect();
        json!({"name": r.role.name, "permissions": permissions, "source": source})
    });
    let applications: Vec<Value> = a
        .applications
        .iter()
        .map(|g| json!({"name": g.application.name, "url": g.application.url, "via": g.via_groups}))
        .collect();
    json!({"suspended": a.suspended, "role": role, "applications": applications})
}

fn email(user: &User) -> Option<String> {
    let emails = user.profile.get("emails")?.as_array()?;
    let primary = emails.iter().find(|e| e["primary"] == true).or_else(|| emails.first())?;
    primary["value"].as_str().map(str::to_string)
}

#[get("/<_tenant>/settings/users?<q>&<status>&<page>")]
pub async fn list(
    _tenant: &str,
    q: Option<String>,
    status: Option<String>,
    page: Option<i64>,
    session: AdminSession,
    app: &State<App>,
) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let q = q.unwrap_or_default();
    let status = StatusFilter::parse(status.as_deref());
    let (page, offset) = Paging::offset(page);
    let search = q.clone();
    let found = app
        .read(move |tx| {
            let found = directory::users_page(tx, tenant, &search, status, offset, PAGE_SIZE)?;
            directory::with_access(tx, tenant, found)
        })
        .await?;
    let total = found.total;
    let rows: Vec<Value> = found
        .items
        .iter()
        .map(|(u, a)| {
            json!({
                "id": u.id, "user_name": u.user_name, "display_name": u.display_name, "email": email(u),
                "suspended": a.suspended, "access": access_json(a),
            })
        })
        .collect();
    let layout = Layout::new(&session, "users", "Users");
    let paging = Paging::new(page, total, rows.len());
    let href = format!("{}/settings/users?q={}&status={}&", layout.base, encode_query(&q), status.as_str());
    Ok(Template::render(
        "portal/users.html",
        context! { layout: &layout, users: rows, q: &q, status: status.as_str(), paging, href },
    ))
}

/// The attributes a page shows, in Entra's names, flattened to label → text.
fn attributes(user: &User) -> Vec<(String, String)> {
    let mut out = vec![("userName".to_string(), user.user_name.clone())];
    if let Some(d) = &user.display_name {
        out.push(("displayName".into(), d.clone()));
    }
    if let Some(e) = &user.external_id {
        out.push(("externalId".into(), e.clone()));
    }
    fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let name = if k.starts_with("urn:") {
                        String::new()
                    } else {
                        format!("{prefix}{}{k}", if prefix.is_empty() { "" } else { "." })
                    };
                    flatten(&name, v, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    let kind = item.get("type").and_then(Value::as_str).map(|t| format!("[{t}]")).unwrap_or_default();
                    match item {
                        Value::Object(o) => {
                            let mut o: Map<String, Value> = o.clone();
                            o.remove("type");
                            o.remove("primary");
                            let text = o
                                .values()
                                .filter_map(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string())))
                                .collect::<Vec<_>>()
                                .join(", ");
                            out.push((format!("{prefix}{kind}"), text));
                        }
                        other => out.push((
                            prefix.to_string(),
                            other.as_str().map_or_else(|| other.to_string(), str::to_string),
                        )),
                    }
                }
            }
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    flatten("", &Value::Object((*user.profile).clone()), &mut out);
    out
}

/// The enterprise extension's manager reference (the manager's SCIM id), if any.
fn manager_id(user: &User) -> Option<String> {
    user.profile.get(ENTERPRISE)?.get("manager")?.get("value")?.as_str().map(str::to_string)
}

#[get("/<_tenant>/settings/users/<id>")]
pub async fn show(_tenant: &str, id: &str, session: AdminSession, app: &State<App>) -> PortalResult<Template> {
    let tenant = session.0.tenant;
    let id = id.to_string();
    let (user, groups, a, manager) = app
        .read(move |tx| {
            let user = users::get(tx, tenant, &id)?;
            let groups = users::groups_of(tx, &[user.row_id])?.remove(&user.row_id).unwrap_or_default();
            let a = access::effective(tx, tenant, &user)?;
            let manager = match manager_id(&user) {
                Some(m) => users::find(tx, tenant, &m)?,
                None => None,
            };
            Ok::<_, Error>((user, groups, a, manager))
        })
        .await?;
    let layout = Layout::new(&session, "users", user.display_name.clone().unwrap_or_else(|| user.user_name.clone()));
    let attributes: Vec<Value> = attributes(&user)
        .into_iter()
        .map(|(name, value)| match &manager {
            // The manager, when provisioned too, by name and linked rather than as a bare id.
            Some(m) if name == "manager.value" && value == m.id => json!({
                "name": "manager", "value": m.display_name.clone().unwrap_or_else(|| m.user_name.clone()),
                "href": format!("{}/settings/users/{}", layout.base, encode_query(&m.id)),
            }),
            _ => json!({"name": name, "value": value}),
        })
        .collect();
    Ok(Template::render(
        "portal/users_detail.html",
        context! {
            layout: &layout,
            user: json!({"id": user.id, "user_name": user.user_name, "suspended": user.active == Some(false),
                         "created": format_time(&user.created), "last_modified": format_time(&user.last_modified)}),
            attributes,
            groups: groups.iter().map(|g| json!({"id": g.id, "name": g.display_name})).collect::<Vec<_>>(),
            access: access_json(&a),
        },
    ))
}
