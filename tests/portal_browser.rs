//! The administrator's whole story, driven in headless Chromium against the
//! real binary: first administrator set up → API key generated → Tenant URL
//! and token copied from the pages → users and groups provisioned over SCIM
//! with them → role and applications assigned to groups → the Users page
//! shows each user's effective access with provenance. Screenshots of each
//! section go to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).
//! Without chromedriver the test is skipped, unless SCIM_PORTAL_REQUIRE_BROWSER
//! is set (CI sets it), in which case it fails.

#[path = "common/browser.rs"]
mod browser;

use browser::{chromedriver, scim, skip_unless_required, start_server, Browser};
use fantoccini::Locator;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_story_in_headless_chromium() {
    if chromedriver().is_none() {
        return skip_unless_required("chromedriver not found (apt-get install chromium chromium-driver)");
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path());
    let (base, setup_link) = (server.base.clone(), server.setup_link.clone());
    let b = Browser::start().await;

    // 1. The first administrator, from the printed one-time link.
    b.client.goto(&setup_link).await.unwrap();
    b.shot("01-setup").await;
    b.fill("f-email", "admin@example.com").await;
    b.fill("f-password", "a long enough password").await;
    b.fill("f-confirm", "a long enough password").await;
    b.click("form button[type=submit]").await;
    b.wait_path("/admin/default/settings/scim").await;

    // 2. SCIM Config: the Tenant URL, copied from the page.
    let tenant_url = b.value("tenant-url").await;
    assert_eq!(tenant_url, format!("{base}/scim/v2/default"));
    b.shot("02-scim-config-empty").await;

    // 3. Open API: generate the key Entra will use; the secret is shown once.
    b.click("nav a[href$='/settings/api-keys']").await;
    b.wait_path("/admin/default/settings/api-keys").await;
    b.fill("f-label", "Microsoft Entra ID").await;
    b.click("form.inline-form button[type=submit]").await;
    let token = b.value("new-secret").await;
    assert!(token.starts_with("scimp_"), "{token}");
    b.shot("03-open-api-key-created").await;
    b.client.goto(&format!("{base}/admin/default/settings/api-keys")).await.unwrap();
    assert!(!b.client.source().await.unwrap().contains(&token), "the secret is not shown again");

    // 4. Provision over SCIM with what the pages gave.
    let mut users = Vec::new();
    for (name, active) in [("ada@example.com", true), ("grace@example.com", true), ("linus@example.com", false)] {
        let (status, body) = scim(
            &tenant_url,
            &token,
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name, "active": active, "displayName": name.split('@').next().unwrap(),
                "emails": [{"type": "work", "value": name, "primary": true}],
            })),
        );
        assert_eq!(status, 201, "{body}");
        users.push(body["id"].as_str().unwrap().to_string());
    }
    let mut groups = Vec::new();
    for (name, members) in
        [("Editors", vec![&users[0], &users[1]]), ("Admins", vec![&users[0]]), ("Leavers", vec![&users[2]])]
    {
        let (status, body) = scim(
            &tenant_url,
            &token,
            "POST",
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name,
            })),
        );
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_string();
        let values: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let (status, _) = scim(
            &tenant_url,
            &token,
            "PATCH",
            &format!("/Groups/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "members", "value": values}],
            })),
        );
        assert_eq!(status, 204);
        groups.push(id);
    }
    b.client.goto(&format!("{base}/admin/default/settings/scim")).await.unwrap();
    let figures = b.text(".figures").await;
    assert!(figures.contains("Active users\n2") || figures.contains("Active users 2"), "{figures}");
    b.shot("04-scim-config-provisioned").await;

    portal_access_story(&b, &base, &users, &groups).await;

    b.close().await;
}

/// Roles and applications through groups, then the Users pages.
async fn portal_access_story(b: &Browser, base: &str, users: &[String], groups: &[String]) {
    let admin = format!("{base}/admin/default/settings");

    // Roles: the predefined set is there.
    b.client.goto(&format!("{admin}/roles")).await.unwrap();
    let roles = b.client.source().await.unwrap();
    for role in ["System Administrator", "Publisher", "Content Creator", "Scheduler"] {
        assert!(roles.contains(role), "{role}");
    }
    b.shot("05-roles").await;

    // Applications: create two.
    for (name, url) in [("Intranet", "https://intranet.example.com"), ("Analytics", "https://analytics.example.com")] {
        b.client.goto(&format!("{admin}/applications/new")).await.unwrap();
        b.fill("f-name", name).await;
        b.fill("f-url", url).await;
        b.click("form.stacked-form button[type=submit]").await;
        b.wait_path("/admin/default/settings/applications").await;
    }
    b.shot("06-applications").await;

    // User Groups: Editors get Publisher and Intranet; Admins get System Administrator
    // (assigned later, so it wins for Ada, who is in both) and Analytics.
    b.client.goto(&format!("{admin}/groups")).await.unwrap();
    let list = b.client.source().await.unwrap();
    assert!(list.contains("Editors") && list.contains("Admins") && list.contains("Leavers"));
    b.shot("07-user-groups").await;
    for (group, role, app) in [(&groups[0], "Publisher", "Intranet"), (&groups[1], "System Administrator", "Analytics")]
    {
        b.client.goto(&format!("{admin}/groups/{group}")).await.unwrap();
        let select = b.client.find(Locator::Id("f-role")).await.unwrap();
        select.select_by_label(role).await.unwrap();
        let checkbox = format!("//label[contains(., '{app}')]/input[@type='checkbox']");
        b.client.find(Locator::XPath(&checkbox)).await.unwrap().click().await.unwrap();
        b.click("#access-form button[type=submit]").await;
        assert!(b.text(".panel.success").await.contains("Saved what"), "confirmation shown");
    }
    b.client.goto(&format!("{admin}/groups/{}", groups[1])).await.unwrap();
    b.shot("08-group-access").await;

    // Users: each user's effective role and applications, with provenance.
    b.client.goto(&format!("{admin}/users")).await.unwrap();
    let rows = b.text("table.users tbody").await;
    let row = |name: &str| rows.lines().skip_while(|l| !l.contains(name)).take(6).collect::<Vec<_>>().join(" ");
    assert!(row("ada@example.com").contains("System Administrator"), "{rows}");
    assert!(row("ada@example.com").contains("via Admins"), "{rows}");
    assert!(
        row("grace@example.com").contains("Publisher") && row("grace@example.com").contains("via Editors"),
        "{rows}"
    );
    assert!(row("linus@example.com").contains("Suspended"), "{rows}");
    b.shot("09-users").await;
    b.client.goto(&format!("{admin}/users/{}", users[0])).await.unwrap();
    let access = b.text("#access").await;
    assert!(access.contains("System Administrator") && access.contains("granted by group Admins"), "{access}");
    assert!(access.contains("1 other group of this user carries a role"), "{access}");
    assert!(access.contains("Analytics — via Admins") && access.contains("Intranet — via Editors"), "{access}");
    b.shot("10-user-access").await;
    b.client.goto(&format!("{admin}/users/{}", users[2])).await.unwrap();
    assert!(b.text("#access").await.contains("Suspended in Microsoft Entra ID"));

    // The provisioning log shows the SCIM traffic.
    b.client.goto(&format!("{admin}/log")).await.unwrap();
    assert!(b.client.source().await.unwrap().contains("Microsoft Entra ID"), "token label in the log");
    b.shot("11-provisioning-log").await;
}
