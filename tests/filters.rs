//! SCIM filters (RFC 7644 §3.4.2.2) end to end: a seeded set of users and
//! groups, every operator and construct, and the exact set of resources each
//! filter returns. Case sensitivity follows each attribute's `caseExact` in
//! `/Schemas`.

mod common;
use common::*;

use std::collections::{BTreeSet, HashMap};
use std::thread::sleep;
use std::time::Duration;

use serde_json::{json, Value};

/// The seeded data: names → ids, and the timestamps filters compare with.
struct Seed {
    app: TestApp,
    /// short name ("alice") → SCIM id, for users and groups alike.
    ids: HashMap<String, String>,
    /// SCIM id → short name.
    names: HashMap<String, String>,
    /// short name → meta.created of the user.
    created: HashMap<String, String>,
    /// meta.lastModified of carol after her late PATCH.
    carol_modified: String,
}

fn user(user_name: &str, extra: Value) -> Value {
    let mut body = json!({"schemas": [USER, ENTERPRISE], "userName": user_name});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Distinct millisecond timestamps between creations, so that time filters have exact answers.
fn tick() {
    sleep(Duration::from_millis(15));
}

fn seed() -> Seed {
    let app = TestApp::new();
    let mut ids = HashMap::new();
    let mut created = HashMap::new();
    let users = [
        (
            "alice",
            user(
                "Alice@Example.com",
                json!({
                    "externalId": "ext-Alice",
                    "displayName": "Alice Adams",
                    "title": "Engineer",
                    "active": true,
                    "name": {"familyName": "Adams", "givenName": "Alice"},
                    "emails": [
                        {"type": "work", "value": "alice@x.example", "primary": true},
                        {"type": "home", "value": "alice@home.example"}
                    ],
                    "phoneNumbers": [{"type": "mobile", "value": "+64 21 111"}],
                    ENTERPRISE: {"department": "Identity", "employeeNumber": "100", "manager": {"value": "boss-1"}}
                }),
            ),
        ),
        (
            "bob",
            user(
                "bob@example.com",
                json!({
                    "externalId": "ext-bob",
                    "displayName": "Bob Brown",
                    "title": "Manager",
                    "active": false,
                    "name": {"familyName": "Brown", "givenName": "Bob"},
                    "emails": [
                        {"type": "work", "value": "Bob@Y.example"},
                        {"type": "home", "value": "bob@x.example"}
                    ],
                    "phoneNumbers": [{"type": "work", "value": "+64 9 222"}],
                    ENTERPRISE: {"department": "Sales"}
                }),
            ),
        ),
        (
            "carol",
            user(
                "carol@sample.org",
                json!({
                    "externalId": "EXT-CAROL",
                    "displayName": "Carol Adams",
                    "active": true,
                    "name": {"familyName": "adams", "givenName": "Carol"},
                    "emails": [{"type": "work", "value": "carol@x.example"}],
                    ENTERPRISE: {"department": "identity"}
                }),
            ),
        ),
        // No externalId, e-mail, name, active or extension at all.
        ("dave", user("dave@example.com", json!({}))),
    ];
    for (short, body) in users {
        tick();
        let res = app.post("/Users", &body).expect(201);
        created.insert(short.to_string(), res.body["meta"]["created"].as_str().unwrap().to_string());
        ids.insert(short.to_string(), res.id());
    }
    let member = |n: &str| json!({"value": ids[n]});
    let groups = [
        (
            "eng",
            json!({"schemas": [GROUP], "displayName": "Engineering", "externalId": "ext-Eng", "members": [member("alice"), member("bob")]}),
        ),
        (
            "sales",
            json!({"schemas": [GROUP], "displayName": "Sales", "externalId": "ext-Sales", "members": [member("bob")]}),
        ),
        ("empty", json!({"schemas": [GROUP], "displayName": "Empty"})),
    ];
    for (short, body) in groups {
        let id = app.post("/Groups", &body).expect(201).id();
        ids.insert(short.to_string(), id);
    }
    // Carol changes after everything was created: her lastModified is the latest.
    tick();
    let carol = app
        .patch(&format!("/Users/{}", ids["carol"]), json!([{"op": "add", "path": "title", "value": "Architect"}]))
        .expect(200);
    let carol_modified = carol.body["meta"]["lastModified"].as_str().unwrap().to_string();
    let names = ids.iter().map(|(k, v)| (v.clone(), k.clone())).collect();
    Seed { app, ids, names, created, carol_modified }
}

impl Seed {
    /// Runs a filter on an endpoint and returns the short names of what matched.
    fn run(&self, endpoint: &str, filter: &str) -> BTreeSet<String> {
        let res = self.app.get(&format!("/{endpoint}?count=1000&filter={}", enc(filter)));
        assert_eq!(res.status, 200, "filter {filter:?} on /{endpoint}: {}", res.text);
        assert_eq!(res.body["schemas"], json!([LIST]), "{}", res.text);
        let resources = res.body["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            res.body["totalResults"].as_u64(),
            Some(resources.len() as u64),
            "filter {filter:?}: totalResults disagrees with Resources: {}",
            res.text
        );
        resources
            .iter()
            .map(|r| {
                let id = r["id"].as_str().unwrap();
                self.names.get(id).cloned().unwrap_or_else(|| format!("<unknown {id}>"))
            })
            .collect()
    }

    #[track_caller]
    fn check(&self, endpoint: &str, cases: &[(String, &[&str])]) {
        let mut failures = Vec::new();
        for (filter, want) in cases {
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            let got = self.run(endpoint, filter);
            if got != want {
                failures.push(format!("  {filter}\n      expected {want:?}\n      got      {got:?}"));
            }
        }
        assert!(failures.is_empty(), "filters on /{endpoint} returned the wrong resources:\n{}", failures.join("\n"));
    }
}

fn cases(list: &[(&str, &'static [&'static str])]) -> Vec<(String, &'static [&'static str])> {
    list.iter().map(|(f, w)| (f.to_string(), *w)).collect()
}

#[test]
fn comparison_operators_on_user_name() {
    let s = seed();
    s.check(
        "Users",
        &cases(&[
            (r#"userName eq "alice@example.com""#, &["alice"]),
            (r#"userName eq "ALICE@EXAMPLE.COM""#, &["alice"]),
            (r#"userName eq "nobody@example.com""#, &[]),
            (r#"userName ne "alice@example.com""#, &["bob", "carol", "dave"]),
            (r#"userName co "EXAMPLE""#, &["alice", "bob", "dave"]),
            (r#"userName sw "B""#, &["bob"]),
            (r#"userName ew ".ORG""#, &["carol"]),
            (r#"userName gt "bob@example.com""#, &["carol", "dave"]),
            (r#"userName ge "bob@example.com""#, &["bob", "carol", "dave"]),
            (r#"userName lt "bob""#, &["alice"]),
            (r#"userName le "BOB@example.com""#, &["alice", "bob"]),
            (r#"userName pr"#, &["alice", "bob", "carol", "dave"]),
            // Operators and attribute names are case-insensitive (RFC 7644 §3.4.2.2).
            (r#"USERNAME EQ "bob@example.com""#, &["bob"]),
        ]),
    );
}

#[test]
fn presence_and_other_string_attributes() {
    let s = seed();
    s.check(
        "Users",
        &cases(&[
            (r#"title pr"#, &["alice", "bob", "carol"]),
            (r#"externalId pr"#, &["alice", "bob", "carol"]),
            (r#"name pr"#, &["alice", "bob", "carol"]),
            (r#"title eq "engineer""#, &["alice"]),
            (r#"title co "NGIN""#, &["alice"]),
            // An absent title is "not equal" to any value.
            (r#"title ne "Engineer""#, &["bob", "carol", "dave"]),
            (r#"displayName ew "adams""#, &["alice", "carol"]),
            (r#"displayName sw "BOB ""#, &["bob"]),
        ]),
    );
}

#[test]
fn logical_operators_and_parentheses() {
    let s = seed();
    s.check(
        "Users",
        &cases(&[
            (r#"title eq "Engineer" or active eq false"#, &["alice", "bob"]),
            (r#"userName sw "a" and title pr"#, &["alice"]),
            // "and" binds tighter than "or".
            (r#"userName sw "a" or userName sw "b" and active eq false"#, &["alice", "bob"]),
            (r#"userName sw "a" or userName sw "b" and active eq true"#, &["alice"]),
            (r#"(userName sw "a" or userName sw "b") and active eq false"#, &["bob"]),
            (r#"(userName sw "a" or userName sw "c") and (title eq "Architect" or title eq "Manager")"#, &["carol"]),
            (r#"userName sw "a" OR userName sw "b""#, &["alice", "bob"]),
            (r#"not (userName sw "a" or userName sw "b")"#, &["carol", "dave"]),
            (r#"not(userName sw "a")"#, &["bob", "carol", "dave"]),
            (r#"not (externalId pr)"#, &["dave"]),
            (r#"not (title eq "Engineer") and not (title eq "Manager")"#, &["carol", "dave"]),
            (r#"((userName sw "d"))"#, &["dave"]),
        ]),
    );
}

#[test]
fn value_paths_and_multi_valued_attributes() {
    let s = seed();
    s.check(
        "Users",
        &cases(&[
            (r#"emails[type eq "work" and value co "@x"]"#, &["alice", "carol"]),
            (r#"emails[type eq "home" and value co "@x"]"#, &["bob"]),
            (r#"emails[type eq "home"]"#, &["alice", "bob"]),
            (r#"emails[type eq "work" or value ew "home.example"]"#, &["alice", "bob", "carol"]),
            (r#"emails[not (type eq "work")]"#, &["alice", "bob"]),
            // Entra's matching form; e-mail values are caseExact=false.
            (r#"emails[type eq "work"].value eq "BOB@y.EXAMPLE""#, &["bob"]),
            (r#"emails[type eq "work"].value eq "bob@x.example""#, &[]),
            (r#"emails co "@x""#, &["alice", "bob", "carol"]),
            (r#"emails.value ew "home.example""#, &["alice"]),
            (r#"emails.type eq "home""#, &["alice", "bob"]),
            (r#"emails pr"#, &["alice", "bob", "carol"]),
            (r#"emails[primary eq true]"#, &["alice"]),
            (r#"phoneNumbers[type eq "mobile"]"#, &["alice"]),
            (r#"phoneNumbers.value sw "+64 9""#, &["bob"]),
            (r#"emails[type eq "work" and value co "@x"] and active eq true and not (userName sw "c")"#, &["alice"]),
        ]),
    );
}

#[test]
fn sub_attributes_and_urn_qualified_attributes() {
    let s = seed();
    let core = USER;
    let ent = ENTERPRISE;
    let list = vec![
        (r#"name.familyName eq "adams""#.to_string(), &["alice", "carol"][..]),
        (r#"name.familyName eq "ADAMS" and name.givenName sw "al""#.to_string(), &["alice"][..]),
        (r#"name.givenName pr"#.to_string(), &["alice", "bob", "carol"][..]),
        (format!(r#"{core}:userName eq "bob@example.com""#), &["bob"][..]),
        (format!(r#"{core}:name.familyName eq "Brown""#), &["bob"][..]),
        (format!(r#"{core}:emails[type eq "work" and value sw "carol"]"#), &["carol"][..]),
        (format!(r#"{ent}:department eq "Identity""#), &["alice", "carol"][..]),
        (format!(r#"{ent}:department eq "SALES""#), &["bob"][..]),
        (format!(r#"{ent}:department pr"#), &["alice", "bob", "carol"][..]),
        (format!(r#"{ent}:employeeNumber eq "100""#), &["alice"][..]),
        // manager.value is caseExact=true in /Schemas.
        (format!(r#"{ent}:manager.value eq "boss-1""#), &["alice"][..]),
        (format!(r#"{ent}:manager.value eq "BOSS-1""#), &[][..]),
        (format!(r#"{ent}:manager eq "boss-1""#), &["alice"][..]),
    ];
    s.check("Users", &list);
}

#[test]
fn case_sensitivity_follows_case_exact() {
    let s = seed();
    // The schema says: userName caseExact=false, externalId caseExact=true.
    let schema = s.app.get(&format!("/Schemas/{USER}")).expect(200);
    let attr =
        |name: &str| schema.body["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name).cloned().unwrap();
    assert_eq!(attr("userName")["caseExact"], false);
    assert_eq!(attr("externalId")["caseExact"], true);

    let alice = s.ids["alice"].clone();
    let mut list = cases(&[
        (r#"userName eq "aLiCe@eXaMpLe.CoM""#, &["alice"]),
        (r#"externalId eq "ext-Alice""#, &["alice"]),
        (r#"externalId eq "ext-alice""#, &[]),
        (r#"externalId eq "EXT-ALICE""#, &[]),
        (r#"externalId eq "EXT-CAROL""#, &["carol"]),
        (r#"externalId eq "ext-carol""#, &[]),
        (r#"externalId sw "ext-""#, &["alice", "bob"]),
        (r#"externalId co "CAROL""#, &["carol"]),
    ]);
    list.push((format!(r#"id eq "{alice}""#), &["alice"]));
    let upper = alice.to_uppercase();
    if upper != alice {
        list.push((format!(r#"id eq "{upper}""#), &[]));
    }
    s.check("Users", &list);
}

#[test]
fn booleans() {
    let s = seed();
    s.check(
        "Users",
        &cases(&[
            (r#"active eq false"#, &["bob"]),
            (r#"active eq true"#, &["alice", "carol"]),
            (r#"active eq "False""#, &["bob"]),
            (r#"active ne false"#, &["alice", "carol", "dave"]),
            (r#"not (active eq false)"#, &["alice", "carol", "dave"]),
            (r#"active pr"#, &["alice", "bob", "carol"]),
        ]),
    );
}

#[test]
fn meta_timestamps() {
    let s = seed();
    let c = |n: &str| s.created[n].clone();
    // The same instant as alice's creation, written with another offset.
    let alice_plus2 = chrono::DateTime::parse_from_rfc3339(&c("alice"))
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let list = vec![
        (format!(r#"meta.created gt "{}""#, c("alice")), &["bob", "carol", "dave"][..]),
        (format!(r#"meta.created ge "{}""#, c("bob")), &["bob", "carol", "dave"][..]),
        (format!(r#"meta.created lt "{}""#, c("carol")), &["alice", "bob"][..]),
        (format!(r#"meta.created le "{}""#, c("carol")), &["alice", "bob", "carol"][..]),
        (format!(r#"meta.created eq "{alice_plus2}""#), &["alice"][..]),
        (format!(r#"meta.created gt "{}" and meta.created lt "{}""#, c("alice"), c("dave")), &["bob", "carol"][..]),
        (r#"meta.created gt "2000-01-01T00:00:00Z""#.to_string(), &["alice", "bob", "carol", "dave"][..]),
        (r#"meta.created lt "2000-01-01T00:00:00Z""#.to_string(), &[][..]),
        // Only carol changed after dave was created.
        (format!(r#"meta.lastModified gt "{}""#, c("dave")), &["carol"][..]),
        (format!(r#"meta.lastModified lt "{}""#, s.carol_modified), &["alice", "bob", "dave"][..]),
        (format!(r#"meta.lastModified ge "{}""#, s.carol_modified), &["carol"][..]),
        (r#"meta.resourceType eq "User""#.to_string(), &["alice", "bob", "carol", "dave"][..]),
    ];
    s.check("Users", &list);
}

#[test]
fn group_filters_and_membership() {
    let s = seed();
    let (alice, bob, carol, eng, sales) =
        (&s.ids["alice"], &s.ids["bob"], &s.ids["carol"], &s.ids["eng"], &s.ids["sales"]);
    let list = vec![
        (r#"displayName eq "engineering""#.to_string(), &["eng"][..]),
        (r#"displayName sw "S""#.to_string(), &["sales"][..]),
        (r#"displayName ne "Sales""#.to_string(), &["eng", "empty"][..]),
        (r#"externalId eq "ext-Sales""#.to_string(), &["sales"][..]),
        (r#"externalId eq "ext-sales""#.to_string(), &[][..]),
        (r#"externalId pr"#.to_string(), &["eng", "sales"][..]),
        (format!(r#"members eq "{alice}""#), &["eng"][..]),
        (format!(r#"members eq "{bob}""#), &["eng", "sales"][..]),
        (format!(r#"members eq "{carol}""#), &[][..]),
        (format!(r#"members.value eq "{bob}""#), &["eng", "sales"][..]),
        (format!(r#"members[value eq "{alice}"]"#), &["eng"][..]),
        // Entra's membership check.
        (format!(r#"id eq "{eng}" and members eq "{alice}""#), &["eng"][..]),
        (format!(r#"id eq "{sales}" and members eq "{alice}""#), &[][..]),
        (format!(r#"id eq "{sales}" and members eq "{bob}""#), &["sales"][..]),
        (r#"members pr"#.to_string(), &["eng", "sales"][..]),
        (r#"not (members pr)"#.to_string(), &["empty"][..]),
        (format!(r#"members eq "{alice}" or displayName eq "Empty""#), &["eng", "empty"][..]),
        (r#"meta.resourceType eq "Group""#.to_string(), &["eng", "sales", "empty"][..]),
    ];
    s.check("Groups", &list);

    // Users can be filtered by the groups they belong to.
    let list = vec![
        (format!(r#"groups eq "{eng}""#), &["alice", "bob"][..]),
        (format!(r#"groups.value eq "{sales}""#), &["bob"][..]),
        (r#"groups pr"#.to_string(), &["alice", "bob"][..]),
    ];
    s.check("Users", &list);

    // Membership filters answer with the members, as the validation suite expects.
    let res = s
        .app
        .get(&format!("/Groups?filter={}", enc(&format!(r#"id eq "{eng}" and members eq "{alice}""#))))
        .expect(200);
    let members: BTreeSet<&str> =
        res.body["Resources"][0]["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(members, BTreeSet::from([alice.as_str(), bob.as_str()]));
}

#[test]
fn the_same_filters_work_through_post_search() {
    let s = seed();
    let search = |path: &str, filter: &str| -> BTreeSet<String> {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        let res = s.app.post(path, &body).expect(200);
        res.body["Resources"].as_array().unwrap().iter().map(|r| s.names[r["id"].as_str().unwrap()].clone()).collect()
    };
    let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(search("/Users/.search", r#"emails[type eq "work" and value co "@x"]"#), set(&["alice", "carol"]));
    assert_eq!(search("/Groups/.search", &format!(r#"members eq "{}""#, s.ids["bob"])), set(&["eng", "sales"]));
    // The root searches both types: displayName exists on both.
    assert_eq!(search("/.search", r#"displayName sw "e""#), set(&["eng", "empty"]));
    assert_eq!(
        search("/.search", r#"displayName ew "adams" or displayName eq "sales""#),
        set(&["alice", "carol", "sales"])
    );
}

#[test]
fn invalid_filters_are_400_invalid_filter() {
    let s = seed();
    let user_cases = [
        r#"nosuch eq "x""#,
        r#"name.nosuch eq "x""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nosuch eq "x""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:Nope:userName eq "x""#,
        r#"userName eq"#,
        r#"userName "x""#,
        r#"userName xx "x""#,
        r#"userName eq "unterminated"#,
        r#"(userName eq "x""#,
        r#"userName eq "x")"#,
        r#"userName eq "x" and"#,
        r#"userName eq "x" userName eq "y""#,
        r#"emails[type eq "work""#,
        r#"emails[type eq "work" and nosuch eq "x"]"#,
        r#"emails[type eq "work"[value eq "x"]]"#,
        r#"not userName eq "x""#,
        r#"active gt true"#,
        r#"active eq "maybe""#,
        r#"userName eq 5"#,
        r#"userName co null"#,
        r#"meta.created gt "yesterday""#,
        r#"meta.created co "2020""#,
        r#"meta.nosuch eq "x""#,
        r#"userName eq "x" & title pr"#,
        r#"title[value eq "x"]"#,
    ];
    for filter in user_cases {
        let res = s.app.get(&format!("/Users?filter={}", enc(filter)));
        assert_eq!(res.status, 400, "filter {filter:?} should be rejected: {}", res.text);
        res.expect_error(400, Some("invalidFilter"));
    }
    let group_cases = [
        r#"userName eq "x""#,
        r#"members[display eq "x"]"#,
        r#"members.nosuch eq "x""#,
        r#"displayName eq"#,
        r#"name.familyName eq "x""#,
    ];
    for filter in group_cases {
        let res = s.app.get(&format!("/Groups?filter={}", enc(filter)));
        assert_eq!(res.status, 400, "group filter {filter:?} should be rejected: {}", res.text);
        res.expect_error(400, Some("invalidFilter"));
    }
    // An attribute neither type has is an error at the root too; one only users have is not.
    s.app.get(&format!("?filter={}", enc(r#"nosuch eq "x""#))).expect_error(400, Some("invalidFilter"));
    let only_users = s.app.get(&format!("?filter={}", enc(r#"userName sw "bob""#))).expect(200);
    assert_eq!(only_users.body["totalResults"], 1);
}

#[test]
fn filtered_totals_are_exact_at_every_page_position() {
    // A short page gives the total without a COUNT; every other page counts.
    let s = seed();
    let filter = enc(r#"userName co "@""#);
    let all = s.app.get(&format!("/Users?count=1000&filter={filter}")).expect(200);
    let n = all.body["totalResults"].as_i64().unwrap();
    assert!(n >= 3, "the seed has several matching users: {}", all.text);
    for (start, count, expected_items) in
        [(1, n + 5, n), (1, n, n), (1, n - 1, n - 1), (2, 1, 1), (n, 5, 1), (n + 1, 5, 0), (n + 50, 5, 0), (1, 0, 0)]
    {
        let page = s.app.get(&format!("/Users?startIndex={start}&count={count}&filter={filter}")).expect(200);
        assert_eq!(page.body["totalResults"], n, "startIndex={start} count={count}: {}", page.text);
        assert_eq!(page.body["itemsPerPage"], expected_items, "startIndex={start} count={count}: {}", page.text);
    }
    let none = s.app.get(&format!("/Users?startIndex=3&count=5&filter={}", enc(r#"userName eq "nobody""#))).expect(200);
    assert_eq!(none.body["totalResults"], 0);
}
