//! Property tests against the in-process application.
//!
//! Whatever a client sends (random filters, PATCH operations, JSON bodies,
//! query strings, invalid UTF-8), the server answers without a 5xx and
//! without panicking, every 4xx is a SCIM error body served as
//! `application/scim+json`, and a write request that fails stores nothing.
//!
//! Each property builds one app with a few seeded users and groups and runs
//! [`CASES`] generated cases against it (`PROPTEST_CASES` overrides the
//! count, `PROPTEST_RNG_SEED` fixes the seed). A failure prints the minimal
//! failing input proptest found.

mod common;

use std::collections::BTreeSet;
use std::fmt::Debug;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rocket::http::Header;
use scim_portal::scim::filter::parse_filter;
use serde_json::{json, Map, Value};

/// Generated cases per property.
const CASES: u32 = 512;

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const SCIM_JSON: &str = "application/scim+json";

/// Every scimType RFC 7644 §3.12 defines.
const SCIM_TYPES: &[&str] = &[
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
];

// ------------------------------------------------------------ running properties

fn run_property<S>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 512, ..Config::default() };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ------------------------------------------------------------ requests

/// A response, read fully (bodies may be any bytes).
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    text: String,
    body: Value,
    content_type: Option<String>,
}

/// Sends a request to `uri` with the app's token; `content_type` None sends no Content-Type.
fn send(app: &TestApp, method: &str, uri: &str, content_type: Option<&str>, body: Option<Vec<u8>>) -> Reply {
    let uri = uri.to_string();
    let mut r = match method {
        "GET" => app.client.get(uri),
        "POST" => app.client.post(uri),
        "PUT" => app.client.put(uri),
        "PATCH" => app.client.patch(uri),
        "DELETE" => app.client.delete(uri),
        m => panic!("method {m}"),
    };
    r = r.header(Header::new("Authorization", format!("Bearer {}", app.token)));
    if let Some(ct) = content_type {
        r = r.header(Header::new("Content-Type", ct.to_string()));
    }
    if let Some(body) = body {
        r = r.body(body);
    }
    let res = r.dispatch();
    let status = res.status().code;
    let content_type = res.headers().get_one("Content-Type").map(str::to_string);
    let text = res.into_string().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, text, body, content_type }
}

fn tenant_uri(path: &str) -> String {
    format!("/scim/v2/default{path}")
}

fn get(app: &TestApp, path: &str) -> Reply {
    send(app, "GET", &tenant_uri(path), None, None)
}

fn send_json(app: &TestApp, method: &str, path: &str, body: &Value) -> Reply {
    send(app, method, &tenant_uri(path), Some(SCIM_JSON), Some(body.to_string().into_bytes()))
}

/// The rules every response follows.
fn check_reply(r: &Reply, ctx: &str) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500, "{ctx}: got {} {}", r.status, r.text);
    if r.status >= 400 {
        prop_assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON), "{}: {} {}", ctx, r.status, r.text);
        prop_assert_eq!(&r.body["schemas"], &json!([ERROR]), "{}: {}", ctx, r.text);
        let status = r.status.to_string();
        prop_assert_eq!(r.body["status"].as_str(), Some(status.as_str()), "{}: {}", ctx, r.text);
        prop_assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}: {}", ctx, r.text);
        match &r.body["scimType"] {
            Value::Null => {}
            Value::String(t) => {
                prop_assert!(SCIM_TYPES.contains(&t.as_str()), "{}: scimType {}", ctx, t)
            }
            other => prop_assert!(false, "{}: scimType {}", ctx, other),
        }
    } else if r.status != 204 && r.status != 304 {
        prop_assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON), "{}: {}", ctx, r.text);
        prop_assert!(r.body.is_object(), "{}: {}", ctx, r.text);
    }
    Ok(())
}

fn check_list(r: &Reply, ctx: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(&r.body["schemas"], &json!([LIST]), "{}: {}", ctx, r.text);
    let resources = r.body["Resources"].as_array();
    prop_assert!(resources.is_some(), "{}: {}", ctx, r.text);
    let n = resources.map_or(0, Vec::len) as u64;
    prop_assert_eq!(r.body["itemsPerPage"].as_u64(), Some(n), "{}: {}", ctx, r.text);
    prop_assert!(r.body["totalResults"].as_u64().is_some_and(|t| t >= n), "{}: {}", ctx, r.text);
    prop_assert!(r.body["startIndex"].as_u64().is_some_and(|s| s >= 1), "{}: {}", ctx, r.text);
    prop_assert!(n <= 1000, "{}: {} resources", ctx, n);
    Ok(())
}

fn total(r: &Reply) -> u64 {
    r.body["totalResults"].as_u64().expect("totalResults")
}

fn ids(r: &Reply) -> BTreeSet<String> {
    r.body["Resources"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

// ------------------------------------------------------------ the seeded world

struct World {
    app: TestApp,
    /// A user shaped like Entra's, member of `eng`.
    ada: String,
    /// A user with only a userName and displayName, in no group.
    bob: String,
    /// A group with `ada` as its member.
    eng: String,
}

fn world() -> World {
    let app = TestApp::new();
    let ada = app.entra_user("ada@example.com");
    let bob = app.post("/Users", &json!({"schemas": [USER], "userName": "bob", "displayName": "Bob"})).expect(201).id();
    let eng = app
        .post("/Groups", &json!({"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": ada}]}))
        .expect(201)
        .id();
    app.entra_group("Empty");
    World { app, ada, bob, eng }
}

/// What a failed write must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    users: i64,
    groups: i64,
    members: i64,
    ada: String,
    eng: String,
}

impl World {
    /// Puts `ada` and `eng` back as seeded, so that each case starts from the
    /// same state (and a shrunk failing case reproduces on its own).
    fn reset(&self) {
        self.app.put(&format!("/Users/{}", self.ada), &entra_user_body("ada@example.com")).expect(200);
        let eng = json!({"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": self.ada}]});
        self.app.put(&format!("/Groups/{}", self.eng), &eng).expect(200);
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            users: self.app.count("users"),
            groups: self.app.count("groups"),
            members: self.app.count("group_members"),
            ada: get(&self.app, &format!("/Users/{}", self.ada)).text,
            eng: get(&self.app, &format!("/Groups/{}", self.eng)).text,
        }
    }
}

// ------------------------------------------------------------ generators: text

/// Strings that stress parsers: quotes, escapes, NUL, non-ASCII, long runs.
fn nasty_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9@._ -]{0,12}",
        2 => prop::sample::select(vec![
            "", " ", "\"", "\\", "\0", "x\u{0}y", "é", "ÉCOLE", "日本", "😀", "\u{feff}", "\u{202e}", "%", "%00",
            "'", "'; DROP TABLE users; --", "\n", "\t", "True", "False", "null", "1e999", "-0", "W/\"1\"",
            "2011-05-13T04:42:34Z", "ada@example.com", "work", "Engineering",
        ])
        .prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| s.chars().take(40).collect()),
        1 => (prop::sample::select(vec!["x", "é", "\"", "\\"]), 0usize..3000).prop_map(|(c, n)| c.repeat(n)),
    ]
    .boxed()
}

const FILTER_TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    " ",
    " ",
    " ",
    "\"",
    "\\",
    ".",
    ":",
    "eq",
    "NE",
    "co",
    "sw",
    "ew",
    "gt",
    "lt",
    "ge",
    "le",
    "pr",
    "and",
    "Or",
    "not",
    "not (",
    "userName",
    "emails",
    "value",
    "type",
    "members",
    "$ref",
    "\"x\"",
    "\"\"",
    "\"a\\\"b\"",
    "1",
    "-2.5e3",
    "1e999",
    "true",
    "FALSE",
    "null",
    "meta.lastModified",
    "name.givenName",
    "urn:ietf:params:scim:schemas:core:2.0:User:",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
    "manager.value",
    "é",
    "\u{0}",
    "\n",
    "'",
    "%",
    "+",
    "&",
    "=",
    "#",
    "?",
    "/",
];

fn token_soup() -> BoxedStrategy<String> {
    prop::collection::vec(
        prop_oneof![
            6 => prop::sample::select(FILTER_TOKENS).prop_map(str::to_string),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..30,
    )
    .prop_map(|t| t.concat())
    .boxed()
}

/// A JSON string literal, as a filter value.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn random_case(s: &str, seed: u8) -> String {
    s.chars().enumerate().map(|(i, c)| if (seed >> (i % 8)) & 1 == 1 { c.to_ascii_uppercase() } else { c }).collect()
}

// ------------------------------------------------------------ generators: grammar-shaped filters

const FILTER_ATTRS: &[&str] = &[
    "userName",
    "USERNAME",
    "displayName",
    "title",
    "active",
    "externalId",
    "id",
    "nickName",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "phoneNumbers.value",
    "addresses.country",
    "groups",
    "groups.value",
    "groups.display",
    "members",
    "members.value",
    "members.display",
    "meta.created",
    "meta.lastModified",
    "meta.version",
    "meta.resourceType",
    "meta.location",
    "schemas",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "name",
    "meta",
    "password",
    "nonsense",
    "name.nonsense",
    "emails.nonsense",
    "urn:bogus:x:attr",
    "$ref",
];

const VALUE_PATH_ATTRS: &[&str] =
    &["emails", "phoneNumbers", "addresses", "groups", "members", "roles", "name", "title", "nonsense"];
const SUB_ATTRS: &[&str] = &["value", "type", "primary", "display", "$ref", "country", "nonsense"];
const OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"];

fn filter_value() -> BoxedStrategy<String> {
    prop_oneof![
        4 => nasty_string().prop_map(|s| quoted(&s)),
        1 => prop::sample::select(vec![
            "true", "false", "True", "FALSE", "null", "NULL", "0", "-1", "1.5", "1e308", "-1e308", "1e-308",
            "18446744073709551615", "99999999999999999999999", "-9223372036854775808",
            "\"2011-05-13T04:42:34Z\"", "\"2999-01-01T00:00:00+13:00\"", "\"W/\\\"1\\\"\"", "\"1\"",
            "\"User\"", "\"Group\"",
        ])
        .prop_map(str::to_string),
    ]
    .boxed()
}

fn comparison(attrs: &'static [&'static str]) -> BoxedStrategy<String> {
    (prop::sample::select(attrs), prop::sample::select(OPS), filter_value(), any::<u8>(), 0..6u8)
        .prop_map(|(a, op, v, case, kind)| match kind {
            0 => format!("{a} {}", random_case("pr", case)),
            _ => format!("{a} {} {v}", random_case(op, case)),
        })
        .boxed()
}

fn value_path() -> BoxedStrategy<String> {
    let inner = comparison(SUB_ATTRS).prop_recursive(2, 4, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    });
    (
        prop::sample::select(VALUE_PATH_ATTRS),
        inner,
        prop::option::of((prop::sample::select(SUB_ATTRS), prop::sample::select(OPS), filter_value())),
    )
        .prop_map(|(a, inner, trailing)| match trailing {
            None => format!("{a}[{inner}]"),
            Some((sub, op, v)) => format!("{a}[{inner}].{sub} {op} {v}"),
        })
        .boxed()
}

/// Filters shaped by the grammar (with unknown attributes, mismatched types and odd values).
fn grammar_filter() -> BoxedStrategy<String> {
    let leaf = prop_oneof![4 => comparison(FILTER_ATTRS), 1 => value_path()];
    leaf.prop_recursive(4, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone(), prop::sample::select(vec!["and", "AND", "or", "Or"]))
                .prop_map(|(a, b, k)| format!("{a} {k} {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
    .boxed()
}

// ------------------------------------------------------------ generators: JSON

const KEYS: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "userName",
    "displayName",
    "active",
    "name",
    "givenName",
    "emails",
    "value",
    "type",
    "primary",
    "members",
    "meta",
    "version",
    "password",
    "groups",
    "title",
    "Operations",
    "op",
    "path",
    "filter",
    "count",
    "startIndex",
    "sortBy",
    "attributes",
    "$ref",
    "display",
    "manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "",
    "\u{0}",
    "é",
];

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        2 => any::<bool>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        4 => nasty_string().prop_map(Value::from),
        1 => prop::sample::select(vec!["True", "False", "", "urn:ietf:params:scim:schemas:core:2.0:User"]).prop_map(Value::from),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(4, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(
                    (prop_oneof![3 => prop::sample::select(KEYS).prop_map(str::to_string), 1 => nasty_string()], inner),
                    0..5
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A valid request body of each kind, to be mutated.
/// The kind of body an endpoint takes; in a [`Body`] it stands for "the endpoint's own kind".
const OWN: usize = usize::MAX;

/// What a request body is made for: the seeded user, the endpoint's own kind
/// of body and a number that makes created names unique.
#[derive(Clone, Copy)]
struct For<'a> {
    ada: &'a str,
    own: usize,
    salt: u32,
}

fn template(kind: usize, f: For<'_>) -> Value {
    let kind = if kind == OWN { f.own } else { kind };
    let ada = f.ada;
    match kind {
        0 => entra_user_body(&format!("new{}@example.com", f.salt)),
        1 => entra_group_body(&format!("New group {}", f.salt)),
        2 => {
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]})
        }
        3 => json!({"schemas": [GROUP], "displayName": "Renamed", "members": [{"value": ada}]}),
        _ => {
            json!({"schemas": [SEARCH], "filter": "userName sw \"a\"", "startIndex": 1, "count": 10})
        }
    }
}

/// Sets or removes `key` somewhere in `doc` (top level or one level down).
fn mutate(doc: &mut Value, key: &str, value: Option<Value>, depth: usize) {
    let Value::Object(map) = doc else { return };
    if depth > 0 {
        let nested: Vec<String> = map.iter().filter(|(_, v)| v.is_object()).map(|(k, _)| k.clone()).collect();
        if let Some(k) = nested.get(depth % nested.len().max(1)) {
            if let Some(inner) = map.get_mut(k) {
                return mutate(inner, key, value, 0);
            }
        }
    }
    match value {
        Some(v) => {
            map.insert(key.to_string(), v);
        }
        None => {
            map.remove(key);
        }
    }
}

#[derive(Debug, Clone)]
enum Body {
    /// A valid body of a kind, with random keys set or removed.
    Mutated(usize, Vec<(String, Option<Value>, usize)>),
    /// Any JSON value.
    Random(Value),
    /// A valid body of a kind, with text spliced in at a character position.
    Spliced(usize, String, usize),
    /// A valid body of a kind, cut short.
    Truncated(usize, usize),
    /// A JSON array nested this deep, as the value of `userName`.
    Deep(usize),
    /// A string of this many characters, as the value of `displayName`.
    Long(usize),
    /// Any bytes.
    Bytes(Vec<u8>),
    /// A valid body of a kind with these (mostly invalid UTF-8) bytes inside a string value.
    BadUtf8(usize, Vec<u8>),
}

fn body() -> BoxedStrategy<Body> {
    let kind = prop_oneof![3 => Just(OWN), 1 => 0usize..5];
    let spliced_text = prop::sample::select(vec![
        "\"userName\": \"dup@example.com\", ",
        "\"userName\": 5, ",
        "\"displayName\": \"a\", \"displayName\": \"b\", ",
        "\"Operations\": [], ",
        "\"schemas\": [], ",
        "\"x\": \"\\u0000\", ",
        "\"x\": \"\u{0}\", ",
        "\"n\": 1e999, ",
        "\"n\": -1e999, ",
        "\"n\": 123456789012345678901234567890, ",
        "\"n\": NaN, ",
        "\"n\": 0x10, ",
        "\"s\": \"\\ud800\", ",
        "\"s\": \"\\uDFFF\\uD800\", ",
        "/* comment */ ",
        "\u{feff}",
        ",",
        "}",
        "{",
        "]",
        "\"",
        "\\",
        "\u{0}",
        "\n\t ",
    ]);
    prop_oneof![
        4 => (kind.clone(), prop::collection::vec(
            (prop::sample::select(KEYS).prop_map(str::to_string), prop::option::weighted(0.8, json_value()), 0usize..3),
            0..4,
        ))
        .prop_map(|(k, m)| Body::Mutated(k, m)),
        2 => json_value().prop_map(Body::Random),
        3 => (kind.clone(), spliced_text.prop_map(str::to_string), any::<usize>()).prop_map(|(k, t, at)| Body::Spliced(k, t, at)),
        1 => (kind.clone(), any::<usize>()).prop_map(|(k, at)| Body::Truncated(k, at)),
        1 => prop_oneof![100usize..200, 1_000usize..100_000].prop_map(Body::Deep),
        1 => prop_oneof![16_000usize..17_000, 100_000usize..1_100_000].prop_map(Body::Long),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        2 => (kind, prop::collection::vec(
            prop_oneof![
                Just(vec![0xff]), Just(vec![0xfe, 0xff]), Just(vec![0xc3]), Just(vec![0xc0, 0xaf]),
                Just(vec![0xed, 0xa0, 0x80]), Just(vec![0xf4, 0x90, 0x80, 0x80]), Just(vec![0xe2, 0x82]),
                Just(vec![0x80]), Just(b"ok".to_vec()),
            ],
            1..4,
        ))
        .prop_map(|(k, parts)| Body::BadUtf8(k, parts.concat())),
    ]
    .boxed()
}

impl Body {
    fn bytes(&self, f: For<'_>) -> Vec<u8> {
        match self {
            Body::Mutated(kind, edits) => {
                let mut doc = template(*kind, f);
                for (key, value, depth) in edits {
                    mutate(&mut doc, key, value.clone(), *depth);
                }
                doc.to_string().into_bytes()
            }
            Body::Random(v) => v.to_string().into_bytes(),
            Body::Spliced(kind, text, at) => {
                let s = template(*kind, f).to_string();
                // Usually right after the opening brace, so the result may still be valid JSON.
                let at = if at % 3 == 0 { at % (s.len() + 1) } else { 1 };
                let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                format!("{}{}{}", &s[..at], text, &s[at..]).into_bytes()
            }
            Body::Truncated(kind, at) => {
                let s = template(*kind, f).to_string().into_bytes();
                s[..at % s.len()].to_vec()
            }
            Body::Deep(n) => {
                format!(r#"{{"schemas": ["{USER}"], "userName": {}"deep"{}}}"#, "[".repeat(*n), "]".repeat(*n))
                    .into_bytes()
            }
            Body::Long(n) => {
                let mut doc = template(0, f);
                doc["displayName"] = Value::String("x".repeat(*n));
                doc.to_string().into_bytes()
            }
            Body::Bytes(b) => b.clone(),
            Body::BadUtf8(kind, bad) => {
                let s = template(*kind, f).to_string();
                // Inside the first string value: after the first `: "`.
                let at = s.find(":\"").map_or(1, |i| i + 2);
                let mut out = s.as_bytes()[..at].to_vec();
                out.extend_from_slice(bad);
                out.extend_from_slice(&s.as_bytes()[at..]);
                out
            }
        }
    }
}

// ------------------------------------------------------------ generators: PATCH

const PATCH_PATHS: &[&str] = &[
    "displayName",
    "userName",
    "title",
    "active",
    "externalId",
    "nickName",
    "password",
    "name",
    "name.givenName",
    "name.familyName",
    "name.nonsense",
    "emails",
    "emails.value",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[type eq \"other\"].value",
    "emails[type eq \"work\"].primary",
    "emails[value co \"example\"]",
    "emails[nonsense eq \"x\"].value",
    "emails[type eq \"work\"].nonsense",
    "phoneNumbers[type eq \"mobile\"].value",
    "addresses[type eq \"work\"].streetAddress",
    "addresses[type eq \"work\" and primary eq true].locality",
    "roles",
    "groups",
    "members",
    "MEMBERS",
    "members[value eq \"x\"]",
    "members[value eq \"x\"].value",
    "members[nonsense pr]",
    "members.value",
    "id",
    "meta",
    "meta.version",
    "schemas",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "urn:bogus:x:attr",
    "emails[",
    "emails]",
    "emails[type eq \"work\"].value eq \"x\"",
    "",
    " ",
];

const PATCH_OPS: &[&str] = &["add", "replace", "remove", "Add", "Replace", "Remove", "ADD", "move", ""];

fn patch_value(ada: String) -> BoxedStrategy<Value> {
    prop_oneof![
        3 => json_value(),
        2 => prop::sample::select(vec![
            json!(""), json!(null), json!("False"), json!("True"), json!(true), json!([]), json!({}),
            json!([{"value": "a@x.example", "type": "work", "primary": true}]),
            json!([{"value": "a@x.example", "primary": true}, {"value": "b@x.example", "primary": true}]),
            json!({"value": "m-1", "$ref": null}),
            json!({"displayName": "Patched", "name.givenName": "G", "active": "False",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D"}),
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m-2", "schemas": []}}),
            json!({"members": [{"value": "nobody"}]}),
            json!({"userName": "bob"}),
            json!({"displayName": "Empty"}),
            json!({"id": "x", "meta": {}}),
        ]),
        1 => Just(json!([{"value": ada}])),
        1 => Just(json!([{"$ref": null, "value": "not-a-user"}])),
    ]
    .boxed()
}

/// Short strings a client might really send, and a few it should not.
fn payload() -> BoxedStrategy<String> {
    prop_oneof![
        6 => "[a-zA-Z][a-zA-Z0-9 .@_-]{0,20}",
        1 => Just(String::new()),
        1 => nasty_string(),
    ]
    .boxed()
}

/// Operations whose path and value fit together, as Entra sends them (so that many succeed).
fn sensible_patch_op(ada: String, bob: String) -> BoxedStrategy<Value> {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let ops = prop::sample::select(vec!["add", "replace", "Add", "Replace", "remove", "Remove"]);
    let pairs = (payload(), any::<bool>(), prop::sample::select(vec![ada, bob, "not-a-user".to_string()]), 0usize..22).prop_map(
        move |(text, flag, member, which)| -> (Option<&'static str>, Value) {
            match which {
                0 => (Some("displayName"), json!(text)),
                1 => (Some("title"), json!(text)),
                2 => (Some("active"), if flag { json!("False") } else { json!(true) }),
                3 => (Some("name.givenName"), json!(text)),
                4 => (Some("emails[type eq \"work\"].value"), json!(format!("{text}@example.com"))),
                5 => (Some("emails"), json!([{"value": format!("{text}@x.example"), "type": "home", "primary": flag}])),
                6 => (Some("phoneNumbers[type eq \"mobile\"].value"), json!(text)),
                7 => (Some("addresses[type eq \"work\"].streetAddress"), json!(text)),
                8 => (Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), json!(text)),
                9 => (Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"), json!(text)),
                10 => (Some(ent), json!({"schemas": [ent], "costCenter": text, "manager": {"value": text, "$ref": null}})),
                11 => (None, json!({"displayName": text, "name.familyName": text, "active": if flag { "True" } else { "False" }})),
                12 => (Some("externalId"), json!(text)),
                13 => (Some("userName"), json!(if flag { "bob".to_string() } else { format!("{text}@example.com") })),
                14 => (Some("members"), json!([{"value": member, "$ref": null}])),
                15 => (Some("members"), json!([{"value": member}])),
                16 => (Some("members[value eq \"x\" or $ref pr]"), Value::Null),
                17 => (Some("members[$ref eq \"x\"]"), Value::Null),
                18 => (Some("members[value eq \"x\"]"), Value::Null),
                19 => (None, json!({"displayName": if flag { "Empty".to_string() } else { text }})),
                20 => (Some("emails[type eq \"work\"].primary"), json!(flag)),
                _ => (Some("nickName"), Value::Null),
            }
        },
    );
    (ops, pairs)
        .prop_map(|(op, (path, value))| {
            let mut o = Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if !value.is_null() || !op.eq_ignore_ascii_case("remove") {
                o.insert("value".into(), value);
            }
            Value::Object(o)
        })
        .boxed()
}

fn patch_op(ada: String) -> BoxedStrategy<Value> {
    (
        prop::sample::select(PATCH_OPS),
        prop::option::weighted(
            0.85,
            prop_oneof![6 => prop::sample::select(PATCH_PATHS).prop_map(str::to_string), 1 => nasty_string()],
        ),
        prop::option::weighted(0.85, patch_value(ada)),
    )
        .prop_map(|(op, path, value)| {
            let mut o = Map::new();
            o.insert("op".into(), json!(op));
            if let Some(p) = path {
                o.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".into(), v);
            }
            Value::Object(o)
        })
        .boxed()
}

// ------------------------------------------------------------ properties: filters

#[test]
fn random_filter_strings_never_fail_the_server() {
    let w = world();
    let strategy = prop_oneof![3 => token_soup(), 1 => nasty_string(), 1 => any::<String>()];
    run_property(CASES, strategy, |filter| {
        let parses = filter.trim().is_empty() || parse_filter(filter.trim()).is_ok();
        for path in ["/Users", "/Groups", ""] {
            let r = get(&w.app, &format!("{path}?filter={}&count=5", enc(&filter)));
            let ctx = format!("GET {path}?filter={filter:?}");
            check_reply(&r, &ctx)?;
            prop_assert!(r.status == 200 || r.status == 400, "{ctx}: {}", r.status);
            if r.status == 200 {
                check_list(&r, &ctx)?;
            }
            if !parses {
                prop_assert_eq!(r.status, 400, "{}", ctx);
                prop_assert_eq!(r.body["scimType"].as_str(), Some("invalidFilter"), "{}", ctx);
            }
        }
        let r = send_json(&w.app, "POST", "/Users/.search", &json!({"schemas": [SEARCH], "filter": filter}));
        check_reply(&r, &format!("POST /Users/.search {filter:?}"))?;
        Ok(())
    });
}

#[test]
fn grammar_shaped_filters_never_fail_and_not_is_the_complement() {
    let w = world();
    let everyone = |path: &str| total(&get(&w.app, &format!("{path}?count=0")));
    let all = [("/Users", everyone("/Users")), ("/Groups", everyone("/Groups"))];
    run_property(CASES, grammar_filter(), |filter| {
        let parses = parse_filter(&filter).is_ok();
        for (path, all) in all {
            let ctx = format!("GET {path}?filter={filter}");
            let r = get(&w.app, &format!("{path}?filter={}", enc(&filter)));
            check_reply(&r, &ctx)?;
            prop_assert!(r.status == 200 || r.status == 400, "{ctx}: {}", r.status);
            if !parses {
                prop_assert_eq!(r.body["scimType"].as_str(), Some("invalidFilter"), "{}", ctx);
            }
            if r.status == 400 {
                let t = r.body["scimType"].as_str().unwrap_or_default();
                prop_assert!(t == "invalidFilter" || t == "invalidValue", "{ctx}: {}", r.text);
                continue;
            }
            check_list(&r, &ctx)?;
            // `not (F)` selects exactly the resources F does not.
            let negated = format!("not ({filter})");
            if negated.len() > 4096 {
                continue;
            }
            let n = get(&w.app, &format!("{path}?filter={}&count=0", enc(&negated)));
            check_reply(&n, &format!("GET {path}?filter={negated}"))?;
            prop_assert_eq!(n.status, 200, "{}: {}", negated, n.text);
            prop_assert_eq!(total(&r) + total(&n), all, "{} on {}: {} + {}", filter, path, total(&r), total(&n));
            // The same filter as a SearchRequest gives the same answer.
            let s =
                send_json(&w.app, "POST", &format!("{path}/.search"), &json!({"schemas": [SEARCH], "filter": filter}));
            check_reply(&s, &format!("POST {path}/.search {filter}"))?;
            prop_assert_eq!(ids(&s), ids(&r), "{}", filter);
        }
        Ok(())
    });
}

// A small reference model of filter semantics over string attributes.

#[derive(Debug, Clone)]
enum ModelFilter {
    Cmp(&'static str, &'static str, String),
    Pr(&'static str),
    ValuePath(Box<ModelFilter>),
    And(Box<ModelFilter>, Box<ModelFilter>),
    Or(Box<ModelFilter>, Box<ModelFilter>),
    Not(Box<ModelFilter>),
}

const MODEL_ATTRS: &[&str] = &[
    "userName",
    "displayName",
    "title",
    "nickName",
    "name.givenName",
    "name.familyName",
    "emails",
    "emails.value",
    "emails.type",
    "externalId",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
];
/// Attributes compared case-sensitively (caseExact).
const CASE_EXACT: &[&str] = &["externalId"];
const MODEL_SUBS: &[&str] = &["value", "type"];
const MODEL_OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"];
const MODEL_VALUES: &[&str] = &[
    "",
    "a",
    "ada",
    "Ada",
    "ADA@EXAMPLE.COM",
    "example",
    "Example.com",
    "@example.com",
    "work",
    "Work",
    "home",
    "bob",
    "b",
    "e",
    "m",
    "Identity",
    "x",
    "Lead",
    "érin",
    "É",
    "z",
    "ADA",
    "Bob-1",
    "bob-1",
    "-1",
];

impl ModelFilter {
    fn text(&self) -> String {
        match self {
            ModelFilter::Cmp(a, op, v) => format!("{a} {op} {}", quoted(v)),
            ModelFilter::Pr(a) => format!("{a} pr"),
            ModelFilter::ValuePath(inner) => format!("emails[{}]", inner.text()),
            ModelFilter::And(a, b) => format!("({}) and ({})", a.text(), b.text()),
            ModelFilter::Or(a, b) => format!("({}) or ({})", a.text(), b.text()),
            ModelFilter::Not(a) => format!("not ({})", a.text()),
        }
    }

    /// Whether `user` (as rendered by the server) matches; `element` is set inside `emails[…]`.
    fn matches(&self, user: &Value, element: Option<&Value>) -> bool {
        match self {
            ModelFilter::And(a, b) => a.matches(user, element) && b.matches(user, element),
            ModelFilter::Or(a, b) => a.matches(user, element) || b.matches(user, element),
            ModelFilter::Not(a) => !a.matches(user, element),
            ModelFilter::ValuePath(inner) => emails(user).iter().any(|e| inner.matches(user, Some(e))),
            ModelFilter::Pr(a) => values(user, element, a).iter().any(|v| v.is_some_and(|s| !s.is_empty())),
            ModelFilter::Cmp(a, op, expected) => {
                let exact = element.is_none() && CASE_EXACT.contains(a);
                values(user, element, a).iter().any(|v| compare(*v, op, expected, exact))
            }
        }
    }
}

fn emails(user: &Value) -> Vec<Value> {
    user["emails"].as_array().cloned().unwrap_or_default()
}

/// The values `attr` designates: one (possibly absent) for a singular attribute,
/// one per element for a multi-valued one.
fn values<'a>(user: &'a Value, element: Option<&'a Value>, attr: &str) -> Vec<Option<&'a str>> {
    if let Some(e) = element {
        return vec![e[attr].as_str()];
    }
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:";
    match attr.strip_prefix(ent) {
        Some(a) => vec![user[ent.trim_end_matches(':')][a].as_str()],
        None => match attr.split_once('.') {
            Some(("emails", sub)) => {
                user["emails"].as_array().map_or(vec![], |l| l.iter().map(|e| e[sub].as_str()).collect())
            }
            Some((a, b)) => vec![user[a][b].as_str()],
            None if attr == "emails" => values(user, None, "emails.value"),
            None => vec![user[attr].as_str()],
        },
    }
}

fn compare(actual: Option<&str>, op: &str, expected: &str, exact: bool) -> bool {
    let Some(actual) = actual else {
        // An absent value is "not equal" to anything, and nothing else.
        return op == "ne";
    };
    let (a, e) = match exact {
        true => (actual.to_string(), expected.to_string()),
        false => (actual.to_lowercase(), expected.to_lowercase()),
    };
    match op {
        "eq" => a == e,
        "ne" => a != e,
        "co" => a.contains(&e),
        "sw" => a.starts_with(&e),
        "ew" => a.ends_with(&e),
        "gt" => a > e,
        "lt" => a < e,
        "ge" => a >= e,
        "le" => a <= e,
        _ => unreachable!(),
    }
}

fn model_filter() -> BoxedStrategy<ModelFilter> {
    let value = || prop::sample::select(MODEL_VALUES).prop_map(str::to_string);
    let cmp = (prop::sample::select(MODEL_ATTRS), prop::sample::select(MODEL_OPS), value())
        .prop_map(|(a, op, v)| ModelFilter::Cmp(a, op, v));
    let pr = prop::sample::select(MODEL_ATTRS).prop_map(ModelFilter::Pr);
    let sub = prop_oneof![
        3 => (prop::sample::select(MODEL_SUBS), prop::sample::select(MODEL_OPS), value()).prop_map(|(a, op, v)| ModelFilter::Cmp(a, op, v)),
        1 => prop::sample::select(MODEL_SUBS).prop_map(ModelFilter::Pr),
    ]
    .prop_recursive(1, 3, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| ModelFilter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| ModelFilter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| ModelFilter::Not(Box::new(a))),
        ]
    });
    let leaf = prop_oneof![5 => cmp, 1 => pr, 2 => sub.prop_map(|f| ModelFilter::ValuePath(Box::new(f)))];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| ModelFilter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| ModelFilter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| ModelFilter::Not(Box::new(a))),
        ]
    })
    .boxed()
}

#[test]
fn filters_select_what_a_reference_model_selects() {
    let app = TestApp::new();
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let bodies = [
        entra_user_body("ada@example.com"),
        json!({"schemas": [USER], "userName": "Bob", "displayName": "BOB builder", "nickName": "bobby",
               "externalId": "Bob-1",
               "emails": [{"value": "bob@Example.org", "type": "home"}, {"value": "b2@x.example"}]}),
        json!({"schemas": [USER], "userName": "carol@x.example", "title": "Lead", "name": {"familyName": "Ada"},
               "externalId": "ADA"}),
        json!({"schemas": [USER], "userName": "dave"}),
        json!({"schemas": [USER, ent], "userName": "erin", "displayName": "Érin",
               "emails": [{"value": "ERIN@EXAMPLE.COM", "type": "Work", "primary": true}],
               ent: {"department": "identity"}}),
    ];
    let users: Vec<Value> = bodies.iter().map(|b| app.post("/Users", b).expect(201).body).collect();
    let paging = (1i64..8, 0i64..7, any::<bool>());
    run_property(CASES, (model_filter(), paging), |(f, (start, count, descending))| {
        let text = f.text();
        let r = get(&app, &format!("/Users?filter={}", enc(&text)));
        check_reply(&r, &text)?;
        prop_assert_eq!(r.status, 200, "{}: {}", text, r.text);
        let expected: BTreeSet<String> =
            users.iter().filter(|u| f.matches(u, None)).map(|u| u["id"].as_str().unwrap().to_string()).collect();
        let names = |set: &BTreeSet<String>| -> Vec<String> {
            users
                .iter()
                .filter(|u| set.contains(u["id"].as_str().unwrap()))
                .map(|u| u["userName"].as_str().unwrap().to_string())
                .collect()
        };
        let got = ids(&r);
        prop_assert_eq!(names(&got), names(&expected), "filter: {}", text);
        // A sorted page is the same slice of the same sorted result.
        let mut sorted: Vec<&Value> = users.iter().filter(|u| expected.contains(u["id"].as_str().unwrap())).collect();
        sorted.sort_by_key(|u| u["userName"].as_str().unwrap().to_lowercase());
        if descending {
            sorted.reverse();
        }
        let want: Vec<&str> = sorted
            .iter()
            .skip(start as usize - 1)
            .take(count as usize)
            .map(|u| u["userName"].as_str().unwrap())
            .collect();
        let order = if descending { "descending" } else { "ascending" };
        let uri =
            format!("/Users?filter={}&sortBy=userName&sortOrder={order}&startIndex={start}&count={count}", enc(&text));
        let page = get(&app, &uri);
        check_reply(&page, &uri)?;
        prop_assert_eq!(page.status, 200, "{}: {}", uri, page.text);
        check_list(&page, &uri)?;
        let shown: Vec<&str> = page.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap_or_default())
            .collect();
        prop_assert_eq!(shown, want, "{}", uri);
        prop_assert_eq!(total(&page), expected.len() as u64, "{}", uri);
        prop_assert_eq!(page.body["startIndex"].as_i64(), Some(start), "{}", uri);
        Ok(())
    });
}

// ------------------------------------------------------------ properties: PATCH

fn patch_ops(w: &World) -> BoxedStrategy<Vec<Value>> {
    let op = prop_oneof![
        1 => patch_op(w.ada.clone()),
        2 => sensible_patch_op(w.ada.clone(), w.bob.clone()),
    ];
    prop::collection::vec(op, 1..4).boxed()
}

#[test]
fn random_patches_never_fail_the_server_and_failures_store_nothing() {
    let w = world();
    let strategy = (patch_ops(&w), 0u8..10, prop::bool::weighted(0.95));
    run_property(CASES, strategy, |(ops, target, schema_ok)| {
        let path = match target {
            0..=4 => format!("/Users/{}", w.ada),
            5..=8 => format!("/Groups/{}", w.eng),
            _ => "/Users/no-such-id".to_string(),
        };
        let schemas = if schema_ok { json!([PATCH_OP]) } else { json!(["urn:bogus"]) };
        let body = json!({"schemas": schemas, "Operations": ops});
        w.reset();
        let before = w.snapshot();
        let r = send_json(&w.app, "PATCH", &path, &body);
        let ctx = format!("PATCH {path} {body}");
        check_reply(&r, &ctx)?;
        if r.status >= 400 {
            prop_assert_eq!(w.snapshot(), before, "{} failed with {} but changed something", ctx, r.text);
            return Ok(());
        }
        prop_assert!(r.status == 200 || r.status == 204, "{ctx}: {}", r.status);
        let now = get(&w.app, &path);
        check_reply(&now, &format!("GET after {ctx}"))?;
        prop_assert_eq!(now.status, 200);
        if r.status == 200 {
            prop_assert_eq!(&r.body, &now.body, "{}: the PATCH response differs from a later GET", ctx);
        }
        let name = if path.starts_with("/Users") { "userName" } else { "displayName" };
        prop_assert!(now.body[name].as_str().is_some_and(|s| !s.trim().is_empty()), "{ctx}: {}", now.text);
        Ok(())
    });
}

#[test]
fn patched_emails_are_what_filters_see() {
    let w = world();
    run_property(CASES, patch_ops(&w), |ops| {
        let path = format!("/Users/{}", w.ada);
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        w.reset();
        let r = send_json(&w.app, "PATCH", &path, &body);
        let ctx = format!("PATCH {path} {body}");
        check_reply(&r, &ctx)?;
        if r.status != 200 {
            return Ok(());
        }
        // Every e-mail a GET shows is found by a filter on its value and on its type.
        for e in r.body["emails"].as_array().into_iter().flatten() {
            let mut terms = Vec::new();
            if let Some(v) = e["value"].as_str() {
                terms.push(format!("value eq {}", quoted(v)));
            }
            if let Some(t) = e["type"].as_str() {
                terms.push(format!("type eq {}", quoted(t)));
            }
            for term in terms {
                let filter = format!("id eq {} and emails[{term}]", quoted(&w.ada));
                // A value can be longer than a filter may be (16 KiB vs 4 KiB): such
                // a filter is rightly refused, so there is nothing to compare.
                if filter.len() > scim_portal::scim::filter::DEFAULT_LIMITS.max_len {
                    continue;
                }
                let found = get(&w.app, &format!("/Users?filter={}&count=0", enc(&filter)));
                check_reply(&found, &filter)?;
                prop_assert_eq!(
                    found.body["totalResults"].as_u64(),
                    Some(1),
                    "after {}\nthe user shows the e-mail {} but the filter {} does not find it",
                    ctx,
                    e,
                    filter
                );
            }
        }
        // And filtering on e-mails finds nothing a GET does not show.
        if r.body["emails"].as_array().is_none_or(Vec::is_empty) {
            let filter = format!("id eq {} and emails pr", quoted(&w.ada));
            let found = get(&w.app, &format!("/Users?filter={}&count=0", enc(&filter)));
            prop_assert_eq!(found.body["totalResults"].as_u64(), Some(0), "after {}: {}", ctx, filter);
        }
        Ok(())
    });
}

/// The property's "stores nothing" check sees failures that happen after the
/// database was already changed in the request's transaction.
#[test]
fn a_late_failure_rolls_back_earlier_changes() {
    let w = world();
    let cases = [
        // Members are added, then a filter the database cannot compile fails the request.
        (
            format!("/Groups/{}", w.eng),
            json!([
                {"op": "replace", "path": "displayName", "value": "Renamed"},
                {"op": "add", "path": "members", "value": [{"value": w.bob}]},
                {"op": "remove", "path": "members", "value": [{"value": w.ada}]},
                {"op": "remove", "path": "members[$ref eq \"x\"]"}
            ]),
        ),
        // The group is renamed to a name that is taken.
        (
            format!("/Groups/{}", w.eng),
            json!([
                {"op": "add", "path": "members", "value": [{"value": w.bob}]},
                {"op": "replace", "path": "displayName", "value": "EMPTY"}
            ]),
        ),
        // The user is renamed to a userName that is taken.
        (
            format!("/Users/{}", w.ada),
            json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "userName", "value": "BOB"}
            ]),
        ),
    ];
    for (path, ops) in cases {
        let before = w.snapshot();
        let r = w.app.patch(&path, ops.clone());
        assert!(r.status >= 400, "PATCH {path} {ops} should fail: {}", r.text);
        assert_eq!(r.content_type.as_deref(), Some(SCIM_JSON));
        assert_eq!(w.snapshot(), before, "PATCH {path} {ops} failed with {} but changed something", r.text);
    }
}

// ------------------------------------------------------------ properties: bodies

/// Write (and search) endpoints, with the kind of body each takes (see [`template`]).
const WRITES: &[(&str, &str, usize)] = &[
    ("POST", "/Users", 0),
    ("POST", "/Groups", 1),
    ("PUT", "/Users/{ada}", 0),
    ("PUT", "/Groups/{eng}", 3),
    ("PATCH", "/Users/{ada}", 2),
    ("PATCH", "/Groups/{eng}", 2),
    ("POST", "/Users/.search", 4),
    ("POST", "/Groups/.search", 4),
    ("POST", "/.search", 4),
    ("PUT", "/Users/no-such-id", 0),
    ("PATCH", "/Groups/no-such-id", 2),
];

const CONTENT_TYPES: &[Option<&str>] = &[
    Some(SCIM_JSON),
    Some(SCIM_JSON),
    Some(SCIM_JSON),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("garbage"),
    None,
];

#[test]
fn random_bodies_never_fail_the_server_and_failures_store_nothing() {
    let w = world();
    let strategy = (0..WRITES.len(), body(), prop::sample::select(CONTENT_TYPES), any::<u32>());
    run_property(CASES, strategy, |(endpoint, body, content_type, salt)| {
        let (method, path, own) = WRITES[endpoint];
        let path = path.replace("{ada}", &w.ada).replace("{eng}", &w.eng);
        let bytes = body.bytes(For { ada: &w.ada, own, salt });
        w.reset();
        let before = w.snapshot();
        let r = send(&w.app, method, &tenant_uri(&path), content_type, Some(bytes.clone()));
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).to_string();
        let ctx = format!("{method} {path} ({content_type:?}, {} bytes) {shown}", bytes.len());
        check_reply(&r, &ctx)?;
        if r.status >= 400 {
            prop_assert_eq!(w.snapshot(), before, "{} failed with {} but changed something", ctx, r.text);
        }
        if bytes.len() > 1024 * 1024 {
            // Too large, unless the media type was refused first.
            prop_assert!(r.status == 413 || r.status == 415, "{ctx}: {}", r.status);
        }
        if r.status < 300 && content_type == Some("text/plain") {
            prop_assert!(false, "{ctx}: text/plain was accepted");
        }
        if r.status == 201 {
            let id = r.body["id"].as_str().unwrap_or_default();
            let created = get(&w.app, &format!("{path}/{id}"));
            prop_assert_eq!(created.status, 200, "{}: created {} but GET says {}", ctx, id, created.text);
        }
        Ok(())
    });
}

#[test]
fn invalid_utf8_bodies_are_400_and_store_nothing() {
    let w = world();
    let strategy = (
        0..WRITES.len(),
        prop::collection::vec(any::<u8>(), 1..40).prop_filter("invalid UTF-8", |b| std::str::from_utf8(b).is_err()),
        prop_oneof![Just(OWN), 0usize..5],
    );
    run_property(CASES, strategy, |(endpoint, bad, kind)| {
        let (method, path, own) = WRITES[endpoint];
        let path = path.replace("{ada}", &w.ada).replace("{eng}", &w.eng);
        let bytes = Body::BadUtf8(kind, bad).bytes(For { ada: &w.ada, own, salt: 0 });
        let before = w.snapshot();
        let r = send(&w.app, method, &tenant_uri(&path), Some(SCIM_JSON), Some(bytes.clone()));
        let ctx = format!("{method} {path} {}", String::from_utf8_lossy(&bytes));
        check_reply(&r, &ctx)?;
        // A missing resource may be reported before the body is read.
        prop_assert!(r.status == 400 || r.status == 404, "{ctx}: {} {}", r.status, r.text);
        if r.status == 400 {
            prop_assert_eq!(r.body["scimType"].as_str(), Some("invalidSyntax"), "{}", ctx);
        }
        prop_assert_eq!(w.snapshot(), before, "{}", ctx);
        Ok(())
    });
}

// ------------------------------------------------------------ properties: query strings

const QUERY_KEYS: &[&str] = &[
    "filter",
    "startIndex",
    "count",
    "sortBy",
    "sortOrder",
    "attributes",
    "excludedAttributes",
    "startindex",
    "COUNT",
    "nonsense",
    "",
    "filter[]",
    "a.b",
];

fn query_value() -> BoxedStrategy<String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "", " ", "0", "1", "-1", "5", "1000", "1001", "-9223372036854775808", "9223372036854775807",
            "99999999999999999999999", "1e3", "1.5", "0x10", "NaN", "+5", " 7 ", "١", "ascending", "descending",
            "DESCENDING", "up", "userName", "emails", "emails.value", "name.familyName", "meta.created",
            "meta.lastModified", "meta.version", "id", "members", "groups", "displayName", "active",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName", "userName,emails", ",,,", "userName,,nonsense",
            "emails[type eq \"work\"]", "name", "meta", "schemas", "password", "nonsense", "userName eq \"bob\"",
        ])
        .prop_map(str::to_string),
        1 => nasty_string(),
        1 => token_soup(),
    ]
    .boxed()
}

const QUERY_PATHS: &[&str] = &[
    "/Users",
    "/Groups",
    "",
    "/Users/{ada}",
    "/Groups/{eng}",
    "/Users/no-such-id",
    "/Schemas",
    "/ResourceTypes",
    "/ServiceProviderConfig",
];

#[test]
fn random_query_strings_never_fail_the_server() {
    let w = world();
    let pair = (
        prop::sample::select(QUERY_KEYS),
        query_value(),
        // Mostly percent-encoded; sometimes raw, as a careless client sends it.
        prop::bool::weighted(0.85),
    );
    let strategy = (prop::sample::select(QUERY_PATHS), prop::collection::vec(pair, 0..6));
    run_property(CASES, strategy, |(path, params)| {
        let path = path.replace("{ada}", &w.ada).replace("{eng}", &w.eng);
        let query: Vec<String> = params
            .iter()
            .map(|(k, v, encode)| if *encode { format!("{}={}", enc(k), enc(v)) } else { format!("{k}={v}") })
            .collect();
        let uri = format!("{}?{}", tenant_uri(&path), query.join("&"));
        let r = send(&w.app, "GET", &uri, None, None);
        check_reply(&r, &format!("GET {uri}"))?;
        // Discovery endpoints refuse filtering with 403 (RFC 7644 §4).
        let discovery = matches!(path.as_str(), "/Schemas" | "/ResourceTypes" | "/ServiceProviderConfig");
        let allowed = matches!(r.status, 200 | 400 | 404) || (discovery && r.status == 403);
        prop_assert!(allowed, "GET {uri}: {} {}", r.status, r.text);
        let list = matches!(path.as_str(), "/Users" | "/Groups" | "" | "/Schemas" | "/ResourceTypes");
        if r.status == 200 && list {
            check_list(&r, &format!("GET {uri}"))?;
            // A count the server understood bounds a page of resources (the few
            // discovery resources are always listed whole).
            let counts: Vec<(&String, bool)> =
                params.iter().filter(|(k, _, _)| *k == "count").map(|(_, v, encode)| (v, *encode)).collect();
            let paged = matches!(path.as_str(), "/Users" | "/Groups" | "");
            if let ([(count, true)], true) = (&counts[..], paged) {
                let count: i64 = count.trim().parse().unwrap_or(i64::MAX);
                let n = r.body["itemsPerPage"].as_i64().unwrap_or_default();
                prop_assert!(n <= count.max(0), "GET {uri}: {n} items for count={count}");
            }
            for resource in r.body["Resources"].as_array().into_iter().flatten() {
                prop_assert!(resource["id"].is_string(), "GET {uri}: {resource}");
            }
        }
        Ok(())
    });
}
