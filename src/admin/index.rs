//! `archimap index rebuild | verify`.

use std::process::ExitCode;

use anyhow::Result;

use super::cli::IndexCommand;
use super::progress::Progress;
use crate::archive::Archives;

pub fn run(archives: &Archives, command: IndexCommand) -> Result<ExitCode> {
    match command {
        IndexCommand::Rebuild { store } => {
            let progress = Progress::new("indexing");
            let reports = archives.rebuild_indexes(store.as_deref(), &|done, total| {
                progress.update(done, total, 0)
            })?;
            progress.finish();
            for r in &reports {
                println!(
                    "store {}: {} messages indexed, {} unreadable",
                    r.store, r.added, r.unreadable
                );
            }
            Ok(outcome(reports.iter().all(|r| r.unreadable == 0)))
        }
        IndexCommand::Verify => {
            let reports = archives.verify_indexes()?;
            for r in &reports {
                println!(
                    "store {}: {} messages missing from the index, {} documents of unknown messages, {} repeated",
                    r.store, r.missing, r.extra, r.repeated
                );
            }
            Ok(outcome(reports.iter().all(|r| {
                r.missing == 0 && r.extra == 0 && r.repeated == 0
            })))
        }
    }
}

fn outcome(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
