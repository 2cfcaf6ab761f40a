//! Search filters (RFC 4515) from the configuration and from what clients
//! type. Every value from outside is escaped, so that a login name such as
//! `*)(uid=*` stays one literal value and cannot add a clause.

use super::settings::Settings;
use crate::config::{DirectoryKind, GroupMembership};

/// Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: members of nested
/// groups count as members.
const IN_CHAIN: &str = ":1.2.840.113556.1.4.1941:";

/// `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`.
pub fn escape(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}

/// Every user entry.
pub fn users(settings: &Settings) -> String {
    all_of(settings, None)
}

/// The entry whose login attribute is `login`.
pub fn user(settings: &Settings, login: &str) -> String {
    let clause = format!("({}={})", settings.login_attribute, escape(login));
    all_of(settings, Some(clause))
}

fn all_of(settings: &Settings, clause: Option<String>) -> String {
    let mut clauses = vec![settings.user_filter.clone()];
    clauses.extend(member_of(settings));
    clauses.extend(clause);
    match clauses.as_slice() {
        [only] => only.clone(),
        _ => format!("(&{})", clauses.concat()),
    }
}

/// The group restriction when user entries carry it (`memberOf`); with
/// `member` it is read from the groups instead (see `query`).
fn member_of(settings: &Settings) -> Option<String> {
    if settings.groups.is_empty() || settings.membership != GroupMembership::MemberOf {
        return None;
    }
    let rule = match settings.kind {
        DirectoryKind::ActiveDirectory => IN_CHAIN,
        DirectoryKind::Ldap => "",
    };
    let any: String = settings
        .groups
        .iter()
        .map(|group| format!("(memberOf{rule}={})", escape(group)))
        .collect();
    Some(match settings.groups.len() {
        1 => any,
        _ => format!("(|{any})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names_cannot_add_clauses() {
        let settings = Settings::for_tests(DirectoryKind::Ldap, "");
        assert_eq!(
            user(&settings, "alice"),
            "(&(objectClass=inetOrgPerson)(uid=alice))"
        );
        for (login, escaped) in [
            ("*)(uid=*", r"\2a\29\28uid=\2a"),
            ("alice)(|(uid=*", r"alice\29\28|\28uid=\2a"),
            ("a\\29b\0", r"a\5c29b\00"),
            ("*", r"\2a"),
        ] {
            let filter = user(&settings, login);
            assert_eq!(
                filter,
                format!("(&(objectClass=inetOrgPerson)(uid={escaped}))")
            );
            assert!(ldap3::parse_filter(&filter).is_ok(), "{filter}");
        }
    }

    #[test]
    fn group_restrictions_by_kind() {
        let groups = r#"groups = ["cn=Archive (all),ou=Groups,dc=example", "cn=Audit,dc=example"]"#;
        let ad = Settings::for_tests(DirectoryKind::ActiveDirectory, groups);
        assert_eq!(
            users(&ad),
            "(&(&(objectCategory=person)(objectClass=user)\
             (!(userAccountControl:1.2.840.113556.1.4.803:=2)))\
             (|(memberOf:1.2.840.113556.1.4.1941:=cn=Archive \\28all\\29,ou=Groups,dc=example)\
             (memberOf:1.2.840.113556.1.4.1941:=cn=Audit,dc=example)))"
        );
        // OpenLDAP reads `member` from the groups by default: no clause.
        let ldap = Settings::for_tests(DirectoryKind::Ldap, groups);
        assert_eq!(users(&ldap), "(objectClass=inetOrgPerson)");
        let ldap = Settings::for_tests(
            DirectoryKind::Ldap,
            "groups = [\"cn=Audit,dc=example\"]\ngroup_membership = \"memberOf\"\n\
             user_filter = \"objectClass=person\"",
        );
        assert_eq!(
            user(&ldap, "bob"),
            "(&(objectClass=person)(memberOf=cn=Audit,dc=example)(uid=bob))"
        );
    }
}
