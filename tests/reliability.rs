//! Concurrency, online backup under load, and secrets, against the real binary.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    scim: String,
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

fn cli(db: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(bin())
        .args(args)
        .env("ROCKET_DATABASE_PATH", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn start(dir: &Path) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = dir.join("db/r.db");
    let log = dir.join("server.log");
    let child = Command::new(bin())
        .env("ROCKET_DATABASE_PATH", &db)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_LOG_LEVEL", "debug")
        .stdout(std::fs::File::create(dir.join("server.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let t0 = Instant::now();
    while agent().get(&format!("{base}/healthz")).call().map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(t0.elapsed() < Duration::from_secs(20), "server did not start");
        std::thread::sleep(Duration::from_millis(25));
    }
    Server { child, scim: format!("{base}/scim/v2/default"), base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into()
}

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value, String) {
    let auth = format!("Bearer {token}");
    let mut res = match method {
        "GET" => {
            let mut r = agent.get(url).header("Authorization", &auth);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        m => {
            let mut r = match m {
                "POST" => agent.post(url),
                "PATCH" => agent.patch(url),
                "PUT" => agent.put(url),
                _ => panic!("{m}"),
            }
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json");
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body.unwrap().to_string())
        }
    }
    .unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

fn new_user(agent: &ureq::Agent, scim: &str, token: &str, name: &str) -> String {
    let (status, body, _) = call(
        agent,
        "POST",
        &format!("{scim}/Users"),
        token,
        &[],
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})),
    );
    assert_eq!(status, 201);
    body["id"].as_str().unwrap().to_string()
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[test]
fn concurrent_member_adds_and_removes_on_one_group_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let token = cli(&dir.path().join("db/r.db"), &["token", "create"], None);
    let s = start(dir.path());
    let a = agent();
    let (_, group, _) = call(
        &a,
        "POST",
        &format!("{}/Groups", s.scim),
        &token,
        &[],
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Contended"})),
    );
    let gid = group["id"].as_str().unwrap().to_string();
    const CLIENTS: usize = 16;
    const EACH: usize = 12;
    let expected = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (scim, token, gid, expected) = (s.scim.clone(), token.clone(), gid.clone(), expected.clone());
            std::thread::spawn(move || {
                let a = agent();
                for i in 0..EACH {
                    let id = new_user(&a, &scim, &token, &format!("c{c}-{i}@example.com"));
                    let (st, _, body) = call(
                        &a,
                        "PATCH",
                        &format!("{scim}/Groups/{gid}"),
                        &token,
                        &[],
                        Some(patch(json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]))),
                    );
                    assert!(st == 200 || st == 204, "{st} {body}");
                    // Every other member leaves again, by value filter.
                    if i % 2 == 1 {
                        let path = format!("members[value eq \"{id}\"]");
                        let (st, _, body) = call(
                            &a,
                            "PATCH",
                            &format!("{scim}/Groups/{gid}"),
                            &token,
                            &[],
                            Some(patch(json!([{"op": "Remove", "path": path}]))),
                        );
                        assert!(st == 200 || st == 204, "{st} {body}");
                    } else {
                        expected.lock().unwrap().push(id);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (_, group, _) = call(&a, "GET", &format!("{}/Groups/{gid}", s.scim), &token, &[], None);
    let mut got: Vec<String> =
        group["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap().to_string()).collect();
    let mut want = expected.lock().unwrap().clone();
    got.sort();
    want.sort();
    assert_eq!(got.len(), CLIENTS * EACH / 2);
    assert_eq!(got, want, "no member add or remove was lost");
    assert_eq!(
        group["meta"]["version"],
        format!("W/\"{}\"", 1 + CLIENTS * EACH * 3 / 2).as_str(),
        "every change bumped the version once"
    );
}

#[test]
fn two_writers_with_the_same_if_match_get_one_412() {
    let dir = tempfile::tempdir().unwrap();
    let token = cli(&dir.path().join("db/r.db"), &["token", "create"], None);
    let s = start(dir.path());
    let a = agent();
    for round in 0..10 {
        let id = new_user(&a, &s.scim, &token, &format!("race{round}@example.com"));
        let (_, user, _) = call(&a, "GET", &format!("{}/Users/{id}", s.scim), &token, &[], None);
        let version = user["meta"]["version"].as_str().unwrap().to_string();
        let threads: Vec<_> = (0..2)
            .map(|w| {
                let (url, token, version) = (format!("{}/Users/{id}", s.scim), token.clone(), version.clone());
                std::thread::spawn(move || {
                    let body = patch(json!([{"op": "replace", "path": "displayName", "value": format!("writer {w}")}]));
                    call(&agent(), "PATCH", &url, &token, &[("If-Match", &version)], Some(body)).0
                })
            })
            .collect();
        let mut statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        statuses.sort();
        assert_eq!(statuses, vec![200, 412], "round {round}");
    }
}

#[test]
fn a_backup_taken_under_load_holds_every_user_acknowledged_before_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db/r.db");
    let token = cli(&db, &["token", "create"], None);
    let s = start(dir.path());
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (scim, token, acked, stop) = (s.scim.clone(), token.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let a = agent();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let name = format!("load-{w}-{n}@example.com");
                    let (st, _, _) = call(
                        &a,
                        "POST",
                        &format!("{scim}/Users"),
                        &token,
                        &[],
                        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})),
                    );
                    assert_eq!(st, 201);
                    acked.lock().unwrap().push(name);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    let before: Vec<String> = acked.lock().unwrap().clone();
    let copy = dir.path().join("backup.db");
    let out = cli(&db, &["backup", copy.to_str().unwrap()], None);
    assert!(out.contains("backed up"), "{out}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(before.len() > 20, "load too light: {}", before.len());
    // Restore = the backup file as the database; start a server on it and look.
    let restored = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(restored.path().join("db")).unwrap();
    std::fs::copy(&copy, restored.path().join("db/r.db")).unwrap();
    let r = start(restored.path());
    let a = agent();
    for name in &before {
        let url =
            format!("{}/Users?filter=userName%20eq%20%22{}%22&attributes=userName", r.scim, name.replace('@', "%40"));
        let (_, list, _) = call(&a, "GET", &url, &token, &[], None);
        assert_eq!(list["totalResults"], 1, "{name} acknowledged before the backup is missing from it");
    }
    println!("backup under load: {} users acknowledged before the backup, all restored", before.len());
}

#[test]
fn secrets_never_appear_in_the_database_logs_or_responses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db/r.db");
    let token = cli(&db, &["token", "create", "--name", "entra"], None);
    let password = "the admin's very secret passphrase";
    cli(&db, &["admin", "create", "--email", "root@example.com"], Some(&format!("{password}\n")));
    let s = start(dir.path());
    let a = agent();
    // Use the token, fail with a wrong one that shares its prefix, sign in right and wrong.
    new_user(&a, &s.scim, &token, "someone@example.com");
    let wrong = format!("{}x", &token[..token.len() - 1]);
    let (st, body, text) = call(&a, "GET", &format!("{}/Users", s.scim), &wrong, &[], None);
    assert_eq!(st, 401);
    assert!(!text.contains(&wrong) && !text.contains(&token), "{body}");
    for pw in [password, "wrong guess at it"] {
        let res = a
            .post(&format!("{}/admin/default/login", s.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(format!("email=root%40example.com&password={}", pw.replace(' ', "+").replace('\'', "%27")))
            .unwrap();
        let status = res.status().as_u16();
        let page = res.into_body().read_to_string().unwrap_or_default();
        assert!(status == 303 || status == 401, "{status}");
        assert!(!page.contains(pw), "password echoed");
    }
    // Stop the server so every byte it wrote is on disk, then grep everything.
    drop(s);
    let mut haystack = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("db")).unwrap() {
        haystack.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    haystack.extend(std::fs::read(dir.path().join("server.log")).unwrap_or_default());
    haystack.extend(std::fs::read(dir.path().join("server.out")).unwrap_or_default());
    let find = |needle: &str| haystack.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!find(&token), "the token is stored or logged in clear");
    assert!(!find(&token[6..30]), "a part of the token is stored or logged");
    assert!(!find(password), "the password is stored or logged in clear");
    assert!(!find("wrong guess at it"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let hash: String = conn.query_row("SELECT password_hash FROM admins", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let token = cli(&dir.path().join("db/r.db"), &["token", "create"], None);
    let mut s = start(dir.path());
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "inflight@example.com"})
        .to_string();
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST /scim/v2/default/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SIGTERM while the request is half sent.
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    // A new connection is refused or dropped; the in-flight one completes.
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    // And it was stored.
    let db = rusqlite::Connection::open(dir.path().join("db/r.db")).unwrap();
    let n: i64 =
        db.query_row("SELECT COUNT(*) FROM users WHERE user_name = 'inflight@example.com'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}
