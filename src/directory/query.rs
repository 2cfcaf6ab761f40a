//! Finding user entries within the configured filter and groups.

use std::collections::HashSet;

use ldap3::{Scope, SearchEntry};

use super::connection::Connection;
use super::entry::values;
use super::settings::Settings;
use crate::config::GroupMembership;
use crate::error::Result;

/// The entries `filter` finds under the base DN, less those outside the
/// groups when membership is read from the groups' `member` values.
pub async fn user_entries(
    connection: &mut Connection,
    settings: &Settings,
    filter: &str,
    attributes: &[String],
) -> Result<Vec<SearchEntry>> {
    let mut entries = connection
        .search(&settings.base_dn, Scope::Subtree, filter, attributes)
        .await?;
    if let Some(members) = group_members(connection, settings).await? {
        entries.retain(|entry| members.contains(&dn_key(&entry.dn)));
    }
    Ok(entries)
}

/// The DNs listed as `member` of the configured groups (compared with
/// `dn_key`); `None` when no group restricts users this way.
async fn group_members(
    connection: &mut Connection,
    settings: &Settings,
) -> Result<Option<HashSet<String>>> {
    if settings.groups.is_empty() || settings.membership != GroupMembership::Member {
        return Ok(None);
    }
    let mut members = HashSet::new();
    for group in &settings.groups {
        let found = connection
            .search(group, Scope::Base, "(objectClass=*)", &["member".into()])
            .await?;
        for entry in &found {
            members.extend(values(entry, "member").iter().map(|dn| dn_key(dn)));
        }
    }
    Ok(Some(members))
}

/// A DN in a form for comparing: lower-case, without the spaces that may
/// surround `,`, `+` and `=` (`member` values are written by people).
fn dn_key(dn: &str) -> String {
    let mut key = String::with_capacity(dn.len());
    for c in dn.trim().to_lowercase().chars() {
        if matches!(c, ',' | '+' | '=') {
            key.truncate(key.trim_end().len());
        } else if c == ' ' && key.ends_with([',', '+', '=']) {
            continue;
        }
        key.push(c);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::dn_key;

    #[test]
    fn dn_keys_ignore_case_and_spacing() {
        assert_eq!(
            dn_key("uid=Alice, ou=People ,dc=Example,dc=com"),
            dn_key("UID = alice,ou=people,DC=example,dc=com")
        );
        assert_eq!(dn_key("cn=Alice Liddell,dc=x"), "cn=alice liddell,dc=x");
        assert_ne!(dn_key("uid=alice,dc=x"), dn_key("uid=alice2,dc=x"));
    }
}
