//! Microsoft Entra ID's provisioning traffic, replayed request by request
//! (see /work/shared/docs/entra-scim.md): Test Connection, the user and group
//! flows in both PATCH dialects, soft and hard deletes, uniqueness.

mod common;
use common::*;

use serde_json::{json, Value};

/// Entra's group schema URN, sent on group creation.
const MS_GROUP: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const SCIM_JSON: &str = "application/scim+json";

fn ent(attr: &str) -> String {
    format!("{ENTERPRISE}:{attr}")
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Sends a body the way Entra does: `application/scim+json; charset=utf-8`.
fn send(app: &TestApp, method: &str, path: &str, body: &Value) -> Res {
    app.raw(
        method,
        &format!("/scim/v2/default{path}"),
        Some(&app.token),
        &[("Content-Type", "application/scim+json; charset=utf-8")],
        Some(body.to_string()),
    )
}

/// A PATCH as Entra sends it (charset content type).
fn entra_patch(app: &TestApp, path: &str, ops: Value) -> Res {
    send(app, "PATCH", path, &json!({"schemas": [PATCH_OP], "Operations": ops}))
}

/// `GET /{resource}?filter=<expr>[&extra]`.
fn query(app: &TestApp, resource: &str, expr: &str, extra: &str) -> Res {
    let extra = if extra.is_empty() { String::new() } else { format!("&{extra}") };
    app.get(&format!("/{resource}?filter={}{extra}", enc(expr)))
}

/// Checks a ListResponse of `total` results, all on the first page; returns the resources.
#[track_caller]
fn expect_list(res: Res, total: usize) -> Vec<Value> {
    let res = res.expect(200);
    assert_eq!(res.content_type.as_deref(), Some(SCIM_JSON), "{}", res.text);
    let b = &res.body;
    assert_eq!(b["schemas"], json!([LIST]), "{}", res.text);
    assert_eq!(b["totalResults"], json!(total), "{}", res.text);
    assert_eq!(b["startIndex"], json!(1), "{}", res.text);
    let resources = b["Resources"].as_array().unwrap_or_else(|| panic!("Resources is an array: {}", res.text));
    assert_eq!(resources.len(), total, "{}", res.text);
    assert_eq!(b["itemsPerPage"], json!(resources.len()), "{}", res.text);
    resources.clone()
}

/// Checks a single-resource response: status, media type, ETag = meta.version.
#[track_caller]
fn expect_resource(res: Res, status: u16) -> Value {
    let res = res.expect(status);
    assert_eq!(res.content_type.as_deref(), Some(SCIM_JSON), "{}", res.text);
    assert!(res.etag.is_some(), "ETag header missing: {}", res.text);
    assert_eq!(res.etag.as_deref(), res.body["meta"]["version"].as_str(), "{}", res.text);
    res.body
}

/// A group PATCH as Entra sends it: checks the 204 Entra documents (no body,
/// the new ETag) and returns the group as a GET reads it afterwards.
#[track_caller]
fn patch_group(app: &TestApp, gpath: &str, ops: Value) -> Value {
    let res = entra_patch(app, gpath, ops).expect(204);
    assert!(res.text.is_empty(), "204 has no body: {}", res.text);
    let after = expect_resource(app.get(gpath), 200);
    assert_eq!(res.etag.as_deref(), after["meta"]["version"].as_str(), "the 204 carries the new ETag");
    after
}

fn user_url(id: &str) -> String {
    format!("{BASE}/scim/v2/default/Users/{id}")
}

fn group_url(id: &str) -> String {
    format!("{BASE}/scim/v2/default/Groups/{id}")
}

/// The ids of a group's `members`, checking each entry is exactly {value, $ref, type}.
#[track_caller]
fn member_ids(group: &Value) -> Vec<String> {
    let members = group["members"].as_array().unwrap_or_else(|| panic!("members is an array: {group}"));
    members
        .iter()
        .map(|m| {
            let id = m["value"].as_str().unwrap_or_else(|| panic!("member value: {m}")).to_string();
            assert_eq!(m, &json!({"value": id, "$ref": user_url(&id), "type": "User"}), "member shape");
            id
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// Test Connection
// ---------------------------------------------------------------------------

#[test]
fn test_connection_user_probe_with_random_guid_answers_empty_list() {
    let app = TestApp::new();
    app.entra_user("someone@contoso.com");
    // Exactly as observed: form-encoded (`+` for spaces), no Content-Type, no Accept.
    let uri = format!("/scim/v2/default/Users?filter=userName+eq+%22{}%22", guid());
    let res = app.raw("GET", &uri, Some(&app.token), &[], None);
    let resources = expect_list(res, 0);
    assert!(resources.is_empty());
}

#[test]
fn test_connection_group_probe_with_random_guid_answers_empty_list() {
    let app = TestApp::new();
    app.entra_group("Existing");
    let uri = format!("/scim/v2/default/Groups?excludedAttributes=members&filter=displayName+eq+%22{}%22", guid());
    expect_list(app.raw("GET", &uri, Some(&app.token), &[], None), 0);
}

#[test]
fn test_connection_with_a_wrong_secret_token_is_401() {
    let app = TestApp::new();
    let uri = format!("/scim/v2/default/Users?filter=userName+eq+%22{}%22", guid());
    let res = app.raw("GET", &uri, Some("not-the-secret-token"), &[], None).expect_error(401, None);
    assert!(res.www_authenticate.is_some_and(|h| h.starts_with("Bearer")));
    app.raw("GET", &uri, None, &[], None).expect_error(401, None);
}

#[test]
fn plus_in_a_query_value_is_decoded_as_a_space() {
    let app = TestApp::new();
    let body = json!({"schemas": [GROUP, MS_GROUP], "displayName": "Sales Team"});
    let id = send(&app, "POST", "/Groups", &body).expect(201).id();
    let uri = "/scim/v2/default/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales+Team%22";
    let found = expect_list(app.raw("GET", uri, Some(&app.token), &[], None), 1);
    assert_eq!(found[0]["id"], json!(id));
}

// ---------------------------------------------------------------------------
// Users: match, create, get
// ---------------------------------------------------------------------------

#[test]
fn user_create_flow_query_create_get_and_match_by_each_attribute() {
    let app = TestApp::new();
    let upn = "Test_User@contoso.com";

    // 1. Entra looks for the user by its matching attribute: none yet.
    expect_list(query(&app, "Users", &format!("userName eq \"{upn}\""), ""), 0);

    // 2. Create, with Entra's content type and its default-mapping body.
    let mut body = entra_user_body(upn);
    body["externalId"] = json!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    let sent = body.clone();
    let res = send(&app, "POST", "/Users", &body);
    let location = res.location.clone();
    let created = expect_resource(res, 201);
    let id = created["id"].as_str().expect("id").to_string();
    assert!(!id.is_empty() && id != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(created["schemas"], json!([USER, ENTERPRISE]));
    for key in ["userName", "externalId", "displayName", "title", "emails", "name", "addresses", "phoneNumbers"] {
        assert_eq!(created[key], sent[key], "{key} stored verbatim");
    }
    assert_eq!(created["active"], json!(true));
    assert_eq!(created[ENTERPRISE], sent[ENTERPRISE]);
    assert_eq!(created[ENTERPRISE]["manager"], json!({"value": "boss"}));
    let meta = &created["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert_eq!(meta["location"], json!(user_url(&id)));
    assert!(meta["created"].is_string() && meta["lastModified"].is_string(), "{meta}");
    assert_eq!(location.as_deref(), meta["location"].as_str(), "Location header = meta.location");

    // 3. Later cycles read it by id.
    let got = expect_resource(app.get(&format!("/Users/{id}")), 200);
    assert_eq!(got, created);

    // 4. Each matching attribute finds it (userName case-insensitively).
    let by_name = expect_list(query(&app, "Users", "userName eq \"TEST_USER@CONTOSO.COM\"", ""), 1);
    assert_eq!(by_name[0]["id"], json!(id));
    assert_eq!(by_name[0]["userName"], json!(upn), "stored case kept");
    let by_ext = expect_list(query(&app, "Users", "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"", ""), 1);
    assert_eq!(by_ext[0]["id"], json!(id));
    let by_mail = expect_list(query(&app, "Users", &format!("emails[type eq \"work\"].value eq \"{upn}\""), ""), 1);
    assert_eq!(by_mail[0]["id"], json!(id));
    assert_eq!(by_mail[0], created, "list resources are full users");

    // Near misses match nothing.
    expect_list(query(&app, "Users", "userName eq \"Test_User@contoso.co\"", ""), 0);
    expect_list(query(&app, "Users", &format!("emails[type eq \"home\"].value eq \"{upn}\""), ""), 0);
    expect_list(query(&app, "Users", "externalId eq \"0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF\"", ""), 0);
}

#[test]
fn unknown_user_id_is_404_on_get_patch_and_delete() {
    let app = TestApp::new();
    let missing = guid();
    app.get(&format!("/Users/{missing}")).expect_error(404, None);
    entra_patch(&app, &format!("/Users/{missing}"), json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .expect_error(404, None);
    app.delete(&format!("/Users/{missing}")).expect_error(404, None);
}

#[test]
fn duplicate_user_name_is_409_uniqueness_case_insensitively() {
    let app = TestApp::new();
    app.entra_user("ada@contoso.com");
    let res = send(&app, "POST", "/Users", &entra_user_body("ADA@Contoso.COM"));
    res.expect_error(409, Some("uniqueness"));
    assert_eq!(app.count("users"), 1);
    // A rename onto a taken userName is refused the same way.
    let other = app.entra_user("grace@contoso.com");
    entra_patch(
        &app,
        &format!("/Users/{other}"),
        json!([{"op": "Replace", "path": "userName", "value": "Ada@Contoso.com"}]),
    )
    .expect_error(409, Some("uniqueness"));
    let still = app.get(&format!("/Users/{other}")).expect(200);
    assert_eq!(still.body["userName"], "grace@contoso.com");
    // A user may change the case of its own userName; the new case is stored as sent.
    let own = entra_patch(
        &app,
        &format!("/Users/{other}"),
        json!([{"op": "Replace", "path": "userName", "value": "Grace@Contoso.com"}]),
    );
    assert_eq!(expect_resource(own, 200)["userName"], "Grace@Contoso.com");
}

// ---------------------------------------------------------------------------
// Users: PATCH, both dialects
// ---------------------------------------------------------------------------

#[test]
fn patch_default_dialect_one_op_per_attribute() {
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let boss = app.entra_user("boss@contoso.com");
    let path = format!("/Users/{id}");

    let ops = json!([
        {"op": "Replace", "path": "displayName", "value": "Ada King"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.king@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Augusta"},
        {"op": "Replace", "path": "name.familyName", "value": "King"},
        {"op": "Replace", "path": "externalId", "value": "aking"},
        {"op": "Replace", "path": ent("employeeNumber"), "value": "42"},
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Add", "path": ent("manager"), "value": boss},
    ]);
    let user = expect_resource(entra_patch(&app, &path, ops.clone()), 200);
    assert_eq!(user["id"], json!(id));
    assert_eq!(user["displayName"], "Ada King");
    assert_eq!(user["emails"], json!([{"primary": true, "type": "work", "value": "ada.king@contoso.com"}]));
    assert_eq!(user["name"]["givenName"], "Augusta");
    assert_eq!(user["name"]["familyName"], "King");
    assert_eq!(user["name"]["formatted"], "ada Example", "untouched sub-attribute kept");
    assert_eq!(user["externalId"], "aking");
    assert_eq!(user["nickName"], "Babs");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "42");
    assert_eq!(user[ENTERPRISE]["department"], "Identity", "untouched extension attribute kept");
    assert_eq!(user[ENTERPRISE]["manager"], json!({"value": boss}), "manager returned as a complex value");
    assert_eq!(user["title"], "Engineer");
    assert_eq!(app.get(&path).expect(200).body, user, "the PATCH answer is what is stored");

    // The new values are what matching finds now.
    expect_list(query(&app, "Users", "emails[type eq \"work\"].value eq \"ada@contoso.com\"", ""), 0);
    expect_list(query(&app, "Users", "emails[type eq \"work\"].value eq \"ada.king@contoso.com\"", ""), 1);
    expect_list(query(&app, "Users", "externalId eq \"aking\"", ""), 1);
    // The manager probe, with the attribute fully qualified.
    let probe = format!("id eq \"{id}\" and {} eq \"{boss}\"", ent("manager"));
    let hit = expect_list(query(&app, "Users", &probe, "attributes=id"), 1);
    assert_eq!(hit[0]["id"], json!(id));
    let probe = format!("id eq \"{boss}\" and {} eq \"{boss}\"", ent("manager"));
    expect_list(query(&app, "Users", &probe, "attributes=id"), 0);

    // Entra re-sends the same operations every cycle: nothing changes, not even the version.
    let again = expect_resource(entra_patch(&app, &path, ops), 200);
    assert_eq!(again["meta"]["version"], user["meta"]["version"]);
    assert_eq!(again, user);

    // Single-valued rename (userName).
    let renamed = expect_resource(
        entra_patch(&app, &path, json!([{"op": "Replace", "path": "userName", "value": "ada.king@contoso.com"}])),
        200,
    );
    assert_eq!(renamed["userName"], "ada.king@contoso.com");
    assert_ne!(renamed["meta"]["version"], user["meta"]["version"]);
    expect_list(query(&app, "Users", "userName eq \"ada@contoso.com\"", ""), 0);
    let found = expect_list(query(&app, "Users", "userName eq \"Ada.King@contoso.com\"", ""), 1);
    assert_eq!(found[0]["id"], json!(id));

    // Disable and enable with the string booleans of the default dialect.
    let off =
        expect_resource(entra_patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "False"}])), 200);
    assert_eq!(off["active"], json!(false));
    let on =
        expect_resource(entra_patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "True"}])), 200);
    assert_eq!(on["active"], json!(true));
    // Any case, and the tutorial's real boolean, in the same dialect.
    let off =
        expect_resource(entra_patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "false"}])), 200);
    assert_eq!(off["active"], json!(false));
    let on =
        expect_resource(entra_patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": true}])), 200);
    assert_eq!(on["active"], json!(true));
}

#[test]
fn patch_default_dialect_pathless_replace_with_dotted_and_urn_keys() {
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let path = format!("/Users/{id}");
    let ops = json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada2@contoso.com"},
        {"op": "Replace", "value": {
            "displayName": "Ada L.",
            "name.givenName": "Ada",
            "name.familyName": "Lovelace",
            ent("employeeNumber"): "1815",
            ent("department"): "Analytics",
            "active": "False"
        }}
    ]);
    let user = expect_resource(entra_patch(&app, &path, ops), 200);
    assert_eq!(user["displayName"], "Ada L.");
    assert_eq!(
        user["name"],
        json!({"formatted": "ada Example", "familyName": "Lovelace", "givenName": "Ada"}),
        "dotted keys change one sub-attribute each"
    );
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "1815");
    assert_eq!(user[ENTERPRISE]["department"], "Analytics");
    assert_eq!(user[ENTERPRISE]["manager"], json!({"value": "boss"}));
    assert_eq!(user["active"], json!(false));
    assert_eq!(user["emails"][0]["value"], "ada2@contoso.com");
    // No stray attributes named after the dotted keys.
    let text = serde_json::to_string(&user).unwrap();
    assert!(!text.contains("name.givenName") && !text.contains(":employeeNumber\""), "{text}");
    assert!(user[ENTERPRISE].as_object().unwrap().keys().all(|k| !k.contains(':')), "{user}");
    assert_eq!(app.get(&path).expect(200).body, user);
}

#[test]
fn patch_compliant_dialect_aad_opt_scim062020() {
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let boss = app.entra_user("boss@contoso.com");
    let path = format!("/Users/{id}");

    let ops = json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "lovelace@contoso.com"},
        {"op": "replace", "value": {
            "displayName": "Countess Lovelace",
            "name.givenName": "Augusta Ada",
            "name.familyName": "Lovelace",
            ent("employeeNumber"): "1852"
        }},
        {"op": "add", "path": "nickName", "value": "Babs"},
        {"op": "add", "path": ent("manager"), "value": boss}
    ]);
    let user = expect_resource(entra_patch(&app, &path, ops), 200);
    assert_eq!(user["emails"], json!([{"primary": true, "type": "work", "value": "lovelace@contoso.com"}]));
    assert_eq!(user["displayName"], "Countess Lovelace");
    assert_eq!(user["name"]["givenName"], "Augusta Ada");
    assert_eq!(user["name"]["familyName"], "Lovelace");
    assert_eq!(user["name"]["formatted"], "ada Example");
    assert_eq!(user["nickName"], "Babs");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "1852");
    assert_eq!(user[ENTERPRISE]["manager"], json!({"value": boss}));

    // Disable with a real boolean.
    let off =
        expect_resource(entra_patch(&app, &path, json!([{"op": "replace", "path": "active", "value": false}])), 200);
    assert_eq!(off["active"], json!(false));
    let listed = expect_list(query(&app, "Users", "userName eq \"ada@contoso.com\"", ""), 1);
    assert_eq!(listed[0]["active"], json!(false));

    // Remove a single-valued attribute and the manager.
    let ops = json!([
        {"op": "remove", "path": "nickName"},
        {"op": "remove", "path": ent("manager")}
    ]);
    let user = expect_resource(entra_patch(&app, &path, ops), 200);
    assert!(user.get("nickName").is_none(), "{user}");
    assert!(user[ENTERPRISE].get("manager").is_none(), "{user}");
    assert_eq!(user[ENTERPRISE]["department"], "Identity");
}

#[test]
fn patch_adds_a_work_email_to_a_user_without_one() {
    let app = TestApp::new();
    let mut body = entra_user_body("nomail@contoso.com");
    body.as_object_mut().unwrap().remove("emails");
    let id = send(&app, "POST", "/Users", &body).expect(201).id();
    let ops = json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "nomail@contoso.com"}]);
    let user = expect_resource(entra_patch(&app, &format!("/Users/{id}"), ops), 200);
    assert_eq!(user["emails"], json!([{"type": "work", "value": "nomail@contoso.com"}]));
    let found = expect_list(query(&app, "Users", "emails[type eq \"work\"].value eq \"nomail@contoso.com\"", ""), 1);
    assert_eq!(found[0]["id"], json!(id));
}

// ---------------------------------------------------------------------------
// Users: soft delete, restore, hard delete
// ---------------------------------------------------------------------------

#[test]
fn soft_delete_keeps_the_user_readable_and_filterable_then_restore_keeps_the_id() {
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let other = app.entra_user("grace@contoso.com");
    let path = format!("/Users/{id}");

    let off =
        expect_resource(entra_patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "False"}])), 200);
    assert_eq!(off["active"], json!(false));

    // Still there, by id and by every matching attribute, showing active false.
    let got = expect_resource(app.get(&path), 200);
    assert_eq!(got["active"], json!(false));
    assert_eq!(got["userName"], "ada@contoso.com");
    for expr in [
        "userName eq \"ada@contoso.com\"",
        "externalId eq \"ada\"",
        "emails[type eq \"work\"].value eq \"ada@contoso.com\"",
    ] {
        let found = expect_list(query(&app, "Users", expr, ""), 1);
        assert_eq!(found[0]["id"], json!(id), "{expr}");
        assert_eq!(found[0]["active"], json!(false), "{expr}");
    }
    let inactive = expect_list(query(&app, "Users", "active eq false", ""), 1);
    assert_eq!(inactive[0]["id"], json!(id));
    let active = expect_list(query(&app, "Users", "active eq true", ""), 1);
    assert_eq!(active[0]["id"], json!(other));

    // Restore: Entra matches by userName and re-enables the same resource.
    let found = expect_list(query(&app, "Users", "userName eq \"ada@contoso.com\"", ""), 1);
    let same = found[0]["id"].as_str().unwrap().to_string();
    assert_eq!(same, id);
    let on = expect_resource(
        entra_patch(&app, &format!("/Users/{same}"), json!([{"op": "Replace", "path": "active", "value": "True"}])),
        200,
    );
    assert_eq!(on["active"], json!(true));
    assert_eq!(on["id"], json!(id));
    assert_eq!(app.count("users"), 2);
    expect_list(query(&app, "Users", "active eq false", ""), 0);
}

#[test]
fn hard_delete_is_204_then_404_everywhere_and_memberships_are_gone() {
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let keep = app.entra_user("grace@contoso.com");
    let group = app.entra_group("Engineers");
    let gpath = format!("/Groups/{group}");
    let before = patch_group(
        &app,
        &gpath,
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, {"$ref": null, "value": keep}]}]),
    );
    assert_eq!(sorted(member_ids(&before)), sorted(vec![id.clone(), keep.clone()]));
    assert_eq!(app.count("group_members"), 2);

    let res = app.delete(&format!("/Users/{id}")).expect(204);
    assert!(res.text.is_empty(), "204 has no body: {}", res.text);

    app.get(&format!("/Users/{id}")).expect_error(404, None);
    entra_patch(&app, &format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .expect_error(404, None);
    app.delete(&format!("/Users/{id}")).expect_error(404, None);
    for expr in [
        "userName eq \"ada@contoso.com\"".to_string(),
        "externalId eq \"ada\"".to_string(),
        "emails[type eq \"work\"].value eq \"ada@contoso.com\"".to_string(),
        format!("id eq \"{id}\""),
    ] {
        expect_list(query(&app, "Users", &expr, ""), 0);
    }

    // The membership went with the user; the group and the other member stay.
    let after = expect_resource(app.get(&gpath), 200);
    assert_eq!(member_ids(&after), vec![keep.clone()]);
    assert_ne!(after["meta"]["version"], before["meta"]["version"], "the group changed");
    assert_eq!(app.count("group_members"), 1);
    expect_list(query(&app, "Groups", &format!("members eq \"{id}\""), "attributes=id"), 0);
    let probe = format!("id eq \"{group}\" and members eq \"{id}\"");
    expect_list(query(&app, "Groups", &probe, "attributes=id"), 0);

    // The userName is free again (Entra re-creates a purged-then-restored user).
    let again = app.entra_user("ada@contoso.com");
    assert_ne!(again, id);
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

#[test]
fn group_flow_create_get_query_rename_members_probe_delete() {
    let app = TestApp::new();
    let u1 = app.entra_user("u1@contoso.com");
    let u2 = app.entra_user("u2@contoso.com");
    let u3 = app.entra_user("u3@contoso.com");

    // Query by displayName first: none.
    expect_list(query(&app, "Groups", "displayName eq \"Engineering\"", "excludedAttributes=members"), 0);

    // Create, with Microsoft's extra schema URN and meta, and no members.
    let body = json!({
        "schemas": [GROUP, MS_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Engineering",
        "meta": {"resourceType": "Group"}
    });
    let res = send(&app, "POST", "/Groups", &body);
    let location = res.location.clone();
    let created = expect_resource(res, 201);
    let gid = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["schemas"], json!([GROUP]));
    assert_eq!(created["displayName"], "Engineering");
    assert_eq!(created["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(created["members"], json!([]));
    assert_eq!(created["meta"]["resourceType"], "Group");
    assert_eq!(created["meta"]["location"], json!(group_url(&gid)));
    assert_eq!(location.as_deref(), Some(group_url(&gid).as_str()));
    let gpath = format!("/Groups/{gid}");

    // Get and query with excludedAttributes=members: no members key at all.
    let got = expect_resource(app.get(&format!("{gpath}?excludedAttributes=members")), 200);
    assert!(got.get("members").is_none(), "{got}");
    assert_eq!(got["displayName"], "Engineering");
    assert_eq!(got["id"], json!(gid));
    let listed = expect_list(query(&app, "Groups", "displayName eq \"engineering\"", "excludedAttributes=members"), 1);
    assert_eq!(listed[0]["id"], json!(gid));
    assert!(listed[0].get("members").is_none(), "{}", listed[0]);
    let all = expect_list(app.get("/Groups?excludedAttributes=members"), 1);
    assert!(all[0].get("members").is_none());

    // Rename.
    let renamed =
        patch_group(&app, &gpath, json!([{"op": "Replace", "path": "displayName", "value": "Engineering Team"}]));
    assert_eq!(renamed["displayName"], "Engineering Team");
    assert_eq!(renamed["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(renamed["members"], json!([]));
    expect_list(query(&app, "Groups", "displayName eq \"Engineering\"", "excludedAttributes=members"), 0);
    expect_list(query(&app, "Groups", "displayName eq \"Engineering Team\"", "excludedAttributes=members"), 1);

    // Add two members in one op ($ref null); an id that is no user here is skipped.
    let ops = json!([{"op": "Add", "path": "members", "value": [
        {"$ref": null, "value": u1},
        {"$ref": null, "value": u2},
        {"$ref": null, "value": "not-a-user-id"}
    ]}]);
    let g = patch_group(&app, &gpath, ops);
    assert_eq!(sorted(member_ids(&g)), sorted(vec![u1.clone(), u2.clone()]));
    assert_eq!(app.count("group_members"), 2);

    // Another add, and a repeated one (idempotent).
    let add3 = json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u3}]}]);
    let g = patch_group(&app, &gpath, add3.clone());
    assert_eq!(member_ids(&g).len(), 3);
    let g = patch_group(&app, &gpath, add3);
    assert_eq!(sorted(member_ids(&g)), sorted(vec![u1.clone(), u2.clone(), u3.clone()]));
    assert_eq!(app.count("group_members"), 3);

    // The user shows its group.
    let user = expect_resource(app.get(&format!("/Users/{u1}")), 200);
    assert_eq!(
        user["groups"],
        json!([{"value": gid, "$ref": group_url(&gid), "display": "Engineering Team", "type": "direct"}])
    );

    // Membership probe.
    let probe = |u: &str| format!("id eq \"{gid}\" and members eq \"{u}\"");
    let hit = expect_list(query(&app, "Groups", &probe(&u1), "attributes=id"), 1);
    assert_eq!(hit[0]["id"], json!(gid));
    assert!(hit[0].get("members").is_none() && hit[0].get("displayName").is_none(), "{}", hit[0]);
    expect_list(query(&app, "Groups", &probe(&guid()), "attributes=id"), 0);

    // Remove by value array (default dialect).
    let ops = json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u1}]}]);
    let g = patch_group(&app, &gpath, ops);
    assert_eq!(sorted(member_ids(&g)), sorted(vec![u2.clone(), u3.clone()]));
    expect_list(query(&app, "Groups", &probe(&u1), "attributes=id"), 0);
    expect_list(query(&app, "Groups", &probe(&u2), "attributes=id"), 1);

    // Remove by path filter (compliant dialect, no value).
    let ops = json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}]);
    let g = patch_group(&app, &gpath, ops);
    assert_eq!(member_ids(&g), vec![u3.clone()]);
    expect_list(query(&app, "Groups", &probe(&u2), "attributes=id"), 0);
    expect_list(query(&app, "Groups", &probe(&u3), "attributes=id"), 1);
    assert_eq!(app.count("group_members"), 1);

    // Removing someone who is not a member changes nothing.
    let ops = json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}]);
    let g = patch_group(&app, &gpath, ops);
    assert_eq!(member_ids(&g), vec![u3.clone()]);

    // Delete.
    let res = app.delete(&gpath).expect(204);
    assert!(res.text.is_empty());
    app.get(&gpath).expect_error(404, None);
    app.delete(&gpath).expect_error(404, None);
    expect_list(query(&app, "Groups", "displayName eq \"Engineering Team\"", "excludedAttributes=members"), 0);
    assert_eq!(app.count("group_members"), 0);
    // The users are untouched.
    expect_list(app.get("/Users"), 3);
    let user = expect_resource(app.get(&format!("/Users/{u3}")), 200);
    assert!(user.get("groups").is_none(), "{user}");
}

#[test]
fn group_display_name_is_unique_case_insensitively() {
    let app = TestApp::new();
    let first = app.entra_group("Sales");
    send(&app, "POST", "/Groups", &entra_group_body("SALES")).expect_error(409, Some("uniqueness"));
    assert_eq!(app.count("groups"), 1);
    let other = app.entra_group("Marketing");
    entra_patch(&app, &format!("/Groups/{other}"), json!([{"op": "Replace", "path": "displayName", "value": "sales"}]))
        .expect_error(409, Some("uniqueness"));
    let kept = app.get(&format!("/Groups/{other}")).expect(200);
    assert_eq!(kept.body["displayName"], "Marketing");
    // After a delete the name can be used again.
    app.delete(&format!("/Groups/{first}")).expect(204);
    app.entra_group("Sales");
}

#[test]
fn group_patch_answers_204_unless_the_client_asks_for_the_group() {
    let app = TestApp::new();
    let gid = app.entra_group("Everyone");
    let (u1, u2) = (app.entra_user("ada@contoso.com"), app.entra_user("grace@contoso.com"));
    let gpath = format!("/Groups/{gid}");
    let v0 = expect_resource(app.get(&gpath), 200)["meta"]["version"].clone();

    // Entra's member-add: 204, no body, the new ETag.
    let res =
        entra_patch(&app, &gpath, json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u1}]}]))
            .expect(204);
    assert!(res.text.is_empty(), "{}", res.text);
    assert_ne!(res.etag.as_deref(), v0.as_str(), "a member add is a new version");
    let after = expect_resource(app.get(&gpath), 200);
    assert_eq!(res.etag.as_deref(), after["meta"]["version"].as_str());
    assert_eq!(member_ids(&after), vec![u1.clone()]);

    // Asking for a projection gets the group back, as RFC 7644 §3.5.2 describes.
    let patch = |query: &str, ops: Value| {
        app.req("PATCH", &format!("{gpath}?{query}"), Some(&json!({"schemas": [PATCH_OP], "Operations": ops})))
    };
    let g = expect_resource(
        patch("excludedAttributes=members", json!([{"op": "Replace", "path": "externalId", "value": "all"}])),
        200,
    );
    assert_eq!(g["externalId"], "all");
    assert_eq!(g["displayName"], "Everyone");
    assert!(g.get("members").is_none(), "{g}");
    let res =
        patch("attributes=members", json!([{"op": "Add", "path": "members", "value": [{"value": u2}]}])).expect(200);
    let g = &res.body;
    assert_eq!(sorted(member_ids(g)), sorted(vec![u1.clone(), u2.clone()]));
    assert!(g.get("displayName").is_none() && g.get("meta").is_none(), "only what was asked for, and id: {g}");
    assert_eq!(g["id"], json!(gid));
    let after = expect_resource(app.get(&gpath), 200);
    assert_eq!(res.etag.as_deref(), after["meta"]["version"].as_str(), "the ETag comes without meta too");
    assert_eq!(app.count("group_members"), 2);
}

#[test]
fn manager_reference_probe_with_the_unqualified_attribute_name() {
    // The shape Entra uses to check a reference: `id eq "<user>" and manager eq "<manager>"`,
    // with `manager` not qualified by the enterprise URN (entra-scim.md §2).
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let boss = app.entra_user("boss@contoso.com");
    let path = format!("/Users/{id}");
    expect_resource(entra_patch(&app, &path, json!([{"op": "Add", "path": ent("manager"), "value": boss}])), 200);
    let hit =
        expect_list(query(&app, "Users", &format!("id eq \"{id}\" and manager eq \"{boss}\""), "attributes=id"), 1);
    assert_eq!(hit[0]["id"], json!(id));
    expect_list(query(&app, "Users", &format!("id eq \"{id}\" and manager eq \"{id}\""), "attributes=id"), 0);
}

/// Work e-mails in a user resource.
fn work_emails(user: &Value) -> usize {
    user["emails"].as_array().map_or(0, |e| e.iter().filter(|e| e["type"] == "work").count())
}

// entra-scim.md §3 and §10.9: "type" values of a multi-valued attribute are unique (at most one
// work e-mail), since Entra addresses values as `emails[type eq "work"]`. Refusing (400) or keeping
// one work e-mail are both acceptable; storing two is not.

#[test]
fn post_with_two_work_emails_keeps_at_most_one() {
    let app = TestApp::new();
    let mut body = entra_user_body("two@contoso.com");
    body["emails"] = json!([{"type": "work", "value": "a@contoso.com"}, {"type": "work", "value": "b@contoso.com"}]);
    let res = send(&app, "POST", "/Users", &body);
    if res.status == 400 {
        res.expect_error(400, Some("invalidValue"));
        assert_eq!(app.count("users"), 0);
    } else {
        let user = expect_resource(res, 201);
        assert_eq!(work_emails(&user), 1, "two work e-mails stored: {}", user["emails"]);
    }
}

#[test]
fn patch_add_of_a_second_work_email_keeps_at_most_one() {
    let app = TestApp::new();
    let id = app.entra_user("ada@contoso.com");
    let path = format!("/Users/{id}");
    let ops = json!([{"op": "Add", "path": "emails", "value": [
        {"type": "work", "value": "second@contoso.com", "primary": true}
    ]}]);
    let res = entra_patch(&app, &path, ops);
    if res.status == 400 {
        res.expect_error(400, Some("invalidValue"));
    } else {
        let user = expect_resource(res, 200);
        assert_eq!(work_emails(&user), 1, "a second work e-mail was added: {}", user["emails"]);
    }
    let user = app.get(&path).expect(200).body;
    assert_eq!(work_emails(&user), 1, "{}", user["emails"]);
    // Entra's next `Replace emails[type eq "work"].value` then has one value to change.
    let ops = json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "third@contoso.com"}]);
    let user = expect_resource(entra_patch(&app, &path, ops), 200);
    assert_eq!(user["emails"].as_array().map(Vec::len), Some(1), "{}", user["emails"]);
}
