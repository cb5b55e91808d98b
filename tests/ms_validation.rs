//! The SCIM-side assertions of Microsoft's gallery validation suite
//! (`../shared/docs/ms-validation-suite.md`): the 23 tests that apply to a
//! static bearer token (7 and 8 are OAuth and workload identity federation).
//! Entra-driven tests send what Entra's engine sends for the change, in its
//! default dialect, and check what the suite checks.

mod common;
use common::*;
use serde_json::{json, Value};

fn user_filter(user_name: &str) -> String {
    format!("/Users?filter={}", enc(&format!("userName eq \"{user_name}\"")))
}

fn group_filter(name: &str, exclude_members: bool) -> String {
    let extra = if exclude_members { "&excludedAttributes=members" } else { "" };
    format!("/Groups?filter={}{extra}", enc(&format!("displayName eq \"{name}\"")))
}

/// The suite's `scimUserBody`: every default target with a test value.
fn scim_user_body(user_name: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "active": true,
        "externalId": format!("ext-{user_name}"),
        "displayName": "Test User",
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "name": {"givenName": "Test", "familyName": "User", "formatted": "Test User"},
        "emails": [{"type": "work", "primary": true, "value": "shared@example.com"}],
        "addresses": [{"type": "work", "primary": true, "formatted": "1 Main St", "streetAddress": "1 Main St",
                       "locality": "Seattle", "region": "WA", "postalCode": "98052", "country": "US"}],
        "phoneNumbers": [{"type": "work", "primary": true, "value": "+1 425 555 0100"},
                         {"type": "mobile", "value": "+1 425 555 0101"}, {"type": "fax", "value": "+1 425 555 0102"}],
        ENTERPRISE: {"employeeNumber": "12345", "department": "Sales"}
    })
}

/// Reads a flattened target (`name.givenName`, `emails[type eq "work"].value`, `urn:…:department`).
fn read_target(user: &Value, target: &str) -> Value {
    if let Some(attr) = target.strip_prefix(&format!("{ENTERPRISE}:")) {
        return user[ENTERPRISE][attr].clone();
    }
    if let Some((multi, rest)) = target.split_once("[type eq \"") {
        let (kind, sub) = rest.split_once("\"].").unwrap();
        return user[multi]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["type"] == kind))
            .map(|i| i[sub].clone())
            .unwrap_or(Value::Null);
    }
    match target.split_once('.') {
        Some((a, b)) => user[a][b].clone(),
        None => user[target].clone(),
    }
}

/// The default mapping's targets the null-update and update tests touch.
const TARGETS: &[&str] = &[
    "displayName",
    "title",
    "preferredLanguage",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "emails[type eq \"work\"].value",
    "addresses[type eq \"work\"].streetAddress",
    "addresses[type eq \"work\"].locality",
    "addresses[type eq \"work\"].region",
    "addresses[type eq \"work\"].postalCode",
    "addresses[type eq \"work\"].country",
    "addresses[type eq \"work\"].formatted",
    "phoneNumbers[type eq \"work\"].value",
    "phoneNumbers[type eq \"mobile\"].value",
    "phoneNumbers[type eq \"fax\"].value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
];

/// The suite's "batch" form: `[type eq]` targets as path ops, the rest in one path-less replace.
fn batch_patch(app: &TestApp, id: &str, value: impl Fn(&str) -> Value) -> Res {
    let mut ops = Vec::new();
    let mut pathless = serde_json::Map::new();
    for t in TARGETS {
        if t.contains('[') {
            ops.push(json!({"op": "Replace", "path": t, "value": value(t)}));
        } else {
            pathless.insert(t.to_string(), value(t));
        }
    }
    ops.push(json!({"op": "Replace", "value": Value::Object(pathless)}));
    app.patch(&format!("/Users/{id}"), Value::Array(ops))
}

#[test]
fn t01_schema_discoverability() {
    let app = TestApp::new();
    let res = app.get("/Schemas").expect(200);
    let resources = res.body["Resources"].as_array().unwrap();
    assert!(!resources.is_empty());
    // Flatten as the suite does and check every default target is listed.
    let mut names = Vec::new();
    for schema in resources {
        let id = schema["id"].as_str().unwrap();
        let prefix = if id == USER || id == GROUP { String::new() } else { format!("{id}:") };
        for a in schema["attributes"].as_array().unwrap() {
            let name = a["name"].as_str().unwrap();
            let subs = a["subAttributes"].as_array().cloned().unwrap_or_default();
            if name == "members" || name == "manager" {
                names.push(format!("{prefix}{name}"));
            } else if a["type"] == "complex" && a["multiValued"] == true {
                let types =
                    subs.iter().find(|s| s["name"] == "type").and_then(|t| t["canonicalValues"].as_array().cloned());
                for sub in subs.iter().filter(|s| s["name"] != "type" && s["name"] != "primary") {
                    match &types {
                        Some(cv) => {
                            for v in cv {
                                names.push(format!(
                                    "{prefix}{name}[type eq \"{}\"].{}",
                                    v.as_str().unwrap(),
                                    sub["name"].as_str().unwrap()
                                ));
                            }
                        }
                        None => {
                            names.push(format!("{prefix}{name}[primary eq \"True\"].{}", sub["name"].as_str().unwrap()))
                        }
                    }
                }
            } else if a["type"] == "complex" {
                for sub in &subs {
                    names.push(format!("{prefix}{name}.{}", sub["name"].as_str().unwrap()));
                }
            } else {
                names.push(format!("{prefix}{name}"));
            }
        }
    }
    let has = |t: &str| names.iter().any(|n| n.eq_ignore_ascii_case(t));
    for t in TARGETS.iter().copied().chain([
        "userName",
        "active",
        "externalId",
        &format!("{ENTERPRISE}:manager"),
        "displayName",
        "members",
    ]) {
        assert!(has(t), "/Schemas does not list {t}");
    }
    // externalId for groups too, and the core Group schema is there.
    assert!(resources.iter().any(|s| s["id"] == GROUP));
    let group = resources.iter().find(|s| s["id"] == GROUP).unwrap();
    assert!(group["attributes"].as_array().unwrap().iter().any(|a| a["name"] == "externalId"));
}

#[test]
fn t02_null_update_clears_every_target_with_empty_string_then_null() {
    let app = TestApp::new();
    let id = app.post("/Users", &scim_user_body("scnull1a2b3c4d@example.com")).expect(201).id();
    for (phase, value) in [("empty string", json!("")), ("null", Value::Null)] {
        let res = batch_patch(&app, &id, |_| value.clone());
        assert!(res.status == 200 || res.status == 204, "{phase}: {}", res.text);
        let user = app.get(&format!("/Users/{id}")).expect(200).body;
        for t in TARGETS {
            let got = read_target(&user, t);
            if phase == "null" && !t.contains('[') {
                assert!(got.is_null(), "{phase}: {t} should be absent, is {got}");
            } else {
                assert!(got.is_null() || got == "", "{phase}: {t} should be cleared, is {got}");
            }
        }
        assert_eq!(user["userName"], "scnull1a2b3c4d@example.com", "required attributes untouched");
    }
    app.delete(&format!("/Users/{id}")).expect(204);
}

#[test]
fn t03_user_create() {
    let app = TestApp::new();
    let res = app.post("/Users", &scim_user_body("lascuser5e6f7a8b@example.com"));
    assert!(res.status == 200 || res.status == 201);
    assert!(!res.id().is_empty());
    assert_eq!(res.body["userName"], "lascuser5e6f7a8b@example.com");
    app.delete(&format!("/Users/{}", res.id())).expect(204);
}

#[test]
fn t04_user_update_every_eligible_target_in_one_patch() {
    let app = TestApp::new();
    let id = app.post("/Users", &scim_user_body("lasupduser1234abcd@example.com")).expect(201).id();
    let value = |t: &str| -> Value {
        match t {
            "title" => json!("Senior Engineer"),
            "name.givenName" => json!("UpdatedFirst"),
            "preferredLanguage" => json!("en-GB"),
            "addresses[type eq \"work\"].streetAddress" => json!("456 Update Ave"),
            _ => json!(format!("upd-{}", t.len())),
        }
    };
    let mut ops: Vec<Value> = Vec::new();
    let res = batch_patch(&app, &id, value);
    assert!(res.status == 200 || res.status == 204, "{}", res.text);
    // userName and externalId are single-valued read-write strings too.
    ops.push(json!({"op": "Replace", "path": "userName", "value": "upd-lasupduser@example.com"}));
    ops.push(json!({"op": "Replace", "path": "externalId", "value": "upd-ext"}));
    app.patch(&format!("/Users/{id}"), Value::Array(ops)).expect(200);
    let user = app.get(&format!("/Users/{id}")).expect(200).body;
    for t in TARGETS {
        let want = value(t);
        if t.contains('[') {
            let (multi, _) = t.split_once('[').unwrap();
            assert!(user[multi].to_string().contains(want.as_str().unwrap()), "{t}: {}", user[multi]);
        } else {
            assert_eq!(read_target(&user, t), want, "{t}");
        }
    }
    assert_eq!(user["userName"], "upd-lasupduser@example.com");
    assert_eq!(user["externalId"], "upd-ext");
}

#[test]
fn t05_group_create() {
    let app = TestApp::new();
    let res = app.post(
        "/Groups",
        &json!({"schemas": [GROUP], "displayName": "LASCDirectGroup-1a2b3c4d", "externalId": "5f0c7d1e-guid"}),
    );
    assert!(res.status == 200 || res.status == 201);
    assert!(!res.id().is_empty());
    assert_eq!(res.body["displayName"], "LASCDirectGroup-1a2b3c4d");
}

#[test]
fn t06_group_update_display_name_and_external_id() {
    let app = TestApp::new();
    let id = app
        .post("/Groups", &json!({"schemas": [GROUP], "displayName": "LASUpdGroup-1a2b3c4d", "externalId": "g-1"}))
        .expect(201)
        .id();
    let res = app.patch(
        &format!("/Groups/{id}"),
        json!([{"op": "replace", "path": "displayName", "value": "upd-9f8e7d6c"},
               {"op": "replace", "path": "externalId", "value": "upd-0a0b0c0d"}]),
    );
    assert!(res.status == 200 || res.status == 204);
    let group = app.get(&format!("/Groups/{id}")).expect(200).body;
    assert_eq!(group["displayName"], "upd-9f8e7d6c");
    assert_eq!(group["externalId"], "upd-0a0b0c0d");
}

fn walk_pages(app: &TestApp, endpoint: &str) -> usize {
    let mut start = 1;
    let mut pages = 0;
    loop {
        let page = app.get(&format!("/{endpoint}?startIndex={start}&count=5")).expect(200).body;
        let resources = page["Resources"].as_array().unwrap();
        if resources.is_empty() || pages == 10 {
            break;
        }
        assert_eq!(page["startIndex"], pages * 5 + 1, "page {pages}");
        assert!(resources.len() <= 5, "count=5 honoured exactly");
        if start as i64 + resources.len() as i64 - 1 < page["totalResults"].as_i64().unwrap() {
            assert_eq!(resources.len(), 5, "a full page before the last");
        }
        pages += 1;
        start += resources.len();
        if start as i64 > page["totalResults"].as_i64().unwrap() {
            break;
        }
    }
    pages
}

#[test]
fn t09_user_pagination() {
    let app = TestApp::new();
    // 11 users sharing one work e-mail: e-mail must not be unique.
    for i in 0..11 {
        let mut body = scim_user_body(&format!("paguser{i:08x}@example.com"));
        body["displayName"] = json!(format!("PagUser {i:08x}"));
        app.post("/Users", &body).expect(201);
    }
    assert!(walk_pages(&app, "Users") >= 2);
    assert_eq!(walk_pages(&app, "Users"), 3);
}

#[test]
fn t10_group_pagination() {
    let app = TestApp::new();
    for i in 0..11 {
        app.post("/Groups", &json!({"schemas": [GROUP], "displayName": format!("PagGroup {i:08x}")})).expect(201);
    }
    assert_eq!(walk_pages(&app, "Groups"), 3);
}

#[test]
fn t11_update_manager_as_a_plain_string() {
    let app = TestApp::new();
    let ids: Vec<String> =
        (0..3).map(|i| app.post("/Users", &scim_user_body(&format!("mgr{i}@example.com"))).expect(201).id()).collect();
    let path = format!("{ENTERPRISE}:manager");
    let user = format!("/Users/{}", ids[0]);
    let steps = [
        ("Add", json!(ids[1]), Some(&ids[1])),
        ("replace", json!(ids[2]), Some(&ids[2])),
        ("replace", json!(""), None),
    ];
    for (op, value, want) in steps {
        let res = app.patch(&user, json!([{"op": op, "path": path, "value": value}]));
        assert!(res.status == 200 || res.status == 204, "{}", res.text);
        let got = app.get(&user).expect(200).body;
        let manager = &got[ENTERPRISE]["manager"];
        match want {
            Some(id) => assert_eq!(manager, &json!({"value": id}), "{got}"),
            None => assert!(manager.is_null(), "a leftover manager {manager} fails the suite"),
        }
    }
}

#[test]
fn t12_create_user() {
    let app = TestApp::new();
    app.get(&user_filter("alex@contoso.com")).expect(200);
    app.post("/Users", &entra_user_body("alex@contoso.com")).expect(201);
    assert!(app.get(&user_filter("alex@contoso.com")).expect(200).body["totalResults"].as_i64().unwrap() >= 1);
}

#[test]
fn t13_update_user_rename_and_profile_change() {
    let app = TestApp::new();
    let id = app.entra_user("megan@contoso.com");
    // Entra's default dialect for the profile move and rename.
    app.patch(
        &format!("/Users/{id}"),
        json!([
            {"op": "Replace", "path": "userName", "value": "updated-megan@contoso.com"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated-megan@contoso.com"},
            {"op": "Replace", "path": "displayName", "value": "megan@contoso.com - Updated"},
            {"op": "Replace", "path": "externalId", "value": "megan2"},
            {"op": "Replace", "path": "title", "value": "Director"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Redmond"}
        ]),
    )
    .expect(200);
    let user = app.get(&format!("/Users/{id}")).expect(200).body;
    let lower = |v: &Value| v.as_str().unwrap().to_lowercase();
    assert_eq!(lower(&user["userName"]), "updated-megan@contoso.com");
    assert_eq!(lower(&read_target(&user, "emails[type eq \"work\"].value")), "updated-megan@contoso.com");
    assert_eq!(lower(&user["displayName"]), "megan@contoso.com - updated");
    assert_eq!(user["externalId"], "megan2");
    assert_eq!(user["title"], "Director");
    assert_eq!(read_target(&user, "addresses[type eq \"work\"].locality"), "Redmond");
}

#[test]
fn t14_disable_user_gives_boolean_false() {
    let app = TestApp::new();
    let id = app.entra_user("diego@contoso.com");
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    let list = app.get(&user_filter("diego@contoso.com")).expect(200).body;
    assert_eq!(list["Resources"][0]["active"], json!(false));
}

#[test]
fn t15_delete_user_then_404() {
    let app = TestApp::new();
    let id = app.entra_user("lee@contoso.com");
    app.delete(&format!("/Users/{id}")).expect(204);
    app.get(&format!("/Users/{id}")).expect_error(404, None);
}

#[test]
fn t16_user_update_manager_through_entra() {
    let app = TestApp::new();
    let id = app.entra_user("isaiah@contoso.com");
    let (m1, m2) = (app.entra_user("boss1@contoso.com"), app.entra_user("boss2@contoso.com"));
    let path = format!("{ENTERPRISE}:manager");
    for (op, manager) in [("Add", &m1), ("Replace", &m2)] {
        app.patch(&format!("/Users/{id}"), json!([{"op": op, "path": path, "value": manager}])).expect(200);
        assert!(app.get(&user_filter("isaiah@contoso.com")).text.contains(manager.as_str()));
    }
    app.patch(&format!("/Users/{id}"), json!([{"op": "Remove", "path": path}])).expect(200);
    let text = app.get(&user_filter("isaiah@contoso.com")).text;
    assert!(!text.contains("manager"), "{text}");
}

#[test]
fn t17_restore_user_keeps_the_same_id() {
    let app = TestApp::new();
    let upn = "restore@contoso.com";
    let id = app.entra_user(upn);
    assert_eq!(app.get(&user_filter(upn)).body["totalResults"], 1, "exactly one");
    // Unassigned: a soft delete.
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    let list = app.get(&user_filter(upn)).expect(200).body;
    assert_eq!(list["Resources"][0]["active"], false);
    // Reassigned: Entra finds it by userName and re-enables it.
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "True"}])).expect(200);
    let list = app.get(&user_filter(upn)).expect(200).body;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["active"], true);
    assert_eq!(list["Resources"][0]["id"], id.as_str(), "same SCIM id");
}

#[test]
fn t18_provision_on_demand_user_then_scim_delete() {
    let app = TestApp::new();
    let id = app.entra_user("pod@contoso.com");
    assert!(app.get(&user_filter("pod@contoso.com")).body["totalResults"].as_i64().unwrap() >= 1);
    app.delete(&format!("/Users/{id}")).expect(204);
}

#[test]
fn t19_create_group_with_parentheses_in_the_name() {
    let app = TestApp::new();
    let name = "LACreateGroup-(1a2b3c4d)";
    app.get(&group_filter(name, true)).expect(200);
    app.entra_group(name);
    // The suite inserts the value raw: parentheses unescaped in the query string.
    let raw = format!("/Groups?filter=displayName%20eq%20%22{name}%22");
    assert!(app.get(&raw).expect(200).body["totalResults"].as_i64().unwrap() >= 1);
}

#[test]
fn t20_update_group_rename() {
    let app = TestApp::new();
    let id = app.entra_group("LAUpdateGroup-1a2b");
    app.patch(
        &format!("/Groups/{id}"),
        json!([{"op": "Replace", "path": "displayName", "value": "LAUpdateGroup-1a2b-Modified"}]),
    )
    .expect(200);
    let res = app.get(&group_filter("LAUpdateGroup-1a2b-Modified", false)).expect(200);
    assert!(res.body["totalResults"].as_i64().unwrap() >= 1);
    assert!(res.text.contains("-Modified"));
}

#[test]
fn t21_delete_group() {
    let app = TestApp::new();
    let id = app.entra_group("LADeleteGroup-1");
    app.delete(&format!("/Groups/{id}")).expect(204);
    assert_eq!(app.get(&group_filter("LADeleteGroup-1", false)).expect(200).body["totalResults"], 0);
}

#[test]
fn t22_added_members_appear_in_filtered_group_lists() {
    let app = TestApp::new();
    let g = app.entra_group("LAMemberGroup-1");
    let (u1, u2) = (app.entra_user("m1@contoso.com"), app.entra_user("m2@contoso.com"));
    // Two members in one operation, as Entra may send.
    app.patch(
        &format!("/Groups/{g}"),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u1}, {"$ref": null, "value": u2}]}]),
    )
    .expect(200);
    let list = app.get(&group_filter("LAMemberGroup-1", false)).expect(200).body;
    let members: Vec<&str> =
        list["Resources"][0]["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert!(members.contains(&u1.as_str()) && members.contains(&u2.as_str()), "{members:?}");
}

#[test]
fn t23_removed_member_disappears_from_the_group() {
    let app = TestApp::new();
    let g = app.entra_group("LAMemberGroup-Remove");
    let u = app.entra_user("leaver@contoso.com");
    app.patch(&format!("/Groups/{g}"), json!([{"op": "Add", "path": "members", "value": [{"value": u}]}])).expect(200);
    assert!(app.get(&group_filter("LAMemberGroup-Remove", false)).text.contains(&u));
    app.patch(&format!("/Groups/{g}"), json!([{"op": "Remove", "path": "members", "value": [{"value": u}]}]))
        .expect(200);
    let res = app.get(&group_filter("LAMemberGroup-Remove", false)).expect(200);
    assert_eq!(res.body["totalResults"], 1, "the group is still found");
    assert!(!res.text.contains(&u));
}

#[test]
fn t24_provision_on_demand_group_then_scim_delete() {
    let app = TestApp::new();
    let id = app.entra_group("PODTestGroup_1a2b3c4d");
    assert!(app.get(&group_filter("PODTestGroup_1a2b3c4d", false)).body["totalResults"].as_i64().unwrap() >= 1);
    app.delete(&format!("/Groups/{id}")).expect(204);
}

#[test]
fn t25_restore_group_recreated_with_the_same_name_and_external_id() {
    let app = TestApp::new();
    let name = "RestoreGrp-1a2b3c4d";
    let id = app.entra_group(name);
    app.delete(&format!("/Groups/{id}")).expect(204);
    assert_eq!(app.get(&group_filter(name, false)).body["totalResults"], 0);
    let again = app.entra_group(name);
    assert_ne!(again, id);
    let list = app.get(&group_filter(name, false)).expect(200).body;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["externalId"], format!("ext-{name}"));
}
