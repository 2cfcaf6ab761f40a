//! The SMTP journal receiver's counts, stored every few seconds (and when
//! the server stops), not in every delivery's transaction: a crash loses
//! at most the counts of those seconds, never a message.

use std::sync::Arc;
use std::time::Duration;

use crate::archive::Archives;

const EVERY: Duration = Duration::from_secs(5);

pub fn job(archives: Arc<Archives>) -> impl FnOnce() + Send + 'static {
    move || {
        loop {
            std::thread::sleep(EVERY);
            if let Err(e) = archives.store_journal_counts() {
                tracing::warn!(error = %e, "storing the journal counts failed; trying again later");
            }
        }
    }
}
