//! Sign in with Microsoft Entra ID: the SSO Config page, the OpenID Connect
//! round trip against a loopback provider that signs its own ID tokens, and
//! sessions of provisioned users re-checked against the directory on every
//! request.

mod common;
use common::*;

use rocket::http::Cookie;
use scim_portal::domain::{access, applications, groups, roles, sso, tenants, users};
use serde_json::json;

use provider::Provider;

const CLIENT_ID: &str = "portal-client-id";
const CLIENT_SECRET: &str = "Entra~Secret.Value_0123456789abcdefXYZ1";

/// Configures SSO of `default` directly (no discovery fetch), with `claim`.
fn configure(app: &TestApp, issuer: &str, claim: &str, enabled: bool) {
    let input = sso::SsoInput {
        enabled,
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        claim: claim.into(),
    };
    let secrets = app.state().secrets.clone();
    app.state()
        .db
        .write(|tx| sso::save(tx, tenants::get_by_slug(tx, "default")?.id, &input, &secrets))
        .expect("SSO configured");
}

/// A group of `default` with `members` (SCIM ids) and, optionally, a role by name.
fn group_with_role(app: &TestApp, name: &str, members: &[&str], role: Option<&str>) -> String {
    let id = app.entra_group(name);
    let value: Vec<_> = members.iter().map(|m| json!({"value": m})).collect();
    app.patch(&format!("/Groups/{id}"), json!([{"op": "add", "path": "members", "value": value}])).expect(204);
    set_role(app, &id, role);
    id
}

/// Gives a group a role (None: takes it away), as an administrator would.
fn set_role(app: &TestApp, group: &str, role: Option<&str>) {
    app.state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "default")?;
            let g = groups::get(tx, t.id, group)?;
            let role = match role {
                Some(name) => Some(roles::find_by_name(tx, t.id, name)?.expect("role exists").id),
                None => None,
            };
            access::assign_role(tx, t.id, &g, role)
        })
        .expect("role assigned");
}

/// A session cookie value for a provisioned user, started through the domain.
fn user_session(app: &TestApp, user_name: &str) -> String {
    let secret = app
        .state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "default")?;
            let user = users::find_by_user_name(tx, t.id, user_name)?.expect("user provisioned");
            sso::start_session(tx, t.id, &user)
        })
        .expect("session started");
    format!("u.{secret}")
}

/// GETs a page with a given session cookie.
fn get_as(app: &TestApp, session: &str, uri: &str) -> HtmlRes {
    HtmlRes::from(
        app.client.get(uri.to_string()).private_cookie(Cookie::new("scimp_session", session.to_string())).dispatch(),
    )
}

/// The tenant's sign-in attempts with SSO, newest first: (method, identity, outcome, reason).
fn sso_events(app: &TestApp) -> Vec<(String, String, String, String)> {
    events(app).into_iter().filter(|e| e.0 == "sso").collect()
}

/// The tenant's sign-in attempts, newest first: (method, identity, outcome, reason).
fn events(app: &TestApp) -> Vec<(String, String, String, String)> {
    app.state()
        .db
        .read(|tx| {
            let t = tenants::get_by_slug(tx, "default")?;
            scim_portal::domain::sign_in_events::recent(tx, t.id, 100)
        })
        .unwrap()
        .into_iter()
        .map(|e| (e.method, e.identity, e.outcome, e.reason))
        .collect()
}

/// The query parameters of a URL.
fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Starts an SSO sign-in on `portal`'s browser; tells the provider the nonce
/// and PKCE challenge it will see; returns the state.
fn start(portal: &Portal, op: &Provider, next: &str) -> String {
    let res = portal.page(&format!("/admin/default/sso/start?next={}", enc(next))).expect(303);
    let location = res.location.expect("a redirect to the provider");
    assert!(location.starts_with(&format!("{}/authorize?", op.issuer)), "{location}");
    let q = query(&location);
    op.expect(&q["nonce"], &q["code_challenge"]);
    q["state"].clone()
}

fn callback(portal: &Portal, state: &str) -> HtmlRes {
    portal.page(&format!("/admin/default/sso/callback?code=the-code&state={}", enc(state)))
}

/// A signed-in administrator's portal whose browser then signs in with SSO.
fn portal_with_sso(claim: &str) -> (Portal, Provider) {
    let portal = Portal::new();
    let op = Provider::start();
    configure(&portal.app, &op.issuer, claim, true);
    (portal, op)
}

#[test]
fn bad_configurations_re_render_with_the_message_and_save_nothing() {
    let portal = Portal::new();
    let form = |issuer: &str, client_id: &str, secret: &str, claim: &str, enabled: bool| {
        let mut fields =
            vec![("issuer", issuer), ("client_id", client_id), ("client_secret", secret), ("claim", claim)];
        if enabled {
            fields.push(("enabled", "on"));
        }
        portal.submit("/admin/default/settings/sso", &fields)
    };
    let cases = [
        ("http://login.example.com/t/v2.0", "cid", "a secret", "preferred_username", true, "https://"),
        ("not a url", "cid", "", "preferred_username", false, "not a URL"),
        ("https://login.example.com/t/v2.0", "  ", "", "preferred_username", false, "client) id"),
        ("https://login.example.com/t/v2.0", "cid", "", "upn", false, "choose preferred_username"),
        ("https://login.example.com/t/v2.0", "cid", "", "email", true, "enter the client secret"),
        // Loopback port 9 refuses connections: the discovery document cannot be fetched.
        ("http://127.0.0.1:9/t/v2.0", "cid", "typed secret value", "oid", true, "could not be read"),
    ];
    for (issuer, client_id, secret, claim, enabled, message) in cases {
        let res = form(issuer, client_id, secret, claim, enabled).expect(400);
        let text = res.text();
        assert!(text.contains(message), "{message}: {}", res.html);
        assert!(text.contains("Nothing was saved"), "{}", res.html);
        assert!(text.contains(&format!("value=\"{issuer}\"")), "issuer kept: {}", res.html);
        if !secret.is_empty() {
            assert!(!text.contains(secret), "the secret is never echoed");
        }
        if enabled {
            assert!(res.html.contains("id=\"sso-enabled\" name=\"enabled\" type=\"checkbox\" value=\"on\" checked"));
        }
        assert_eq!(portal.app.count("sso_configs"), 0, "{message}");
    }
    let kept = form("http://127.0.0.1:9/t/v2.0", "cid-typed", "", "oid", false).expect(303);
    assert_eq!(kept.location.as_deref(), Some("/admin/default/settings/sso"));
    assert_eq!(portal.app.count("sso_configs"), 1, "a loopback issuer may be saved while sign-in is off");
}

#[test]
fn saving_shows_a_confirmation_and_a_blank_secret_keeps_the_stored_one() {
    let portal = Portal::new();
    let op = Provider::start();
    let save = |secret: &str, claim: &str| {
        portal.submit(
            "/admin/default/settings/sso",
            &[
                ("issuer", &op.issuer),
                ("client_id", CLIENT_ID),
                ("client_secret", secret),
                ("claim", claim),
                ("enabled", "on"),
            ],
        )
    };
    save(CLIENT_SECRET, "preferred_username").expect(303);
    assert_eq!(op.discovery_fetches(), 1, "turning sign-in on fetched the discovery document");
    let page = portal.page("/admin/default/settings/sso").expect(200);
    assert!(page.html.contains("id=\"sso-saved\""), "{}", page.html);
    assert!(page.text().contains("Sign-in with Microsoft is on"));
    assert!(page.text().contains("ending in <code>XYZ1</code>"), "{}", page.html);
    assert!(!page.html.contains(CLIENT_SECRET));
    assert!(page.text().contains(
        "<code id=\"sso-redirect-url\" class=\"copy-value\">http://scim.test/admin/default/sso/callback</code>"
    ));
    assert!(page.html.contains("data-copy=\"#sso-redirect-url\""));
    // The confirmation is shown once.
    assert!(!portal.page("/admin/default/settings/sso").html.contains("id=\"sso-saved\""));

    save("", "email").expect(303);
    let secrets = portal.app.state().secrets.clone();
    let provider = portal
        .app
        .state()
        .db
        .read(|tx| sso::provider(tx, tenants::get_by_slug(tx, "default")?.id, &secrets))
        .unwrap()
        .ready()
        .expect("on");
    assert_eq!(provider.client_secret, CLIENT_SECRET, "a blank secret keeps the stored one");
    assert_eq!(provider.claim, sso::Claim::Email);
    assert!(portal.page("/admin/default/settings/sso").html.contains("<option value=\"email\" selected>"));
}

#[test]
fn the_client_secret_is_never_shown_nor_stored_in_clear() {
    let portal = Portal::new();
    configure(&portal.app, "https://login.microsoftonline.com/t/v2.0", "preferred_username", false);
    let page = portal.page("/admin/default/settings/sso").expect(200);
    assert!(!page.html.contains(CLIENT_SECRET) && !page.html.contains("0123456789abcdef"));
    assert!(page.html.contains("type=\"password\" value=\"\""));
    // Every byte the server wrote: the database, its WAL, the key file.
    let mut files = vec![portal.app.dir.path().to_path_buf()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(!bytes.windows(CLIENT_SECRET.len()).any(|w| w == CLIENT_SECRET.as_bytes()), "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 2, "the database files were read");
}

#[test]
fn the_sso_config_form_needs_its_csrf_token_and_another_tenants_page_is_404() {
    let portal = Portal::new();
    let fields = [("issuer", "https://login.example.com/t/v2.0"), ("client_id", "c"), ("claim", "oid")];
    portal.form("POST", "/admin/default/settings/sso", &fields).expect(403);
    let mut forged = vec![("csrf", "forged")];
    forged.extend_from_slice(&fields);
    portal.form("POST", "/admin/default/settings/sso", &forged).expect(403);
    assert_eq!(portal.app.count("sso_configs"), 0);

    portal.app.new_tenant("acme");
    portal.page("/admin/acme/settings/sso").expect(404);
    portal.submit("/admin/acme/settings/sso", &fields).expect(404);
    assert_eq!(portal.app.count("sso_configs"), 0);
    // The section is in the navigation.
    assert!(portal.page("/admin/default/settings/scim").text().contains("href=\"/admin/default/settings/sso\""));
}

#[test]
fn with_sso_off_start_and_callback_are_404_and_the_sign_in_page_offers_only_passwords() {
    let app = TestApp::new();
    let login = HtmlRes::from(app.client.get("/admin/default/login").dispatch()).expect(200);
    assert!(!login.html.contains("sso-sign-in"));
    for uri in ["/admin/default/sso/start", "/admin/default/sso/callback?code=x&state=y"] {
        let res = HtmlRes::from(app.client.get(uri).dispatch()).expect(404);
        assert!(res.text().contains("not set up"), "{}", res.html);
    }
    configure(&app, "https://login.microsoftonline.com/t/v2.0", "preferred_username", false);
    HtmlRes::from(app.client.get("/admin/default/sso/start").dispatch()).expect(404);
    HtmlRes::from(app.client.get("/admin/nope/sso/start").dispatch()).expect(404);
    assert_eq!(app.count("sign_in_events"), 0);
}

/// Regression: with the client secret sealed under another `secret_key` (the
/// database moved without its key), the sign-in page still offers Microsoft,
/// but start and callback answered 404 "not set up" and recorded nothing, so
/// people were told SSO was off and administrators saw no trace of it.
#[test]
fn with_sso_on_but_its_secret_unreadable_sign_in_says_so_and_is_recorded() {
    let portal = Portal::new();
    let op = Provider::start();
    let input = sso::SsoInput {
        enabled: true,
        issuer: op.issuer.clone(),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
        claim: "preferred_username".into(),
    };
    let other = scim_portal::secretbox::SecretBox::new(b"the secret_key of another server");
    portal
        .app
        .state()
        .db
        .write(|tx| sso::save(tx, tenants::get_by_slug(tx, "default")?.id, &input, &other))
        .expect("SSO configured under another key");
    assert!(portal.page("/admin/default/login").text().contains("id=\"sso-sign-in\""), "still offered");
    for uri in ["/admin/default/sso/start", "/admin/default/sso/callback?code=c&state=s"] {
        let res = portal.page(uri).expect(503);
        assert!(res.html.contains("id=\"sign-in-refused\""), "{}", res.html);
        assert!(res.text().contains("can no longer read its client secret"), "{}", res.html);
        assert!(!res.text().contains("not set up"), "{}", res.html);
    }
    assert_eq!(op.discovery_fetches(), 0, "nothing was asked of the provider");
    let events = sso_events(&portal.app);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|(_, _, outcome, why)| outcome == "refused" && why.contains("secret_key")));
    let page = portal.page("/admin/default/settings/sso").expect(200).text();
    assert!(page.contains("can no longer be read") && page.contains("can no longer read its client secret"));
    // Entering the secret again (under this server's key) makes it work.
    configure(&portal.app, &op.issuer, "preferred_username", true);
    portal.page("/admin/default/sso/start").expect(303);
}

#[test]
fn start_sends_the_browser_to_the_provider_with_pkce_state_and_nonce() {
    let app = TestApp::new();
    let op = Provider::start();
    configure(&app, &op.issuer, "preferred_username", true);
    let login = HtmlRes::from(app.client.get("/admin/default/login?next=/admin/default/settings/users").dispatch());
    assert!(
        login.text().contains(
            "id=\"sso-sign-in\" class=\"button sso\" href=\"/admin/default/sso/start?next=/admin/default/settings/users\">Sign in with Microsoft</a>"
        ),
        "{}",
        login.html
    );
    let res = HtmlRes::from(app.client.get("/admin/default/sso/start?next=/admin/default/settings/users").dispatch())
        .expect(303);
    let location = res.location.clone().unwrap();
    let q = query(&location);
    assert!(location.starts_with(&format!("{}/authorize?", op.issuer)));
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], "http://scim.test/admin/default/sso/callback");
    assert_eq!(q["scope"].split(' ').collect::<Vec<_>>(), ["openid", "profile", "email"]);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 22 && q["nonce"].len() >= 22);
    let cookie = res.header("Set-Cookie").expect("the flow cookie");
    assert!(cookie.starts_with("scimp_oidc="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/admin/default/sso", "Max-Age=600"] {
        assert!(cookie.contains(part), "{part}: {cookie}");
    }
    assert!(!cookie.contains(&q["state"]) && !cookie.contains(&q["nonce"]), "private: encrypted");
    // A second start gets fresh values.
    let again = query(&HtmlRes::from(app.client.get("/admin/default/sso/start").dispatch()).location.unwrap());
    assert_ne!(again["state"], q["state"]);
    assert_ne!(again["nonce"], q["nonce"]);
}

#[test]
fn a_callback_with_a_missing_or_tampered_state_or_a_provider_error_is_refused_and_recorded() {
    let (portal, op) = portal_with_sso("preferred_username");
    let refused = |res: HtmlRes, status: u16, why: &str| {
        let res = res.expect(status);
        assert!(res.html.contains("id=\"sign-in-refused\""), "{}", res.html);
        assert!(res.text().contains(why), "{why}: {}", res.html);
    };
    // No sign-in started in this browser.
    refused(callback(&portal, "anything"), 400, "not started in this browser");
    // Tampered state; the flow is then spent, so the right state no longer works either.
    let state = start(&portal, &op, "/admin/default/settings/scim");
    refused(callback(&portal, &format!("{state}x")), 400, "state mismatch");
    refused(callback(&portal, &state), 400, "already");
    refused(portal.page("/admin/default/sso/callback?code=c"), 400, "not started in this browser");
    let state = start(&portal, &op, "/admin/default/settings/scim");
    refused(portal.page(&format!("/admin/default/sso/callback?code=c&state={}", &state[..10])), 400, "state mismatch");
    // The provider says no.
    let state = start(&portal, &op, "/admin/default/settings/scim");
    refused(
        portal.page(&format!(
            "/admin/default/sso/callback?state={}&error=access_denied&error_description={}",
            enc(&state),
            enc("AADSTS50105: not assigned")
        )),
        403,
        "did not sign you in (access_denied: AADSTS50105: not assigned)",
    );
    // No code.
    let state = start(&portal, &op, "/admin/default/settings/scim");
    refused(portal.page(&format!("/admin/default/sso/callback?state={}", enc(&state))), 400, "no authorization code");
    assert_eq!(op.token_requests().len(), 0, "no code was ever exchanged");
    assert_eq!(portal.app.count("user_sessions"), 0);
    let events = sso_events(&portal.app);
    assert_eq!(events.len(), 7, "{events:?}");
    assert!(events.iter().all(|(method, _, outcome, _)| method == "sso" && outcome == "refused"));
    let page = portal.page("/admin/default/settings/sso").text();
    assert!(page.contains("state mismatch") && page.contains("AADSTS50105"), "listed on SSO Config");
    // The administrator's own session was untouched.
    portal.page("/admin/default/settings/scim").expect(200);
}

#[test]
fn an_administrator_signs_in_with_microsoft_end_to_end() {
    let (portal, op) = portal_with_sso("preferred_username");
    let app = &portal.app;
    let ada = app.entra_user("ada@example.com");
    group_with_role(app, "Portal admins", &[&ada], Some("System Administrator"));
    op.set_claims(json!({"preferred_username": "ADA@example.com", "oid": "oid-ada"}));

    let state = start(&portal, &op, "/admin/default/settings/users");
    let res = callback(&portal, &state).expect(303);
    assert_eq!(res.location.as_deref(), Some("/admin/default/settings/users"), "back where they asked to go");
    assert!(res.headers.iter().any(|(n, v)| n == "Set-Cookie" && v.starts_with("scimp_session=")), "{res:?}");
    assert_eq!(app.count("sessions"), 0, "the browser's previous (administrator) session ended");
    assert_eq!(app.count("user_sessions"), 1);

    // The code exchange: PKCE verifier sent, client authenticated, code and redirect URI as registered.
    let requests = op.token_requests();
    assert_eq!(requests.len(), 1);
    let (authorization, body) = &requests[0];
    assert!(authorization.starts_with("Basic "), "{authorization}");
    let form: std::collections::HashMap<_, _> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["code"], "the-code");
    assert_eq!(form["redirect_uri"], "http://scim.test/admin/default/sso/callback");
    assert_eq!(provider::s256(&form["code_verifier"]), op.challenge());

    let page = portal.page("/admin/default/settings/users").expect(200);
    assert!(page.html.contains("id=\"signed-in-as\" title=\"Signed in\">ada@example.com</span>"), "{}", page.html);
    assert!(page.text().contains("href=\"/admin/default/me\""), "an SSO user has My access");
    let me = portal.page("/admin/default/me").expect(200);
    assert!(me.html.contains("<strong id=\"my-role\">System Administrator</strong>"), "{}", me.html);
    assert!(me.text().contains("Granted by your group <strong>Portal admins</strong>"));
    let events = events(app);
    assert_eq!(events[0], ("sso".into(), "ada@example.com".into(), "signed_in".into(), String::new()));

    // CSRF works the same for an SSO user, and sign-out ends their session.
    let csrf = portal.csrf_of("/admin/default/settings/api-keys");
    portal
        .form("POST", "/admin/default/settings/api-keys", &[("csrf", "forged"), ("label", "x"), ("expires", "")])
        .expect(403);
    portal
        .form("POST", "/admin/default/settings/api-keys", &[("csrf", &csrf), ("label", "By Ada"), ("expires", "")])
        .expect(201);
    portal.form("POST", "/admin/default/logout", &[("csrf", &csrf)]).expect(303);
    assert_eq!(app.count("user_sessions"), 0);
    portal.page("/admin/default/settings/scim").expect(303);
}

#[test]
fn a_user_without_the_permission_signs_in_to_my_access() {
    let (portal, op) = portal_with_sso("preferred_username");
    let app = &portal.app;
    let bob = app.entra_user("bob@example.com");
    let readers = group_with_role(app, "Readers", &[&bob], None);
    app.state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "default")?;
            let input = applications::ApplicationInput {
                name: "Intranet".into(),
                url: "https://intranet.example.com".into(),
                description: String::new(),
            };
            let a = applications::create(tx, t.id, &input)?;
            access::set_applications(tx, t.id, &groups::get(tx, t.id, &readers)?, &[a.id])
        })
        .unwrap();
    op.set_claims(json!({"preferred_username": "bob@example.com"}));
    let state = start(&portal, &op, "/admin/default/settings/users");
    assert_eq!(callback(&portal, &state).expect(303).location.as_deref(), Some("/admin/default/me"));
    let me = portal.page("/admin/default/me").expect(200);
    assert!(me.html.contains("<h1>My access</h1>"));
    assert!(me.html.contains("<strong id=\"my-role\">Content Creator</strong>"), "{}", me.html);
    assert!(me.text().contains("none of your groups grants a role"));
    assert!(me.text().contains("<ul id=\"my-applications\""));
    assert!(me.text().contains("Intranet</a></strong> — via Readers</li>"), "{}", me.html);
    assert!(!me.html.contains("class=\"sidenav\""), "no System Settings navigation");
    // System Settings sends them to My access, forms included; nothing is changed.
    let res = portal.page("/admin/default/settings/scim").expect(303);
    assert_eq!(res.location.as_deref(), Some("/admin/default/me"));
    let keys = app.count("api_keys");
    portal.submit("/admin/default/settings/api-keys", &[("label", "sneaky"), ("expires", "")]).expect(303);
    assert_eq!(app.count("api_keys"), keys);
}

#[test]
fn unknown_suspended_and_ambiguous_people_are_refused_with_the_reason() {
    let (portal, op) = portal_with_sso("email");
    let app = &portal.app;
    let gone = app.entra_user("gone@example.com");
    app.patch(&format!("/Users/{gone}"), json!([{"op": "replace", "path": "active", "value": false}])).expect(200);
    for (name, email) in [("one@example.com", "shared@example.com"), ("two@example.com", "shared@example.com")] {
        let mut body = entra_user_body(name);
        body["emails"] = json!([{"type": "work", "primary": true, "value": email}]);
        app.post("/Users", &body).expect(201);
    }
    for (claims, why) in [
        (json!({"email": "nobody@example.com"}), "No user with an e-mail address “nobody@example.com” is provisioned"),
        (json!({"email": "gone@example.com"}), "“gone@example.com” is suspended in Microsoft Entra ID"),
        (json!({"email": "shared@example.com"}), "More than one provisioned user"),
        (json!({"preferred_username": "gone@example.com"}), "did not send the email claim"),
    ] {
        op.set_claims(claims);
        let state = start(&portal, &op, "/admin/default/settings/scim");
        let res = callback(&portal, &state).expect(403);
        let text = res.text();
        assert!(text.contains("You cannot sign in here") && text.contains(why), "{why}: {}", res.html);
        assert!(res.html.contains("id=\"sign-in-refused\""));
    }
    assert_eq!(app.count("user_sessions"), 0);
    let events = sso_events(app);
    assert_eq!(events.len(), 4);
    assert_eq!(events[2].1, "gone@example.com");
    assert!(events.iter().all(|e| e.2 == "refused"));
    portal.page("/admin/default/settings/scim").expect(200);
}

#[test]
fn other_claims_match_external_id_and_e_mail() {
    let (portal, op) = portal_with_sso("oid");
    let app = &portal.app;
    let mut body = entra_user_body("carol@example.com");
    body["externalId"] = json!("8a1c0000-oid-carol");
    let carol = app.post("/Users", &body).expect(201).id();
    group_with_role(app, "Admins", &[&carol], Some("System Administrator"));
    op.set_claims(json!({"oid": "8a1c0000-oid-carol", "preferred_username": "someone-else@example.com"}));
    let state = start(&portal, &op, "/admin/default/settings/scim");
    callback(&portal, &state).expect(303);
    assert!(portal.page("/admin/default/settings/scim").expect(200).html.contains(">carol@example.com</span>"));

    configure(app, &op.issuer, "email", true);
    op.set_claims(json!({"email": "CAROL@example.com"}));
    let state = start(&portal, &op, "/admin/default/settings/scim");
    callback(&portal, &state).expect(303);
    assert_eq!(app.count("user_sessions"), 1, "the second sign-in replaced the first session");
}

#[test]
fn id_tokens_that_fail_verification_are_refused() {
    let (portal, op) = portal_with_sso("preferred_username");
    let app = &portal.app;
    app.entra_user("ada@example.com");
    for (claims, signing, why) in [
        (json!({"nonce": "not-the-one-sent"}), 0, "nonce"),
        (json!({"aud": "another-client"}), 0, "audience"),
        (json!({"iss": "https://evil.example"}), 0, "issuer"),
        (json!({"exp": 1_000_000_000}), 0, "Expired"),
        // Signed by a key the provider does not publish, under the published key's id.
        (json!({}), provider::FORGED, "Signature"),
    ] {
        let mut claims = claims;
        claims["preferred_username"] = json!("ada@example.com");
        op.set_claims(claims);
        op.sign_with(signing);
        let state = start(&portal, &op, "/admin/default/settings/scim");
        let res = callback(&portal, &state).expect(403);
        assert!(res.text().contains("the ID token could not be verified"), "{why}: {}", res.html);
        assert!(res.text().contains(why), "{why}: {}", res.html);
    }
    assert_eq!(app.count("user_sessions"), 0);
    assert_eq!(sso_events(app).len(), 5);
}

#[test]
fn keys_rotated_at_the_provider_are_fetched_again_once() {
    let (portal, op) = portal_with_sso("preferred_username");
    let app = &portal.app;
    let ada = app.entra_user("ada@example.com");
    group_with_role(app, "Admins", &[&ada], Some("System Administrator"));
    op.set_claims(json!({"preferred_username": "ada@example.com"}));
    let state = start(&portal, &op, "/admin/default/settings/scim");
    assert_eq!(op.jwks_fetches(), 1, "discovery fetched the keys");
    // The provider rotates: a new key, published and signing.
    op.rotate();
    callback(&portal, &state).expect(303);
    assert_eq!(op.jwks_fetches(), 2, "the unknown key id made the keys be fetched once more");
    assert_eq!(app.count("user_sessions"), 1);
}

#[test]
fn an_sso_administrator_suspended_in_entra_is_refused_on_the_next_request() {
    let app = TestApp::new();
    let ada = app.entra_user("ada@example.com");
    group_with_role(&app, "Admins", &[&ada], Some("System Administrator"));
    let first = user_session(&app, "ada@example.com");
    let second = user_session(&app, "ada@example.com");
    get_as(&app, &first, "/admin/default/settings/scim").expect(200);
    get_as(&app, &second, "/admin/default/settings/users").expect(200);

    app.patch(&format!("/Users/{ada}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    let res = get_as(&app, &second, "/admin/default/me").expect(403);
    assert!(res.text().contains("“ada@example.com” is suspended in Microsoft Entra ID"), "{}", res.html);
    assert!(res.html.contains("id=\"sign-in-refused\""));
    let cleared = res.header("Set-Cookie").expect("the cookie is cleared");
    assert!(cleared.starts_with("scimp_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(app.count("user_sessions"), 0, "every session of the user ended");
    let res = get_as(&app, &first, "/admin/default/settings/scim").expect(403);
    assert!(res.text().contains("Your session has ended"), "{}", res.html);
    assert!(events(&app).iter().any(|e| e.1 == "ada@example.com" && e.3.contains("suspended")));
}

#[test]
fn a_user_in_no_role_bearing_group_is_sent_to_my_access() {
    let app = TestApp::new();
    let bob = app.entra_user("bob@example.com");
    group_with_role(&app, "Staff", &[&bob], None);
    let session = user_session(&app, "bob@example.com");
    for page in ["/settings/scim", "/settings/api-keys", "/settings/users", "/settings/sso", ""] {
        let res = get_as(&app, &session, &format!("/admin/default{page}")).expect(303);
        assert_eq!(res.location.as_deref(), Some("/admin/default/me"), "{page}");
    }
    let me = get_as(&app, &session, "/admin/default/me").expect(200);
    assert!(me.html.contains("<strong id=\"my-role\">Content Creator</strong>"), "{}", me.html);
    assert!(me
        .html
        .contains("id=\"my-role-reason\">The default role (Content Creator): none of your groups grants a role."));
    assert!(me.html.contains("None: no group of yours grants an application."));
    // Another tenant's pages do not exist for them.
    app.new_tenant("acme");
    get_as(&app, &session, "/admin/acme/me").expect(404);
    get_as(&app, &session, "/admin/acme/settings/scim").expect(404);
}

#[test]
fn removing_the_groups_role_takes_system_settings_away_on_the_next_request() {
    let app = TestApp::new();
    let ada = app.entra_user("ada@example.com");
    let admins = group_with_role(&app, "Admins", &[&ada], Some("System Administrator"));
    let session = user_session(&app, "ada@example.com");
    get_as(&app, &session, "/admin/default/settings/roles").expect(200);
    set_role(&app, &admins, Some("Publisher"));
    let res = get_as(&app, &session, "/admin/default/settings/roles").expect(303);
    assert_eq!(res.location.as_deref(), Some("/admin/default/me"));
    let me = get_as(&app, &session, "/admin/default/me").expect(200);
    assert!(me.html.contains("<strong id=\"my-role\">Publisher</strong>"), "{}", me.html);
    assert!(me.text().contains("Granted by your group <strong>Admins</strong>"));
    set_role(&app, &admins, Some("System Administrator"));
    get_as(&app, &session, "/admin/default/settings/roles").expect(200);
    set_role(&app, &admins, None);
    get_as(&app, &session, "/admin/default/settings/roles").expect(303);
    assert_eq!(app.count("user_sessions"), 1, "demoted, not signed out");
}

#[test]
fn a_user_deleted_over_scim_is_refused() {
    let app = TestApp::new();
    let ada = app.entra_user("ada@example.com");
    group_with_role(&app, "Admins", &[&ada], Some("System Administrator"));
    let session = user_session(&app, "ada@example.com");
    get_as(&app, &session, "/admin/default/settings/scim").expect(200);
    app.delete(&format!("/Users/{ada}")).expect(204);
    assert_eq!(app.count("user_sessions"), 0, "deleted with the user");
    for page in ["settings/scim", "me"] {
        let res = get_as(&app, &session, &format!("/admin/default/{page}")).expect(403);
        assert!(res.text().contains("no longer provisioned"), "{}", res.html);
    }
}

#[test]
fn a_local_administrator_on_my_access_goes_to_system_settings() {
    let portal = Portal::new();
    let res = portal.page("/admin/default/me").expect(303);
    assert_eq!(res.location.as_deref(), Some("/admin/default/settings/scim"));
    assert!(!portal.page("/admin/default/settings/scim").text().contains("href=\"/admin/default/me\""));
    // Signed out, My access asks for a sign-in like every other page.
    portal.form("POST", "/admin/default/logout", &[("csrf", &portal.csrf)]).expect(303);
    let res = portal.page("/admin/default/me").expect(303);
    assert_eq!(res.location.as_deref(), Some("/admin/default/login?next=/admin/default/me"));
}

#[test]
fn password_sign_ins_are_recorded_without_the_password() {
    let portal = Portal::new();
    portal.form("POST", "/admin/default/logout", &[("csrf", &portal.csrf)]);
    portal
        .form("POST", "/admin/default/login", &[("email", "admin@example.com"), ("password", "not the password 1")])
        .expect(401);
    portal
        .form("POST", "/admin/default/login", &[("email", "admin@example.com"), ("password", ADMIN_PASSWORD)])
        .expect(303);
    let events = events(&portal.app);
    assert_eq!(events[0], ("password".into(), "admin@example.com".into(), "signed_in".into(), String::new()));
    assert_eq!(events[1].2, "refused");
    assert!(events[1].3.contains("do not match"));
    assert!(events.iter().all(|e| !e.3.contains("not the password") && !e.3.contains(ADMIN_PASSWORD)));
    let page = portal.page("/admin/default/settings/sso").expect(200).text();
    assert!(page.contains("<td>Password</td>") && page.contains("signed in"), "{page}");
}

/// A loopback OpenID Provider: discovery, keys and a token endpoint that
/// answers any code with an ID token signed by a test key. Tests set the
/// claims, the signing key, and read what the relying party sent.
mod provider {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use openidconnect::core::{CoreJsonWebKey, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
    use openidconnect::{JsonWebKeyId, JsonWebKeySet, PrivateSigningKey};
    use serde_json::{json, Value};
    use sha2::{Digest, Sha256};

    /// Test-only RSA keys (PKCS#1), never used anywhere else.
    const KEYS: [&str; 2] =
        [include_str!("fixtures/sso/test-signing-key-1.pem"), include_str!("fixtures/sso/test-signing-key-2.pem")];
    /// Sign with key 2 but claim key 1's id: a forged signature.
    pub const FORGED: usize = 99;

    fn key(index: usize, kid: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(KEYS[index], Some(JsonWebKeyId::new(kid.into()))).unwrap()
    }

    #[derive(Default)]
    struct State {
        claims: Value,
        nonce: String,
        challenge: String,
        /// Which key signs: 0, 1, or FORGED.
        signing: usize,
        /// Keys in the JWKS.
        published: Vec<usize>,
        token_requests: Vec<(String, String)>,
        discovery_fetches: usize,
        jwks_fetches: usize,
    }

    pub struct Provider {
        pub issuer: String,
        state: Arc<Mutex<State>>,
    }

    pub fn s256(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    impl Provider {
        pub fn start() -> Provider {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let issuer = format!("http://{}", listener.local_addr().unwrap());
            let state = Arc::new(Mutex::new(State { published: vec![0], ..State::default() }));
            let (shared, base) = (state.clone(), issuer.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    serve(stream, &base, &shared);
                }
            });
            Provider { issuer, state }
        }

        /// The nonce and PKCE challenge of the authorization request the browser brings.
        pub fn expect(&self, nonce: &str, challenge: &str) {
            let mut s = self.state.lock().unwrap();
            s.nonce = nonce.into();
            s.challenge = challenge.into();
        }
        /// Claims of the next ID tokens, over the defaults (iss, aud, sub, iat, exp, nonce, tid).
        pub fn set_claims(&self, claims: Value) {
            self.state.lock().unwrap().claims = claims;
        }
        pub fn sign_with(&self, key: usize) {
            self.state.lock().unwrap().signing = key;
        }
        /// Publishes key 2 next to key 1 and signs with it from now on.
        pub fn rotate(&self) {
            let mut s = self.state.lock().unwrap();
            s.published = vec![0, 1];
            s.signing = 1;
        }
        pub fn challenge(&self) -> String {
            self.state.lock().unwrap().challenge.clone()
        }
        /// (Authorization header, form body) of each token request.
        pub fn token_requests(&self) -> Vec<(String, String)> {
            self.state.lock().unwrap().token_requests.clone()
        }
        pub fn discovery_fetches(&self) -> usize {
            self.state.lock().unwrap().discovery_fetches
        }
        pub fn jwks_fetches(&self) -> usize {
            self.state.lock().unwrap().jwks_fetches
        }
    }

    fn kid(index: usize) -> String {
        format!("key-{}", index + 1)
    }

    fn id_token(s: &State, issuer: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": issuer, "aud": super::CLIENT_ID, "sub": "subject-1", "iat": now, "exp": now + 600,
            "nonce": s.nonce, "tid": "directory-id",
        });
        for (k, v) in s.claims.as_object().into_iter().flatten() {
            claims[k] = v.clone();
        }
        let (signer, key_id) = match s.signing {
            FORGED => (key(1, &kid(0)), kid(0)),
            i => (key(i, &kid(i)), kid(i)),
        };
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": key_id});
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = signer.sign(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn serve(stream: TcpStream, issuer: &str, state: &Mutex<State>) {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) =
            (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default().to_string());
        let (mut length, mut authorization) = (0, String::new());
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or_default();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = value.trim().to_string(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut s = state.lock().unwrap();
        let (status, answer) = match (method.as_str(), path.as_str()) {
            ("GET", "/.well-known/openid-configuration") => {
                s.discovery_fetches += 1;
                (
                    200,
                    json!({
                        "issuer": issuer,
                        "authorization_endpoint": format!("{issuer}/authorize"),
                        "token_endpoint": format!("{issuer}/token"),
                        "jwks_uri": format!("{issuer}/jwks"),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "scopes_supported": ["openid", "profile", "email"],
                        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                        "code_challenge_methods_supported": ["S256"],
                    }),
                )
            }
            ("GET", "/jwks") => {
                s.jwks_fetches += 1;
                let keys: Vec<CoreJsonWebKey> =
                    s.published.iter().map(|&i| key(i, &kid(i)).as_verification_key()).collect();
                (200, serde_json::to_value(JsonWebKeySet::new(keys)).unwrap())
            }
            ("POST", "/token") => {
                s.token_requests.push((authorization, String::from_utf8_lossy(&body).into_owned()));
                let token = id_token(&s, issuer);
                (
                    200,
                    json!({"access_token": "access-token", "token_type": "Bearer", "expires_in": 3600, "id_token": token}),
                )
            }
            _ => (404, json!({"error": "not_found"})),
        };
        drop(s);
        let text = answer.to_string();
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = reader.into_inner().write_all(response.as_bytes());
    }
}
