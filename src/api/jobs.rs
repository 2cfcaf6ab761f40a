//! Long operations (verify, index rebuild, directory sync): each runs on a
//! thread of its own, and callers follow it by token with MailStore's
//! `get-status` long-poll and stop it with `cancel-async`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;
use serde_json::Value;
use tokio::sync::watch;

use super::envelope::{Envelope, ErrorBody, StatusCode};
use crate::error::{Error, Result};

/// How long a finished job's result stays available.
const RETENTION: Duration = Duration::from_secs(10 * 60);

/// The longest a `get-status` call waits for news.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The work of a job; it reports through, and checks for cancellation in,
/// the [`Progress`] it is given.
pub type Work = Box<dyn FnOnce(&Progress) -> Result<Value> + Send>;

#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<HashMap<String, Job>>,
}

struct Job {
    status: watch::Receiver<Envelope>,
    cancel: Arc<AtomicBool>,
    /// When it finished, for retention.
    finished: Arc<Mutex<Option<Instant>>>,
}

/// A running job's side: progress reports and the cancel flag.
pub struct Progress {
    status: watch::Sender<Envelope>,
    cancel: Arc<AtomicBool>,
}

impl Progress {
    /// Reports progress; a report that changes nothing is not one.
    pub fn report(&self, percent: Option<u8>, text: &str) {
        self.status.send_if_modified(|status| {
            if status.percent_progress == percent && status.status_text.as_deref() == Some(text) {
                return false;
            }
            status.percent_progress = percent;
            status.status_text = Some(text.to_string());
            status.status_version += 1;
            true
        });
    }

    /// Reports `done` of `total` as a percentage.
    pub fn report_count(&self, done: u64, total: u64, text: &str) {
        let percent = (done.min(total) * 100).checked_div(total).unwrap_or(0);
        self.report(Some(percent as u8), text);
    }

    /// Set once someone asked the job to stop.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// An error for work to return when it stopped because it was asked to.
    pub fn cancelled(&self) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Error::Refused("cancelled".into()));
        }
        Ok(())
    }
}

impl Jobs {
    /// Starts `work` on its own thread; the answer is its first status,
    /// `running`, with the token to follow it by.
    pub fn start(&self, name: &str, work: Work) -> Result<Envelope> {
        let mut token = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut token);
        let token = hex::encode(token);
        let first = Envelope {
            token: Some(token.clone()),
            status_version: 0,
            status_code: StatusCode::Running,
            ..Envelope::succeeded(Value::Null)
        };
        let (sender, receiver) = watch::channel(first.clone());
        let cancel = Arc::new(AtomicBool::new(false));
        let finished = Arc::new(Mutex::new(None));
        let progress = Progress {
            status: sender,
            cancel: cancel.clone(),
        };
        let finished_at = finished.clone();
        let job_name = name.to_string();
        std::thread::Builder::new()
            .name(format!("api-{name}"))
            .spawn(move || {
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&progress)))
                        .unwrap_or_else(|_| Err(Error::Corrupt(format!("{job_name} panicked"))));
                *finished_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                progress.status.send_modify(|status| {
                    status.status_version += 1;
                    match outcome {
                        Ok(result) => {
                            status.status_code = StatusCode::Succeeded;
                            status.result = result;
                        }
                        Err(error) => {
                            tracing::warn!(job = %job_name, %error, "admin API job failed");
                            status.status_code = StatusCode::Failed;
                            status.error = Some(ErrorBody::from(&error));
                        }
                    }
                });
            })
            .map_err(|e| Error::io("starting a job thread", e))?;
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.retain(|_, job| {
            job.finished
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none_or(|at| at.elapsed() < RETENTION)
        });
        jobs.insert(
            token,
            Job {
                status: receiver,
                cancel,
                finished,
            },
        );
        Ok(first)
    }

    /// The job's status once its version is past `last_known`, or as it is
    /// when `wait` runs out (at once without a `last_known`).
    pub async fn status(
        &self,
        token: &str,
        last_known: Option<u64>,
        wait: Duration,
    ) -> Result<Envelope> {
        let mut status = self.receiver(token)?;
        if let Some(last_known) = last_known {
            let _ = tokio::time::timeout(
                wait.min(MAX_WAIT),
                status.wait_for(|s| s.status_version > last_known),
            )
            .await;
        }
        let current = status.borrow().clone();
        Ok(current)
    }

    /// Asks the job to stop; it ends `failed` with the error `cancelled`
    /// when it next checks (a job that already ended stays as it ended).
    pub fn cancel(&self, token: &str) -> Result<Envelope> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let job = jobs.get(token).ok_or_else(|| unknown(token))?;
        job.cancel.store(true, Ordering::Relaxed);
        let current = job.status.borrow().clone();
        Ok(current)
    }

    fn receiver(&self, token: &str) -> Result<watch::Receiver<Envelope>> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        Ok(jobs
            .get(token)
            .ok_or_else(|| unknown(token))?
            .status
            .clone())
    }
}

fn unknown(token: &str) -> Error {
    Error::NotFound(format!(
        "job {token:?} (unknown, or finished more than {} minutes ago)",
        RETENTION.as_secs() / 60
    ))
}
