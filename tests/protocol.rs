//! The SCIM 2.0 protocol surface (RFC 7644): authentication, discovery,
//! `meta` and ETags, errors, media types, paging, sorting, projection,
//! searches, the provisioning log, atomicity and tenant isolation.

mod common;
use common::*;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use scim_portal::domain::tenants;

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn scim_url(path: &str) -> String {
    format!("/scim/v2/default{path}")
}

/// Everything SCIM stores, as text, for "nothing changed" checks.
fn snapshot(app: &TestApp) -> String {
    app.state()
        .db
        .read(|tx| {
            let mut out = String::new();
            for sql in [
                "SELECT * FROM users ORDER BY id",
                "SELECT * FROM user_emails ORDER BY user_id, position",
                "SELECT * FROM groups ORDER BY id",
                "SELECT * FROM group_members ORDER BY group_id, user_id",
            ] {
                let mut stmt = tx.prepare(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    for i in 0..n {
                        out.push_str(&format!("{:?}|", row.get_ref(i)?));
                    }
                    out.push('\n');
                }
                out.push_str("--\n");
            }
            Ok::<_, scim_portal::db::DbError>(out)
        })
        .unwrap()
}

fn ids(res: &Res) -> Vec<String> {
    res.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", res.text))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn user_names(res: &Res) -> Vec<String> {
    res.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", res.text))
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or("").to_string())
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- authentication

#[test]
fn a_key_revoked_behind_the_servers_back_stops_working_once_it_is_rechecked() {
    let app = TestApp::new();
    let (key_id, secret) = app.new_key("default", "shared");
    // Used once: the server now holds it as live.
    app.raw("GET", &scim_url("/Users"), Some(&secret), &[], None).expect(200);
    app.revoke_key_elsewhere("default", key_id);
    let revoked = std::time::Instant::now();
    let limit = scim_portal::key_cache::RECHECK_AFTER + std::time::Duration::from_secs(2);
    loop {
        let res = app.raw("GET", &scim_url("/Users"), Some(&secret), &[], None);
        if res.status == 401 {
            break;
        }
        assert_eq!(res.status, 200, "{}", res.text);
        assert!(revoked.elapsed() < limit, "the revoked key still worked after {:?}", revoked.elapsed());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Other keys are untouched.
    app.get("/Users").expect(200);
}

#[test]
fn every_authentication_failure_is_401_with_a_bearer_challenge() {
    let app = TestApp::new();
    app.new_tenant("other");
    let other_token = app.new_token("other", "theirs");
    // A token that worked, then was revoked.
    let (key_id, revoked) = app.new_key("default", "doomed");
    app.raw("GET", &scim_url("/Users"), Some(&revoked), &[], None).expect(200);
    app.revoke_key("default", key_id);

    let before = snapshot(&app);
    let bearer = |t: &str| format!("Bearer {t}");
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("missing header", vec![]),
        ("Basic scheme", vec![("Authorization", "Basic dXNlcjpwYXNz".to_string())]),
        ("Bearer without a token", vec![("Authorization", "Bearer".to_string())]),
        ("Bearer with a blank token", vec![("Authorization", "Bearer    ".to_string())]),
        ("token without a scheme", vec![("Authorization", app.token.clone())]),
        ("wrong token", vec![("Authorization", bearer("scimp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))]),
        ("another tenant's token", vec![("Authorization", bearer(&other_token))]),
        ("revoked token", vec![("Authorization", bearer(&revoked))]),
    ];
    let requests: [(&str, &str, Option<Value>); 6] = [
        ("GET", "/Users", None),
        ("GET", "/Groups", None),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/Schemas", None),
        ("POST", "/Users", Some(entra_user_body("intruder@example.com"))),
        ("POST", "/Groups", Some(entra_group_body("Intruders"))),
    ];
    for (what, headers) in &cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (method, path, body) in &requests {
            let res = app.raw(method, &scim_url(path), None, &headers, body.as_ref().map(Value::to_string));
            assert_eq!(res.status, 401, "{what}: {method} {path}: {}", res.text);
            let challenge = res.www_authenticate.clone().unwrap_or_default();
            assert!(challenge.starts_with("Bearer"), "{what}: {method} {path}: WWW-Authenticate {challenge:?}");
            res.expect_error(401, None);
        }
    }
    // The tenant's own token still works, and nothing was stored by the rejected requests.
    assert_eq!(snapshot(&app), before);
    app.get("/Users").expect(200);
    // Another tenant's token does work on its own tenant.
    app.raw("GET", "/scim/v2/other/Users", Some(&other_token), &[], None).expect(200);
    // A lower-case scheme is still Bearer (RFC 7235: schemes are case-insensitive).
    app.raw("GET", &scim_url("/Users"), None, &[("Authorization", &format!("bearer {}", app.token))], None).expect(200);
}

// ---------------------------------------------------------------- discovery

#[test]
fn service_provider_config_advertises_what_is_supported() {
    let app = TestApp::new();
    let res = app.get("/ServiceProviderConfig").expect(200);
    assert_eq!(res.content_type.as_deref(), Some("application/scim+json"));
    let c = &res.body;
    assert_eq!(c["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]));
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["bulk"]["supported"], false);
    assert_eq!(c["filter"]["supported"], true);
    assert_eq!(c["filter"]["maxResults"], 1000);
    assert_eq!(c["changePassword"]["supported"], false);
    assert_eq!(c["sort"]["supported"], true);
    assert_eq!(c["etag"]["supported"], true);
    let schemes = c["authenticationSchemes"].as_array().unwrap();
    assert!(schemes.iter().any(|s| s["type"] == "oauthbearertoken"), "{schemes:?}");
    assert!(schemes.iter().all(|s| s["name"].is_string() && s["description"].is_string()));
    assert_eq!(c["meta"]["resourceType"], "ServiceProviderConfig");
    assert_eq!(c["meta"]["location"], format!("{BASE}/scim/v2/default/ServiceProviderConfig"));
}

#[test]
fn schemas_list_user_enterprise_and_group_with_external_id() {
    let app = TestApp::new();
    let res = app.get("/Schemas").expect(200);
    assert_eq!(res.body["schemas"], json!([LIST]));
    assert_eq!(res.body["totalResults"], 3);
    let resources = res.body["Resources"].as_array().unwrap();
    let ids: BTreeSet<&str> = resources.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([USER, ENTERPRISE, GROUP]));
    let schema = |id: &str| resources.iter().find(|s| s["id"] == id).unwrap().clone();
    let attr = |s: &Value, name: &str| -> Value {
        s["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{} has no {name}", s["id"]))
    };
    let user = schema(USER);
    for name in [
        "userName",
        "name",
        "displayName",
        "title",
        "active",
        "emails",
        "phoneNumbers",
        "addresses",
        "externalId",
        "groups",
        "roles",
    ] {
        attr(&user, name);
    }
    let user_name = attr(&user, "userName");
    assert_eq!(
        (user_name["required"].clone(), user_name["uniqueness"].clone(), user_name["caseExact"].clone()),
        (json!(true), json!("server"), json!(false))
    );
    assert_eq!(attr(&user, "externalId")["caseExact"], true);
    assert_eq!(attr(&user, "groups")["mutability"], "readOnly");
    let emails = attr(&user, "emails");
    assert_eq!(emails["multiValued"], true);
    let subs: BTreeSet<&str> =
        emails["subAttributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(subs.is_superset(&BTreeSet::from(["value", "type", "primary", "display"])), "{subs:?}");
    let ent = schema(ENTERPRISE);
    for name in ["employeeNumber", "department", "costCenter", "organization", "division", "manager"] {
        attr(&ent, name);
    }
    let group = schema(GROUP);
    for name in ["displayName", "members", "externalId"] {
        attr(&group, name);
    }
    for s in resources {
        assert_eq!(s["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"]));
        assert_eq!(s["meta"]["location"], format!("{BASE}/scim/v2/default/Schemas/{}", s["id"].as_str().unwrap()));
    }

    // Each one on its own, the same as in the list.
    for id in [USER, ENTERPRISE, GROUP] {
        let one = app.get(&format!("/Schemas/{id}")).expect(200);
        assert_eq!(one.body, schema(id));
    }
    app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nope").expect_error(404, None);
}

#[test]
fn resource_types_list_user_and_group() {
    let app = TestApp::new();
    let res = app.get("/ResourceTypes").expect(200);
    assert_eq!(res.body["totalResults"], 2);
    let list = res.body["Resources"].as_array().unwrap().clone();
    let user = list.iter().find(|r| r["id"] == "User").unwrap();
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], USER);
    assert_eq!(user["schemaExtensions"], json!([{"schema": ENTERPRISE, "required": false}]));
    let group = list.iter().find(|r| r["id"] == "Group").unwrap();
    assert_eq!(group["endpoint"], "/Groups");
    assert_eq!(group["schema"], GROUP);
    for r in &list {
        assert_eq!(r["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]));
        let id = r["id"].as_str().unwrap();
        assert_eq!(r["meta"]["location"], format!("{BASE}/scim/v2/default/ResourceTypes/{id}"));
        assert_eq!(&app.get(&format!("/ResourceTypes/{id}")).expect(200).body, r);
    }
    app.get("/ResourceTypes/Device").expect_error(404, None);
}

#[test]
fn discovery_refuses_filters_and_writes() {
    let app = TestApp::new();
    let filter = enc(r#"id eq "User""#);
    app.get(&format!("/Schemas?filter={filter}")).expect_error(403, None);
    app.get(&format!("/ResourceTypes?filter={filter}")).expect_error(403, None);
    let body = json!({"schemas": [USER], "id": "x"});
    for path in
        ["/ServiceProviderConfig", "/Schemas", &format!("/Schemas/{USER}"), "/ResourceTypes", "/ResourceTypes/User"]
    {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let body = (method != "DELETE").then_some(&body);
            let res = app.req(method, path, body);
            assert_eq!(res.status, 405, "{method} {path}: {}", res.text);
            res.expect_error(405, None);
        }
    }
    // Discovery still answers afterwards: nothing was changed.
    assert_eq!(app.get("/ResourceTypes").expect(200).body["totalResults"], 2);
}

#[test]
fn unknown_paths_are_404_in_scim_json() {
    let app = TestApp::new();
    for (method, path) in [
        ("GET", "/Nope"),
        ("GET", "/Users/does-not-exist"),
        ("GET", "/Groups/does-not-exist"),
        ("GET", "/Users/a/b"),
        ("POST", "/Nope"),
        ("DELETE", "/Users/does-not-exist"),
        ("PUT", "/Groups/does-not-exist"),
    ] {
        let body = (method == "POST" || method == "PUT").then(|| entra_group_body("x"));
        let res = app.req(method, path, body.as_ref());
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
        res.expect_error(404, None);
    }
}

// ---------------------------------------------------------------- meta and ETags

#[test]
fn meta_is_complete_and_location_is_absolute() {
    let app = TestApp::new();
    for (endpoint, resource_type, body) in
        [("Users", "User", entra_user_body("meta@example.com")), ("Groups", "Group", entra_group_body("Meta group"))]
    {
        let created = app.post(&format!("/{endpoint}"), &body).expect(201);
        let id = created.id();
        let meta = &created.body["meta"];
        let location = format!("{BASE}/scim/v2/default/{endpoint}/{id}");
        assert_eq!(meta["resourceType"], resource_type);
        assert_eq!(meta["location"], location.as_str());
        assert_eq!(created.location.as_deref(), Some(location.as_str()), "Location header");
        assert_eq!(created.etag.as_deref(), meta["version"].as_str(), "ETag header");
        let c = chrono::DateTime::parse_from_rfc3339(meta["created"].as_str().unwrap()).expect("created is RFC 3339");
        let m = chrono::DateTime::parse_from_rfc3339(meta["lastModified"].as_str().unwrap())
            .expect("lastModified is RFC 3339");
        assert_eq!(c, m);
        assert!((chrono::Utc::now() - c.with_timezone(&chrono::Utc)).num_seconds().abs() < 60);

        let got = app.get(&format!("/{endpoint}/{id}")).expect(200);
        assert_eq!(got.body["meta"], *meta);
        assert_eq!(got.etag.as_deref(), meta["version"].as_str());
        assert_eq!(got.location, None, "Location is for 201 only");

        std::thread::sleep(std::time::Duration::from_millis(5));
        let patched = app
            .patch(&format!("/{endpoint}/{id}"), json!([{"op": "replace", "path": "externalId", "value": "changed"}]));
        // A group PATCH answers 204 with the new ETag; its meta is read back.
        let patched = if endpoint == "Groups" {
            let etag = patched.expect(204).etag;
            let got = app.get(&format!("/{endpoint}/{id}")).expect(200);
            assert_eq!(got.etag, etag);
            got
        } else {
            patched.expect(200)
        };
        let pm = &patched.body["meta"];
        assert_ne!(pm["version"], meta["version"], "a change moves the version");
        assert_eq!(patched.etag.as_deref(), pm["version"].as_str());
        assert_eq!(pm["created"], meta["created"]);
        assert!(pm["lastModified"].as_str().unwrap() > meta["lastModified"].as_str().unwrap());
        assert_eq!(pm["location"], location.as_str());
    }
    // Lists carry the same meta.
    let list = app.get("/Users").expect(200);
    let meta = &list.body["Resources"][0]["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert!(meta["location"].as_str().unwrap().starts_with(&format!("{BASE}/scim/v2/default/Users/")));
}

#[test]
fn if_match_and_if_none_match_are_honoured_for_users() {
    let app = TestApp::new();
    let id = app.entra_user("etag@example.com");
    let path = format!("/Users/{id}");
    let v1 = app.get(&path).expect(200).etag.unwrap();

    let put = |if_match: &str, display: &str| {
        let mut body = entra_user_body("etag@example.com");
        body["displayName"] = json!(display);
        app.raw("PUT", &scim_url(&path), Some(&app.token), &[("If-Match", if_match)], Some(body.to_string()))
    };
    let ok = put(&v1, "Second").expect(200);
    let v2 = ok.etag.clone().unwrap();
    assert_ne!(v1, v2);
    assert_eq!(ok.body["displayName"], "Second");

    // Stale tag: 412 and nothing changes, whatever the method.
    let before = snapshot(&app);
    put(&v1, "Third").expect_error(412, None);
    let patch_body =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "Third"}]})
            .to_string();
    app.raw("PATCH", &scim_url(&path), Some(&app.token), &[("If-Match", &v1)], Some(patch_body.clone()))
        .expect_error(412, None);
    app.raw("DELETE", &scim_url(&path), Some(&app.token), &[("If-Match", &v1)], None).expect_error(412, None);
    app.raw(
        "PUT",
        &scim_url(&path),
        Some(&app.token),
        &[("If-Match", "W/\"not-a-version\"")],
        Some(entra_user_body("etag@example.com").to_string()),
    )
    .expect_error(412, None);
    assert_eq!(snapshot(&app), before);
    let now = app.get(&path).expect(200);
    assert_eq!(now.body["displayName"], "Second");
    assert_eq!(now.etag.as_deref(), Some(v2.as_str()));

    // If-None-Match: 304 with no body for the current version, 200 for an old one.
    let not_modified = app.raw("GET", &scim_url(&path), Some(&app.token), &[("If-None-Match", &v2)], None);
    assert_eq!(not_modified.status, 304, "{}", not_modified.text);
    assert!(not_modified.text.is_empty(), "304 has no body: {}", not_modified.text);
    assert_eq!(not_modified.etag.as_deref(), Some(v2.as_str()));
    let modified = app.raw("GET", &scim_url(&path), Some(&app.token), &[("If-None-Match", &v1)], None).expect(200);
    assert_eq!(modified.body["id"], id.as_str());

    // Matching tag (and "*"): the write goes through.
    let patched =
        app.raw("PATCH", &scim_url(&path), Some(&app.token), &[("If-Match", &v2)], Some(patch_body)).expect(200);
    assert_eq!(patched.body["displayName"], "Third");
    let v3 = patched.etag.unwrap();
    let star =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Star"}]}).to_string();
    app.raw("PATCH", &scim_url(&path), Some(&app.token), &[("If-Match", "*")], Some(star)).expect(200);
    app.raw("DELETE", &scim_url(&path), Some(&app.token), &[("If-Match", &v3)], None).expect_error(412, None);
    let v4 = app.get(&path).expect(200).etag.unwrap();
    app.raw("DELETE", &scim_url(&path), Some(&app.token), &[("If-Match", &v4)], None).expect(204);
    app.get(&path).expect_error(404, None);
}

#[test]
fn if_match_and_if_none_match_are_honoured_for_groups() {
    let app = TestApp::new();
    let user = app.entra_user("member@example.com");
    let group = app.entra_group("Tagged");
    let path = format!("/Groups/{group}");
    let v1 = app.get(&path).expect(200).etag.unwrap();
    let add =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": user}]}]})
            .to_string();
    let added =
        app.raw("PATCH", &scim_url(&path), Some(&app.token), &[("If-Match", &v1)], Some(add.clone())).expect(204);
    let v2 = added.etag.clone().unwrap();
    assert_ne!(v1, v2, "a member change moves the group's version");
    let got = app.get(&path).expect(200);
    assert_eq!(got.etag.as_deref(), Some(v2.as_str()), "the 204 carries the group's new ETag");
    assert_eq!(got.body["members"][0]["value"], user.as_str());

    let before = snapshot(&app);
    let remove = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "members"}]}).to_string();
    app.raw("PATCH", &scim_url(&path), Some(&app.token), &[("If-Match", &v1)], Some(remove)).expect_error(412, None);
    app.raw(
        "PUT",
        &scim_url(&path),
        Some(&app.token),
        &[("If-Match", &v1)],
        Some(entra_group_body("Renamed").to_string()),
    )
    .expect_error(412, None);
    app.raw("DELETE", &scim_url(&path), Some(&app.token), &[("If-Match", &v1)], None).expect_error(412, None);
    assert_eq!(snapshot(&app), before);

    let nm = app.raw("GET", &scim_url(&path), Some(&app.token), &[("If-None-Match", &v2)], None);
    assert_eq!(nm.status, 304, "{}", nm.text);
    assert!(nm.text.is_empty());
    app.raw("GET", &scim_url(&path), Some(&app.token), &[("If-None-Match", &v1)], None).expect(200);
}

// ---------------------------------------------------------------- errors

#[test]
fn malformed_bodies_are_rejected_and_change_nothing() {
    let app = TestApp::new();
    let existing = app.entra_user("taken@example.com");
    let group = app.entra_group("Existing");
    let before = snapshot(&app);
    let user_body = entra_user_body("fresh@example.com").to_string();
    let send = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        app.raw(method, &scim_url(path), Some(&app.token), headers, Some(body.to_string()))
    };
    // Not JSON, and JSON that is not an object.
    for body in ["{not json", "", "{\"schemas\": [", "[1, 2]", "\"a string\"", "42", "null"] {
        for (method, path) in [
            ("POST", "/Users".to_string()),
            ("PUT", format!("/Users/{existing}")),
            ("PATCH", format!("/Groups/{group}")),
            ("POST", "/Users/.search".to_string()),
        ] {
            let res = send(method, &path, &[], body);
            assert_eq!(res.status, 400, "{method} {path} {body:?}: {}", res.text);
            res.expect_error(400, Some("invalidSyntax"));
        }
    }
    // A body that is not JSON at all.
    for ct in ["text/plain", "application/xml", "application/x-www-form-urlencoded"] {
        let res = send("POST", "/Users", &[("Content-Type", ct)], &user_body);
        assert_eq!(res.status, 415, "{ct}: {}", res.text);
        res.expect_error(415, None);
    }
    // Missing or empty userName.
    for body in [
        json!({"schemas": [USER], "displayName": "No name"}),
        json!({"schemas": [USER], "userName": ""}),
        json!({"schemas": [USER], "userName": "   "}),
        json!({"schemas": [USER], "userName": null}),
    ] {
        app.post("/Users", &body).expect_error(400, Some("invalidValue"));
    }
    app.post("/Groups", &json!({"schemas": [GROUP]})).expect_error(400, Some("invalidValue"));
    // Duplicates, whatever the case.
    for name in ["taken@example.com", "TAKEN@Example.COM"] {
        app.post("/Users", &entra_user_body(name)).expect_error(409, Some("uniqueness"));
    }
    app.post("/Groups", &entra_group_body("EXISTING")).expect_error(409, Some("uniqueness"));
    // PATCH errors.
    let bad_paths = [
        json!([{"op": "replace", "path": "nosuch", "value": "x"}]),
        json!([{"op": "replace", "path": "name.nosuch", "value": "x"}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]),
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Nope:x", "value": "x"}]),
    ];
    for ops in bad_paths {
        let res = app.patch(&format!("/Users/{existing}"), ops.clone());
        assert_eq!(res.status, 400, "{ops}: {}", res.text);
        res.expect_error(400, Some("invalidPath"));
    }
    // A value filter naming an unknown sub-attribute: RFC 7644 Table 9 allows invalidFilter for PATCH path filters.
    let res = app.patch(
        &format!("/Users/{existing}"),
        json!([{"op": "replace", "path": "emails[nosuch eq \"work\"].value", "value": "x"}]),
    );
    let scim_type = res.body["scimType"].as_str().map(str::to_string);
    assert!(matches!(scim_type.as_deref(), Some("invalidPath" | "invalidFilter")), "{}", res.text);
    res.expect_error(400, scim_type.as_deref());
    let no_schemas = json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]});
    let res = app.req("PATCH", &format!("/Users/{existing}"), Some(&no_schemas));
    assert_eq!(res.status, 400, "{}", res.text);
    let scim_type = res.body["scimType"].as_str().map(str::to_string);
    assert!(matches!(scim_type.as_deref(), Some("invalidValue" | "invalidSyntax")), "{}", res.text);
    res.expect_error(400, scim_type.as_deref());
    let wrong_schema =
        json!({"schemas": [USER], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]});
    assert_eq!(app.req("PATCH", &format!("/Users/{existing}"), Some(&wrong_schema)).status, 400);
    app.patch(&format!("/Users/{existing}"), json!([])).expect_error(400, Some("invalidValue"));
    app.patch(&format!("/Users/{existing}"), json!([{"op": "frobnicate", "path": "title", "value": "x"}]))
        .expect_error(400, Some("invalidValue"));
    app.patch(&format!("/Users/{existing}"), json!([{"op": "replace", "path": "id", "value": "x"}]))
        .expect_error(400, Some("mutability"));

    assert_eq!(snapshot(&app), before, "a failed request changed stored data");
    assert_eq!((app.count("users"), app.count("groups")), (1, 1));
}

#[test]
fn a_body_over_the_limit_is_413() {
    let app = TestApp::with(|f| f.merge(("max_body_bytes", 1024)));
    // Under the limit: fine.
    let small = json!({"schemas": [USER], "userName": "small@example.com"});
    let id = app.post("/Users", &small).expect(201).id();
    let mut big = json!({"schemas": [USER], "userName": "big@example.com"});
    big["displayName"] = json!("x".repeat(2000));
    let check = |res: Res| {
        assert_eq!(res.status, 413, "{}", res.text);
        assert_eq!(res.content_type.as_deref(), Some("application/scim+json"));
        assert_eq!(res.body["schemas"], json!([ERROR]));
        assert_eq!(res.body["status"], "413");
    };
    check(app.post("/Users", &big));
    check(app.put(&format!("/Users/{id}"), &big));
    check(
        app.patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "y".repeat(2000)}]),
        ),
    );
    check(app.post(
        "/Users/.search",
        &json!({"schemas": [SEARCH], "filter": format!("userName eq \"{}\"", "z".repeat(2000))}),
    ));
    assert_eq!(app.count("users"), 1);
    assert_eq!(app.get(&format!("/Users/{id}")).expect(200).body.get("displayName"), None);
}

#[test]
fn json_and_scim_json_media_types_are_accepted() {
    let app = TestApp::new();
    for (i, ct) in [
        "application/json",
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json; charset=UTF-8",
    ]
    .iter()
    .enumerate()
    {
        let body = entra_user_body(&format!("media{i}@example.com")).to_string();
        let res =
            app.raw("POST", &scim_url("/Users"), Some(&app.token), &[("Content-Type", ct)], Some(body)).expect(201);
        assert_eq!(res.content_type.as_deref(), Some("application/scim+json"), "{ct}");
        let id = res.id();
        let patch =
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": ct}]}).to_string();
        let patched = app
            .raw("PATCH", &scim_url(&format!("/Users/{id}")), Some(&app.token), &[("Content-Type", ct)], Some(patch))
            .expect(200);
        assert_eq!(patched.body["title"], *ct);
        let search = json!({"schemas": [SEARCH], "filter": format!("id eq \"{id}\"")}).to_string();
        let found =
            app.raw("POST", &scim_url("/.search"), Some(&app.token), &[("Content-Type", ct)], Some(search)).expect(200);
        assert_eq!(found.body["totalResults"], 1);
    }
}

// ---------------------------------------------------------------- lists

#[test]
fn pagination_is_exact() {
    let app = TestApp::new();
    let names: Vec<String> = (0..7).map(|i| format!("page{i}@example.com")).collect();
    for n in &names {
        app.entra_user(n);
    }
    let page = |q: &str| app.get(&format!("/Users?{q}")).expect(200);

    let res = page("startIndex=3&count=2");
    assert_eq!(res.body["totalResults"], 7);
    assert_eq!(res.body["startIndex"], 3);
    assert_eq!(res.body["itemsPerPage"], 2);
    assert_eq!(user_names(&res), names[2..4]);

    // Every page, end to end, covers everything exactly once.
    let mut all = Vec::new();
    for start in (1..=7).step_by(3) {
        all.extend(user_names(&page(&format!("startIndex={start}&count=3"))));
    }
    assert_eq!(all, names);

    let zero = page("count=0");
    assert_eq!(zero.body["totalResults"], 7);
    assert_eq!(zero.body["itemsPerPage"], 0);
    assert_eq!(zero.body["Resources"], json!([]));

    let beyond = page("startIndex=50&count=10");
    assert_eq!(beyond.body["totalResults"], 7);
    assert_eq!(beyond.body["startIndex"], 50);
    assert_eq!(beyond.body["Resources"], json!([]));

    let last = page("startIndex=7&count=10");
    assert_eq!(user_names(&last), names[6..]);
    assert_eq!(last.body["itemsPerPage"], 1);

    // startIndex below 1 means 1; a negative count means 0.
    let low = page("startIndex=0&count=2");
    assert_eq!(low.body["startIndex"], 1);
    assert_eq!(user_names(&low), names[0..2]);
    assert_eq!(page("count=-5").body["Resources"], json!([]));

    // With a filter, totalResults counts the matches, not the page.
    let filtered = page(&format!("filter={}&count=1&startIndex=2", enc(r#"userName sw "page""#)));
    assert_eq!(filtered.body["totalResults"], 7);
    assert_eq!(user_names(&filtered), names[1..2]);

    app.get("/Users?count=abc").expect_error(400, Some("invalidValue"));
    app.get("/Users?startIndex=x").expect_error(400, Some("invalidValue"));
}

#[test]
fn count_above_the_maximum_is_clamped_to_1000() {
    let app = TestApp::new();
    app.state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "default")?;
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1005)
                 INSERT INTO users (tenant_id, scim_id, user_name, user_name_key, profile, created, last_modified, version)
                 SELECT ?1, printf('bulk-%05d', i), printf('bulk%05d@example.com', i), printf('bulk%05d@example.com', i),
                        '{}', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 1 FROM n",
                [t.id.0],
            )?;
            recount(tx, t.id.0).map_err(scim_portal::domain::Error::from)
        })
        .unwrap();
    for q in ["count=5000", "count=1001", "", "count=99999999999999999999999"] {
        let res = app.get(&format!("/Users?{q}")).expect(200);
        assert_eq!(res.body["totalResults"], 1005, "{q}");
        assert_eq!(res.body["itemsPerPage"], 1000, "{q}");
        assert_eq!(res.body["Resources"].as_array().unwrap().len(), 1000, "{q}");
    }
    let rest = app.get("/Users?startIndex=1001&count=5000").expect(200);
    assert_eq!(ids(&rest), (1001..=1005).map(|i| format!("bulk-{i:05}")).collect::<Vec<_>>());
}

#[test]
fn sort_by_and_sort_order() {
    let app = TestApp::new();
    let people = [
        ("carol@example.com", "Zed"),
        ("alice@example.com", "young"),
        ("Bob@example.com", "Xavier"),
        ("dave@example.com", ""),
    ];
    for (user_name, family) in people {
        let mut body = entra_user_body(user_name);
        if family.is_empty() {
            body.as_object_mut().unwrap().remove("name");
        } else {
            body["name"]["familyName"] = json!(family);
        }
        app.post("/Users", &body).expect(201);
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let sorted = |q: &str| user_names(&app.get(&format!("/Users?{q}")).expect(200));
    let asc = ["alice@example.com", "Bob@example.com", "carol@example.com", "dave@example.com"];
    assert_eq!(sorted("sortBy=userName"), asc);
    assert_eq!(sorted("sortBy=userName&sortOrder=ascending"), asc);
    let desc: Vec<&str> = asc.iter().rev().copied().collect();
    assert_eq!(sorted("sortBy=userName&sortOrder=descending"), desc);
    // Case-insensitive attribute sorts case-insensitively; absent values go last.
    assert_eq!(
        sorted("sortBy=name.familyName"),
        ["Bob@example.com", "alice@example.com", "carol@example.com", "dave@example.com"]
    );
    assert_eq!(
        sorted("sortBy=name.familyName&sortOrder=descending"),
        ["carol@example.com", "alice@example.com", "Bob@example.com", "dave@example.com"]
    );
    assert_eq!(
        sorted("sortBy=meta.created&sortOrder=descending"),
        ["dave@example.com", "Bob@example.com", "alice@example.com", "carol@example.com"]
    );
    // Sorting happens before paging.
    assert_eq!(sorted("sortBy=userName&startIndex=2&count=2"), ["Bob@example.com", "carol@example.com"]);
    app.get("/Users?sortBy=userName&sortOrder=sideways").expect_error(400, Some("invalidValue"));
    app.get("/Users?sortBy=nosuch").expect_error(400, Some("invalidValue"));

    for g in ["beta", "Alpha", "gamma"] {
        app.entra_group(g);
    }
    let groups = app.get("/Groups?sortBy=displayName&sortOrder=descending").expect(200);
    let names: Vec<&str> =
        groups.body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap()).collect();
    assert_eq!(names, ["gamma", "beta", "Alpha"]);
}

#[test]
fn attributes_and_excluded_attributes() {
    let app = TestApp::new();
    let user = app.entra_user("proj@example.com");
    let group = app.entra_group("Projected");
    app.patch(&format!("/Groups/{group}"), json!([{"op": "add", "path": "members", "value": [{"value": user}]}]))
        .expect(204);

    let only = app.get(&format!("/Users/{user}?attributes=userName")).expect(200);
    let mut k = keys(&only.body);
    k.remove("meta");
    assert_eq!(k, set(&["schemas", "id", "userName"]), "{}", only.text);

    let sub = app.get(&format!("/Users/{user}?attributes=name.givenName,emails.value")).expect(200);
    assert_eq!(sub.body["name"], json!({"givenName": "proj"}));
    assert_eq!(sub.body["emails"], json!([{"value": "proj@example.com"}]));
    assert!(sub.body.get("userName").is_none() && sub.body.get("title").is_none());

    let ext = app.get(&format!("/Users/{user}?attributes={ENTERPRISE}:department")).expect(200);
    assert_eq!(ext.body[ENTERPRISE], json!({"department": "Identity"}));
    assert!(ext.body.get("userName").is_none());

    let without = app.get(&format!("/Users/{user}?excludedAttributes=emails,name.familyName,{ENTERPRISE}")).expect(200);
    assert!(without.body.get("emails").is_none(), "{}", without.text);
    assert!(without.body.get(ENTERPRISE).is_none(), "{}", without.text);
    assert_eq!(without.body["name"]["givenName"], "proj");
    assert!(without.body["name"].get("familyName").is_none());
    assert_eq!(without.body["userName"], "proj@example.com");
    assert_eq!(without.body["id"], user.as_str());

    // Lists project every resource.
    let list =
        app.get(&format!("/Users?attributes=userName&filter={}", enc(r#"userName eq "proj@example.com""#))).expect(200);
    let mut k = keys(&list.body["Resources"][0]);
    k.remove("meta");
    assert_eq!(k, set(&["schemas", "id", "userName"]));

    // Groups: members are there by default, and gone when excluded.
    let full = app.get(&format!("/Groups/{group}")).expect(200);
    assert_eq!(full.body["members"][0]["value"], user.as_str());
    for q in ["excludedAttributes=members", "attributes=displayName", "attributes=externalId"] {
        let g = app.get(&format!("/Groups/{group}?{q}")).expect(200);
        assert!(g.body.get("members").is_none(), "{q}: {}", g.text);
        let l = app.get(&format!("/Groups?{q}")).expect(200);
        assert!(l.body["Resources"][0].get("members").is_none(), "{q}: {}", l.text);
    }
    let g = app.get(&format!("/Groups/{group}?excludedAttributes=members")).expect(200);
    assert_eq!(g.body["displayName"], "Projected");
    assert_eq!(g.body["id"], group.as_str());
    let members_only = app.get(&format!("/Groups/{group}?attributes=members")).expect(200);
    assert_eq!(members_only.body["members"][0]["value"], user.as_str());
    assert!(members_only.body.get("displayName").is_none());
    // A group PATCH honours the projection too.
    let p = app
        .req(
            "PATCH",
            &format!("/Groups/{group}?excludedAttributes=members"),
            Some(
                &json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "externalId", "value": "p"}]}),
            ),
        )
        .expect(200);
    assert!(p.body.get("members").is_none(), "{}", p.text);
    assert_eq!(p.body["externalId"], "p");
}

#[test]
fn search_by_post_on_users_groups_and_the_root() {
    let app = TestApp::new();
    let users: Vec<String> = (1..=3).map(|i| app.entra_user(&format!("u{i}@example.com"))).collect();
    let groups: Vec<String> = (1..=2).map(|i| app.entra_group(&format!("Example Group {i}"))).collect();
    app.patch(
        &format!("/Groups/{}", groups[0]),
        json!([{"op": "add", "path": "members", "value": [{"value": users[0]}]}]),
    )
    .expect(204);

    let res = app
        .post("/Users/.search", &json!({"schemas": [SEARCH], "filter": "userName eq \"u2@example.com\"", "attributes": ["userName"], "startIndex": 1, "count": 5}))
        .expect(200);
    assert_eq!(res.body["schemas"], json!([LIST]));
    assert_eq!(ids(&res), [users[1].clone()]);
    let mut k = keys(&res.body["Resources"][0]);
    k.remove("meta");
    assert_eq!(k, set(&["schemas", "id", "userName"]));

    let res = app
        .post(
            "/Users/.search",
            &json!({"schemas": [SEARCH], "sortBy": "userName", "sortOrder": "descending", "startIndex": 2, "count": 1}),
        )
        .expect(200);
    assert_eq!(res.body["totalResults"], 3);
    assert_eq!(ids(&res), [users[1].clone()]);

    let res = app
        .post("/Groups/.search", &json!({"schemas": [SEARCH], "filter": "displayName eq \"example group 1\"", "excludedAttributes": ["members"]}))
        .expect(200);
    assert_eq!(ids(&res), [groups[0].clone()]);
    assert!(res.body["Resources"][0].get("members").is_none());
    let res =
        app.post("/Groups/.search", &json!({"schemas": [SEARCH], "filter": "displayName sw \"example\""})).expect(200);
    assert_eq!(ids(&res), groups);
    assert_eq!(res.body["Resources"][0]["members"][0]["value"], users[0].as_str());

    // The root: users first, then groups, one page across both.
    let all: Vec<String> = users.iter().chain(groups.iter()).cloned().collect();
    let root = app.post("/.search", &json!({"schemas": [SEARCH]})).expect(200);
    assert_eq!(root.body["totalResults"], 5);
    assert_eq!(ids(&root), all);
    let types: Vec<&str> = root.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "User", "User", "Group", "Group"]);
    for (start, count) in [(1, 2), (2, 3), (3, 1), (4, 1), (4, 10), (5, 5), (6, 3), (1, 0)] {
        let want: Vec<String> = all.iter().skip(start - 1).take(count).cloned().collect();
        let body = json!({"schemas": [SEARCH], "startIndex": start, "count": count});
        let post = app.post("/.search", &body).expect(200);
        assert_eq!(ids(&post), want, "POST /.search startIndex={start} count={count}");
        assert_eq!(post.body["totalResults"], 5);
        assert_eq!(post.body["startIndex"], start);
        let get = app.get(&format!("?startIndex={start}&count={count}")).expect(200);
        assert_eq!(ids(&get), want, "GET / startIndex={start} count={count}");
    }
    let by_name = app
        .get(&format!("?filter={}", enc(r#"displayName eq "u3 Example" or displayName eq "Example Group 2""#)))
        .expect(200);
    assert_eq!(ids(&by_name), [users[2].clone(), groups[1].clone()]);
    let members = app.post("/.search", &json!({"schemas": [SEARCH], "filter": "members pr"})).expect(200);
    assert_eq!(ids(&members), [groups[0].clone()]);

    // A search body must say it is one.
    app.post("/.search", &json!({"filter": "userName pr"})).expect_error(400, Some("invalidValue"));
    app.post("/Users/.search", &json!({"schemas": [SEARCH], "filter": "nosuch pr"}))
        .expect_error(400, Some("invalidFilter"));
    app.post("/Users/.search", &json!({"schemas": [SEARCH], "count": {"n": 1}}))
        .expect_error(400, Some("invalidValue"));
}

// ---------------------------------------------------------------- provisioning log

/// One row of the provisioning log.
#[derive(Debug)]
struct LogRow {
    label: Option<String>,
    method: String,
    path: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    status: i64,
    outcome: String,
}

fn log_rows(app: &TestApp) -> Vec<LogRow> {
    app.state()
        .db
        .read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT token_label, method, path, resource_type, resource_id, status, outcome FROM provisioning_log ORDER BY id",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(LogRow {
                        label: r.get(0)?,
                        method: r.get(1)?,
                        path: r.get(2)?,
                        resource_type: r.get(3)?,
                        resource_id: r.get(4)?,
                        status: r.get(5)?,
                        outcome: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, scim_portal::db::DbError>(rows)
        })
        .unwrap()
}

/// Every value of every row of the log, as text.
fn log_text(app: &TestApp) -> String {
    app.state()
        .db
        .read(|tx| {
            let mut stmt = tx.prepare("SELECT * FROM provisioning_log")?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            let mut out = String::new();
            while let Some(row) = rows.next()? {
                for i in 0..n {
                    match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            out.push_str(&String::from_utf8_lossy(t))
                        }
                        v => out.push_str(&format!("{v:?}")),
                    }
                    out.push('|');
                }
                out.push('\n');
            }
            Ok::<_, scim_portal::db::DbError>(out)
        })
        .unwrap()
}

#[test]
fn changes_and_failures_are_logged_without_secrets() {
    let app = TestApp::new();
    let id = app.entra_user("logged@example.com");
    app.get(&format!("/Users/{id}")).expect(200);
    app.get("/Users").expect(200);
    app.post("/Users", &entra_user_body("logged@example.com")).expect_error(409, Some("uniqueness"));
    let wrong = "scimp_ThisIsNotARealTokenButLooksLikeOne1234567";
    app.raw("GET", &scim_url("/Users"), Some(wrong), &[], None).expect_error(401, None);
    app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "path": "nosuch", "value": 1}]))
        .expect_error(400, Some("invalidPath"));
    app.delete(&format!("/Users/{id}")).expect(204);

    let rows = log_rows(&app);
    let label = Some("test".to_string());
    let user = Some("User".to_string());
    let find = |method: &str, status: i64| {
        rows.iter()
            .find(|r| r.method == method && r.status == status)
            .unwrap_or_else(|| panic!("no {method} {status} in {rows:#?}"))
    };
    let created = find("POST", 201);
    assert_eq!(
        (&created.label, created.path.as_str(), &created.resource_type, created.resource_id.as_deref()),
        (&label, "/Users", &user, Some(id.as_str()))
    );
    assert!(!created.outcome.is_empty());
    let conflict = find("POST", 409);
    assert_eq!((&conflict.label, conflict.path.as_str(), &conflict.resource_type), (&label, "/Users", &user));
    assert!(conflict.outcome.contains("already taken"), "the outcome says why: {}", conflict.outcome);
    let unauthorized = find("GET", 401);
    assert_eq!(unauthorized.label, None, "an unknown token has no label");
    let bad_patch = find("PATCH", 400);
    assert_eq!(
        (&bad_patch.label, bad_patch.path.clone(), bad_patch.resource_id.as_deref()),
        (&label, format!("/Users/{id}"), Some(id.as_str()))
    );
    let deleted = find("DELETE", 204);
    assert_eq!((&deleted.label, deleted.resource_id.as_deref()), (&label, Some(id.as_str())));
    // Successful reads change nothing and are not logged.
    assert!(!rows.iter().any(|r| r.method == "GET" && r.status == 200), "{rows:#?}");
    assert_eq!(rows.len(), 5, "{rows:#?}");

    // No token text anywhere, valid or not, nor a recognisable part of one.
    let text = log_text(&app);
    for secret in [app.token.as_str(), wrong, &app.token[10..30], &wrong[10..30]] {
        assert!(!text.contains(secret), "the log holds token text {secret:?}:\n{text}");
    }
}

// ---------------------------------------------------------------- atomicity and cascades

#[test]
fn a_failing_patch_applies_none_of_its_operations() {
    let app = TestApp::new();
    let user = app.entra_user("atomic@example.com");
    let other = app.entra_user("other@example.com");
    let group = app.entra_group("Atomic");
    let before = snapshot(&app);

    // A valid operation followed by a bad one: neither applies.
    app.patch(
        &format!("/Users/{user}"),
        json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "nosuch", "value": "x"}
        ]),
    )
    .expect_error(400, Some("invalidPath"));
    // A rename into a taken userName.
    app.patch(
        &format!("/Users/{user}"),
        json!([
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "replace", "path": "userName", "value": "OTHER@example.com"}
        ]),
    )
    .expect_error(409, Some("uniqueness"));
    // A member added, then an operation the database step rejects.
    let res = app.patch(
        &format!("/Groups/{group}"),
        json!([
            {"op": "add", "path": "members", "value": [{"value": user}]},
            {"op": "remove", "path": "members[$ref eq \"x\"]"}
        ]),
    );
    // The filter is rejected when the members are changed in the database, after the add ran.
    let res = res.expect_error(400, Some("invalidPath"));
    assert!(res.text.contains("$ref"), "{}", res.text);
    // A member added, then a rename into nothing.
    app.patch(
        &format!("/Groups/{group}"),
        json!([
            {"op": "add", "path": "members", "value": [{"value": other}]},
            {"op": "replace", "path": "displayName", "value": ""}
        ]),
    )
    .expect_error(400, Some("invalidValue"));
    // PUT with a taken name.
    let mut body = entra_user_body("other@example.com");
    body["displayName"] = json!("Clobbered");
    app.put(&format!("/Users/{user}"), &body).expect_error(409, Some("uniqueness"));

    assert_eq!(snapshot(&app), before, "a failed request changed stored data");
    assert_eq!(app.count("group_members"), 0);
}

#[test]
fn deleting_a_user_removes_its_memberships() {
    let app = TestApp::new();
    let leaving = app.entra_user("leaving@example.com");
    let staying = app.entra_user("staying@example.com");
    let g1 = app.entra_group("One");
    let g2 = app.entra_group("Two");
    for g in [&g1, &g2] {
        app.patch(
            &format!("/Groups/{g}"),
            json!([{"op": "add", "path": "members", "value": [{"value": leaving}, {"value": staying}]}]),
        )
        .expect(204);
    }
    assert_eq!(app.count("group_members"), 4);
    let v_before = app.get(&format!("/Groups/{g1}")).expect(200).etag.unwrap();
    let user_groups = app.get(&format!("/Users/{leaving}")).expect(200);
    assert_eq!(user_groups.body["groups"].as_array().unwrap().len(), 2);

    app.delete(&format!("/Users/{leaving}")).expect(204);
    assert_eq!(app.count("group_members"), 2);
    app.get(&format!("/Users/{leaving}")).expect_error(404, None);
    app.delete(&format!("/Users/{leaving}")).expect_error(404, None);
    app.patch(&format!("/Users/{leaving}"), json!([{"op": "replace", "path": "active", "value": false}]))
        .expect_error(404, None);
    for g in [&g1, &g2] {
        let group = app.get(&format!("/Groups/{g}")).expect(200);
        let members: Vec<&str> =
            group.body["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!(members, [staying.as_str()]);
        let filtered = app
            .get(&format!("/Groups?filter={}", enc(&format!(r#"id eq "{g}" and members eq "{leaving}""#))))
            .expect(200);
        assert_eq!(filtered.body["totalResults"], 0);
    }
    assert_ne!(
        app.get(&format!("/Groups/{g1}")).expect(200).etag.unwrap(),
        v_before,
        "the group changed, so its version moved"
    );
    assert_eq!(app.count("user_emails"), 1);
}

// ---------------------------------------------------------------- tenants

#[test]
fn tenants_are_isolated() {
    let app = TestApp::new();
    app.new_tenant("beta");
    let beta_token = app.new_token("beta", "beta-entra");
    let beta = |method: &str, path: &str, body: Option<Value>| {
        app.raw(method, &format!("/scim/v2/beta{path}"), Some(&beta_token), &[], body.map(|b| b.to_string()))
    };
    let b_user = beta("POST", "/Users", Some(entra_user_body("shared@example.com"))).expect(201).id();
    let b_group = beta("POST", "/Groups", Some(entra_group_body("Shared"))).expect(201).id();
    assert!(beta("GET", &format!("/Users/{b_user}"), None).expect(200).body["meta"]["location"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{BASE}/scim/v2/beta/Users/")));

    // Tenant A can use the same names: uniqueness is per tenant.
    let a_user = app.entra_user("shared@example.com");
    let a_group = app.entra_group("Shared");
    assert_ne!(a_user, b_user);

    // B's resources do not exist for A.
    app.get(&format!("/Users/{b_user}")).expect_error(404, None);
    app.get(&format!("/Groups/{b_group}")).expect_error(404, None);
    app.put(&format!("/Users/{b_user}"), &entra_user_body("x@example.com")).expect_error(404, None);
    app.patch(&format!("/Users/{b_user}"), json!([{"op": "replace", "path": "active", "value": false}]))
        .expect_error(404, None);
    app.patch(&format!("/Groups/{b_group}"), json!([{"op": "add", "path": "members", "value": [{"value": a_user}]}]))
        .expect_error(404, None);
    app.delete(&format!("/Users/{b_user}")).expect_error(404, None);
    app.delete(&format!("/Groups/{b_group}")).expect_error(404, None);

    // A's lists and searches never show B's resources.
    assert_eq!(ids(&app.get("/Users").expect(200)), std::slice::from_ref(&a_user));
    assert_eq!(ids(&app.get("/Groups").expect(200)), std::slice::from_ref(&a_group));
    assert_eq!(ids(&app.get("").expect(200)), [a_user.clone(), a_group.clone()]);
    assert_eq!(
        app.get(&format!("/Users?filter={}", enc(&format!(r#"id eq "{b_user}""#)))).expect(200).body["totalResults"],
        0
    );
    assert_eq!(
        app.post("/.search", &json!({"schemas": [SEARCH], "filter": format!("id eq \"{b_group}\"")})).expect(200).body
            ["totalResults"],
        0
    );

    // B's user cannot be made a member of A's group.
    app.patch(&format!("/Groups/{a_group}"), json!([{"op": "add", "path": "members", "value": [{"value": b_user}]}]))
        .expect(204);
    let g = app.get(&format!("/Groups/{a_group}")).expect(200);
    assert!(g.body.get("members").is_none_or(|m| m.as_array().unwrap().is_empty()), "{}", g.text);
    assert_eq!(app.count("group_members"), 0);

    // B's data is intact and B's token does not open A.
    let b = beta("GET", &format!("/Users/{b_user}"), None).expect(200);
    assert_eq!(b.body["active"], true);
    assert_eq!(ids(&beta("GET", "/Users", None).expect(200)), std::slice::from_ref(&b_user));
    app.raw("GET", &scim_url(&format!("/Users/{a_user}")), Some(&beta_token), &[], None).expect_error(401, None);
    app.raw("GET", &scim_url("/Users"), Some(&beta_token), &[], None).expect_error(401, None);
}

/// An unfiltered list's totalResults comes from counts kept by triggers: it
/// must follow creates, deletes and refused creates, per tenant and type, and
/// agree with the filtered count of the same set.
#[test]
fn unfiltered_total_results_follow_creates_deletes_and_tenants() {
    let app = TestApp::new();
    let other = app.new_tenant("other");
    let other_token = app.new_token(&other, "other");
    let users: Vec<String> = (0..5).map(|i| app.entra_user(&format!("count{i}@example.com"))).collect();
    let groups: Vec<String> = (0..3).map(|i| app.entra_group(&format!("Count {i}"))).collect();
    app.raw(
        "POST",
        "/scim/v2/other/Users",
        Some(&other_token),
        &[],
        Some(entra_user_body("x@other.example").to_string()),
    )
    .expect(201);
    // Refused (duplicate userName): not counted.
    app.post("/Users", &entra_user_body("count0@example.com")).expect(409);
    app.delete(&format!("/Users/{}", users[1])).expect(204);
    app.delete(&format!("/Groups/{}", groups[2])).expect(204);

    let total = |path: &str| app.get(path).expect(200).body["totalResults"].clone();
    assert_eq!(total("/Users?count=0"), 4);
    assert_eq!(total("/Users?count=0&filter=userName%20sw%20%22count%22"), 4);
    assert_eq!(total("/Users?startIndex=3&count=1"), 4);
    assert_eq!(total("/Groups?count=0"), 2);
    let theirs = app.raw("GET", "/scim/v2/other/Users?count=0", Some(&other_token), &[], None).expect(200);
    assert_eq!(theirs.body["totalResults"], 1);
}
