//! The access API: `GET /api/v1/<tenant>/users/<userName>/access` with a bearer API key.

mod common;
use common::*;

use serde_json::{json, Value};

use scim_portal::domain::access;
use scim_portal::domain::applications::{self, ApplicationInput};
use scim_portal::domain::groups;
use scim_portal::domain::roles;
use scim_portal::domain::{format_time, tenants, Error, TenantId};

fn tenant(app: &TestApp, slug: &str) -> TenantId {
    let slug = slug.to_string();
    app.state().db.read(move |tx| tenants::get_by_slug(tx, &slug)).unwrap().id
}

/// GET the access of `user_name` in `tenant` with `token`.
fn access_of(app: &TestApp, tenant: &str, user_name: &str, token: Option<&str>) -> Res {
    app.raw("GET", &format!("/api/v1/{tenant}/users/{}/access", enc(user_name)), token, &[], None)
}

fn add_members(app: &TestApp, group: &str, users: &[&str]) {
    let value: Vec<Value> = users.iter().map(|u| json!({ "value": u })).collect();
    patched(app.patch(&format!("/Groups/{group}"), json!([{ "op": "add", "path": "members", "value": value }])));
}

/// A group PATCH succeeded (200 with the group, or 204).
#[track_caller]
fn patched(res: Res) {
    assert!(res.status == 200 || res.status == 204, "{}: {}", res.status, res.text);
}

fn assign(app: &TestApp, group: &str, role: &str) {
    let t = tenant(app, "default");
    app.state()
        .db
        .write(|tx| {
            let g = groups::get(tx, t, group)?;
            let r = roles::find_by_name(tx, t, role)?.expect("role");
            access::assign_role(tx, t, &g, Some(r.id))
        })
        .unwrap();
}

fn new_app(app: &TestApp, name: &str, url: &str) -> i64 {
    let t = tenant(app, "default");
    let input = ApplicationInput { name: name.into(), url: url.into(), description: String::new() };
    app.state().db.write(|tx| applications::create(tx, t, &input)).unwrap().id
}

fn grant(app: &TestApp, group: &str, apps: &[i64]) {
    let t = tenant(app, "default");
    app.state()
        .db
        .write(|tx| {
            let g = groups::get(tx, t, group)?;
            access::set_applications(tx, t, &g, apps)
        })
        .unwrap();
}

fn assigned_at(app: &TestApp, group: &str) -> String {
    let t = tenant(app, "default");
    app.state()
        .db
        .read(|tx| {
            let g = groups::get(tx, t, group)?;
            Ok::<_, Error>(access::group_grant(tx, t, &g)?.role.expect("a role").assigned_at)
        })
        .map(|at| format_time(&at))
        .unwrap()
}

#[test]
fn a_user_without_role_groups_gets_the_default_role() {
    let app = TestApp::new();
    let id = app.entra_user("alice@example.com");
    let res = access_of(&app, "default", "alice@example.com", Some(&app.token)).expect(200);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        res.body,
        json!({
            "userName": "alice@example.com",
            "id": id,
            "status": "active",
            "role": { "name": "Content Creator", "permissions": ["content.create"], "source": { "type": "default" } },
            "applications": [],
        })
    );
    // userName matches regardless of case, and percent-encoding is decoded.
    let upper = access_of(&app, "default", "ALICE@Example.COM", Some(&app.token)).expect(200);
    assert_eq!(upper.body, res.body);
    let raw = app.raw("GET", "/api/v1/default/users/alice@example.com/access", Some(&app.token), &[], None).expect(200);
    assert_eq!(raw.body, res.body);
}

#[test]
fn a_group_role_comes_with_its_provenance_and_the_latest_assignment_wins() {
    let app = TestApp::new();
    let bob = app.entra_user("bob@example.com");
    let editors = app.entra_group("Editors");
    let analysts = app.entra_group("Analysts");
    add_members(&app, &editors, &[&bob]);
    add_members(&app, &analysts, &[&bob]);

    assign(&app, &editors, "Publisher");
    let res = access_of(&app, "default", "bob@example.com", Some(&app.token)).expect(200);
    assert_eq!(
        res.body["role"],
        json!({
            "name": "Publisher",
            "permissions": ["content.create", "content.publish"],
            "source": { "type": "group", "group": { "id": editors, "displayName": "Editors" }, "assignedAt": assigned_at(&app, &editors) },
        })
    );

    // A later assignment on another of the user's groups wins.
    assign(&app, &analysts, "Analytics Manager");
    let res = access_of(&app, "default", "bob@example.com", Some(&app.token)).expect(200);
    assert_eq!(res.body["role"]["name"], "Analytics Manager");
    assert_eq!(res.body["role"]["permissions"], json!(["dashboards.view", "analytics.manage"]));
    assert_eq!(res.body["role"]["source"]["group"], json!({ "id": analysts, "displayName": "Analysts" }));

    // Re-provisioning the same memberships changes nothing.
    add_members(&app, &editors, &[&bob]);
    patched(
        app.patch(
            &format!("/Groups/{editors}"),
            json!([{ "op": "replace", "path": "displayName", "value": "Editors" }]),
        ),
    );
    let again = access_of(&app, "default", "bob@example.com", Some(&app.token)).expect(200);
    assert_eq!(again.body, res.body);

    // Leaving that group hands the role back to the other one.
    patched(app.patch(
        &format!("/Groups/{analysts}"),
        json!([{ "op": "remove", "path": format!("members[value eq \"{bob}\"]") }]),
    ));
    let res = access_of(&app, "default", "bob@example.com", Some(&app.token)).expect(200);
    assert_eq!(res.body["role"]["name"], "Publisher");
    assert_eq!(res.body["role"]["source"]["group"]["displayName"], "Editors");
}

#[test]
fn a_suspended_user_has_no_access() {
    let app = TestApp::new();
    let carol = app.entra_user("carol@example.com");
    let staff = app.entra_group("Staff");
    add_members(&app, &staff, &[&carol]);
    assign(&app, &staff, "Publisher");
    let wiki = new_app(&app, "Wiki", "https://wiki.example.com");
    grant(&app, &staff, &[wiki]);
    assert_eq!(access_of(&app, "default", "carol@example.com", Some(&app.token)).expect(200).body["status"], "active");

    app.patch(&format!("/Users/{carol}"), json!([{ "op": "Replace", "path": "active", "value": "False" }])).expect(200);
    let res = access_of(&app, "default", "carol@example.com", Some(&app.token)).expect(200);
    assert_eq!(
        res.body,
        json!({ "userName": "carol@example.com", "id": carol, "status": "suspended", "role": null, "applications": [] })
    );

    app.patch(&format!("/Users/{carol}"), json!([{ "op": "Replace", "path": "active", "value": "True" }])).expect(200);
    let res = access_of(&app, "default", "carol@example.com", Some(&app.token)).expect(200);
    assert_eq!((res.body["status"].as_str(), res.body["role"]["name"].as_str()), (Some("active"), Some("Publisher")));
}

#[test]
fn applications_are_the_union_of_the_groups_with_the_groups_that_grant_them() {
    let app = TestApp::new();
    let dave = app.entra_user("dave@example.com");
    let other = app.entra_user("erin@example.com");
    let staff = app.entra_group("Staff");
    let finance = app.entra_group("Finance");
    let hr = app.entra_group("HR");
    add_members(&app, &staff, &[&dave, &other]);
    add_members(&app, &finance, &[&dave]);
    add_members(&app, &hr, &[&other]);
    let intranet = new_app(&app, "Intranet", "https://intranet.example.com");
    let payroll = new_app(&app, "Payroll", "");
    let ledger = new_app(&app, "ledger", "https://ledger.example.com");
    let recruiting = new_app(&app, "Recruiting", "");
    grant(&app, &staff, &[intranet]);
    grant(&app, &finance, &[intranet, payroll, ledger]);
    grant(&app, &hr, &[recruiting, payroll]);

    let res = access_of(&app, "default", "dave@example.com", Some(&app.token)).expect(200);
    assert_eq!(
        res.body["applications"],
        json!([
            { "name": "Intranet", "url": "https://intranet.example.com", "grantedBy": ["Finance", "Staff"] },
            { "name": "ledger", "url": "https://ledger.example.com", "grantedBy": ["Finance"] },
            { "name": "Payroll", "url": null, "grantedBy": ["Finance"] },
        ])
    );
    assert_eq!(res.body["role"]["source"]["type"], "default", "groups without roles leave the default");
    let res = access_of(&app, "default", "erin@example.com", Some(&app.token)).expect(200);
    let names: Vec<&str> =
        res.body["applications"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Intranet", "Payroll", "Recruiting"]);

    // Deleting an application removes it everywhere.
    let t = tenant(&app, "default");
    app.state().db.write(|tx| applications::delete(tx, t, intranet)).unwrap();
    let res = access_of(&app, "default", "dave@example.com", Some(&app.token)).expect(200);
    assert_eq!(res.body["applications"].as_array().unwrap().len(), 2);
}

/// Asserts a JSON 401 with a Bearer challenge.
#[track_caller]
fn unauthorized(res: Res) {
    assert_eq!(res.status, 401, "{}", res.text);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert!(res.www_authenticate.as_deref().is_some_and(|h| h.starts_with("Bearer")), "{:?}", res.www_authenticate);
    assert_eq!(res.body["error"], "unauthorized");
    assert!(res.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(!res.text.contains("frank"), "nothing about the user leaks: {}", res.text);
}

#[test]
fn missing_wrong_revoked_and_foreign_keys_get_401() {
    let app = TestApp::new();
    app.entra_user("frank@example.com");
    app.new_tenant("acme");
    let acme_key = app.new_token("acme", "acme key");
    let (revoked_id, revoked_key) = app.new_key("default", "old");
    access_of(&app, "default", "frank@example.com", Some(&revoked_key)).expect(200);
    app.revoke_key("default", revoked_id);

    unauthorized(access_of(&app, "default", "frank@example.com", None));
    unauthorized(access_of(&app, "default", "frank@example.com", Some("scimp_not-a-real-key")));
    unauthorized(access_of(&app, "default", "frank@example.com", Some(&revoked_key)));
    unauthorized(access_of(&app, "default", "frank@example.com", Some(&acme_key)));
    unauthorized(access_of(&app, "nope", "frank@example.com", Some(&app.token)));
    unauthorized(app.raw(
        "GET",
        "/api/v1/default/users/frank%40example.com/access",
        None,
        &[("Authorization", &format!("Basic {}", app.token))],
        None,
    ));
    unauthorized(app.raw(
        "GET",
        "/api/v1/default/users/frank%40example.com/access",
        None,
        &[("Authorization", "Bearer ")],
        None,
    ));
    // An expired key too.
    let expired = {
        let secret = app.new_token("default", "soon");
        app.state()
            .db
            .write(|tx| {
                tx.execute("UPDATE api_keys SET expires = '2001-01-01T00:00:00.000Z' WHERE label = 'soon'", [])
                    .map_err(scim_portal::db::DbError::from)
            })
            .unwrap();
        secret
    };
    unauthorized(access_of(&app, "default", "frank@example.com", Some(&expired)));
    // Unauthorized requests learn nothing about whether the user exists.
    unauthorized(access_of(&app, "default", "nobody@example.com", None));
}

#[test]
fn an_unknown_user_is_a_json_404() {
    let app = TestApp::new();
    let res = access_of(&app, "default", "ghost@example.com", Some(&app.token)).expect(404);
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert_eq!(res.body["error"], "not_found");
    assert!(res.body["message"].as_str().unwrap().contains("userName"));
}

#[test]
fn tenants_are_isolated() {
    let app = TestApp::new();
    app.new_tenant("acme");
    let acme_key = app.new_token("acme", "acme key");
    app.entra_user("shared@example.com");
    let grace = app.entra_user("grace@example.com");
    // acme provisions its own user with the same userName as a default user.
    let acme_shared = app
        .raw(
            "POST",
            "/scim/v2/acme/Users",
            Some(&acme_key),
            &[],
            Some(entra_user_body("shared@example.com").to_string()),
        )
        .expect(201)
        .id();
    let acme_group = app
        .raw("POST", "/scim/v2/acme/Groups", Some(&acme_key), &[], Some(entra_group_body("Acme Admins").to_string()))
        .expect(201)
        .id();
    let a = tenant(&app, "acme");
    app.state()
        .db
        .write(|tx| {
            let g = groups::get(tx, a, &acme_group)?;
            groups::add_members(tx, a, &g, std::slice::from_ref(&acme_shared))?;
            let r = roles::find_by_name(tx, a, "System Administrator")?.expect("seeded");
            access::assign_role(tx, a, &g, Some(r.id))
        })
        .unwrap();

    let acme = access_of(&app, "acme", "shared@example.com", Some(&acme_key)).expect(200);
    assert_eq!(acme.body["id"], acme_shared.as_str());
    assert_eq!(acme.body["role"]["name"], "System Administrator");
    let default = access_of(&app, "default", "shared@example.com", Some(&app.token)).expect(200);
    assert_ne!(default.body["id"], acme.body["id"]);
    assert_eq!(default.body["role"]["name"], "Content Creator");

    // Another tenant's users are not there, even with a valid key of the tenant asked.
    access_of(&app, "acme", "grace@example.com", Some(&acme_key)).expect(404);
    assert_eq!(
        access_of(&app, "default", "grace@example.com", Some(&app.token)).expect(200).body["id"],
        grace.as_str()
    );
    // And a key opens only its own tenant.
    unauthorized_status(access_of(&app, "acme", "shared@example.com", Some(&app.token)));
    unauthorized_status(access_of(&app, "default", "shared@example.com", Some(&acme_key)));
}

#[track_caller]
fn unauthorized_status(res: Res) {
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(res.www_authenticate.is_some());
}

#[test]
fn answers_are_not_cached() {
    let app = TestApp::new();
    app.entra_user("henry@example.com");
    let res = app
        .client
        .get("/api/v1/default/users/henry%40example.com/access")
        .header(rocket::http::Header::new("Authorization", format!("Bearer {}", app.token)))
        .dispatch();
    assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
}
