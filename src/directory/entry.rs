//! A directory entry read as an archimap user: login name, full name,
//! e-mail addresses and distinguished name.

use ldap3::SearchEntry;
use serde::Serialize;

use super::settings::Settings;
use crate::archive::names;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    /// The login attribute's value, lower-cased: the archimap user name.
    pub name: String,
    pub full_name: String,
    /// Lower-case, each once, in the directory's order.
    pub emails: Vec<String>,
    pub distinguished_name: String,
}

/// An attribute's values; attribute names match case-insensitively, as
/// LDAP's do.
pub fn values<'e>(entry: &'e SearchEntry, attribute: &str) -> &'e [String] {
    entry
        .attrs
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
        .map_or(&[], |(_, values)| values.as_slice())
}

/// The attributes a user entry is read from.
pub fn attributes(settings: &Settings) -> Vec<String> {
    let mut all = vec![settings.login_attribute.clone()];
    all.extend(settings.email_attributes.iter().cloned());
    all.extend(settings.full_name_attributes.iter().cloned());
    all
}

/// Reads a user entry. `Err` says why it cannot be a user; the notes say
/// which of its addresses were left out.
pub fn read(
    entry: &SearchEntry,
    settings: &Settings,
) -> Result<(DirectoryUser, Vec<String>), String> {
    let login = values(entry, &settings.login_attribute)
        .first()
        .ok_or_else(|| format!("no {} attribute", settings.login_attribute))?;
    let name = names::user_name(login).map_err(|e| e.to_string())?;
    let full_name = settings
        .full_name_attributes
        .iter()
        .find_map(|attribute| values(entry, attribute).first())
        .map_or("", |value| value.trim())
        .to_string();
    let mut emails: Vec<String> = Vec::new();
    let mut notes = Vec::new();
    for attribute in &settings.email_attributes {
        for value in values(entry, attribute) {
            let Some(address) = address(value) else {
                continue;
            };
            match names::email(address) {
                Ok(address) if !emails.contains(&address) => emails.push(address),
                Ok(_) => {}
                Err(e) => notes.push(format!("{attribute} value left out: {e}")),
            }
        }
    }
    let user = DirectoryUser {
        name,
        full_name,
        emails,
        distinguished_name: entry.dn.clone(),
    };
    Ok((user, notes))
}

/// The address in a `mail` value (all of it) or a `proxyAddresses` value
/// (`SMTP:` primary, `smtp:` secondary; `X500:`, `SIP:` and other types
/// are no e-mail addresses).
fn address(value: &str) -> Option<&str> {
    match value.split_once(':') {
        Some((kind, rest)) if !kind.contains('@') => {
            kind.eq_ignore_ascii_case("smtp").then_some(rest)
        }
        _ => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::DirectoryKind;

    fn entry(attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: "CN=Alice Liddell,OU=Staff,DC=corp,DC=example".into(),
            attrs: attrs
                .iter()
                .map(|(name, values)| {
                    let values = values.iter().map(|v| v.to_string()).collect();
                    (name.to_string(), values)
                })
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn reads_active_directory_entries() {
        let settings = Settings::for_tests(DirectoryKind::ActiveDirectory, "");
        let entry = entry(&[
            ("sAMAccountName", &["ALiddell"]),
            ("displayname", &[" Alice Liddell "]),
            ("cn", &["alice"]),
            ("mail", &["Alice@Corp.example"]),
            (
                "proxyAddresses",
                &[
                    "SMTP:alice@corp.example",
                    "smtp:a.liddell@corp.example",
                    "X500:/o=Corp/ou=Exchange/cn=Recipients/cn=alice",
                    "SIP:alice@corp.example",
                    "smtp:not an address",
                ],
            ),
        ]);
        let (user, notes) = read(&entry, &settings).unwrap();
        assert_eq!(user.name, "aliddell");
        assert_eq!(user.full_name, "Alice Liddell");
        assert_eq!(
            user.emails,
            vec!["alice@corp.example", "a.liddell@corp.example"]
        );
        assert_eq!(user.distinguished_name, entry.dn);
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn needs_a_usable_login_name() {
        let settings = Settings::for_tests(DirectoryKind::Ldap, "");
        assert!(read(&entry(&[("cn", &["Alice"])]), &settings).is_err());
        assert!(read(&entry(&[("uid", &["a/b"])]), &settings).is_err());
        let (user, _) = read(&entry(&[("uid", &["bob"]), ("cn", &["Bob"])]), &settings).unwrap();
        assert_eq!(
            (user.name.as_str(), user.full_name.as_str()),
            ("bob", "Bob")
        );
        assert!(user.emails.is_empty());
    }
}
