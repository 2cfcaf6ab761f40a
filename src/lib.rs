//! archimap: an email archive served to ordinary mail clients over IMAP.
//!
//! Data flows one way: `net` (listeners, TLS) -> `imap` (sessions) ->
//! `archive` (the domain) -> `store` (storage traits). `admin` (the CLI)
//! and `import` call the domain too; `auth` checks logins. `mime` reads
//! messages the way IMAP serves and searches them (used by `imap` and the
//! full-text index).

pub mod admin;
pub mod archive;
pub mod auth;
pub mod config;
pub mod error;
pub mod imap;
pub mod import;
pub mod logging;
pub mod mime;
pub mod net;
pub mod store;
