//! System Settings › User Groups and Users: lists, searches, paging, the
//! group access form, and each user's effective access with its provenance.

mod common;
use common::*;
use scim_portal::domain::{applications, roles, tenants};
use serde_json::json;

fn role_id(app: &TestApp, name: &str) -> i64 {
    app.state()
        .db
        .read(|tx| roles::find_by_name(tx, tenants::get_by_slug(tx, "default")?.id, name))
        .unwrap()
        .unwrap()
        .id
}

fn new_app(app: &TestApp, name: &str) -> i64 {
    app.state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "default")?.id;
            applications::create(tx, t, &applications::ApplicationInput { name: name.into(), ..Default::default() })
        })
        .unwrap()
        .id
}

fn add_members(app: &TestApp, group: &str, users: &[&String]) {
    let values: Vec<_> = users.iter().map(|u| json!({"value": u})).collect();
    app.patch(&format!("/Groups/{group}"), json!([{"op": "Add", "path": "members", "value": values}])).expect(200);
}

#[test]
fn empty_states_tell_the_administrator_what_to_do() {
    let portal = Portal::new();
    assert!(portal.page("/admin/default/settings/users").expect(200).text().contains("No users yet"));
    assert!(portal.page("/admin/default/settings/groups").expect(200).text().contains("No groups yet"));
}

#[test]
fn groups_page_lists_members_role_and_applications_and_searches() {
    let portal = Portal::new();
    let app = &portal.app;
    let (a, b) = (app.entra_user("a@example.com"), app.entra_user("b@example.com"));
    let editors = app.entra_group("Editors");
    app.entra_group("Auditors");
    add_members(app, &editors, &[&a, &b]);
    let html = portal.page("/admin/default/settings/groups").expect(200).text();
    assert!(html.contains("Editors") && html.contains("Auditors"));
    assert!(html.contains("<td>2</td>"), "member count: {html}");
    let html = portal.page("/admin/default/settings/groups?q=edit").expect(200).text();
    assert!(html.contains("Editors") && !html.contains("Auditors"));
    assert!(portal.page("/admin/default/settings/groups?q=zzz").text().contains("No group's name contains"));
}

#[test]
fn assigning_a_role_and_applications_shows_up_on_users_with_provenance() {
    let portal = Portal::new();
    let app = &portal.app;
    let (ada, bob) = (app.entra_user("ada@example.com"), app.entra_user("bob@example.com"));
    let (editors, admins) = (app.entra_group("Editors"), app.entra_group("Admins"));
    add_members(app, &editors, &[&ada, &bob]);
    add_members(app, &admins, &[&ada]);
    let (wiki, crm) = (new_app(app, "Wiki"), new_app(app, "CRM"));
    let publisher = role_id(app, "Publisher").to_string();
    let sysadmin = role_id(app, "System Administrator").to_string();

    let res = portal.submit(
        &format!("/admin/default/settings/groups/{editors}/access"),
        &[("role", &publisher), ("applications", &wiki.to_string()), ("applications", &crm.to_string())],
    );
    assert_eq!(res.status, 303, "{}", res.html);
    let group_page = portal.page(&format!("/admin/default/settings/groups/{editors}")).expect(200).text();
    assert!(group_page.contains("Saved what Editors grants"), "flash notice");
    assert!(group_page.contains("ada@example.com") || group_page.contains("ada Example"), "members listed");
    portal.submit(&format!("/admin/default/settings/groups/{admins}/access"), &[("role", &sysadmin)]).expect(303);

    // Ada: in both; Admins' role was assigned last.
    let ada_page = portal.page(&format!("/admin/default/settings/users/{ada}")).expect(200).text();
    assert!(ada_page.contains("<strong>System Administrator</strong>"), "{ada_page}");
    assert!(ada_page.contains("granted by group") && ada_page.contains(">Admins</a>"));
    assert!(ada_page.contains("1 other group of this user carries a role"));
    assert!(
        ada_page.contains("<strong>CRM</strong> — via Editors")
            && ada_page.contains("<strong>Wiki</strong> — via Editors")
    );
    // Bob: Editors only.
    let bob_page = portal.page(&format!("/admin/default/settings/users/{bob}")).expect(200).text();
    assert!(bob_page.contains("<strong>Publisher</strong>") && bob_page.contains(">Editors</a>"));
    // The list shows the same, and a user in no role-bearing group gets the default.
    let carol = app.entra_user("carol@example.com");
    let list = portal.page("/admin/default/settings/users").expect(200).text();
    assert!(list.contains("via Admins") && list.contains("via Editors") && list.contains("default"), "{list}");
    let carol_page = portal.page(&format!("/admin/default/settings/users/{carol}")).expect(200).text();
    assert!(carol_page.contains("<strong>Content Creator</strong>") && carol_page.contains("the default"));

    // Clearing the group's role and applications.
    portal.submit(&format!("/admin/default/settings/groups/{editors}/access"), &[("role", "")]).expect(303);
    let bob_page = portal.page(&format!("/admin/default/settings/users/{bob}")).text();
    assert!(bob_page.contains("<strong>Content Creator</strong>") && bob_page.contains("None: no group"));
}

#[test]
fn suspended_users_have_no_access_and_the_page_says_so() {
    let portal = Portal::new();
    let app = &portal.app;
    let u = app.entra_user("gone@example.com");
    app.patch(&format!("/Users/{u}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    let page = portal.page(&format!("/admin/default/settings/users/{u}")).expect(200).text();
    assert!(page.contains("Suspended in Microsoft Entra ID") && page.contains("no access"));
    let list = portal.page("/admin/default/settings/users?status=suspended").expect(200).text();
    assert!(list.contains("gone@example.com"));
    let list = portal.page("/admin/default/settings/users?status=active").expect(200).text();
    assert!(!list.contains("gone@example.com"));
}

#[test]
fn users_search_by_user_name_name_and_email_and_page() {
    let portal = Portal::new();
    let app = &portal.app;
    for i in 0..60 {
        app.entra_user(&format!("user{i:02}@example.com"));
    }
    let mut body = entra_user_body("zed@example.com");
    body["displayName"] = json!("Zed Quux");
    body["name"]["familyName"] = json!("Quuxington");
    body["emails"] = json!([{"type": "work", "value": "zq@other.example", "primary": true}]);
    app.post("/Users", &body).expect(201);
    let text = |q: &str| portal.page(&format!("/admin/default/settings/users?q={}", enc(q))).expect(200).text();
    assert!(text("ZED@").contains("zed@example.com"), "userName prefix, any case");
    assert!(text("quux").contains("zed@example.com"), "display or family name");
    assert!(text("zq@other").contains("zed@example.com"), "e-mail prefix");
    assert!(!text("zq@other").contains("user01@"), "only matches");
    // 61 users, 50 per page.
    let first = portal.page("/admin/default/settings/users").text();
    assert!(first.contains("Users 1–50 of 61") && first.contains("Page 1 of 2"), "{first}");
    let second = portal.page("/admin/default/settings/users?status=all&page=2").text();
    assert!(second.contains("Users 51–61 of 61"));
    assert!(portal
        .page("/admin/default/settings/users?page=99")
        .expect(200)
        .text()
        .contains("past the end of the list"));
}

#[test]
fn group_members_are_paged() {
    let portal = Portal::new();
    let app = &portal.app;
    let g = app.entra_group("Big");
    let ids: Vec<String> = (0..55).map(|i| app.entra_user(&format!("m{i:02}@example.com"))).collect();
    add_members(app, &g, &ids.iter().collect::<Vec<_>>());
    let first = portal.page(&format!("/admin/default/settings/groups/{g}")).expect(200).text();
    assert!(first.contains("Members (55)") && first.contains("Page 1 of 2"));
    let second = portal.page(&format!("/admin/default/settings/groups/{g}?page=2")).expect(200).text();
    assert_eq!(second.matches("/settings/users/").count(), 5, "{second}");
}

#[test]
fn the_access_form_rejects_bad_input_and_missing_csrf_changing_nothing() {
    let portal = Portal::new();
    let app = &portal.app;
    let g = app.entra_group("Editors");
    let url = format!("/admin/default/settings/groups/{g}/access");
    portal.form("POST", &url, &[("role", &role_id(app, "Publisher").to_string())]).expect(403);
    portal.form("POST", &url, &[("csrf", "forged"), ("role", &role_id(app, "Publisher").to_string())]).expect(403);
    let res = portal.submit(&url, &[("role", "999999")]).expect(400);
    assert!(res.text().contains("does not exist"), "{}", res.html);
    let res = portal.submit(&url, &[("role", "not a number")]).expect(400);
    assert!(res.text().contains("Choose a role"));
    let res = portal.submit(&url, &[("role", ""), ("applications", "424242")]).expect(400);
    assert!(res.text().contains("does not exist"));
    assert_eq!(app.count("group_roles"), 0);
    assert_eq!(app.count("group_applications"), 0);
    // Another tenant's group id: 404; there is no route that edits identity.
    portal.submit("/admin/default/settings/groups/not-a-group/access", &[("role", "")]).expect(404);
    portal.submit(&format!("/admin/default/settings/groups/{g}"), &[("displayName", "Renamed")]).expect(404);
    let u = app.entra_user("x@example.com");
    portal.submit(&format!("/admin/default/settings/users/{u}"), &[("userName", "y@example.com")]).expect(404);
    assert_eq!(app.get(&format!("/Groups/{g}")).body["displayName"], "Editors");
}

#[test]
fn signed_out_and_other_tenants() {
    let app = TestApp::new();
    app.new_tenant("acme");
    let theirs = app
        .raw(
            "POST",
            "/scim/v2/acme/Users",
            Some(&app.new_token("acme", "t")),
            &[],
            Some(entra_user_body("t@acme.example").to_string()),
        )
        .expect(201)
        .id();
    let res = HtmlRes::from(app.client.get("/admin/default/settings/users").dispatch());
    assert_eq!(res.status, 303);
    let portal = Portal::from_app(app, "default", "a@example.com");
    portal.page(&format!("/admin/default/settings/users/{theirs}")).expect(404);
    portal.page("/admin/acme/settings/groups").expect(404);
}
