//! Table-driven tests of the PATCH engine.
//!
//! Most tables are `(name, operations, edits)`: the operations are applied to
//! a fixed user (or group) document, and the expected document is that
//! document with `edits` merged in the way of a JSON merge patch (RFC 7396:
//! objects merge recursively, `null` deletes, anything else replaces).

use super::*;
use crate::domain::filter::{Filter as DomainFilter, Kind as ValueKind, Op, Operand, Value as DomainValue};
use serde_json::json;

const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// ------------------------------------------------------------ fixtures

/// A user document as `resource::user_doc` builds it for a well-provisioned Entra user.
fn user() -> Value {
    json!({
        "externalId": "ada",
        "userName": "ada@example.com",
        "displayName": "Ada Lovelace",
        "active": true,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "title": "Countess",
        "emails": [
            {"value": "ada@example.com", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+64 9 000 0000", "type": "work"}],
        ENT: {"department": "R&D", "employeeNumber": "701984", "manager": {"value": "boss"}}
    })
}

/// A user with nothing but the required userName.
fn bare_user() -> Value {
    json!({"userName": "bare@example.com"})
}

fn group() -> Value {
    json!({"displayName": "Engineering", "externalId": "ext-eng"})
}

fn obj(v: &Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn body(ops: Value) -> Map<String, Value> {
    obj(&json!({"schemas": [PATCH], "Operations": ops}))
}

/// Parses `ops` (the Operations array) the way the handlers do.
#[track_caller]
fn parse(ops: Value) -> Vec<Operation> {
    parse_request(&body(ops.clone())).unwrap_or_else(|e| panic!("{ops} should parse: {e:?}"))
}

/// Parses and applies `ops` to a copy of `doc`.
fn run(kind: Kind, doc: &Value, ops: Value) -> ScimResult<(Value, Vec<MemberChange>)> {
    let ops = parse_request(&body(ops))?;
    let mut d = obj(doc);
    let changes = apply(kind, &mut d, &ops)?;
    Ok((Value::Object(d), changes))
}

/// RFC 7396 merge patch.
fn merged(base: &Value, edits: &Value) -> Value {
    match (base, edits) {
        (Value::Object(b), Value::Object(e)) => {
            let mut out = b.clone();
            for (k, v) in e {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let next = merged(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), next);
                }
            }
            Value::Object(out)
        }
        (_, Value::Object(_)) => merged(&json!({}), edits),
        (_, e) => e.clone(),
    }
}

#[track_caller]
fn check_doc_table(kind: Kind, base: &Value, table: Vec<(&str, Value, Value)>) {
    for (name, ops, edits) in table {
        let expected = merged(base, &edits);
        match run(kind, base, ops.clone()) {
            Ok((doc, changes)) => {
                assert_eq!(doc, expected, "case {name:?}: {ops}");
                if kind == Kind::User {
                    assert!(changes.is_empty(), "case {name:?}: users have no member changes");
                }
            }
            Err(e) => panic!("case {name:?} failed: {e:?}\nops: {ops}"),
        }
    }
}

#[track_caller]
fn check_error_table(kind: Kind, base: &Value, table: Vec<(&str, Value, &str)>) {
    for (name, ops, scim_type) in table {
        match run(kind, base, ops.clone()) {
            Ok((doc, changes)) => {
                panic!("case {name:?} should fail with {scim_type}, got {doc} / {changes:?}\nops: {ops}")
            }
            Err(e) => {
                assert_eq!(e.status.code, 400, "case {name:?}: {e:?}");
                assert_eq!(e.scim_type, Some(scim_type), "case {name:?}: {e:?}");
                assert!(!e.detail.is_empty(), "case {name:?}");
            }
        }
    }
}

fn member_value_eq(id: &str) -> DomainFilter {
    DomainFilter::Compare(
        Operand::Field { name: "value".into(), kind: ValueKind::Text { case_exact: true } },
        Op::Eq,
        DomainValue::Text(id.into()),
    )
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------ parse_request

#[test]
fn parse_request_reads_operations() {
    let table = vec![
        (
            json!([{"op": "add", "path": "title", "value": "x"}]),
            vec![Operation { op: OpKind::Add, path: Some("title".into()), value: Some(json!("x")) }],
        ),
        (
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            vec![Operation { op: OpKind::Replace, path: Some("active".into()), value: Some(json!("False")) }],
        ),
        (
            json!([{"OP": "REMOVE", "PATH": "title"}]),
            vec![Operation { op: OpKind::Remove, path: Some("title".into()), value: None }],
        ),
        (
            json!([{"Op": "remove", "Path": "members", "Value": [{"value": "u1"}]}]),
            vec![Operation { op: OpKind::Remove, path: Some("members".into()), value: Some(json!([{"value": "u1"}])) }],
        ),
        // An empty, blank or null path means "no path".
        (
            json!([{"op": "replace", "path": "", "value": {"a": 1}}]),
            vec![Operation { op: OpKind::Replace, path: None, value: Some(json!({"a": 1})) }],
        ),
        (
            json!([{"op": "replace", "path": "  ", "value": {}}]),
            vec![Operation { op: OpKind::Replace, path: None, value: Some(json!({})) }],
        ),
        (
            json!([{"op": "add", "path": null, "value": {}}]),
            vec![Operation { op: OpKind::Add, path: None, value: Some(json!({})) }],
        ),
        // A null value is still a value (it clears).
        (
            json!([{"op": "replace", "path": "title", "value": null}]),
            vec![Operation { op: OpKind::Replace, path: Some("title".into()), value: Some(Value::Null) }],
        ),
        // Order is kept; unknown members of an operation are ignored.
        (
            json!([{"op": "add", "path": "a", "value": 1, "extra": true}, {"op": "remove", "path": "b"}]),
            vec![
                Operation { op: OpKind::Add, path: Some("a".into()), value: Some(json!(1)) },
                Operation { op: OpKind::Remove, path: Some("b".into()), value: None },
            ],
        ),
    ];
    for (ops, expected) in table {
        assert_eq!(parse(ops.clone()), expected, "{ops}");
    }
    // The schema URN and the Operations key are matched case-insensitively.
    let b = obj(&json!({"schemas": [PATCH.to_uppercase()], "operations": [{"op": "remove", "path": "x"}]}));
    assert_eq!(parse_request(&b).unwrap().len(), 1);
    let b = obj(&json!({"schemas": ["urn:other", PATCH], "OPERATIONS": [{"op": "remove", "path": "x"}]}));
    assert_eq!(parse_request(&b).unwrap().len(), 1);
}

#[test]
fn parse_request_errors() {
    let op = json!({"op": "remove", "path": "title"});
    let table: Vec<(&str, Value, &str)> = vec![
        ("no schemas", json!({"Operations": [op]}), "invalidValue"),
        ("wrong schema", json!({"schemas": [CORE], "Operations": [op]}), "invalidValue"),
        ("schemas as a string", json!({"schemas": PATCH, "Operations": [op]}), "invalidValue"),
        ("schemas empty", json!({"schemas": [], "Operations": [op]}), "invalidValue"),
        ("schemas with a number", json!({"schemas": [5], "Operations": [op]}), "invalidValue"),
        ("no Operations", json!({"schemas": [PATCH]}), "invalidValue"),
        ("empty Operations", json!({"schemas": [PATCH], "Operations": []}), "invalidValue"),
        ("Operations an object", json!({"schemas": [PATCH], "Operations": op}), "invalidValue"),
        ("Operations null", json!({"schemas": [PATCH], "Operations": null}), "invalidValue"),
        ("operation a string", json!({"schemas": [PATCH], "Operations": ["add"]}), "invalidSyntax"),
        ("operation null", json!({"schemas": [PATCH], "Operations": [null]}), "invalidSyntax"),
        ("operation an array", json!({"schemas": [PATCH], "Operations": [[op]]}), "invalidSyntax"),
        ("no op", json!({"schemas": [PATCH], "Operations": [{"path": "x", "value": 1}]}), "invalidValue"),
        ("op move", json!({"schemas": [PATCH], "Operations": [{"op": "move", "path": "x"}]}), "invalidValue"),
        ("op copy", json!({"schemas": [PATCH], "Operations": [{"op": "copy", "path": "x"}]}), "invalidValue"),
        ("op empty", json!({"schemas": [PATCH], "Operations": [{"op": "", "path": "x"}]}), "invalidValue"),
        (
            "op padded",
            json!({"schemas": [PATCH], "Operations": [{"op": " add", "path": "x", "value": 1}]}),
            "invalidValue",
        ),
        ("op a number", json!({"schemas": [PATCH], "Operations": [{"op": 1, "path": "x"}]}), "invalidValue"),
        ("op null", json!({"schemas": [PATCH], "Operations": [{"op": null, "path": "x"}]}), "invalidValue"),
        ("path a number", json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": 5}]}), "invalidPath"),
        ("path a bool", json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": true}]}), "invalidPath"),
        ("path an array", json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": ["x"]}]}), "invalidPath"),
        ("path an object", json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": {}}]}), "invalidPath"),
        ("add without value", json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "x"}]}), "invalidValue"),
        ("replace without value", json!({"schemas": [PATCH], "Operations": [{"op": "replace"}]}), "invalidValue"),
        (
            "one bad operation among good ones",
            json!({"schemas": [PATCH], "Operations": [op, op, {"op": "bogus"}]}),
            "invalidValue",
        ),
    ];
    for (name, b, scim_type) in table {
        let e = parse_request(&obj(&b)).expect_err(name);
        assert_eq!(e.scim_type, Some(scim_type), "case {name:?}: {e:?}");
        assert_eq!(e.status.code, 400, "case {name:?}");
    }
}

#[test]
fn operation_count_limit() {
    let op = json!({"op": "replace", "path": "title", "value": "t"});
    let ops = |n: usize| Value::Array(vec![op.clone(); n]);
    assert_eq!(parse(ops(MAX_OPERATIONS)).len(), MAX_OPERATIONS);
    let e = parse_request(&body(ops(MAX_OPERATIONS + 1))).unwrap_err();
    assert_eq!(e.scim_type, Some("tooMany"), "{e:?}");
    // A thousand operations apply fine.
    let (doc, _) = run(Kind::User, &user(), ops(MAX_OPERATIONS)).unwrap();
    assert_eq!(doc["title"], "t");
}

// ------------------------------------------------------------ users: with a path

#[rustfmt::skip]
#[test]
fn single_valued_attributes() {
    check_doc_table(Kind::User, &user(), vec![
        ("replace", json!([{"op": "replace", "path": "displayName", "value": "Ada King"}]), json!({"displayName": "Ada King"})),
        ("add sets a new attribute", json!([{"op": "add", "path": "nickName", "value": "Addy"}]), json!({"nickName": "Addy"})),
        ("add replaces a single value", json!([{"op": "add", "path": "title", "value": "Lady"}]), json!({"title": "Lady"})),
        ("remove", json!([{"op": "remove", "path": "title"}]), json!({"title": null})),
        ("remove an absent attribute", json!([{"op": "remove", "path": "nickName"}]), json!({})),
        ("path case-insensitive", json!([{"op": "replace", "path": "DISPLAYNAME", "value": "X"}]), json!({"displayName": "X"})),
        ("path with spaces", json!([{"op": "replace", "path": " displayName ", "value": "X"}]), json!({"displayName": "X"})),
        ("URN-qualified core path",
         json!([{"op": "replace", "path": format!("{CORE}:displayName"), "value": "X"}]), json!({"displayName": "X"})),
        ("URN-qualified core path, other case",
         json!([{"op": "replace", "path": format!("{}:title", CORE.to_uppercase()), "value": "X"}]), json!({"title": "X"})),
        ("userName", json!([{"op": "replace", "path": "userName", "value": "ada@new.example"}]), json!({"userName": "ada@new.example"})),
        ("externalId", json!([{"op": "replace", "path": "externalId", "value": "ext-2"}]), json!({"externalId": "ext-2"})),
        ("reference", json!([{"op": "add", "path": "profileUrl", "value": "https://x.example/ada"}]),
         json!({"profileUrl": "https://x.example/ada"})),
        ("boolean", json!([{"op": "replace", "path": "active", "value": false}]), json!({"active": false})),
        ("several in order", json!([
            {"op": "replace", "path": "title", "value": "a"},
            {"op": "replace", "path": "title", "value": "b"},
            {"op": "add", "path": "locale", "value": "en-NZ"},
            {"op": "remove", "path": "locale"},
        ]), json!({"title": "b"})),
        ("re-sending the current value changes nothing",
         json!([{"op": "replace", "path": "displayName", "value": "Ada Lovelace"}]), json!({})),
    ]);
}

#[rustfmt::skip]
#[test]
fn sub_attributes_of_complex_attributes() {
    check_doc_table(Kind::User, &user(), vec![
        ("replace one", json!([{"op": "replace", "path": "name.givenName", "value": "Augusta"}]),
         json!({"name": {"givenName": "Augusta"}})),
        ("add one", json!([{"op": "add", "path": "name.middleName", "value": "King"}]), json!({"name": {"middleName": "King"}})),
        ("remove one", json!([{"op": "remove", "path": "name.givenName"}]), json!({"name": {"givenName": null}})),
        ("remove the last one drops the attribute",
         json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
         json!({"name": null})),
        ("sub-attribute case-insensitive", json!([{"op": "replace", "path": "NAME.GIVENNAME", "value": "G"}]),
         json!({"name": {"givenName": "G"}})),
        ("complex value merges", json!([{"op": "replace", "path": "name", "value": {"givenName": "A2", "formatted": "A2 L"}}]),
         json!({"name": {"givenName": "A2", "formatted": "A2 L"}})),
        ("complex add merges", json!([{"op": "add", "path": "name", "value": {"honorificPrefix": "Lady"}}]),
         json!({"name": {"honorificPrefix": "Lady"}})),
        ("unknown sub-attributes in a value are dropped",
         json!([{"op": "replace", "path": "name", "value": {"givenName": "G", "bogus": 1}}]), json!({"name": {"givenName": "G"}})),
        ("remove the whole attribute", json!([{"op": "remove", "path": "name"}]), json!({"name": null})),
    ]);
    // On a user without the attribute, a sub-attribute creates it.
    check_doc_table(Kind::User, &bare_user(), vec![
        ("create", json!([{"op": "add", "path": "name.familyName", "value": "F"}]), json!({"name": {"familyName": "F"}})),
        ("remove from nothing", json!([{"op": "remove", "path": "name.familyName"}]), json!({})),
    ]);
}

#[rustfmt::skip]
#[test]
fn multi_valued_attributes() {
    let work = json!({"value": "ada@example.com", "type": "work", "primary": true});
    let home = json!({"value": "ada@home.example", "type": "home"});
    let other = json!({"value": "ada@other.example", "type": "other"});
    check_doc_table(Kind::User, &user(), vec![
        ("add appends", json!([{"op": "add", "path": "emails", "value": [other]}]), json!({"emails": [work, home, other]})),
        ("add one value given bare", json!([{"op": "add", "path": "emails", "value": other}]), json!({"emails": [work, home, other]})),
        ("add an existing value changes nothing", json!([{"op": "add", "path": "emails", "value": [home]}]), json!({})),
        ("add a new primary demotes the old one",
         json!([{"op": "add", "path": "emails", "value": [{"value": "p@x.example", "type": "other", "primary": true}]}]),
         json!({"emails": [
             {"value": "ada@example.com", "type": "work", "primary": false}, home,
             {"value": "p@x.example", "type": "other", "primary": true},
         ]})),
        ("replace replaces all", json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.example"}]}]),
         json!({"emails": [{"value": "only@x.example"}]})),
        ("remove all", json!([{"op": "remove", "path": "emails"}]), json!({"emails": null})),
        ("remove by value array (Entra)", json!([{"op": "remove", "path": "emails", "value": [{"value": "ada@home.example"}]}]),
         json!({"emails": [work]})),
        ("remove by value array, last value", json!([{"op": "remove", "path": "phoneNumbers", "value": [{"value": "+64 9 000 0000"}]}]),
         json!({"phoneNumbers": null})),
        ("remove by value array, no match", json!([{"op": "remove", "path": "emails", "value": [{"value": "nobody@x"}]}]), json!({})),
        ("unknown sub-attributes dropped",
         json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "1", "type": "fax", "extension": "9"}]}]),
         json!({"phoneNumbers": [{"value": "+64 9 000 0000", "type": "work"}, {"value": "1", "type": "fax"}]})),
    ]);
}

#[rustfmt::skip]
#[test]
fn value_path_filters() {
    let work = json!({"value": "ada@example.com", "type": "work", "primary": true});
    let home = json!({"value": "ada@home.example", "type": "home"});
    check_doc_table(Kind::User, &user(), vec![
        ("replace a sub-attribute of the matches",
         json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.example"}]),
         json!({"emails": [{"value": "ada@new.example", "type": "work", "primary": true}, home]})),
        ("add a sub-attribute",
         json!([{"op": "add", "path": "emails[type eq \"work\"].display", "value": "Work"}]),
         json!({"emails": [{"value": "ada@example.com", "type": "work", "primary": true, "display": "Work"}, home]})),
        ("remove a sub-attribute",
         json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
         json!({"emails": [{"value": "ada@example.com", "type": "work"}, home]})),
        ("remove the matching values", json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]), json!({"emails": [work]})),
        ("remove with co", json!([{"op": "remove", "path": "emails[value co \"home\"]"}]), json!({"emails": [work]})),
        ("remove with not", json!([{"op": "remove", "path": "emails[not (type eq \"work\")]"}]), json!({"emails": [work]})),
        ("remove with or", json!([{"op": "remove", "path": "emails[type eq \"work\" or type eq \"home\"]"}]), json!({"emails": null})),
        ("remove with a boolean", json!([{"op": "remove", "path": "emails[primary eq true]"}]), json!({"emails": [home]})),
        ("remove with pr", json!([{"op": "remove", "path": "emails[primary pr]"}]), json!({"emails": [home]})),
        ("remove, no match", json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]), json!({})),
        ("filter values compare case-insensitively",
         json!([{"op": "remove", "path": "emails[type eq \"HOME\"]"}]), json!({"emails": [work]})),
        ("filter keywords in any case",
         json!([{"op": "replace", "path": "EMAILS[TYPE EQ \"work\"].VALUE", "value": "w@x.example"}]),
         json!({"emails": [{"value": "w@x.example", "type": "work", "primary": true}, home]})),
        ("replace the matching values with an object",
         json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w2@x.example", "display": "W"}}]),
         json!({"emails": [{"value": "w2@x.example", "type": "work", "primary": true, "display": "W"}, home]})),
        ("boolean sub-attribute given as \"False\"",
         json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "False"}]),
         json!({"emails": [{"value": "ada@example.com", "type": "work", "primary": false}, home]})),
        ("making another value primary demotes the old primary",
         json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
         json!({"emails": [
             {"value": "ada@example.com", "type": "work", "primary": false},
             {"value": "ada@home.example", "type": "home", "primary": true},
         ]})),
        ("URN-qualified value path",
         json!([{"op": "replace", "path": format!("{CORE}:emails[type eq \"work\"].value"), "value": "u@x.example"}]),
         json!({"emails": [{"value": "u@x.example", "type": "work", "primary": true}, home]})),
        ("re-sending the current value changes nothing",
         json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.com"}]), json!({})),
    ]);
}

#[rustfmt::skip]
#[test]
fn value_path_upsert_when_nothing_matches() {
    let work = json!({"value": "ada@example.com", "type": "work", "primary": true});
    let home = json!({"value": "ada@home.example", "type": "home"});
    check_doc_table(Kind::User, &user(), vec![
        ("replace creates the element",
         json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x.example"}]),
         json!({"emails": [work, home, {"type": "other", "value": "o@x.example"}]})),
        ("add creates the element (Entra's default dialect)",
         json!([{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+64 21 000 000"}]),
         json!({"phoneNumbers": [{"value": "+64 9 000 0000", "type": "work"}, {"type": "mobile", "value": "+64 21 000 000"}]})),
        ("every eq term becomes a sub-attribute",
         json!([{"op": "replace", "path": "addresses[type eq \"work\" and primary eq true].locality", "value": "Auckland"}]),
         json!({"addresses": [{"type": "work", "primary": true, "locality": "Auckland"}]})),
        ("a new primary demotes the old one",
         json!([{"op": "replace", "path": "emails[type eq \"other\" and primary eq true].value", "value": "p@x.example"}]),
         json!({"emails": [
             {"value": "ada@example.com", "type": "work", "primary": false}, home,
             {"type": "other", "primary": true, "value": "p@x.example"},
         ]})),
        ("without a sub-attribute the value object is used",
         json!([{"op": "add", "path": "ims[type eq \"xmpp\"]", "value": {"value": "ada@jabber.example"}}]),
         json!({"ims": [{"type": "xmpp", "value": "ada@jabber.example"}]})),
    ]);
    check_doc_table(Kind::User, &bare_user(), vec![
        ("Entra's work e-mail on a user without e-mails",
         json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bare@example.com"}]),
         json!({"emails": [{"type": "work", "value": "bare@example.com"}]})),
        ("street address on a user without addresses",
         json!([{"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Queen St"}]),
         json!({"addresses": [{"type": "work", "streetAddress": "1 Queen St"}]})),
        ("removing from nothing is not an error", json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]), json!({})),
        ("removing a sub-attribute from nothing", json!([{"op": "remove", "path": "emails[type eq \"work\"].value"}]), json!({})),
    ]);
}

#[rustfmt::skip]
#[test]
fn clearing_a_value_that_does_not_exist_changes_nothing() {
    // Entra clears a source attribute that became empty with `"value": ""`. When the
    // element the filter describes does not exist, there is nothing to clear: the
    // document must not gain an element without a value (e.g. `{"type": "work"}`).
    for base in [user(), bare_user()] {
        check_doc_table(Kind::User, &base, vec![
            ("clear a missing e-mail with \"\"",
             json!([{"op": "Add", "path": "emails[type eq \"other\"].value", "value": ""}]), json!({})),
            ("clear a missing e-mail with null",
             json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": null}]), json!({})),
            ("clear a missing phone number",
             json!([{"op": "Replace", "path": "phoneNumbers[type eq \"fax\"].value", "value": ""}]), json!({})),
            ("clear a missing address line",
             json!([{"op": "Replace", "path": "addresses[type eq \"home\"].streetAddress", "value": ""}]), json!({})),
        ]);
    }
}

#[rustfmt::skip]
#[test]
fn empty_and_null_values_clear() {
    let home = json!({"value": "ada@home.example", "type": "home"});
    check_doc_table(Kind::User, &user(), vec![
        ("replace with \"\"", json!([{"op": "replace", "path": "displayName", "value": ""}]), json!({"displayName": null})),
        ("replace with null", json!([{"op": "replace", "path": "displayName", "value": null}]), json!({"displayName": null})),
        ("add with \"\"", json!([{"op": "Add", "path": "title", "value": ""}]), json!({"title": null})),
        ("add with null", json!([{"op": "add", "path": "title", "value": null}]), json!({"title": null})),
        ("boolean with null", json!([{"op": "replace", "path": "active", "value": null}]), json!({"active": null})),
        ("sub-attribute with \"\"", json!([{"op": "replace", "path": "name.givenName", "value": ""}]),
         json!({"name": {"givenName": null}})),
        ("sub-attribute with null", json!([{"op": "add", "path": "name.familyName", "value": null}]),
         json!({"name": {"familyName": null}})),
        ("complex with {}", json!([{"op": "replace", "path": "name", "value": {}}]), json!({"name": null})),
        ("complex with null", json!([{"op": "replace", "path": "name", "value": null}]), json!({"name": null})),
        ("multi-valued replace with []", json!([{"op": "replace", "path": "emails", "value": []}]), json!({"emails": null})),
        ("multi-valued replace with null", json!([{"op": "replace", "path": "phoneNumbers", "value": null}]),
         json!({"phoneNumbers": null})),
        ("multi-valued add of [] adds nothing", json!([{"op": "add", "path": "emails", "value": []}]), json!({})),
        ("multi-valued add of null adds nothing", json!([{"op": "add", "path": "emails", "value": null}]), json!({})),
        ("empty elements are dropped", json!([{"op": "add", "path": "emails", "value": [{}, {"value": ""}, null]}]), json!({})),
        ("value-path sub-attribute with \"\"",
         json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": ""}]),
         json!({"emails": [{"value": "ada@example.com", "type": "work", "primary": true}, {"type": "home"}]})),
        ("value-path element cleared entirely",
         json!([{"op": "remove", "path": "emails[type eq \"work\"].value"},
                {"op": "remove", "path": "emails[type eq \"work\"].type"},
                {"op": "remove", "path": "emails[primary eq true].primary"}]),
         json!({"emails": [home]})),
        ("extension attribute with \"\"", json!([{"op": "replace", "path": format!("{ENT}:department"), "value": ""}]),
         json!({ENT: {"department": null}})),
        ("manager with \"\"", json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": ""}]),
         json!({ENT: {"manager": null}})),
        ("manager with null", json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": null}]),
         json!({ENT: {"manager": null}})),
    ]);
}

// ------------------------------------------------------------ users: enterprise extension

#[rustfmt::skip]
#[test]
fn enterprise_extension_paths() {
    let ent = |attr: &str| format!("{ENT}:{attr}");
    check_doc_table(Kind::User, &user(), vec![
        ("replace", json!([{"op": "replace", "path": ent("department"), "value": "Ops"}]), json!({ENT: {"department": "Ops"}})),
        ("add", json!([{"op": "add", "path": ent("costCenter"), "value": "CC-1"}]), json!({ENT: {"costCenter": "CC-1"}})),
        ("remove", json!([{"op": "remove", "path": ent("department")}]), json!({ENT: {"department": null}})),
        ("removing the last attribute drops the extension", json!([
            {"op": "remove", "path": ent("department")},
            {"op": "remove", "path": ent("employeeNumber")},
            {"op": "remove", "path": ent("manager")},
        ]), json!({ENT: null})),
        ("URN in another case", json!([{"op": "replace", "path": format!("{}:division", ENT.to_lowercase()), "value": "D"}]),
         json!({ENT: {"division": "D"}})),
        ("attribute in another case", json!([{"op": "replace", "path": ent("DEPARTMENT"), "value": "Ops"}]),
         json!({ENT: {"department": "Ops"}})),
        ("manager as a plain id (Entra)", json!([{"op": "Replace", "path": ent("manager"), "value": "m-2"}]),
         json!({ENT: {"manager": {"value": "m-2"}}})),
        ("manager as an object", json!([{"op": "replace", "path": ent("manager"), "value": {"value": "m-3", "$ref": "../Users/m-3"}}]),
         json!({ENT: {"manager": {"value": "m-3", "$ref": "../Users/m-3"}}})),
        ("manager with \"$ref\": null", json!([{"op": "Add", "path": ent("manager"), "value": {"value": "m-4", "$ref": null}}]),
         json!({ENT: {"manager": {"value": "m-4"}}})),
        ("manager as a one-element array (older Entra)", json!([{"op": "replace", "path": ent("manager"), "value": [{"value": "m-5"}]}]),
         json!({ENT: {"manager": {"value": "m-5"}}})),
        ("manager.value", json!([{"op": "replace", "path": ent("manager.value"), "value": "m-6"}]),
         json!({ENT: {"manager": {"value": "m-6"}}})),
        ("manager.displayName in a value is read-only and dropped",
         json!([{"op": "replace", "path": ent("manager"), "value": {"value": "m-7", "displayName": "Boss"}}]),
         json!({ENT: {"manager": {"value": "m-7"}}})),
        ("remove manager", json!([{"op": "remove", "path": ent("manager")}]), json!({ENT: {"manager": null}})),
        ("remove manager.value", json!([{"op": "remove", "path": ent("manager.value")}]), json!({ENT: {"manager": null}})),
    ]);
    check_doc_table(Kind::User, &bare_user(), vec![
        ("creates the extension", json!([{"op": "add", "path": ent("employeeNumber"), "value": "42"}]),
         json!({ENT: {"employeeNumber": "42"}})),
        ("creates it for a manager", json!([{"op": "Add", "path": ent("manager"), "value": "m-1"}]),
         json!({ENT: {"manager": {"value": "m-1"}}})),
        ("creates it for manager.value", json!([{"op": "add", "path": ent("manager.value"), "value": "m-1"}]),
         json!({ENT: {"manager": {"value": "m-1"}}})),
        ("removing from a missing extension", json!([{"op": "remove", "path": ent("department")}]), json!({})),
        ("removing a sub-attribute from a missing extension", json!([{"op": "remove", "path": ent("manager.value")}]), json!({})),
        ("clearing in a missing extension", json!([{"op": "replace", "path": ent("department"), "value": ""}]), json!({})),
    ]);
}

#[rustfmt::skip]
#[test]
fn bare_extension_urn_path() {
    check_doc_table(Kind::User, &user(), vec![
        ("value with its own schemas key",
         json!([{"op": "add", "path": ENT, "value": {"schemas": [ENT], "costCenter": "CC", "manager": "m-8"}}]),
         json!({ENT: {"costCenter": "CC", "manager": {"value": "m-8"}}})),
        ("replace merges attribute by attribute",
         json!([{"op": "replace", "path": ENT, "value": {"department": "Ops"}}]), json!({ENT: {"department": "Ops"}})),
        ("unknown attributes are ignored",
         json!([{"op": "replace", "path": ENT, "value": {"nonsense": "x", "division": "D"}}]), json!({ENT: {"division": "D"}})),
        ("empty strings clear",
         json!([{"op": "replace", "path": ENT, "value": {"department": "", "employeeNumber": null}}]),
         json!({ENT: {"department": null, "employeeNumber": null}})),
        ("URN in another case", json!([{"op": "replace", "path": ENT.to_uppercase(), "value": {"division": "D"}}]),
         json!({ENT: {"division": "D"}})),
        ("remove drops the extension", json!([{"op": "remove", "path": ENT}]), json!({ENT: null})),
        ("an empty object changes nothing", json!([{"op": "add", "path": ENT, "value": {}}]), json!({})),
    ]);
    check_doc_table(Kind::User, &bare_user(), vec![
        ("creates the extension",
         json!([{"op": "add", "path": ENT, "value": {"schemas": [ENT], "employeeNumber": "1"}}]),
         json!({ENT: {"employeeNumber": "1"}})),
        ("remove from nothing", json!([{"op": "remove", "path": ENT}]), json!({})),
    ]);
}

// ------------------------------------------------------------ users: Entra's default dialect

#[rustfmt::skip]
#[test]
fn entra_default_dialect() {
    check_doc_table(Kind::User, &user(), vec![
        ("capitalised Replace and \"False\"", json!([{"op": "Replace", "path": "active", "value": "False"}]), json!({"active": false})),
        ("\"false\"", json!([{"op": "Replace", "path": "active", "value": "false"}]), json!({"active": false})),
        ("\"FALSE\"", json!([{"op": "REPLACE", "path": "active", "value": "FALSE"}]), json!({"active": false})),
        ("\"True\" keeps true", json!([{"op": "Add", "path": "active", "value": "True"}]), json!({})),
        ("capitalised Remove", json!([{"op": "Remove", "path": "title"}]), json!({"title": null})),
        ("mixed-case Add", json!([{"op": "aDd", "path": "nickName", "value": "A"}]), json!({"nickName": "A"})),
        ("path-less replace with dotted and URN keys", json!([{"op": "Replace", "value": {
            "displayName": "Ada K",
            "name.givenName": "Augusta",
            "name.familyName": "King",
            "active": "False",
            format!("{ENT}:department"): "Dept",
            format!("{ENT}:manager"): "m-9",
            "title": "",
        }}]), json!({
            "displayName": "Ada K",
            "name": {"givenName": "Augusta", "familyName": "King"},
            "active": false,
            ENT: {"department": "Dept", "manager": {"value": "m-9"}},
            "title": null,
        })),
        ("path-less add with the extension object", json!([{"op": "Add", "value": {
            ENT: {"employeeNumber": "42", "manager": "m-10", "nonsense": 1},
        }}]), json!({ENT: {"employeeNumber": "42", "manager": {"value": "m-10"}}})),
        ("path-less add of a multi-valued attribute", json!([{"op": "add", "value": {
            "emails": [{"value": "n@x.example", "type": "other"}],
        }}]), json!({"emails": [
            {"value": "ada@example.com", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"},
            {"value": "n@x.example", "type": "other"},
        ]})),
        ("path-less replace of a complex attribute merges", json!([{"op": "replace", "value": {"name": {"formatted": "A K"}}}]),
         json!({"name": {"formatted": "A K"}})),
        ("path-less: id, meta, schemas, read-only and unknown keys are ignored", json!([{"op": "replace", "value": {
            "id": "other-id",
            "meta": {"version": "W/\"9\""},
            "schemas": ["urn:bogus"],
            "groups": [{"value": "g1"}],
            format!("{ENT}:manager.displayName"): "Boss",
            "nonsense": true,
            "urn:bogus:schema:attr": "x",
            "displayName": "kept",
        }}]), json!({"displayName": "kept"})),
        ("path-less keys are case-insensitive", json!([{"op": "replace", "value": {"DisplayName": "D", "NAME.GIVENNAME": "G"}}]),
         json!({"displayName": "D", "name": {"givenName": "G"}})),
        ("manager cleared with an empty object (Entra removes a manager so)",
         json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
         json!({ENT: {"manager": null}})),
    ]);
}

// ------------------------------------------------------------ users: errors

#[rustfmt::skip]
#[test]
fn user_errors() {
    let ent = |attr: &str| format!("{ENT}:{attr}");
    let long = "x".repeat(resource::MAX_STRING_CHARS + 1);
    let many: Vec<Value> = (0..=resource::MAX_VALUES).map(|i| json!({"value": format!("{i}@x.example")})).collect();
    check_error_table(Kind::User, &user(), vec![
        // invalidPath
        ("unknown attribute", json!([{"op": "replace", "path": "nonsense", "value": "x"}]), "invalidPath"),
        ("unknown sub-attribute", json!([{"op": "replace", "path": "name.nonsense", "value": "x"}]), "invalidPath"),
        ("sub-attribute of a simple attribute", json!([{"op": "replace", "path": "title.x", "value": "x"}]), "invalidPath"),
        ("malformed path", json!([{"op": "replace", "path": "emails[", "value": "x"}]), "invalidPath"),
        ("path with a comparison", json!([{"op": "replace", "path": "userName eq \"x\"", "value": "x"}]), "invalidPath"),
        ("path with two sub-attributes", json!([{"op": "replace", "path": "name.givenName.x", "value": "x"}]), "invalidPath"),
        ("multi-valued sub-attribute without a filter", json!([{"op": "replace", "path": "emails.value", "value": "x"}]), "invalidPath"),
        ("filter on a single-valued attribute", json!([{"op": "replace", "path": "displayName[value eq \"x\"]", "value": "x"}]), "invalidPath"),
        ("filter on a singular complex attribute", json!([{"op": "replace", "path": "name[givenName eq \"x\"].familyName", "value": "x"}]), "invalidPath"),
        ("unknown sub-attribute after a filter", json!([{"op": "replace", "path": "emails[type eq \"work\"].nonsense", "value": "x"}]), "invalidPath"),
        ("unknown schema", json!([{"op": "replace", "path": "urn:example:unknown:2.0:User:title", "value": "x"}]), "invalidPath"),
        ("group schema on a user", json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "value": "x"}]), "invalidPath"),
        ("unknown enterprise attribute", json!([{"op": "replace", "path": ent("nonsense"), "value": "x"}]), "invalidPath"),
        ("schemas", json!([{"op": "replace", "path": "schemas", "value": [CORE]}]), "invalidPath"),
        ("members on a user", json!([{"op": "add", "path": "members", "value": [{"value": "u"}]}]), "invalidPath"),
        // noTarget
        ("remove without a path", json!([{"op": "remove"}]), "noTarget"),
        ("Remove without a path, with a value", json!([{"op": "Remove", "value": {"title": "x"}}]), "noTarget"),
        ("filter with no match that describes no element",
         json!([{"op": "replace", "path": "emails[value co \"zzz\"].value", "value": "x"}]), "noTarget"),
        ("or filter with no match",
         json!([{"op": "replace", "path": "emails[type eq \"pager\" or type eq \"fax\"].value", "value": "x"}]), "noTarget"),
        ("not filter with no match",
         json!([{"op": "add", "path": "emails[not (value pr)].display", "value": "x"}]), "noTarget"),
        // invalidFilter
        ("unknown sub-attribute in a filter",
         json!([{"op": "replace", "path": "emails[nonsense eq \"x\"].value", "value": "x"}]), "invalidFilter"),
        ("co on a boolean", json!([{"op": "remove", "path": "emails[primary co \"t\"]"}]), "invalidFilter"),
        ("string compared with a number", json!([{"op": "remove", "path": "emails[value gt 5]"}]), "invalidFilter"),
        // invalidValue
        ("path-less with a string", json!([{"op": "replace", "value": "x"}]), "invalidValue"),
        ("path-less with an array", json!([{"op": "add", "value": [{"title": "x"}]}]), "invalidValue"),
        ("path-less with null", json!([{"op": "add", "value": null}]), "invalidValue"),
        ("boolean as \"yes\"", json!([{"op": "replace", "path": "active", "value": "yes"}]), "invalidValue"),
        ("boolean as 1", json!([{"op": "replace", "path": "active", "value": 1}]), "invalidValue"),
        ("string as a number", json!([{"op": "replace", "path": "displayName", "value": 5}]), "invalidValue"),
        ("string as an object", json!([{"op": "replace", "path": "title", "value": {"a": 1}}]), "invalidValue"),
        ("string as an array", json!([{"op": "replace", "path": "title", "value": ["a", "b"]}]), "invalidValue"),
        ("complex as a string", json!([{"op": "replace", "path": "name", "value": "Ada"}]), "invalidValue"),
        ("complex as a number", json!([{"op": "replace", "path": "name", "value": 1}]), "invalidValue"),
        ("sub-attribute with the wrong type", json!([{"op": "replace", "path": "name.givenName", "value": true}]), "invalidValue"),
        ("two primaries", json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]), "invalidValue"),
        ("element of the wrong type", json!([{"op": "add", "path": "emails", "value": ["a@x", 5]}]), "invalidValue"),
        ("filtered sub-attribute of the wrong type",
         json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": "maybe"}]), "invalidValue"),
        ("string too long", json!([{"op": "replace", "path": "displayName", "value": long}]), "invalidValue"),
        ("too many values", json!([{"op": "replace", "path": "emails", "value": many}]), "invalidValue"),
        ("extension attribute with the wrong type", json!([{"op": "replace", "path": ent("department"), "value": 5}]), "invalidValue"),
        ("manager as a number", json!([{"op": "replace", "path": ent("manager"), "value": 5}]), "invalidValue"),
        ("manager as a two-element array", json!([{"op": "replace", "path": ent("manager"), "value": [{"value": "a"}, {"value": "b"}]}]), "invalidValue"),
        ("bare extension URN with a string", json!([{"op": "replace", "path": ENT, "value": "x"}]), "invalidValue"),
        ("bare extension URN with null", json!([{"op": "add", "path": ENT, "value": null}]), "invalidValue"),
        ("path-less extension key with a string", json!([{"op": "add", "value": {ENT: "x"}}]), "invalidValue"),
        ("path-less value of the wrong type", json!([{"op": "replace", "value": {"active": "perhaps"}}]), "invalidValue"),
        ("remove userName", json!([{"op": "remove", "path": "userName"}]), "invalidValue"),
        ("clear userName with \"\"", json!([{"op": "replace", "path": "userName", "value": ""}]), "invalidValue"),
        ("clear userName with null", json!([{"op": "replace", "path": "userName", "value": null}]), "invalidValue"),
        ("clear userName path-less", json!([{"op": "Replace", "value": {"userName": ""}}]), "invalidValue"),
        // mutability
        ("replace id", json!([{"op": "replace", "path": "id", "value": "x"}]), "mutability"),
        ("remove id", json!([{"op": "remove", "path": "id"}]), "mutability"),
        ("ID in capitals", json!([{"op": "add", "path": "ID", "value": "x"}]), "mutability"),
        ("URN-qualified id", json!([{"op": "replace", "path": format!("{CORE}:id"), "value": "x"}]), "mutability"),
        ("meta", json!([{"op": "replace", "path": "meta", "value": {}}]), "mutability"),
        ("meta.version", json!([{"op": "replace", "path": "meta.version", "value": "W/\"1\""}]), "mutability"),
        ("meta.lastModified", json!([{"op": "add", "path": "meta.lastModified", "value": "2020-01-01T00:00:00Z"}]), "mutability"),
        ("remove meta.created", json!([{"op": "remove", "path": "meta.created"}]), "mutability"),
        ("groups", json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]), "mutability"),
        ("groups with a filter", json!([{"op": "remove", "path": "groups[value eq \"g1\"]"}]), "mutability"),
        ("groups.display", json!([{"op": "replace", "path": "groups[value eq \"g1\"].display", "value": "x"}]), "mutability"),
        ("manager.displayName", json!([{"op": "replace", "path": ent("manager.displayName"), "value": "x"}]), "mutability"),
    ]);
}

#[test]
fn atomicity_a_later_bad_operation_fails_the_whole_apply() {
    // The handler applies to a copy and discards it on error; what matters is that apply fails.
    let good = json!({"op": "replace", "path": "displayName", "value": "Changed"});
    let table = vec![
        (json!([good, {"op": "replace", "path": "id", "value": "x"}]), "mutability"),
        (json!([good, {"op": "replace", "path": "active", "value": "maybe"}]), "invalidValue"),
        (json!([good, good, {"op": "replace", "path": "nonsense", "value": 1}]), "invalidPath"),
        (json!([good, {"op": "remove"}]), "noTarget"),
        (json!([good, {"op": "remove", "path": "userName"}]), "invalidValue"),
        (json!([{"op": "remove", "path": "userName"}, good]), "invalidValue"),
        (json!([good, {"op": "replace", "path": "emails[value co \"zzz\"].value", "value": "x"}]), "noTarget"),
    ];
    for (ops, scim_type) in table {
        let e = run(Kind::User, &user(), ops.clone()).expect_err(&ops.to_string());
        assert_eq!(e.scim_type, Some(scim_type), "{ops}: {e:?}");
    }
    // A required attribute may go missing in the middle, as long as it is back at the end.
    let (doc, _) = run(
        Kind::User,
        &user(),
        json!([
            {"op": "remove", "path": "userName"},
            {"op": "add", "path": "userName", "value": "back@example.com"}
        ]),
    )
    .unwrap();
    assert_eq!(doc["userName"], "back@example.com");
    // Groups: member changes of earlier operations are not returned when a later one fails.
    let e = run(
        Kind::Group,
        &group(),
        json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
            {"op": "replace", "path": "displayName", "value": "New"},
            {"op": "replace", "path": "meta", "value": {}}
        ]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some("mutability"));
}

#[test]
fn applying_twice_is_idempotent_for_what_entra_resends() {
    let ops = json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.example"},
        {"op": "Replace", "path": "emails[type eq \"other\"].value", "value": "o@x.example"},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+64 21"},
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": format!("{ENT}:manager"), "value": "m-1"},
        {"op": "Add", "path": "emails", "value": [{"value": "x@x.example"}]},
        {"op": "Replace", "value": {"name.givenName": "G", format!("{ENT}:department"): "D"}}
    ]);
    for base in [user(), bare_user()] {
        let (once, _) = run(Kind::User, &base, ops.clone()).unwrap();
        let (twice, _) = run(Kind::User, &once, ops.clone()).unwrap();
        assert_eq!(once, twice, "base: {base}");
    }
}

// ------------------------------------------------------------ groups

#[rustfmt::skip]
#[test]
fn group_member_changes() {
    let table: Vec<(&str, Value, Vec<MemberChange>)> = vec![
        ("add", json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]),
         vec![MemberChange::Add(ids(&["u1", "u2"]))]),
        ("Entra's Add with \"$ref\": null", json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]),
         vec![MemberChange::Add(ids(&["u1"]))]),
        ("add with $ref, type and display", json!([{"op": "add", "path": "members", "value": [
            {"value": "u1", "$ref": "https://x/Users/u1", "type": "User", "display": "Ada"}]}]),
         vec![MemberChange::Add(ids(&["u1"]))]),
        ("add a single object", json!([{"op": "add", "path": "members", "value": {"value": "u1"}}]),
         vec![MemberChange::Add(ids(&["u1"]))]),
        ("add a bare id", json!([{"op": "add", "path": "members", "value": "u1"}]), vec![MemberChange::Add(ids(&["u1"]))]),
        ("add nothing", json!([{"op": "add", "path": "members", "value": []}]), vec![MemberChange::Add(vec![])]),
        ("path in capitals", json!([{"op": "ADD", "path": "MEMBERS", "value": [{"VALUE": "u1"}]}]),
         vec![MemberChange::Add(ids(&["u1"]))]),
        ("replace", json!([{"op": "replace", "path": "members", "value": [{"value": "u3"}]}]),
         vec![MemberChange::Replace(ids(&["u3"]))]),
        ("replace with [] empties", json!([{"op": "replace", "path": "members", "value": []}]), vec![MemberChange::Replace(vec![])]),
        ("replace with null empties", json!([{"op": "replace", "path": "members", "value": null}]), vec![MemberChange::Replace(vec![])]),
        ("remove all", json!([{"op": "remove", "path": "members"}]), vec![MemberChange::RemoveAll]),
        ("remove with a null value", json!([{"op": "Remove", "path": "members", "value": null}]), vec![MemberChange::RemoveAll]),
        ("remove by value array (Entra)", json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]),
         vec![MemberChange::Remove(ids(&["u1", "u2"]))]),
        ("remove by value filter", json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
         vec![MemberChange::RemoveWhere(member_value_eq("u1"))]),
        ("several, in request order", json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "members", "value": [{"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u3\"]"},
            {"op": "remove", "path": "members"},
            {"op": "replace", "path": "members", "value": [{"value": "u4"}]},
        ]), vec![
            MemberChange::Add(ids(&["u1"])),
            MemberChange::Remove(ids(&["u2"])),
            MemberChange::RemoveWhere(member_value_eq("u3")),
            MemberChange::RemoveAll,
            MemberChange::Replace(ids(&["u4"])),
        ]),
        ("path-less add", json!([{"op": "add", "value": {"members": [{"value": "u1"}]}}]), vec![MemberChange::Add(ids(&["u1"]))]),
        ("path-less replace", json!([{"op": "Replace", "value": {"members": [{"value": "u1"}]}}]),
         vec![MemberChange::Replace(ids(&["u1"]))]),
    ];
    for (name, ops, expected) in table {
        let (doc, changes) = run(Kind::Group, &group(), ops.clone()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(changes, expected, "case {name:?}: {ops}");
        // Members never enter the document.
        assert_eq!(doc, group(), "case {name:?}");
    }
    // The filter of a RemoveWhere is the lowered element filter.
    let (_, changes) = run(Kind::Group, &group(),
        json!([{"op": "remove", "path": "members[value eq \"a\" or not (value sw \"b\")]"}])).unwrap();
    let attr = schema::find(schema::GROUP_SCHEMA.attributes, "members").unwrap();
    let expected = super::super::lower::lower_element(attr, &super::super::filter::parse_filter("value eq \"a\" or not (value sw \"b\")").unwrap()).unwrap();
    assert_eq!(changes, vec![MemberChange::RemoveWhere(expected)]);
}

#[rustfmt::skip]
#[test]
fn group_attributes() {
    check_doc_table(Kind::Group, &group(), vec![
        ("rename", json!([{"op": "replace", "path": "displayName", "value": "Eng 2"}]), json!({"displayName": "Eng 2"})),
        ("rename path-less", json!([{"op": "Replace", "value": {"displayName": "Eng 3", "id": "x"}}]), json!({"displayName": "Eng 3"})),
        ("externalId", json!([{"op": "add", "path": "externalId", "value": "e2"}]), json!({"externalId": "e2"})),
        ("remove externalId", json!([{"op": "remove", "path": "externalId"}]), json!({"externalId": null})),
        ("rename and add members", json!([
            {"op": "replace", "path": "displayName", "value": "Eng 4"},
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        ]), json!({"displayName": "Eng 4"})),
        ("user attributes in a path-less value are ignored", json!([{"op": "replace", "value": {"title": "x", "userName": "y"}}]), json!({})),
    ]);
    check_error_table(Kind::Group, &group(), vec![
        ("add by filter", json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": [{"value": "u1"}]}]), "invalidPath"),
        ("replace by filter", json!([{"op": "replace", "path": "members[value eq \"u1\"]", "value": {"value": "u2"}}]), "invalidPath"),
        ("remove a member sub-attribute", json!([{"op": "remove", "path": "members[value eq \"u1\"].value"}]), "invalidPath"),
        ("members.value", json!([{"op": "remove", "path": "members.value"}]), "invalidPath"),
        ("member without a value", json!([{"op": "add", "path": "members", "value": [{"type": "User"}]}]), "invalidValue"),
        ("one member without a value", json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"$ref": "x"}]}]), "invalidValue"),
        ("member value a number", json!([{"op": "add", "path": "members", "value": [{"value": 5}]}]), "invalidValue"),
        ("member a number", json!([{"op": "add", "path": "members", "value": [5]}]), "invalidValue"),
        ("remove members by a value of the wrong type", json!([{"op": "remove", "path": "members", "value": [{"value": true}]}]), "invalidValue"),
        ("remove by an unknown sub-attribute", json!([{"op": "remove", "path": "members[nonsense eq \"x\"]"}]), "invalidFilter"),
        ("remove by a filter with a URN", json!([{"op": "remove", "path": format!("members[{CORE}:value eq \"x\"]")}]), "invalidFilter"),
        ("remove displayName", json!([{"op": "remove", "path": "displayName"}]), "invalidValue"),
        ("clear displayName", json!([{"op": "replace", "path": "displayName", "value": ""}]), "invalidValue"),
        ("clear displayName path-less", json!([{"op": "replace", "value": {"displayName": null}}]), "invalidValue"),
        ("path-less remove", json!([{"op": "remove", "value": {"members": [{"value": "u1"}]}}]), "noTarget"),
        ("user attribute path", json!([{"op": "replace", "path": "userName", "value": "x"}]), "invalidPath"),
        ("enterprise path on a group", json!([{"op": "replace", "path": format!("{ENT}:department"), "value": "x"}]), "invalidPath"),
        ("bare enterprise URN on a group", json!([{"op": "add", "path": ENT, "value": {"department": "x"}}]), "invalidPath"),
        ("id", json!([{"op": "replace", "path": "id", "value": "x"}]), "mutability"),
        ("meta.version", json!([{"op": "remove", "path": "meta.version"}]), "mutability"),
    ]);
}
