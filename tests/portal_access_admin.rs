//! The portal's Roles, Applications and Provisioning log sections, in-process:
//! every page and form, bad input, CSRF, tenant isolation and sign-in.

mod common;
use common::*;

use scim_portal::domain::access;
use scim_portal::domain::applications::{self, Application};
use scim_portal::domain::groups;
use scim_portal::domain::roles::{self, Role, CATALOGUE, PREDEFINED};
use scim_portal::domain::{tenants, Error, TenantId};

const ROLES: &str = "/admin/default/settings/roles";
const APPS: &str = "/admin/default/settings/applications";
const LOG: &str = "/admin/default/settings/log";

fn tenant(app: &TestApp) -> TenantId {
    app.state().db.read(|tx| tenants::get_by_slug(tx, "default")).unwrap().id
}

fn role(app: &TestApp, name: &str) -> Option<Role> {
    let t = tenant(app);
    app.state().db.read(|tx| roles::find_by_name(tx, t, name)).unwrap()
}

fn application(app: &TestApp, name: &str) -> Option<Application> {
    let t = tenant(app);
    app.state().db.read(|tx| applications::list(tx, t)).unwrap().into_iter().find(|a| a.name == name)
}

/// Gives the SCIM group `group_id` the role `role_id`, as the User Groups page would.
fn assign_role(app: &TestApp, group_id: &str, role_id: i64) {
    let t = tenant(app);
    app.state()
        .db
        .write(|tx| {
            let g = groups::get(tx, t, group_id)?;
            access::assign_role(tx, t, &g, Some(role_id))
        })
        .unwrap();
}

fn unassign_role(app: &TestApp, group_id: &str) {
    let t = tenant(app);
    app.state()
        .db
        .write(|tx| {
            let g = groups::get(tx, t, group_id)?;
            access::assign_role(tx, t, &g, None)
        })
        .unwrap();
}

fn grant_apps(app: &TestApp, group_id: &str, apps: &[i64]) {
    let t = tenant(app);
    app.state()
        .db
        .write(|tx| {
            let g = groups::get(tx, t, group_id)?;
            access::set_applications(tx, t, &g, apps)
        })
        .unwrap();
}

fn group_apps(app: &TestApp, group_id: &str) -> Vec<String> {
    let t = tenant(app);
    app.state()
        .db
        .read(|tx| {
            let g = groups::get(tx, t, group_id)?;
            Ok::<_, Error>(access::group_grant(tx, t, &g)?.applications.into_iter().map(|a| a.name).collect())
        })
        .unwrap()
}

/// The table row of the page that mentions `needle`.
fn row_of(html: &str, needle: &str) -> String {
    let at = html.find(needle).unwrap_or_else(|| panic!("{needle} in {html}"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    html[start..end].to_string()
}

// ---------------------------------------------------------------- roles

#[test]
fn roles_list_predefined_first_with_permissions_and_group_counts() {
    let portal = Portal::new();
    let app = &portal.app;
    let staff = app.entra_group("Staff");
    let editors = app.entra_group("Editors");
    let publisher = role(app, "Publisher").unwrap();
    assign_role(app, &staff, publisher.id);
    assign_role(app, &editors, publisher.id);
    portal
        .submit(ROLES, &[("name", "Auditor"), ("description", "Reads reports"), ("permissions", "dashboards.view")])
        .expect(303);

    let page = portal.page(ROLES).expect(200).text();
    for (name, description, _) in PREDEFINED {
        assert!(page.contains(name), "{name}");
        assert!(page.contains(description), "{description}");
    }
    // Predefined first (in name order), then custom.
    let positions: Vec<usize> = ["Analytics Manager", "Translator", "Auditor"]
        .iter()
        .map(|n| page.find(&format!("<strong>{n}</strong>")).unwrap())
        .collect();
    assert!(positions[0] < positions[1] && positions[1] < positions[2], "{positions:?}");
    // Permissions by their catalogue labels; group counts.
    let row = row_of(&page, "<strong>Publisher</strong>");
    assert!(row.contains("Create and edit content") && row.contains("Publish content"), "{row}");
    assert!(row.contains("<td class=\"number\">2</td>"), "{row}");
    assert!(!row.contains("Delete"), "predefined roles have no delete button: {row}");
    let row = row_of(&page, "<strong>Auditor</strong>");
    assert!(
        row.contains("View dashboards") && row.contains("custom") && row.contains("<td class=\"number\">0</td>"),
        "{row}"
    );
    assert!(row.contains("data-confirm"), "deleting asks first: {row}");
    assert!(page.contains("Role “Auditor” created."), "the notice of the last change");
    // The notice is shown once, and only in its own section.
    assert!(!portal.page(ROLES).text().contains("Role “Auditor” created."));
    portal.submit(APPS, &[("name", "Wiki")]).expect(303);
    assert!(!portal.page(ROLES).text().contains("Application “Wiki” created."));
}

#[test]
fn custom_roles_are_created_edited_and_deleted() {
    let portal = Portal::new();
    let app = &portal.app;
    let form = portal.page(&format!("{ROLES}/new")).expect(200).text();
    for p in CATALOGUE {
        assert!(form.contains(p.label) && form.contains(&format!("value=\"{}\"", p.key)), "{}", p.key);
    }
    let res = portal
        .submit(
            ROLES,
            &[
                ("name", "  Regional Publisher "),
                ("description", "Publishes in one region"),
                ("permissions", "content.create"),
                ("permissions", "content.publish"),
            ],
        )
        .expect(303);
    assert_eq!(res.location.as_deref(), Some(ROLES));
    let created = role(app, "Regional Publisher").expect("created, trimmed");
    assert!(!created.predefined);
    assert_eq!(created.description, "Publishes in one region");
    assert_eq!(created.permissions, ["content.create", "content.publish"]);

    // The edit form shows what is stored, boxes ticked.
    let edit = portal.page(&format!("{ROLES}/{}", created.id)).expect(200).text();
    assert!(edit.contains("value=\"Regional Publisher\""));
    assert!(edit.contains("Publishes in one region"));
    assert!(edit.contains("value=\"content.publish\" checked"));
    assert!(!edit.contains("value=\"content.approve\" checked"));

    portal
        .submit(
            &format!("{ROLES}/{}", created.id),
            &[("name", "Regional Approver"), ("description", ""), ("permissions", "content.approve")],
        )
        .expect(303);
    assert!(role(app, "Regional Publisher").is_none());
    let edited = role(app, "Regional Approver").unwrap();
    assert_eq!(
        (edited.id, edited.permissions.clone(), edited.description.clone()),
        (created.id, vec!["content.approve".to_string()], String::new())
    );
    assert!(portal.page(ROLES).text().contains("Role “Regional Approver” saved."));

    // No permissions at all is allowed.
    portal.submit(&format!("{ROLES}/{}", created.id), &[("name", "Regional Approver")]).expect(303);
    assert!(role(app, "Regional Approver").unwrap().permissions.is_empty());

    let res = portal.submit(&format!("{ROLES}/{}/delete", created.id), &[]).expect(303);
    assert_eq!(res.location.as_deref(), Some(ROLES));
    assert!(role(app, "Regional Approver").is_none());
    assert!(portal.page(ROLES).text().contains("Role “Regional Approver” deleted."));
    portal.page(&format!("{ROLES}/{}", created.id)).expect(404);
    portal.submit(&format!("{ROLES}/{}/delete", created.id), &[]).expect(404);
}

#[test]
fn role_form_errors_keep_what_was_typed() {
    let portal = Portal::new();
    let app = &portal.app;
    let before = app.count("roles");

    let res = portal
        .submit(ROLES, &[("name", "   "), ("description", "Typed text"), ("permissions", "content.publish")])
        .expect(400);
    let html = res.text();
    assert!(html.contains("a role needs a name of 1 to"), "{html}");
    assert!(html.contains("id=\"e-name\""), "the message sits next to the name field: {html}");
    assert!(html.contains("Typed text"));
    assert!(html.contains("value=\"content.publish\" checked"), "ticked boxes stay ticked");

    let res = portal.submit(ROLES, &[("name", "Publisher"), ("description", "dup")]).expect(409);
    assert!(res.text().contains("a role named \"Publisher\" already exists"), "{}", res.html);
    assert!(res.text().contains("id=\"e-name\""));
    let res = portal.submit(ROLES, &[("name", "publisher")]).expect(409);
    assert!(res.text().contains("already exists"), "names are unique regardless of case");

    let res = portal.submit(ROLES, &[("name", "Hacker"), ("permissions", "root.everything")]).expect(400);
    assert!(res.text().contains("unknown permission \"root.everything\""), "{}", res.html);
    assert!(res.text().contains("id=\"e-permissions\""));
    assert!(res.text().contains("value=\"Hacker\""));

    let long = "x".repeat(501);
    let res = portal.submit(ROLES, &[("name", "Verbose"), ("description", &long)]).expect(400);
    assert!(res.text().contains("id=\"e-description\""), "{}", res.html);
    assert!(res.text().contains(&long));
    assert_eq!(app.count("roles"), before, "nothing stored");

    // Editing: same rules, the form again with the typed values, nothing changed.
    portal.submit(ROLES, &[("name", "Auditor"), ("permissions", "dashboards.view")]).expect(303);
    let auditor = role(app, "Auditor").unwrap();
    let res =
        portal.submit(&format!("{ROLES}/{}", auditor.id), &[("name", ""), ("description", "new words")]).expect(400);
    assert!(res.text().contains("a role needs a name") && res.text().contains("new words"));
    let res = portal.submit(&format!("{ROLES}/{}", auditor.id), &[("name", "Scheduler")]).expect(409);
    assert!(res.text().contains("already exists") && res.text().contains("value=\"Scheduler\""));
    assert_eq!(role(app, "Auditor").unwrap(), auditor);
}

#[test]
fn predefined_roles_are_read_only_and_not_deletable() {
    let portal = Portal::new();
    let app = &portal.app;
    let scheduler = role(app, "Scheduler").unwrap();
    let page = portal.page(&format!("{ROLES}/{}", scheduler.id)).expect(200).text();
    assert!(page.contains("Predefined roles cannot be changed or deleted"), "{page}");
    assert!(page.contains("Manage publishing schedules"));
    assert!(!page.contains("<form method=\"post\" action=\"/admin/default/settings/roles/"), "no edit form: {page}");

    let res = portal
        .submit(&format!("{ROLES}/{}", scheduler.id), &[("name", "Renamed"), ("permissions", "content.create")])
        .expect(400);
    assert!(res.text().contains("predefined role"), "{}", res.html);
    let res = portal.submit(&format!("{ROLES}/{}/delete", scheduler.id), &[]).expect(400);
    assert!(res.text().contains("Scheduler is a predefined role and cannot be deleted"), "{}", res.html);
    assert!(res.text().contains("<strong>Scheduler</strong>"), "the list again");
    assert_eq!(role(app, "Scheduler").unwrap(), scheduler, "unchanged");
}

#[test]
fn a_role_assigned_to_groups_cannot_be_deleted_and_the_error_names_them() {
    let portal = Portal::new();
    let app = &portal.app;
    portal.submit(ROLES, &[("name", "Auditor"), ("permissions", "dashboards.view")]).expect(303);
    let auditor = role(app, "Auditor").unwrap();
    let finance = app.entra_group("Finance");
    let audit = app.entra_group("Internal Audit");
    assign_role(app, &finance, auditor.id);
    assign_role(app, &audit, auditor.id);

    let res = portal.submit(&format!("{ROLES}/{}/delete", auditor.id), &[]).expect(409);
    let html = res.text();
    assert!(html.contains("Auditor is still assigned to groups: Finance, Internal Audit"), "{html}");
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("<strong>Auditor</strong>"), "the list again");
    assert!(role(app, "Auditor").is_some());
    let edit = portal.page(&format!("{ROLES}/{}", auditor.id)).text();
    assert!(edit.contains("Carried by 2 groups"), "{edit}");

    unassign_role(app, &finance);
    let res = portal.submit(&format!("{ROLES}/{}/delete", auditor.id), &[]).expect(409);
    assert!(res.text().contains("Auditor is still assigned to a group: Internal Audit"), "{}", res.html);
    unassign_role(app, &audit);
    portal.submit(&format!("{ROLES}/{}/delete", auditor.id), &[]).expect(303);
    assert!(role(app, "Auditor").is_none());
}

// ---------------------------------------------------------------- applications

#[test]
fn applications_are_listed_created_renamed_and_deleted_from_every_group() {
    let portal = Portal::new();
    let app = &portal.app;
    let empty = portal.page(APPS).expect(200).text();
    assert!(empty.contains("No applications yet"), "{empty}");
    assert!(portal.page(&format!("{APPS}/new")).expect(200).text().contains("name=\"url\""));

    let res = portal
        .submit(
            APPS,
            &[("name", "Intranet"), ("url", "https://intranet.example.com"), ("description", "News and forms")],
        )
        .expect(303);
    assert_eq!(res.location.as_deref(), Some(APPS));
    portal.submit(APPS, &[("name", "Wiki"), ("url", ""), ("description", "")]).expect(303);
    let intranet = application(app, "Intranet").unwrap();
    let wiki = application(app, "Wiki").unwrap();
    assert_eq!(intranet.url.as_deref(), Some("https://intranet.example.com"));
    assert_eq!(wiki.url, None);

    let staff = app.entra_group("Staff");
    let editors = app.entra_group("Editors");
    grant_apps(app, &staff, &[intranet.id, wiki.id]);
    grant_apps(app, &editors, &[intranet.id]);

    let page = portal.page(APPS).expect(200).text();
    assert!(page.contains("Application “Wiki” created."));
    let row = row_of(&page, "<strong>Intranet</strong>");
    assert!(row.contains("https://intranet.example.com") && row.contains("News and forms"), "{row}");
    assert!(row.contains("<td class=\"number\">2</td>"), "{row}");
    assert!(row.contains("2 groups will stop granting it"), "the confirmation says what happens: {row}");
    assert!(row_of(&page, "<strong>Wiki</strong>").contains("<td class=\"number\">1</td>"));
    assert!(page.find("<strong>Intranet</strong>").unwrap() < page.find("<strong>Wiki</strong>").unwrap(), "by name");

    // Rename / edit.
    let edit = portal.page(&format!("{APPS}/{}", intranet.id)).expect(200).text();
    assert!(
        edit.contains("value=\"Intranet\"")
            && edit.contains("value=\"https://intranet.example.com\"")
            && edit.contains("Granted by 2 groups"),
        "{edit}"
    );
    portal
        .submit(
            &format!("{APPS}/{}", intranet.id),
            &[("name", "Staff Portal"), ("url", "https://portal.example.com"), ("description", "")],
        )
        .expect(303);
    assert!(application(app, "Intranet").is_none());
    let renamed = application(app, "Staff Portal").unwrap();
    assert_eq!((renamed.id, renamed.url.as_deref()), (intranet.id, Some("https://portal.example.com")));
    assert_eq!(group_apps(app, &editors), ["Staff Portal"], "groups keep it under its new name");

    // Delete: every group loses it.
    portal.submit(&format!("{APPS}/{}/delete", intranet.id), &[]).expect(303);
    assert!(application(app, "Staff Portal").is_none());
    assert_eq!(group_apps(app, &staff), ["Wiki"]);
    assert!(group_apps(app, &editors).is_empty());
    assert!(portal.page(APPS).text().contains("Application “Staff Portal” deleted"));
    portal.page(&format!("{APPS}/{}", intranet.id)).expect(404);
    portal.submit(&format!("{APPS}/{}/delete", intranet.id), &[]).expect(404);
}

#[test]
fn application_form_errors_keep_what_was_typed() {
    let portal = Portal::new();
    let app = &portal.app;
    let res = portal.submit(APPS, &[("name", ""), ("url", "https://x.example"), ("description", "Typed")]).expect(400);
    let html = res.text();
    assert!(html.contains("an application needs a name") && html.contains("id=\"e-name\""), "{html}");
    assert!(html.contains("value=\"https://x.example\"") && html.contains("Typed"));

    let res = portal.submit(APPS, &[("name", "Payroll"), ("url", "javascript:alert(1)")]).expect(400);
    assert!(res.text().contains("must start with https://") && res.text().contains("id=\"e-url\""), "{}", res.html);
    assert!(res.text().contains("value=\"Payroll\""));

    let res = portal.submit(APPS, &[("name", "Payroll"), ("description", &"d".repeat(501))]).expect(400);
    assert!(res.text().contains("id=\"e-description\""));
    assert_eq!(app.count("applications"), 0);

    portal.submit(APPS, &[("name", "Payroll")]).expect(303);
    portal.submit(APPS, &[("name", "CRM")]).expect(303);
    let res = portal.submit(APPS, &[("name", "payroll")]).expect(409);
    assert!(res.text().contains("already exists") && res.text().contains("id=\"e-name\""), "{}", res.html);
    let crm = application(app, "CRM").unwrap();
    let res = portal.submit(&format!("{APPS}/{}", crm.id), &[("name", "Payroll"), ("url", "ftp://x")]).expect(400);
    assert!(res.text().contains("id=\"e-url\"") && res.text().contains("value=\"ftp://x\""));
    let res = portal.submit(&format!("{APPS}/{}", crm.id), &[("name", "Payroll")]).expect(409);
    assert!(res.text().contains("already exists"));
    assert_eq!(application(app, "CRM").unwrap(), crm, "unchanged");
    assert_eq!(app.count("applications"), 2);
}

// ---------------------------------------------------------------- provisioning log

/// The number of log rows on a page.
fn rows(html: &str) -> usize {
    html.matches("<tr class=\"success\"").count() + html.matches("<tr class=\"failure\"").count()
}

#[test]
fn the_log_is_newest_first_filtered_and_paged() {
    let portal = Portal::new();
    let app = &portal.app;
    let empty = portal.page(LOG).expect(200).text();
    assert!(empty.contains("No SCIM requests yet"), "{empty}");

    // 52 user creations, 2 group creations, and failures: 3 about users, 1 about a group, 1 about neither.
    for i in 0..52 {
        app.entra_user(&format!("user{i:02}@example.com"));
    }
    app.entra_group("Staff");
    let last_group = app.entra_group("Editors");
    app.post("/Users", &entra_user_body("user00@example.com")).expect(409);
    app.get("/Users/missing-1").expect(404);
    app.get("/Users/missing-2").expect(404);
    app.get("/Groups/missing-3").expect(404);
    app.raw("GET", "/scim/v2/default/Schemas/nope", Some(&app.token), &[], None);
    let failures = app.count("provisioning_log WHERE status >= 400");
    assert_eq!(failures, 5);

    let all = portal.page(LOG).expect(200).text();
    assert_eq!(rows(&all), 50);
    assert!(all.contains("59 entries"), "{all}");
    assert!(all.contains("Page 1 of 2"));
    assert!(
        all.contains("href=\"/admin/default/settings/log?outcome=all&resource=all&page=2\""),
        "the pager keeps the filters"
    );
    // Newest first.
    let newest = all.find("/Schemas/nope").expect("the latest request");
    assert!(newest < all.find("/Groups/missing-3").unwrap());
    assert!(all.find("GET /Users/missing-1").unwrap() < all.find("POST /Groups").unwrap());
    assert!(all.contains(&format!("<code class=\"id\">{last_group}</code>")), "the resource id is shown");
    let second = portal.page(&format!("{LOG}?page=2")).expect(200).text();
    assert_eq!(rows(&second), 9, "{second}");
    assert!(second.contains("Page 2 of 2"));
    assert!(second.contains("<option value=\"all\" selected>"));
    let far = portal.page(&format!("{LOG}?page=9")).expect(200).text();
    assert_eq!(rows(&far), 0);
    assert!(far.contains("Go to the first page"));

    let only_failures = portal.page(&format!("{LOG}?outcome=failure")).expect(200).text();
    assert_eq!(rows(&only_failures), 5);
    assert_eq!(only_failures.matches("<tr class=\"failure\"").count(), 5);
    assert!(only_failures.contains("<option value=\"failure\" selected>"));
    assert!(only_failures.contains("Clear filters"));
    assert!(only_failures.contains(">409</span>") && only_failures.contains("GET /Users/missing-2"), "{only_failures}");

    let user_failures = portal.page(&format!("{LOG}?outcome=failure&resource=User")).expect(200).text();
    assert_eq!(rows(&user_failures), 3, "{user_failures}");
    let group_rows = portal.page(&format!("{LOG}?resource=Group")).expect(200).text();
    assert_eq!(rows(&group_rows), 3);
    let group_ok = portal.page(&format!("{LOG}?outcome=success&resource=Group")).expect(200).text();
    assert_eq!(rows(&group_ok), 2);
    assert_eq!(group_ok.matches("<tr class=\"success\"").count(), 2);
    let user_ok = portal.page(&format!("{LOG}?outcome=success&resource=User")).expect(200).text();
    assert_eq!(rows(&user_ok), 50);
    assert!(user_ok.contains("Page 1 of 2"));
    assert!(user_ok.contains("href=\"/admin/default/settings/log?outcome=success&resource=User&page=2\""));
    assert_eq!(rows(&portal.page(&format!("{LOG}?outcome=success&resource=User&page=2")).text()), 2);

    // Unknown filter values mean "all"; a filter matching nothing says so.
    assert_eq!(rows(&portal.page(&format!("{LOG}?outcome=bogus&resource=bogus&page=x")).expect(200).text()), 50);
    let other = Portal::from_app(TestApp::new(), "default", "x@example.com");
    other.app.entra_user("only@example.com");
    let none = other.page(&format!("{LOG}?outcome=failure")).expect(200).text();
    assert!(none.contains("No entries match these filters"), "{none}");
}

// ---------------------------------------------------------------- CSRF, tenants, sign-in

#[test]
fn every_form_needs_the_csrf_token_and_changes_nothing_without_it() {
    let portal = Portal::new();
    let app = &portal.app;
    portal.submit(ROLES, &[("name", "Auditor")]).expect(303);
    portal.submit(APPS, &[("name", "Wiki")]).expect(303);
    let auditor = role(app, "Auditor").unwrap();
    let wiki = application(app, "Wiki").unwrap();
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (ROLES.to_string(), vec![("name", "Forged role")]),
        (format!("{ROLES}/{}", auditor.id), vec![("name", "Forged rename")]),
        (format!("{ROLES}/{}/delete", auditor.id), vec![]),
        (APPS.to_string(), vec![("name", "Forged app")]),
        (format!("{APPS}/{}", wiki.id), vec![("name", "Forged rename")]),
        (format!("{APPS}/{}/delete", wiki.id), vec![]),
    ];
    for (uri, fields) in &forms {
        let res = portal.form("POST", uri, fields).expect(403);
        assert!(res.text().contains("nothing was changed"), "{uri}");
        let mut wrong = vec![("csrf", "not-the-token")];
        wrong.extend_from_slice(fields);
        portal.form("POST", uri, &wrong).expect(403);
    }
    assert_eq!(role(app, "Auditor").unwrap(), auditor);
    assert_eq!(application(app, "Wiki").unwrap(), wiki);
    assert!(role(app, "Forged role").is_none() && application(app, "Forged app").is_none());
    assert_eq!(app.count("roles"), PREDEFINED.len() as i64 + 1);
    assert_eq!(app.count("applications"), 1);
}

#[test]
fn another_tenants_pages_and_forms_are_404() {
    let app = TestApp::new();
    app.new_tenant("acme");
    let portal = Portal::from_app(app, "acme", "root@acme.example");
    let app = &portal.app;
    portal.page("/admin/acme/settings/roles").expect(200);
    // default's own records, addressed through either tenant's URLs.
    let t = tenant(app);
    let custom = app
        .state()
        .db
        .write(|tx| roles::create(tx, t, &roles::RoleInput { name: "Default only".into(), ..Default::default() }))
        .unwrap();
    let wiki = app
        .state()
        .db
        .write(|tx| {
            applications::create(
                tx,
                t,
                &applications::ApplicationInput { name: "Default wiki".into(), ..Default::default() },
            )
        })
        .unwrap();
    for page in
        ["settings/roles", "settings/roles/new", "settings/applications", "settings/applications/new", "settings/log"]
    {
        portal.page(&format!("/admin/default/{page}")).expect(404);
    }
    portal.page(&format!("/admin/default/settings/roles/{}", custom.id)).expect(404);
    portal.page(&format!("/admin/acme/settings/roles/{}", custom.id)).expect(404);
    portal.page(&format!("/admin/acme/settings/applications/{}", wiki.id)).expect(404);
    portal.submit("/admin/default/settings/roles", &[("name", "x")]).expect(404);
    portal.submit("/admin/default/settings/applications", &[("name", "x")]).expect(404);
    for uri in [
        format!("/admin/default/settings/roles/{}/delete", custom.id),
        format!("/admin/acme/settings/roles/{}/delete", custom.id),
        format!("/admin/acme/settings/roles/{}", custom.id),
        format!("/admin/default/settings/applications/{}/delete", wiki.id),
        format!("/admin/acme/settings/applications/{}/delete", wiki.id),
        format!("/admin/acme/settings/applications/{}", wiki.id),
    ] {
        portal.submit(&uri, &[("name", "Taken over")]).expect(404);
    }
    assert!(role(app, "Default only").is_some());
    assert_eq!(application(app, "Default wiki").unwrap(), wiki);
    // acme's own pages show none of default's data.
    assert!(!portal.page("/admin/acme/settings/roles").text().contains("Default only"));
    assert!(!portal.page("/admin/acme/settings/applications").text().contains("Default wiki"));
    app.entra_user("someone@example.com");
    assert!(portal.page("/admin/acme/settings/log").text().contains("No SCIM requests yet"));
}

#[test]
fn signed_out_pages_redirect_to_sign_in_and_forms_change_nothing() {
    let portal = Portal::new();
    portal.submit(ROLES, &[("name", "Auditor")]).expect(303);
    let auditor = role(&portal.app, "Auditor").unwrap();
    portal.submit(APPS, &[("name", "Wiki")]).expect(303);
    let wiki = application(&portal.app, "Wiki").unwrap();
    portal.form("POST", "/admin/default/logout", &[("csrf", &portal.csrf)]).expect(303);
    for uri in [
        ROLES.to_string(),
        format!("{ROLES}/new"),
        format!("{ROLES}/{}", auditor.id),
        APPS.to_string(),
        format!("{APPS}/new"),
        format!("{APPS}/{}", wiki.id),
        LOG.to_string(),
    ] {
        let res = portal.page(&uri).expect(303);
        assert_eq!(res.location.as_deref(), Some(format!("/admin/default/login?next={uri}").as_str()));
    }
    for uri in [format!("{ROLES}/{}/delete", auditor.id), format!("{APPS}/{}/delete", wiki.id), ROLES.to_string()] {
        let res = portal.submit(&uri, &[("name", "x")]).expect(303);
        assert!(res.location.unwrap().starts_with("/admin/default/login"));
    }
    assert!(role(&portal.app, "Auditor").is_some() && application(&portal.app, "Wiki").is_some());
    assert!(role(&portal.app, "x").is_none());
}
