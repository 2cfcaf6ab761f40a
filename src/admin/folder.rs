//! `archimap folder move | prune` and `archimap message list | delete`:
//! an administrator's changes to any archive's folders and messages.

use anyhow::Result;
use chrono::DateTime;

use super::cli::{FolderCommand, MessageCommand};
use crate::archive::{Archives, FolderName};

pub(super) fn run(archives: &Archives, command: FolderCommand) -> Result<()> {
    match command {
        FolderCommand::Move { from, to } => {
            archives.move_folder(&from.parse()?, &to.parse()?)?;
            println!("moved {from} to {to}");
        }
        FolderCommand::Prune { folder } => {
            let under = folder
                .as_deref()
                .map(str::parse::<FolderName>)
                .transpose()?;
            let removed = archives.delete_empty_folders(under.as_ref())?;
            for name in &removed {
                println!("deleted {name}");
            }
            println!("{} empty folder(s) deleted", removed.len());
        }
    }
    Ok(())
}

pub(super) fn messages(archives: &Archives, command: MessageCommand) -> Result<()> {
    match command {
        MessageCommand::List { folder } => {
            for message in archives.list_messages(&folder.parse()?)? {
                let date = DateTime::from_timestamp(message.internal_date, 0)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                let subject = message.summary.as_ref().and_then(|s| s.subject.clone());
                println!(
                    "{}\t{date}\t{}\t{}",
                    message.id,
                    message.from_text().unwrap_or_default(),
                    subject.unwrap_or_default()
                );
            }
        }
        MessageCommand::Delete { id, reason } => {
            let folder = archives.delete_message(id.parse()?, &reason)?;
            println!("deleted message {id} from {folder}");
        }
    }
    Ok(())
}
