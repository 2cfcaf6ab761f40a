//! `archimap directory sync`: the library's SyncUsersWithDirectoryServices,
//! printed one change per line.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::cli::DirectoryCommand;
use crate::archive::Archives;
use crate::config::Config;
use crate::directory::{self, Action, Directory};

pub fn run(config: &Config, archives: Archives, command: DirectoryCommand) -> Result<ExitCode> {
    let DirectoryCommand::Sync { dry_run } = command;
    let directory = Directory::effective(config, &archives)?.context(
        "directory services are not configured (neither a [directory] section nor set through the admin API)",
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime
        .block_on(directory::sync_users(
            Arc::new(archives),
            &directory,
            dry_run,
        ))
        .context("synchronising users with the directory")?;
    if dry_run {
        println!("dry run: nothing is changed");
    }
    for change in &report.changes {
        let verb = match change.action {
            Action::Create => "create",
            Action::Update => "update",
            Action::RemoveLogin => "remove login",
            Action::Gone => "gone",
        };
        println!("{verb} {}: {}", change.user, change.details.join("; "));
    }
    for problem in &report.skipped {
        println!("skipped {}: {}", problem.subject, problem.reason);
    }
    for problem in &report.failed {
        println!("failed {}: {}", problem.subject, problem.reason);
    }
    let count = |action| report.changes.iter().filter(|c| c.action == action).count();
    println!(
        "directory users {}: created {}, updated {}, unchanged {}, lost login {}, gone {}, \
         skipped {}, failed {}",
        report.directory_users,
        count(Action::Create),
        count(Action::Update),
        report.unchanged,
        count(Action::RemoveLogin),
        count(Action::Gone),
        report.skipped.len(),
        report.failed.len()
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
