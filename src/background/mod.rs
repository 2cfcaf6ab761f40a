//! Work the server does on its own, beside the sessions it serves: today
//! keeping the full-text indexes caught up with the catalog, storing the
//! journal receiver's counts and returning freed memory; the archiving
//! schedules and runs are to live here too. Each job runs on its own
//! thread, so a slow one never holds up a session.

mod index_catch_up;
mod journal_counts;
mod memory_return;

pub use memory_return::limit_arenas;

use std::sync::Arc;

use crate::archive::Archives;
use crate::error::{Error, Result};

/// Starts every background job of a running server.
pub fn start(archives: &Arc<Archives>) -> Result<()> {
    spawn("index-catch-up", index_catch_up::job(archives.clone()))?;
    spawn("journal-counts", journal_counts::job(archives.clone()))?;
    spawn("memory-return", memory_return::job())
}

fn spawn(name: &str, job: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(job)
        .map(|_| ())
        .map_err(|e| Error::io(format!("starting the background job {name}"), e))
}
