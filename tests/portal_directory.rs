//! System Settings › User Groups and Users: lists, searches, paging, the
//! group access form, each user's effective access with its provenance, the
//! guards (session, tenant, CSRF), the absence of identity edit routes, and
//! the query plans and timings of the lists at 100,000 users.

mod common;
use common::*;

use std::time::{Duration, Instant};

use rusqlite::types::Value as SqlValue;
use scim_portal::domain::directory::{self, Statement, StatusFilter};
use scim_portal::domain::{applications, roles, tenants, TenantId};
use serde_json::json;

const USERS: &str = "/admin/default/settings/users";
const GROUPS: &str = "/admin/default/settings/groups";

fn tenant(app: &TestApp) -> TenantId {
    app.state().db.read(|tx| tenants::get_by_slug(tx, "default")).unwrap().id
}

fn role_id(app: &TestApp, name: &str) -> String {
    let t = tenant(app);
    app.state().db.read(|tx| roles::find_by_name(tx, t, name)).unwrap().unwrap().id.to_string()
}

fn new_app(app: &TestApp, name: &str) -> String {
    let t = tenant(app);
    app.state()
        .db
        .write(|tx| {
            applications::create(tx, t, &applications::ApplicationInput { name: name.into(), ..Default::default() })
        })
        .unwrap()
        .id
        .to_string()
}

fn add_members(app: &TestApp, group: &str, users: &[&String]) {
    let values: Vec<_> = users.iter().map(|u| json!({"value": u})).collect();
    app.patch(&format!("/Groups/{group}"), json!([{"op": "Add", "path": "members", "value": values}])).expect(204);
}

fn access_url(group: &str) -> String {
    format!("{GROUPS}/{group}/access")
}

/// What a group grants, read from the database: (role name, application names).
fn grants(app: &TestApp, group: &str) -> (Option<String>, Vec<String>) {
    let t = tenant(app);
    app.state()
        .db
        .read(|tx| {
            let g = scim_portal::domain::groups::get(tx, t, group)?;
            let grant = scim_portal::domain::access::group_grant(tx, t, &g)?;
            Ok::<_, scim_portal::domain::Error>((
                grant.role.map(|r| r.role_name),
                grant.applications.into_iter().map(|a| a.name).collect(),
            ))
        })
        .unwrap()
}

fn suspend(app: &TestApp, user: &str) {
    app.patch(&format!("/Users/{user}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
}

// ---------------------------------------------------------------- lists

#[test]
fn empty_states_tell_the_administrator_what_to_do() {
    let portal = Portal::new();
    let users = portal.page(USERS).expect(200).text();
    assert!(users.contains("No users yet") && users.contains("Assign users or groups to the enterprise application"));
    let groups = portal.page(GROUPS).expect(200).text();
    assert!(groups.contains("No groups yet") && groups.contains("assign groups to the enterprise application"));
    // A group without members says where members come from.
    let g = portal.app.entra_group("Empty");
    let page = portal.page(&format!("{GROUPS}/{g}")).expect(200).text();
    assert!(page.contains("Members (0)") && page.contains("No members yet"), "{page}");
}

#[test]
fn groups_are_listed_by_name_with_member_count_role_and_applications_searched_and_paged() {
    let portal = Portal::new();
    let app = &portal.app;
    let (a, b) = (app.entra_user("a@example.com"), app.entra_user("b@example.com"));
    let editors = app.entra_group("Editors");
    app.entra_group("Auditors");
    add_members(app, &editors, &[&a, &b]);
    let wiki = new_app(app, "Wiki");
    portal.submit(&access_url(&editors), &[("role", &role_id(app, "Publisher")), ("applications", &wiki)]).expect(303);

    let html = portal.page(GROUPS).expect(200).text();
    let (auditors_at, editors_at) = (html.find(">Auditors<").unwrap(), html.find(">Editors<").unwrap());
    assert!(auditors_at < editors_at, "by name");
    let editors_row = &html[editors_at..html[editors_at..].find("</tr>").unwrap() + editors_at];
    assert!(
        editors_row.contains("<td>2</td>") && editors_row.contains("Publisher") && editors_row.contains("Wiki"),
        "member count, role and applications: {editors_row}"
    );
    // Name search: any part of the name, any case.
    let html = portal.page(&format!("{GROUPS}?q=EDIT")).expect(200).text();
    assert!(html.contains("Editors") && !html.contains("Auditors"), "{html}");
    let html = portal.page(&format!("{GROUPS}?q=zzz")).expect(200).text();
    assert!(html.contains("No group's name contains “zzz”"), "{html}");

    // 57 groups: 50 a page, the search kept in the pager's links.
    for i in 0..55 {
        app.entra_group(&format!("Team {i:02}"));
    }
    let first = portal.page(&format!("{GROUPS}?q=team")).expect(200).text();
    assert!(first.contains("Groups 1–50 of 55") && first.contains("Page 1 of 2"), "{first}");
    assert!(first.contains("settings/groups?q=team&page=2"), "{first}");
    let second = portal.page(&format!("{GROUPS}?q=team&page=2")).expect(200).text();
    assert!(second.contains("Groups 51–55 of 55") && second.contains(">Team 54<") && !second.contains(">Team 00<"));
    assert!(portal.page(&format!("{GROUPS}?page=9")).expect(200).text().contains("past the end of the list"));
    let all = portal.page(GROUPS).expect(200).text();
    assert!(all.contains("of 57"), "{all}");
}

#[test]
fn users_are_listed_with_name_email_status_and_effective_access() {
    let portal = Portal::new();
    let app = &portal.app;
    let mut body = entra_user_body("zed@example.com");
    body["displayName"] = json!("Zed Quux");
    body["emails"] = json!([{"type": "work", "value": "zq@other.example", "primary": true}]);
    let zed = app.post("/Users", &body).expect(201).id();
    let gone = app.entra_user("gone@example.com");
    suspend(app, &gone);
    let staff = app.entra_group("Staff");
    add_members(app, &staff, &[&zed, &gone]);
    let wiki = new_app(app, "Wiki");
    portal.submit(&access_url(&staff), &[("role", &role_id(app, "Translator")), ("applications", &wiki)]).expect(303);

    let html = portal.page(USERS).expect(200).text();
    let row = |name: &str| {
        let at = html.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name} listed: {html}"));
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    let z = row("zed@example.com");
    assert!(z.contains("Zed Quux") && z.contains("zq@other.example") && z.contains(">Active<"), "{z}");
    assert!(z.contains("Translator") && z.contains("via Staff") && z.contains(">Wiki<"), "{z}");
    let g = row("gone@example.com");
    assert!(g.contains(">Suspended<") && g.contains("no access") && !g.contains("Wiki"), "{g}");
}

#[test]
fn users_are_searched_by_user_name_name_and_email_and_filtered_by_status() {
    let portal = Portal::new();
    let app = &portal.app;
    for i in 0..60 {
        app.entra_user(&format!("user{i:02}@example.com"));
    }
    let mut body = entra_user_body("zed@example.com");
    body["displayName"] = json!("Zed Quux");
    body["emails"] = json!([{"type": "work", "value": "zq@other.example", "primary": true}]);
    app.post("/Users", &body).expect(201);
    let mut body = entra_user_body("anders@example.com");
    body["displayName"] = json!("Anders Ängström");
    let anders = app.post("/Users", &body).expect(201).id();
    suspend(app, &anders);

    let search =
        |q: &str, status: &str| portal.page(&format!("{USERS}?q={}&status={status}", enc(q))).expect(200).text();
    assert!(search("ZED@", "all").contains("zed@example.com"), "userName prefix, any case");
    assert!(search("quu", "all").contains("zed@example.com"), "display name, any part");
    assert!(search("zq@OTHER", "all").contains("zed@example.com"), "e-mail prefix");
    assert!(!search("zq@other", "all").contains("user01@"), "only matches");
    assert!(search("ÄNGST", "all").contains("anders@example.com"), "non-ASCII names fold too");
    assert!(search("user05", "all").contains("Users 1–1 of 1"), "userName prefix");
    // LIKE's wildcards are text like any other.
    assert!(search("%", "all").contains("No user matches"));
    assert!(search("_", "all").contains("No user matches"));
    // Status.
    assert!(search("anders", "suspended").contains("anders@example.com"));
    assert!(search("anders", "active").contains("No user matches"));
    let suspended = search("", "suspended");
    assert!(suspended.contains("Users 1–1 of 1") && suspended.contains("anders@example.com"), "{suspended}");
    assert!(search("", "active").contains("of 61"));
    assert!(search("", "bogus").contains("of 62"), "an unknown status shows everyone");
    // The search form keeps what was typed.
    let page = search("user0", "active");
    assert!(page.contains("value=\"user0\"") && page.contains("<option value=\"active\" selected>"), "{page}");

    // 62 users, 50 a page, by userName.
    let first = portal.page(USERS).text();
    assert!(first.contains("Users 1–50 of 62") && first.contains("Page 1 of 2"), "{first}");
    assert!(first.find(">anders@example.com<").unwrap() < first.find(">user00@example.com<").unwrap());
    let second = portal.page(&format!("{USERS}?status=all&page=2")).text();
    assert!(second.contains("Users 51–62 of 62") && second.contains(">zed@example.com<"), "{second}");
    assert!(portal.page(&format!("{USERS}?q=user&page=2")).text().contains("Users 51–60 of 60"));
    assert!(portal.page(&format!("{USERS}?page=99")).expect(200).text().contains("past the end of the list"));
}

// ---------------------------------------------------------------- a group's page

#[test]
fn a_group_page_shows_its_identity_read_only_and_pages_its_members() {
    let portal = Portal::new();
    let app = &portal.app;
    let g = app.entra_group("Big");
    let ids: Vec<String> = (0..55).map(|i| app.entra_user(&format!("m{i:02}@example.com"))).collect();
    add_members(app, &g, &ids.iter().collect::<Vec<_>>());
    let first = portal.page(&format!("{GROUPS}/{g}")).expect(200).text();
    assert!(first.contains("Members (55)") && first.contains("Page 1 of 2") && first.contains("Members 1–50 of 55"));
    assert!(first.contains("Managed in Microsoft Entra ID") && first.contains("ext-Big"), "identity: {first}");
    assert!(first.contains(">m00@example.com<") && !first.contains(">m50@example.com<"));
    let second = portal.page(&format!("{GROUPS}/{g}?page=2")).expect(200).text();
    assert_eq!(second.matches("/settings/users/").count(), 5, "{second}");
    assert!(second.contains(">m54@example.com<") && second.contains("Members 51–55 of 55"));
    // Nothing on the page edits the identity: the one form is the access form.
    assert_eq!(first.matches("<form method=\"post\"").count(), 1, "{first}");
    assert!(portal.page(&format!("{GROUPS}/{g}?page=7")).expect(200).text().contains("past the end"));
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
    let publisher = role_id(app, "Publisher");
    let sysadmin = role_id(app, "System Administrator");

    let res =
        portal.submit(&access_url(&editors), &[("role", &publisher), ("applications", &wiki), ("applications", &crm)]);
    assert_eq!(res.status, 303, "{}", res.html);
    assert_eq!(res.location.as_deref(), Some(format!("{GROUPS}/{editors}").as_str()));
    assert_eq!(grants(app, &editors), (Some("Publisher".into()), vec!["CRM".into(), "Wiki".into()]));
    let group_page = portal.page(&format!("{GROUPS}/{editors}")).expect(200).text();
    assert!(group_page.contains("Saved what Editors grants: the role Publisher; CRM, Wiki"), "{group_page}");
    assert!(group_page.contains("<option value=\"\">No role</option>"), "{group_page}");
    assert!(group_page.contains(&format!("<option value=\"{publisher}\" selected>Publisher</option>")));
    assert!(group_page.contains(&format!("value=\"{wiki}\" checked")) && group_page.contains("assigned most recently"));
    // The notice is shown once.
    assert!(!portal.page(&format!("{GROUPS}/{editors}")).text().contains("Saved what"));

    portal.submit(&access_url(&admins), &[("role", &sysadmin)]).expect(303);

    // The group page says who gets which role now: Ada's role comes from Admins, assigned later.
    let group_page = portal.page(&format!("{GROUPS}/{editors}")).expect(200).text();
    let member = |name: &str| {
        let at = group_page.find(&format!(">{name}</a>")).unwrap();
        group_page[at..at + group_page[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(member("ada@example.com").contains("System Administrator"), "{group_page}");
    assert!(member("ada@example.com").contains("from Admins, assigned later"), "{group_page}");
    assert!(member("bob@example.com").contains("Publisher") && member("bob@example.com").contains("from this group"));

    // Ada: in both; Admins' role was assigned last.
    let ada_page = portal.page(&format!("{USERS}/{ada}")).expect(200).text();
    assert!(ada_page.contains("<strong>System Administrator</strong>"), "{ada_page}");
    assert!(ada_page.contains("granted by group") && ada_page.contains(">Admins</a>"));
    assert!(ada_page.contains("1 other group of this user carries a role") && ada_page.contains("assigned earlier"));
    assert!(
        ada_page.contains("<strong>CRM</strong> — via Editors")
            && ada_page.contains("<strong>Wiki</strong> — via Editors")
    );
    // Bob: Editors only.
    let bob_page = portal.page(&format!("{USERS}/{bob}")).expect(200).text();
    assert!(bob_page.contains("<strong>Publisher</strong>") && bob_page.contains(">Editors</a>"));
    // The list shows the same, and a user in no role-bearing group gets the default.
    let carol = app.entra_user("carol@example.com");
    let list = portal.page(USERS).expect(200).text();
    assert!(list.contains("via Admins") && list.contains("via Editors") && list.contains("default"), "{list}");
    let carol_page = portal.page(&format!("{USERS}/{carol}")).expect(200).text();
    assert!(carol_page.contains("<strong>Content Creator</strong>") && carol_page.contains("the default"));

    // Saving Editors again with the same role does not make it the most recent.
    portal.submit(&access_url(&editors), &[("role", &publisher), ("applications", &wiki)]).expect(303);
    assert!(portal.page(&format!("{USERS}/{ada}")).text().contains("<strong>System Administrator</strong>"));
    // Reassigning does: Editors' new role now wins for Ada.
    portal.submit(&access_url(&editors), &[("role", &role_id(app, "Scheduler"))]).expect(303);
    let ada_page = portal.page(&format!("{USERS}/{ada}")).text();
    assert!(ada_page.contains("<strong>Scheduler</strong>") && ada_page.contains(">Editors</a>"), "{ada_page}");

    // Clearing the group's role and applications.
    portal.submit(&access_url(&editors), &[("role", "")]).expect(303);
    assert_eq!(grants(app, &editors), (None, vec![]));
    let bob_page = portal.page(&format!("{USERS}/{bob}")).text();
    assert!(bob_page.contains("<strong>Content Creator</strong>") && bob_page.contains("None: no group"));
    let group_page = portal.page(&format!("{GROUPS}/{editors}")).text();
    assert!(
        group_page.contains("<option value=\"\" selected>No role</option>") && group_page.contains("grants no role")
    );
}

// ---------------------------------------------------------------- a user's page

#[test]
fn a_user_page_shows_attributes_groups_and_access_read_only() {
    let portal = Portal::new();
    let app = &portal.app;
    let mut boss = entra_user_body("boss@example.com");
    boss["displayName"] = json!("Big Boss");
    let boss = app.post("/Users", &boss).expect(201).id();
    let mut body = entra_user_body("ada@example.com");
    body[ENTERPRISE]["manager"] = json!({"value": boss});
    let ada = app.post("/Users", &body).expect(201).id();
    let staff = app.entra_group("Staff");
    add_members(app, &staff, &[&ada]);

    let page = portal.page(&format!("{USERS}/{ada}")).expect(200).text();
    for expected in [
        "<dt>userName</dt><dd>ada@example.com</dd>",
        "<dt>displayName</dt><dd>ada Example</dd>",
        "<dt>externalId</dt><dd>ada</dd>",
        "<dt>title</dt><dd>Engineer</dd>",
        "<dt>department</dt><dd>Identity</dd>",
        "<dt>name.familyName</dt><dd>Example</dd>",
        "<dt>emails[work]</dt><dd>ada@example.com</dd>",
        "Managed in Microsoft Entra ID",
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    // The manager, provisioned too, by name and linked.
    assert!(
        page.contains(&format!("<dt>manager</dt><dd><a href=\"/admin/default/settings/users/{boss}\">Big Boss</a>"))
    );
    // Groups, linked.
    assert!(page.contains(&format!("<a href=\"/admin/default/settings/groups/{staff}\">Staff</a>")), "{page}");
    // No form on the page but signing out.
    assert_eq!(page.matches("<form").count(), 1, "{page}");
    // The default role, explained.
    assert!(page.contains("<strong>Content Creator</strong>") && page.contains("no group of this user grants a role"));
    // A manager that is not provisioned stays an id.
    let boss_page = portal.page(&format!("{USERS}/{boss}")).expect(200).text();
    assert!(boss_page.contains("<dt>manager.value</dt><dd>boss</dd>"), "{boss_page}");
    assert!(boss_page.contains("Not a member of any provisioned group"));
}

#[test]
fn suspended_users_have_no_access_and_the_page_says_so() {
    let portal = Portal::new();
    let app = &portal.app;
    let u = app.entra_user("gone@example.com");
    let g = app.entra_group("Staff");
    add_members(app, &g, &[&u]);
    let wiki = new_app(app, "Wiki");
    portal.submit(&access_url(&g), &[("role", &role_id(app, "Publisher")), ("applications", &wiki)]).expect(303);
    suspend(app, &u);
    let page = portal.page(&format!("{USERS}/{u}")).expect(200).text();
    assert!(page.contains("Suspended in Microsoft Entra ID") && page.contains("no access"));
    assert!(!page.contains("<strong>Publisher</strong>") && !page.contains("<strong>Wiki</strong>"));
    let group_page = portal.page(&format!("{GROUPS}/{g}")).text();
    assert!(group_page.contains("suspended in Entra, no access"), "{group_page}");
}

// ---------------------------------------------------------------- the form refuses

#[test]
fn the_access_form_without_its_csrf_token_changes_nothing() {
    let portal = Portal::new();
    let app = &portal.app;
    let g = app.entra_group("Editors");
    let wiki = new_app(app, "Wiki");
    portal.submit(&access_url(&g), &[("role", &role_id(app, "Translator"))]).expect(303);
    let before = grants(app, &g);
    let publisher = role_id(app, "Publisher");
    let fields = [("role", publisher.as_str()), ("applications", wiki.as_str())];
    let res = portal.form("POST", &access_url(&g), &fields).expect(403);
    assert!(res.text().contains("nothing was changed"), "{}", res.html);
    let mut forged = vec![("csrf", "forged")];
    forged.extend_from_slice(&fields);
    portal.form("POST", &access_url(&g), &forged).expect(403);
    let mut empty = vec![("csrf", "")];
    empty.extend_from_slice(&fields);
    portal.form("POST", &access_url(&g), &empty).expect(403);
    assert_eq!(grants(app, &g), before);
    assert_eq!(before, (Some("Translator".into()), vec![]));
}

#[test]
fn bad_input_shows_the_form_again_with_the_error_and_what_was_typed() {
    let portal = Portal::new();
    let app = &portal.app;
    let g = app.entra_group("Editors");
    let (wiki, crm) = (new_app(app, "Wiki"), new_app(app, "CRM"));
    let translator = role_id(app, "Translator");
    portal.submit(&access_url(&g), &[("role", &translator), ("applications", &crm)]).expect(303);
    let before = grants(app, &g);
    let publisher = role_id(app, "Publisher");

    // A role that is not a number.
    let res = portal.submit(&access_url(&g), &[("role", "not a number"), ("applications", &wiki)]).expect(400);
    let html = res.text();
    assert!(html.contains("role=\"alert\">Choose a role from the list"), "{html}");
    assert!(html.contains(&format!("value=\"{wiki}\" checked")) && !html.contains(&format!("value=\"{crm}\" checked")));
    // An unknown role: the typed applications are kept.
    let res = portal.submit(&access_url(&g), &[("role", "999999"), ("applications", &wiki)]).expect(400);
    assert!(res.text().contains("That role does not exist"), "{}", res.html);
    assert!(res.text().contains(&format!("value=\"{wiki}\" checked")));
    // An unknown application with a valid role: the role is not half-saved.
    let res = portal.submit(&access_url(&g), &[("role", &publisher), ("applications", "424242")]).expect(400);
    let html = res.text();
    assert!(html.contains("That application does not exist"), "{html}");
    assert!(html.contains(&format!("<option value=\"{publisher}\" selected>Publisher")), "typed role kept: {html}");
    // An application id that is not a number.
    let res = portal.submit(&access_url(&g), &[("role", &publisher), ("applications", "abc")]).expect(400);
    assert!(res.text().contains("Choose applications from the list"), "{}", res.html);
    // Another tenant's role and application ids are unknown here.
    app.new_tenant("acme");
    let (acme_role, acme_app) = app
        .state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "acme")?.id;
            let role = roles::find_by_name(tx, t, "Publisher")?.unwrap().id;
            let a = applications::create(
                tx,
                t,
                &applications::ApplicationInput { name: "Theirs".into(), ..Default::default() },
            )?;
            Ok::<_, scim_portal::domain::Error>((role.to_string(), a.id.to_string()))
        })
        .unwrap();
    portal.submit(&access_url(&g), &[("role", &acme_role)]).expect(400);
    portal.submit(&access_url(&g), &[("role", ""), ("applications", &acme_app)]).expect(400);

    assert_eq!(grants(app, &g), before, "nothing changed");
}

// ---------------------------------------------------------------- guards and routes

#[test]
fn signed_out_every_page_and_form_goes_to_sign_in() {
    let app = TestApp::new();
    let g = app.entra_group("Staff");
    let u = app.entra_user("a@example.com");
    for uri in [USERS.to_string(), GROUPS.to_string(), format!("{USERS}/{u}"), format!("{GROUPS}/{g}?page=2")] {
        let res = HtmlRes::from(app.client.get(uri.clone()).dispatch());
        assert_eq!(res.status, 303, "{uri}");
        assert!(res.location.as_deref().unwrap_or_default().starts_with("/admin/default/login?next="), "{uri}");
    }
    let res = HtmlRes::from(
        app.client
            .post(access_url(&g))
            .header(rocket::http::ContentType::Form)
            .body(format!("csrf=x&role={}", role_id(&app, "Publisher")))
            .dispatch(),
    );
    assert_eq!(res.status, 303);
    assert_eq!(app.count("group_roles"), 0);
}

#[test]
fn another_tenants_users_and_groups_do_not_exist_here() {
    let app = TestApp::new();
    app.new_tenant("acme");
    let token = app.new_token("acme", "t");
    let post = |path: &str, body: serde_json::Value| {
        app.raw("POST", &format!("/scim/v2/acme{path}"), Some(&token), &[], Some(body.to_string())).expect(201).id()
    };
    let their_user = post("/Users", entra_user_body("t@acme.example"));
    let their_group = post("/Groups", entra_group_body("Theirs"));
    let portal = Portal::from_app(app, "default", "a@example.com");
    let app = &portal.app;
    portal.page(&format!("{USERS}/{their_user}")).expect(404);
    portal.page(&format!("{GROUPS}/{their_group}")).expect(404);
    portal.submit(&access_url(&their_group), &[("role", &role_id(app, "Publisher"))]).expect(404);
    portal.submit(&access_url("not-a-group"), &[("role", "")]).expect(404);
    assert_eq!(app.count("group_roles"), 0);
    // Their tenant's pages do not exist for this administrator.
    for uri in ["/admin/acme/settings/users", "/admin/acme/settings/groups"] {
        portal.page(uri).expect(404);
    }
    portal.page(&format!("/admin/acme/settings/groups/{their_group}")).expect(404);
    portal.page(&format!("/admin/acme/settings/users/{their_user}")).expect(404);
    // And they are not listed or found by search here.
    assert!(!portal.page(USERS).text().contains("t@acme.example"));
    assert!(!portal.page(&format!("{USERS}?q=t%40acme")).text().contains("t@acme.example"));
    assert!(!portal.page(&format!("{GROUPS}?q=theirs")).text().contains("Theirs"));
}

#[test]
fn there_is_no_route_that_edits_identity() {
    let portal = Portal::new();
    let app = &portal.app;
    let g = app.entra_group("Editors");
    let u = app.entra_user("x@example.com");
    add_members(app, &g, &[&u]);
    let csrf = format!("csrf={}", enc(&portal.csrf));
    let attempts = [
        format!("{GROUPS}/{g}"),
        format!("{GROUPS}/{g}/members"),
        format!("{GROUPS}/{g}/edit"),
        format!("{GROUPS}/{g}/delete"),
        format!("{USERS}/{u}"),
        format!("{USERS}/{u}/edit"),
        format!("{USERS}/{u}/delete"),
        format!("{USERS}/{u}/groups"),
        GROUPS.to_string(),
        USERS.to_string(),
    ];
    for uri in &attempts {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let client = &app.client;
            let req = match method {
                "POST" => client.post(uri.clone()),
                "PUT" => client.put(uri.clone()),
                "PATCH" => client.patch(uri.clone()),
                _ => client.delete(uri.clone()),
            };
            let body = format!("{csrf}&displayName=Renamed&userName=y%40example.com&active=false&members=");
            let res = HtmlRes::from(req.header(rocket::http::ContentType::Form).body(body).dispatch());
            assert!(res.status == 404 || res.status == 405, "{method} {uri}: {}", res.status);
        }
    }
    assert_eq!(app.get(&format!("/Groups/{g}")).body["displayName"], "Editors");
    let user = app.get(&format!("/Users/{u}")).body;
    assert_eq!((user["userName"].as_str(), user["active"].as_bool()), (Some("x@example.com"), Some(true)));
    assert_eq!(app.get(&format!("/Groups/{g}")).body["members"].as_array().map(Vec::len), Some(1));
}

// ---------------------------------------------------------------- 100,000 users

/// 100,000 users shaped like Entra's (every 10th suspended), with e-mails,
/// 1,000 groups of 100 members each, written straight to the database.
fn seed_100k(app: &TestApp) {
    let started = Instant::now();
    let mut profile = entra_user_body("PLACEHOLDER@example.com").as_object().unwrap().clone();
    for k in ["schemas", "externalId", "userName", "active", "displayName", "meta"] {
        profile.remove(k);
    }
    let profile = serde_json::Value::Object(profile).to_string();
    let t = tenant(app).0;
    app.state()
        .db
        .write(|tx| {
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
                 INSERT INTO users (tenant_id, scim_id, user_name, user_name_key, external_id, display_name, active,
                                    profile, created, last_modified, version)
                 SELECT ?1, printf('u-%06d', i), printf('person%06d@example.com', i), printf('person%06d@example.com', i),
                        printf('person%06d', i), printf('Person %06d Surname%d', i, i % 977), i % 10 <> 0,
                        replace(?2, 'PLACEHOLDER', printf('person%06d', i)),
                        '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 1
                 FROM n",
                rusqlite::params![t, profile],
            )?;
            tx.execute(
                "INSERT INTO user_emails (user_id, position, tenant_id, value, value_key, type, is_primary)
                 SELECT id, 0, tenant_id, user_name, user_name_key, 'work', 1 FROM users WHERE tenant_id = ?1",
                [t],
            )?;
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
                 INSERT INTO groups (tenant_id, scim_id, display_name, display_name_key, external_id,
                                     created, last_modified, version)
                 SELECT ?1, printf('g-%04d', i), printf('Team %04d', i), printf('team %04d', i), printf('ext-%d', i),
                        '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 1 FROM n",
                [t],
            )?;
            tx.execute(
                "INSERT INTO group_members (group_id, user_id, added)
                 SELECT g.id, u.id, '2024-01-01T00:00:00.000Z' FROM users u
                 JOIN groups g ON g.tenant_id = u.tenant_id AND g.scim_id = printf('g-%04d', u.id % 1000)
                 WHERE u.tenant_id = ?1",
                [t],
            )?;
            recount(tx, t)?;
            Ok::<_, scim_portal::domain::Error>(())
        })
        .unwrap();
    println!("seeded 100,000 users, 1,000 groups and 100,000 memberships in {:?}", started.elapsed());
}

#[test]
fn lists_stay_fast_with_a_hundred_thousand_users() {
    let portal = Portal::new();
    seed_100k(&portal.app);
    let rt = portal.app.entra_group("Role bearers");
    portal.submit(&access_url(&rt), &[("role", &role_id(&portal.app, "Publisher"))]).expect(303);
    // (uri, expected text): every list, deep pages, each kind of search.
    let cases = [
        (USERS.to_string(), "Users 1–50 of 100000"),
        (format!("{USERS}?page=1900"), "Users 94951–95000 of 100000"),
        (format!("{USERS}?q=person0999"), "Users 1–50 of 100"),
        (format!("{USERS}?q=PERSON099999%40"), "Users 1–1 of 1"),
        (format!("{USERS}?q=surname976"), "Users 1–50 of 102"),
        (format!("{USERS}?status=suspended"), "Users 1–50 of 10000"),
        (format!("{USERS}?status=suspended&page=200"), "Users 9951–10000 of 10000"),
        (format!("{USERS}?q=person%40&status=active"), "No user matches"),
        (GROUPS.to_string(), "Groups 1–50 of 1001"),
        (format!("{GROUPS}?page=20"), "Groups 951–1000 of 1001"),
        (format!("{GROUPS}?q=team%2009"), "Groups 1–50 of 100"),
        (format!("{GROUPS}/g-0001"), "Members 1–50 of 100"),
        (format!("{GROUPS}/g-0001?page=2"), "Members 51–100 of 100"),
        (format!("{USERS}/u-050000"), "person050000@example.com"),
    ];
    for (uri, expected) in cases {
        let started = Instant::now();
        let page = portal.page(&uri).expect(200).text();
        let took = started.elapsed();
        println!("{uri}: {took:?}");
        assert!(page.contains(expected), "{uri}: {expected}: {page}");
        // Unoptimised build on a shared machine: a generous bound, far below what loading the tables takes.
        assert!(took < Duration::from_secs(5), "{uri} took {took:?}");
    }
}

/// The query plan of a statement, one line per step.
fn plan(app: &TestApp, s: &Statement) -> Vec<String> {
    app.state()
        .db
        .read(|tx| {
            let mut stmt = tx.prepare(&format!("EXPLAIN QUERY PLAN {}", s.sql))?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(s.params.iter()), |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, scim_portal::db::DbError>(rows)
        })
        .unwrap()
}

#[test]
fn lists_read_indexes_and_say_where_they_scan() {
    let app = TestApp::new();
    for i in 0..20 {
        app.entra_user(&format!("plan{i}@example.com"));
    }
    let t = tenant(&app);
    let show = |label: &str, s: &Statement| {
        let steps = plan(&app, s);
        println!(
            "{label}\n  SQL:  {}\n  PLAN: {}",
            s.sql.split_whitespace().collect::<Vec<_>>().join(" "),
            steps.join("\n  PLAN: ")
        );
        steps
    };
    let no_scan = |label: &str, steps: &[String]| {
        assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{label} scans: {steps:?}");
    };

    // The full list: counted on users_tenant, walked in userName order on users_user_name, index entries only.
    let all = directory::users_statements(t, "", StatusFilter::All, 5000, 50);
    let count = show("users: count", &all.count);
    assert_eq!(count, ["SEARCH r USING COVERING INDEX users_tenant (tenant_id=?)"]);
    let page = show("users: page", &all.page);
    no_scan("users: page", &page);
    assert!(page.contains(&"SEARCH r USING COVERING INDEX users_user_name (tenant_id=?)".to_string()), "{page:?}");

    // userName and e-mail prefixes: two index ranges; nothing else is read.
    for status in [StatusFilter::All, StatusFilter::Active] {
        let found = directory::users_statements(t, "Plan1@", status, 0, 50);
        for (label, s) in [("users@: count", &found.count), ("users@: page", &found.page)] {
            let steps = show(label, s);
            no_scan(label, &steps);
            assert!(steps
                .iter()
                .any(|s| s.contains("users_user_name (tenant_id=? AND user_name_key>? AND user_name_key<?)")));
            assert!(steps
                .iter()
                .any(|s| s.contains("user_emails_value (tenant_id=? AND value_key>? AND value_key<?)")));
            assert!(!steps.iter().any(|s| s.ends_with("(tenant_id=?)")), "{label}: {steps:?}");
        }
    }
    // Display names are not indexed: text without an @ is also compared with every display name.
    let name = directory::users_statements(t, "plan", StatusFilter::All, 0, 50);
    assert!(show("users name: count", &name.count).contains(&"SCAN r".to_string()));
    show("users name: page", &name.page);
    // Nor is `active`: counting by status reads the tenant's rows.
    let suspended = directory::users_statements(t, "", StatusFilter::Suspended, 0, 50);
    assert!(show("users suspended: count", &suspended.count).contains(&"SCAN r".to_string()));

    // Groups: counted and searched within covering indexes, walked by name.
    for q in ["", "team"] {
        let groups = directory::groups_statements(t, q, 0, 50);
        for (label, s) in [("groups: count", &groups.count), ("groups: page", &groups.page)] {
            let steps = show(label, s);
            no_scan(label, &steps);
            let on_groups = steps.iter().filter(|s| s.starts_with("SEARCH r USING") && !s.contains("(rowid=?)"));
            assert!(
                on_groups.clone().count() == 1 && on_groups.clone().all(|s| s.contains("COVERING INDEX")),
                "{steps:?}"
            );
        }
    }
    let groups = directory::groups_statements(t, "team", 0, 50);
    assert!(plan(&app, &groups.page).iter().any(|s| s.contains("groups_display_name")));

    // A group's members: skipped along the membership key, then read by rowid.
    let members = Statement {
        sql: directory::MEMBERS_PAGE_SQL.to_string(),
        params: vec![SqlValue::Integer(1), SqlValue::Integer(50), SqlValue::Integer(5000), SqlValue::Integer(t.0)],
    };
    let steps = show("members: page", &members);
    no_scan("members: page", &steps);
    assert!(steps.iter().any(|s| s.contains("SEARCH m USING PRIMARY KEY (group_id=?)")), "{steps:?}");
}
