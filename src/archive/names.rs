//! Validation of the names people choose: users, stores, e-mail addresses.

use crate::error::{Error, Result};

/// A user (and archive) name: trimmed, lower-cased, 1..=128 characters, no
/// `/` (it is a folder separator in the IMAP view), no control characters.
pub fn user_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(Error::Invalid(format!(
            "user name {name:?} must have 1 to 128 characters"
        )));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == '\\' || c.is_control())
    {
        return Err(Error::Invalid(format!(
            "user name {name:?} may not contain '/', '\\' or control characters"
        )));
    }
    Ok(name.to_lowercase())
}

/// An e-mail address, lower-cased; only the shape `local@domain` is checked.
pub fn email(address: &str) -> Result<String> {
    let address = address.trim();
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    };
    if !valid {
        return Err(Error::Invalid(format!(
            "{address:?} is not an e-mail address"
        )));
    }
    Ok(address.to_lowercase())
}

/// An archive store name: letters, digits, `-`, `_`, `.`, 1..=64 characters.
pub fn store_name(name: &str) -> Result<&str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(name)
    } else {
        Err(Error::Invalid(format!(
            "store name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}
