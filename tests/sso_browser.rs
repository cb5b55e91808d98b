//! Sign in with Microsoft Entra ID, end to end: the real binary, a real
//! OpenID Provider on loopback (the certified `oidc-provider` package, set up
//! by `tests/oidc/provider.mjs` to issue Entra-shaped ID tokens) and headless
//! Chromium clicking through both.
//!
//! A local administrator sets the tenant up in the portal (API key, a group's
//! role, SSO Config); people are provisioned over SCIM as Entra would. Then:
//! an administrator (System Administrator through a group) lands on System
//! Settings; a Content Creator (no group role) on My access; a suspended
//! person, an unknown one, one who cancels at the provider, a tampered
//! `state`, and ID tokens with a wrong nonce, a wrong audience, an expiry in
//! the past or a bad signature are each refused, and leave nobody signed in;
//! a suspension over SCIM ends a live session on its next request; SSO Config
//! lists the refusals; identifying people by `oid` (externalId) works too.
//! Screenshots go to `target/screenshots/sso-*.png`.
//!
//! Needs chromedriver (Debian's `chromium` and `chromium-driver`), Node.js >=
//! 20.18 and `npm ci --prefix tests/oidc` (`.ci/run` does all three). Without
//! them the test is skipped, unless SCIM_PORTAL_REQUIRE_BROWSER is set (CI
//! sets it), in which case it fails.

#[path = "common/browser.rs"]
mod browser;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use browser::{agent, chromedriver, on_path, scim, skip_unless_required, start_server, tail, Browser, Killed};
use fantoccini::cookies::Cookie;
use fantoccini::Locator;
use serde_json::{json, Value};

const TENANT: &str = "/admin/default";
/// The Entra directory (tenant) id every account's `tid` carries.
const DIRECTORY: &str = "8f3c2a71-5d4e-4b9a-a0c6-2e7f19d4b3a5";
const CLIENT_ID: &str = "0c6d7e8f-3a2b-4c1d-9e8f-7a6b5c4d3e2f";
const CLIENT_SECRET: &str = "Xq8~sso-browser-test-secret.9f2Kc1";

/// A person at the provider: login (= preferred_username = email), oid, pairwise sub, name.
struct Person {
    login: &'static str,
    oid: &'static str,
    sub: &'static str,
    name: &'static str,
}

const ADMIN: Person = Person {
    login: "admin@contoso.test",
    oid: "3b1f6c2e-8a4d-4e7b-9c15-6d2a8f0e4b71",
    sub: "kW3vZr8nT1qXbY5cL0pD7mA2sF9gH4jK6eU1oI3wQzE",
    name: "Adele Vance",
};
const CREATOR: Person = Person {
    login: "creator@contoso.test",
    oid: "c47e9a10-2b5f-4d83-b6e1-9f0a3c7d5e28",
    sub: "pN5bV2xC8zM1aS4dF7gH0jK3lQ6wE9rT2yU5iO8pA1s",
    name: "Christie Cline",
};
const SUSPENDED: Person = Person {
    login: "suspended@contoso.test",
    oid: "5e2d8b4a-9c1f-4a67-8e3b-0d6f2a9c7b14",
    sub: "zX1cV4bN7mQ0wE3rT6yU9iO2pA5sD8fG1hJ4kL7zX0c",
    name: "Sam Suspended",
};
const STRANGER: Person = Person {
    login: "stranger@contoso.test",
    oid: "9a7c5e3b-1d2f-4b8a-a6c4-e2f0d8b6a4c2",
    sub: "qA2wS5eD8rF1tG4yH7uJ0iK3oL6pZ9xC2vB5nM8qW1e",
    name: "Stan Stranger",
};

/// The test OpenID Provider (`node tests/oidc/provider.mjs`).
struct Provider {
    _child: Killed,
    /// `http://127.0.0.1:<port>`, exactly as READY named it.
    issuer: String,
    log: PathBuf,
}

impl Drop for Provider {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- provider log ({}), last lines:\n{}", self.log.display(), tail(&self.log, 40));
        }
    }
}

/// `tests/oidc`: the provider's script and its installed packages.
fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if chromedriver().is_none() {
        return Some("chromedriver not found (apt-get install chromium chromium-driver)".into());
    }
    let Some(node) = on_path("node") else {
        return Some("node not found: the SSO test's OpenID Provider needs Node.js >= 20.18".into());
    };
    let recent = Command::new(node)
        .args(["-e", "process.exit(typeof URL.parse === 'function' ? 0 : 1)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !recent {
        return Some("node is older than 20.18, which tests/oidc (oidc-provider 9) needs".into());
    }
    if !oidc_dir().join("node_modules/oidc-provider/package.json").is_file() {
        return Some("tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc`".into());
    }
    None
}

/// The provider, started but maybe not listening yet.
struct Starting {
    child: Killed,
    ready: std::sync::mpsc::Receiver<String>,
    log: PathBuf,
}

impl Starting {
    /// Waits (up to 20 s: node starts slowly on a busy machine) for READY.
    fn ready(self) -> Provider {
        match self.ready.recv_timeout(Duration::from_secs(20)) {
            Ok(issuer) => Provider { _child: self.child, issuer, log: self.log },
            Err(e) => panic!("the OpenID Provider is not READY ({e}); its log:\n{}", tail(&self.log, 40)),
        }
    }
}

impl Provider {
    /// Starts the provider with one client whose redirect URI is `callback`,
    /// and the four people. Returns at once; [`Starting::ready`] waits for it.
    fn spawn(dir: &Path, callback: &str) -> Starting {
        let accounts: Vec<Value> = [&ADMIN, &CREATOR, &SUSPENDED, &STRANGER]
            .iter()
            .map(|p| {
                json!({
                    "login": p.login, "sub": p.sub, "oid": p.oid, "tid": DIRECTORY,
                    "preferred_username": p.login, "email": p.login, "name": p.name,
                })
            })
            .collect();
        let config = json!({
            "clients": [
                {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback]},
                // Another app registration of the directory: `wrong-audience` names it.
                {"client_id": "a1b2c3d4-0000-4000-8000-0123456789ab", "client_secret": "other",
                 "redirect_uris": ["http://127.0.0.1:9/other"]},
            ],
            "accounts": accounts,
        });
        let config_path = dir.join("op.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log = dir.join("provider.log");
        let mut child = Command::new("node")
            .arg(oidc_dir().join("provider.mjs"))
            .args(["--port", "0", "--config"])
            .arg(&config_path)
            .arg("--verbose")
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("READY ") {
                    let _ = tx.send(issuer.trim().to_string());
                }
            }
        });
        Starting { child: Killed(child), ready: rx, log }
    }

    /// Makes the ID token of the next token response broken in one way.
    fn tamper(&self, mode: &str) {
        let mut res = agent(true)
            .post(&format!("{}/__test/tamper", self.issuer))
            .header("Content-Type", "application/json")
            .send(json!({ "mode": mode }).to_string())
            .expect("tamper request");
        assert_eq!(res.status().as_u16(), 200, "{}", res.body_mut().read_to_string().unwrap_or_default());
    }

    /// How many token requests the provider has answered (its `--verbose` log).
    fn token_requests(&self) -> usize {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| *l == "POST /token").count()
    }

    /// The tamper mode still waiting for a token response.
    fn pending_tamper(&self) -> String {
        let mut res = agent(true).get(&format!("{}/__test/tamper", self.issuer)).call().expect("tamper mode");
        let body: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        body["mode"].as_str().unwrap().to_string()
    }
}

/// The portal, the provider and the browser of one run.
struct World {
    b: Browser,
    base: String,
    op: Provider,
    /// `{base}/scim/v2/default` and the API key made in the portal.
    tenant_url: String,
    token: String,
}

impl World {
    fn page(&self, path: &str) -> String {
        format!("{}{TENANT}{path}", self.base)
    }

    /// From the portal's sign-in page, through "Sign in with Microsoft", to
    /// the provider's login page, signed in there as `who`. Returns once the
    /// provider has the form submitted; where the browser ends up is the
    /// caller's to check.
    async fn sign_in_with_microsoft(&self, who: &Person) {
        self.b.goto(&self.page("/login")).await;
        self.b.click("#sso-sign-in").await;
        self.at_provider_sign_in(who).await;
    }

    /// On the provider's login page (waiting for it): types `who` and signs in.
    async fn at_provider_sign_in(&self, who: &Person) {
        self.b.fill("login", who.login).await;
        let url = self.b.url().await;
        assert!(url.starts_with(&format!("{}/interaction/", self.op.issuer)), "at the provider: {url}");
        self.b.click("#sign-in").await;
    }

    /// Waits for the refused page; returns its status line and reason.
    async fn refused(&self) -> (String, String) {
        let reason = self.b.text("#sign-in-refused").await;
        let status = self.b.text(".card .status").await;
        assert!(self.b.path().await.starts_with(&format!("{TENANT}/")), "on the portal: {}", self.b.url().await);
        (status, reason)
    }

    /// Nobody is signed in: System Settings sends the browser to the sign-in page.
    async fn assert_signed_out(&self) {
        self.b.goto(&self.page("/settings/scim")).await;
        self.b.wait_path(&format!("{TENANT}/login")).await;
        assert!(!self.b.has("#signed-in-as").await, "no one is named in a top bar");
    }

    /// Signs out with the top bar's button.
    async fn sign_out(&self) {
        self.b.click("form.signout button[type=submit]").await;
        self.b.wait_path(&format!("{TENANT}/login")).await;
        self.assert_signed_out().await;
    }

    fn scim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        scim(&self.tenant_url, &self.token, method, path, body)
    }

    fn set_active(&self, user: &str, active: bool) {
        let (status, body) = self.scim(
            "PATCH",
            &format!("/Users/{user}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": active}],
            })),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], json!(active), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_with_microsoft_in_headless_chromium_against_a_real_openid_provider() {
    if let Some(why) = missing_prerequisite() {
        return skip_unless_required(&why);
    }
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path());
    let callback = format!("{}{TENANT}/sso/callback", server.base);
    // Node takes a few seconds to start: it does so while Chromium does.
    let op = Provider::spawn(dir.path(), &callback);
    let b = Browser::start().await;
    let op = op.ready();
    assert!(op.issuer.starts_with("http://127.0.0.1:") && !op.issuer.ends_with('/'), "{}", op.issuer);
    eprintln!("started in {:.1?}", began.elapsed());

    let mut w = World { b, base: server.base.clone(), op, tenant_url: String::new(), token: String::new() };
    set_up_the_tenant(&mut w, &server.setup_link).await;
    let admin = provision(&w).await;
    configure_sso(&w, &callback).await;
    eprintln!("set up in {:.1?}", began.elapsed());

    administrator_gets_system_settings(&w).await;
    content_creator_gets_my_access(&w).await;
    suspended_and_unknown_people_are_refused(&w).await;
    cancelling_at_the_provider_signs_nobody_in(&w).await;
    a_tampered_state_is_refused(&w).await;
    broken_id_tokens_are_refused(&w).await;
    a_suspension_ends_the_session_on_the_next_request(&w, &admin).await;
    sso_config_lists_the_refusals(&w).await;
    identified_by_object_id(&w).await;
    eprintln!("done in {:.1?}", began.elapsed());

    w.b.close().await;
}

/// The first local administrator, from the printed link; an API key for
/// SCIM, made in the portal as an administrator would.
async fn set_up_the_tenant(w: &mut World, setup_link: &str) {
    let b = &w.b;
    b.goto(setup_link).await;
    b.fill("f-email", "local-admin@example.com").await;
    b.fill("f-password", "a long enough password").await;
    b.fill("f-confirm", "a long enough password").await;
    b.click("form button[type=submit]").await;
    b.wait_path(&format!("{TENANT}/settings/scim")).await;
    w.tenant_url = b.value("tenant-url").await;
    assert_eq!(w.tenant_url, format!("{}/scim/v2/default", w.base));

    b.goto(&w.page("/settings/api-keys")).await;
    b.fill("f-label", "Microsoft Entra ID").await;
    b.click("form.inline-form button[type=submit]").await;
    w.token = b.value("new-secret").await;
    assert!(w.token.starts_with("scimp_"), "{}", w.token);
}

/// Entra's provisioning, over SCIM: three people (userName = the UPN,
/// externalId = the object id), the group "Portal Admins" with the
/// administrator in it, and a suspension. Then, in the portal, the group gets
/// the role that carries the System Settings permission. Returns the
/// administrator's SCIM id.
async fn provision(w: &World) -> String {
    let mut ids = Vec::new();
    for p in [&ADMIN, &CREATOR, &SUSPENDED] {
        let (given, family) = p.name.split_once(' ').unwrap();
        let (status, body) = w.scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "externalId": p.oid, "userName": p.login, "active": true, "displayName": p.name,
                "name": {"givenName": given, "familyName": family},
                "emails": [{"type": "work", "value": p.login, "primary": true}],
            })),
        );
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (status, group) = w.scim(
        "POST",
        "/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "e0d1c2b3-a4f5-4e6d-8c7b-9a0f1e2d3c4b", "displayName": "Portal Admins",
            "members": [{"value": ids[0]}],
        })),
    );
    assert_eq!(status, 201, "{group}");
    w.set_active(&ids[2], false);

    // The portal: the group gets System Administrator, the predefined role
    // with Manage System Settings. The creator is in no group: Content Creator.
    let b = &w.b;
    b.goto(&w.page(&format!("/settings/groups/{}", group["id"].as_str().unwrap()))).await;
    let select = b.wait_for(Locator::Id("f-role")).await;
    select.select_by_label("System Administrator").await.unwrap();
    b.click("#access-form button[type=submit]").await;
    assert!(b.text(".panel.success").await.contains("Saved what"), "role saved");
    ids.remove(0)
}

/// SSO Config, filled in as the administrator would from the app registration.
async fn configure_sso(w: &World, callback: &str) {
    let b = &w.b;
    b.goto(&w.page("/settings/sso")).await;
    assert_eq!(b.text("#sso-redirect-url").await, callback, "the redirect URI to register");
    b.fill("sso-issuer", &w.op.issuer).await;
    b.fill("sso-client-id", CLIENT_ID).await;
    b.fill("sso-client-secret", CLIENT_SECRET).await;
    b.wait_for(Locator::Id("sso-claim")).await.select_by_value("preferred_username").await.unwrap();
    let enabled = b.wait_for(Locator::Id("sso-enabled")).await;
    if !enabled.is_selected().await.unwrap() {
        enabled.click().await.unwrap();
    }
    b.click("#sso-save").await;
    let saved = b.text("#sso-saved").await;
    assert!(saved.contains("Sign-in with Microsoft is on"), "{saved}");
    assert_eq!(b.text("#sso-redirect-url").await, callback);
    assert_eq!(b.value("sso-issuer").await, w.op.issuer);
    assert_eq!(b.value("sso-client-id").await, CLIENT_ID);
    assert!(b.wait_for(Locator::Id("sso-enabled")).await.is_selected().await.unwrap());
    assert_eq!(b.value("sso-client-secret").await, "", "the secret field stays empty");
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(CLIENT_SECRET), "the client secret is not in the page");
    assert!(b.text("#sso-secret-state").await.contains("A secret is stored (ending in 2Kc1)"));
    b.shot("sso-01-config").await;
    w.sign_out().await;
    b.goto(&w.page("/login")).await;
    assert_eq!(b.text("#sso-sign-in").await, "Sign in with Microsoft");
}

async fn administrator_gets_system_settings(w: &World) {
    let b = &w.b;
    w.sign_in_with_microsoft(&ADMIN).await;
    b.wait_path(&format!("{TENANT}/settings/scim")).await;
    assert_eq!(b.text("#signed-in-as").await, ADMIN.login);
    let nav = b.text("nav.sidenav").await;
    for section in ["SCIM Config", "SSO Config", "Users"] {
        assert!(nav.contains(section), "{section} in {nav}");
    }
    b.shot("sso-02-administrator-system-settings").await;
    let session = b.client.get_named_cookie("scimp_session").await.unwrap();
    assert_eq!(session.http_only(), Some(true), "the session cookie is HttpOnly");
    // Not only shown System Settings: their forms work (the session's CSRF token).
    b.goto(&w.page("/settings/applications/new")).await;
    b.fill("f-name", "Intranet").await;
    b.fill("f-url", "https://intranet.contoso.test").await;
    b.click("form.stacked-form button[type=submit]").await;
    b.wait_path(&format!("{TENANT}/settings/applications")).await;
    assert!(b.text("main").await.contains("Intranet"), "the application was created");
    w.sign_out().await;
}

async fn content_creator_gets_my_access(w: &World) {
    let b = &w.b;
    w.sign_in_with_microsoft(&CREATOR).await;
    b.wait_path(&format!("{TENANT}/me")).await;
    assert_eq!(b.text("main h1").await, "My access");
    assert_eq!(b.text("#signed-in-as").await, CREATOR.login);
    assert_eq!(b.text("#my-role").await, "Content Creator");
    let reason = b.text("#my-role-reason").await;
    assert!(reason.contains("default role"), "{reason}");
    assert!(!b.has("nav.sidenav").await, "no System Settings navigation");
    b.shot("sso-03-my-access").await;
    // System Settings is not theirs: back to My access.
    b.goto(&w.page("/settings/scim")).await;
    b.wait_path(&format!("{TENANT}/me")).await;
    w.sign_out().await;
}

async fn suspended_and_unknown_people_are_refused(w: &World) {
    let b = &w.b;
    w.sign_in_with_microsoft(&SUSPENDED).await;
    let (status, reason) = w.refused().await;
    assert_eq!(status, "403");
    assert!(reason.contains("“suspended@contoso.test” is suspended in Microsoft Entra ID"), "{reason}");
    b.shot("sso-04-refused-suspended").await;
    w.assert_signed_out().await;

    w.sign_in_with_microsoft(&STRANGER).await;
    let (status, reason) = w.refused().await;
    assert_eq!(status, "403");
    assert!(reason.contains(&format!("No user with userName “{}” is provisioned", STRANGER.login)), "{reason}");
    w.assert_signed_out().await;
}

/// "Cancel" on the provider's page: it answers `error=access_denied`.
async fn cancelling_at_the_provider_signs_nobody_in(w: &World) {
    let b = &w.b;
    b.goto(&w.page("/login")).await;
    b.click("#sso-sign-in").await;
    b.click("#cancel").await;
    let (status, reason) = w.refused().await;
    assert_eq!(status, "403");
    assert!(reason.contains("did not sign you in (access_denied: End-User cancelled the sign-in)"), "{reason}");
    w.assert_signed_out().await;
}

/// The answer from the provider carries another `state` than the one this
/// browser's sign-in was started with: refused, before any code exchange.
///
/// The browser cannot see the redirect from `/sso/start`, so the sign-in is
/// started over plain HTTP; its flow cookie goes into the browser, which then
/// follows the authorization URL with `state` altered, as a man in the middle
/// would. Everything else (nonce, PKCE, the account) is right: the same
/// steps with the state left alone would sign the administrator in.
async fn a_tampered_state_is_refused(w: &World) {
    let b = &w.b;
    let res = agent(false).get(&w.page(&format!("/sso/start?next={TENANT}/settings/scim"))).call().expect("sso/start");
    assert_eq!(res.status().as_u16(), 303, "a redirect to the provider");
    let location = res.headers().get("location").unwrap().to_str().unwrap().to_string();
    let set_cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("scimp_oidc="))
        .expect("the sign-in's flow cookie")
        .to_string();
    let mut authorize = url::Url::parse(&location).unwrap();
    assert!(location.starts_with(&format!("{}/auth?", w.op.issuer)), "{location}");
    let state = authorize.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let tampered = format!("{}{}", &state[..state.len() - 1], if state.ends_with('A') { 'B' } else { 'A' });
    let query: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { tampered.clone() } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(query);

    // The flow cookie, in the browser as if it had started the sign-in itself.
    b.goto(&w.page("/login")).await;
    let mut cookie = Cookie::parse(set_cookie).unwrap().into_owned();
    assert_eq!(cookie.path(), Some(&*format!("{TENANT}/sso")));
    assert_eq!(cookie.http_only(), Some(true));
    let same_site = cookie.same_site().map(|s| s.to_string());
    assert_eq!(same_site.as_deref(), Some("Lax"), "sent on the provider's redirect back");
    // Host-only as sent; WebDriver wants the host named (fantoccini sends `null` otherwise).
    cookie.set_domain("127.0.0.1");
    b.client.add_cookie(cookie).await.unwrap();
    let exchanged = w.op.token_requests();
    b.goto(authorize.as_str()).await;
    w.at_provider_sign_in(&ADMIN).await;
    let (status, reason) = w.refused().await;
    assert_eq!(status, "400");
    assert!(reason.contains("state mismatch"), "{reason}");
    let url = url::Url::parse(&b.url().await).unwrap();
    assert_eq!(url.path(), format!("{TENANT}/sso/callback"));
    let query: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert!(query.contains(&("state".into(), tampered)), "the provider echoed the tampered state: {url}");
    assert!(query.iter().any(|(k, v)| k == "code" && !v.is_empty()), "with a real code: {url}");
    assert_eq!(w.op.token_requests(), exchanged, "the code was never exchanged");
    b.shot("sso-05-refused-state").await;
    w.assert_signed_out().await;
}

/// The provider breaks the next ID token in one way; each is refused.
async fn broken_id_tokens_are_refused(w: &World) {
    for (mode, why) in
        [("wrong-nonce", "nonce"), ("wrong-audience", "audience"), ("expired", "xpired"), ("bad-signature", "ignature")]
    {
        w.op.tamper(mode);
        w.sign_in_with_microsoft(&ADMIN).await;
        let (status, reason) = w.refused().await;
        assert_eq!(status, "403", "{mode}: {reason}");
        assert!(reason.contains("the ID token could not be verified"), "{mode}: {reason}");
        assert!(reason.to_lowercase().contains(why), "{mode}: {reason}");
        assert_eq!(w.op.pending_tamper(), "none", "{mode}: the broken token was issued, and used");
        if mode == "bad-signature" {
            w.b.shot("sso-06-refused-bad-signature").await;
        }
        w.assert_signed_out().await;
    }
    // Nothing left over: the same administrator is let in, and, having
    // asked for the Users page while signed out, lands on it.
    let b = &w.b;
    b.goto(&w.page("/settings/users")).await;
    b.wait_path(&format!("{TENANT}/login")).await;
    b.click("#sso-sign-in").await;
    w.at_provider_sign_in(&ADMIN).await;
    b.wait_path(&format!("{TENANT}/settings/users")).await;
    assert_eq!(b.text("#signed-in-as").await, ADMIN.login);
    w.sign_out().await;
}

/// Suspended in Entra while signed in: the next page load refuses them.
async fn a_suspension_ends_the_session_on_the_next_request(w: &World, admin: &str) {
    let b = &w.b;
    w.sign_in_with_microsoft(&ADMIN).await;
    b.wait_path(&format!("{TENANT}/settings/scim")).await;
    w.set_active(admin, false);
    b.goto(&w.page("/settings/users")).await;
    let (status, reason) = w.refused().await;
    assert_eq!(status, "403");
    assert!(reason.contains("suspended in Microsoft Entra ID, so its session has ended"), "{reason}");
    assert_eq!(b.text(".card h1").await, "Your access has ended");
    b.shot("sso-07-session-ended").await;
    w.assert_signed_out().await;
    // Reinstated, they may sign in again (a new session: the old one is gone).
    w.set_active(admin, true);
    w.sign_in_with_microsoft(&ADMIN).await;
    b.wait_path(&format!("{TENANT}/settings/scim")).await;
    w.sign_out().await;
}

/// The local administrator's view of all that: SSO Config's sign-in attempts.
async fn sso_config_lists_the_refusals(w: &World) {
    let b = &w.b;
    b.goto(&w.page("/login")).await;
    b.fill("f-email", "local-admin@example.com").await;
    b.fill("f-password", "a long enough password").await;
    b.click("form[action$='/login'] button[type=submit]").await;
    b.wait_path(&format!("{TENANT}/settings/scim")).await;
    b.goto(&w.page("/settings/sso")).await;
    let events = b.text("#sign-in-events").await;
    for expected in [
        "state mismatch",
        "“suspended@contoso.test” is suspended in Microsoft Entra ID",
        "No user with userName “stranger@contoso.test”",
        "could not be verified",
        "so its session has ended",
    ] {
        assert!(events.contains(expected), "{expected} in {events}");
    }
    let rows = b.client.find_all(Locator::Css("#sign-in-events tbody tr")).await.unwrap();
    let mut refused = 0;
    let mut signed_in = 0;
    for row in rows {
        let text = row.text().await.unwrap();
        if text.contains("refused") {
            refused += 1;
        } else if text.contains("signed in") {
            signed_in += 1;
        }
    }
    // Refused: suspended, stranger, cancelled, state, 4 broken tokens, the ended session.
    assert_eq!(refused, 9, "{events}");
    // Signed in: admin ×4 (first, after the tokens, before and after the suspension), creator,
    // and this local administrator's password sign-in.
    assert_eq!(signed_in, 6, "{events}");
    b.client.execute("document.getElementById('sign-in-events').scrollIntoView()", vec![]).await.unwrap();
    b.shot("sso-08-sign-in-events").await;
}

/// The local administrator (still signed in) switches the identifying claim
/// to `oid`, leaving the secret field blank (the stored one is kept): people
/// are now matched by externalId = their Entra object id.
async fn identified_by_object_id(w: &World) {
    let b = &w.b;
    b.goto(&w.page("/settings/sso")).await;
    b.wait_for(Locator::Id("sso-claim")).await.select_by_value("oid").await.unwrap();
    assert_eq!(b.value("sso-client-secret").await, "");
    b.click("#sso-save").await;
    assert!(b.text("#sso-saved").await.contains("Sign-in with Microsoft is on"));
    assert_eq!(b.value("sso-claim").await, "oid");
    w.sign_out().await;

    w.sign_in_with_microsoft(&CREATOR).await;
    b.wait_path(&format!("{TENANT}/me")).await;
    assert_eq!(b.text("#signed-in-as").await, CREATOR.login);
    w.sign_out().await;
    w.sign_in_with_microsoft(&STRANGER).await;
    let (_, reason) = w.refused().await;
    assert!(reason.contains(&format!("No user with externalId “{}”", STRANGER.oid)), "{reason}");
    w.assert_signed_out().await;
}
