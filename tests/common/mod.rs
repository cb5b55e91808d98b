//! Test harness: the real application, built in-process with `rocket::local`
//! against its own SQLite file in a temporary directory.
#![allow(dead_code)]

use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use serde_json::Value;
use tempfile::TempDir;

use scim_portal::app::App;
use scim_portal::domain::{api_keys, tenants};

pub const BASE: &str = "http://scim.test";
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A response, read fully.
#[derive(Debug, Clone)]
pub struct Res {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
}

impl Res {
    fn read(r: LocalResponse<'_>) -> Res {
        let header = |n: &str| r.headers().get_one(n).map(str::to_string);
        let retry_after = header("Retry-After");
        let (content_type, etag, location, www_authenticate) =
            (header("Content-Type"), header("ETag"), header("Location"), header("WWW-Authenticate"));
        let status = r.status().code;
        let text = r.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Res { status, body, text, content_type, etag, location, www_authenticate, retry_after }
    }

    /// Asserts the status, printing the body when it is not the one expected.
    #[track_caller]
    pub fn expect(self, status: u16) -> Res {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }

    /// Asserts a SCIM error with this status and scimType (None: no scimType).
    #[track_caller]
    pub fn expect_error(self, status: u16, scim_type: Option<&str>) -> Res {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.content_type.as_deref(), Some("application/scim+json"), "{}", self.text);
        assert_eq!(self.body["schemas"], serde_json::json!([ERROR]), "{}", self.text);
        assert_eq!(self.body["status"], Value::String(status.to_string()), "{}", self.text);
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.text);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", self.text);
        self
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().expect("response has an id").to_string()
    }
}

/// The application under test.
pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
    /// A bearer token of tenant `default`.
    pub token: String,
}

impl TestApp {
    pub fn new() -> TestApp {
        Self::with(|f| f)
    }

    /// Builds the app with extra configuration.
    pub fn with(configure: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let figment = scim_portal::figment()
            .merge(("database_path", dir.path().join("data/test.db")))
            .merge(("public_url", BASE))
            .merge(("log_level", "off"));
        let rocket = scim_portal::build(configure(figment)).expect("app builds");
        let client = Client::tracked(rocket).expect("valid rocket");
        let mut app = TestApp { client, dir, token: String::new() };
        app.token = app.new_token("default", "test");
        app
    }

    pub fn state(&self) -> &App {
        self.client.rocket().state::<App>().expect("App is managed")
    }

    /// Creates a tenant and returns its slug.
    pub fn new_tenant(&self, slug: &str) -> String {
        self.state().db.write(|tx| tenants::create(tx, slug, slug)).expect("tenant created");
        slug.to_string()
    }

    /// Creates a token for a tenant.
    pub fn new_token(&self, tenant: &str, label: &str) -> String {
        self.new_key(tenant, label).1
    }

    /// Creates an API key of `tenant`: its id and its secret.
    pub fn new_key(&self, tenant: &str, label: &str) -> (i64, String) {
        self.state()
            .db
            .write(|tx| {
                let t = tenants::get_by_slug(tx, tenant)?;
                api_keys::create(tx, t.id, label, None).map(|(k, s)| (k.id, s))
            })
            .expect("key created")
    }

    /// Revokes key `id` of `tenant` in the database only, as another process
    /// on the same file would: this server is not told.
    pub fn revoke_key_elsewhere(&self, tenant: &str, id: i64) {
        self.state()
            .db
            .write(|tx| {
                let t = tenants::get_by_slug(tx, tenant)?;
                api_keys::revoke(tx, t.id, id)
            })
            .expect("key revoked");
    }

    /// Revokes key `id` of `tenant` as the portal's revoke button does
    /// (`App::revoke_api_key`: the row, then the server's cache of live keys).
    pub fn revoke_key(&self, tenant: &str, id: i64) {
        let t = self.state().db.read(|c| tenants::get_by_slug(c, tenant)).expect("tenant").id;
        let runtime = rocket::tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        runtime.block_on(self.state().revoke_api_key(t, id)).expect("key revoked");
    }

    /// Sends a request to `/scim/v2/default{path}` with the default token.
    pub fn req(&self, method: &str, path: &str, body: Option<&Value>) -> Res {
        self.raw(method, &format!("/scim/v2/default{path}"), Some(&self.token), &[], body.map(|b| b.to_string()))
    }

    /// Sends a request with full control over the token, headers and body.
    pub fn raw(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Res {
        let uri = uri.to_string();
        let mut r = match method {
            "GET" => self.client.get(uri),
            "POST" => self.client.post(uri),
            "PUT" => self.client.put(uri),
            "PATCH" => self.client.patch(uri),
            "DELETE" => self.client.delete(uri),
            m => panic!("method {m}"),
        };
        if let Some(t) = token {
            r = r.header(Header::new("Authorization", format!("Bearer {t}")));
        }
        let mut has_type = false;
        for (name, value) in headers {
            has_type |= name.eq_ignore_ascii_case("content-type");
            r = r.header(Header::new(name.to_string(), value.to_string()));
        }
        if let Some(body) = body {
            if !has_type {
                r = r.header(ContentType::new("application", "scim+json"));
            }
            r = r.body(body);
        }
        Res::read(r.dispatch())
    }

    pub fn get(&self, path: &str) -> Res {
        self.req("GET", path, None)
    }
    pub fn post(&self, path: &str, body: &Value) -> Res {
        self.req("POST", path, Some(body))
    }
    pub fn put(&self, path: &str, body: &Value) -> Res {
        self.req("PUT", path, Some(body))
    }
    pub fn patch(&self, path: &str, ops: Value) -> Res {
        self.req("PATCH", path, Some(&serde_json::json!({"schemas": [PATCH_OP], "Operations": ops})))
    }
    pub fn delete(&self, path: &str) -> Res {
        self.req("DELETE", path, None)
    }

    /// Creates a user shaped like Entra's default mapping; returns its id.
    pub fn entra_user(&self, user_name: &str) -> String {
        self.post("/Users", &entra_user_body(user_name)).expect(201).id()
    }

    /// Creates a group shaped like Entra's; returns its id.
    pub fn entra_group(&self, name: &str) -> String {
        self.post("/Groups", &entra_group_body(name)).expect(201).id()
    }

    /// Counts rows of a table (for "nothing was stored" checks).
    pub fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        self.state()
            .db
            .read(|tx| tx.query_row(&sql, [], |r| r.get(0)).map_err(scim_portal::db::DbError::from))
            .expect("count")
    }
}

/// The user body Entra's default attribute mapping sends.
pub fn entra_user_body(user_name: &str) -> Value {
    let local = user_name.split('@').next().unwrap_or(user_name);
    serde_json::json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": local,
        "userName": user_name,
        "active": true,
        "displayName": format!("{local} Example"),
        "title": "Engineer",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{local} Example"), "familyName": "Example", "givenName": local},
        "addresses": [{"type": "work", "country": "NZ", "locality": "Auckland", "postalCode": "1010", "streetAddress": "1 Queen St", "region": "AKL"}],
        "phoneNumbers": [{"type": "work", "value": "+64 9 000 0000"}, {"type": "mobile", "value": "+64 21 000 000"}],
        ENTERPRISE: {"employeeNumber": "701984", "department": "Identity", "manager": {"value": "boss"}},
        "roles": []
    })
}

/// The group body Entra sends on create.
pub fn entra_group_body(name: &str) -> Value {
    serde_json::json!({
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": format!("ext-{name}"),
        "displayName": name,
        "meta": {"resourceType": "Group"}
    })
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn ok(status: Status) -> bool {
    status.code < 400
}

/// A signed-in portal administrator (the client keeps the session cookie).
pub struct Portal {
    pub app: TestApp,
    pub csrf: String,
    pub email: String,
}

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

impl Portal {
    /// A fresh app with an administrator of `default`, signed in.
    pub fn new() -> Portal {
        Self::from_app(TestApp::new(), "default", "admin@example.com")
    }

    /// Creates an administrator of `tenant` and signs in on a client that tracks cookies.
    pub fn from_app(app: TestApp, tenant: &str, email: &str) -> Portal {
        let hash = scim_portal::domain::admins::hash_password(ADMIN_PASSWORD).unwrap();
        app.state()
            .db
            .write(|tx| {
                let t = tenants::get_by_slug(tx, tenant)?;
                scim_portal::domain::admins::create(tx, t.id, email, &hash)
            })
            .expect("admin created");
        let mut portal = Portal { app, csrf: String::new(), email: email.to_string() };
        let res =
            portal.form("POST", &format!("/admin/{tenant}/login"), &[("email", email), ("password", ADMIN_PASSWORD)]);
        assert_eq!(res.status, 303, "sign-in failed: {}", res.html);
        portal.csrf = portal.csrf_of(&format!("/admin/{tenant}/settings/api-keys"));
        portal
    }

    /// GETs a page; returns (status, html, Location).
    pub fn page(&self, uri: &str) -> HtmlRes {
        let r = self.app.client.get(uri.to_string()).dispatch();
        HtmlRes::read(r)
    }

    /// Submits a form (application/x-www-form-urlencoded).
    pub fn form(&self, method: &str, uri: &str, fields: &[(&str, &str)]) -> HtmlRes {
        let body = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let req = match method {
            "POST" => self.app.client.post(uri.to_string()),
            m => panic!("method {m}"),
        };
        HtmlRes::read(req.header(ContentType::Form).body(body).dispatch())
    }

    /// Submits a form with this session's CSRF token added.
    pub fn submit(&self, uri: &str, fields: &[(&str, &str)]) -> HtmlRes {
        let mut all: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.form("POST", uri, &all)
    }

    /// The CSRF token embedded in a page.
    pub fn csrf_of(&self, uri: &str) -> String {
        let page = self.page(uri);
        let marker = "name=\"csrf\" value=\"";
        let start =
            page.html.find(marker).unwrap_or_else(|| panic!("no csrf field on {uri}: {}", page.html)) + marker.len();
        let end = page.html[start..].find('"').unwrap() + start;
        page.html[start..end].to_string()
    }
}

/// An HTML response.
#[derive(Debug, Clone)]
pub struct HtmlRes {
    pub status: u16,
    pub html: String,
    pub location: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl From<LocalResponse<'_>> for HtmlRes {
    fn from(r: LocalResponse<'_>) -> HtmlRes {
        HtmlRes::read(r)
    }
}

impl HtmlRes {
    fn read(r: LocalResponse<'_>) -> HtmlRes {
        let location = r.headers().get_one("Location").map(str::to_string);
        let headers = r.headers().iter().map(|h| (h.name().to_string(), h.value().to_string())).collect();
        let status = r.status().code;
        let html = r.into_string().unwrap_or_default();
        HtmlRes { status, html, location, headers }
    }

    /// The HTML with Tera's escaping of `/` undone, for plain-text assertions.
    pub fn text(&self) -> String {
        self.html.replace("&#x2F;", "/").replace("&amp;", "&").replace("&quot;", "\"").replace("&#x27;", "'")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> HtmlRes {
        assert_eq!(self.status, status, "unexpected status; page: {}", self.html);
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sets a tenant's user and group counts from its rows, as the domain keeps
/// them, after a test seeded rows with SQL of its own.
pub fn recount(tx: &rusqlite::Connection, tenant: i64) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE tenants SET user_count = (SELECT COUNT(*) FROM users WHERE tenant_id = ?1),
                            group_count = (SELECT COUNT(*) FROM groups WHERE tenant_id = ?1)
         WHERE id = ?1",
        [tenant],
    )
}
