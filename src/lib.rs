//! archimap: an email archive served to ordinary mail clients over IMAP.
//!
//! Data flows one way: `net` (listeners, TLS) -> `imap` (sessions) ->
//! `archive` (the domain) -> `store` (storage traits). `admin` (the CLI)
//! and `import` call the domain too; `auth` checks logins.

pub mod admin;
pub mod archive;
pub mod auth;
pub mod config;
pub mod error;
pub mod imap;
pub mod import;
pub mod logging;
pub mod net;
pub mod store;
