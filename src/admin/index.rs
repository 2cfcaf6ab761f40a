//! `archimap index rebuild | verify | list`.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Result;

use super::cli::IndexCommand;
use super::progress::Progress;
use crate::archive::{Archives, IndexReport};

pub fn run(archives: &Archives, command: IndexCommand) -> Result<ExitCode> {
    // The command line runs to the end (or until killed).
    let never = AtomicBool::new(false);
    match command {
        IndexCommand::Rebuild { store, folder } => {
            let progress = Progress::new("indexing");
            let update = |done, total| progress.update(done, total, 0);
            let reports = match (store, folder) {
                (Some(store), Some(folder)) => {
                    let rebuild = archives.index_rebuild(&store, Some(&folder))?;
                    vec![archives.rebuild_store_index(&rebuild, &never, &update)?]
                }
                (store, _) => archives.rebuild_indexes(store.as_deref(), &never, &update)?,
            };
            progress.finish();
            for r in &reports {
                println!(
                    "store {}: {} messages indexed, {} unreadable, {}",
                    r.store, r.added, r.unreadable, r.not_extracted
                );
            }
            Ok(outcome(reports.iter().all(|r| r.unreadable == 0)))
        }
        IndexCommand::Verify { store } => {
            let reports = archives.verify_indexes(store.as_deref(), &never)?;
            print_verified(&reports);
            Ok(outcome(
                reports.iter().all(|r| r.extra == 0 && r.repeated == 0),
            ))
        }
        IndexCommand::List { store } => {
            for index in archives.index_info(store.as_deref())? {
                println!(
                    "store {}: {} documents, {} messages, {} bytes, {}{}",
                    index.store,
                    index
                        .documents
                        .map_or_else(|| "(disabled)".to_string(), |d| d.to_string()),
                    index.messages,
                    index
                        .size
                        .map_or_else(|| "?".to_string(), |s| s.to_string()),
                    index.path.display(),
                    index
                        .not_extracted
                        .map(|n| format!(", {n}"))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One line per index compared with the catalog.
pub(super) fn print_verified(reports: &[IndexReport]) {
    for r in reports {
        println!(
            "store {}: {} messages pending (not indexed yet; searches read them, and the server or the next import indexes them), {} documents of unknown messages, {} repeated, {}",
            r.store, r.pending, r.extra, r.repeated, r.not_extracted
        );
    }
}

fn outcome(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
