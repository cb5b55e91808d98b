//! End to end: the real binary, its command line and its HTTP server.
//!
//! Each test runs `scim-portal` as a child process against a database in its
//! own temporary directory on a free port, talks to it over HTTP with `ureq`,
//! and kills it when done (also when the test fails).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scim-portal")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// How the binary is run: its working directory and environment.
#[derive(Clone)]
struct Setup {
    cwd: PathBuf,
    /// Variables set for the child.
    env: Vec<(String, String)>,
    /// Start from an empty environment (only `env` is set).
    clear_env: bool,
    port: u16,
}

impl Setup {
    /// `ROCKET_DATABASE_PATH=<dir>/db/x.db`, a free port, logging off.
    fn in_dir(dir: &Path) -> Setup {
        let port = free_port();
        Setup {
            cwd: dir.to_path_buf(),
            env: vec![
                ("ROCKET_DATABASE_PATH".into(), dir.join("db/x.db").display().to_string()),
                ("ROCKET_PORT".into(), port.to_string()),
                ("ROCKET_LOG_LEVEL".into(), "off".into()),
            ],
            clear_env: false,
            port,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(&self.cwd);
        if self.clear_env {
            c.env_clear();
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs a command-line command to completion.
    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).stdin(Stdio::null()).output().expect("the binary runs");
        assert!(
            out.status.success(),
            "scim-portal {args:?} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `token create`: checks that stdout is the token on one line and nothing else.
    fn token(&self, tenant: &str, name: &str) -> String {
        let out = self.run(&["token", "create", "--tenant", tenant, "--name", name]);
        let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
        let token = stdout.strip_suffix('\n').unwrap_or_else(|| panic!("stdout must end with one newline: {stdout:?}"));
        assert!(!token.contains('\n') && !token.contains('\r'), "stdout must be one line: {stdout:?}");
        assert!(token.starts_with("scimp_"), "a token starts with scimp_: {stdout:?}");
        assert!(token.len() > "scimp_".len() + 16, "a token is long: {stdout:?}");
        assert!(
            token.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c)),
            "a token holds nothing else: {stdout:?}"
        );
        token.to_string()
    }

    /// Starts the server (`args` empty or `["serve"]`) and waits for /healthz.
    fn start(&self, args: &[&str]) -> Server {
        let log = self.cwd.join(format!("server-{}.log", self.port));
        let stderr = std::fs::File::create(&log).unwrap();
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the server starts");
        let mut server = Server { child, base: format!("http://127.0.0.1:{}", self.port), log };
        server.wait_healthy();
        server
    }
}

/// The running server; killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn wait_healthy(&mut self) {
        let agent = agent();
        let t0 = Instant::now();
        loop {
            if let Ok(mut res) = agent.get(&format!("{}/healthz", self.base)).call() {
                if res.status().as_u16() == 200 {
                    let text = res.body_mut().read_to_string().unwrap_or_default();
                    assert_eq!(text.trim(), "ok");
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited with {status}: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the server did not answer /healthz: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn scim(&self, tenant: &str) -> String {
        format!("{}/scim/v2/{tenant}", self.base)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A response, read fully.
#[derive(Debug)]
struct Res {
    status: u16,
    body: Value,
    text: String,
    content_type: Option<String>,
    location: Option<String>,
    etag: Option<String>,
    www_authenticate: Option<String>,
}

/// One HTTP call with an optional bearer token and JSON body.
fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> Res {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let result = match (method, body) {
        ("GET", None) => {
            let r = agent.get(url);
            match &auth {
                Some(a) => r.header("Authorization", a).call(),
                None => r.call(),
            }
        }
        ("DELETE", None) => {
            let r = agent.delete(url);
            match &auth {
                Some(a) => r.header("Authorization", a).call(),
                None => r.call(),
            }
        }
        (m, Some(body)) => {
            let r = match m {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                "PATCH" => agent.patch(url),
                m => panic!("{m} with a body"),
            };
            let r = r.header("Content-Type", "application/scim+json");
            match &auth {
                Some(a) => r.header("Authorization", a).send(body.to_string()),
                None => r.send(body.to_string()),
            }
        }
        (m, None) => panic!("{m} without a body"),
    };
    let mut res = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (content_type, location, etag, www_authenticate) =
        (header("Content-Type"), header("Location"), header("ETag"), header("WWW-Authenticate"));
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Res { status, body, text, content_type, location, etag, www_authenticate }
}

impl Res {
    #[track_caller]
    fn expect(self, status: u16) -> Res {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        if !self.text.is_empty() {
            assert_eq!(self.content_type.as_deref(), Some("application/scim+json"), "{}", self.text);
        }
        self
    }

    #[track_caller]
    fn expect_error(self, status: u16) -> Res {
        let res = self.expect(status);
        assert_eq!(res.body["schemas"], json!([ERROR]), "{}", res.text);
        assert_eq!(res.body["status"], json!(status.to_string()), "{}", res.text);
        res
    }

    fn id(&self) -> String {
        self.body["id"].as_str().expect("an id").to_string()
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": user_name.split('@').next().unwrap(),
        "userName": user_name,
        "active": true,
        "displayName": "Ada Lovelace",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        ENTERPRISE: {"department": "Engines", "manager": {"value": "babbage"}},
        "meta": {"resourceType": "User"}
    })
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn command_line_and_server_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup::in_dir(dir.path());

    // Set-up commands, before any server ran: they create the database.
    let token = setup.token("default", "e2e");
    let out = setup.run(&["tenant", "create", "acme", "--name", "Acme"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("acme") && said.contains("Acme"), "{said}");
    assert!(said.contains("/scim/v2/acme"), "{said}");
    let acme = setup.token("acme", "e2e acme");
    assert_ne!(token, acme);
    assert!(dir.path().join("db/x.db").is_file());
    // Creating a tenant twice fails with a message and a non-zero status.
    let again = setup.command(&["tenant", "create", "acme"]).output().unwrap();
    assert!(!again.status.success());
    assert!(again.stdout.is_empty(), "{}", String::from_utf8_lossy(&again.stdout));
    assert!(!again.stderr.is_empty());

    // `scim-portal` with no arguments serves.
    let server = setup.start(&[]);
    let scim = server.scim("default");

    // The cookie key was generated beside the database, readable by its owner only.
    let key = dir.path().join("db/secret_key");
    assert!(key.is_file(), "secret_key beside the database");
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600, "secret_key mode");
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(!key_text.trim().is_empty());

    // Discovery and Entra's connection test.
    let spc = call("GET", &format!("{scim}/ServiceProviderConfig"), Some(&token), None).expect(200);
    assert_eq!(spc.body["patch"]["supported"], true);
    let probe =
        call("GET", &format!("{scim}/Users?filter={}", enc("userName eq \"a1b2c3\"")), Some(&token), None).expect(200);
    assert_eq!(probe.body["schemas"], json!([LIST]));
    assert_eq!(probe.body["totalResults"], 0);

    // Create a user.
    let created = call("POST", &format!("{scim}/Users"), Some(&token), Some(user_body("ada@example.com"))).expect(201);
    let user = created.id();
    assert_eq!(created.body["userName"], "ada@example.com");
    assert_eq!(created.body[ENTERPRISE]["department"], "Engines");
    let location = created.location.clone().expect("Location");
    assert!(location.ends_with(&format!("/scim/v2/default/Users/{user}")), "{location}");
    assert_eq!(created.body["meta"]["location"], json!(location));
    assert_eq!(created.etag.as_deref(), created.body["meta"]["version"].as_str());
    call("POST", &format!("{scim}/Users"), Some(&token), Some(user_body("ADA@example.com"))).expect_error(409);

    // Create a group and add the user.
    let group_body = json!({"schemas": [GROUP], "displayName": "Engineers", "externalId": "ext-eng"});
    let group = call("POST", &format!("{scim}/Groups"), Some(&token), Some(group_body)).expect(201).id();
    let add = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": user}]}
    ]});
    let patched = call("PATCH", &format!("{scim}/Groups/{group}"), Some(&token), Some(add)).expect(204);
    assert!(patched.etag.is_some(), "a group PATCH answers 204 with the new ETag");

    // Read back.
    let got = call("GET", &format!("{scim}/Users/{user}"), Some(&token), None).expect(200);
    assert_eq!(got.body["groups"][0]["value"], json!(group));
    assert_eq!(got.body["emails"][0]["value"], "ada@example.com");
    let got = call("GET", &format!("{scim}/Groups/{group}"), Some(&token), None).expect(200);
    assert_eq!(got.body["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(got.body["members"][0]["value"], json!(user));
    assert_eq!(got.etag, patched.etag);

    // Filter.
    let found =
        call("GET", &format!("{scim}/Users?filter={}", enc("userName eq \"ADA@EXAMPLE.COM\"")), Some(&token), None)
            .expect(200);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], json!(user));
    let found =
        call("GET", &format!("{scim}/Groups?filter={}", enc("displayName eq \"Engineers\"")), Some(&token), None)
            .expect(200);
    assert_eq!(found.body["Resources"][0]["id"], json!(group));
    let found = call(
        "GET",
        &format!("{scim}/Users?filter={}", enc("emails[type eq \"work\"].value co \"example\"")),
        Some(&token),
        None,
    )
    .expect(200);
    assert_eq!(found.body["totalResults"], 1);
    call("GET", &format!("{scim}/Users?filter={}", enc("userName eq")), Some(&token), None).expect_error(400);

    // Entra's deactivation.
    let off = json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let patched = call("PATCH", &format!("{scim}/Users/{user}"), Some(&token), Some(off)).expect(200);
    assert_eq!(patched.body["active"], false);

    // Tenants are isolated: acme's token is refused on default's endpoint, and acme sees nothing of default.
    let refused = call("GET", &format!("{scim}/Users"), Some(&acme), None).expect_error(401);
    assert!(refused.www_authenticate.is_some_and(|h| h.starts_with("Bearer")));
    call("GET", &format!("{scim}/Users/{user}"), Some(&acme), None).expect_error(401);
    call("DELETE", &format!("{scim}/Users/{user}"), Some(&acme), None).expect_error(401);
    let theirs = call("GET", &format!("{}/Users", server.scim("acme")), Some(&acme), None).expect(200);
    assert_eq!(theirs.body["totalResults"], 0);
    call("GET", &format!("{}/Users", server.scim("acme")), Some(&token), None).expect_error(401);
    call("GET", &format!("{scim}/Users"), None, None).expect_error(401);
    call("GET", &format!("{scim}/Users"), Some("scimp_not-a-real-token"), None).expect_error(401);

    // Delete.
    call("DELETE", &format!("{scim}/Groups/{group}"), Some(&token), None).expect(204);
    call("GET", &format!("{scim}/Groups/{group}"), Some(&token), None).expect_error(404);
    call("DELETE", &format!("{scim}/Users/{user}"), Some(&token), None).expect(204);
    call("GET", &format!("{scim}/Users/{user}"), Some(&token), None).expect_error(404);
    call("DELETE", &format!("{scim}/Users/{user}"), Some(&token), None).expect_error(404);

    // One more user, to see it survive a restart.
    let kept =
        call("POST", &format!("{scim}/Users"), Some(&token), Some(user_body("kept@example.com"))).expect(201).id();
    drop(server);

    // `scim-portal serve` on the same database: same data, same tokens, same key.
    let server = setup.start(&["serve"]);
    let scim = server.scim("default");
    let got = call("GET", &format!("{scim}/Users/{kept}"), Some(&token), None).expect(200);
    assert_eq!(got.body["userName"], "kept@example.com");
    let all = call("GET", &format!("{scim}/Users"), Some(&token), None).expect(200);
    assert_eq!(all.body["totalResults"], 1);
    call("GET", &format!("{}/Users", server.scim("acme")), Some(&acme), None).expect(200);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), key_text, "the key is kept across restarts");
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    // A token created while the server runs works at once.
    let late = setup.token("default", "late");
    call("GET", &format!("{scim}/Groups"), Some(&late), None).expect(200);
}

#[test]
fn runs_from_any_working_directory_with_default_configuration() {
    let cwd = tempfile::tempdir().unwrap();
    let port = free_port();
    let setup = Setup {
        cwd: cwd.path().to_path_buf(),
        env: vec![("ROCKET_PORT".into(), port.to_string())],
        clear_env: true,
        port,
    };
    let server = setup.start(&[]);
    let db = cwd.path().join("data/scim-portal.db");
    assert!(db.is_file(), "the database is created under the working directory: {}", db.display());
    let key = cwd.path().join("data/secret_key");
    assert!(key.is_file());
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    // The command line finds the same database from the same directory.
    let token = setup.token("default", "cwd");
    let scim = server.scim("default");
    call("GET", &format!("{scim}/ServiceProviderConfig"), Some(&token), None).expect(200);
    let user = call("POST", &format!("{scim}/Users"), Some(&token), Some(user_body("cwd@example.com"))).expect(201);
    assert!(
        user.body["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.starts_with(&format!("http://127.0.0.1:{port}/scim/v2/default/Users/"))),
        "{}",
        user.text
    );
    // Nothing was written outside the working directory's data folder.
    let entries: Vec<String> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with("server-"))
        .collect();
    assert_eq!(entries, vec!["data".to_string()]);
}
