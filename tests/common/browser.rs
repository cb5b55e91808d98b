//! Shared by the tests that drive headless Chromium against the real binary
//! (`portal_browser.rs`, `sso_browser.rs`): child processes that die with the
//! test, the server on a free port with its set-up link, a Chromium session
//! through chromedriver, and SCIM over plain HTTP.
//!
//! Included with `#[path = "common/browser.rs"] mod browser;` (it needs none
//! of the in-process harness in `common/mod.rs`).
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long a page may take to appear after a click or a redirect chain.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

/// Kills a child process when dropped.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "port {port} never opened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An executable on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join(name)).find(|p| p.is_file())
}

pub fn chromedriver() -> Option<PathBuf> {
    on_path("chromedriver")
}

/// A prerequisite is missing: the test is skipped with `why` printed, unless
/// SCIM_PORTAL_REQUIRE_BROWSER is set (CI sets it), in which case it fails.
pub fn skip_unless_required(why: &str) {
    assert!(std::env::var_os("SCIM_PORTAL_REQUIRE_BROWSER").is_none(), "{why} (SCIM_PORTAL_REQUIRE_BROWSER is set)");
    eprintln!("SKIPPED: {why}");
}

/// The last `lines` lines of a log file, for a failure message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The real binary, serving a fresh database in `dir` on `port`.
pub struct Server {
    _child: Killed,
    /// `http://127.0.0.1:<port>`: also its `public_url`.
    pub base: String,
    /// The one-time set-up link it printed for tenant `default`.
    pub setup_link: String,
    /// Its stdout and the rest of its stderr, for a failure message.
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- server log ({}), last lines:\n{}", self.log.display(), tail(&self.log, 40));
        }
    }
}

/// Starts the real binary on a fresh database in `dir` and a free port.
pub fn start_server(dir: &Path) -> Server {
    start_server_on(dir, free_port())
}

/// Starts the real binary on a fresh database in `dir`, on `port`.
pub fn start_server_on(dir: &Path, port: u16) -> Server {
    let log = dir.join("server.log");
    let out = File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-portal"))
        .arg("serve")
        .env("ROCKET_DATABASE_PATH", dir.join("db/portal.db"))
        .env("ROCKET_PORT", port.to_string())
        // Warnings and errors (a refused sign-in and why) go to the log; requests do not.
        .env("ROCKET_LOG_LEVEL", "critical")
        .stdout(out.try_clone().unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let guard = Killed(child);
    let mut lines = BufReader::new(stderr);
    let mut link = None;
    let mut line = String::new();
    while lines.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(at) = line.find("http://").filter(|_| line.contains("/setup?token=")) {
            link = Some(line[at..].trim().to_string());
            break;
        }
        line.clear();
    }
    let link = link.expect("the server prints a set-up link for the default tenant");
    // Keep reading its stderr (a full pipe would block the server), into the log.
    std::thread::spawn(move || {
        let mut out = out;
        let _ = std::io::copy(&mut lines, &mut out);
    });
    wait_for_port(port);
    Server { _child: guard, base: format!("http://127.0.0.1:{port}"), setup_link: link, log }
}

/// A headless Chromium session through its own chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Killed,
    driver_port: u16,
    session: Option<String>,
    pub shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Not closed (the test failed): end the session so that chromedriver
        // quits Chromium, rather than leaving it behind when it is killed.
        if let Some(session) = self.session.take() {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build()
                .into();
            let _ = agent.delete(&format!("http://127.0.0.1:{}/session/{session}", self.driver_port)).call();
        }
        // Then `driver` is dropped: chromedriver is killed.
    }
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(chromedriver().expect("chromedriver on PATH"))
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
        let session = client.session_id().await.ok().flatten();
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser { client, driver, driver_port: port, session, shots }
    }

    /// Ends the Chromium session.
    pub async fn close(mut self) {
        if self.session.take().is_some() {
            self.client.clone().close().await.unwrap();
        }
    }

    pub async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Waits (up to [`PAGE_WAIT`]) for an element: a click that submits a
    /// form returns before the next page has necessarily loaded.
    pub async fn wait_for(&self, locator: Locator<'_>) -> fantoccini::elements::Element {
        match self.client.wait().at_most(PAGE_WAIT).for_element(locator).await {
            Ok(e) => e,
            Err(_) => panic!(
                "{locator:?} not found on {}: {}",
                self.url().await,
                self.client.source().await.unwrap_or_default()
            ),
        }
    }

    pub async fn fill(&self, id: &str, text: &str) {
        let e = self.wait_for(Locator::Id(id)).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(Locator::Css(css)).await.click().await.unwrap();
    }

    /// Waits until the browser shows `path`.
    pub async fn wait_path(&self, path: &str) {
        let start = Instant::now();
        while self.path().await != path {
            if start.elapsed() > PAGE_WAIT {
                panic!(
                    "still on {} instead of {path}: {}",
                    self.url().await,
                    self.client.source().await.unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn value(&self, id: &str) -> String {
        self.wait_for(Locator::Id(id)).await.prop("value").await.unwrap().unwrap_or_default()
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(Locator::Css(css)).await.text().await.unwrap()
    }

    /// True when the current page has an element matching `css` (no waiting).
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    pub async fn url(&self) -> String {
        self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }
}

/// An HTTP client that hands back every status (and, with `redirects` false, every redirect).
pub fn agent(redirects: bool) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(if redirects { 10 } else { 0 })
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A SCIM request with a bearer token: status and JSON body (Null when none).
pub fn scim(base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let agent = agent(true);
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
