//! What a sync changes, worked out without changing anything: the same
//! plan is printed by a dry run and carried out by a real one.
//!
//! Rules: a directory user archimap lacks is created (authentication
//! `directoryServices`, the default privileges); one it has gets the
//! directory's full name, addresses and DN, and holds at least the default
//! privileges while the directory lists it; a `directoryServices` user the
//! directory no longer lists loses `login` (or is only reported). An
//! integrated user is never taken over by a directory entry of the same
//! name, and no user or archive is ever deleted.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::entry::DirectoryUser;
use super::settings::Policy;
use crate::archive::{Authentication, FolderPrivileges, GlobalPrivileges, UserRecord};
use crate::config::GoneUsers;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub dry_run: bool,
    /// Users the directory lists within the filter and groups.
    pub directory_users: usize,
    /// Directory users archimap already had exactly so.
    pub unchanged: usize,
    /// Made, or for a dry run to be made.
    pub changes: Vec<Change>,
    /// Directory entries, or values of them, left out.
    pub skipped: Vec<Problem>,
    /// Changes that could not be made.
    pub failed: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub user: String,
    pub action: Action,
    /// What changes, for people: `full name: "A" -> "B"`.
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    Create,
    Update,
    /// Gone from the directory: `login` taken away.
    RemoveLogin,
    /// Gone from the directory, left as it is.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A user name or a directory entry's DN.
    pub subject: String,
    pub reason: String,
}

/// An archimap user as the plan needs it.
pub struct Local {
    pub user: UserRecord,
    pub own_archive: FolderPrivileges,
}

/// What carrying out one change takes.
pub enum Step {
    Create(DirectoryUser),
    Update {
        name: String,
        identity: Option<DirectoryUser>,
        privileges: Option<GlobalPrivileges>,
        own_archive: Option<FolderPrivileges>,
    },
    Nothing,
}

/// The plan for `directory` (read from it, in its order) against `local`
/// (every archimap user). Problems found on the way go to `report`.
pub fn plan(
    policy: Policy,
    directory: Vec<DirectoryUser>,
    local: &[Local],
    report: &mut SyncReport,
) -> Result<Vec<(Change, Step)>> {
    let by_name: HashMap<&str, &Local> = local.iter().map(|l| (l.user.name.as_str(), l)).collect();
    let mut seen = HashSet::new();
    let mut synced = Vec::new();
    for user in directory {
        match by_name.get(user.name.as_str()) {
            _ if !seen.insert(user.name.clone()) => report.skipped.push(Problem {
                subject: user.distinguished_name,
                reason: format!("another entry has the login name {} already", user.name),
            }),
            Some(l) if l.user.authentication == Authentication::Integrated => {
                report.skipped.push(Problem {
                    subject: user.distinguished_name,
                    reason: format!(
                        "{} is an integrated user of archimap; it is not taken over",
                        user.name
                    ),
                })
            }
            existing => synced.push((user, existing.copied())),
        }
    }
    report.directory_users = seen.len();
    assign_addresses(&mut synced, local, report);

    let mut steps = Vec::new();
    for (user, existing) in synced {
        match existing {
            None => steps.push(create(policy, user)),
            Some(local) => match update(policy, user, local) {
                Some(step) => steps.push(step),
                None => report.unchanged += 1,
            },
        }
    }
    for local in local.iter().filter(|l| {
        l.user.authentication == Authentication::DirectoryServices && !seen.contains(&l.user.name)
    }) {
        steps.push(gone(policy, &local.user));
    }
    let losing = steps
        .iter()
        .filter(|(change, _)| change.action == Action::RemoveLogin)
        .count();
    if seen.is_empty() && losing > 0 {
        return Err(Error::Refused(format!(
            "the directory lists no user at all; not taking login away from {losing} \
             user(s). Check base_dn, user_filter and groups"
        )));
    }
    Ok(steps)
}

/// Leaves out addresses that belong to a user this sync does not update
/// (an integrated user, a user gone from the directory) or that an earlier
/// directory entry claimed.
fn assign_addresses(
    synced: &mut [(DirectoryUser, Option<&Local>)],
    local: &[Local],
    report: &mut SyncReport,
) {
    let updated: HashSet<&str> = synced.iter().map(|(u, _)| u.name.as_str()).collect();
    let mut owners: HashMap<String, String> = local
        .iter()
        .filter(|l| !updated.contains(l.user.name.as_str()))
        .flat_map(|l| {
            l.user
                .emails
                .iter()
                .map(|e| (e.clone(), l.user.name.clone()))
        })
        .collect();
    for (user, _) in synced.iter_mut() {
        user.emails.retain(|address| match owners.get(address) {
            Some(owner) if *owner != user.name => {
                report.skipped.push(Problem {
                    subject: user.name.clone(),
                    reason: format!("address {address} belongs to user {owner}; left out"),
                });
                false
            }
            _ => {
                owners.insert(address.clone(), user.name.clone());
                true
            }
        });
    }
}

fn create(policy: Policy, user: DirectoryUser) -> (Change, Step) {
    let change = Change {
        user: user.name.clone(),
        action: Action::Create,
        details: vec![
            format!("full name: {:?}", user.full_name),
            format!("e-mail addresses: {}", user.emails.join(", ")),
            format!("DN: {}", user.distinguished_name),
            format!("privileges: {}", policy.default_privileges),
            format!("own archive: {}", policy.default_archive_privileges),
        ],
    };
    (change, Step::Create(user))
}

fn update(policy: Policy, user: DirectoryUser, local: &Local) -> Option<(Change, Step)> {
    let old = &local.user;
    let mut details = Vec::new();
    if old.full_name != user.full_name {
        details.push(format!(
            "full name: {:?} -> {:?}",
            old.full_name, user.full_name
        ));
    }
    let mut emails = user.emails.clone();
    emails.sort();
    if old.emails != emails {
        details.push(format!(
            "e-mail addresses: {} -> {}",
            old.emails.join(", "),
            emails.join(", ")
        ));
    }
    let old_dn = old.distinguished_name.as_deref().unwrap_or_default();
    if old_dn != user.distinguished_name {
        details.push(format!("DN: {old_dn} -> {}", user.distinguished_name));
    }
    let identity = (!details.is_empty()).then_some(user);

    let held = GlobalPrivileges::from_bits(old.privileges);
    let privileges = (policy.default_privileges != GlobalPrivileges::NONE
        && !held.has(policy.default_privileges))
    .then(|| GlobalPrivileges::from_bits(held.bits() | policy.default_privileges.bits()));
    if let Some(privileges) = privileges {
        details.push(format!("privileges: {held} -> {privileges}"));
    }
    let wanted = policy.default_archive_privileges;
    let own_archive = (!local.own_archive.contains(wanted))
        .then(|| FolderPrivileges::from_bits(local.own_archive.bits() | wanted.bits()));
    if let Some(own) = own_archive {
        details.push(format!("own archive: {} -> {own}", local.own_archive));
    }
    if details.is_empty() {
        return None;
    }
    let change = Change {
        user: old.name.clone(),
        action: Action::Update,
        details,
    };
    let step = Step::Update {
        name: old.name.clone(),
        identity,
        privileges,
        own_archive,
    };
    Some((change, step))
}

fn gone(policy: Policy, user: &UserRecord) -> (Change, Step) {
    let held = GlobalPrivileges::from_bits(user.privileges);
    let (action, step, detail) = if !held.has(GlobalPrivileges::LOGIN) {
        (Action::Gone, Step::Nothing, "holds no login".to_string())
    } else if policy.gone_users == GoneUsers::Keep {
        (Action::Gone, Step::Nothing, "kept as it is".to_string())
    } else {
        // `admin` implies login, so an administrator keeps nothing.
        let kept = if held == GlobalPrivileges::ADMIN {
            GlobalPrivileges::NONE
        } else {
            GlobalPrivileges::from_bits(held.bits() & !GlobalPrivileges::LOGIN.bits())
        };
        let step = Step::Update {
            name: user.name.clone(),
            identity: None,
            privileges: Some(kept),
            own_archive: None,
        };
        (
            Action::RemoveLogin,
            step,
            format!("privileges: {held} -> {kept}"),
        )
    };
    let change = Change {
        user: user.name.clone(),
        action,
        details: vec!["gone from the directory".into(), detail],
    };
    (change, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DirectoryKind;
    use crate::directory::settings::Settings;

    fn directory_user(name: &str, emails: &[&str]) -> DirectoryUser {
        DirectoryUser {
            name: name.into(),
            full_name: name.to_uppercase(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            distinguished_name: format!("uid={name},dc=example"),
        }
    }

    fn local(user: &DirectoryUser, authentication: Authentication, privileges: &str) -> Local {
        Local {
            user: UserRecord {
                id: 1,
                name: user.name.clone(),
                full_name: user.full_name.clone(),
                authentication,
                password_hash: None,
                distinguished_name: Some(user.distinguished_name.clone()),
                privileges: privileges.parse::<GlobalPrivileges>().unwrap().bits(),
                emails: user.emails.clone(),
            },
            own_archive: FolderPrivileges::READ,
        }
    }

    fn actions(steps: &[(Change, Step)]) -> Vec<(String, Action)> {
        steps
            .iter()
            .map(|(c, _)| (c.user.clone(), c.action))
            .collect()
    }

    #[test]
    fn creates_updates_and_takes_login_from_the_gone() {
        let policy = Settings::for_tests(DirectoryKind::Ldap, "").policy;
        let alice = directory_user("alice", &["alice@example.com"]);
        let mut bob = directory_user("bob", &["bob@example.com"]);
        let dave = directory_user("dave", &[]);
        let erin = directory_user("erin", &[]);
        let locals = [
            local(&bob, Authentication::DirectoryServices, "login"),
            local(&dave, Authentication::DirectoryServices, "login,export"),
            local(&erin, Authentication::DirectoryServices, "admin"),
        ];
        bob.full_name = "Bob Builder".into();
        let mut report = SyncReport::default();
        let steps = plan(policy, vec![alice, bob], &locals, &mut report).unwrap();
        assert_eq!(
            actions(&steps),
            [
                ("alice".into(), Action::Create),
                ("bob".into(), Action::Update),
                ("dave".into(), Action::RemoveLogin),
                ("erin".into(), Action::RemoveLogin),
            ]
        );
        assert_eq!(steps[1].0.details, [r#"full name: "BOB" -> "Bob Builder""#]);
        assert_eq!(steps[2].0.details[1], "privileges: login,export -> export");
        assert_eq!(steps[3].0.details[1], "privileges: admin -> none");
        assert_eq!(report.directory_users, 2);
    }

    #[test]
    fn unchanged_users_and_integrated_namesakes_are_left_alone() {
        let policy = Settings::for_tests(DirectoryKind::Ldap, "gone_users = \"keep\"").policy;
        let bob = directory_user("bob", &["bob@example.com"]);
        let root = directory_user("root", &["root@example.com"]);
        let carol = directory_user("carol", &["carol@example.com"]);
        let locals = [
            local(
                &bob,
                Authentication::DirectoryServices,
                "login,changePassword",
            ),
            local(&root, Authentication::Integrated, "admin"),
            local(&carol, Authentication::DirectoryServices, "login"),
        ];
        let mut report = SyncReport::default();
        let steps = plan(policy, vec![bob, root], &locals, &mut report).unwrap();
        assert_eq!(actions(&steps), [("carol".into(), Action::Gone)]);
        assert_eq!(report.unchanged, 1);
        assert_eq!(report.skipped.len(), 1);
        assert!(report.skipped[0].reason.contains("integrated"));
    }

    #[test]
    fn defaults_are_a_floor_and_addresses_are_never_stolen() {
        let policy = Settings::for_tests(
            DirectoryKind::Ldap,
            "default_privileges = \"login,export\"\ndefault_archive_privileges = \"read,write\"",
        )
        .policy;
        let bob = directory_user("bob", &["bob@example.com", "root@example.com"]);
        let bob2 = directory_user("bob", &[]);
        let root = directory_user("root", &["root@example.com"]);
        let locals = [
            local(&bob, Authentication::DirectoryServices, "login"),
            local(&root, Authentication::Integrated, "admin"),
        ];
        let mut report = SyncReport::default();
        let steps = plan(policy, vec![bob, bob2], &locals, &mut report).unwrap();
        assert_eq!(
            steps[0].0.details,
            [
                "e-mail addresses: bob@example.com, root@example.com -> bob@example.com",
                "privileges: login -> login,export",
                "own archive: read -> read,write",
            ]
        );
        let problems: Vec<&str> = report.skipped.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(
            problems,
            [
                "another entry has the login name bob already",
                "address root@example.com belongs to user root; left out",
            ]
        );
    }

    #[test]
    fn an_empty_answer_takes_no_logins_away() {
        let policy = Settings::for_tests(DirectoryKind::Ldap, "").policy;
        let dave = directory_user("dave", &[]);
        let locals = [local(&dave, Authentication::DirectoryServices, "login")];
        let refused = plan(policy, vec![], &locals, &mut SyncReport::default());
        assert!(matches!(refused, Err(Error::Refused(_))));
    }
}
