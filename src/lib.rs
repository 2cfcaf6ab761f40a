//! archimap: an email archive served to ordinary mail clients over IMAP.
//!
//! Data flows one way: `net` (listeners, TLS) -> `imap` and `smtp`
//! (sessions: reading the archive, journal archiving) ->
//! `archive` (the domain) -> `store` (storage traits) and `index` (the
//! full-text index of each store). `admin` (the CLI)
//! and `import` call the domain too; `auth` checks logins, asking
//! `directory` (LDAP, Active Directory) about directory users; `directory`
//! also synchronises the directory's users into the domain. `mime` reads
//! messages the way IMAP serves and searches them (used by `imap` and the
//! full-text index). `background` holds what a running server does on its
//! own (index catch-up; archiving schedules to come).

pub mod admin;
pub mod api;
pub mod archive;
pub mod auth;
pub mod background;
pub mod config;
pub mod directory;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod imap;
pub mod import;
pub mod index;
pub mod logging;
pub mod mime;
pub mod net;
pub mod smtp;
pub mod store;
