//! SyncUsersWithDirectoryServices: read the directory's users, plan what
//! changes (see `plan`), and unless it is a dry run, make the changes.

use std::sync::Arc;

use super::Directory;
use super::connection::Connection;
use super::entry::{self, DirectoryUser};
use super::plan::{self, Local, Problem, Step, SyncReport};
use super::settings::Policy;
use super::{filter, query};
use crate::archive::{Archives, Authentication, FolderPrivileges, NewUserRequest};
use crate::error::{Error, Result};

/// Synchronises archimap's users with the directory. A dry run reports
/// the plan and changes nothing. Failed changes are reported, not fatal;
/// an unreachable directory is an error.
pub async fn sync_users(
    archives: Arc<Archives>,
    directory: &Directory,
    dry_run: bool,
) -> Result<SyncReport> {
    let mut report = SyncReport {
        dry_run,
        ..SyncReport::default()
    };
    let users = directory_users(directory, &mut report.skipped).await?;
    let policy = directory.settings.policy;
    tokio::task::spawn_blocking(move || {
        let steps = plan::plan(policy, users, &locals(&archives)?, &mut report)?;
        if dry_run {
            report.changes = steps.into_iter().map(|(change, _)| change).collect();
        } else {
            carry_out(&archives, policy, steps, &mut report);
        }
        tracing::info!(
            dry_run,
            directory_users = report.directory_users,
            changes = report.changes.len(),
            failed = report.failed.len(),
            "directory sync done"
        );
        Ok(report)
    })
    .await
    .map_err(|e| Error::Unavailable(format!("the directory sync panicked: {e}")))?
}

/// The users the directory lists within the filter and groups; entries
/// that cannot be users, and dropped addresses, go to `skipped`.
async fn directory_users(
    directory: &Directory,
    skipped: &mut Vec<Problem>,
) -> Result<Vec<DirectoryUser>> {
    let settings = &directory.settings;
    let mut connection = Connection::open(settings).await?;
    let entries = query::user_entries(
        &mut connection,
        settings,
        &filter::users(settings),
        &entry::attributes(settings),
    )
    .await?;
    connection.close().await;
    let mut users = Vec::with_capacity(entries.len());
    for found in &entries {
        match entry::read(found, settings) {
            Ok((user, notes)) => {
                skipped.extend(notes.into_iter().map(|reason| Problem {
                    subject: user.name.clone(),
                    reason,
                }));
                users.push(user);
            }
            Err(reason) => skipped.push(Problem {
                subject: found.dn.clone(),
                reason,
            }),
        }
    }
    Ok(users)
}

/// Every user, with the privileges of directory users on their own archive.
fn locals(archives: &Archives) -> Result<Vec<Local>> {
    archives
        .users()?
        .into_iter()
        .map(|user| {
            let own_archive = match user.authentication {
                Authentication::DirectoryServices => {
                    archives.folder_privileges(&user, &user.name)?
                }
                Authentication::Integrated => FolderPrivileges::NONE,
            };
            Ok(Local { user, own_archive })
        })
        .collect()
}

/// Makes the changes. One that fails because an address still belongs to
/// another directory user is tried again after the others (that user may
/// be giving it up in this same sync).
fn carry_out(
    archives: &Archives,
    policy: Policy,
    steps: Vec<(plan::Change, Step)>,
    report: &mut SyncReport,
) {
    let mut pending = steps;
    for last_try in [false, true] {
        let mut again = Vec::new();
        for (change, step) in pending {
            match apply(archives, policy, &step) {
                Ok(()) => report.changes.push(change),
                Err(Error::AlreadyExists(_)) if !last_try => again.push((change, step)),
                Err(e) => report.failed.push(Problem {
                    subject: change.user,
                    reason: e.to_string(),
                }),
            }
        }
        pending = again;
    }
}

fn apply(archives: &Archives, policy: Policy, step: &Step) -> Result<()> {
    match step {
        Step::Create(user) => {
            archives.add_user(NewUserRequest {
                name: user.name.clone(),
                full_name: user.full_name.clone(),
                emails: user.emails.clone(),
                authentication: Authentication::DirectoryServices,
                password: None,
                distinguished_name: Some(user.distinguished_name.clone()),
                privileges: policy.default_privileges,
            })?;
            // A new user holds read on their archive; the policy may say otherwise.
            if policy.default_archive_privileges != FolderPrivileges::READ {
                archives.grant(&user.name, &user.name, policy.default_archive_privileges)?;
            }
        }
        Step::Update {
            name,
            identity,
            privileges,
            own_archive,
        } => {
            if let Some(user) = identity {
                archives.set_identity(
                    name,
                    &user.full_name,
                    &user.emails,
                    Some(&user.distinguished_name),
                )?;
            }
            if let Some(privileges) = privileges {
                archives.set_privileges(name, *privileges)?;
            }
            if let Some(own) = own_archive {
                archives.grant(name, name, *own)?;
            }
        }
        Step::Nothing => {}
    }
    Ok(())
}
