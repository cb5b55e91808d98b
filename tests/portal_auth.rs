//! Portal sign-in, set-up, sessions, CSRF, tenant isolation, and the pages
//! of SCIM Config and Open API.

mod common;
use common::*;

use scim_portal::domain::{admins, tenants};

#[test]
fn signed_out_pages_redirect_to_sign_in_and_come_back() {
    let app = TestApp::new();
    let hash = admins::hash_password(ADMIN_PASSWORD).unwrap();
    app.state()
        .db
        .write(|tx| admins::create(tx, tenants::get_by_slug(tx, "default")?.id, "a@example.com", &hash))
        .unwrap();
    for page in [
        "settings/scim",
        "settings/api-keys",
        "settings/users",
        "settings/groups",
        "settings/roles",
        "settings/applications",
        "settings/log",
        "settings/sso",
        "me",
    ] {
        let uri = format!("/admin/default/{page}");
        let res = HtmlRes::from(app.client.get(uri.clone()).dispatch());
        assert_eq!(res.status, 303, "{uri}");
        assert_eq!(res.location.as_deref(), Some(format!("/admin/default/login?next={uri}").as_str()));
    }
    // Signing in with next= returns to the page asked for; a foreign next= is ignored.
    let portal = Portal::from_app(app, "default", "b@example.com");
    let res = portal.form(
        "POST",
        "/admin/default/login",
        &[("email", "a@example.com"), ("password", ADMIN_PASSWORD), ("next", "/admin/default/settings/roles")],
    );
    assert_eq!(res.location.as_deref(), Some("/admin/default/settings/roles"));
    let res = portal.form(
        "POST",
        "/admin/default/login",
        &[("email", "a@example.com"), ("password", ADMIN_PASSWORD), ("next", "https://evil.example/")],
    );
    assert_eq!(res.location.as_deref(), Some("/admin/default/settings/scim"));
}

#[test]
fn wrong_password_re_renders_the_form_with_the_email_kept() {
    let portal = Portal::new();
    portal.form("POST", "/admin/default/logout", &[("csrf", &portal.csrf)]);
    for (email, password) in [("admin@example.com", "wrong password!!"), ("nobody@example.com", ADMIN_PASSWORD)] {
        let res = portal.form("POST", "/admin/default/login", &[("email", email), ("password", password)]).expect(401);
        assert!(res.text().contains("do not match"), "{}", res.html);
        assert!(res.text().contains(&format!("value=\"{email}\"")));
        assert!(!res.html.contains(password), "the password is never echoed");
    }
    portal.page("/admin/default/settings/scim").expect(303);
}

#[test]
fn session_cookie_is_http_only_and_same_site() {
    let app = TestApp::new();
    let hash = admins::hash_password(ADMIN_PASSWORD).unwrap();
    app.state()
        .db
        .write(|tx| admins::create(tx, tenants::get_by_slug(tx, "default")?.id, "a@example.com", &hash))
        .unwrap();
    let res = HtmlRes::from(
        app.client
            .post("/admin/default/login")
            .header(rocket::http::ContentType::Form)
            .body("email=a%40example.com&password=correct+horse+battery+staple")
            .dispatch(),
    );
    let cookie = res.header("Set-Cookie").expect("a session cookie");
    assert!(cookie.starts_with("scimp_session="));
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-http public_url: no Secure flag");
}

#[test]
fn sign_out_ends_the_session_and_needs_csrf() {
    let portal = Portal::new();
    // Without the token nothing happens.
    portal.form("POST", "/admin/default/logout", &[("csrf", "forged")]).expect(403);
    portal.page("/admin/default/settings/scim").expect(200);
    portal.form("POST", "/admin/default/logout", &[("csrf", &portal.csrf)]).expect(303);
    portal.page("/admin/default/settings/scim").expect(303);
    assert_eq!(portal.app.count("sessions"), 0);
}

#[test]
fn another_tenants_pages_are_404() {
    let app = TestApp::new();
    app.new_tenant("acme");
    let portal = Portal::from_app(app, "acme", "root@acme.example");
    portal.page("/admin/acme/settings/scim").expect(200);
    for page in ["settings/scim", "settings/api-keys"] {
        portal.page(&format!("/admin/default/{page}")).expect(404);
    }
    portal.submit("/admin/default/settings/api-keys", &[("label", "x"), ("expires", "")]).expect(404);
    assert_eq!(portal.app.count("api_keys"), 1, "only the harness's own token");
}

#[test]
fn first_administrator_set_up_link_works_once() {
    let app = TestApp::new();
    let links = scim_portal::portal::auth::setup_links(&app.state().db, BASE).unwrap();
    assert_eq!(links.len(), 1);
    let (tenant, url) = &links[0];
    assert_eq!(tenant, "default");
    let path = url.strip_prefix(BASE).unwrap();
    let token = path.split("token=").nth(1).unwrap().to_string();
    let client = &app.client;
    assert_eq!(client.get(path.to_string()).dispatch().status().code, 200);
    assert_eq!(client.get("/admin/default/setup?token=forged").dispatch().status().code, 404);
    let post = |body: String| {
        HtmlRes::from(client.post("/admin/default/setup").header(rocket::http::ContentType::Form).body(body).dispatch())
    };
    // Bad input: the form again, with the message, nothing created.
    let res = post(format!("token={token}&email=root%40example.com&password=short&confirm=short"));
    assert_eq!(res.status, 400);
    assert!(res.text().contains("at least 12 characters"), "{}", res.html);
    let res =
        post(format!("token={token}&email=root%40example.com&password=long+enough+pass&confirm=different+pass+1"));
    assert!(res.text().contains("differ"));
    assert_eq!(app.count("admins"), 0);
    let res =
        post(format!("token={token}&email=root%40example.com&password=long+enough+pass&confirm=long+enough+pass"));
    assert_eq!(res.status, 303, "{}", res.html);
    assert_eq!(app.count("admins"), 1);
    assert_eq!(client.get("/admin/default/settings/scim").dispatch().status().code, 200, "signed in by set-up");
    // Spent.
    assert_eq!(client.get(path.to_string()).dispatch().status().code, 404);
    let res = post(format!("token={token}&email=two%40example.com&password=long+enough+pass&confirm=long+enough+pass"));
    assert_eq!(res.status, 400);
    assert_eq!(app.count("admins"), 1);
}

#[test]
fn scim_config_shows_the_tenant_url_and_live_figures() {
    let portal = Portal::new();
    let page = portal.page("/admin/default/settings/scim").expect(200);
    assert!(page.text().contains("http://scim.test/scim/v2/default"));
    assert!(page.text().contains("No SCIM request yet"));
    let app = &portal.app;
    app.entra_user("a@example.com");
    let b = app.entra_user("b@example.com");
    app.patch(&format!("/Users/{b}"), serde_json::json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .expect(200);
    app.entra_group("Staff");
    app.get("/Users/does-not-exist").expect(404);
    let page = portal.page("/admin/default/settings/scim").expect(200).text();
    let figure = |label: &str| {
        let at = page.find(&format!("<dt>{label}</dt>")).unwrap_or_else(|| panic!("{label} in {page}"));
        let dd = &page[at..];
        let start = dd.find("<dd>").unwrap() + 4;
        dd[start..start + dd[start..].find("</dd>").unwrap()].to_string()
    };
    assert_eq!(figure("Active users"), "1");
    assert_eq!(figure("Suspended users"), "1");
    assert_eq!(figure("Groups"), "1");
    assert!(page.contains("Last error"), "{page}");
    assert!(page.contains("GET /Users/does-not-exist → 404"), "{page}");
}

#[test]
fn api_keys_are_shown_once_listed_and_revoked() {
    let portal = Portal::new();
    let res = portal
        .submit("/admin/default/settings/api-keys", &[("label", "Microsoft Entra ID"), ("expires", "")])
        .expect(201);
    let html = res.text();
    let start = html.find("value=\"scimp_").expect("secret shown") + 7;
    let secret = html[start..start + html[start..].find('"').unwrap()].to_string();
    // It works for SCIM at once, and it is stored only hashed.
    let app = &portal.app;
    assert_eq!(app.raw("GET", "/scim/v2/default/Users", Some(&secret), &[], None).status, 200);
    let stored: Vec<u8> = app
        .state()
        .db
        .read(|tx| {
            tx.query_row("SELECT secret_hash FROM api_keys WHERE label = 'Microsoft Entra ID'", [], |r| r.get(0))
                .map_err(scim_portal::db::DbError::from)
        })
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(&secret[6..]));
    // The list never shows it again.
    let list = portal.page("/admin/default/settings/api-keys").expect(200).text();
    assert!(list.contains("Microsoft Entra ID"));
    assert!(!list.contains(&secret));
    // Revoke needs CSRF; then the key stops working at once.
    let id: i64 = app
        .state()
        .db
        .read(|tx| {
            tx.query_row("SELECT id FROM api_keys WHERE label = 'Microsoft Entra ID'", [], |r| r.get(0))
                .map_err(scim_portal::db::DbError::from)
        })
        .unwrap();
    portal.form("POST", &format!("/admin/default/settings/api-keys/{id}/revoke"), &[("csrf", "nope")]).expect(403);
    assert_eq!(app.raw("GET", "/scim/v2/default/Users", Some(&secret), &[], None).status, 200);
    portal.submit(&format!("/admin/default/settings/api-keys/{id}/revoke"), &[]).expect(303);
    assert_eq!(app.raw("GET", "/scim/v2/default/Users", Some(&secret), &[], None).status, 401);
    assert!(portal.page("/admin/default/settings/api-keys").text().contains("revoked"));
}

#[test]
fn api_key_form_errors_keep_what_was_typed() {
    let portal = Portal::new();
    let before = portal.app.count("api_keys");
    let res = portal.submit("/admin/default/settings/api-keys", &[("label", "  "), ("expires", "")]).expect(400);
    assert!(res.text().contains("label of 1 to"), "{}", res.html);
    let res =
        portal.submit("/admin/default/settings/api-keys", &[("label", "Nightly"), ("expires", "tomorrow")]).expect(400);
    assert!(res.text().contains("value=\"Nightly\""));
    assert!(res.text().contains("yyyy-mm-dd"));
    let res =
        portal.submit("/admin/default/settings/api-keys", &[("label", "Old"), ("expires", "2001-01-01")]).expect(400);
    assert!(res.text().contains("future"));
    portal.form("POST", "/admin/default/settings/api-keys", &[("label", "No csrf"), ("expires", "")]).expect(403);
    assert_eq!(portal.app.count("api_keys"), before);
}

#[test]
fn repeated_failed_sign_ins_are_throttled_with_retry_after() {
    let portal = Portal::new();
    portal.form("POST", "/admin/default/logout", &[("csrf", &portal.csrf)]);
    let try_password = |password: &str| {
        portal.form("POST", "/admin/default/login", &[("email", "admin@example.com"), ("password", password)])
    };
    for _ in 0..3 {
        try_password("wrong password!!").expect(401);
    }
    // The fourth failure starts the back-off; the right password must wait too.
    try_password("wrong password!!").expect(401);
    let held = try_password(ADMIN_PASSWORD).expect(429);
    let wait: u64 = held.header("Retry-After").expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(held.text().contains("Too many failed sign-ins"));
    assert_eq!(portal.app.count("sessions"), 0, "no session while held back");
    std::thread::sleep(std::time::Duration::from_millis(1100 * wait));
    try_password(ADMIN_PASSWORD).expect(303);
}
