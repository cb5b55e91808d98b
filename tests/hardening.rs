//! Web hardening on every page, and tenant isolation across every surface.

mod common;
use common::*;

const PAGES: &[&str] = &[
    "/admin/default/settings/scim",
    "/admin/default/settings/api-keys",
    "/admin/default/settings/groups",
    "/admin/default/settings/users",
    "/admin/default/settings/roles",
    "/admin/default/settings/roles/new",
    "/admin/default/settings/applications",
    "/admin/default/settings/applications/new",
    "/admin/default/settings/log",
    "/admin/default/settings/sso",
];

#[test]
fn every_portal_page_carries_the_security_headers() {
    let portal = Portal::new();
    let signed_out = ["/admin/default/login", "/admin/default/setup?token=nope", "/admin/default/no-such-page"];
    for (uri, want) in PAGES.iter().map(|p| (*p, 200)).chain(signed_out.iter().map(|p| (*p, 0))) {
        let res = portal.page(uri);
        if want != 0 {
            assert_eq!(res.status, want, "{uri}: {}", res.html);
        }
        let csp = res.header("Content-Security-Policy").unwrap_or_else(|| panic!("{uri}: no CSP"));
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(res.header("X-Content-Type-Options"), Some("nosniff"), "{uri}");
        assert_eq!(res.header("Referrer-Policy"), Some("same-origin"), "{uri}");
        assert_eq!(res.header("Cache-Control"), Some("no-store"), "{uri}");
        // No inline script anywhere (the CSP would block it anyway).
        assert!(!res.html.contains("<script>") && !res.html.contains("onclick="), "{uri}");
    }
    let css = portal.page("/static/portal.css");
    assert_eq!(css.status, 200);
    assert!(css.header("Content-Type").unwrap().starts_with("text/css"));
}

#[test]
fn secure_cookies_behind_https() {
    let app = TestApp::with(|f| f.merge(("public_url", "https://scim.example.com")));
    let hash = scim_portal::domain::admins::hash_password(ADMIN_PASSWORD).unwrap();
    app.state()
        .db
        .write(|tx| {
            let t = scim_portal::domain::tenants::get_by_slug(tx, "default")?;
            scim_portal::domain::admins::create(tx, t.id, "a@example.com", &hash)
        })
        .unwrap();
    let res = HtmlRes::from(
        app.client
            .post("/admin/default/login")
            .header(rocket::http::ContentType::Form)
            .body("email=a%40example.com&password=correct+horse+battery+staple")
            .dispatch(),
    );
    let cookie = res.header("Set-Cookie").unwrap();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
}

#[test]
fn a_tenant_sees_nothing_of_another_over_scim_the_api_and_the_portal() {
    let app = TestApp::new();
    app.new_tenant("other");
    let other_token = app.new_token("other", "theirs");
    // B's data, created with B's token.
    let b = |method: &str, path: &str, body: Option<serde_json::Value>| {
        app.raw(method, &format!("/scim/v2/other{path}"), Some(&other_token), &[], body.map(|b| b.to_string()))
    };
    let user = b("POST", "/Users", Some(entra_user_body("bee@other.example"))).expect(201).id();
    let group = b("POST", "/Groups", Some(entra_group_body("Their group"))).expect(201).id();
    // A's token on B's endpoint: 401 on every route.
    for (method, path) in [
        ("GET", "/Users".to_string()),
        ("GET", format!("/Users/{user}")),
        ("GET", format!("/Groups/{group}")),
        ("GET", "/ServiceProviderConfig".to_string()),
        ("DELETE", format!("/Users/{user}")),
        ("POST", "/.search".to_string()),
    ] {
        let body = (method == "POST").then(|| "{}".to_string());
        let res = app.raw(method, &format!("/scim/v2/other{path}"), Some(&app.token), &[], body);
        assert_eq!(res.status, 401, "{method} {path}");
    }
    // B's ids in A's URLs: 404; A's lists and filters do not show them.
    app.get(&format!("/Users/{user}")).expect_error(404, None);
    app.get(&format!("/Groups/{group}")).expect_error(404, None);
    app.patch(
        &format!("/Groups/{group}"),
        serde_json::json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
    )
    .expect_error(404, None);
    assert_eq!(
        app.get(&format!("/Users?filter={}", enc("userName eq \"bee@other.example\""))).expect(200).body
            ["totalResults"],
        0
    );
    assert_eq!(app.get("/Groups").expect(200).body["totalResults"], 0);
    // A's own group cannot take B's user as a member.
    let mine = app.entra_group("Mine");
    let res = app
        .patch(
            &format!("/Groups/{mine}?attributes=members"),
            serde_json::json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
        )
        .expect(200);
    assert!(res.body.get("members").is_none_or(|m| m.as_array().unwrap().is_empty()), "{}", res.text);
    assert_eq!(app.count("group_members"), 0);
    // The access API: A's key cannot read B's users.
    let api = |tenant: &str, token: &str| {
        app.raw("GET", &format!("/api/v1/{tenant}/users/bee%40other.example/access"), Some(token), &[], None)
    };
    assert_eq!(api("other", &app.token).status, 401);
    assert_eq!(api("default", &app.token).status, 404);
    assert_eq!(api("other", &other_token).status, 200);
    // The portal: A's administrator gets 404 for B's pages and ids.
    let portal = Portal::from_app(app, "default", "a@example.com");
    portal.page("/admin/other/settings/users").expect(404);
    portal.page(&format!("/admin/default/settings/users/{user}")).expect(404);
    portal.page(&format!("/admin/default/settings/groups/{group}")).expect(404);
}
