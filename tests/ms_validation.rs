//! Microsoft's gallery validation suite ("SCIM Validation" Logic App), its 23
//! tests that apply to a static bearer token, one test each, named after them
//! (see /work/shared/docs/ms-validation-suite.md). The direct SCIM tests send
//! what the suite sends; the Entra-driven ones send what Entra's engine sends
//! for the suite's Graph change, and assert what the suite asserts over SCIM.

mod common;
use common::*;

use serde_json::{json, Map, Value};

const MS_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const DOMAIN: &str = "contoso.test";

fn ent(attr: &str) -> String {
    format!("{ENTERPRISE}:{attr}")
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `substring(guid(), 0, 8)`.
fn hex8() -> String {
    guid()[..8].to_string()
}

/// The target attributes of Entra's default non-gallery User mapping.
fn user_targets() -> Vec<String> {
    let mut t: Vec<String> = [
        "userName",
        "active",
        "displayName",
        "title",
        "emails[type eq \"work\"].value",
        "preferredLanguage",
        "name.givenName",
        "name.familyName",
        "name.formatted",
        "addresses[type eq \"work\"].formatted",
        "addresses[type eq \"work\"].streetAddress",
        "addresses[type eq \"work\"].locality",
        "addresses[type eq \"work\"].region",
        "addresses[type eq \"work\"].postalCode",
        "addresses[type eq \"work\"].country",
        "phoneNumbers[type eq \"work\"].value",
        "phoneNumbers[type eq \"mobile\"].value",
        "phoneNumbers[type eq \"fax\"].value",
        "externalId",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    t.extend(["employeeNumber", "department", "manager"].iter().map(|a| ent(a)));
    t
}

const GROUP_TARGETS: [&str; 3] = ["displayName", "externalId", "members"];

/// Targets the null-update test clears: mapped, not matching, not a reference,
/// not userName/active/externalId/roles, not required.
fn null_targets() -> Vec<String> {
    user_targets()
        .into_iter()
        .filter(|t| !["userName", "active", "externalId"].contains(&t.as_str()) && *t != ent("manager"))
        .collect()
}

/// Targets the update test replaces: single-valued read-write strings, incl. userName and externalId.
fn update_targets() -> Vec<String> {
    user_targets().into_iter().filter(|t| t != "active" && *t != ent("manager")).collect()
}

fn is_typed(target: &str) -> bool {
    target.contains('[')
}

/// `emails[type eq "work"].value` -> ("emails", "work", "value").
fn split_typed(target: &str) -> (&str, &str, &str) {
    let (attr, rest) = target.split_once('[').unwrap();
    let ty = rest.split('"').nth(1).unwrap();
    let sub = rest.rsplit_once("].").unwrap().1;
    (attr, ty, sub)
}

/// Reads a target from a user resource: the first element of that type for
/// `[type eq]` targets, `a.b` for sub-attributes, `<urn>:attr` for extensions.
/// None when absent or null.
fn read(user: &Value, target: &str) -> Option<Value> {
    let v = if let Some(attr) = target.strip_prefix(&format!("{ENTERPRISE}:")) {
        user.get(ENTERPRISE).and_then(|e| e.get(attr)).cloned()
    } else if is_typed(target) {
        let (attr, ty, sub) = split_typed(target);
        user.get(attr)
            .and_then(Value::as_array)
            .and_then(|items| items.iter().find(|i| i["type"] == ty))
            .and_then(|i| i.get(sub))
            .cloned()
    } else if let Some((a, b)) = target.split_once('.') {
        user.get(a).and_then(|o| o.get(b)).cloned()
    } else {
        user.get(target).cloned()
    };
    v.filter(|v| !v.is_null())
}

/// The suite's `scimUserBody`: every target but references/externalId/userName/active
/// with a test value; multi-valued ones as [{type, primary, value}], only the first primary.
fn scim_user_body(user_name: &str) -> Value {
    let h = hex8();
    json!({
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "active": true,
        "displayName": "SCIM Test User",
        "title": "Test Engineer",
        "preferredLanguage": "en-US",
        "emails": [{"type": "work", "primary": true, "value": format!("lasctest{h}@{DOMAIN}")}],
        "name": {"givenName": "Test", "familyName": "User", "formatted": "Test Test"},
        "addresses": [{
            "type": "work", "primary": true, "formatted": "Test Test", "streetAddress": "1 Microsoft Way",
            "locality": "Redmond", "region": "WA", "postalCode": &h[..5], "country": "US"
        }],
        "phoneNumbers": [
            {"type": "work", "primary": true, "value": format!("+1-555-{}", &h[..4])},
            {"type": "mobile", "primary": false, "value": format!("+1-555-{}", &h[4..8])},
            {"type": "fax", "primary": false, "value": "+1-555-0000"}
        ],
        ENTERPRISE: {"employeeNumber": &h[..6], "department": format!("Test-department-{}", &h[..6])}
    })
}

/// A user as Entra's default mapping sends it on create (profile values from `p`).
struct Profile {
    upn: String,
    nick: String,
    display: String,
    title: &'static str,
    lang: &'static str,
    given: &'static str,
    family: &'static str,
    street: &'static str,
    city: &'static str,
    region: &'static str,
    zip: &'static str,
    country: &'static str,
    work_phone: &'static str,
    mobile: &'static str,
    fax: &'static str,
    employee: &'static str,
    department: &'static str,
}

impl Profile {
    fn a(upn: &str) -> Profile {
        let nick = upn.split('@').next().unwrap().to_string();
        Profile {
            upn: upn.to_string(),
            display: nick.clone(),
            nick,
            title: "Engineer",
            lang: "en-US",
            given: "Adele",
            family: "Vance",
            street: "1 Microsoft Way",
            city: "Redmond",
            region: "WA",
            zip: "98052",
            country: "US",
            work_phone: "+1 425 555 0100",
            mobile: "+1 425 555 0101",
            fax: "+1 425 555 0102",
            employee: "1001",
            department: "Sales",
        }
    }

    /// The suite's second sample profile, with its renames.
    fn b(old_upn: &str) -> Profile {
        let nick = old_upn.split('@').next().unwrap();
        Profile {
            upn: format!("updated-{old_upn}"),
            nick: format!("updated{nick}"),
            display: format!("{old_upn} - Updated"),
            title: "Senior Engineer",
            lang: "en-GB",
            given: "UpdatedFirst",
            family: "UpdatedLast",
            street: "456 Update Ave",
            city: "Dublin",
            region: "Leinster",
            zip: "D02",
            country: "IE",
            work_phone: "+353 1 555 0200",
            mobile: "+353 85 555 0201",
            fax: "+353 1 555 0202",
            employee: "2002",
            department: "Marketing",
        }
    }

    /// Target -> expected value, for every mapped target but active/manager.
    fn expected(&self) -> Vec<(String, String)> {
        let formatted = format!("{} {}", self.given, self.family);
        let addr = format!("{}, {}, {} {}, {}", self.street, self.city, self.region, self.zip, self.country);
        [
            ("userName", self.upn.clone()),
            ("displayName", self.display.clone()),
            ("title", self.title.to_string()),
            ("emails[type eq \"work\"].value", self.upn.clone()),
            ("preferredLanguage", self.lang.to_string()),
            ("name.givenName", self.given.to_string()),
            ("name.familyName", self.family.to_string()),
            ("name.formatted", formatted),
            ("addresses[type eq \"work\"].formatted", addr),
            ("addresses[type eq \"work\"].streetAddress", self.street.to_string()),
            ("addresses[type eq \"work\"].locality", self.city.to_string()),
            ("addresses[type eq \"work\"].region", self.region.to_string()),
            ("addresses[type eq \"work\"].postalCode", self.zip.to_string()),
            ("addresses[type eq \"work\"].country", self.country.to_string()),
            ("phoneNumbers[type eq \"work\"].value", self.work_phone.to_string()),
            ("phoneNumbers[type eq \"mobile\"].value", self.mobile.to_string()),
            ("phoneNumbers[type eq \"fax\"].value", self.fax.to_string()),
            ("externalId", self.nick.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain([(ent("employeeNumber"), self.employee.to_string()), (ent("department"), self.department.to_string())])
        .collect()
    }

    /// Entra's POST body.
    fn create_body(&self) -> Value {
        let e: Map<String, Value> = self.expected().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        json!({
            "schemas": [USER, ENTERPRISE],
            "externalId": self.nick,
            "userName": self.upn,
            "active": true,
            "displayName": self.display,
            "title": self.title,
            "preferredLanguage": self.lang,
            "emails": [{"primary": true, "type": "work", "value": self.upn}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": e["name.formatted"], "familyName": self.family, "givenName": self.given},
            "addresses": [{
                "type": "work", "formatted": e["addresses[type eq \"work\"].formatted"], "streetAddress": self.street,
                "locality": self.city, "region": self.region, "postalCode": self.zip, "country": self.country
            }],
            "phoneNumbers": [
                {"type": "work", "value": self.work_phone},
                {"type": "mobile", "value": self.mobile},
                {"type": "fax", "value": self.fax}
            ],
            ENTERPRISE: {"employeeNumber": self.employee, "department": self.department},
            "roles": []
        })
    }
}

/// A PATCH request's answer must be 200 or 204.
#[track_caller]
fn patch_ok(app: &TestApp, path: &str, ops: Value) {
    let res = app.patch(path, ops);
    assert!(res.status == 200 || res.status == 204, "PATCH {path}: {} {}", res.status, res.text);
}

/// The suite's filter request: `?filter=<attr>%20eq%20%22<value>%22`, value inserted raw.
/// With the suite's `Accept: application/scim+json`.
fn suite_filter(app: &TestApp, resource: &str, attr: &str, value: &str, extra: &str) -> Res {
    let uri = format!("/scim/v2/default/{resource}?filter={attr}%20eq%20%22{value}%22{extra}");
    let res = app.raw("GET", &uri, Some(&app.token), &[("Accept", "application/scim+json")], None).expect(200);
    assert_eq!(res.body["schemas"], json!([LIST]), "{}", res.text);
    res
}

fn resources(res: &Res) -> Vec<Value> {
    res.body["Resources"].as_array().unwrap_or_else(|| panic!("a ListResponse: {}", res.text)).clone()
}

/// Entra's lookup before creating (`excludedAttributes=members` for groups).
fn entra_lookup(app: &TestApp, resource: &str, expr: &str) -> Vec<Value> {
    let extra = if resource == "Groups" { "&excludedAttributes=members" } else { "" };
    let res = app.get(&format!("/{resource}?filter={}{extra}", enc(expr))).expect(200);
    assert_eq!(res.body["schemas"], json!([LIST]), "{}", res.text);
    resources(&res)
}

/// Entra's create-user sequence: query by userName, then POST. Returns the id.
fn entra_provision_user(app: &TestApp, body: &Value) -> String {
    let upn = body["userName"].as_str().unwrap();
    assert!(entra_lookup(app, "Users", &format!("userName eq \"{upn}\"")).is_empty());
    app.post("/Users", body).expect(201).id()
}

/// Entra's create-group sequence: query by displayName, then POST. Returns the id.
fn entra_provision_group(app: &TestApp, name: &str, external_id: &str) -> String {
    assert!(entra_lookup(app, "Groups", &format!("displayName eq \"{name}\"")).is_empty());
    let body = json!({
        "schemas": [GROUP, MS_GROUP],
        "externalId": external_id,
        "displayName": name,
        "meta": {"resourceType": "Group"}
    });
    app.post("/Groups", &body).expect(201).id()
}

#[derive(Clone, Copy, Debug)]
enum Form {
    /// One `{"op":"replace","path":t,"value":v}` per target (PatchBodyFormat set).
    Verbose,
    /// `[type eq]` targets as path ops plus one path-less replace with dotted/URN keys.
    Batch,
}

fn patch_ops(form: Form, values: &[(String, Value)]) -> Value {
    match form {
        Form::Verbose => {
            Value::Array(values.iter().map(|(t, v)| json!({"op": "replace", "path": t, "value": v})).collect())
        }
        Form::Batch => {
            let mut ops: Vec<Value> = values
                .iter()
                .filter(|(t, _)| is_typed(t))
                .map(|(t, v)| json!({"op": "replace", "path": t, "value": v}))
                .collect();
            let rest: Map<String, Value> = values.iter().filter(|(t, _)| !is_typed(t)).cloned().collect();
            if !rest.is_empty() {
                ops.push(json!({"op": "replace", "value": rest}));
            }
            Value::Array(ops)
        }
    }
}

// ---------------------------------------------------------------------------
// SCIMTests_Workflow: direct SCIM calls
// ---------------------------------------------------------------------------

/// Flattens /Schemas the way the suite does.
fn flatten_schemas(list: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for schema in list {
        let id = schema["id"].as_str().unwrap_or_default();
        let attrs = schema["attributes"].as_array().cloned().unwrap_or_default();
        let core = id == USER || id == GROUP;
        for a in &attrs {
            let name = a["name"].as_str().unwrap_or_default();
            if !core {
                out.push(format!("{id}:{name}"));
                continue;
            }
            let ty = a["type"].as_str().unwrap_or_default();
            let multi = a["multiValued"] == json!(true);
            let subs = a["subAttributes"].as_array().cloned().unwrap_or_default();
            if name == "manager" || name == "members" {
                out.push(name.to_string());
            } else if ty == "complex" && multi {
                let canonical: Vec<String> = subs
                    .iter()
                    .find(|s| s["name"] == "type")
                    .and_then(|s| s["canonicalValues"].as_array())
                    .map(|cv| cv.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                for s in subs.iter().filter(|s| s["name"] != "type" && s["name"] != "primary") {
                    let sub = s["name"].as_str().unwrap_or_default();
                    if canonical.is_empty() {
                        out.push(format!("{name}[primary eq \"True\"].{sub}"));
                    }
                    for cv in &canonical {
                        out.push(format!("{name}[type eq \"{cv}\"].{sub}"));
                    }
                }
            } else if ty == "complex" {
                for s in &subs {
                    if s["type"] != "complex" && s["type"] != "reference" {
                        out.push(format!("{name}.{}", s["name"].as_str().unwrap_or_default()));
                    }
                }
            } else if ty != "reference" {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// 1. Schema_Discoverability_Test
#[test]
fn schema_discoverability_test() {
    let app = TestApp::new();
    let res = app.get("/Schemas").expect(200);
    assert_eq!(res.body["schemas"], json!([LIST]));
    let list = resources(&res);
    assert!(!list.is_empty(), "Resources must not be empty");
    let ids: Vec<&str> = list.iter().filter_map(|s| s["id"].as_str()).collect();
    assert!(ids.contains(&GROUP), "the core Group schema is listed (else the group tests FAIL): {ids:?}");
    let flat: Vec<String> = flatten_schemas(&list).iter().map(|s| s.to_lowercase()).collect();
    let wanted = user_targets().into_iter().chain(GROUP_TARGETS.iter().map(|s| s.to_string()));
    let missing: Vec<String> = wanted.filter(|t| t != "id" && !flat.contains(&t.to_lowercase())).collect();
    assert!(missing.is_empty(), "targets missing from /Schemas: {missing:?}");
    // externalId is listed in both resource schemas, not just somewhere.
    for id in [USER, GROUP] {
        let s = list.iter().find(|s| s["id"] == id).unwrap();
        assert!(s["attributes"].as_array().unwrap().iter().any(|a| a["name"] == "externalId"), "{id} lists externalId");
    }
}

fn null_update(app: &TestApp, form: Form) {
    let user_name = format!("scnull{}@{DOMAIN}", hex8());
    let mut body = scim_user_body(&user_name);
    body["externalId"] = json!(guid());
    let id = app.post("/Users", &body).expect(201).id();
    let path = format!("/Users/{id}");
    let before = app.get(&path).expect(200).body;
    app.get("/Schemas").expect(200);
    let targets = null_targets();
    for t in &targets {
        assert!(read(&before, t).is_some(), "{t} is populated before the test: {before}");
    }

    // Phase 1: "" everywhere.
    let blank: Vec<(String, Value)> = targets.iter().map(|t| (t.clone(), json!(""))).collect();
    patch_ok(app, &path, patch_ops(form, &blank));
    let user = app.get(&path).expect(200).body;
    for t in &targets {
        let v = read(&user, t);
        assert!(v.is_none() || v == Some(json!("")), "{form:?} phase 1: {t} = {v:?}");
    }

    // Phase 2: null everywhere; scalar targets must be null/absent ("" fails).
    let nulls: Vec<(String, Value)> = targets.iter().map(|t| (t.clone(), Value::Null)).collect();
    patch_ok(app, &path, patch_ops(form, &nulls));
    let user = app.get(&path).expect(200).body;
    for t in targets.iter().filter(|t| !is_typed(t)) {
        assert_eq!(read(&user, t), None, "{form:?} phase 2: {t}");
    }
    // What was not a target is untouched.
    assert_eq!(user["userName"], json!(user_name));
    assert_eq!(user["externalId"], body["externalId"]);
    assert_eq!(user["active"], json!(true));
    app.delete(&path).expect(204);

    // null straight onto populated values clears every target, [type eq] ones too.
    let id = app.post("/Users", &scim_user_body(&format!("scnull{}@{DOMAIN}", hex8()))).expect(201).id();
    let path = format!("/Users/{id}");
    patch_ok(app, &path, patch_ops(form, &nulls));
    let user = app.get(&path).expect(200).body;
    for t in &targets {
        assert_eq!(read(&user, t), None, "{form:?} null on a set value: {t}");
    }
    app.delete(&path).expect(204);
}

/// 2. SCIM_Null_Update_Test
#[test]
fn scim_null_update_test() {
    let app = TestApp::new();
    null_update(&app, Form::Batch);
    null_update(&app, Form::Verbose);
}

/// 3. SCIM_User_Create_Test
#[test]
fn scim_user_create_test() {
    let app = TestApp::new();
    let user_name = format!("lascuser{}@{DOMAIN}", hex8());
    let mut body = scim_user_body(&user_name);
    let external_id = guid();
    body["externalId"] = json!(external_id);
    let res = app.post("/Users", &body);
    assert!(res.status == 200 || res.status == 201, "{} {}", res.status, res.text);
    let id = res.body["id"].as_str().unwrap_or_default().to_string();
    assert!(!id.is_empty(), "non-empty id: {}", res.text);
    assert_eq!(res.body["userName"].as_str(), Some(user_name.as_str()), "same userName back, exactly");
    assert_eq!(res.body["externalId"], json!(external_id));
    for t in update_targets().iter().filter(|t| *t != "userName" && *t != "externalId") {
        assert_eq!(read(&res.body, t), read(&body, t), "{t} stored as sent");
    }
    app.delete(&format!("/Users/{id}")).expect(204);
    app.get(&format!("/Users/{id}")).expect(404);
}

fn update_user(app: &TestApp, form: Form) {
    let id = app.post("/Users", &scim_user_body(&format!("lasupduser{}@{DOMAIN}", hex8()))).expect(201).id();
    let path = format!("/Users/{id}");
    let named = [
        ("title", "Senior Engineer"),
        ("name.givenName", "UpdatedFirst"),
        ("preferredLanguage", "en-GB"),
        ("addresses[type eq \"work\"].streetAddress", "456 Update Ave"),
    ];
    let values: Vec<(String, Value)> = update_targets()
        .into_iter()
        .map(|t| {
            let v = named.iter().find(|(n, _)| *n == t).map(|(_, v)| v.to_string());
            let v = v.unwrap_or_else(|| format!("upd-{}", hex8()));
            (t, json!(v))
        })
        .collect();
    patch_ok(app, &path, patch_ops(form, &values));
    let res = app.get(&path);
    assert!(res.status == 200 || res.status == 204, "{}", res.text);
    let user = res.body;
    for (t, v) in &values {
        if is_typed(t) {
            let (attr, _, _) = split_typed(t);
            let text = user[attr].to_string();
            assert!(text.contains(v.as_str().unwrap()), "{form:?}: {t} = {v} not in {text}");
        } else {
            assert_eq!(read(&user, t).as_ref(), Some(v), "{form:?}: {t}");
        }
    }
    // The renamed user is found under its new names only.
    let user_name = values.iter().find(|(t, _)| t == "userName").unwrap().1.as_str().unwrap().to_string();
    let found = resources(&suite_filter(app, "Users", "userName", &user_name, ""));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], json!(id));
    app.delete(&path).expect(204);
}

/// 4. SCIM_User_Update_Test
#[test]
fn scim_user_update_test() {
    let app = TestApp::new();
    update_user(&app, Form::Batch);
    update_user(&app, Form::Verbose);
}

/// 5. SCIM_Group_Create_Test
#[test]
fn scim_group_create_test() {
    let app = TestApp::new();
    let name = format!("LASCDirectGroup-{}", hex8());
    let external_id = guid();
    let res = app.post("/Groups", &json!({"schemas": [GROUP], "displayName": name, "externalId": external_id}));
    assert!(res.status == 200 || res.status == 201, "{} {}", res.status, res.text);
    assert!(res.body["id"].as_str().is_some_and(|id| !id.is_empty()), "{}", res.text);
    assert_eq!(res.body["displayName"].as_str(), Some(name.as_str()));
    assert_eq!(res.body["externalId"], json!(external_id));
}

/// 6. SCIM_Group_Update_Test
#[test]
fn scim_group_update_test() {
    let app = TestApp::new();
    let name = format!("LASUpdGroup-{}", hex8());
    let id =
        app.post("/Groups", &json!({"schemas": [GROUP], "displayName": name, "externalId": guid()})).expect(201).id();
    let (new_name, new_ext) = (format!("upd-{}", hex8()), format!("upd-{}", hex8()));
    let path = format!("/Groups/{id}");
    patch_ok(
        &app,
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": new_name},
            {"op": "replace", "path": "externalId", "value": new_ext}
        ]),
    );
    let res = app.get(&path);
    assert!(res.status == 200 || res.status == 204, "{}", res.text);
    assert_eq!(res.body["displayName"], json!(new_name));
    assert_eq!(res.body["externalId"], json!(new_ext));
}

/// The suite's paging walk over `resource`; `make` creates one resource.
fn pagination(app: &TestApp, resource: &str, make: impl Fn(&TestApp) -> String) {
    let first = app.get(&format!("/{resource}?startIndex=1&count=5")).expect(200);
    assert_eq!(first.body["startIndex"], json!(1));
    let existing = first.body["totalResults"].as_i64().expect("totalResults");
    let created: Vec<String> = (existing..11).map(|_| make(app)).collect();
    let total = existing.max(11);

    let mut seen = Vec::new();
    let mut start = 1;
    let mut pages = 0;
    while pages < 10 {
        let res = app.get(&format!("/{resource}?startIndex={start}&count=5")).expect(200);
        let body = &res.body;
        let page_start = body["startIndex"].as_i64().unwrap_or(0);
        assert_eq!(page_start, pages * 5 + 1, "page {pages}: {}", res.text);
        assert_eq!(body["totalResults"], json!(total));
        let items = resources(&res);
        let expected_len = (total - page_start + 1).clamp(0, 5) as usize;
        assert_eq!(items.len(), expected_len, "count=5 honoured exactly on page {pages}");
        assert_eq!(body["itemsPerPage"], json!(items.len()));
        pages += 1;
        seen.extend(items.iter().map(|r| r["id"].as_str().unwrap().to_string()));
        let next = page_start + items.len() as i64;
        if items.is_empty() || next > total {
            break;
        }
        start = next;
    }
    assert!(pages >= 2, "at least 2 pages");
    assert_eq!(pages, 3);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no resource on two pages");
    assert_eq!(seen.len() as i64, total, "every resource on some page");
    for id in created {
        app.delete(&format!("/{resource}/{id}")).expect(204);
    }
}

/// 9. SCIM_User_Pagination_Test
#[test]
fn scim_user_pagination_test() {
    let app = TestApp::new();
    app.entra_user("already-here@contoso.test");
    // scimUserBody is built once: every paging user has the same work e-mail.
    let shared = scim_user_body("placeholder@test.com");
    pagination(&app, "Users", |app| {
        let h = hex8();
        let mut body = shared.clone();
        body["userName"] = json!(format!("paguser{h}@{DOMAIN}"));
        body["displayName"] = json!(format!("PagUser {h}"));
        app.post("/Users", &body).expect(201).id()
    });
}

/// 10. SCIM_Group_Pagination_Test
#[test]
fn scim_group_pagination_test() {
    let app = TestApp::new();
    pagination(&app, "Groups", |app| {
        let body = json!({"schemas": [GROUP], "displayName": format!("PagGroup {}", hex8()), "externalId": guid()});
        app.post("/Groups", &body).expect(201).id()
    });
}

/// The manager as the suite reads it: enterprise manager.value, or a top-level manager.
fn manager_value(user: &Value) -> Option<Value> {
    let m = user.get(ENTERPRISE).and_then(|e| e.get("manager")).or_else(|| user.get("manager"));
    m.and_then(|m| m.get("value")).cloned().filter(|v| !v.is_null())
}

/// 11. SCIM_Update_Manager_Test
#[test]
fn scim_update_manager_test() {
    let app = TestApp::new();
    let ids: Vec<String> = (0..3)
        .map(|_| app.post("/Users", &scim_user_body(&format!("lascuser{}@{DOMAIN}", hex8()))).expect(201).id())
        .collect();
    let (user, m1, m2) = (&ids[0], &ids[1], &ids[2]);
    let path = format!("/Users/{user}");
    let manager = ent("manager");

    patch_ok(&app, &path, json!([{"op": "Add", "path": manager, "value": m1}]));
    let got = app.get(&path).expect(200).body;
    assert_eq!(manager_value(&got), Some(json!(m1)));
    assert_eq!(got[ENTERPRISE]["manager"], json!({"value": m1}), "returned as the RFC complex value");

    patch_ok(&app, &path, json!([{"op": "replace", "path": manager, "value": m2}]));
    let got = app.get(&path).expect(200).body;
    assert_eq!(manager_value(&got), Some(json!(m2)));
    assert_eq!(got[ENTERPRISE]["manager"], json!({"value": m2}));

    patch_ok(&app, &path, json!([{"op": "replace", "path": manager, "value": ""}]));
    let got = app.get(&path).expect(200).body;
    let m = got.get(ENTERPRISE).and_then(|e| e.get("manager"));
    let cleared = match m {
        None | Some(Value::Null) => true,
        Some(m) => matches!(m.get("value"), Some(Value::Null)) || m.get("value") == Some(&json!("")),
    };
    assert!(cleared, "manager removed (a leftover {{}} fails): {got}");
    assert!(got.get("manager").is_none_or(Value::is_null));
    // The rest of the extension is kept.
    assert!(got[ENTERPRISE]["department"].is_string(), "{got}");
}

// ---------------------------------------------------------------------------
// UserTests_Workflow: Entra-driven
// ---------------------------------------------------------------------------

/// 12. Create_User_Test
#[test]
fn create_user_test() {
    let app = TestApp::new();
    let upn = format!("lacreate{}@{DOMAIN}", hex8());
    // The suite's pre-check, value inserted raw (`@` unescaped).
    assert!(resources(&suite_filter(&app, "Users", "userName", &upn, "")).is_empty());
    let id = entra_provision_user(&app, &Profile::a(&upn).create_body());
    let found = resources(&suite_filter(&app, "Users", "userName", &upn, ""));
    assert!(!found.is_empty(), "the created user is found by userName");
    assert_eq!(found[0]["id"], json!(id));
    assert_eq!(found[0]["userName"], json!(upn));
}

/// 13. Update_User_Test
#[test]
fn update_user_test() {
    let app = TestApp::new();
    let upn = format!("laupdate{}@{DOMAIN}", hex8());
    let (a, b) = (Profile::a(&upn), Profile::b(&upn));
    entra_provision_user(&app, &a.create_body());

    // The suite finds the SCIM id by the old userName.
    let found = resources(&suite_filter(&app, "Users", "userName", &upn, ""));
    assert_eq!(found.len(), 1);
    let id = found[0]["id"].as_str().unwrap().to_string();

    // Entra's PATCH for the change (default dialect: one capitalised op per changed attribute).
    let old: Map<String, Value> = a.expected().into_iter().map(|(k, v)| (k, json!(v))).collect();
    let ops: Vec<Value> = b
        .expected()
        .into_iter()
        .filter(|(t, v)| old[t] != json!(v))
        .map(|(t, v)| json!({"op": "Replace", "path": t, "value": v}))
        .collect();
    assert!(ops.len() > 15, "{ops:?}");
    let res = app.patch(&format!("/Users/{id}"), Value::Array(ops));
    assert!(res.status == 200 || res.status == 204, "{}", res.text);

    // GET by id: the userName changed, every mapping matches (case-insensitively).
    let user = app.get(&format!("/Users/{id}")).expect(200).body;
    assert_eq!(user["userName"], json!(b.upn));
    for (t, expected) in b.expected() {
        let got = read(&user, &t).and_then(|v| v.as_str().map(str::to_string));
        assert_eq!(got.map(|g| g.to_lowercase()), Some(expected.to_lowercase()), "{t}");
    }
    assert_eq!(user["active"], json!(true));
    // One work e-mail, not two.
    assert_eq!(user["emails"].as_array().map(Vec::len), Some(1), "{user}");
    assert!(resources(&suite_filter(&app, "Users", "userName", &upn, "")).is_empty());
}

fn disable(app: &TestApp, op: Value) {
    let upn = format!("ladis{}@{DOMAIN}", hex8());
    let id = entra_provision_user(app, &Profile::a(&upn).create_body());
    let res = app.patch(&format!("/Users/{id}"), json!([op]));
    assert!(res.status == 200 || res.status == 204, "{}", res.text);
    let found = resources(&suite_filter(app, "Users", "userName", &upn, ""));
    assert_eq!(found[0]["active"], json!(false), "Resources[0].active is the boolean false");
}

/// 14. Disable_User_Test
#[test]
fn disable_user_test() {
    let app = TestApp::new();
    disable(&app, json!({"op": "Replace", "path": "active", "value": "False"}));
    disable(&app, json!({"op": "replace", "path": "active", "value": false}));
}

/// 15. Delete_User_Test
#[test]
fn delete_user_test() {
    let app = TestApp::new();
    let upn = format!("ladel{}@{DOMAIN}", hex8());
    let id = entra_provision_user(&app, &Profile::a(&upn).create_body());
    // Entra soft-deletes first (the Graph delete), then deletes on purge.
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    app.delete(&format!("/Users/{id}")).expect(204);
    assert_eq!(app.get(&format!("/Users/{id}")).status, 404);
    assert!(resources(&suite_filter(&app, "Users", "userName", &upn, "")).is_empty());
}

/// 16. User_Update_Manager_Test
#[test]
fn user_update_manager_test() {
    let app = TestApp::new();
    let manager = ent("manager");
    // Removal as a path-only Remove, and as a Remove naming the old value.
    for with_value in [false, true] {
        let h = hex8();
        let upn = format!("laupdate{h}@{DOMAIN}");
        let id = entra_provision_user(&app, &Profile::a(&upn).create_body());
        let m1 = entra_provision_user(&app, &Profile::a(&format!("lamgr{h}@{DOMAIN}")).create_body());
        let m2 = entra_provision_user(&app, &Profile::a(&format!("lamgrnew{h}@{DOMAIN}")).create_body());
        let path = format!("/Users/{id}");
        let text = |app: &TestApp| suite_filter(app, "Users", "userName", &upn, "").text;

        patch_ok(&app, &path, json!([{"op": "Add", "path": manager, "value": m1}]));
        let t = text(&app);
        assert!(t.contains(&m1), "{t}");

        patch_ok(&app, &path, json!([{"op": "Replace", "path": manager, "value": m2}]));
        let t = text(&app);
        assert!(t.contains(&m2) && !t.contains(&m1), "{t}");

        let remove = if with_value {
            json!({"op": "Remove", "path": manager, "value": [{"value": m2}]})
        } else {
            json!({"op": "Remove", "path": manager})
        };
        patch_ok(&app, &path, json!([remove]));
        let res = suite_filter(&app, "Users", "userName", &upn, "");
        let user = &resources(&res)[0];
        let empty = user[ENTERPRISE]["manager"]["value"].as_str().is_none_or(str::is_empty);
        assert!(!res.text.contains("manager") || empty, "{}", res.text);
        assert!(!res.text.contains(&m2), "{}", res.text);
    }
}

/// 17. Restore_User_Test
#[test]
fn restore_user_test() {
    let app = TestApp::new();
    let upn = format!("larestore{}@{DOMAIN}", hex8());
    let body = Profile::a(&upn).create_body();

    // Phase 1: created; exactly one match.
    entra_provision_user(&app, &body);
    let res = suite_filter(&app, "Users", "userName", &upn, "");
    assert_eq!(res.body["totalResults"], json!(1));
    let id = resources(&res)[0]["id"].as_str().unwrap().to_string();

    // Phase 2: unassigned: a disable, not a DELETE; still found, inactive.
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    let found = resources(&suite_filter(&app, "Users", "userName", &upn, ""));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["active"], json!(false));

    // Phase 3: reassigned: Entra matches by userName and re-enables the same resource.
    let matched = entra_lookup(&app, "Users", &format!("userName eq \"{upn}\""));
    assert_eq!(matched.len(), 1);
    let matched_id = matched[0]["id"].as_str().unwrap();
    app.patch(&format!("/Users/{matched_id}"), json!([{"op": "Replace", "path": "active", "value": "True"}]))
        .expect(200);
    let res = suite_filter(&app, "Users", "userName", &upn, "");
    let found = resources(&res);
    assert!(!found.is_empty());
    assert_eq!(res.body["totalResults"], json!(1), "no duplicate");
    assert_eq!(found[0]["active"], json!(true));
    assert_eq!(found[0]["id"], json!(id), "same SCIM id as in phase 1");
    // A second POST of the same user cannot create a twin.
    app.post("/Users", &body).expect_error(409, Some("uniqueness"));
}

/// 18. POD_User_Test
#[test]
fn pod_user_test() {
    let app = TestApp::new();
    let upn = format!("lapod{}@{DOMAIN}", hex8());
    entra_provision_user(&app, &Profile::a(&upn).create_body());
    let found = resources(&suite_filter(&app, "Users", "userName", &upn, ""));
    assert!(!found.is_empty());
    let id = found[0]["id"].as_str().unwrap();
    app.delete(&format!("/Users/{id}")).expect(204);
    assert!(resources(&suite_filter(&app, "Users", "userName", &upn, "")).is_empty());
}

// ---------------------------------------------------------------------------
// GroupTests_Workflow: Entra-driven
// ---------------------------------------------------------------------------

/// 19. Create_Group_Test
#[test]
fn create_group_test() {
    let app = TestApp::new();
    let name = format!("LACreateGroup-({})", hex8());
    let id = entra_provision_group(&app, &name, &guid());
    // Parentheses inserted raw, members not excluded.
    let found = resources(&suite_filter(&app, "Groups", "displayName", &name, ""));
    assert!(!found.is_empty(), "found by a displayName with parentheses");
    assert_eq!(found[0]["id"], json!(id));
    assert_eq!(found[0]["displayName"], json!(name));
}

/// 20. Update_Group_Test
#[test]
fn update_group_test() {
    let app = TestApp::new();
    let name = format!("LAUpdateGroup-{}", hex8());
    let id = entra_provision_group(&app, &name, &guid());
    let new_name = format!("{name}-Modified");
    patch_ok(&app, &format!("/Groups/{id}"), json!([{"op": "Replace", "path": "displayName", "value": new_name}]));
    let res = suite_filter(&app, "Groups", "displayName", &new_name, "");
    assert!(!resources(&res).is_empty());
    assert!(res.text.contains("-Modified"), "{}", res.text);
    assert!(resources(&suite_filter(&app, "Groups", "displayName", &name, "")).is_empty());
}

/// 21. Delete_Group_Test
#[test]
fn delete_group_test() {
    let app = TestApp::new();
    let name = format!("LADeleteGroup-{}", hex8());
    let id = entra_provision_group(&app, &name, &guid());
    app.delete(&format!("/Groups/{id}")).expect(204);
    let res = suite_filter(&app, "Groups", "displayName", &name, "");
    assert_eq!(res.body["totalResults"], json!(0));
    assert!(resources(&res).is_empty());
}

fn member_values(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["value"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// 22. Group_Update_Add_Member_Test
#[test]
fn group_update_add_member_test() {
    let app = TestApp::new();
    let h = hex8();
    let name = format!("LAMemberGroup-{h}");
    let u1 = entra_provision_user(&app, &Profile::a(&format!("lamem1{h}@{DOMAIN}")).create_body());
    let u2 = entra_provision_user(&app, &Profile::a(&format!("lamem2{h}@{DOMAIN}")).create_body());
    let u3 = entra_provision_user(&app, &Profile::a(&format!("lamem3{h}@{DOMAIN}")).create_body());
    let id = entra_provision_group(&app, &name, &guid());
    let path = format!("/Groups/{id}");

    // One member.
    patch_ok(&app, &path, json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u1}]}]));
    let found = resources(&suite_filter(&app, "Groups", "displayName", &name, ""));
    assert_eq!(found.len(), 1);
    assert_eq!(member_values(&found[0]), vec![u1.clone()], "members returned in the filtered list");

    // Two members in one op.
    let two =
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u2}, {"$ref": null, "value": u3}]}]);
    patch_ok(&app, &path, two);
    let found = resources(&suite_filter(&app, "Groups", "displayName", &name, ""));
    let mut got = member_values(&found[0]);
    got.sort();
    let mut want = vec![u1, u2, u3];
    want.sort();
    assert_eq!(got, want);
}

fn remove_member(app: &TestApp, compliant: bool) {
    let h = hex8();
    let name = format!("LAMemberGroup-{h}-Remove");
    let user = entra_provision_user(app, &Profile::a(&format!("lamem1{h}@{DOMAIN}")).create_body());
    let stay = entra_provision_user(app, &Profile::a(&format!("lamem2{h}@{DOMAIN}")).create_body());
    let id = entra_provision_group(app, &name, &guid());
    let path = format!("/Groups/{id}");
    let add = json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": user}, {"$ref": null, "value": stay}]}]);
    patch_ok(app, &path, add);
    let res = suite_filter(app, "Groups", "displayName", &name, "");
    assert!(res.text.contains(&user), "{}", res.text);

    let remove = if compliant {
        json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}])
    } else {
        json!([{"op": "Remove", "path": "members", "value": [{"value": user}]}])
    };
    patch_ok(app, &path, remove);
    let res = suite_filter(app, "Groups", "displayName", &name, "");
    assert_eq!(resources(&res).len(), 1, "the group is still found");
    assert!(!res.text.contains(&user), "compliant={compliant}: {}", res.text);
    assert!(res.text.contains(&stay), "the other member stays: {}", res.text);
}

/// 23. Group_Update_Remove_Member_Test
#[test]
fn group_update_remove_member_test() {
    let app = TestApp::new();
    remove_member(&app, false);
    remove_member(&app, true);
}

/// 24. POD_Group_Test
#[test]
fn pod_group_test() {
    let app = TestApp::new();
    let name = format!("PODTestGroup_{}", hex8());
    let id = entra_provision_group(&app, &name, &guid());
    let found = resources(&suite_filter(&app, "Groups", "displayName", &name, ""));
    assert!(!found.is_empty());
    assert_eq!(found[0]["id"], json!(id));
    app.delete(&format!("/Groups/{id}")).expect(204);
    assert!(resources(&suite_filter(&app, "Groups", "displayName", &name, "")).is_empty());
}

/// 25. Restore_Group_Test
#[test]
fn restore_group_test() {
    let app = TestApp::new();
    let name = format!("RestoreGrp-{}", hex8());
    let external_id = guid();
    let encoded = enc(&name);
    let count = |app: &TestApp| suite_filter(app, "Groups", "displayName", &encoded, "").body["totalResults"].clone();

    let id = entra_provision_group(&app, &name, &external_id);
    assert_eq!(count(&app), json!(1));
    // Unassigned: Entra deletes the group.
    app.delete(&format!("/Groups/{id}")).expect(204);
    assert_eq!(count(&app), json!(0));
    // Reassigned: created again with the same displayName and externalId.
    let again = entra_provision_group(&app, &name, &external_id);
    assert_ne!(again, id);
    assert_eq!(count(&app), json!(1));
    let found = resources(&suite_filter(&app, "Groups", "displayName", &encoded, ""));
    assert_eq!(found[0]["id"], json!(again));
    assert_eq!(found[0]["externalId"], json!(external_id));
}
