//! Any bytes as a PATCH request applied to a full user and a group: the
//! engine must return Ok or a client error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_portal::scim::patch::{apply, parse_request};
use scim_portal::scim::resource::Kind;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(ops) = parse_request(&body) else { return };
    let user = json!({
        "userName": "ada@example.com", "active": true, "displayName": "Ada",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"type": "work", "value": "ada@example.com", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": {"value": "m1"}}
    });
    let group = json!({"displayName": "Engineers", "externalId": "g1"});
    for (kind, doc) in [(Kind::User, user), (Kind::Group, group)] {
        let Value::Object(mut doc) = doc else { continue };
        let _ = apply(kind, &mut doc, &ops);
    }
});
