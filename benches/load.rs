//! Load benchmark: `cargo bench --bench load` (full, release build, writes
//! docs/benchmarks.md) or `cargo bench --bench load --profile dev -- --smoke`
//! (seconds, small data; CI runs it so the benchmark cannot rot).
//!
//! It starts the real server on a fresh temporary database on loopback,
//! provisions through the real SCIM API, and drives it with concurrent
//! keep-alive HTTP/1.1 clients, reporting requests/s, p50/p99/max latency and
//! the server's peak resident memory for each scenario. Targets are ratios to
//! `GET /healthz` measured in the same run, so machine noise cancels.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Sizes and durations of one run.
#[derive(Clone, Copy)]
struct Plan {
    users: usize,
    groups: usize,
    memberships: usize,
    big_group: usize,
    sync_concurrency: usize,
    concurrency: usize,
    warmup: Duration,
    measure: Duration,
    /// Timed adds to each of the small and the big group.
    member_rounds: usize,
}

const FULL: Plan = Plan {
    users: 100_000,
    groups: 1_000,
    memberships: 100_000,
    big_group: 50_000,
    sync_concurrency: 32,
    concurrency: 32,
    warmup: Duration::from_secs(2),
    measure: Duration::from_secs(10),
    member_rounds: 1_000,
};

const SMOKE: Plan = Plan {
    users: 1_000,
    groups: 20,
    memberships: 1_000,
    big_group: 400,
    sync_concurrency: 8,
    concurrency: 8,
    warmup: Duration::from_millis(100),
    measure: Duration::from_millis(500),
    member_rounds: 100,
};

// ---------------------------------------------------------------------------
// A minimal keep-alive HTTP/1.1 client: the benchmark measures the server,
// so the client does as little as possible.

struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    set_cookie: Option<String>,
}

impl Conn {
    async fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        Conn { stream: BufReader::new(stream), host: format!("127.0.0.1:{port}") }
    }

    async fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        if let Some(b) = body {
            let _ = write!(head, "Content-Length: {}\r\n", b.len());
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if let Some(b) = body {
            out.extend_from_slice(b);
        }
        self.stream.get_mut().write_all(&out).await.expect("write");
        let mut line = String::new();
        self.stream.read_line(&mut line).await.expect("status line");
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        let mut set_cookie = None;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.expect("header");
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("set-cookie") {
                    set_cookie = Some(v.trim().split(';').next().unwrap_or("").to_string());
                }
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.expect("body");
        Reply { status, body, set_cookie }
    }
}

/// One request of a scenario.
struct Req {
    method: &'static str,
    path: String,
    body: Option<Vec<u8>>,
}

impl Req {
    fn get(path: String) -> Req {
        Req { method: "GET", path, body: None }
    }
    fn json(method: &'static str, path: String, body: Value) -> Req {
        Req { method, path, body: Some(body.to_string().into_bytes()) }
    }
}

// ---------------------------------------------------------------------------

struct Server {
    child: Child,
    port: u16,
    token: String,
    cookie: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Peak resident memory since the last reset, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
    /// Resets the kernel's peak-RSS mark (Linux: write 5 to clear_refs).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scim-portal")
}

fn start(db: &Path, fresh: bool) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = |c: &mut Command| {
        c.env("ROCKET_DATABASE_PATH", db).env("ROCKET_PORT", port.to_string()).env("ROCKET_LOG_LEVEL", "off");
    };
    let mut token_cmd = Command::new(bin());
    env(&mut token_cmd);
    let token = String::from_utf8(token_cmd.args(["token", "create", "--name", "bench"]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    let mut admin = Command::new(bin());
    env(&mut admin);
    let mut child = admin
        .args(["admin", "create", "--email", "bench@example.com"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"benchmark password\n").unwrap();
    // A kept database already has the administrator.
    assert!(child.wait().unwrap().success() || !fresh);
    let mut serve = Command::new(bin());
    env(&mut serve);
    let child = serve.arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(30), "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, port, token, cookie: String::new() }
}

// ---------------------------------------------------------------------------

#[derive(Clone)]
struct Row {
    name: String,
    requests: u64,
    /// Measured seconds (wall time for timed scenarios, summed latency for one-client ones).
    seconds: f64,
    rps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    errors: u64,
    peak_rss: f64,
    /// `/healthz` req/s measured just before this scenario: the ceiling its
    /// target ratio is taken against, so that the machine's drift over a run
    /// (this shared VM's /healthz moved between 29k and 64k req/s in one day)
    /// cancels out as the issue intends.
    ceiling: Option<f64>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Runs `make(worker, n)` requests from `concurrency` keep-alive clients for
/// `plan.warmup + plan.measure`, measuring only after the warm-up.
async fn timed<F>(
    server: &Server,
    name: &str,
    concurrency: usize,
    plan: Plan,
    headers: Vec<(String, String)>,
    make: F,
) -> Row
where
    F: Fn(usize, u64) -> Req + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let headers = Arc::new(headers);
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let end = measure_from + plan.measure;
    server.reset_peak();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (make, headers, errors, port) = (make.clone(), headers.clone(), errors.clone(), server.port);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let mut lat = Vec::new();
            let mut n = 0u64;
            let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            loop {
                let t = Instant::now();
                if t >= end {
                    break;
                }
                let req = make(w, n);
                n += 1;
                let reply = conn.send(req.method, &req.path, &hs, req.body.as_deref()).await;
                let done = Instant::now();
                if done >= measure_from && t >= measure_from {
                    lat.push(done.duration_since(t).as_micros().min(u32::MAX as u128) as u32);
                    if reply.status >= 400 {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let seconds = plan.measure.as_secs_f64();
    Row {
        name: name.to_string(),
        requests: all.len() as u64,
        seconds,
        rps: all.len() as f64 / seconds,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        max: percentile(&all, 1.0),
        errors: errors.load(Ordering::Relaxed),
        peak_rss: server.peak_rss_mib(),
        ceiling: None,
    }
}

/// Measures `/healthz` now, as the ceiling for the scenario that follows.
async fn ceiling_now(server: &Server, plan: Plan, ceilings: &mut Vec<f64>) -> f64 {
    let c = plan.concurrency;
    let health = timed(server, "GET /healthz", c, plan, vec![], |_, _| Req::get("/healthz".into())).await;
    ceilings.push(health.rps);
    health.rps
}

fn scim_headers(server: &Server) -> Vec<(String, String)> {
    vec![("Authorization".into(), server.auth()), ("Content-Type".into(), "application/scim+json".into())]
}

fn entra_user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": name, "userName": format!("{name}@example.com"), "active": true,
        "displayName": format!("User {name}"), "title": "Engineer",
        "emails": [{"primary": true, "type": "work", "value": format!("{name}@example.com")}],
        "name": {"formatted": format!("User {name}"), "familyName": name, "givenName": "User"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
        "meta": {"resourceType": "User"}
    })
}

fn filter_path(endpoint: &str, filter: &str, extra: &str) -> String {
    let enc: String = filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/scim/v2/default/{endpoint}?filter={enc}{extra}")
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Entra's first sync: for each user filter → POST; for each group filter →
/// POST → member-add PATCHes. Returns (seconds, requests, user ids, group ids).
async fn first_sync(server: &Server, plan: Plan) -> (f64, u64, Vec<String>, Vec<String>) {
    let start = Instant::now();
    let requests = Arc::new(AtomicU64::new(0));
    let auth = server.auth();
    let per = plan.users.div_ceil(plan.sync_concurrency);
    let mut tasks = Vec::new();
    for w in 0..plan.sync_concurrency {
        let (auth, requests, port) = (auth.clone(), requests.clone(), server.port);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let h = [("Authorization", auth.as_str()), ("Content-Type", "application/scim+json")];
            let mut ids = Vec::new();
            for i in (w * per)..((w + 1) * per).min(plan.users) {
                let name = format!("u{i:06}");
                let q = conn
                    .send("GET", &filter_path("Users", &format!("userName eq \"{name}@example.com\""), ""), &h, None)
                    .await;
                assert_eq!(q.status, 200);
                let r = conn
                    .send("POST", "/scim/v2/default/Users", &h, Some(entra_user(&name).to_string().as_bytes()))
                    .await;
                assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                ids.push((i, v["id"].as_str().unwrap().to_string()));
                requests.fetch_add(2, Ordering::Relaxed);
            }
            ids
        }));
    }
    let mut users = vec![String::new(); plan.users];
    for t in tasks {
        for (i, id) in t.await.unwrap() {
            users[i] = id;
        }
    }
    let users = Arc::new(users);
    let per_group = plan.memberships / plan.groups;
    let gper = plan.groups.div_ceil(plan.sync_concurrency);
    let mut tasks = Vec::new();
    for w in 0..plan.sync_concurrency {
        let (auth, requests, port, users) = (auth.clone(), requests.clone(), server.port, users.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let h = [("Authorization", auth.as_str()), ("Content-Type", "application/scim+json")];
            let mut ids = Vec::new();
            for g in (w * gper)..((w + 1) * gper).min(plan.groups) {
                let name = format!("Group {g:04}");
                let q = conn
                    .send(
                        "GET",
                        &filter_path("Groups", &format!("displayName eq \"{name}\""), "&excludedAttributes=members"),
                        &h,
                        None,
                    )
                    .await;
                assert_eq!(q.status, 200);
                let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                    "externalId": format!("g{g}"), "displayName": name, "meta": {"resourceType": "Group"}});
                let r = conn.send("POST", "/scim/v2/default/Groups", &h, Some(body.to_string().as_bytes())).await;
                assert_eq!(r.status, 201);
                let v: Value = serde_json::from_slice(&r.body).unwrap();
                let gid = v["id"].as_str().unwrap().to_string();
                requests.fetch_add(2, Ordering::Relaxed);
                for m in 0..per_group {
                    let user = &users[(g * per_group + m) % users.len()];
                    let p =
                        patch_body(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": user}]}]));
                    let r = conn
                        .send("PATCH", &format!("/scim/v2/default/Groups/{gid}"), &h, Some(p.to_string().as_bytes()))
                        .await;
                    assert!(r.status == 200 || r.status == 204);
                    requests.fetch_add(1, Ordering::Relaxed);
                }
                ids.push(gid);
            }
            ids
        }));
    }
    let mut groups = Vec::new();
    for t in tasks {
        groups.extend(t.await.unwrap());
    }
    let users = Arc::try_unwrap(users).unwrap_or_else(|a| (*a).clone());
    (start.elapsed().as_secs_f64(), requests.load(Ordering::Relaxed), users, groups)
}

/// Adds members one PATCH at a time to a new group until it has
/// `plan.big_group`, and fills a second group with 100. Then measures adds to
/// both, interleaved so that both see the same machine: each round adds one
/// outside user to each group and removes it again (the removes are not
/// timed), so the groups keep their sizes; which group goes first alternates.
async fn group_growth(server: &Server, plan: Plan, users: &[String]) -> (Row, Row) {
    let mut conn = Conn::open(server.port).await;
    let auth = server.auth();
    let h = [("Authorization", auth.as_str()), ("Content-Type", "application/scim+json")];
    let window = 100.min(plan.big_group / 4);
    let mut create = async |name: &str| {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
        let r = conn.send("POST", "/scim/v2/default/Groups", &h, Some(body.to_string().as_bytes())).await;
        let gid = serde_json::from_slice::<Value>(&r.body).unwrap()["id"].as_str().unwrap().to_string();
        format!("/scim/v2/default/Groups/{gid}")
    };
    let big_path = create("Everyone (growth)").await;
    let small_path = create("Small (growth)").await;
    let member = |op: &str, user: &str| {
        patch_body(json!([{"op": op, "path": "members", "value": [{"$ref": null, "value": user}]}])).to_string()
    };
    server.reset_peak();
    for (path, size) in [(&big_path, plan.big_group), (&small_path, window)] {
        for user in &users[..size] {
            let r = conn.send("PATCH", path, &h, Some(member("Add", user).as_bytes())).await;
            assert!(r.status == 200 || r.status == 204, "{}", r.status);
        }
    }
    let mut small = Vec::new();
    let mut big = Vec::new();
    for (round, user) in users[plan.big_group..].iter().take(plan.member_rounds).enumerate() {
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for to_big in order {
            let path = if to_big { &big_path } else { &small_path };
            let t = Instant::now();
            let r = conn.send("PATCH", path, &h, Some(member("Add", user).as_bytes())).await;
            let us = t.elapsed().as_micros() as u32;
            assert!(r.status == 204, "{}", r.status);
            if to_big {
                big.push(us)
            } else {
                small.push(us)
            }
            let r = conn.send("PATCH", path, &h, Some(member("Remove", user).as_bytes())).await;
            assert!(r.status == 204, "{}", r.status);
        }
    }
    let rss = server.peak_rss_mib();
    let row = |name: String, mut lat: Vec<u32>| {
        let total: f64 = lat.iter().map(|&u| u as f64).sum::<f64>() / 1e6;
        lat.sort_unstable();
        Row {
            name,
            requests: lat.len() as u64,
            seconds: total,
            rps: lat.len() as f64 / total,
            p50: percentile(&lat, 0.5),
            p99: percentile(&lat, 0.99),
            max: percentile(&lat, 1.0),
            errors: 0,
            peak_rss: rss,
            ceiling: None,
        }
    };
    (
        row(format!("PATCH /Groups add 1 member (group of {window}, 1 client)"), small),
        row(format!("PATCH /Groups add 1 member (group of {}, 1 client)", plan.big_group), big),
    )
}

async fn sign_in(server: &mut Server) {
    let mut conn = Conn::open(server.port).await;
    let body = "email=bench%40example.com&password=benchmark+password";
    let r = conn
        .send(
            "POST",
            "/admin/default/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        )
        .await;
    assert_eq!(r.status, 303, "sign-in");
    server.cookie = r.set_cookie.expect("session cookie");
}

/// Runs the first sync as a scenario; returns the user and group ids.
async fn synced(
    server: &Server,
    plan: Plan,
    rows: &mut Vec<Row>,
    notes: &mut Vec<String>,
) -> (Vec<String>, Vec<String>) {
    server.reset_peak();
    let (secs, reqs, users, groups) = first_sync(server, plan).await;
    let sync_rss = server.peak_rss_mib();
    let sync_rate = reqs as f64 / secs;
    let objects = plan.users + plan.groups + plan.memberships;
    rows.push(Row {
        name: format!(
            "First sync: {} users, {} groups, {} memberships ({} clients)",
            plan.users, plan.groups, plan.memberships, plan.sync_concurrency
        ),
        requests: reqs,
        seconds: secs,
        rps: sync_rate,
        p50: 0.0,
        p99: 0.0,
        max: 0.0,
        errors: 0,
        peak_rss: sync_rss,
        ceiling: None,
    });
    notes.push(format!("First sync took {secs:.1} s: {reqs} requests, {:.0} objects/s.", objects as f64 / secs));

    (users, groups)
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem:.1} GiB memory")
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from("| Scenario | Requests | Seconds | req/s | p50 ms | p99 ms | max ms | errors | peak RSS MiB | /healthz just before, req/s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let ceiling = r.ceiling.map_or_else(|| "—".to_string(), |c| format!("{c:.0}"));
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {ceiling} |",
            r.name, r.requests, r.seconds, r.rps, r.p50, r.p99, r.max, r.errors, r.peak_rss
        );
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let value_of = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1].clone());
    // For profiling one change at a time: `--keep DIR` reuses DIR's database and
    // ids after the first run (skipping the first sync); `--only TEXT` runs
    // only the scenarios whose name contains TEXT. Neither writes docs/benchmarks.md.
    let keep = value_of("--keep").map(PathBuf::from);
    let only = value_of("--only");
    let want = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    let partial = keep.is_some() || only.is_some();
    let plan = if smoke { SMOKE } else { FULL };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = keep.clone().unwrap_or_else(|| dir.path().to_path_buf()).join("db/bench.db");
    let ids_file = keep.as_ref().map(|k| k.join("ids.json"));
    let kept: Option<(Vec<String>, Vec<String>)> =
        ids_file.as_ref().and_then(|f| std::fs::read(f).ok()).and_then(|b| serde_json::from_slice(&b).ok());
    let mut server = start(&db, kept.is_none());
    let c = plan.concurrency;
    let mut rows = Vec::new();
    let mut notes = Vec::new();

    rt.block_on(async {
        let health = timed(&server, &format!("GET /healthz ({c} clients)"), c, plan, vec![], |_, _| Req::get("/healthz".into())).await;
        let base_rps = health.rps;
        let mut ceilings = vec![base_rps];
        rows.push(health);

        let (users, groups) = match kept {
            Some(ids) => ids,
            None => {
                let (users, groups) = synced(&server, plan, &mut rows, &mut notes).await;
                // The sync starts right after the first /healthz: that is its ceiling.
                if let Some(sync) = rows.last_mut() {
                    sync.ceiling = Some(base_rps);
                }
                if let Some(f) = &ids_file {
                    std::fs::write(f, serde_json::to_vec(&(&users, &groups)).unwrap()).unwrap();
                }
                (users, groups)
            }
        };
        let users = Arc::new(users);
        let groups = Arc::new(groups);
        let h = scim_headers(&server);

        if want("GET /Users/{id}") {
            let before = ceiling_now(&server, plan, &mut ceilings).await;
            let u = users.clone();
            let by_id = timed(&server, &format!("GET /Users/{{id}} ({c} clients)"), c, plan, h.clone(), move |w, n| {
                Req::get(format!("/scim/v2/default/Users/{}", u[(w * 7919 + n as usize * 104_729) % u.len()]))
            })
            .await;
            rows.push(Row { ceiling: Some(before), ..by_id });
        }

        let users_n = plan.users;
        if want("GET /Users?filter=userName") {
            let before = ceiling_now(&server, plan, &mut ceilings).await;
            let by_name = timed(&server, &format!("GET /Users?filter=userName eq … over {users_n} users ({c} clients)"), c, plan, h.clone(), move |w, n| {
                let i = (w * 7919 + n as usize * 104_729) % users_n;
                Req::get(filter_path("Users", &format!("userName eq \"u{i:06}@example.com\""), ""))
            })
            .await;
            rows.push(Row { ceiling: Some(before), ..by_name });
        }

        if want("PATCH /Users/{id}") {
            let before = ceiling_now(&server, plan, &mut ceilings).await;
            let u = users.clone();
            let patch = timed(&server, &format!("PATCH /Users/{{id}} Entra dialect ({c} clients)"), c, plan, h.clone(), move |w, n| {
                let id = &u[(w * 7919 + n as usize * 104_729) % u.len()];
                let ops = json!([{"op": "Replace", "path": "title", "value": format!("Title {n}")},
                                 {"op": "Replace", "path": "active", "value": if n % 2 == 0 { "True" } else { "False" }}]);
                Req::json("PATCH", format!("/scim/v2/default/Users/{id}"), patch_body(ops))
            })
            .await;
            rows.push(Row { ceiling: Some(before), ..patch });
        }

        if want("GET /Users pages") {
            let before = ceiling_now(&server, plan, &mut ceilings).await;
            let pages = timed(&server, &format!("GET /Users pages of 100 at random offsets ({c} clients)"), c, plan, h.clone(), move |w, n| {
                let start = 1 + (w * 7919 + n as usize * 104_729) % users_n.saturating_sub(100).max(1);
                Req::get(format!("/scim/v2/default/Users?startIndex={start}&count=100"))
            })
            .await;
            rows.push(Row { ceiling: Some(before), ..pages });
        }

        let gn = groups.len();
        if want("GET /Groups?excludedAttributes") {
            let before = ceiling_now(&server, plan, &mut ceilings).await;
            let group_filter = timed(&server, &format!("GET /Groups?excludedAttributes=members&filter=displayName eq … ({c} clients)"), c, plan, h.clone(), move |w, n| {
                let g = (w * 31 + n as usize * 7) % gn;
                Req::get(filter_path("Groups", &format!("displayName eq \"Group {g:04}\""), "&excludedAttributes=members"))
            })
            .await;
            rows.push(Row { ceiling: Some(before), ..group_filter });
        }

        let run = std::process::id();
        if want("POST /Users") {
            let before = ceiling_now(&server, plan, &mut ceilings).await;
            let create = timed(&server, &format!("POST /Users, Entra-shaped ({c} clients)"), c, plan, h.clone(), move |w, n| {
                Req::json("POST", "/scim/v2/default/Users".into(), entra_user(&format!("new-{run}-{w}-{n}")))
            })
            .await;
            rows.push(Row { ceiling: Some(before), ..create });
        }

        if want("PATCH /Groups add") {
        let (small, big) = group_growth(&server, plan, &users).await;
        notes.push(format!(
            "Adding one member to a {}-member group costs {:.2}× adding one to a 100-member group (p50 {:.2} ms vs {:.2} ms, {} interleaved adds each){}",
            plan.big_group,
            big.p50 / small.p50.max(0.001),
            big.p50,
            small.p50,
            big.requests,
            if big.p50 / small.p50.max(0.001) <= 1.5 { " (target ≤ 1.5×)." } else { " (target ≤ 1.5×) — MISSED." }
        ));
        rows.push(small);
        rows.push(big);
        }

        if want("Portal Users page") || want("Portal Users search") {
            sign_in(&mut server).await;
        }
        let cookie = vec![("Cookie".to_string(), server.cookie.clone())];
        if want("Portal Users page") {
            let portal_users = timed(&server, &format!("Portal Users page, {users_n} users ({c} clients)"), c, plan, cookie.clone(), move |_, n| {
                Req::get(format!("/admin/default/settings/users?page={}", 1 + n % 50))
            })
            .await;
            rows.push(portal_users);
        }
        if want("Portal Users search") {
            let portal_search = timed(&server, &format!("Portal Users search ({c} clients)"), c, plan, cookie, move |w, n| {
                let i = (w * 7919 + n as usize * 104_729) % users_n;
                Req::get(format!("/admin/default/settings/users?q=u{:05}", i / 10))
            })
            .await;
            rows.push(portal_search);
        }

        let ratio = |name: &str| {
            rows.iter().find(|r| r.name.starts_with(name)).map_or(0.0, |r| r.rps / r.ceiling.unwrap_or(base_rps) * 100.0)
        };
        let (low, high) = ceilings.iter().fold((f64::MAX, 0.0f64), |(l, h), &c| (l.min(c), h.max(c)));
        notes.push(format!(
            "Ratios are to the /healthz measured just before each scenario (the table's last column). \
             /healthz was measured {} times in this run: {low:.0} to {high:.0} req/s.",
            ceilings.len()
        ));
        let targets: [(&str, f64); 6] = [
            ("GET /Users/{id}", 50.0),
            ("GET /Users?filter=userName", 50.0),
            ("GET /Groups?excludedAttributes", 50.0),
            ("POST /Users", 25.0),
            ("PATCH /Users", 25.0),
            ("GET /Users pages", 5.0),
        ];
        for (name, target) in targets {
            if !rows.iter().any(|r| r.name.starts_with(name)) {
                continue;
            }
            let got = ratio(name);
            notes.push(format!(
                "{name}: {got:.0} % of /healthz (target ≥ {target:.0} %){}",
                if got >= target { "" } else { " — MISSED" }
            ));
        }
        if let Some(sync) = rows.iter().find(|r| r.name.starts_with("First sync")).map(|r| r.rps / r.ceiling.unwrap_or(base_rps) * 100.0) {
            notes.push(format!("First sync request rate: {sync:.0} % of /healthz (target ≥ 25 %){}", if sync >= 25.0 { "" } else { " — MISSED" }));
        }
        let peak = rows.iter().map(|r| r.peak_rss).fold(0.0, f64::max);
        notes.push(format!("Peak resident memory over all scenarios: {peak:.1} MiB (target ≤ 64 MiB){}", if peak <= 64.0 { "" } else { " — MISSED" }));
        for r in rows.iter().filter(|r| r.name.contains("clients)") && r.p50 > 0.0 && !r.name.starts_with("First")) {
            let x = r.p99 / r.p50;
            if x > 10.0 {
                notes.push(format!("{}: p99 is {x:.1}× p50 (target ≤ 10×) — MISSED", r.name));
            }
        }
    });

    let mut report = format!(
        "# Benchmarks\n\nMachine: {}. Server: the {} build of scim-portal on loopback, fresh SQLite database (WAL, synchronous=NORMAL). \
         Each timed scenario: {:.1} s warm-up, then {:.1} s measured, keep-alive HTTP/1.1 clients. \
         Produced by `cargo bench --bench load`{}.\n\n",
        machine(),
        if cfg!(debug_assertions) { "debug" } else { "release" },
        plan.warmup.as_secs_f64(),
        plan.measure.as_secs_f64(),
        if smoke { " -- --smoke (small data; not representative)" } else { "" }
    );
    report.push_str(&table(&rows));
    report.push_str("\n## Against the targets\n\n");
    for n in &notes {
        let _ = writeln!(report, "- {n}");
    }
    println!("{report}");
    let out = if smoke || partial {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/benchmarks-smoke.md")
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/benchmarks.md")
    };
    std::fs::write(&out, report).unwrap();
    eprintln!("written to {}", out.display());
}
