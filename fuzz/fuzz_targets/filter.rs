//! Any text as a SCIM filter: parsing, lowering to the domain filter and
//! compiling to SQL must return Ok or a client error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_portal::domain::filter::{compile, Resource};
use scim_portal::scim::filter::{parse_filter, parse_path};
use scim_portal::scim::lower::lower;
use scim_portal::scim::resource::Kind;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_path(text);
    if let Ok(ast) = parse_filter(text) {
        for (kind, resource) in [(Kind::User, Resource::User), (Kind::Group, Resource::Group)] {
            if let Ok(filter) = lower(kind, &ast) {
                let _ = compile(resource, &filter, Vec::new());
            }
        }
    }
});
