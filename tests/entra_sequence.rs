//! Microsoft Entra ID's documented provisioning traffic, replayed request by
//! request (`../shared/docs/entra-scim.md` §2–§7), in both PATCH dialects:
//! the default one and the `aadOptscim062020` compliant one. Every response
//! is checked the way Entra reads it.

mod common;
use common::*;
use serde_json::{json, Value};

fn filter(endpoint: &str, f: &str, extra: &str) -> String {
    format!("/{endpoint}?filter={}{extra}", enc(f))
}

/// A ListResponse with exactly `n` results.
#[track_caller]
fn list_of(res: Res, n: i64) -> Value {
    let res = res.expect(200);
    assert_eq!(res.content_type.as_deref(), Some("application/scim+json"));
    assert_eq!(res.body["schemas"], json!([LIST]));
    assert_eq!(res.body["totalResults"], n, "{}", res.text);
    assert_eq!(res.body["startIndex"], 1);
    assert_eq!(res.body["itemsPerPage"], n);
    assert_eq!(res.body["Resources"].as_array().unwrap().len() as i64, n);
    res.body
}

#[test]
fn test_connection_probes_answer_empty_lists_not_404() {
    let app = TestApp::new();
    // Observed shape: '+' for spaces, no Content-Type, no Accept.
    let guid = "8f0a3b1c-6d2e-4f5a-9b7c-0d1e2f3a4b5c";
    let res =
        app.raw("GET", &format!("/scim/v2/default/Users?filter=userName+eq+%22{guid}%22"), Some(&app.token), &[], None);
    list_of(res, 0);
    list_of(app.get(&filter("Groups", &format!("displayName eq \"{guid}\""), "&excludedAttributes=members")), 0);
    // With a wrong token Entra reports "invalid credentials": a 401.
    let res =
        app.raw("GET", &format!("/scim/v2/default/Users?filter=userName+eq+%22{guid}%22"), Some("wrong"), &[], None);
    res.expect_error(401, None);
}

/// One user's life in Entra's default dialect: query, create, read, match by
/// every usual matching attribute, update, soft delete, restore, hard delete.
#[test]
fn user_lifecycle_default_dialect() {
    let app = TestApp::new();
    let upn = "Adele.Vance@contoso.com";
    list_of(app.get(&filter("Users", &format!("userName eq \"{upn}\""), "")), 0);

    // Create, with Entra's body (schemas, client-sent meta, roles: []).
    let mut body = entra_user_body(upn);
    body["externalId"] = json!("AdeleV");
    body["emails"] = json!([{"primary": true, "type": "work", "value": "adele@contoso.com"}]);
    body[ENTERPRISE]["manager"] = json!({"value": "manager-not-yet-provisioned"});
    let created = app.post("/Users", &body).expect(201);
    let id = created.id();
    assert_eq!(created.location.as_deref(), created.body["meta"]["location"].as_str());
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert!(created.body["meta"]["created"].is_string() && created.body["meta"]["lastModified"].is_string());
    assert_eq!(created.body["userName"], upn, "stored exactly as sent");
    assert_eq!(created.body["active"], true);
    assert!(created.body["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));

    // Read back by id, then match by userName (any case), externalId and work e-mail.
    app.get(&format!("/Users/{id}")).expect(200);
    for f in [
        "userName eq \"adele.vance@CONTOSO.com\"".to_string(),
        "externalId eq \"AdeleV\"".to_string(),
        "emails[type eq \"work\"].value eq \"adele@contoso.com\"".to_string(),
        "emails[type eq \"work\" and value eq \"ADELE@contoso.com\"]".to_string(),
    ] {
        let list = list_of(app.get(&filter("Users", &f, "")), 1);
        assert_eq!(list["Resources"][0]["id"], id.as_str(), "{f}");
    }
    // externalId is case-exact.
    list_of(app.get(&filter("Users", "externalId eq \"adelev\"", "")), 0);

    // Update: one op per attribute, capitalised, with paths.
    let res = app.patch(
        &format!("/Users/{id}"),
        json!([
            {"op": "Replace", "path": "displayName", "value": "Adele V."},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "adele.vance@contoso.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Adèle"},
            {"op": "Replace", "path": "name.familyName", "value": "Vance"},
            {"op": "Replace", "path": "externalId", "value": "AdeleV2"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"},
            {"op": "Add", "path": "nickName", "value": "Addy"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "boss-id"}
        ]),
    );
    let user = res.expect(200).body;
    assert_eq!(user["displayName"], "Adele V.");
    assert_eq!(user["emails"], json!([{"primary": true, "type": "work", "value": "adele.vance@contoso.com"}]));
    assert_eq!(user["name"]["givenName"], "Adèle");
    assert_eq!(user["externalId"], "AdeleV2");
    assert_eq!(user["nickName"], "Addy");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "42");
    assert_eq!(user[ENTERPRISE]["manager"], json!({"value": "boss-id"}));
    list_of(app.get(&filter("Users", "emails[type eq \"work\"].value eq \"adele.vance@contoso.com\"", "")), 1);
    list_of(app.get(&filter("Users", "emails[type eq \"work\"].value eq \"adele@contoso.com\"", "")), 0);

    // Rename (userName is the matching attribute; Entra follows the cached id).
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "userName", "value": "adele@fabrikam.com"}]))
        .expect(200);
    list_of(app.get(&filter("Users", "userName eq \"adele@fabrikam.com\"", "")), 1);

    // Soft delete with the string "False": still readable and filterable, active false.
    let user = app
        .patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .expect(200)
        .body;
    assert_eq!(user["active"], false);
    app.get(&format!("/Users/{id}")).expect(200);
    let list = list_of(app.get(&filter("Users", "active eq false", "")), 1);
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    // Restore with "True": the same id.
    let user = app
        .patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "True"}]))
        .expect(200)
        .body;
    assert_eq!(user["active"], true);
    assert_eq!(user["id"], id.as_str());

    // Hard delete: 204, then 404 everywhere and no trace in lists or groups.
    let group = app.entra_group("Sales");
    app.patch(
        &format!("/Groups/{group}"),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}]),
    )
    .expect(204);
    app.delete(&format!("/Users/{id}")).expect(204);
    app.get(&format!("/Users/{id}")).expect_error(404, None);
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}]))
        .expect_error(404, None);
    app.delete(&format!("/Users/{id}")).expect_error(404, None);
    list_of(app.get(&filter("Users", "userName eq \"adele@fabrikam.com\"", "")), 0);
    let g = app.get(&format!("/Groups/{group}")).expect(200).body;
    assert_eq!(g["members"], json!([]), "memberships went with the user");
}

/// The same changes in the compliant dialect (`?aadOptscim062020`).
#[test]
fn user_updates_compliant_dialect() {
    let app = TestApp::new();
    let id = app.entra_user("megan@contoso.com");
    let user = app
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "megan.b@contoso.com"},
                {"op": "replace", "value": {
                    "displayName": "Megan B",
                    "name.givenName": "Meg",
                    "name.familyName": "Bowen",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"
                }}
            ]),
        )
        .expect(200)
        .body;
    assert_eq!(user["emails"][0]["value"], "megan.b@contoso.com");
    assert_eq!(user["displayName"], "Megan B");
    assert_eq!(user["name"]["givenName"], "Meg");
    assert_eq!(user["name"]["familyName"], "Bowen");
    assert_eq!(user["name"]["formatted"], "megan Example", "other name parts untouched");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "7");
    assert_eq!(user[ENTERPRISE]["department"], "Identity", "other extension attributes untouched");
    let user = app
        .patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "active", "value": false}]))
        .expect(200)
        .body;
    assert_eq!(user["active"], false);
    list_of(app.get(&filter("Users", "userName eq \"megan@contoso.com\" and active eq false", "")), 1);
}

#[test]
fn resending_the_same_values_changes_nothing() {
    let app = TestApp::new();
    let id = app.entra_user("same@contoso.com");
    let before = app.get(&format!("/Users/{id}")).expect(200).body;
    let after = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "True"}, {"op": "Replace", "path": "title", "value": "Engineer"}]),
        )
        .expect(200)
        .body;
    assert_eq!(before["meta"]["version"], after["meta"]["version"], "no new version for a no-op");
    assert_eq!(before["meta"]["lastModified"], after["meta"]["lastModified"]);
}

#[test]
fn group_lifecycle_both_dialects() {
    let app = TestApp::new();
    let (u1, u2, u3) =
        (app.entra_user("a@contoso.com"), app.entra_user("b@contoso.com"), app.entra_user("c@contoso.com"));
    list_of(app.get(&filter("Groups", "displayName eq \"Sales (EMEA)\"", "&excludedAttributes=members")), 0);
    let created = app.post("/Groups", &entra_group_body("Sales (EMEA)")).expect(201);
    let id = created.id();
    assert_eq!(created.body["members"], json!([]), "created empty, members []");
    assert_eq!(created.body["meta"]["resourceType"], "Group");

    // Entra's reads exclude members.
    let g = app.get(&format!("/Groups/{id}?excludedAttributes=members")).expect(200).body;
    assert!(g.get("members").is_none());
    let list = list_of(app.get(&filter("Groups", "displayName eq \"sales (emea)\"", "&excludedAttributes=members")), 1);
    assert!(list["Resources"][0].get("members").is_none());

    // Rename; add members, several in one op with "$ref": null (default dialect).
    app.patch(&format!("/Groups/{id}"), json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]))
        .expect(204);
    let res = app.patch(
        &format!("/Groups/{id}"),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u1}, {"$ref": null, "value": u2}, {"$ref": null, "value": u3}]}]),
    );
    assert!(res.expect(204).text.is_empty());
    let g = app.get(&format!("/Groups/{id}")).expect(200).body;
    assert_eq!(g["displayName"], "Sales EMEA");
    assert_eq!(g["members"].as_array().unwrap().len(), 3);
    assert_eq!(
        g["members"][0],
        json!({"value": u1, "$ref": format!("{BASE}/scim/v2/default/Users/{u1}"), "type": "User"})
    );

    // Membership probe: id eq g and members eq u, attributes=id.
    let probe = |u: &str| {
        let f = format!("id eq \"{id}\" and members eq \"{u}\"");
        app.get(&filter("Groups", &f, "&attributes=id")).expect(200).body["totalResults"].clone()
    };
    assert_eq!(probe(&u1), 1);
    // Remove by value array (default dialect) and by path filter (compliant dialect).
    app.patch(
        &format!("/Groups/{id}"),
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u1}]}]),
    )
    .expect(204);
    app.patch(&format!("/Groups/{id}"), json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}]))
        .expect(204);
    assert_eq!(probe(&u1), 0);
    assert_eq!(probe(&u2), 0);
    assert_eq!(probe(&u3), 1);
    let g = app.get(&format!("/Groups/{id}")).expect(200).body;
    assert_eq!(
        g["members"],
        json!([{"value": u3, "$ref": format!("{BASE}/scim/v2/default/Users/{u3}"), "type": "User"}])
    );

    app.delete(&format!("/Groups/{id}")).expect(204);
    app.get(&format!("/Groups/{id}")).expect_error(404, None);
    list_of(app.get(&filter("Groups", "displayName eq \"Sales EMEA\"", "")), 0);
    app.get(&format!("/Users/{u3}")).expect(200);
}

#[test]
fn duplicates_are_409_uniqueness_case_insensitively() {
    let app = TestApp::new();
    app.entra_user("dup@contoso.com");
    let before = app.count("users");
    app.post("/Users", &entra_user_body("DUP@contoso.com")).expect_error(409, Some("uniqueness"));
    assert_eq!(app.count("users"), before);
    app.entra_group("Marketing");
    app.post("/Groups", &entra_group_body("marketing")).expect_error(409, Some("uniqueness"));
    // Renaming into a taken name too, and nothing changes.
    let other = app.entra_group("Finance");
    app.patch(&format!("/Groups/{other}"), json!([{"op": "Replace", "path": "displayName", "value": "MARKETING"}]))
        .expect_error(409, Some("uniqueness"));
    assert_eq!(app.get(&format!("/Groups/{other}")).body["displayName"], "Finance");
}

#[test]
fn unknown_ids_are_404_with_a_scim_error() {
    let app = TestApp::new();
    for (method, path) in [
        ("GET", "/Users/unknown"),
        ("DELETE", "/Users/unknown"),
        ("GET", "/Groups/unknown"),
        ("DELETE", "/Groups/unknown"),
    ] {
        app.req(method, path, None).expect_error(404, None);
    }
    app.patch("/Users/unknown", json!([{"op": "Replace", "path": "active", "value": "False"}])).expect_error(404, None);
}

#[test]
fn every_write_is_in_the_provisioning_log_with_the_token_label() {
    let app = TestApp::new();
    let id = app.entra_user("logged@contoso.com");
    app.patch(&format!("/Users/{id}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).expect(200);
    app.post("/Users", &entra_user_body("logged@contoso.com")).expect(409);
    app.delete(&format!("/Users/{id}")).expect(204);
    let rows: Vec<(String, String, i64, String, Option<String>)> = app
        .state()
        .db
        .read(|tx| {
            tx.prepare("SELECT method, path, status, outcome, token_label FROM provisioning_log ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(scim_portal::db::DbError::from)
        })
        .unwrap();
    let summary: Vec<(String, i64)> = rows.iter().map(|r| (r.0.clone(), r.2)).collect();
    assert_eq!(
        summary,
        vec![("POST".into(), 201), ("PATCH".into(), 200), ("POST".into(), 409), ("DELETE".into(), 204)]
    );
    assert!(rows.iter().all(|r| r.4.as_deref() == Some("test")), "token label on every row");
    assert!(rows[2].3.contains("already taken"), "{}", rows[2].3);
    assert!(rows.iter().all(|r| !r.3.contains(&app.token) && !r.1.contains(&app.token)));
}
