//! archimap: an email archive served to ordinary mail clients over IMAP.
//!
//! Data flows one way: `admin` (the CLI) and `import` call the domain,
//! `archive`, which reaches storage only through the traits of `store`.

pub mod admin;
pub mod archive;
pub mod config;
pub mod error;
pub mod import;
pub mod logging;
pub mod store;
