//! `archimap import`: mbox, .eml files and trees, and Maildir, into a
//! user's archive.
//!
//! The pipeline: [`Plan`] lists every message and its folder (checking the
//! input first, so bad input changes nothing); chunks of the plan are read,
//! hashed, compressed, summarised and read for the full-text index on all
//! cores; a writer thread files each chunk as one atomic batch (and hands
//! the new messages to the index). Re-running an import skips what is
//! already there, so an import killed at any moment is finished by running
//! it again.

mod maildir;
pub(crate) mod mbox;
pub(crate) mod plan;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use rayon::prelude::*;

pub use mbox::MboxFormat;
pub use plan::Plan;
use plan::{Job, Source};

use serde_json::json;

use crate::archive::flags::FlagState;
use crate::archive::{
    Archives, AuditAction, AuditRecord, Authentication, FilingOutcome, FolderPath,
    GlobalPrivileges, NewUserRequest, PreparedMessage, arrival_date, folder_target,
};
use crate::config::ImportConfig;
use crate::error::{Error, Result};

/// How one import behaves.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Archive store to write to; the current one when `None`.
    pub store: Option<String>,
    pub mbox_format: MboxFormat,
    pub tuning: ImportConfig,
    pub max_message_size: u64,
}

/// A message that could not be archived, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: u64,
    pub duplicates: u64,
    /// Imported verbatim although they could not be parsed.
    pub unparsed: u64,
    pub failed: Vec<Failure>,
    /// Files left alone because they are not mail.
    pub skipped: Vec<Failure>,
    pub bytes: u64,
    pub seconds: f64,
}

impl ImportReport {
    fn absorb(&mut self, other: ImportReport) {
        self.imported += other.imported;
        self.duplicates += other.duplicates;
        self.unparsed += other.unparsed;
        self.failed.extend(other.failed);
        self.skipped.extend(other.skipped);
        self.bytes += other.bytes;
        self.seconds += other.seconds;
    }
}

/// Called after each batch with the messages processed so far, the
/// messages planned in all, and the bytes processed so far.
pub type Progress<'a> = &'a (dyn Fn(u64, u64, u64) + Sync);

/// Imports `plan` into `user`'s archive.
pub fn run(
    archives: &Archives,
    user: &str,
    plan: Plan,
    options: &ImportOptions,
    progress: Progress,
) -> Result<ImportReport> {
    let started = Instant::now();
    let mut report = ImportReport {
        skipped: plan
            .skipped
            .into_iter()
            .map(|(path, reason)| Failure {
                source: path.display().to_string(),
                reason,
            })
            .collect(),
        ..ImportReport::default()
    };
    let mut filer = archives.filer(user, options.store.as_deref())?;
    let archive = filer
        .user()
        .expect("an import files for a user")
        .name
        .clone();
    let mut folders: HashMap<FolderPath, i64> = HashMap::new();
    let tuning = &options.tuning;
    let total = plan.jobs.len() as u64;
    let run = RunRecords::new(archives, &archive, &plan.sources)?;

    let outcome = std::thread::scope(|scope| -> Result<()> {
        let (to_writer, from_reader) = sync_channel::<Vec<Prepared>>(1);
        let run = &run;
        let writer = scope.spawn(move || -> Result<(u64, u64, u64)> {
            let (mut imported, mut duplicates, mut unparsed) = (0, 0, 0);
            for batch in from_reader {
                let (messages, filed): (Vec<PreparedMessage>, Vec<Filed>) = batch
                    .into_iter()
                    .map(|p| {
                        let filed = Filed {
                            folder: p.folder,
                            unparsed: p.unparsed,
                            sha256: p.message.sha256,
                            source: p.source,
                        };
                        (p.message, filed)
                    })
                    .unzip();
                let records = |outcomes: &[FilingOutcome]| run.records(&filed, outcomes);
                let outcomes = filer.file(messages, &records)?;
                for (outcome, filed) in outcomes.into_iter().zip(filed) {
                    match outcome {
                        FilingOutcome::Added { .. } => {
                            imported += 1;
                            unparsed += u64::from(filed.unparsed);
                        }
                        FilingOutcome::Duplicate => duplicates += 1,
                    }
                }
            }
            filer.finish()?;
            Ok((imported, duplicates, unparsed))
        });

        let (mut done, mut bytes) = (0u64, 0u64);
        let mut rest: &[Job] = &plan.jobs;
        while !rest.is_empty() {
            let chunk = take_chunk(&mut rest, tuning);
            for job in chunk {
                if !folders.contains_key(&job.folder) {
                    let id = archives.ensure_folder(&archive, &job.folder)?.id;
                    folders.insert(job.folder.clone(), id);
                }
            }
            let prepared: Vec<Result<Prepared, Failure>> = chunk
                .par_iter()
                .map(|job| {
                    let (message, unparsed) =
                        prepare(archives, job, folders[&job.folder], options)?;
                    Ok(Prepared {
                        message,
                        unparsed,
                        folder: job.folder.clone(),
                        source: job.describe(),
                    })
                })
                .collect();
            let mut batch = Vec::with_capacity(prepared.len());
            for item in prepared {
                match item {
                    Ok(message) => batch.push(message),
                    Err(failure) => {
                        tracing::warn!(source = %failure.source, reason = %failure.reason, "message not imported");
                        report.failed.push(failure);
                    }
                }
            }
            done += chunk.len() as u64;
            bytes += chunk.iter().map(Job::size).sum::<u64>();
            if to_writer.send(batch).is_err() {
                break; // the writer stopped on an error, which join returns
            }
            progress(done, total, bytes);
        }
        drop(to_writer);
        let (imported, duplicates, unparsed) = writer
            .join()
            .map_err(|_| Error::Corrupt("the import writer panicked".into()))??;
        report.imported = imported;
        report.duplicates = duplicates;
        report.unparsed = unparsed;
        report.bytes = bytes;
        Ok(())
    });
    report.seconds = started.elapsed().as_secs_f64();
    outcome.map(|()| report)
}

/// A message ready for the writer thread, with what its audit record
/// counts.
struct Prepared {
    message: PreparedMessage,
    /// It could not be parsed (it is archived all the same).
    unparsed: bool,
    folder: FolderPath,
    /// The file (and place in it) the message came from.
    source: String,
}

/// What the audit records say of one message handed to the writer.
struct Filed {
    folder: FolderPath,
    unparsed: bool,
    sha256: crate::store::Sha256,
    source: String,
}

/// The audit records of one import run: one per folder per committed
/// batch, in the batch's transaction, with the counts and the source;
/// and, when the compliance settings ask for it (read as the run starts),
/// one per message filed.
struct RunRecords<'a> {
    archives: &'a Archives,
    archive: &'a str,
    /// The files and directories imported.
    source: Vec<String>,
    /// Tells the records of one run from those of another.
    run: String,
    per_message: bool,
}

impl<'a> RunRecords<'a> {
    fn new(
        archives: &'a Archives,
        archive: &'a str,
        sources: &[PathBuf],
    ) -> Result<RunRecords<'a>> {
        use rand::Rng;
        Ok(RunRecords {
            archives,
            archive,
            source: sources.iter().map(|p| p.display().to_string()).collect(),
            run: format!("{:016x}", rand::thread_rng().r#gen::<u64>()),
            per_message: archives.compliance_settings()?.audit_message_archiving,
        })
    }

    /// The records of a batch whose messages were `filed` with `outcomes`.
    fn records(&self, filed: &[Filed], outcomes: &[FilingOutcome]) -> Vec<AuditRecord> {
        let mut records = self.counted(filed, outcomes);
        if self.per_message {
            records.extend(filed.iter().zip(outcomes).filter_map(|(filed, outcome)| {
                let FilingOutcome::Added { uid } = outcome else {
                    return None;
                };
                Some(self.archives.change_record(
                    AuditAction::MessageArchived,
                    folder_target(self.archive, filed.folder.as_str()),
                    json!({
                        "run": self.run,
                        "uid": uid,
                        "sha256": hex::encode(filed.sha256),
                        "source": filed.source,
                        "unparsed": filed.unparsed,
                    }),
                ))
            }));
        }
        records
    }

    /// One record per folder of the batch: what it took, counted.
    fn counted(&self, filed: &[Filed], outcomes: &[FilingOutcome]) -> Vec<AuditRecord> {
        // (imported, duplicates, unparsed) per folder, in first-seen order.
        let mut counts: Vec<(&FolderPath, [u64; 3])> = Vec::new();
        for (
            Filed {
                folder, unparsed, ..
            },
            outcome,
        ) in filed.iter().zip(outcomes)
        {
            let index = match counts.iter().position(|(f, _)| *f == folder) {
                Some(index) => index,
                None => {
                    counts.push((folder, [0; 3]));
                    counts.len() - 1
                }
            };
            let count = &mut counts[index].1;
            match outcome {
                FilingOutcome::Added { .. } => {
                    count[0] += 1;
                    count[2] += u64::from(*unparsed);
                }
                FilingOutcome::Duplicate => count[1] += 1,
            }
        }
        counts
            .into_iter()
            .map(|(folder, [imported, duplicates, unparsed])| {
                self.archives.change_record(
                    AuditAction::MessagesImported,
                    folder_target(self.archive, folder.as_str()),
                    json!({
                        "source": self.source,
                        "run": self.run,
                        "imported": imported,
                        "duplicates": duplicates,
                        "unparsed": unparsed,
                    }),
                )
            })
            .collect()
    }
}

/// The next chunk: at most `batch_messages` messages and about `batch_bytes`.
fn take_chunk<'a>(rest: &mut &'a [Job], tuning: &ImportConfig) -> &'a [Job] {
    let mut bytes = 0u64;
    let mut n = 0;
    while n < rest.len()
        && n < tuning.batch_messages.max(1)
        && (n == 0 || bytes < tuning.batch_bytes as u64)
    {
        bytes += rest[n].size();
        n += 1;
    }
    let (chunk, tail) = rest.split_at(n);
    *rest = tail;
    chunk
}

/// Reads, hashes and (when new) compresses and summarises one message.
/// The `bool` says the message could not be parsed.
fn prepare(
    archives: &Archives,
    job: &Job,
    folder_id: i64,
    options: &ImportOptions,
) -> Result<(PreparedMessage, bool), Failure> {
    let fail = |reason: String| Failure {
        source: job.describe(),
        reason,
    };
    if job.size() > options.max_message_size {
        return Err(fail(format!(
            "{} bytes is more than the configured limit of {} (limits.max_message_size)",
            job.size(),
            options.max_message_size
        )));
    }
    let (bytes, flags, delivered, modified): (Cow<[u8]>, u32, Option<i64>, Option<i64>) =
        match &job.source {
            Source::File {
                path,
                flags,
                delivered,
                ..
            } => {
                let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
                (Cow::Owned(bytes), *flags, *delivered, modified_time(path))
            }
            Source::Mbox { mbox: file, entry } => (
                mbox::unquote(&file.data[entry.range.clone()], file.format),
                0,
                entry.delivered,
                None,
            ),
        };
    let internal_date = delivered
        .or_else(|| arrival_date(&bytes))
        .or(modified)
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    archives
        .prepare_message(
            &bytes,
            folder_id,
            internal_date,
            FlagState {
                bits: flags,
                keywords: Vec::new(),
            },
            options.tuning.compression_level,
        )
        .map_err(|e| fail(e.to_string()))
}

fn modified_time(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(chrono::DateTime::<chrono::Utc>::from(modified).timestamp())
}

/// Imports `ROOT/<user>/...` for every user directory under `root`. Every
/// user must exist unless `create_users`, which creates them with the
/// default privileges and no usable password (set one with `user passwd`).
pub fn run_bulk(
    archives: &Archives,
    root: &Path,
    create_users: bool,
    options: &ImportOptions,
    progress: Progress,
) -> Result<ImportReport> {
    let mut plans: Vec<(String, Plan)> = Vec::new();
    let entries =
        std::fs::read_dir(root).map_err(|e| Error::io(format!("listing {}", root.display()), e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(Error::Invalid(format!(
            "{} holds no user directories",
            root.display()
        )));
    }
    for dir in &dirs {
        let user = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if archives
            .users()?
            .iter()
            .all(|u| !u.name.eq_ignore_ascii_case(&user))
            && !create_users
        {
            return Err(Error::Invalid(format!(
                "user {user} not found (for {}); use --create-users to create it",
                dir.display()
            )));
        }
        plans.push((
            user,
            Plan::of_paths(std::slice::from_ref(dir), None, options.mbox_format)?,
        ));
    }
    let total_messages: u64 = plans.iter().map(|(_, p)| p.jobs.len() as u64).sum();
    tracing::info!(
        users = plans.len(),
        messages = total_messages,
        "bulk import planned"
    );
    let mut report = ImportReport::default();
    let (mut done, mut bytes) = (0u64, 0u64);
    for (user, plan) in plans {
        let jobs = plan.jobs.len() as u64;
        if archives
            .users()?
            .iter()
            .all(|u| !u.name.eq_ignore_ascii_case(&user))
        {
            archives.add_user(NewUserRequest {
                name: user.clone(),
                full_name: String::new(),
                emails: Vec::new(),
                authentication: Authentication::Integrated,
                password: Some(random_password()),
                distinguished_name: None,
                privileges: GlobalPrivileges::DEFAULT,
            })?;
            tracing::info!(%user, "user created by bulk import; set a password with `archimap user passwd`");
        }
        let one = run(archives, &user, plan, options, &|d, _, b| {
            progress(done + d, total_messages, bytes + b)
        })?;
        done += jobs;
        bytes += one.bytes;
        report.absorb(one);
    }
    Ok(report)
}

/// A password nobody knows, for users created by a bulk import.
fn random_password() -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}
