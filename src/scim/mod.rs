//! The SCIM 2.0 service provider (RFC 7643, RFC 7644).

pub mod error;
pub mod filter;
pub mod http;
pub mod lower;
pub mod patch;
pub mod query;
pub mod paths;
pub mod render;
pub mod resource;
pub mod schema;
