//! The full-text indexes catch up with the catalog while the server runs:
//! at the start, and then whenever they differ (an import elsewhere that
//! crashed before indexing); until then searches check what the index
//! lacks themselves.

use std::sync::Arc;
use std::time::Duration;

use crate::archive::Archives;

/// How often each full-text index is compared with the catalog.
const EVERY: Duration = Duration::from_secs(5);

pub fn job(archives: Arc<Archives>) -> impl FnOnce() + Send + 'static {
    move || {
        if let Err(error) = archives.reconcile_indexes() {
            tracing::error!(%error, "reconciling the full-text indexes failed");
        }
        loop {
            std::thread::sleep(EVERY);
            if let Err(error) = archives.catch_up_indexes() {
                tracing::error!(%error, "catching up the full-text indexes failed");
            }
        }
    }
}
