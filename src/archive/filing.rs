//! Filing new messages into folders: the write path of imports and of IMAP
//! APPEND. A [`Filer`] holds the target store's write lock and its
//! full-text index writer; each call to [`Filer::file`] is one atomic,
//! crash-safe batch, indexed once the catalog has it. An import skips bytes
//! a folder holds already (running it again adds nothing); APPEND always
//! adds a message, as IMAP requires.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use sha2::Digest;

use super::flags::FlagState;
use super::{Archives, Summary, can_import_into, header_block};
use crate::error::{Error, Result};
use crate::index::{IndexDoc, StoreIndex, Writer, fingerprint};
use crate::mime::crlf_len;
use crate::store::{
    AuditRecord, BatchEntry, BlobLocation, BlobStore, BlobWriter, NewBlob, PackCommit, Sha256,
    StoreRecord, UserRecord,
};

pub use crate::store::EntryOutcome as FilingOutcome;

/// A message ready to be filed: hashed, and compressed and summarised
/// unless its bytes were already stored when it was prepared.
#[derive(Debug)]
pub struct PreparedMessage {
    pub folder_id: i64,
    pub sha256: Sha256,
    pub size: u64,
    /// The size with bare LFs counted as CRLF.
    pub crlf_size: u64,
    pub internal_date: i64,
    /// Flags and keywords of the target user.
    pub flags: FlagState,
    pub content: Option<PreparedContent>,
}

#[derive(Debug)]
pub struct PreparedContent {
    pub compressed: Vec<u8>,
    /// `None` for a message that could not be parsed.
    pub summary: Option<Summary>,
    /// The header block (`archive::header_block`).
    pub header: Vec<u8>,
    /// What the full-text index holds of it (`Archives::index_document`).
    pub text: IndexDoc,
}

pub struct Filer<'a> {
    archives: &'a Archives,
    /// The user whose flags new messages get (none: journaled mail, filed
    /// for several users, flagged for nobody).
    user: Option<UserRecord>,
    store: StoreRecord,
    writer: Box<dyn BlobWriter>,
    index: IndexSink,
    /// Bytes a folder holds already are not filed there again (imports).
    skip_if_held: bool,
}

/// Where a filer's index documents go.
enum IndexSink {
    /// Its own writer: imports, many messages, committed now and then.
    Writer(Box<Writer>),
    /// The queue of single messages (APPEND), written in batches.
    Queue(Arc<StoreIndex>),
}

impl Archives {
    /// Prepares to import messages into `user`'s archive, writing their
    /// bytes to `store` (default: the current store); bytes a folder holds
    /// already are skipped there.
    pub fn filer(&self, user: &str, store: Option<&str>) -> Result<Filer<'_>> {
        let store = match store {
            Some(name) => self.store(name)?,
            None => self.current_store()?,
        };
        self.open_filer(Some(user), store, true, |store| {
            Ok(IndexSink::Writer(Box::new(self.index_writer(store)?)))
        })
    }

    /// Prepares to file one message (or a few) into `user`'s archive, in
    /// the current store, its index document queued (`index_queue`); each
    /// is added, whatever the folder holds already.
    pub(super) fn single_filer(&self, user: &str) -> Result<Filer<'_>> {
        self.open_filer(Some(user), self.current_store()?, false, |store| {
            Ok(IndexSink::Queue(self.store_index(store)?))
        })
    }

    /// Prepares to file journaled messages (`journal`) into any archives,
    /// in the current store, their index documents queued; bytes a folder
    /// holds already are skipped there (an MTA's retry).
    pub(super) fn journal_filer(&self) -> Result<Filer<'_>> {
        self.open_filer(None, self.current_store()?, true, |store| {
            Ok(IndexSink::Queue(self.store_index(store)?))
        })
    }

    fn open_filer(
        &self,
        user: Option<&str>,
        store: StoreRecord,
        skip_if_held: bool,
        index: impl FnOnce(&StoreRecord) -> Result<IndexSink>,
    ) -> Result<Filer<'_>> {
        let user = user.map(|name| self.user(name)).transpose()?;
        can_import_into(&store)?;
        let blobs: Arc<dyn BlobStore> = self.backend.blobs(&store)?;
        let writer = blobs.writer(&|| self.catalog().pack_lengths(store.id))?;
        let index = index(&store)?;
        Ok(Filer {
            archives: self,
            user,
            store,
            writer,
            index,
            skip_if_held,
        })
    }

    /// Hashes a message and, unless its bytes are stored already,
    /// compresses it, summarises it and reads its text for the index: the
    /// work of filing that needs no lock, for imports and IMAP APPEND alike.
    /// The `bool` says the message could not be parsed (it is filed anyway,
    /// verbatim).
    pub fn prepare_message(
        &self,
        bytes: &[u8],
        folder_id: i64,
        internal_date: i64,
        flags: FlagState,
        compression_level: i32,
    ) -> Result<(PreparedMessage, bool)> {
        let sha256: Sha256 = sha2::Sha256::digest(bytes).into();
        let stored = self.stored(&sha256)?;
        let mut unparsed = stored == Some(false);
        let content = if stored.is_some() {
            None
        } else {
            // A parser bug must not cost the message: it is archived unparsed.
            let summary = catch_unwind(AssertUnwindSafe(|| Summary::of(bytes)))
                .ok()
                .flatten();
            unparsed = summary.is_none();
            let compressed = zstd::bulk::compress(bytes, compression_level)
                .map_err(|e| Error::io("compressing a message", e))?;
            let text = catch_unwind(AssertUnwindSafe(|| self.index_document(bytes)))
                .unwrap_or_else(|_| {
                    tracing::warn!(sha256 = %hex::encode(sha256), "message text could not be read for the index");
                    IndexDoc::default()
                });
            Some(PreparedContent {
                compressed,
                summary,
                header: header_block(bytes).to_vec(),
                text,
            })
        };
        let message = PreparedMessage {
            folder_id,
            sha256,
            size: bytes.len() as u64,
            crlf_size: crlf_len(bytes),
            internal_date,
            flags,
            content,
        };
        Ok((message, unparsed))
    }

    /// `Some(parsed)` if these bytes are stored already (in any store).
    pub fn stored(&self, sha256: &Sha256) -> Result<Option<bool>> {
        Ok(self.catalog().blob_by_sha(sha256)?.map(|blob| blob.parsed))
    }
}

impl Filer<'_> {
    pub fn user(&self) -> Option<&UserRecord> {
        self.user.as_ref()
    }

    /// Files a batch, all or nothing: bytes first (synced), then the
    /// catalog transaction that makes them visible, with the audit records
    /// `audit` makes of the outcomes (one per message, in order), then the
    /// index documents of the new blobs (committed now and then, and by
    /// [`Filer::finish`]; what a crash loses there, reconciliation adds).
    pub fn file(
        &mut self,
        batch: Vec<PreparedMessage>,
        audit: &dyn Fn(&[FilingOutcome]) -> Vec<AuditRecord>,
    ) -> Result<Vec<FilingOutcome>> {
        let catalog = self.archives.catalog();
        let mut written: HashMap<Sha256, BlobLocation> = HashMap::new();
        let mut texts: Vec<(Sha256, IndexDoc)> = Vec::new();
        // Bytes found stored already: kept until the commit, which may find
        // them gone (an expunge took their last reference meanwhile).
        let mut spare: HashMap<Sha256, (PreparedContent, u64, u64)> = HashMap::new();
        let mut entries = Vec::with_capacity(batch.len());
        for message in batch {
            let new_blob = match message.content {
                Some(content)
                    if !written.contains_key(&message.sha256)
                        && catalog.blob_by_sha(&message.sha256)?.is_none() =>
                {
                    Some(self.write_blob(
                        &mut written,
                        &mut texts,
                        message.sha256,
                        content,
                        message.size,
                        message.crlf_size,
                    )?)
                }
                Some(content) => {
                    spare.insert(message.sha256, (content, message.size, message.crlf_size));
                    None
                }
                None => None,
            };
            entries.push(BatchEntry {
                folder_id: message.folder_id,
                sha256: message.sha256,
                internal_date: message.internal_date,
                new_blob,
                flags: self.user.as_ref().map(|user| (user.id, message.flags)),
                skip_if_held: self.skip_if_held,
            });
        }
        let outcomes = loop {
            let packs: Vec<PackCommit> = self
                .writer
                .sync()?
                .into_iter()
                .map(|(pack, length)| PackCommit {
                    store_id: self.store.id,
                    pack,
                    length,
                })
                .collect();
            match catalog.commit_batch(&entries, &packs, audit) {
                Ok(outcomes) => break outcomes,
                // Stored when looked for, gone at the commit: written now,
                // and the batch committed again (the bytes written so far
                // are all part of it).
                Err(Error::Expunged(gone)) => {
                    let Some((sha256, (content, size, crlf_size))) = spare
                        .iter()
                        .find(|(sha, _)| hex::encode(sha) == gone)
                        .map(|(sha, _)| *sha)
                        .and_then(|sha| spare.remove_entry(&sha))
                    else {
                        // Prepared without its bytes (they were stored):
                        // the caller prepares it again.
                        return Err(Error::Expunged(gone));
                    };
                    let blob = self.write_blob(
                        &mut written,
                        &mut texts,
                        sha256,
                        content,
                        size,
                        crlf_size,
                    )?;
                    let entry = entries
                        .iter_mut()
                        .find(|e| e.sha256 == sha256)
                        .expect("spare bytes belong to an entry");
                    entry.new_blob = Some(blob);
                }
                Err(Error::Invalid(msg)) => return Err(Error::Corrupt(msg)),
                Err(e) => return Err(e),
            }
        };
        for (sha256, text) in texts {
            let blob = catalog.blob_by_sha(&sha256)?.ok_or_else(|| {
                Error::Corrupt(format!(
                    "blob {} vanished after filing",
                    hex::encode(sha256)
                ))
            })?;
            match &mut self.index {
                IndexSink::Writer(writer) => writer.add(blob.id, fingerprint(&sha256), text)?,
                IndexSink::Queue(index) => {
                    self.archives
                        .queue_document(index, blob.id, fingerprint(&sha256), text)
                }
            }
        }
        if let IndexSink::Writer(writer) = &mut self.index {
            writer.commit_if_due()?;
        }
        Ok(outcomes)
    }

    /// Appends one message's bytes to the store, to be committed with the
    /// batch.
    fn write_blob(
        &mut self,
        written: &mut HashMap<Sha256, BlobLocation>,
        texts: &mut Vec<(Sha256, IndexDoc)>,
        sha256: Sha256,
        content: PreparedContent,
        size: u64,
        crlf_size: u64,
    ) -> Result<NewBlob> {
        let location = self.writer.append(&content.compressed)?;
        written.insert(sha256, location);
        texts.push((sha256, content.text));
        Ok(NewBlob {
            store_id: self.store.id,
            size,
            crlf_size,
            location,
            summary: content.summary.map(|s| s.to_json()),
            header: content.header,
        })
    }

    /// Commits the index: everything filed is searchable from the index
    /// (for a single filer, once its queued documents are written).
    /// An import's filer then also indexes what an earlier run, killed
    /// before its index commit, left out (the messages it skipped as
    /// already filed are among them).
    pub fn finish(self) -> Result<()> {
        match self.index {
            IndexSink::Writer(writer) => {
                writer.finish()?;
                self.archives.catch_up_index(&self.store)
            }
            IndexSink::Queue(_) => Ok(()),
        }
    }
}
