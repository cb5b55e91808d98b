//! Durability under crash: the real binary under concurrent SCIM writes is
//! killed with SIGKILL at several points; after a restart on the same
//! database every acknowledged write is there, nothing is half-applied, and
//! SQLite's integrity check passes. `CRASH_CYCLES` sets how many kill points
//! (default 3, enough for CI; the figures in docs/reliability.md use more).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scim-portal")
}

fn start(db: &Path, port: u16) -> Server {
    let child = Command::new(bin())
        .env("ROCKET_DATABASE_PATH", db)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let agent = agent();
    let t0 = Instant::now();
    while agent.get(&format!("{base}/healthz")).call().map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(t0.elapsed() < Duration::from_secs(20), "server did not start");
        std::thread::sleep(Duration::from_millis(25));
    }
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn token(db: &Path) -> String {
    let out = Command::new(bin())
        .args(["token", "create", "--name", "crash"])
        .env("ROCKET_DATABASE_PATH", db)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// One SCIM call; `None` when no response came (the server died mid-request).
fn call(agent: &ureq::Agent, method: &str, url: &str, token: &str, body: Option<Value>) -> Option<(u16, Value)> {
    let auth = format!("Bearer {token}");
    let res = match method {
        "GET" => agent.get(url).header("Authorization", &auth).call(),
        "POST" => agent
            .post(url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json")
            .send(body?.to_string()),
        "PATCH" => agent
            .patch(url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json")
            .send(body?.to_string()),
        m => panic!("{m}"),
    };
    let mut res = res.ok()?;
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// What the clients were told succeeded.
#[derive(Default)]
struct Acked {
    users: Vec<(String, String)>,
    /// user id → (last acknowledged title number, highest title number sent)
    titles: std::collections::HashMap<String, (u32, u32)>,
    members: Vec<String>,
    requests: usize,
}

fn patch_op(op: &str, path: &str, value: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": op, "path": path, "value": value}]})
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let cycles: u64 = std::env::var("CRASH_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db/crash.db");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let token = token(&db);
    let acked = Arc::new(Mutex::new(Acked::default()));

    // One group that everyone joins, created before the first crash.
    let group = {
        let server = start(&db, port);
        let (s, body) = call(
            &agent(),
            "POST",
            &format!("{}/scim/v2/default/Groups", server.base),
            &token,
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone"})),
        )
        .unwrap();
        assert_eq!(s, 201);
        body["id"].as_str().unwrap().to_string()
    };

    for cycle in 0..cycles {
        let mut server = start(&db, port);
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let (base, token, group, acked, stop) = (server.base.clone(), token.clone(), group.clone(), acked.clone(), stop.clone());
                std::thread::spawn(move || {
                    let agent = agent();
                    let scim = format!("{base}/scim/v2/default");
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let name = format!("c{cycle}-w{w}-{n}@example.com");
                        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                                          "emails": [{"type": "work", "value": name, "primary": true}], "active": true});
                        let Some((201, user)) = call(&agent, "POST", &format!("{scim}/Users"), &token, Some(body)) else { break };
                        let id = user["id"].as_str().unwrap().to_string();
                        acked.lock().unwrap().users.push((id.clone(), name));
                        let add = patch_op("Add", "members", json!([{"value": id}]));
                        match call(&agent, "PATCH", &format!("{scim}/Groups/{group}"), &token, Some(add)) {
                            Some((200 | 204, _)) => acked.lock().unwrap().members.push(id.clone()),
                            _ => break,
                        }
                        for t in 1..=3u32 {
                            acked.lock().unwrap().titles.entry(id.clone()).or_default().1 = t;
                            let p = patch_op("Replace", "title", json!(format!("t{t}")));
                            match call(&agent, "PATCH", &format!("{scim}/Users/{id}"), &token, Some(p)) {
                                Some((200, _)) => acked.lock().unwrap().titles.get_mut(&id).unwrap().0 = t,
                                _ => return,
                            }
                        }
                    }
                })
            })
            .collect();
        // Kill points spread over the load: 200 ms, 450 ms, 700 ms, …
        std::thread::sleep(Duration::from_millis(200 + 250 * (cycle % 4)));
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }

        // The file alone must be sound before anything else opens it.
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "cycle {cycle}");
        let fk: i64 = conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 0, "no dangling references");
        // Every user's e-mail index matches its document (nothing half-applied).
        let mismatched: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM users u WHERE (SELECT COUNT(*) FROM user_emails e WHERE e.user_id = u.id)
                   != json_array_length(json_extract(u.profile, '$.emails'))",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(mismatched, 0);
        drop(conn);
    }

    // Restart and check every acknowledged write through the API.
    let server = start(&db, port);
    let agent = agent();
    let scim = format!("{}/scim/v2/default", server.base);
    let acked = acked.lock().unwrap();
    assert!(acked.users.len() >= 10 * cycles as usize, "load too light to mean anything: {}", acked.users.len());
    for (id, name) in &acked.users {
        let (s, user) = call(&agent, "GET", &format!("{scim}/Users/{id}"), &token, None).unwrap();
        assert_eq!(s, 200, "acknowledged user {name} lost");
        assert_eq!(user["userName"], name.as_str());
        let (last_acked, last_sent) = acked.titles.get(id).copied().unwrap_or_default();
        let title: u32 = user["title"].as_str().map(|t| t[1..].parse().unwrap()).unwrap_or(0);
        assert!(
            title >= last_acked && title <= last_sent,
            "{name}: title t{title}, acked t{last_acked}, sent up to t{last_sent}"
        );
    }
    let filter = |id: &str| {
        format!(
            "{scim}/Groups?filter={}&attributes=id",
            urlencode(&format!("id eq \"{group}\" and members eq \"{id}\""))
        )
    };
    for id in &acked.members {
        let (_, list) = call(&agent, "GET", &filter(id), &token, None).unwrap();
        assert_eq!(list["totalResults"], 1, "acknowledged membership of {id} lost");
    }
    println!(
        "crash test: {cycles} SIGKILLs, {} acknowledged users, {} acknowledged member adds, {} acknowledged title PATCHes; none lost",
        acked.users.len(),
        acked.members.len(),
        acked.titles.values().map(|t| t.0 as usize).sum::<usize>()
    );
    let _ = acked.requests;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
