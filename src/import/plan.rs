//! Turning the paths given to `archimap import` into a list of messages,
//! each with its target folder. Everything that can be checked before a
//! single message is written is checked here, so bad input changes nothing.
//!
//! Layout rules, where no `--folder` is given:
//! * a directory's sub-directories become folders of the same name;
//! * `.eml` files (and other files that look like one message) go to the
//!   folder of their directory, or to `Inbox` at the top level;
//! * an mbox file (`.mbox`, `.mbx`, or any file starting with `From `)
//!   becomes a folder named after the file, without its extension;
//! * a Maildir (`cur/` and `new/`) is one folder, its Maildir++ `.A.B`
//!   sub-directories become `A/B` beneath it.
//!
//! With `--folder F`, everything lands beneath `F` instead, and a single
//! mbox or .eml file lands in `F` itself.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::maildir;
use super::mbox::{self, MboxEntry, MboxFormat};
use crate::archive::FolderPath;
use crate::error::{Error, Result};

const DEFAULT_FOLDER: &str = "Inbox";

/// A mapped mbox file.
pub struct Mbox {
    pub path: PathBuf,
    pub data: Mmap,
    pub format: MboxFormat,
}

pub enum Source {
    File {
        path: PathBuf,
        size: u64,
        flags: u32,
        delivered: Option<i64>,
    },
    Mbox {
        mbox: Arc<Mbox>,
        entry: MboxEntry,
    },
}

pub struct Job {
    pub folder: FolderPath,
    pub source: Source,
}

impl Job {
    pub fn size(&self) -> u64 {
        match &self.source {
            Source::File { size, .. } => *size,
            Source::Mbox { entry, .. } => entry.range.len() as u64,
        }
    }

    /// Where the message came from, for reports.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::File { path, .. } => path.display().to_string(),
            Source::Mbox { mbox, entry } => format!(
                "{} (bytes {}..{})",
                mbox.path.display(),
                entry.range.start,
                entry.range.end
            ),
        }
    }
}

#[derive(Default)]
pub struct Plan {
    /// What was asked for (files and directories), for the audit log.
    pub sources: Vec<PathBuf>,
    pub jobs: Vec<Job>,
    /// Files that are not mail, with the reason they were left alone.
    pub skipped: Vec<(PathBuf, String)>,
}

enum FileKind {
    Message,
    Mbox,
    NotMail(&'static str),
}

fn io_error(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> Error {
    let context = format!("{what} {}", path.display());
    move |e| Error::io(context, e)
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn classify(path: &Path) -> Result<FileKind> {
    match extension(path).as_deref() {
        Some("eml") => return Ok(FileKind::Message),
        Some("mbox" | "mbx") => return Ok(FileKind::Mbox),
        Some("msf") => return Ok(FileKind::NotMail("a Thunderbird index (.msf)")),
        _ => {}
    }
    let mut head = [0u8; 512];
    let mut file = File::open(path).map_err(io_error(path, "opening"))?;
    let n = file.read(&mut head).map_err(io_error(path, "reading"))?;
    let head = &head[..n];
    if head.starts_with(b"From ") {
        return Ok(FileKind::Mbox);
    }
    // One message starts with a header field: a name, then a colon.
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let looks_like_header = first_line
        .iter()
        .position(|&b| b == b':')
        .is_some_and(|colon| {
            colon > 0 && first_line[..colon].iter().all(|&b| b.is_ascii_graphic())
        });
    Ok(if looks_like_header {
        FileKind::Message
    } else {
        FileKind::NotMail("neither a message nor an mbox file")
    })
}

fn regular_file(path: &Path) -> Result<fs::Metadata> {
    let meta = fs::metadata(path).map_err(io_error(path, "reading"))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(meta)
}

impl Plan {
    /// Plans the import of `paths`, each file or directory, into `folder`.
    pub fn of_paths(
        paths: &[PathBuf],
        folder: Option<&FolderPath>,
        format: MboxFormat,
    ) -> Result<Plan> {
        if paths.is_empty() {
            return Err(Error::Invalid(
                "nothing to import: name at least one file or directory".into(),
            ));
        }
        let mut plan = Plan {
            sources: paths.to_vec(),
            ..Plan::default()
        };
        for path in paths {
            let meta = fs::metadata(path).map_err(io_error(path, "reading"))?;
            if meta.is_dir() {
                plan.add_dir(path, folder.cloned(), format)?;
            } else {
                // A file named on the command line must be readable now
                // (checked as a regular file first: opening a FIFO blocks).
                regular_file(path)?;
                File::open(path).map_err(io_error(path, "opening"))?;
                plan.add_file(path, folder.cloned(), true, format)?;
            }
        }
        Ok(plan)
    }

    fn add_file(
        &mut self,
        path: &Path,
        folder: Option<FolderPath>,
        named: bool,
        format: MboxFormat,
    ) -> Result<()> {
        let meta = regular_file(path)?;
        match classify(path)? {
            FileKind::Message => {
                let folder = match folder {
                    Some(folder) => folder,
                    None => FolderPath::new(DEFAULT_FOLDER)?,
                };
                self.jobs.push(Job {
                    folder,
                    source: Source::File {
                        path: path.to_path_buf(),
                        size: meta.len(),
                        flags: 0,
                        delivered: None,
                    },
                });
            }
            FileKind::Mbox => {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let folder = match (folder, named) {
                    (Some(folder), true) => folder,
                    (Some(folder), false) => folder.join(&stem)?,
                    (None, _) => FolderPath::new(&stem)?,
                };
                self.add_mbox(path, meta.len(), folder, format)?;
            }
            FileKind::NotMail(reason) if named => {
                return Err(Error::Invalid(format!("{}: {reason}", path.display())));
            }
            FileKind::NotMail(reason) => {
                self.skipped.push((path.to_path_buf(), reason.to_string()))
            }
        }
        Ok(())
    }

    fn add_mbox(
        &mut self,
        path: &Path,
        len: u64,
        folder: FolderPath,
        format: MboxFormat,
    ) -> Result<()> {
        if len == 0 {
            return Err(Error::Invalid(format!(
                "{}: empty mbox file",
                path.display()
            )));
        }
        let file = File::open(path).map_err(io_error(path, "opening"))?;
        // SAFETY: the file is only read; an importer must not be handed a
        // file that another program is truncating at the same time.
        let data = unsafe { Mmap::map(&file) }.map_err(io_error(path, "mapping"))?;
        let entries =
            mbox::split(&data).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        let mbox = Arc::new(Mbox {
            path: path.to_path_buf(),
            data,
            format,
        });
        self.jobs.extend(entries.into_iter().map(|entry| Job {
            folder: folder.clone(),
            source: Source::Mbox {
                mbox: mbox.clone(),
                entry,
            },
        }));
        Ok(())
    }

    fn add_dir(
        &mut self,
        dir: &Path,
        folder: Option<FolderPath>,
        format: MboxFormat,
    ) -> Result<()> {
        if maildir::is_maildir(dir) {
            return self.add_maildir(dir, folder, format);
        }
        for (path, is_dir) in self.sorted_entries(dir)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            if is_dir {
                let child = match &folder {
                    Some(folder) => folder.join(&name)?,
                    None => FolderPath::new(&name)?,
                };
                self.add_dir(&path, Some(child), format)?;
            } else {
                self.add_file(&path, folder.clone(), false, format)?;
            }
        }
        Ok(())
    }

    fn add_maildir(
        &mut self,
        dir: &Path,
        folder: Option<FolderPath>,
        format: MboxFormat,
    ) -> Result<()> {
        let here = match &folder {
            Some(folder) => folder.clone(),
            None => FolderPath::new(DEFAULT_FOLDER)?,
        };
        self.add_maildir_messages(dir, &here)?;
        for (path, is_dir) in self.sorted_entries(dir)? {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !is_dir || matches!(name.as_str(), "cur" | "new" | "tmp") {
                continue;
            }
            let (segments, is_plus) = match maildir::subfolder(&name) {
                Some(segments) => (segments.join("/"), true),
                None if name.starts_with('.') => continue,
                None => (name.clone(), false),
            };
            let child = match &folder {
                Some(folder) => folder.join(&segments)?,
                None => FolderPath::new(&segments)?,
            };
            if is_plus && maildir::is_maildir(&path) {
                // Its own messages only: its children are siblings here.
                self.add_maildir_messages(&path, &child)?;
            } else if !is_plus {
                self.add_dir(&path, Some(child), format)?;
            }
        }
        Ok(())
    }

    /// The messages in a Maildir's `cur/` and `new/`, flags and delivery
    /// time taken from their file names.
    fn add_maildir_messages(&mut self, dir: &Path, folder: &FolderPath) -> Result<()> {
        for sub in ["cur", "new"] {
            for (path, is_dir) in self.sorted_entries(&dir.join(sub))? {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if is_dir || name.starts_with('.') {
                    continue;
                }
                let meta = regular_file(&path)?;
                self.jobs.push(Job {
                    folder: folder.clone(),
                    source: Source::File {
                        path,
                        size: meta.len(),
                        flags: maildir::file_flags(&name),
                        delivered: maildir::file_time(&name),
                    },
                });
            }
        }
        Ok(())
    }
}

impl Plan {
    /// The entries of `dir`, sorted, each with whether it is a directory.
    /// A symbolic link to a directory is not followed but skipped (and
    /// said so): it may lead back into the tree, and a tree of such links
    /// would be walked without end.
    fn sorted_entries(&mut self, dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_error(dir, "listing"))? {
            let entry = entry.map_err(io_error(dir, "listing"))?;
            let path = entry.path();
            let is_dir = fs::metadata(&path)
                .map_err(io_error(&path, "reading"))?
                .is_dir();
            let linked = entry
                .file_type()
                .map_err(io_error(&path, "reading"))?
                .is_symlink();
            if is_dir && linked {
                let reason = "a symbolic link to a directory, not followed";
                self.skipped.push((path, reason.to_string()));
                continue;
            }
            entries.push((path, is_dir));
        }
        entries.sort();
        Ok(entries)
    }
}
