pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod scim;
