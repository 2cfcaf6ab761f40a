//! Running an extractor of untrusted files (third-party PDF and zip
//! parsers) within bounds: a panic costs only that attachment's text, and
//! one that runs past its time budget is abandoned. An abandoned thread
//! cannot be killed; it is left to finish on its own, and after a few of
//! them extraction stops for the rest of the process rather than pile them
//! up.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static ABANDONED: AtomicUsize = AtomicUsize::new(0);
const MAX_ABANDONED: usize = 4;

/// `extract()` on a thread of its own, given at most `budget`.
pub fn bounded<F>(what: &str, budget: Duration, extract: F) -> Option<String>
where
    F: FnOnce() -> Option<String> + Send + 'static,
{
    if ABANDONED.load(Ordering::Relaxed) >= MAX_ABANDONED {
        return None;
    }
    let (done, result) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("extract".into())
        .spawn(move || {
            let text = catch_unwind(AssertUnwindSafe(extract)).ok().flatten();
            let _ = done.send(text);
        })
        .ok()?;
    match result.recv_timeout(budget) {
        Ok(text) => text,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let n = ABANDONED.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                what,
                seconds = budget.as_secs_f64(),
                abandoned = n,
                "attachment text extraction took too long; skipped"
            );
            if n == MAX_ABANDONED {
                tracing::warn!("attachment text extraction is off for the rest of this run");
            }
            None
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_and_time_are_contained() {
        let quick = Duration::from_secs(5);
        assert_eq!(
            bounded("ok", quick, || Some("text".into())),
            Some("text".into())
        );
        assert_eq!(bounded("panic", quick, || panic!("bad file")), None);
    }
}
