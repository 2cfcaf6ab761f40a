//! `archimap journal status`.

use anyhow::Result;

use super::cli::JournalCommand;
use crate::archive::Archives;

pub(super) fn run(archives: &Archives, command: JournalCommand) -> Result<()> {
    match command {
        JournalCommand::Status => {
            let counts = archives.journal_status()?;
            let last = counts
                .last_filed
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map_or("never".to_string(), |t| t.to_rfc3339());
            println!("messages filed:        {}", counts.filed);
            println!("places filed in:       {}", counts.places);
            println!("already there (retry): {}", counts.again);
            println!("to the catch-all:      {}", counts.catch_all);
            println!("refused (no archive):  {}", counts.refused);
            println!("failed (MTA retries):  {}", counts.failed);
            println!("last filed:            {last}");
        }
    }
    Ok(())
}
