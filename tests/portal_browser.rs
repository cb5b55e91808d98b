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

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Kills a child process when dropped.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join("chromedriver")).find(|p| p.exists())
}

/// Starts the real binary on a fresh database; returns it, its base URL and the set-up link it printed.
fn start_server(dir: &std::path::Path) -> (Killed, String, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-portal"))
        .arg("serve")
        .env("ROCKET_DATABASE_PATH", dir.join("db/portal.db"))
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "critical")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let guard = Killed(child);
    let mut link = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("http://") {
            link = Some(line[at..].trim().to_string());
            break;
        }
    }
    let link = link.expect("the server prints a set-up link for the default tenant");
    wait_for_port(port);
    (guard, format!("http://127.0.0.1:{port}"), link)
}

struct Browser {
    client: Client,
    _driver: Killed,
    shots: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver().unwrap())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Killed(driver);
        wait_for_port(port);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", "--window-size=1280,900"]}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser { client, _driver: driver, shots }
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// Waits (up to 10 s) for an element: a click that submits a form returns
    /// before the next page has necessarily loaded.
    async fn wait_for(&self, locator: Locator<'_>) -> fantoccini::elements::Element {
        match self.client.wait().at_most(Duration::from_secs(10)).for_element(locator).await {
            Ok(e) => e,
            Err(_) => panic!("not found on {}: {}", self.path().await, self.client.source().await.unwrap_or_default()),
        }
    }

    async fn fill(&self, id: &str, text: &str) {
        let e = self.wait_for(Locator::Id(id)).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.wait_for(Locator::Css(css)).await.click().await.unwrap();
    }

    /// Waits until the browser shows `path`.
    async fn wait_path(&self, path: &str) {
        let start = Instant::now();
        while self.path().await != path {
            assert!(start.elapsed() < Duration::from_secs(10), "still on {} instead of {path}", self.path().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn value(&self, id: &str) -> String {
        self.wait_for(Locator::Id(id)).await.prop("value").await.unwrap().unwrap_or_default()
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(Locator::Css(css)).await.text().await.unwrap()
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }
}

fn scim(base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{base}{path}");
    let auth = format!("Bearer {token}");
    let mut res = match (method, body) {
        ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
        ("POST", Some(b)) => agent
            .post(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json")
            .send(b.to_string()),
        ("PATCH", Some(b)) => agent
            .patch(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json")
            .send(b.to_string()),
        (m, _) => panic!("{m}"),
    }
    .expect("SCIM request");
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_story_in_headless_chromium() {
    if chromedriver().is_none() {
        assert!(
            std::env::var_os("SCIM_PORTAL_REQUIRE_BROWSER").is_none(),
            "chromedriver not found; install Debian's chromium and chromium-driver"
        );
        eprintln!("SKIPPED: chromedriver not found (apt-get install chromium chromium-driver)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_server, base, setup_link) = start_server(dir.path());
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
        assert_eq!(status, 200);
        groups.push(id);
    }
    b.client.goto(&format!("{base}/admin/default/settings/scim")).await.unwrap();
    let figures = b.text(".figures").await;
    assert!(figures.contains("Active users\n2") || figures.contains("Active users 2"), "{figures}");
    b.shot("04-scim-config-provisioned").await;

    portal_access_story(&b, &base, &users, &groups).await;

    b.client.clone().close().await.unwrap();
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
