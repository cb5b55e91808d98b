//! Query plans of the statements the server runs for lookups and membership
//! changes: each must be an index search on its key, never a scan of a
//! tenant's users or groups or of a group's member list. The SQL is taken
//! from the domain layer (and checked to still be there, character for
//! character), or compiled from a filter exactly as a list request does.
//! Run with `--nocapture` to see the plans.

mod common;
use common::*;

use std::time::Instant;

use rusqlite::types::Value as SqlValue;
use serde_json::json;

use scim_portal::db::DbError;
use scim_portal::domain::filter::{compile, compile_element, Collection, Resource, Sql};
use scim_portal::domain::{groups, tenants, TenantId};
use scim_portal::scim::resource::Kind;
use scim_portal::scim::{filter as scim_filter, lower, schema};

const DOMAIN_MOD: &str = include_str!("../src/domain/mod.rs");
const DOMAIN_USERS: &str = include_str!("../src/domain/users.rs");
const DOMAIN_GROUPS: &str = include_str!("../src/domain/groups.rs");

/// SQL text with Rust line continuations and runs of whitespace collapsed.
fn norm(s: &str) -> String {
    s.replace("\\\n", " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fails unless `source` still contains `sql` (so the plans below are of the SQL the server runs).
#[track_caller]
fn in_source(source: &str, file: &str, sql: &str) -> String {
    assert!(
        norm(source).contains(&norm(sql)),
        "src/domain/{file} no longer contains this SQL; update this test to what the server runs:\n{sql}"
    );
    norm(sql)
}

const USER_COLUMNS: &str = "r.id, r.scim_id, r.user_name, r.external_id, r.display_name, r.active, r.profile, r.created, r.last_modified, r.version";
const GROUP_COLUMNS: &str = "r.id, r.scim_id, r.display_name, r.external_id, r.created, r.last_modified, r.version";

fn columns(kind: Kind) -> &'static str {
    let (source, file, cols) = match kind {
        Kind::User => (DOMAIN_USERS, "users.rs", USER_COLUMNS),
        Kind::Group => (DOMAIN_GROUPS, "groups.rs", GROUP_COLUMNS),
    };
    in_source(source, file, &format!("const COLUMNS: &str = \"{cols}\""));
    cols
}

/// `EXPLAIN QUERY PLAN` of `sql`, one line per plan step.
fn plan(app: &TestApp, sql: &str, params: &[SqlValue]) -> Vec<String> {
    app.state()
        .db
        .read(|tx| {
            let mut stmt = tx.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, String>(3))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, DbError>(rows)
        })
        .unwrap_or_else(|e| panic!("cannot explain {sql}: {e}"))
}

/// Why a plan step is not a keyed lookup, if it is not.
fn not_a_lookup(step: &str) -> Option<&'static str> {
    if step.starts_with("SCAN ") {
        return Some("a full scan");
    }
    if step.starts_with("SEARCH ") && step.ends_with("(tenant_id=?)") {
        return Some("a range over every row of the tenant");
    }
    let member_table =
        step.starts_with("SEARCH group_members ") || step.starts_with("SEARCH m ") || step.starts_with("SEARCH me");
    if member_table && step.ends_with("(group_id=?)") {
        return Some("a range over the group's whole member list");
    }
    None
}

/// Explains `sql`, prints the plan, and returns the steps that are not keyed lookups.
fn explain(app: &TestApp, label: &str, sql: &str, params: &[SqlValue]) -> Vec<String> {
    let steps = plan(app, sql, params);
    println!("{label}\n  SQL:  {sql}");
    for s in &steps {
        println!("  PLAN: {s}");
    }
    steps.iter().filter_map(|s| not_a_lookup(s).map(|why| format!("{label}: {s:?} is {why}\n    in {sql}"))).collect()
}

#[track_caller]
fn assert_all_lookups(problems: Vec<String>) {
    assert!(problems.is_empty(), "statements that do not use an index for their key:\n{}", problems.join("\n"));
}

/// The COUNT and the page SELECT `domain::select_page` runs for a list filter.
fn list_statements(kind: Kind, filter: &str, tenant: TenantId) -> Vec<(String, Vec<SqlValue>)> {
    for piece in [
        "let condition = format!(\"FROM {table} r WHERE r.tenant_id = ?1 AND {}\", sql.text);",
        ".prepare_cached(&format!(\"SELECT COUNT(*) {condition}\"))?",
        "None => \"r.id\".to_string(),",
        "format!(\"SELECT {columns} {condition} ORDER BY {order} LIMIT ?{limit} OFFSET ?{}\", limit + 1)",
        "\"SELECT {columns} FROM {table} r WHERE r.id IN (",
        "SELECT r.id {condition} ORDER BY {order} LIMIT ?{limit} OFFSET ?{})",
    ] {
        in_source(DOMAIN_MOD, "mod.rs", piece);
    }
    let ast = scim_filter::parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let lowered = lower::lower(kind, &ast).unwrap_or_else(|e| panic!("{filter}: {e:?}"));
    let (resource, table) = match kind {
        Kind::User => (Resource::User, "users"),
        Kind::Group => (Resource::Group, "groups"),
    };
    let Sql { text, mut params } = compile(resource, &lowered, vec![SqlValue::Integer(tenant.0)]).unwrap();
    let condition = format!("FROM {table} r WHERE r.tenant_id = ?1 AND {text}");
    let count = (format!("SELECT COUNT(*) {condition}"), params.clone());
    let limit = params.len() + 1;
    params.push(SqlValue::Integer(1000));
    // The first page reads rows directly; a later one finds its ids first.
    let mut first_params = params.clone();
    first_params.push(SqlValue::Integer(0));
    let first = (
        format!("SELECT {} {condition} ORDER BY r.id LIMIT ?{limit} OFFSET ?{}", columns(kind), limit + 1),
        first_params,
    );
    params.push(SqlValue::Integer(200));
    let later = (
        format!(
            "SELECT {} FROM {table} r WHERE r.id IN (SELECT r.id {condition} ORDER BY r.id LIMIT ?{limit} OFFSET ?{}) ORDER BY r.id",
            columns(kind),
            limit + 1
        ),
        params,
    );
    vec![count, first, later]
}

fn default_tenant(app: &TestApp) -> TenantId {
    app.state().db.read(|tx| tenants::get_by_slug(tx, "default")).unwrap().id
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn check_list_filters(app: &TestApp, cases: &[(Kind, &str)]) -> Vec<String> {
    let tenant = default_tenant(app);
    let mut problems = Vec::new();
    for (kind, filter) in cases {
        for (sql, params) in list_statements(*kind, filter, tenant) {
            problems.extend(explain(app, &format!("GET /{}?filter={filter}", kind.endpoint()), &sql, &params));
        }
    }
    problems
}

#[test]
fn lookups_by_id_user_name_external_id_and_display_name_use_indexes() {
    let app = TestApp::new();
    // Some data, so that the plans are those of a database in use.
    for i in 0..20 {
        app.entra_user(&format!("plan{i}@example.com"));
    }
    app.entra_group("Planners");

    let mut problems = check_list_filters(
        &app,
        &[
            (Kind::User, r#"id eq "8d1c0b7e-0000-4000-8000-000000000000""#),
            (Kind::User, r#"userName eq "Plan1@Example.com""#),
            (Kind::User, r#"externalId eq "plan1""#),
            (Kind::Group, r#"id eq "8d1c0b7e-0000-4000-8000-000000000000""#),
            (Kind::Group, r#"displayName eq "planners""#),
            (Kind::Group, r#"externalId eq "ext-Planners""#),
        ],
    );

    // The single-resource reads behind GET/PUT/PATCH/DELETE /{type}/{id}.
    let t = SqlValue::Integer(default_tenant(&app).0);
    let find_user = in_source(
        DOMAIN_USERS,
        "users.rs",
        "\"SELECT {COLUMNS} FROM users r WHERE r.tenant_id = ?1 AND r.scim_id = ?2\"",
    );
    let find_user = find_user.trim_matches('"').replace("{COLUMNS}", USER_COLUMNS);
    problems.extend(explain(&app, "users::find", &find_user, &[t.clone(), text("x")]));
    let by_name = in_source(
        DOMAIN_USERS,
        "users.rs",
        "\"SELECT {COLUMNS} FROM users r WHERE r.tenant_id = ?1 AND r.user_name_key = ?2\"",
    );
    let by_name = by_name.trim_matches('"').replace("{COLUMNS}", USER_COLUMNS);
    problems.extend(explain(&app, "users::find_by_user_name", &by_name, &[t.clone(), text("x")]));
    let find_group = in_source(
        DOMAIN_GROUPS,
        "groups.rs",
        "\"SELECT {COLUMNS} FROM groups r WHERE r.tenant_id = ?1 AND r.scim_id = ?2\"",
    );
    let find_group = find_group.trim_matches('"').replace("{COLUMNS}", GROUP_COLUMNS);
    problems.extend(explain(&app, "groups::find", &find_group, &[t, text("x")]));
    assert_all_lookups(problems);
}

#[test]
fn lookup_by_work_email_uses_the_email_index() {
    let app = TestApp::new();
    for i in 0..20 {
        app.entra_user(&format!("mail{i}@example.com"));
    }
    // Both spellings find the user (the behaviour is right) ...
    for filter in [
        r#"emails[type eq "work"].value eq "MAIL7@example.com""#,
        r#"emails[type eq "work" and value eq "mail7@example.com"]"#,
    ] {
        let res = app.get(&format!("/Users?filter={}", enc(filter))).expect(200);
        assert_eq!(res.body["totalResults"], 1, "{filter}");
    }
    // ... and must do so through user_emails_value, not by visiting every user of the tenant.
    let problems = check_list_filters(
        &app,
        &[
            // Entra's matching filter when the matching attribute is the work e-mail.
            (Kind::User, r#"emails[type eq "work"].value eq "mail7@example.com""#),
            (Kind::User, r#"emails[type eq "work" and value eq "mail7@example.com"]"#),
        ],
    );
    assert_all_lookups(problems);
}

#[test]
fn membership_statements_are_keyed_lookups() {
    let app = TestApp::new();
    let t = SqlValue::Integer(default_tenant(&app).0);
    let g = SqlValue::Integer(1);
    let mut problems = Vec::new();
    let mut check = |file: &str, source: &str, label: &str, sql: &str, params: Vec<SqlValue>| {
        let sql = in_source(source, file, sql);
        problems.extend(explain(&app, label, &sql, &params));
    };
    // groups::add_members: per id, one user lookup and one insert.
    check(
        "groups.rs",
        DOMAIN_GROUPS,
        "groups::add_members (user)",
        "SELECT id FROM users WHERE tenant_id = ?1 AND scim_id = ?2",
        vec![t.clone(), text("u")],
    );
    check(
        "groups.rs",
        DOMAIN_GROUPS,
        "groups::add_members (insert)",
        "INSERT OR IGNORE INTO group_members (group_id, user_id, added) VALUES (?1, ?2, ?3)",
        vec![g.clone(), SqlValue::Integer(2), text("t")],
    );
    check(
        "groups.rs",
        DOMAIN_GROUPS,
        "groups::remove_members",
        "DELETE FROM group_members WHERE group_id = ?1
                 AND user_id = (SELECT id FROM users WHERE tenant_id = ?2 AND scim_id = ?3)",
        vec![g.clone(), t.clone(), text("u")],
    );
    check(
        "groups.rs",
        DOMAIN_GROUPS,
        "groups::has_member",
        "SELECT 1 FROM group_members WHERE group_id = ?1
             AND user_id = (SELECT id FROM users WHERE tenant_id = ?2 AND scim_id = ?3)",
        vec![g.clone(), t.clone(), text("u")],
    );
    check(
        "groups.rs",
        DOMAIN_GROUPS,
        "groups::touch",
        "UPDATE groups SET last_modified = ?2, version = version + 1 WHERE id = ?1",
        vec![g.clone(), text("t")],
    );
    check(
        "groups.rs",
        DOMAIN_GROUPS,
        "groups::update",
        "UPDATE groups SET display_name = ?2, display_name_key = ?3, external_id = ?4,
                           last_modified = ?5, version = version + 1
         WHERE id = ?1",
        vec![g.clone(), text("n"), text("n"), text("e"), text("t")],
    );
    check(
        "users.rs",
        DOMAIN_USERS,
        "users::delete (groups losing the member)",
        "UPDATE groups SET version = version + 1, last_modified = ?2
         WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?1)",
        vec![SqlValue::Integer(2), text("t")],
    );
    check(
        "users.rs",
        DOMAIN_USERS,
        "users::groups_of (one user)",
        "SELECT m.user_id, g.scim_id, g.display_name, g.display_name_key
             FROM group_members m JOIN groups g ON g.id = m.group_id
             WHERE m.user_id = ?1",
        vec![SqlValue::Integer(2)],
    );
    check(
        "users.rs",
        DOMAIN_USERS,
        "users::groups_of (a page of nearby row ids, one walk)",
        "SELECT m.user_id, g.scim_id, g.display_name, g.display_name_key
             FROM group_members m JOIN groups g ON g.id = m.group_id
             WHERE m.user_id BETWEEN ?1 AND ?2",
        vec![SqlValue::Integer(2), SqlValue::Integer(200)],
    );
    assert_all_lookups(problems);
}

#[test]
fn membership_check_filter_is_a_keyed_lookup() {
    // Entra asks "is u a member of g?" with this filter; it must not read g's member list.
    let app = TestApp::new();
    let problems = check_list_filters(
        &app,
        &[(Kind::Group, r#"id eq "g" and members eq "u""#), (Kind::Group, r#"id eq "g" and members[value eq "u"]"#)],
    );
    assert_all_lookups(problems);
}

#[test]
fn removing_one_member_by_value_filter_is_a_keyed_lookup() {
    // PATCH {"op": "remove", "path": "members[value eq \"u\"]"} (RFC 7644 §3.5.2.2) runs groups::remove_members_where.
    let app = TestApp::new();
    let template = in_source(
        DOMAIN_GROUPS,
        "groups.rs",
        "\"DELETE FROM group_members WHERE group_id = ?1 AND user_id IN (
             SELECT u.id FROM users u
             WHERE u.tenant_id = ?2
               AND EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = ?1 AND m.user_id = u.id)
               AND {})\"",
    );
    let members = schema::find(schema::GROUP_SCHEMA.attributes, "members").unwrap();
    let ast = scim_filter::parse_filter(r#"value eq "u""#).unwrap();
    let inner = lower::lower_element(members, &ast).unwrap();
    let sql = compile_element(
        Resource::Group,
        &Collection::Members,
        "u",
        &inner,
        vec![SqlValue::Integer(1), SqlValue::Integer(1)],
    )
    .unwrap();
    let text = template.trim_matches('"').replacen("{}", &sql.text, 1);
    assert_all_lookups(explain(&app, "groups::remove_members_where (members[value eq \"u\"])", &text, &sql.params));
}

/// 50,000 users in one group, written straight to the database in one transaction.
/// One of them carries a display name of the wrong type, so any read of the
/// member list through `groups::members_of` fails: a tripwire for "does not read the member list".
fn seed_big_group(app: &TestApp, group_id: &str) -> i64 {
    let started = Instant::now();
    let row = app
        .state()
        .db
        .write(|tx| {
            let t = tenants::get_by_slug(tx, "default")?;
            let group = groups::get(tx, t.id, group_id)?;
            tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
                 INSERT INTO users (tenant_id, scim_id, user_name, user_name_key, display_name, profile, created, last_modified, version)
                 SELECT ?1, printf('big-%05d', i), printf('big%05d@example.com', i), printf('big%05d@example.com', i),
                        CASE WHEN i = 25000 THEN X'00' ELSE printf('Big %d', i) END,
                        '{}', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 1
                 FROM n",
                [t.id.0],
            )?;
            tx.execute(
                "INSERT INTO group_members (group_id, user_id, added)
                 SELECT ?1, id, '2024-01-01T00:00:00.000Z' FROM users WHERE tenant_id = ?2 AND scim_id LIKE 'big-%'",
                [group.row_id, t.id.0],
            )?;
            recount(tx, t.id.0)?;
            Ok::<_, scim_portal::domain::Error>(group.row_id)
        })
        .unwrap();
    println!("seeded 50,000 members in {:?}", started.elapsed());
    row
}

fn member_count(app: &TestApp, row: i64) -> i64 {
    app.state()
        .db
        .read(|tx| {
            tx.query_row("SELECT COUNT(*) FROM group_members WHERE group_id = ?1", [row], |r| r.get(0))
                .map_err(DbError::from)
        })
        .unwrap()
}

#[test]
fn adding_one_member_to_a_50000_member_group_does_not_read_the_member_list() {
    let app = TestApp::new();
    let big = app.entra_group("Big");
    let small = app.entra_group("Small");
    let newbie = app.entra_user("newbie@example.com");
    let row = seed_big_group(&app, &big);
    let tenant = default_tenant(&app);
    assert_eq!(member_count(&app, row), 50_000);

    // The tripwire works: reading the member list fails.
    let read_all = app.state().db.read(|tx| groups::members_of(tx, &[row]));
    assert!(read_all.is_err(), "the tripwire did not trip: {read_all:?}");

    let path = format!("/Groups/{big}");
    let before = app.get(&format!("{path}?excludedAttributes=members")).expect(200);
    assert!(before.body.get("members").is_none(), "{}", before.text);
    let v_before: i64 =
        before.body["meta"]["version"].as_str().unwrap().trim_start_matches("W/").trim_matches('"').parse().unwrap();

    // Entra's add: one PATCH, one member, answered 204 with the new ETag.
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": newbie}]}]);
    let started = Instant::now();
    let res = app.patch(&path, add.clone());
    let big_took = started.elapsed();
    assert_eq!(res.status, 204, "{}", res.text);
    assert!(res.text.is_empty(), "{}", res.text);
    assert_eq!(res.etag.as_deref(), Some(format!("W/\"{}\"", v_before + 1).as_str()));
    assert_eq!(member_count(&app, row), 50_001);
    let is_member = app
        .state()
        .db
        .read(|tx| {
            let g = groups::get(tx, tenant, &big)?;
            groups::has_member(tx, tenant, &g, &newbie)
        })
        .unwrap();
    assert!(is_member);
    let started = Instant::now();
    app.patch(&format!("/Groups/{small}"), add).expect(204);
    println!("PATCH add 1 member: {big_took:?} on 50,000 members, {:?} on an empty group", started.elapsed());

    // Re-adding is a no-op, still without reading the list.
    app.patch(&path, json!([{"op": "add", "path": "members", "value": [{"value": newbie}]}])).expect(204);
    assert_eq!(member_count(&app, row), 50_001);

    // Asking for the group without members: 200 with the group and no members key.
    let res = app
        .req(
            "PATCH",
            &format!("{path}?excludedAttributes=members"),
            Some(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": newbie}]}]})),
        )
        .expect(200);
    assert!(res.body.get("members").is_none(), "{}", res.text);
    assert_eq!(res.body["displayName"], "Big");
    assert_eq!(res.etag.as_deref(), res.body["meta"]["version"].as_str());
    assert_eq!(member_count(&app, row), 50_000);

    // Reads that exclude members never touch the list either.
    let got = app.get(&format!("{path}?excludedAttributes=members")).expect(200);
    assert!(got.body.get("members").is_none());
    let listed =
        app.get(&format!("/Groups?excludedAttributes=members&filter={}", enc(r#"displayName eq "Big""#))).expect(200);
    assert_eq!(listed.body["totalResults"], 1);
    assert!(listed.body["Resources"][0].get("members").is_none());
    let nm = app.raw(
        "GET",
        &format!("/scim/v2/default{path}"),
        Some(&app.token),
        &[("If-None-Match", got.etag.as_deref().unwrap())],
        None,
    );
    assert_eq!(nm.status, 304, "{}", nm.text);

    // A rename of the big group answers 204 as well, and changes nothing else.
    app.patch(&path, json!([{"op": "replace", "path": "displayName", "value": "Bigger"}])).expect(204);
    assert_eq!(member_count(&app, row), 50_000);

    // RFC-style removal by value filter still works on the big group.
    app.patch(&path, json!([{"op": "remove", "path": "members[value eq \"big-00001\"]"}])).expect(204);
    assert_eq!(member_count(&app, row), 49_999);

    // The plans of what the add ran, on this database.
    let t = SqlValue::Integer(tenant.0);
    let g = SqlValue::Integer(row);
    let mut problems = Vec::new();
    for (label, sql, params) in [
        (
            "groups::find",
            format!("SELECT {GROUP_COLUMNS} FROM groups r WHERE r.tenant_id = ?1 AND r.scim_id = ?2"),
            vec![t.clone(), text(&big)],
        ),
        (
            "groups::add_members (user)",
            "SELECT id FROM users WHERE tenant_id = ?1 AND scim_id = ?2".to_string(),
            vec![t.clone(), text(&newbie)],
        ),
        (
            "groups::add_members (insert)",
            "INSERT OR IGNORE INTO group_members (group_id, user_id, added) VALUES (?1, ?2, ?3)".to_string(),
            vec![g.clone(), SqlValue::Integer(1), text("t")],
        ),
        (
            "groups::touch",
            "UPDATE groups SET last_modified = ?2, version = version + 1 WHERE id = ?1".to_string(),
            vec![g.clone(), text("t")],
        ),
    ] {
        problems.extend(explain(&app, label, &sql, &params));
    }
    assert_all_lookups(problems);
}

#[test]
fn a_deep_page_starts_from_a_remembered_position_not_the_first_row() {
    const PAGING: &str = include_str!("../src/domain/paging.rs");
    let app = TestApp::new();
    let tenant = SqlValue::Integer(default_tenant(&app).0);
    in_source(DOMAIN_MOD, "mod.rs", "(format!(\"{condition} AND r.id >= ?{}\", sql.params.len()), rest)");
    for table in ["users", "groups"] {
        let walk = in_source(
            PAGING,
            "paging.rs",
            "SELECT id FROM {table} WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT 1 OFFSET ?3",
        )
        .replace("{table}", table);
        let page = format!(
            "SELECT r.id FROM {table} r WHERE r.tenant_id = ?1 AND 1 AND r.id >= ?2 ORDER BY r.id LIMIT ?3 OFFSET ?4"
        );
        for (sql, params) in [
            (walk, vec![tenant.clone(), SqlValue::Integer(5), SqlValue::Integer(999)]),
            (page, vec![tenant.clone(), SqlValue::Integer(5), SqlValue::Integer(100), SqlValue::Integer(40)]),
        ] {
            let steps = plan(&app, &sql, &params);
            println!("{sql}\n  PLAN: {steps:?}");
            // A range from the remembered row id in the (tenant_id, rowid) index, already in id order.
            assert_eq!(steps.len(), 1, "{sql}: {steps:?}");
            assert!(steps[0].ends_with(&format!("INDEX {table}_tenant (tenant_id=? AND rowid>?)")), "{sql}: {steps:?}");
        }
    }
}
